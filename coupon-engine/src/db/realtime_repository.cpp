#include "db/realtime_repository.h"

#include <sstream>

namespace aisle::engine {
namespace {

std::set<std::int64_t> idSet(const pqxx::field& f) {
  std::set<std::int64_t> out;
  if (f.is_null()) return out;
  std::stringstream ss(f.as<std::string>());
  std::string part;
  while (std::getline(ss, part, ',')) {
    if (!part.empty()) out.insert(std::stoll(part));
  }
  return out;
}

template <typename T>
std::optional<T> opt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<T>();
}

}  // namespace

void RealtimeRepository::prepare(pqxx::connection& c) {
  c.prepare("rt_gateway_by_key", "SELECT gateway_id, store_id, key_secret_enc FROM gateways WHERE key_id = $1");
  c.prepare("rt_eid_devices",
            "SELECT member_id, device_id, eid_key_enc, eid_k, coalesce(eid_time_offset_s, 0) FROM devices "
            "WHERE eid_key_enc IS NOT NULL AND revoked_at IS NULL AND member_id <> 0");  // 0: unclaimed fobs
  c.prepare("rt_device_ibeacon",
            "SELECT member_id, device_id FROM devices WHERE ibeacon_uuid = $1::uuid AND ibeacon_major = $2 "
            "AND ibeacon_minor = $3 AND revoked_at IS NULL AND member_id <> 0 ORDER BY registered_at DESC LIMIT 1");
  c.prepare("rt_device_altbeacon",
            "SELECT member_id, device_id FROM devices WHERE altbeacon_id = $1 AND revoked_at IS NULL AND member_id <> 0 "
            "ORDER BY registered_at DESC LIMIT 1");
  c.prepare("rt_store_exists", "SELECT 1 FROM stores WHERE store_id = $1");
  c.prepare("rt_gateway_heartbeat", "UPDATE gateways SET health = $2::jsonb, last_seen_at = now() WHERE gateway_id = $1");
  // Everything an event's decision reads, in one round trip: the zone (by name), what the caps and
  // consent checks need, and -- only with proximity and push consent, and not for an exit -- the
  // member's candidate offers, one row each (the snapshot columns repeat; no offers: one row with
  // NULL offer columns). The consent test is a one-time filter inside the lateral subquery (OFFSET 0
  // keeps the planner from pulling it up into a join filter), so without consent the member's
  // coupons are not scanned at all. An unknown store: NULL snapshot
  // (no consent, nothing read). Times are the event's, and the "day" is the store's local day (its
  // IANA time zone), computed by PostgreSQL.
  // Batch form: one row set for several events of one store (arrays $3..$6, one element per event),
  // each event's rows numbered by its position `i`; the per-event query runs as a LATERAL subquery.
  c.prepare("rt_event_context",
            "SELECT e.i, x.* FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::boolean[]) "
            "WITH ORDINALITY AS e(member_id, t_ms, zone, read_offers, i) CROSS JOIN LATERAL ("
           
            "WITH t AS (SELECT to_timestamp(e.t_ms / 1000.0) AS at), "
            "loc AS (SELECT (t.at AT TIME ZONE s.time_zone) AS local_ts, s.time_zone FROM t, stores s WHERE s.store_id = $1::bigint), "
            "visit AS (SELECT t.at - make_interval(secs => $2::float8) AS since FROM t), "
            "z AS (SELECT z.zone_id, (SELECT string_agg(zc.category_id::text, ',') FROM zone_categories zc "
            "   WHERE zc.zone_id = z.zone_id) AS cats FROM zones z WHERE z.store_id = $1::bigint AND z.name = e.zone), "
            "s AS MATERIALIZED (SELECT "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = e.member_id AND purpose = 'proximity'), false) AS proximity, "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = e.member_id AND purpose = 'push'), false) AS push, "
            " EXISTS (SELECT 1 FROM devices WHERE member_id = e.member_id AND revoked_at IS NULL AND push_token IS NOT NULL) AS target, "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = e.member_id AND action = 'push' "
            "   AND decided_at >= (date_trunc('day', loc.local_ts) AT TIME ZONE loc.time_zone)) AS today, "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = e.member_id AND action = 'push' AND store_id = $1::bigint "
            "   AND decided_at >= visit.since) AS visit_pushes, "
            " (SELECT string_agg(DISTINCT zone_id::text, ',') FROM trigger_decisions WHERE member_id = e.member_id "
            "   AND action = 'push' AND store_id = $1::bigint AND decided_at >= visit.since AND zone_id IS NOT NULL) AS zones, "
            " (SELECT string_agg(DISTINCT coupon_id::text, ',') FROM trigger_decisions WHERE member_id = e.member_id "
            "   AND action = 'push' AND decided_at >= visit.since AND coupon_id IS NOT NULL) AS coupons, "
            " (SELECT string_agg(DISTINCT l.product_id::text, ',') FROM transactions x JOIN transaction_lines l "
            "   ON l.member_id = x.member_id AND l.transaction_id = x.transaction_id WHERE x.member_id = e.member_id "
            "   AND x.store_id = $1::bigint AND x.occurred_at >= visit.since AND l.product_id IS NOT NULL) AS bought, "
            " (extract(hour FROM loc.local_ts) * 60 + extract(minute FROM loc.local_ts))::int AS minute, "
            " (SELECT push_provider FROM devices WHERE member_id = e.member_id AND revoked_at IS NULL AND push_token IS NOT NULL "
            "   AND push_provider IS NOT NULL ORDER BY registered_at DESC LIMIT 1) AS provider "
            " FROM t, loc, visit) "
            "SELECT z.zone_id, z.cats, s.proximity, s.push, s.target, s.today, s.visit_pushes, s.zones, s.coupons, s.bought, "
            " s.minute, s.provider, o.coupon_id, o.product_id, o.category_id, o.due, o.score, o.reason, o.code "
            "FROM (SELECT 1) one LEFT JOIN z ON true LEFT JOIN s ON true LEFT JOIN LATERAL ("
            // Score: a purchase-probability proxy (the model's affinity, raised when the product is due
            // for replenishment) times the coupon's face value in currency units.
            " SELECT c.coupon_id, c.product_id, coalesce(c.category_id, p.category_id) AS category_id, "
            "  coalesce(m.expected_next_at <= t.at + interval '2 days', false) AS due, "
            "  (least(1.0, coalesce(m.affinity, 0.05) + CASE WHEN m.expected_next_at <= t.at + interval '2 days' "
            "    THEN 0.5 ELSE 0 END) * greatest(coalesce(c.value_minor, 100), 1) / 100.0)::float8 AS score, c.reason, c.code "
            " FROM t, coupons c LEFT JOIN products p ON p.product_id = c.product_id "
            " LEFT JOIN member_product_models m ON m.member_id = c.member_id AND m.product_id = c.product_id "
            " WHERE s.proximity AND s.push AND e.read_offers "
            " AND c.member_id = e.member_id AND c.state IN ('issued', 'delivered') AND c.valid_from <= t.at "
            " AND c.valid_to > t.at AND (c.store_id IS NULL OR c.store_id = $1::bigint) OFFSET 0) o ON true) x ORDER BY e.i");
  // Everything a round of events writes, in one statement (so atomic without a transaction round
  // trip): each event (deduplicated by member, event_id and time), and only for the new ones the
  // decision with its reason and, for a push, the outbox row. Arrays, one element per event.
  c.prepare("rt_record_event",
            "WITH e AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], "
            " $6::bigint[], $7::real[], $8::text[], $9::text[], $10::bigint[], $11::text[], $12::text[], $13::text[]) "
            " WITH ORDINALITY AS e(member_id, event_id, t_ms, type, zone_id, device_id, confidence, action, reason, "
            " coupon_id, dedupe_key, provider, payload, i)), "
            "ins AS (INSERT INTO proximity_events (member_id, event_id, occurred_at, type, store_id, zone_id, "
            " gateway_id, device_id, confidence) SELECT member_id, event_id, to_timestamp(t_ms / 1000.0), type, $14::bigint, "
            " zone_id, $15::text, device_id, confidence FROM e ON CONFLICT DO NOTHING "
            " RETURNING member_id, event_id, occurred_at), "
            "n AS (SELECT e.* FROM e JOIN ins ON ins.member_id = e.member_id AND ins.event_id = e.event_id "
            " AND ins.occurred_at = to_timestamp(e.t_ms / 1000.0)), "
            "d AS (INSERT INTO trigger_decisions (member_id, event_id, store_id, zone_id, decided_at, action, reason, coupon_id) "
            " SELECT member_id, event_id, $14::bigint, zone_id, to_timestamp(t_ms / 1000.0), action, reason, coupon_id FROM n), "
            "o AS (INSERT INTO outbox (member_id, dedupe_key, provider, payload, coupon_id) "
            " SELECT member_id, dedupe_key, provider, payload::jsonb, coupon_id FROM n WHERE dedupe_key IS NOT NULL "
            " ON CONFLICT (member_id, dedupe_key) DO NOTHING RETURNING member_id, dedupe_key, outbox_id) "
            "SELECT e.i, n.i IS NOT NULL, o.outbox_id FROM e LEFT JOIN n ON n.i = e.i "
            "LEFT JOIN o ON o.member_id = e.member_id AND o.dedupe_key = e.dedupe_key ORDER BY e.i");
  c.prepare("rt_mark_sent",
            "WITH o AS (UPDATE outbox SET state = 'sent', sent_at = now(), last_error = NULL "
            " WHERE member_id = $1 AND outbox_id = $2 RETURNING coupon_id) "
            "UPDATE coupons c SET state = 'delivered', delivered_at = now() FROM o "
            "WHERE c.member_id = $1 AND c.coupon_id = o.coupon_id AND c.state = 'issued'");
  // The dispatcher's write-back of a whole batch of hand-overs in one statement.
  c.prepare("rt_mark_sent_many",
            "WITH k AS (SELECT * FROM unnest($1::bigint[], $2::bigint[]) AS k(member_id, outbox_id)), "
            "o AS (UPDATE outbox x SET state = 'sent', sent_at = now(), last_error = NULL FROM k "
            " WHERE x.member_id = k.member_id AND x.outbox_id = k.outbox_id RETURNING x.member_id, x.coupon_id) "
            "UPDATE coupons c SET state = 'delivered', delivered_at = now() FROM o "
            "WHERE c.member_id = o.member_id AND c.coupon_id = o.coupon_id AND c.state = 'issued'");
  c.prepare("rt_mark_retry",
            "UPDATE outbox SET state = 'pending', next_attempt_at = now() + make_interval(secs => $3::float8 / 1000), "
            "last_error = $4 WHERE member_id = $1 AND outbox_id = $2");
  c.prepare("rt_mark_dead",
            "UPDATE outbox SET state = 'dead', last_error = $3 WHERE member_id = $1 AND outbox_id = $2");
  c.prepare("rt_requeue", "UPDATE outbox SET state = 'pending' WHERE state = 'sending'");
  c.prepare("rt_partitions", "SELECT ensure_proximity_partitions((now() AT TIME ZONE 'UTC')::date - 1, $1 + 2)");
  c.prepare("rt_retention",
            "WITH d AS (SELECT drop_proximity_partitions_before((now() AT TIME ZONE 'UTC')::date - $1::int) AS n), "
            "x AS (DELETE FROM proximity_events_default WHERE occurred_at < now() - make_interval(days => $1::int) RETURNING 1) "
            "SELECT (SELECT n FROM d) + (SELECT count(*) FROM x)::int");
}

