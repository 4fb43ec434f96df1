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

// libpqxx 6.4 passes std::optional as NULL only with PQXX_HAVE_OPTIONAL; a nullptr works everywhere.
template <typename T>
const char* nullOr(const std::optional<T>&) { return nullptr; }

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
  c.prepare("rt_zone",
            "SELECT z.zone_id, string_agg(zc.category_id::text, ',') FROM zones z "
            "LEFT JOIN zone_categories zc ON zc.zone_id = z.zone_id WHERE z.store_id = $1 AND z.name = $2 "
            "GROUP BY z.zone_id");
  c.prepare("rt_store_exists", "SELECT 1 FROM stores WHERE store_id = $1");
  c.prepare("rt_gateway_heartbeat", "UPDATE gateways SET health = $2::jsonb, last_seen_at = now() WHERE gateway_id = $1");
  c.prepare("rt_insert_event",
            "INSERT INTO proximity_events (member_id, event_id, occurred_at, type, store_id, zone_id, gateway_id, "
            "device_id, confidence) VALUES ($1, $2, to_timestamp($3::bigint / 1000.0), $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT DO NOTHING RETURNING 1");
  // One round trip for everything the caps and consent checks need. Times are the event's, and the
  // "day" is the store's local day (its IANA time zone), computed by PostgreSQL.
  c.prepare("rt_member_snapshot",
            "WITH t AS (SELECT to_timestamp($3::bigint / 1000.0) AS at), "
            "loc AS (SELECT (t.at AT TIME ZONE s.time_zone) AS local_ts, s.time_zone FROM t, stores s WHERE s.store_id = $2), "
            "visit AS (SELECT t.at - make_interval(secs => $4) AS since FROM t) "
            "SELECT "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = $1 AND purpose = 'proximity'), false), "
            " coalesce((SELECT granted FROM current_consents WHERE member_id = $1 AND purpose = 'push'), false), "
            " EXISTS (SELECT 1 FROM devices WHERE member_id = $1 AND revoked_at IS NULL AND push_token IS NOT NULL), "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = $1 AND action = 'push' "
            "   AND decided_at >= (date_trunc('day', loc.local_ts) AT TIME ZONE loc.time_zone)), "
            " (SELECT count(*) FROM trigger_decisions WHERE member_id = $1 AND action = 'push' AND store_id = $2 "
            "   AND decided_at >= visit.since), "
            " (SELECT string_agg(DISTINCT zone_id::text, ',') FROM trigger_decisions WHERE member_id = $1 "
            "   AND action = 'push' AND store_id = $2 AND decided_at >= visit.since AND zone_id IS NOT NULL), "
            " (SELECT string_agg(DISTINCT coupon_id::text, ',') FROM trigger_decisions WHERE member_id = $1 "
            "   AND action = 'push' AND decided_at >= visit.since AND coupon_id IS NOT NULL), "
            " (SELECT string_agg(DISTINCT l.product_id::text, ',') FROM transactions x JOIN transaction_lines l "
            "   ON l.member_id = x.member_id AND l.transaction_id = x.transaction_id WHERE x.member_id = $1 "
            "   AND x.store_id = $2 AND x.occurred_at >= visit.since AND l.product_id IS NOT NULL), "
            " (extract(hour FROM loc.local_ts) * 60 + extract(minute FROM loc.local_ts))::int, "
            " (SELECT push_provider FROM devices WHERE member_id = $1 AND revoked_at IS NULL AND push_token IS NOT NULL "
            "   AND push_provider IS NOT NULL ORDER BY registered_at DESC LIMIT 1) "
            "FROM t, loc, visit");
  // Score: a purchase-probability proxy (the model's affinity, raised when the product is due for
  // replenishment) times the coupon's face value in currency units.
  c.prepare("rt_candidates",
            "WITH t AS (SELECT to_timestamp($3::bigint / 1000.0) AS at) "
            "SELECT c.coupon_id, c.product_id, coalesce(c.category_id, p.category_id), "
            " coalesce(m.expected_next_at <= t.at + interval '2 days', false), "
            " (least(1.0, coalesce(m.affinity, 0.05) + CASE WHEN m.expected_next_at <= t.at + interval '2 days' "
            "   THEN 0.5 ELSE 0 END) * greatest(coalesce(c.value_minor, 100), 1) / 100.0)::float8, c.reason, c.code "
            "FROM t, coupons c LEFT JOIN products p ON p.product_id = c.product_id "
            "LEFT JOIN member_product_models m ON m.member_id = c.member_id AND m.product_id = c.product_id "
            "WHERE c.member_id = $1 AND c.state IN ('issued', 'delivered') AND c.valid_from <= t.at "
            "AND c.valid_to > t.at AND (c.store_id IS NULL OR c.store_id = $2)");
  c.prepare("rt_record_decision",
            "INSERT INTO trigger_decisions (member_id, event_id, store_id, zone_id, decided_at, action, reason, coupon_id) "
            "VALUES ($1, $2, $3, $4, to_timestamp($5::bigint / 1000.0), $6, $7, $8)");
  c.prepare("rt_enqueue",
            "INSERT INTO outbox (member_id, dedupe_key, provider, payload, coupon_id) VALUES ($1, $2, $3, $4::jsonb, $5) "
            "ON CONFLICT (member_id, dedupe_key) DO NOTHING RETURNING outbox_id");
  c.prepare("rt_coupon_code", "SELECT code FROM coupons WHERE member_id = $1 AND coupon_id = $2");
  c.prepare("rt_push_provider",
            "SELECT push_provider FROM devices WHERE member_id = $1 AND revoked_at IS NULL AND push_token IS NOT NULL "
            "AND push_provider IS NOT NULL ORDER BY registered_at DESC LIMIT 1");
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

