#include "aisle/gateway/uplink.h"

#include <algorithm>

#include "aisle/gateway/json.h"

namespace aisle::gateway {
namespace {

std::size_t countLines(std::string_view s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

bool isPermanentRejection(int status) { return status == 400 || status == 413 || status == 422; }

}  // namespace

UplinkMetrics::UplinkMetrics(MetricsRegistry& r)
    : eventsEmitted(r.counter("aisle_gateway_zone_events_total", "Zone events emitted by the tracker")),
      eventsSpooled(r.counter("aisle_gateway_uplink_events_spooled_total",
                              "Zone events written to the durable spool")),
      spoolErrors(r.counter("aisle_gateway_uplink_spool_errors_total",
                            "Spool appends that failed (events possibly lost)")),
      eventsDelivered(r.counter("aisle_gateway_uplink_events_delivered_total",
                                "Zone events acknowledged by the engine")),
      eventsRejected(r.counter("aisle_gateway_uplink_events_rejected_total",
                               "Zone events the engine refused as malformed (dropped)")),
      requestsOk(r.counter("aisle_gateway_uplink_requests_total", "Uplink requests", "result=\"ok\"")),
      requestsFailed(r.counter("aisle_gateway_uplink_requests_total", "Uplink requests", "result=\"failed\"")),
      spoolDepthRecords(r.gauge("aisle_gateway_spool_depth_records", "Spooled batches not yet delivered")),
      spoolDepthBytes(r.gauge("aisle_gateway_spool_depth_bytes", "Bytes of spool segments on disk")),
      spoolDropped(r.gauge("aisle_gateway_spool_dropped_records",
                           "Batches dropped by the spool's size bound (cumulative, survives restarts)")),
      heartbeatsOk(r.counter("aisle_gateway_heartbeats_total", "Health reports to the engine", "result=\"ok\"")),
      heartbeatsFailed(r.counter("aisle_gateway_heartbeats_total", "Health reports to the engine", "result=\"failed\"")) {}

EventBatcher::EventBatcher(Spool& spool, UplinkOptions options, const Clock& clock, Logger log,
                           UplinkMetrics& metrics)
    : spool_(spool), options_(std::move(options)), clock_(clock), log_(std::move(log)), metrics_(metrics) {
  buf_.reserve(16 * 1024);
}

void EventBatcher::onZoneEvent(const ZoneEvent& e) {
  if (count_ == 0) firstAt_ = clock_.monotonic();
  appendZoneEventJson(e, buf_);
  buf_.push_back('\n');
  ++count_;
  metrics_.eventsEmitted.inc();
  if (count_ >= options_.batchMaxEvents) flush();
}

void EventBatcher::flushIfDue() {
  if (count_ > 0 && clock_.monotonic() - firstAt_ >= options_.batchMaxDelay) flush();
}

void EventBatcher::flush() {
  if (count_ == 0) return;
  auto r = spool_.append(buf_);
  if (r) {
    metrics_.eventsSpooled.inc(count_);
  } else {
    // The disk is the only place events could go: count the loss loudly and keep running (the
    // next batch may succeed once space is freed).
    metrics_.spoolErrors.inc();
    log_.error("spool append failed, " + std::to_string(count_) + " events lost: " + r.message());
  }
  buf_.clear();
  count_ = 0;
}

std::string uplinkBody(const UplinkOptions& o, std::string_view lines) {
  std::string body;
  body.reserve(lines.size() + 96);
  body.append("{\"gateway_id\":");
  appendJsonString(body, o.gatewayId);
  body.append(",\"store_id\":").append(std::to_string(o.storeId)).append(",\"events\":[");
  bool first = true;
  std::size_t pos = 0;
  while (pos < lines.size()) {
    std::size_t end = lines.find('\n', pos);
    if (end == std::string_view::npos) end = lines.size();
    if (end > pos) {
      if (!first) body.push_back(',');
      body.append(lines.substr(pos, end - pos));
      first = false;
    }
    pos = end + 1;
  }
  body.append("]}");
  return body;
}

UplinkSender::UplinkSender(Spool& spool, PostBatch post, UplinkOptions options, Logger log,
                           UplinkMetrics& metrics)
    : spool_(spool),
      post_(std::move(post)),
      options_(std::move(options)),
      log_(std::move(log)),
      metrics_(metrics),
      backoff_(options_.retryInitial, options_.retryMax,
               static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {}

UplinkSender::~UplinkSender() { stop(); }

void UplinkSender::start() {
  publishSpoolStats();
  thread_ = std::thread([this] { run(); });
}

void UplinkSender::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UplinkSender::publishSpoolStats() {
  const SpoolStats s = spool_.stats();
  metrics_.spoolDepthRecords.set(static_cast<double>(s.depthRecords));
  metrics_.spoolDepthBytes.set(static_cast<double>(s.depthBytes));
  metrics_.spoolDropped.set(static_cast<double>(s.dropped));
}

UplinkSender::Attempt UplinkSender::deliverOnce() {
  auto records = spool_.peek(64, 4u << 20);
  publishSpoolStats();
  if (!records) {
    log_.error("spool peek failed: " + records.message());
    return Attempt::Failed;
  }
  if (records->empty()) return Attempt::Idle;
  // Merge whole records up to the request limit; a record is never split, so one ack covers it.
  std::string lines;
  std::size_t events = 0;
  std::uint64_t lastSeq = 0;
  for (const SpoolRecord& rec : *records) {
    const std::size_t n = countLines(rec.payload);
    if (lastSeq != 0 && events + n > options_.requestMaxEvents) break;
    lines += rec.payload;
    events += n;
    lastSeq = rec.seq;
  }
  const std::string body = uplinkBody(options_, lines);
  auto status = post_(body);
  const bool ok = status && *status >= 200 && *status < 300;
  const bool rejected = status && isPermanentRejection(*status);
  if (!ok && !rejected) {
    metrics_.requestsFailed.inc();
    if (consecutiveFailures_++ == 0) {
      // One line when the engine goes away (and one when it comes back), not one per retry.
      log_.warn("engine unreachable, spooling: " +
                (status ? "HTTP " + std::to_string(*status) : status.message()));
    }
    return Attempt::Failed;
  }
  if (auto st = spool_.ack(lastSeq); !st) {
    log_.error("spool ack failed (the batch may be sent again): " + st.message());
  }
  publishSpoolStats();
  if (consecutiveFailures_.exchange(0) > 0) log_.info("engine reachable again, delivering the spool");
  backoff_.reset();
  if (rejected) {
    metrics_.eventsRejected.inc(events);
    log_.error("engine refused a batch of " + std::to_string(events) + " events with HTTP " +
               std::to_string(*status) + "; dropped");
    return Attempt::Rejected;
  }
  metrics_.requestsOk.inc();
  metrics_.eventsDelivered.inc(events);
  return Attempt::Delivered;
}

void UplinkSender::run() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    const Attempt a = deliverOnce();
    if (a == Attempt::Delivered || a == Attempt::Rejected) continue;
    if (a == Attempt::Idle) {
      // Appends wake this at once; the timeout only bounds how late a stop is noticed.
      spool_.waitForRecords(std::chrono::milliseconds(200));
      continue;
    }
    std::unique_lock lock(mu_);
    wake_.wait_for(lock, backoff_.next(), [this] { return stopping_; });
  }
}

LatestWinsSender::LatestWinsSender(PostBatch post, Logger log, Counter& ok, Counter& failed)
    : post_(std::move(post)), log_(std::move(log)), ok_(ok), failed_(failed) {}

LatestWinsSender::~LatestWinsSender() { stop(); }

void LatestWinsSender::start() {
  thread_ = std::thread([this] { run(); });
}

void LatestWinsSender::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LatestWinsSender::submit(std::string body) {
  {
    std::lock_guard lock(mu_);
    pending_ = std::move(body);
    hasPending_ = true;
  }
  wake_.notify_all();
}

bool LatestWinsSender::sendPending() {
  std::string body;
  {
    std::lock_guard lock(mu_);
    if (!hasPending_) return false;
    body.swap(pending_);
    hasPending_ = false;
  }
  auto status = post_(body);
  const bool ok = status && *status >= 200 && *status < 300;
  if (ok) {
    ok_.inc();
    if (failing_.exchange(false)) log_.info("accepted again");
    return true;
  }
  failed_.inc();
  if (!failing_.exchange(true)) {
    // One line when sending starts failing, not one per interval.
    log_.warn("not accepted: " + (status ? "HTTP " + std::to_string(*status) : status.message()));
  }
  return true;
}

void LatestWinsSender::run() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || hasPending_; });
      if (stopping_) return;
    }
    sendPending();
  }
}

}  // namespace aisle::gateway