std::optional<GatewayKey> RealtimeRepository::gatewayByKey(pqxx::transaction_base& tx, const std::string& keyId) {
  auto r = tx.exec_prepared("rt_gateway_by_key", keyId);
  if (r.empty() || r[0][2].is_null()) return std::nullopt;
  pqxx::binarystring secret(r[0][2]);
  return GatewayKey{r[0][0].as<std::string>(), r[0][1].as<std::int64_t>(), secret.str()};
}

std::vector<StoredEidDevice> RealtimeRepository::eidDevices(pqxx::transaction_base& tx) {
  std::vector<StoredEidDevice> out;
  for (const auto& row : tx.exec_prepared("rt_eid_devices")) {
    pqxx::binarystring key(row[2]);
    out.push_back({row[0].as<std::int64_t>(), row[1].as<std::int64_t>(), key.str(), row[3].as<int>(10),
                   row[4].as<std::int64_t>()});
  }
  return out;
}

std::optional<DeviceHit> RealtimeRepository::deviceByIbeacon(pqxx::transaction_base& tx, const std::string& uuid,
                                                             int major, int minor) {
  auto r = tx.exec_prepared("rt_device_ibeacon", uuid, major, minor);
  if (r.empty()) return std::nullopt;
  return DeviceHit{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>()};
}