std::optional<ZoneInfo> RealtimeRepository::zone(pqxx::transaction_base& tx, std::int64_t storeId, const std::string& name) {
  auto r = tx.exec_prepared("rt_zone", storeId, name);
  if (r.empty()) return std::nullopt;
  return ZoneInfo{r[0][0].as<std::int64_t>(), idSet(r[0][1])};
}

bool RealtimeRepository::storeExists(pqxx::transaction_base& tx, std::int64_t storeId) {
  return !tx.exec_prepared("rt_store_exists", storeId).empty();
}

void RealtimeRepository::gatewayHeartbeat(pqxx::transaction_base& tx, const std::string& gatewayId,
                                          const std::string& healthJson) {
  tx.exec_prepared0("rt_gateway_heartbeat", gatewayId, healthJson);
}

bool RealtimeRepository::insertEvent(pqxx::transaction_base& tx, std::int64_t memberId, const std::string& eventId,
                                     std::int64_t tMs, const std::string& type, std::int64_t storeId,
                                     std::optional<std::int64_t> zoneId, const std::string& gatewayId,
                                     std::optional<std::int64_t> deviceId, double confidence) {
  pqxx::result r = zoneId ? (deviceId ? tx.exec_prepared("rt_insert_event", memberId, eventId, tMs, type, storeId, *zoneId, gatewayId, *deviceId, confidence)
                                      : tx.exec_prepared("rt_insert_event", memberId, eventId, tMs, type, storeId, *zoneId, gatewayId, nullOr(deviceId), confidence))
                          : (deviceId ? tx.exec_prepared("rt_insert_event", memberId, eventId, tMs, type, storeId, nullOr(zoneId), gatewayId, *deviceId, confidence)
                                      : tx.exec_prepared("rt_insert_event", memberId, eventId, tMs, type, storeId, nullOr(zoneId), gatewayId, nullOr(deviceId), confidence));
  return !r.empty();
}

