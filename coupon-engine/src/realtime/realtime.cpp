#include "aisle/engine/realtime.h"

#include <chrono>
#include <sstream>

#include "aisle/common/crypto.h"
#include "aisle/common/http.h"
#include "db/realtime_repository.h"

namespace aisle::engine {
namespace {

// Stage latencies are sub-millisecond when all is well: finer buckets than the HTTP ones.
std::vector<double> stageBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
}

Histogram& stageHistogram(MetricsRegistry& m, const char* stage) {
  return m.histogram("aisle_engine_event_stage_seconds", "time per proximity event and stage",
                     std::string("stage=\"") + stage + "\"", stageBuckets());
}

// Measurement only (a steady clock, not the injected Clock: no decision depends on it).
class StageTimer {
 public:
  explicit StageTimer(Histogram& h) : h_(h), start_(std::chrono::steady_clock::now()) {}
  ~StageTimer() { h_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count()); }
  StageTimer(const StageTimer&) = delete;
  StageTimer& operator=(const StageTimer&) = delete;

 private:
  Histogram& h_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::string IngestOutcome::json() const {
  std::ostringstream o;
  o << "{\"accepted\":" << accepted << ",\"duplicates\":" << duplicates << ",\"unresolved\":" << unresolved
    << ",\"pushes\":" << pushes << "}";
  return o.str();
}

RealtimeService::RealtimeService(PgPool& db, const Clock& clock, RealtimeOptions options, Logger log,
                                 std::shared_ptr<MetricsRegistry> metrics, QueuedHook onQueued)
    : db_(db), clock_(clock), options_(std::move(options)), log_(std::move(log)), metrics_(std::move(metrics)),
      onQueued_(std::move(onQueued)), stageResolve_(stageHistogram(*metrics_, "resolve")),
      stageRead_(stageHistogram(*metrics_, "read")), stageWrite_(stageHistogram(*metrics_, "write")),
      decisionsPush_(metrics_->counter("aisle_engine_trigger_decisions_total", "trigger decisions", "action=\"push\"")),
      decisionsNone_(metrics_->counter("aisle_engine_trigger_decisions_total", "trigger decisions", "action=\"none\"")),
      eid_(std::make_shared<EidResolver>(options_.eidWindowPeriods)) {
  db_.onConnect(&RealtimeRepository::prepare);
}

std::optional<std::string> RealtimeService::gatewaySecret(const std::string& keyId) {
  {
    std::lock_guard lock(keysMu_);
    if (auto it = keys_.find(keyId); it != keys_.end()) return it->second.first;
  }
  auto lease = db_.lease();
  auto key = lease->run([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return RealtimeRepository::gatewayByKey(tx, keyId);
  });
  if (!key) return std::nullopt;
  auto secret = openAesGcm(options_.masterKey, key->secretEnc, "gateway:" + key->gatewayId);
  if (!secret) {
    log_.error("gateway key " + keyId + " does not decrypt with the master key: " + secret.message());
    return std::nullopt;
  }
  std::lock_guard lock(keysMu_);
  keys_[keyId] = {*secret, {key->gatewayId, key->storeId}};
  return *secret;
}

std::optional<std::pair<std::string, std::int64_t>> RealtimeService::gatewayOfKey(const std::string& keyId) {
  if (!gatewaySecret(keyId)) return std::nullopt;
  std::lock_guard lock(keysMu_);
  return keys_.at(keyId).second;
}

Result<std::size_t> RealtimeService::rebuildEidResolver() {
  // Devices added or revoked before this point are committed, so the load below sees them; later
  // ones stay in the overlay.
  std::size_t recentSeen = 0;
  std::set<std::int64_t> revokedSeen;
  {
    std::lock_guard lock(recentMu_);
    recentSeen = recent_.size();
    revokedSeen = revoked_;
  }
  auto lease = db_.lease();
  auto stored = lease->run([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    return RealtimeRepository::eidDevices(tx);
  });
  std::vector<EidDevice> devices;
  devices.reserve(stored.size());
  std::size_t broken = 0;
  for (const auto& s : stored) {
    auto key = openAesGcm(options_.masterKey, s.keyEnc,
                          "device:" + std::to_string(s.memberId) + ":" + std::to_string(s.deviceId));
    if (!key || key->size() != 16) {
      ++broken;
      continue;
    }
    EidDevice d;
    d.memberId = s.memberId;
    d.deviceId = s.deviceId;
    std::copy(key->begin(), key->end(), d.identityKey.begin());
    d.k = s.k;
    d.clockOffsetS = s.clockOffsetS;
    devices.push_back(d);
  }
  if (broken) log_.error(std::to_string(broken) + " EID identity keys do not decrypt with the master key");
  auto next = std::make_shared<EidResolver>(options_.eidWindowPeriods);
  next->rebuild(devices, clock_.nowUnixMs() / 1000, 2);
  {
    std::lock_guard recentLock(recentMu_);
    recent_.erase(recent_.begin(), recent_.begin() + static_cast<std::ptrdiff_t>(recentSeen));
    for (auto id : revokedSeen) revoked_.erase(id);
    auto overlay = std::make_shared<EidResolver>(options_.eidWindowPeriods);
    overlay->rebuild(recent_, clock_.nowUnixMs() / 1000, 1);
    std::unique_lock lock(eidMu_);
    eid_ = std::move(next);
    eidRecent_ = std::move(overlay);
    eidRevoked_ = std::make_shared<const std::set<std::int64_t>>(revoked_);
  }
  metrics_->gauge("aisle_engine_eid_devices", "registered EID devices in the resolver").set(static_cast<double>(devices.size()));
  return devices.size();
}

void RealtimeService::addEidDevice(const EidDevice& device) {
  std::lock_guard recentLock(recentMu_);
  recent_.push_back(device);
  // The overlay holds only the devices of the last minute or so: recomputing it is cheap.
  auto overlay = std::make_shared<EidResolver>(options_.eidWindowPeriods);
  overlay->rebuild(recent_, clock_.nowUnixMs() / 1000, 1);
  std::unique_lock lock(eidMu_);
  eidRecent_ = std::move(overlay);
}

void RealtimeService::forgetEidDevice(std::int64_t deviceId) {
  std::lock_guard recentLock(recentMu_);
  revoked_.insert(deviceId);
  std::unique_lock lock(eidMu_);
  eidRevoked_ = std::make_shared<const std::set<std::int64_t>>(revoked_);
}

std::optional<RealtimeService::Resolved> RealtimeService::resolve(pqxx::transaction_base& tx, const BeaconRef& b) {
  switch (b.kind) {
    case BeaconRef::Kind::Eid: {
      std::shared_ptr<const EidResolver> r, recent;
      std::shared_ptr<const std::set<std::int64_t>> revoked;
      {
        std::shared_lock lock(eidMu_);
        r = eid_;
        recent = eidRecent_;
        revoked = eidRevoked_;
      }
      // The overlay first: a claimed fob is newer there than anything the full table holds.
      auto m = recent ? recent->resolve(b.eid) : std::nullopt;
      if (!m) m = r->resolve(b.eid);
      if (!m || (revoked && revoked->count(m->deviceId))) return std::nullopt;
      return Resolved{m->memberId, m->deviceId};
    }
    case BeaconRef::Kind::IBeacon:
      if (auto d = RealtimeRepository::deviceByIbeacon(tx, b.uuid, b.major, b.minor)) return Resolved{d->memberId, d->deviceId};
      return std::nullopt;
    case BeaconRef::Kind::AltBeacon:
      if (auto d = RealtimeRepository::deviceByAltbeacon(tx, b.altId)) return Resolved{d->memberId, d->deviceId};
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<std::optional<std::string>> RealtimeService::handleRound(pqxx::transaction_base& tx, std::int64_t storeId,
                                                                     const std::string& gatewayId,
                                                                     const std::vector<EventIn>& events) {
  // Two round trips per round, whatever its size: one read (zone, caps and consent state, and the
  // candidate offers -- read only with consent: without it the member's data is not used at all),
  // one write. Per-event statements made a batch of ten cost twenty round trips, and the last
  // event's push waited for all of them.
  std::vector<EventQuery> queries;
  queries.reserve(events.size());
  for (const auto& e : events) queries.push_back({e.memberId, e.tMs, e.zoneName, e.type != ZoneEventType::Exit});
  std::vector<EventContext> contexts;
  {
    StageTimer t(stageRead_);
    contexts = RealtimeRepository::eventContexts(tx, storeId, options_.visitWindowS, queries);
  }
  std::vector<EventWrite> writes;
  writes.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    auto& ctx = contexts[i];
    const auto& snap = ctx.snapshot;
    const std::optional<std::int64_t> zoneId = ctx.zone ? std::optional(ctx.zone->zoneId) : std::nullopt;
    TriggerEvent ev;
    ev.eventId = e.eventId;
    // A zone-less event or one at a zone the store does not know is handled like a store entry.
    ev.type = e.type == ZoneEventType::Dwell && !zoneId ? ZoneEventType::Enter : e.type;
    if (e.type == ZoneEventType::Sighting) ev.type = ZoneEventType::Enter;
    ev.memberId = e.memberId;
    ev.storeId = storeId;
    ev.zoneId = zoneId;
    if (ctx.zone) ev.zoneCategories = ctx.zone->categories;
    ev.localMinuteOfDay = snap.localMinuteOfDay;
    if (!(snap.state.proximityConsent && snap.state.pushConsent)) ctx.offers.clear();  // (none were read)
    TriggerDecision d = decideTrigger(ev, snap.state, ctx.offers, options_.policy);
    std::optional<QueuedPush> push;
    if (d.push) {
      // The code and the provider came with the candidates and the snapshot: no extra round trips.
      const std::string& code = d.offer->code;
      push = QueuedPush{"event:" + e.eventId, snap.pushProvider,
                        "{\"title\":\"An offer for you\",\"body\":\"" + http::jsonEscape(d.offer->reason) +
                            "\",\"coupon_id\":" + std::to_string(d.offer->couponId) + ",\"code\":\"" +
                            http::jsonEscape(code) + "\",\"event_id\":\"" + http::jsonEscape(e.eventId) +
                            "\",\"why\":\"" + http::jsonEscape(d.reason) + "\"}"};
    }
    writes.push_back(EventWrite{EventRecord{e.memberId, e.eventId, e.tMs, zoneEventTypeName(e.type), storeId, zoneId,
                                            gatewayId, e.deviceId, e.confidence},
                                std::move(d), std::move(push)});
  }
  // The events, their decisions and their pushes are written by one statement: a gateway retry (the
  // event stored before) writes nothing, so nothing is decided or pushed twice.
  std::vector<RecordedEvent> recs;
  {
    StageTimer t(stageWrite_);
    recs = RealtimeRepository::recordEvents(tx, storeId, gatewayId, writes);
  }
  std::vector<std::optional<std::string>> out(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (!recs[i].stored) continue;
    const auto& w = writes[i];
    (w.decision.push ? decisionsPush_ : decisionsNone_).inc();
    if (log_.enabled(LogLevel::Debug)) {  // per event: build nothing unless it is printed
      log_.with("member", std::to_string(events[i].memberId)).with("event", events[i].eventId)
          .debug((w.decision.push ? "push: " : "no push: ") + w.decision.reason);
    }
    out[i] = w.decision.push && recs[i].outboxId ? w.push->dedupeKey : std::string();
  }
  return out;
}

Result<IngestOutcome> RealtimeService::ingest(const ProximityBatch& batch, const std::string& keyId) {
  auto owner = gatewayOfKey(keyId);
  if (!owner) return fail("unknown gateway key");
  if (owner->first != batch.gatewayId) return fail("key " + keyId + " belongs to gateway " + owner->first + ", not " + batch.gatewayId);
  if (owner->second != batch.storeId) return fail("gateway " + owner->first + " may post only for store " + std::to_string(owner->second));
  IngestOutcome out;
  auto lease = db_.lease();
  lease->run([&](pqxx::connection& c) {
    out = IngestOutcome{};
    // No transaction over the batch: each round of events is stored, decided and queued by one
    // atomic statement, and the dispatcher is woken at once. (A retry after a lost connection finds
    // the events already stored as duplicates, as a gateway retry would.)
    pqxx::nontransaction tx(c);
    // Resolve (in memory for EIDs), then split into rounds so that each round holds a member at
    // most once: a member's second event in a batch must see the caps left by the first.
    std::vector<std::vector<EventIn>> rounds;
    std::map<std::int64_t, std::size_t> seen;  // member -> events of theirs so far
    for (const auto& e : batch.events) {
      std::optional<Resolved> who;
      {
        StageTimer t(stageResolve_);
        who = resolve(tx, e.beacon);
      }
      if (!who) {
        ++out.unresolved;  // someone else's beacon: forgotten here, never stored
        continue;
      }
      const std::size_t round = seen[who->memberId]++;
      if (rounds.size() <= round) rounds.resize(round + 1);
      rounds[round].push_back(EventIn{who->memberId, who->deviceId, e.eventId, e.type, e.zone, e.tMs, e.confidence});
    }
    for (const auto& round : rounds) {
      const auto results = handleRound(tx, batch.storeId, batch.gatewayId, round);
      for (const auto& pushed : results) {
        if (!pushed) {
          ++out.duplicates;
          continue;
        }
        ++out.accepted;
        if (!pushed->empty()) {
          ++out.pushes;
          if (onQueued_) onQueued_(*pushed);
        }
      }
    }
    return 0;
  });
  metrics_->counter("aisle_engine_proximity_events_total", "proximity events", "outcome=\"accepted\"").inc(static_cast<std::uint64_t>(out.accepted));
  metrics_->counter("aisle_engine_proximity_events_total", "proximity events", "outcome=\"duplicate\"").inc(static_cast<std::uint64_t>(out.duplicates));
  metrics_->counter("aisle_engine_proximity_events_total", "proximity events", "outcome=\"unresolved\"").inc(static_cast<std::uint64_t>(out.unresolved));
  return out;
}

Status RealtimeService::heartbeat(const std::string& gatewayId, const std::string& keyId, const std::string& healthJson) {
  auto owner = gatewayOfKey(keyId);
  if (!owner) return fail("unknown gateway key");
  if (owner->first != gatewayId) return fail("key " + keyId + " belongs to gateway " + owner->first + ", not " + gatewayId);
  auto lease = db_.lease();
  lease->run([&](pqxx::connection& c) {
    pqxx::work tx(c);
    RealtimeRepository::gatewayHeartbeat(tx, gatewayId, healthJson);
    tx.commit();
    return 0;
  });
  metrics_->counter("aisle_engine_gateway_heartbeats_total", "gateway health reports").inc();
  return okStatus();
}

Result<IngestOutcome> RealtimeService::ingestSighting(const AppSighting& s, std::int64_t memberId) {
  auto beacon = parseBeaconRef(s.beacon);
  if (!beacon) return beacon.error();
  IngestOutcome out;
  std::string queued;
  auto lease = db_.lease();
  auto result = lease->run([&](pqxx::connection& c) -> Status {
    out = IngestOutcome{};
    pqxx::work tx(c);
    if (!RealtimeRepository::storeExists(tx, s.storeId)) return fail("unknown store " + std::to_string(s.storeId));
    // The app reports a store's beacon, so the member is the caller, not the beacon's owner.
    const std::string id = "app:" + (s.sightingId.empty() ? std::to_string(s.tMs) + ":" + s.beacon : s.sightingId);
    auto pushed = handleRound(tx, s.storeId, "app",
                              {EventIn{memberId, std::nullopt, id, ZoneEventType::Sighting, s.zone, s.tMs, 1.0}})
                      .front();
    if (!pushed) {
      ++out.duplicates;
    } else {
      ++out.accepted;
      out.pushes += pushed->empty() ? 0 : 1;
      queued = *pushed;
    }
    tx.commit();
    return okStatus();
  });
  if (!result) return result.error();
  if (out.pushes > 0 && onQueued_) onQueued_(queued);
  return out;
}

}  // namespace aisle::engine