std::optional<DeviceHit> RealtimeRepository::deviceByAltbeacon(pqxx::transaction_base& tx, const std::string& id) {
  auto r = tx.exec_prepared("rt_device_altbeacon", id);
  if (r.empty()) return std::nullopt;
  return DeviceHit{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>()};
}

bool RealtimeRepository::storeExists(pqxx::transaction_base& tx, std::int64_t storeId) {
  return !tx.exec_prepared("rt_store_exists", storeId).empty();
}

void RealtimeRepository::gatewayHeartbeat(pqxx::transaction_base& tx, const std::string& gatewayId,
                                          const std::string& healthJson) {
  tx.exec_prepared0("rt_gateway_heartbeat", gatewayId, healthJson);
}

namespace {
std::string bigintArray(const std::vector<std::int64_t>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "}";
}
}  // namespace

namespace {
// A PostgreSQL array literal built element by element ($n::bigint[], ::text[]...): NULL elements,
// text quoted and escaped, so one prepared statement takes any number of events.
class ArrayLiteral {
 public:
  void null() { sep() += "NULL"; }
  void number(const std::string& n) { sep() += n; }
  template <typename T>
  void number(const std::optional<T>& v) {
    if (v) number(std::to_string(*v));
    else null();
  }
  void text(const std::string& t) {
    auto& o = sep();
    o += '"';
    for (char ch : t) {
      if (ch == '"' || ch == '\\') o += '\\';
      o += ch;
    }
    o += '"';
  }
  void text(const std::optional<std::string>& t) {
    if (t) text(*t);
    else null();
  }
  std::string str() const { return "{" + out_ + "}"; }