MemberSnapshot RealtimeRepository::memberSnapshot(pqxx::transaction_base& tx, std::int64_t memberId,
                                                  std::int64_t storeId, std::int64_t tMs, int visitWindowS) {
  auto r = tx.exec_prepared("rt_member_snapshot", memberId, storeId, tMs, visitWindowS);
  MemberSnapshot s;
  if (r.empty()) return s;  // unknown store: no consent read, so nothing will be sent
  const auto& row = r[0];
  s.state.proximityConsent = row[0].as<bool>();
  s.state.pushConsent = row[1].as<bool>();
  s.state.hasPushTarget = row[2].as<bool>();
  s.state.pushesToday = row[3].as<int>();
  s.state.pushesThisVisit = row[4].as<int>();
  s.state.zonesPushedThisVisit = idSet(row[5]);
  s.state.couponsPushedRecently = idSet(row[6]);
  s.state.productsBoughtThisVisit = idSet(row[7]);
  s.localMinuteOfDay = row[8].as<int>();
  if (!row[9].is_null()) s.pushProvider = row[9].as<std::string>();
  return s;
}

std::vector<CandidateOffer> RealtimeRepository::candidates(pqxx::transaction_base& tx, std::int64_t memberId,
                                                           std::int64_t storeId, std::int64_t tMs) {
  std::vector<CandidateOffer> out;
  for (const auto& row : tx.exec_prepared("rt_candidates", memberId, storeId, tMs)) {
    CandidateOffer c;
    c.couponId = row[0].as<std::int64_t>();
    c.productId = opt<std::int64_t>(row[1]);
    c.categoryId = opt<std::int64_t>(row[2]);
    c.dueReplenishment = row[3].as<bool>();
    c.score = row[4].as<double>();
    c.reason = row[5].as<std::string>();
    c.code = row[6].as<std::string>();
    out.push_back(std::move(c));
  }
  return out;
}

void RealtimeRepository::recordDecision(pqxx::transaction_base& tx, std::int64_t memberId, const std::string& eventId,
                                        std::int64_t storeId, std::optional<std::int64_t> zoneId, std::int64_t tMs,
                                        const TriggerDecision& d) {
  const char* action = d.push ? "push" : "none";
  if (zoneId && d.offer) tx.exec_prepared("rt_record_decision", memberId, eventId, storeId, *zoneId, tMs, action, d.reason, d.offer->couponId);
  else if (zoneId) tx.exec_prepared("rt_record_decision", memberId, eventId, storeId, *zoneId, tMs, action, d.reason, nullptr);
  else if (d.offer) tx.exec_prepared("rt_record_decision", memberId, eventId, storeId, nullptr, tMs, action, d.reason, d.offer->couponId);
  else tx.exec_prepared("rt_record_decision", memberId, eventId, storeId, nullptr, tMs, action, d.reason, nullptr);
}

std::optional<std::int64_t> RealtimeRepository::enqueue(pqxx::transaction_base& tx, std::int64_t memberId,
                                                        const std::string& dedupeKey, const std::string& provider,
                                                        const std::string& payloadJson, std::optional<std::int64_t> couponId) {
  auto r = couponId ? tx.exec_prepared("rt_enqueue", memberId, dedupeKey, provider, payloadJson, *couponId)
                    : tx.exec_prepared("rt_enqueue", memberId, dedupeKey, provider, payloadJson, nullptr);
  if (r.empty()) return std::nullopt;
  return r[0][0].as<std::int64_t>();
}

std::string RealtimeRepository::couponCode(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t couponId) {
  auto r = tx.exec_prepared("rt_coupon_code", memberId, couponId);
  return r.empty() ? std::string() : r[0][0].as<std::string>();
}

std::string RealtimeRepository::pushProvider(pqxx::transaction_base& tx, std::int64_t memberId) {
  auto r = tx.exec_prepared("rt_push_provider", memberId);
  return r.empty() ? std::string("sse") : r[0][0].as<std::string>();
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
