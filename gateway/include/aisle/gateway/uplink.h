#pragma once
// Zone events to the engine, through the durable spool so an unreachable engine loses nothing:
//
//   ZoneTracker -> EventBatcher (loop thread) -> Spool (disk) -> UplinkSender (own thread) -> POST
//
// The batcher buffers events in memory for at most batchMaxDelay or batchMaxEvents, then appends
// the batch to the spool as one record (newline-separated event objects): from then on the events
// survive a crash. The sender peeks the oldest records, merges them into one request of at most
// requestMaxEvents events, POSTs /v1/proximity/events, and acknowledges only after a 2xx: delivery
// is in order and at least once (the engine dedupes by event_id). Network errors, 5xx, 401/403/404
// and 429 are retried with jittered exponential backoff; a request the engine refuses as malformed
// (400, 413, 422) can never succeed, so it is dropped and counted instead of blocking the queue.
// Both sides are plain classes with the HTTP call injected, so tests run them without a network.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "aisle/common/backoff.h"
#include "aisle/common/clock.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"
#include "aisle/common/result.h"
#include "aisle/common/spool.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

struct UplinkOptions {
  std::string gatewayId;
  std::int64_t storeId = 0;
  std::size_t batchMaxEvents = 100;
  std::chrono::milliseconds batchMaxDelay{1000};
  std::size_t requestMaxEvents = 100;
  std::chrono::milliseconds retryInitial{500};
  std::chrono::milliseconds retryMax{30000};
};

// The gateway's uplink counters, registered once in the daemon's registry.
struct UplinkMetrics {
  explicit UplinkMetrics(MetricsRegistry& registry);
  Counter& eventsEmitted;
  Counter& eventsSpooled;
  Counter& spoolErrors;
  Counter& eventsDelivered;
  Counter& eventsRejected;
  Counter& requestsOk;
  Counter& requestsFailed;
  Gauge& spoolDepthRecords;
  Gauge& spoolDepthBytes;
  Gauge& spoolDropped;
  Counter& heartbeatsOk;
  Counter& heartbeatsFailed;
};

class EventBatcher final : public ZoneEventSink {
 public:
  EventBatcher(Spool& spool, UplinkOptions options, const Clock& clock, Logger log,
               UplinkMetrics& metrics);
  void onZoneEvent(const ZoneEvent& event) override;
  // Called by the loop's timer: writes the batch once its oldest event is batchMaxDelay old.
  void flushIfDue();
  // Writes whatever is buffered (SIGTERM, reload, batch full).
  void flush();
  void setOptions(const UplinkOptions& options) { options_ = options; }
  std::size_t buffered() const { return count_; }

 private:
  Spool& spool_;
  UplinkOptions options_;
  const Clock& clock_;
  Logger log_;
  UplinkMetrics& metrics_;
  std::string buf_;
  std::size_t count_ = 0;
  std::chrono::steady_clock::time_point firstAt_;
};

// POSTs one request body; the HTTP status, or an error when no answer came (network, timeout).
using PostBatch = std::function<Result<int>(const std::string& body)>;

// {"gateway_id":…,"store_id":…,"events":[…]} from newline-separated event objects.
std::string uplinkBody(const UplinkOptions& options, std::string_view eventLines);

class UplinkSender {
 public:
  UplinkSender(Spool& spool, PostBatch post, UplinkOptions options, Logger log,
               UplinkMetrics& metrics);
  ~UplinkSender();
  UplinkSender(const UplinkSender&) = delete;
  UplinkSender& operator=(const UplinkSender&) = delete;

  void start();
  // Ends the thread after the attempt in flight; records not yet acknowledged stay in the spool.
  void stop();

  enum class Attempt { Idle, Delivered, Rejected, Failed };
  // One peek + POST + ack (the thread's step; tests call it directly).
  Attempt deliverOnce();

  bool healthy() const { return consecutiveFailures_.load() == 0; }
  std::uint64_t consecutiveFailures() const { return consecutiveFailures_.load(); }

 private:
  void run();
  void publishSpoolStats();

  Spool& spool_;
  PostBatch post_;
  UplinkOptions options_;
  Logger log_;
  UplinkMetrics& metrics_;
  Backoff backoff_;
  std::atomic<std::uint64_t> consecutiveFailures_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// A POST of "the latest report" on a thread of its own: health heartbeats to the engine
// (`POST /v1/gateways/{id}/heartbeat`) and a scanner's summaries to its hub. Latest wins: a report
// not yet sent is replaced by a newer one, and a failed one is not retried or spooled (a stale
// report is worth nothing; the next follows within its interval). Its own thread and connection,
// so a slow or dead receiver never delays the event uplink or the radio loop.
class LatestWinsSender {
 public:
  LatestWinsSender(PostBatch post, Logger log, Counter& ok, Counter& failed);
  ~LatestWinsSender();
  LatestWinsSender(const LatestWinsSender&) = delete;
  LatestWinsSender& operator=(const LatestWinsSender&) = delete;

  void start();
  // Ends the thread after the request in flight; a pending report is dropped.
  void stop();
  // Hands over the newest report; replaces one still waiting. Never blocks on the network.
  void submit(std::string body);
  // One pending report POSTed, if any (the thread's step; tests call it directly). True if one was.
  bool sendPending();
  bool failing() const { return failing_.load(); }

 private:
  void run();

  PostBatch post_;
  Logger log_;
  Counter& ok_;
  Counter& failed_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::string pending_;
  bool hasPending_ = false;
  bool stopping_ = false;
  std::atomic<bool> failing_{false};
  std::thread thread_;
};

}  // namespace aisle::gateway