 private:
  std::string& sep() {
    if (!out_.empty()) out_ += ',';
    return out_;
  }
  std::string out_;
};
}  // namespace

std::vector<EventContext> RealtimeRepository::eventContexts(pqxx::transaction_base& tx, std::int64_t storeId,
                                                            int visitWindowS, const std::vector<EventQuery>& events) {
  std::vector<EventContext> out(events.size());
  if (events.empty()) return out;
  ArrayLiteral members, times, zones, readOffers;
  for (const auto& e : events) {
    members.number(std::to_string(e.memberId));
    times.number(std::to_string(e.tMs));
    if (e.zoneName.empty()) zones.null();
    else zones.text(e.zoneName);
    readOffers.number(e.readOffers ? "true" : "false");
  }
  auto r = tx.exec_prepared("rt_event_context", storeId, visitWindowS, members.str(), times.str(), zones.str(),
                            readOffers.str());
  // Columns are shifted by one: the event's position comes first.
  std::int64_t last = 0;
  for (const auto& row : r) {
    const auto i = row[0].as<std::int64_t>();
    if (i < 1 || i > static_cast<std::int64_t>(events.size())) continue;
    EventContext& ctx = out[static_cast<std::size_t>(i - 1)];
    if (i != last) {  // the first row of an event carries its zone and snapshot
      last = i;
      if (!row[1].is_null()) ctx.zone = ZoneInfo{row[1].as<std::int64_t>(), idSet(row[2])};
      if (!row[3].is_null()) {  // NULL: unknown store, so no consent read and nothing will be sent
        auto& s = ctx.snapshot;
        s.state.proximityConsent = row[3].as<bool>();
        s.state.pushConsent = row[4].as<bool>();
        s.state.hasPushTarget = row[5].as<bool>();
        s.state.pushesToday = row[6].as<int>();
        s.state.pushesThisVisit = row[7].as<int>();
        s.state.zonesPushedThisVisit = idSet(row[8]);
        s.state.couponsPushedRecently = idSet(row[9]);
        s.state.productsBoughtThisVisit = idSet(row[10]);
        s.localMinuteOfDay = row[11].as<int>();
        if (!row[12].is_null()) s.pushProvider = row[12].as<std::string>();
      }
    }
    if (row[13].is_null()) continue;
    CandidateOffer c;
    c.couponId = row[13].as<std::int64_t>();
    c.productId = opt<std::int64_t>(row[14]);
    c.categoryId = opt<std::int64_t>(row[15]);
    c.dueReplenishment = row[16].as<bool>();
    c.score = row[17].as<double>();
    c.reason = row[18].as<std::string>();
    c.code = row[19].as<std::string>();
    ctx.offers.push_back(std::move(c));
  }
  return out;
}

