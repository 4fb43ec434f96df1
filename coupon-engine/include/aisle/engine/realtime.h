#pragma once
// The real-time path of the engine: authenticated proximity events in, each resolved to a member's
// device, stored once (dedupe by event_id), a trigger decision recorded with its reason, and a push
// queued in the transactional outbox in the same transaction. The dispatcher (delivery.h) sends it.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"
#include "aisle/common/pg.h"
#include "aisle/common/result.h"
#include "aisle/engine/eid.h"
#include "aisle/engine/ingest.h"
#include "aisle/engine/triggers.h"

namespace aisle::engine {

struct RealtimeOptions {
  TriggerPolicy policy;
  int visitWindowS = 3 * 3600;    // pushes within this window at one store count as one visit
  std::string masterKey;          // 32 bytes: opens identity keys and gateway secrets at rest
  int eidWindowPeriods = 1;       // rotation periods either side of now (beacon clock drift)
  IngestLimits limits;
};

struct IngestOutcome {
  int accepted = 0;    // new events stored
  int duplicates = 0;  // already stored (a retry)
  int unresolved = 0;  // not one of our members' devices: dropped, never stored
  int pushes = 0;      // pushes queued
  std::string json() const;
};

class RealtimeService {
 public:
  // onQueued(dedupeKey) runs right after an event's push is committed to the outbox (wake the
  // dispatcher there; the bench also timestamps it).
  using QueuedHook = std::function<void(const std::string& dedupeKey)>;
  RealtimeService(PgPool& db, const Clock& clock, RealtimeOptions options, Logger log,
                  std::shared_ptr<MetricsRegistry> metrics, QueuedHook onQueued = nullptr);

  // Secrets of gateway keys, for RequestVerifier (decrypted with the master key, cached).
  std::optional<std::string> gatewaySecret(const std::string& keyId);
  // The gateway and store a key belongs to.
  std::optional<std::pair<std::string, std::int64_t>> gatewayOfKey(const std::string& keyId);

  // A gateway's batch, authenticated as `keyId`; refuses batches for another gateway or store.
  Result<IngestOutcome> ingest(const ProximityBatch& batch, const std::string& keyId);
  // A gateway's health report (any JSON object), stored with the time it was seen; only the
  // gateway's own key may report for it.
  Status heartbeat(const std::string& gatewayId, const std::string& keyId, const std::string& healthJson);
  // A member's app saw a store beacon (iPhone path): one sighting event for that member.
  Result<IngestOutcome> ingestSighting(const AppSighting& sighting, std::int64_t memberId);

  // Reloads registered EID devices and recomputes the resolver for now (call once per rotation).
  Result<std::size_t> rebuildEidResolver();
  // A device registered (and committed) since the last rebuild: it resolves from now on, through a
  // small overlay table, without recomputing the whole resolver.
  void addEidDevice(const EidDevice& device);
  // A revoked device stops resolving at once (until the next rebuild no longer loads it).
  void forgetEidDevice(std::int64_t deviceId);

 private:
  struct Resolved {
    std::int64_t memberId;
    std::optional<std::int64_t> deviceId;
  };
  std::optional<Resolved> resolve(pqxx::transaction_base& tx, const BeaconRef& beacon);
  struct EventIn {
    std::int64_t memberId = 0;
    std::optional<std::int64_t> deviceId;
    std::string eventId;
    ZoneEventType type = ZoneEventType::Enter;
    std::string zoneName;
    std::int64_t tMs = 0;
    double confidence = 1.0;
  };
  // Stores and decides a round of events of distinct members with one read and one write. Per
  // event: nullopt for a duplicate, else the queued push's dedupe key ("" when not pushing).
  std::vector<std::optional<std::string>> handleRound(pqxx::transaction_base& tx, std::int64_t storeId,
                                                      const std::string& gatewayId, const std::vector<EventIn>& events);

  PgPool& db_;
  const Clock& clock_;
  RealtimeOptions options_;
  Logger log_;
  std::shared_ptr<MetricsRegistry> metrics_;
  QueuedHook onQueued_;
  // Per-event stage latencies (resolve, read, write): /metrics, and the bench's stage figures.
  Histogram& stageResolve_;
  Histogram& stageRead_;
  Histogram& stageWrite_;
  Counter& decisionsPush_;  // registered once: the hot path takes no registry lock
  Counter& decisionsNone_;
  std::mutex keysMu_;
  std::map<std::string, std::pair<std::string, std::pair<std::string, std::int64_t>>> keys_;  // key -> (secret, (gw, store))
  std::shared_mutex eidMu_;
  std::shared_ptr<const EidResolver> eid_;
  std::shared_ptr<const EidResolver> eidRecent_;               // overlay: devices added since the rebuild
  std::shared_ptr<const std::set<std::int64_t>> eidRevoked_;  // revoked since the rebuild
  std::mutex recentMu_;  // guards the two lists below; taken before eidMu_
  std::vector<EidDevice> recent_;
  std::set<std::int64_t> revoked_;
};

}  // namespace aisle::engine
