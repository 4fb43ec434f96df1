#include "db/realtime_repository.h"

#include <sstream>
#include <type_traits>

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
  c.prepare("rt_event_context",
            "WITH t AS (SELECT to_timestamp($3::bigint / 1000.0) AS at), "
            "loc AS (SELECT (t.at AT TIME ZONE s.time_zone) AS local_ts, s.time_zone FROM t, stores s WHERE s.store_id = $2::bigint), "
            "visit AS (SELECT t.at - make_interval(secs => $4::float8) AS since FROM t), "
            "z AS (SELECT z.zone_id, (SELECT string_agg(zc.category_id::text, ',') FROM zone_categories zc "
            "   WHERE zc.zone_id = z.zone_id) AS cats FROM zones z WHERE z.store_id = $2::bigint AND z.name = $5::text), "
            "s AS MATERIALIZED (SELECT "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = $1::bigint AND purpose = 'proximity'), false) AS proximity, "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = $1::bigint AND purpose = 'push'), false) AS push, "
            " EXISTS (SELECT 1 FROM devices WHERE member_id = $1::bigint AND revoked_at IS NULL AND push_token IS NOT NULL) AS target, "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = $1::bigint AND action = 'push' "
            "   AND decided_at >= (date_trunc('day', loc.local_ts) AT TIME ZONE loc.time_zone)) AS today, "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = $1::bigint AND action = 'push' AND store_id = $2::bigint "
            "   AND decided_at >= visit.since) AS visit_pushes, "
            " (SELECT string_agg(DISTINCT zone_id::text, ',') FROM trigger_decisions WHERE member_id = $1::bigint "
            "   AND action = 'push' AND store_id = $2::bigint AND decided_at >= visit.since AND zone_id IS NOT NULL) AS zones, "
            " (SELECT string_agg(DISTINCT coupon_id::text, ',') FROM trigger_decisions WHERE member_id = $1::bigint "
            "   AND action = 'push' AND decided_at >= visit.since AND coupon_id IS NOT NULL) AS coupons, "
            " (SELECT string_agg(DISTINCT l.product_id::text, ',') FROM transactions x JOIN transaction_lines l "
            "   ON l.member_id = x.member_id AND l.transaction_id = x.transaction_id WHERE x.member_id = $1::bigint "
            "   AND x.store_id = $2::bigint AND x.occurred_at >= visit.since AND l.product_id IS NOT NULL) AS bought, "
            " (extract(hour FROM loc.local_ts) * 60 + extract(minute FROM loc.local_ts))::int AS minute, "
            " (SELECT push_provider FROM devices WHERE member_id = $1::bigint AND revoked_at IS NULL AND push_token IS NOT NULL "
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
            " WHERE s.proximity AND s.push AND $6::boolean "
            " AND c.member_id = $1::bigint AND c.state IN ('issued', 'delivered') AND c.valid_from <= t.at "
            " AND c.valid_to > t.at AND (c.store_id IS NULL OR c.store_id = $2::bigint) OFFSET 0) o ON true");
  // Everything an event writes, in one statement (so atomic without a transaction round trip): the
  // event (deduplicated by member, event_id and time), and only when it is new the decision with its
  // reason and, for a push, the outbox row.
  c.prepare("rt_record_event",
            "WITH ins AS (INSERT INTO proximity_events (member_id, event_id, occurred_at, type, store_id, zone_id, "
            " gateway_id, device_id, confidence) VALUES ($1::bigint, $2::text, to_timestamp($3::bigint / 1000.0), $4::text, "
            " $5::bigint, $6::bigint, $7::text, $8::bigint, $9::real) ON CONFLICT DO NOTHING RETURNING 1), "
            "d AS (INSERT INTO trigger_decisions (member_id, event_id, store_id, zone_id, decided_at, action, reason, coupon_id) "
            " SELECT $1::bigint, $2::text, $5::bigint, $6::bigint, to_timestamp($3::bigint / 1000.0), $10::text, $11::text, "
            " $12::bigint FROM ins), "
            "o AS (INSERT INTO outbox (member_id, dedupe_key, provider, payload, coupon_id) "
            " SELECT $1::bigint, $13::text, $14::text, $15::jsonb, $12::bigint FROM ins WHERE $13::text IS NOT NULL "
            " ON CONFLICT (member_id, dedupe_key) DO NOTHING RETURNING outbox_id) "
            "SELECT (SELECT count(*) FROM ins)::int, (SELECT outbox_id FROM o)");
  c.prepare("rt_claim_due",
            "UPDATE outbox o SET state = 'sending', attempts = o.attempts + 1 FROM ("
            " SELECT member_id, outbox_id FROM outbox WHERE state = 'pending' AND next_attempt_at <= now() "
            " ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) d "
            "WHERE o.member_id = d.member_id AND o.outbox_id = d.outbox_id "
            "RETURNING o.member_id, o.outbox_id, o.provider, o.payload::text, o.coupon_id, o.attempts, o.dedupe_key, "
            " (SELECT push_token FROM devices v WHERE v.member_id = o.member_id AND v.revoked_at IS NULL "
            "  AND v.push_provider = o.provider ORDER BY v.registered_at DESC LIMIT 1)");
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
// A nullable text parameter: libpqxx 6.4 sends a null const char* as NULL.
struct Param {
  std::string text;
  bool null = true;
  Param() = default;
  explicit Param(std::string s) : text(std::move(s)), null(false) {}
  template <typename T>
  static Param of(const std::optional<T>& v) {
    if (!v) return Param();
    if constexpr (std::is_same_v<T, std::string>) return Param(*v);
    else return Param(std::to_string(*v));
  }
  const char* get() const { return null ? nullptr : text.c_str(); }
};

