#pragma once
// Delivery of queued pushes: a dispatcher claims due outbox rows (FOR UPDATE SKIP LOCKED, so several
// engines can run), hands each to its provider, and writes the outcome back: sent (and the coupon
// becomes "delivered"), retry with backoff, or dead after the last attempt. Providers get the row's
// dedupe key and pass it on (FCM collapse key, webhook Idempotency-Key, SSE event id), so a push
// re-sent after a crash between "handed over" and "marked sent" replaces itself rather than doubling.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"
#include "aisle/common/pg.h"
#include "aisle/common/result.h"

namespace aisle::engine {

struct OutboxRow;  // db/realtime_repository.h

struct PushMessage {
  std::int64_t memberId = 0;
  std::int64_t outboxId = 0;
  std::string dedupeKey;
  std::string payloadJson;  // {"title","body","coupon_id","code","event_id","why"}
  std::string token;        // the device token (FCM), if the provider needs one
};

struct SendResult {
  enum class Kind { Sent, Retry, Permanent } kind = Kind::Sent;
  std::string error;
  static SendResult sent() { return {Kind::Sent, {}}; }
  static SendResult retry(std::string e) { return {Kind::Retry, std::move(e)}; }
  static SendResult permanent(std::string e) { return {Kind::Permanent, std::move(e)}; }
};

class PushProvider {
 public:
  virtual ~PushProvider() = default;
  virtual SendResult send(const PushMessage& m) = 0;
};

// Live server-sent-event streams, one or more per member (the wallet page). In process. Streams
// share a state block with the hub, so either may go first; close() ends every open stream.
class SseHub final : public PushProvider {
  struct State;

 public:
  class Subscription {
   public:
    // The next event ("id: ...\nevent: coupon\ndata: ...\n\n"), "" after `timeout` without one,
    // or nothing once the hub has closed (the stream should end).
    std::optional<std::string> next(std::chrono::milliseconds timeout);
    ~Subscription();

   private:
    friend class SseHub;
    std::shared_ptr<State> state_;
    std::int64_t member_ = 0;
    std::deque<std::string> queue_;  // guarded by state_->mu
  };
  SseHub();
  ~SseHub() override;
  std::shared_ptr<Subscription> subscribe(std::int64_t memberId);
  bool hasSubscriber(std::int64_t memberId);
  void close();
  SendResult send(const PushMessage& m) override;

 private:
  std::shared_ptr<State> state_;
};

// POST of the payload to one URL, signed like every service call (common/hmac.h), with
// Idempotency-Key = the dedupe key. 2xx sent; 4xx (but 408/429) permanent; the rest retried.
class WebhookProvider final : public PushProvider {
 public:
  WebhookProvider(std::string url, std::string keyId, std::string secret, const Clock& clock);
  SendResult send(const PushMessage& m) override;

 private:
  std::string url_, keyId_, secret_;
  const Clock& clock_;
};

// Firebase Cloud Messaging HTTP v1. The service account's RS256-signed JWT is exchanged for an
// OAuth token at token_uri (cached until shortly before expiry), then messages:send is called.
// Both endpoints are configurable so tests run against a local fake.
struct FcmOptions {
  std::string projectId;
  std::string clientEmail;
  std::string privateKeyPem;
  std::string tokenUri = "https://oauth2.googleapis.com/token";
  std::string sendBase = "https://fcm.googleapis.com";  // + /v1/projects/<id>/messages:send
};
Result<FcmOptions> fcmOptionsFromServiceAccount(const std::string& json, std::string sendBase = "");

class FcmProvider final : public PushProvider {
 public:
  FcmProvider(FcmOptions options, const Clock& clock);
  SendResult send(const PushMessage& m) override;
  // The JWT assertion for the token exchange (public for tests).
  Result<std::string> assertion() const;

 private:
  Result<std::string> accessToken(bool refresh);
  FcmOptions options_;
  const Clock& clock_;
  std::mutex mu_;
  std::string token_;
  std::int64_t tokenExpiresMs_ = 0;
};

struct DispatcherOptions {
  int batch = 50;
  int maxAttempts = 8;
  std::chrono::milliseconds poll{500};
  std::chrono::milliseconds backoffInitial{1000};
  std::chrono::milliseconds backoffMax{300000};
};

// Two threads: the dispatcher claims due rows and hands them over; the writer writes the outcomes
// back (sent, retry, dead), all outcomes queued since its last statement at once. So a push
// committed while a write-back is running is claimed and handed over without waiting for it. A row
// whose outcome is queued stays "sending", and the claim takes only "pending" rows, so it cannot be
// claimed (and sent) again before its outcome is written.
class Dispatcher {
 public:
  Dispatcher(PgPool& db, std::map<std::string, std::shared_ptr<PushProvider>> providers, const Clock& clock,
             Logger log, std::shared_ptr<MetricsRegistry> metrics, DispatcherOptions options = {});
  ~Dispatcher();
  // Rows a crashed engine left in "sending" go back to the queue; then both threads start.
  void start();
  // Stops claiming, then writes back the outcomes still queued (one attempt) and stops the writer.
  void stop();
  void wake();  // new rows were queued: send now rather than at the next poll
  // Claims and sends one batch and queues its outcomes for the writer; returns how many rows were
  // handled. With no writer thread running (start() not called), writes them back itself.
  int runOnce();

 private:
  void loop();
  void writerLoop();
  // Writes every queued outcome back; on failure they stay queued (in order) and it throws.
  void flushOutcomes();
  void writeBackOnce(PgSession& session, const std::vector<OutboxRow>& rows, const std::vector<SendResult>& results);
  PgPool& db_;
  std::map<std::string, std::shared_ptr<PushProvider>> providers_;
  const Clock& clock_;
  Logger log_;
  std::shared_ptr<MetricsRegistry> metrics_;
  DispatcherOptions options_;
  Histogram& stageClaim_;  // per batch: claim statement, hand-overs; per write-back statement
  Histogram& stageSend_;
  Histogram& stageMark_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
  // Outcomes handed over but not yet written back, oldest first. Kept across a database outage
  // and written when it returns (otherwise those rows would stay "sending" until a restart).
  std::mutex outMu_;
  std::condition_variable outCv_;
  std::vector<OutboxRow> outRows_;       // guarded by outMu_
  std::vector<SendResult> outResults_;   // guarded by outMu_
  bool writerStop_ = false;              // guarded by outMu_
  bool writerRunning_ = false;
  std::mutex flushMu_;  // one write-back at a time (writer thread or a runOnce caller)
  // Rows handed over whose outcome is not yet written back (queued or being written): a claim in
  // doubt re-queues every other "sending" row. Guarded by outMu_.
  std::vector<std::pair<std::int64_t, std::int64_t>> held_;
  // Set while a claim statement is out: if it never returned, it may still have committed.
  bool claimInDoubt_ = false;  // dispatcher thread only
  std::thread writer_;
};

}  // namespace aisle::engine