EventContext RealtimeRepository::eventContext(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t storeId,
                                              std::int64_t tMs, int visitWindowS, const std::string& zoneName,
                                              bool readOffers) {
  return eventContexts(tx, storeId, visitWindowS, {EventQuery{memberId, tMs, zoneName, readOffers}}).front();
}

std::vector<RecordedEvent> RealtimeRepository::recordEvents(pqxx::transaction_base& tx, std::int64_t storeId,
                                                            const std::string& gatewayId,
                                                            const std::vector<EventWrite>& writes) {
  std::vector<RecordedEvent> out(writes.size());
  if (writes.empty()) return out;
  ArrayLiteral member, eventId, tMs, type, zone, device, confidence, action, reason, coupon, key, provider, payload;
  for (const auto& w : writes) {
    const auto& e = w.event;
    member.number(std::to_string(e.memberId));
    eventId.text(e.eventId);
    tMs.number(std::to_string(e.tMs));
    type.text(e.type);
    zone.number(e.zoneId);
    device.number(e.deviceId);
    confidence.number(std::to_string(e.confidence));
    action.text(std::string(w.decision.push ? "push" : "none"));
    reason.text(w.decision.reason);
    coupon.number(w.decision.offer ? std::optional(w.decision.offer->couponId) : std::nullopt);
    key.text(w.push ? std::optional(w.push->dedupeKey) : std::nullopt);
    provider.text(w.push ? std::optional(w.push->provider) : std::nullopt);
    payload.text(w.push ? std::optional(w.push->payloadJson) : std::nullopt);
  }
  auto r = tx.exec_prepared("rt_record_event", member.str(), eventId.str(), tMs.str(), type.str(), zone.str(),
                            device.str(), confidence.str(), action.str(), reason.str(), coupon.str(), key.str(),
                            provider.str(), payload.str(), storeId, gatewayId);
  for (const auto& row : r) {
    const auto i = row[0].as<std::int64_t>();
    if (i < 1 || i > static_cast<std::int64_t>(writes.size())) continue;
    auto& rec = out[static_cast<std::size_t>(i - 1)];
    rec.stored = row[1].as<bool>();
    if (!row[2].is_null()) rec.outboxId = row[2].as<std::int64_t>();
  }
  return out;
}

RecordedEvent RealtimeRepository::recordEvent(pqxx::transaction_base& tx, const EventRecord& e, const TriggerDecision& d,
                                              const std::optional<QueuedPush>& push) {
  return recordEvents(tx, e.storeId, e.gatewayId, {EventWrite{e, d, push}}).front();
}