std::string bigintArray(const std::vector<std::int64_t>& v) {
  std::string out = "{";
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "}";
}
}  // namespace

EventContext RealtimeRepository::eventContext(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t storeId,
                                              std::int64_t tMs, int visitWindowS, const std::string& zoneName,
                                              bool readOffers) {
  const Param zone = zoneName.empty() ? Param() : Param(zoneName);
  auto r = tx.exec_prepared("rt_event_context", memberId, storeId, tMs, visitWindowS, zone.get(), readOffers);
  EventContext ctx;
  if (r.empty()) return ctx;
  const auto& first = r[0];
  if (!first[0].is_null()) ctx.zone = ZoneInfo{first[0].as<std::int64_t>(), idSet(first[1])};
  if (!first[2].is_null()) {  // NULL: unknown store, so no consent read and nothing will be sent
    auto& s = ctx.snapshot;
    s.state.proximityConsent = first[2].as<bool>();
    s.state.pushConsent = first[3].as<bool>();
    s.state.hasPushTarget = first[4].as<bool>();
    s.state.pushesToday = first[5].as<int>();
    s.state.pushesThisVisit = first[6].as<int>();
    s.state.zonesPushedThisVisit = idSet(first[7]);
    s.state.couponsPushedRecently = idSet(first[8]);
    s.state.productsBoughtThisVisit = idSet(first[9]);
    s.localMinuteOfDay = first[10].as<int>();
    if (!first[11].is_null()) s.pushProvider = first[11].as<std::string>();
  }
  for (const auto& row : r) {
    if (row[12].is_null()) continue;
    CandidateOffer c;
    c.couponId = row[12].as<std::int64_t>();
    c.productId = opt<std::int64_t>(row[13]);
    c.categoryId = opt<std::int64_t>(row[14]);
    c.dueReplenishment = row[15].as<bool>();
    c.score = row[16].as<double>();
    c.reason = row[17].as<std::string>();
    c.code = row[18].as<std::string>();
    ctx.offers.push_back(std::move(c));
  }
  return ctx;
}

RecordedEvent RealtimeRepository::recordEvent(pqxx::transaction_base& tx, const EventRecord& e, const TriggerDecision& d,
                                              const std::optional<QueuedPush>& push) {
  const Param zone = Param::of(e.zoneId), device = Param::of(e.deviceId);
  const Param coupon = d.offer ? Param(std::to_string(d.offer->couponId)) : Param();
  const Param key = push ? Param(push->dedupeKey) : Param(), provider = push ? Param(push->provider) : Param(),
              payload = push ? Param(push->payloadJson) : Param();
  auto r = tx.exec_prepared("rt_record_event", e.memberId, e.eventId, e.tMs, e.type, e.storeId, zone.get(), e.gatewayId,
                            device.get(), e.confidence, d.push ? "push" : "none", d.reason, coupon.get(), key.get(),
                            provider.get(), payload.get());
  RecordedEvent out;
  out.stored = r[0][0].as<int>() > 0;
  if (!r[0][1].is_null()) out.outboxId = r[0][1].as<std::int64_t>();
  return out;
}

std::vector<OutboxRow> RealtimeRepository::claimDue(pqxx::transaction_base& tx, int limit) {
  std::vector<OutboxRow> out;
  for (const auto& row : tx.exec_prepared("rt_claim_due", limit)) {
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

int RealtimeRepository::ensurePartitions(pqxx::transaction_base& tx, int daysAhead) {
  return tx.exec_prepared("rt_partitions", daysAhead)[0][0].as<int>();
}

int RealtimeRepository::dropEventsOlderThan(pqxx::transaction_base& tx, int retentionDays) {
  return tx.exec_prepared("rt_retention", retentionDays)[0][0].as<int>();
}

}  // namespace aisle::engine
