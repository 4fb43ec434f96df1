#pragma once
// Every statement the real-time path runs: beacon -> device lookups, event dedupe, the member's state
// for caps and consent, candidate offers, decisions, the outbox, retention and erasure.
// Prepared once per connection (prepare() is given to PgSession::onConnect).
#include <pqxx/pqxx>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "aisle/engine/triggers.h"

namespace aisle::engine {

struct DeviceHit {
  std::int64_t memberId = 0;
  std::int64_t deviceId = 0;
};

struct StoredEidDevice {
  std::int64_t memberId = 0;
  std::int64_t deviceId = 0;
  std::string keyEnc;  // AES-GCM sealed identity key (AAD "device:<member>:<device>")
  int k = 10;
  std::int64_t clockOffsetS = 0;
};

struct GatewayKey {
  std::string gatewayId;
  std::int64_t storeId = 0;
  std::string secretEnc;
};

struct ZoneInfo {
  std::int64_t zoneId = 0;
  std::set<std::int64_t> categories;
};

struct MemberSnapshot {
  MemberState state;
  int localMinuteOfDay = 0;
  std::string pushProvider = "sse";  // what reaches the member (see pushProvider())
};

// What one event's decision needs (RealtimeRepository::eventContext).
struct EventContext {
  std::optional<ZoneInfo> zone;        // the event's zone, when the store knows its name
  MemberSnapshot snapshot;             // defaults (no consent) for an unknown store
  std::vector<CandidateOffer> offers;  // read only with proximity and push consent
};

struct EventRecord {
  std::int64_t memberId = 0;
  std::string eventId;
  std::int64_t tMs = 0;
  std::string type;
  std::int64_t storeId = 0;
  std::optional<std::int64_t> zoneId;
  std::string gatewayId;
  std::optional<std::int64_t> deviceId;
  double confidence = 1.0;
};

struct QueuedPush {
  std::string dedupeKey;
  std::string provider;
  std::string payloadJson;
};

struct RecordedEvent {
  bool stored = false;                  // false: this (member, event_id, time) was stored before
  std::optional<std::int64_t> outboxId;  // the queued push, unless its dedupe key was queued before
};

// One event of a batch, for eventContexts().
struct EventQuery {
  std::int64_t memberId = 0;
  std::int64_t tMs = 0;
  std::string zoneName;  // "" for none
  bool readOffers = true;
};

// One event of a batch, for recordEvents(): the event, its decision and its push (if any).
struct EventWrite {
  EventRecord event;
  TriggerDecision decision;
  std::optional<QueuedPush> push;
};

struct OutboxRow {
  std::int64_t memberId = 0;
  std::int64_t outboxId = 0;
  std::string provider;
  std::string payload;
  std::optional<std::int64_t> couponId;
  int attempts = 0;
  std::string dedupeKey;
  std::string pushToken;  // the member's newest device token for the provider, if any
};

class RealtimeRepository {
 public:
  static void prepare(pqxx::connection& c);

  static std::optional<GatewayKey> gatewayByKey(pqxx::transaction_base& tx, const std::string& keyId);
  static std::vector<StoredEidDevice> eidDevices(pqxx::transaction_base& tx);
  static std::optional<DeviceHit> deviceByIbeacon(pqxx::transaction_base& tx, const std::string& uuid, int major, int minor);
  static std::optional<DeviceHit> deviceByAltbeacon(pqxx::transaction_base& tx, const std::string& id);
  static bool storeExists(pqxx::transaction_base& tx, std::int64_t storeId);
  static void gatewayHeartbeat(pqxx::transaction_base& tx, const std::string& gatewayId, const std::string& healthJson);

  // The zone, the member's state for caps and consent, and (only when `readOffers` and with
  // proximity and push consent) the candidate offers: one round trip.
  static EventContext eventContext(pqxx::transaction_base& tx, std::int64_t memberId, std::int64_t storeId,
                                   std::int64_t tMs, int visitWindowS, const std::string& zoneName, bool readOffers);
  // The same for several events of one store in one round trip (result i is events[i]'s). The
  // events must be of distinct members: one member's later event must see the earlier one's push.
  static std::vector<EventContext> eventContexts(pqxx::transaction_base& tx, std::int64_t storeId, int visitWindowS,
                                                 const std::vector<EventQuery>& events);
  // Stores the event and, only if it is new (not a gateway retry), the decision with its reason and
  // the push in the outbox: one statement, atomic on its own.
  static RecordedEvent recordEvent(pqxx::transaction_base& tx, const EventRecord& event, const TriggerDecision& decision,
                                   const std::optional<QueuedPush>& push);
  // The same for several events of one store and gateway, in one statement (result i is writes[i]'s;
  // events[].storeId and gatewayId are ignored in favour of the arguments).
  static std::vector<RecordedEvent> recordEvents(pqxx::transaction_base& tx, std::int64_t storeId,
                                                 const std::string& gatewayId, const std::vector<EventWrite>& writes);

  // Dispatcher: claims due rows (state -> sending, attempts + 1) without blocking other dispatchers.
  // Only "pending" rows: a row handed over whose outcome is not written back yet stays "sending".
  // One round trip (see claimSql for why it is not a prepared statement).
  static std::vector<OutboxRow> claimDue(pqxx::transaction_base& tx, int limit);
  static void markSent(pqxx::transaction_base& tx, const OutboxRow& row);
  static void markSent(pqxx::transaction_base& tx, const std::vector<const OutboxRow*>& rows);  // one statement
  static void markRetry(pqxx::transaction_base& tx, const OutboxRow& row, std::int64_t delayMs, const std::string& error);
  static void markDead(pqxx::transaction_base& tx, const OutboxRow& row, const std::string& error);
  // After a crash: rows left in "sending" go back to "pending" (providers dedupe by dedupe key).
  static int requeueInterrupted(pqxx::transaction_base& tx);
  // After a claim whose answer was lost with its connection (it may have committed): rows in
  // "sending" that this process does not hold (`held`: handed over, outcome not yet written back)
  // go back to "pending". Assumes one dispatcher per database, like requeueInterrupted.
  static int requeueOrphaned(pqxx::transaction_base& tx, const std::vector<std::pair<std::int64_t, std::int64_t>>& held);

  static int ensurePartitions(pqxx::transaction_base& tx, int daysAhead);
  static int dropEventsOlderThan(pqxx::transaction_base& tx, int retentionDays);
};

}  // namespace aisle::engine