namespace {
// The claim walks the partial index of pending rows with a plain index scan, never a bitmap scan.
// Every claimed row leaves a dead entry in that index (its state changed) until VACUUM, which
// autovacuum runs at most once a minute; a bitmap scan -- the planner's choice, as few rows are
// pending -- visits every such entry's heap tuple on every claim (27,000 dead entries: 1,000 heap
// pages, 9 ms), while a plain index scan marks them dead once and skips them from then on (0.1 ms).
// SET LOCAL in the same query string holds for this statement only (one implicit transaction, one
// round trip); the limit is an int, so writing it into the text is safe.
std::string claimSql(int limit) {
  return "SET LOCAL enable_bitmapscan = off; "
         "UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1 FROM ("
         " SELECT member_id, outbox_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= now() "
         " ORDER BY next_attempt_at LIMIT " + std::to_string(limit) + " FOR UPDATE SKIP LOCKED) d "
         "WHERE o.member_id = d.member_id AND o.outbox_id = d.outbox_id "
         "RETURNING o.member_id, o.outbox_id, o.provider, o.payload::text, o.coupon_id, o.attempts, o.dedupe_key, "
         " (SELECT push_token FROM devices v WHERE v.member_id = o.member_id AND v.revoked_at IS NULL "
         "  AND v.push_provider = o.provider ORDER BY v.registered_at DESC LIMIT 1)";
}
}  // namespace

std::vector<OutboxRow> RealtimeRepository::claimDue(pqxx::transaction_base& tx, int limit) {
  std::vector<OutboxRow> out;
  for (const auto& row : tx.exec(claimSql(limit))) {
    OutboxRow o;
    o.memberId = row[0].as<std::int64_t>();
    o.outboxId = row[1].as<std::int64_t>();
    o.provider = row[2].as<std::string>();
    o.payload = row[3].as<std::string>();
    o.couponId = opt<std::int64_t>(row[4]);
    o.attempts = row[5].as<int>();
    o.dedupeKey = row[6].as<std::string>();
    o.pushToken = row[7].is_null() ? "" : row[7].as<std::string>();
    out.push_back(std::move(o));
  }
  return out;
}

void RealtimeRepository::markSent(pqxx::transaction_base& tx, const OutboxRow& row) {
  tx.exec_prepared("rt_mark_sent", row.memberId, row.outboxId);
}

void RealtimeRepository::markSent(pqxx::transaction_base& tx, const std::vector<const OutboxRow*>& rows) {
  if (rows.empty()) return;
  std::vector<std::int64_t> members, ids;
  members.reserve(rows.size());
  ids.reserve(rows.size());
  for (const auto* row : rows) {
    members.push_back(row->memberId);
    ids.push_back(row->outboxId);
  }
  tx.exec_prepared("rt_mark_sent_many", bigintArray(members), bigintArray(ids));
}

void RealtimeRepository::markRetry(pqxx::transaction_base& tx, const OutboxRow& row, std::int64_t delayMs,
                                   const std::string& error) {
  tx.exec_prepared("rt_mark_retry", row.memberId, row.outboxId, delayMs, error);
}

void RealtimeRepository::markDead(pqxx::transaction_base& tx, const OutboxRow& row, const std::string& error) {
  tx.exec_prepared("rt_mark_dead", row.memberId, row.outboxId, error);
}

int RealtimeRepository::requeueInterrupted(pqxx::transaction_base& tx) {
  return static_cast<int>(tx.exec_prepared("rt_requeue").affected_rows());
}

int RealtimeRepository::requeueOrphaned(pqxx::transaction_base& tx,
                                        const std::vector<std::pair<std::int64_t, std::int64_t>>& held) {
  std::vector<std::int64_t> members, ids;
  members.reserve(held.size());
  ids.reserve(held.size());
  for (const auto& [m, o] : held) {
    members.push_back(m);
    ids.push_back(o);
  }
  return static_cast<int>(
      tx.exec_params("UPDATE outbox SET state = 'pending' WHERE state = 'sending' AND (member_id, outbox_id) NOT IN "
                     "(SELECT * FROM unnest($1::bigint[], $2::bigint[]))",
                     bigintArray(members), bigintArray(ids))
          .affected_rows());
}

int RealtimeRepository::ensurePartitions(pqxx::transaction_base& tx, int daysAhead) {
  return tx.exec_prepared("rt_partitions", daysAhead)[0][0].as<int>();
}

int RealtimeRepository::dropEventsOlderThan(pqxx::transaction_base& tx, int retentionDays) {
  return tx.exec_prepared("rt_retention", retentionDays)[0][0].as<int>();
}

}  // namespace aisle::engine
