#include "aisle/engine/delivery.h"

#include <Poco/Crypto/RSAKey.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>
#include <Poco/URI.h>

#include <set>
#include <sstream>
#include <utility>

#include "aisle/common/backoff.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "db/realtime_repository.h"

namespace aisle::engine {

// ------------------------------------------------------------------ SSE

struct SseHub::State {
  std::mutex mu;
  std::condition_variable cv;
  std::multimap<std::int64_t, Subscription*> subs;
  bool closed = false;
};

SseHub::SseHub() : state_(std::make_shared<State>()) {}

SseHub::~SseHub() { close(); }

void SseHub::close() {
  {
    std::lock_guard lock(state_->mu);
    state_->closed = true;
  }
  state_->cv.notify_all();
}

std::optional<std::string> SseHub::Subscription::next(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  state_->cv.wait_for(lock, timeout, [&] { return !queue_.empty() || state_->closed; });
  if (!queue_.empty()) {
    std::string e = std::move(queue_.front());
    queue_.pop_front();
    return e;
  }
  if (state_->closed) return std::nullopt;
  return std::string();
}

SseHub::Subscription::~Subscription() {
  std::lock_guard lock(state_->mu);
  for (auto it = state_->subs.begin(); it != state_->subs.end(); ++it) {
    if (it->second == this) {
      state_->subs.erase(it);
      return;
    }
  }
}

std::shared_ptr<SseHub::Subscription> SseHub::subscribe(std::int64_t memberId) {
  auto s = std::make_shared<Subscription>();
  s->state_ = state_;
  s->member_ = memberId;
  std::lock_guard lock(state_->mu);
  state_->subs.emplace(memberId, s.get());
  return s;
}

bool SseHub::hasSubscriber(std::int64_t memberId) {
  std::lock_guard lock(state_->mu);
  return state_->subs.count(memberId) > 0;
}

SendResult SseHub::send(const PushMessage& m) {
  std::lock_guard lock(state_->mu);
  auto [b, e] = state_->subs.equal_range(m.memberId);
  if (b == e) return SendResult::retry("no open wallet stream");
  // The event id is the dedupe key: the wallet page ignores an id it has shown already.
  const std::string event = "id: " + m.dedupeKey + "\nevent: coupon\ndata: " + m.payloadJson + "\n\n";
  for (auto it = b; it != e; ++it) it->second->queue_.push_back(event);
  state_->cv.notify_all();
  return SendResult::sent();
}

// ------------------------------------------------------------------ webhook

WebhookProvider::WebhookProvider(std::string url, std::string keyId, std::string secret, const Clock& clock)
    : url_(std::move(url)), keyId_(std::move(keyId)), secret_(std::move(secret)), clock_(clock) {}

namespace {
SendResult classify(int status, const std::string& body) {
  if (status >= 200 && status < 300) return SendResult::sent();
  const std::string why = "HTTP " + std::to_string(status) + ": " + body.substr(0, 200);
  if (status == 408 || status == 429 || status >= 500) return SendResult::retry(why);
  return SendResult::permanent(why);
}
}  // namespace

SendResult WebhookProvider::send(const PushMessage& m) {
  const std::string body = "{\"member_id\":" + std::to_string(m.memberId) + ",\"message\":" + m.payloadJson + "}";
  RequestSigner signer(keyId_, secret_, clock_);
  auto r = http::request("POST", url_,
                         {{"Authorization", signer.sign("POST", http::targetOf(url_), body)},
                          {"Idempotency-Key", m.dedupeKey}},
                         body, std::chrono::seconds(5));
  if (!r) return SendResult::retry(r.message());
  return classify(r->status, r->body);
}

// ------------------------------------------------------------------ FCM

Result<FcmOptions> fcmOptionsFromServiceAccount(const std::string& json, std::string sendBase) {
  try {
    auto o = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
    FcmOptions f;
    f.projectId = o->getValue<std::string>("project_id");
    f.clientEmail = o->getValue<std::string>("client_email");
    f.privateKeyPem = o->getValue<std::string>("private_key");
    if (o->has("token_uri")) f.tokenUri = o->getValue<std::string>("token_uri");
    if (!sendBase.empty()) f.sendBase = std::move(sendBase);
    return f;
  } catch (const Poco::Exception& e) {
    return fail("service account JSON needs project_id, client_email and private_key: " + e.displayText());
  }
}

FcmProvider::FcmProvider(FcmOptions options, const Clock& clock) : options_(std::move(options)), clock_(clock) {}

Result<std::string> FcmProvider::assertion() const {
  try {
    std::istringstream pem(options_.privateKeyPem);
    Poco::SharedPtr<Poco::Crypto::RSAKey> key(new Poco::Crypto::RSAKey(nullptr, &pem));
    Poco::JWT::Token t;
    t.setType("JWT");
    t.setIssuer(options_.clientEmail);
    t.setAudience(options_.tokenUri);
    t.payload().set("scope", std::string("https://www.googleapis.com/auth/firebase.messaging"));
    const std::int64_t nowUs = clock_.nowUnixMs() * 1000;
    t.setIssuedAt(Poco::Timestamp(nowUs));
    t.setExpiration(Poco::Timestamp(nowUs + std::int64_t{3600} * 1000000));
    Poco::JWT::Signer signer(key);
    return signer.sign(t, Poco::JWT::Signer::ALGO_RS256);
  } catch (const Poco::Exception& e) {
    return fail("cannot sign the FCM assertion: " + e.displayText());
  }
}

Result<std::string> FcmProvider::accessToken(bool refresh) {
  std::lock_guard lock(mu_);
  // Refresh a minute early so a token never expires in flight.
  if (!refresh && !token_.empty() && clock_.nowUnixMs() < tokenExpiresMs_ - 60'000) return token_;
  auto jwt = assertion();
  if (!jwt) return jwt.error();
  const std::string form = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *jwt;
  auto r = http::request("POST", options_.tokenUri, {}, form, std::chrono::seconds(10), "application/x-www-form-urlencoded");
  if (!r) return r.error();
  if (r->status != 200) return fail("token endpoint answered " + std::to_string(r->status) + ": " + r->body.substr(0, 200));
  try {
    auto o = Poco::JSON::Parser().parse(r->body).extract<Poco::JSON::Object::Ptr>();
    token_ = o->getValue<std::string>("access_token");
    tokenExpiresMs_ = clock_.nowUnixMs() + o->optValue<std::int64_t>("expires_in", 3600) * 1000;
    return token_;
  } catch (const Poco::Exception& e) {
    return fail("token endpoint answer is not a token: " + e.displayText());
  }
}

SendResult FcmProvider::send(const PushMessage& m) {
  if (m.token.empty()) return SendResult::permanent("member has no FCM device token");
  Poco::JSON::Object::Ptr payload;
  try {
    payload = Poco::JSON::Parser().parse(m.payloadJson).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return SendResult::permanent("payload is not JSON: " + e.displayText());
  }
  // FCM data values must be strings.
  std::ostringstream data;
  data << "{";
  bool first = true;
  for (const auto& [k, v] : *payload) {
    data << (first ? "" : ",") << "\"" << http::jsonEscape(k) << "\":\"" << http::jsonEscape(v.toString()) << "\"";
    first = false;
  }
  data << "}";
  const std::string body =
      "{\"message\":{\"token\":\"" + http::jsonEscape(m.token) + "\",\"notification\":{\"title\":\"" +
      http::jsonEscape(payload->optValue<std::string>("title", "")) + "\",\"body\":\"" +
      http::jsonEscape(payload->optValue<std::string>("body", "")) + "\"},\"data\":" + data.str() +
      ",\"android\":{\"collapse_key\":\"" + http::jsonEscape(m.dedupeKey) + "\"},\"apns\":{\"headers\":{\"apns-collapse-id\":\"" +
      http::jsonEscape(m.dedupeKey.substr(0, 64)) + "\"}}}}";
  const std::string url = options_.sendBase + "/v1/projects/" + options_.projectId + "/messages:send";
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto token = accessToken(attempt > 0);
    if (!token) return SendResult::retry(token.message());
    auto r = http::request("POST", url, {{"Authorization", "Bearer " + *token}}, body, std::chrono::seconds(10));
    if (!r) return SendResult::retry(r.message());
    if (r->status == 401 && attempt == 0) continue;  // token revoked early: fetch a new one once
    if (r->status == 404 || (r->status == 400 && r->body.find("UNREGISTERED") != std::string::npos)) {
      return SendResult::permanent("device token is no longer registered");
    }
    return classify(r->status, r->body);
  }
  return SendResult::retry("FCM refused two fresh tokens");
}

// ------------------------------------------------------------------ dispatcher

namespace {
Histogram& dispatchStage(MetricsRegistry& m, const char* stage) {
  return m.histogram("aisle_engine_dispatch_stage_seconds", "time per dispatcher batch and stage",
                     std::string("stage=\"") + stage + "\"",
                     {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5});
}
}  // namespace

Dispatcher::Dispatcher(PgPool& db, std::map<std::string, std::shared_ptr<PushProvider>> providers, const Clock& clock,
                       Logger log, std::shared_ptr<MetricsRegistry> metrics, DispatcherOptions options)
    : db_(db), providers_(std::move(providers)), clock_(clock), log_(std::move(log)), metrics_(std::move(metrics)),
      options_(options), stageClaim_(dispatchStage(*metrics_, "claim")), stageSend_(dispatchStage(*metrics_, "send")),
      stageMark_(dispatchStage(*metrics_, "mark_sent")) {
  db_.onConnect(&RealtimeRepository::prepare);
}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  auto lease = db_.lease();
  const int requeued = lease->run([&](pqxx::connection& c) {
    pqxx::work tx(c);
    const int n = RealtimeRepository::requeueInterrupted(tx);
    tx.commit();
    return n;
  });
  if (requeued) log_.warn(std::to_string(requeued) + " pushes were in flight at the last stop; sending them again");
  writerRunning_ = true;
  writer_ = std::thread([this] { writerLoop(); });
  thread_ = std::thread([this] { loop(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // The claimer has stopped, so nothing more is queued: the writer makes one last attempt.
  {
    std::lock_guard lock(outMu_);
    writerStop_ = true;
  }
  outCv_.notify_all();
  if (writer_.joinable()) writer_.join();
  writerRunning_ = false;
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Dispatcher::flushOutcomes() {
  std::lock_guard flushing(flushMu_);
  std::vector<OutboxRow> rows;
  std::vector<SendResult> results;
  {
    std::lock_guard lock(outMu_);
    rows.swap(outRows_);
    results.swap(outResults_);
  }
  if (rows.empty()) return;
  try {
    auto lease = db_.lease();
    const auto t0 = std::chrono::steady_clock::now();
    writeBackOnce(*lease, rows, results);
    stageMark_.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::set<std::pair<std::int64_t, std::int64_t>> written;
    for (const auto& r : rows) written.emplace(r.memberId, r.outboxId);
    std::lock_guard lock(outMu_);
    std::erase_if(held_, [&](const auto& h) { return written.count(h) > 0; });
  } catch (...) {
    // The pushes were handed over already: keep their outcomes, ahead of any queued meanwhile.
    std::lock_guard lock(outMu_);
    rows.insert(rows.end(), std::make_move_iterator(outRows_.begin()), std::make_move_iterator(outRows_.end()));
    results.insert(results.end(), std::make_move_iterator(outResults_.begin()), std::make_move_iterator(outResults_.end()));
    outRows_ = std::move(rows);
    outResults_ = std::move(results);
    throw;
  }
}

void Dispatcher::writerLoop() {
  bool failing = false;
  for (;;) {
    bool last = false;
    {
      std::unique_lock lock(outMu_);
      if (failing) {
        // The database is away: try again at the next poll (or once more at stop).
        outCv_.wait_for(lock, options_.poll, [&] { return writerStop_; });
      } else {
        outCv_.wait(lock, [&] { return writerStop_ || !outRows_.empty(); });
      }
      last = writerStop_;
      if (outRows_.empty()) {
        if (last) return;
        continue;
      }
    }
    try {
      flushOutcomes();
      if (failing) log_.info("dispatcher: the database is back; wrote back the push outcomes held meanwhile");
      failing = false;
    } catch (const std::exception& e) {
      if (!failing) log_.error(std::string("dispatcher write-back: ") + e.what() + " (outcomes kept, retrying every poll)");
      failing = true;
    }
    if (last) {
      std::lock_guard lock(outMu_);
      // Left unwritten only if the database is away at stop: those rows stay "sending" and the
      // next start re-queues them (the dedupe key makes the second hand-over replace the first).
      if (!outRows_.empty()) log_.warn(std::to_string(outRows_.size()) + " push outcomes not written back at stop");
      return;
    }
  }
}

void Dispatcher::writeBackOnce(PgSession& session, const std::vector<OutboxRow>& rows,
                               const std::vector<SendResult>& results) {
  // Rows handed over are marked sent by one statement; only retries and dead letters (rare) need a
  // statement each, and then the whole write-back is one transaction.
  std::vector<const OutboxRow*> sent;
  sent.reserve(rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (results[i].kind == SendResult::Kind::Sent) sent.push_back(&rows[i]);
  }
  session.run([&](pqxx::connection& c) {
    if (sent.size() == rows.size()) {
      pqxx::nontransaction tx(c);
      RealtimeRepository::markSent(tx, sent);
      return 0;
    }
    pqxx::work tx(c);
    RealtimeRepository::markSent(tx, sent);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& row = rows[i];
      const auto& result = results[i];
      switch (result.kind) {
        case SendResult::Kind::Sent: break;
        case SendResult::Kind::Retry: {
          Backoff b(options_.backoffInitial, options_.backoffMax, static_cast<std::uint64_t>(row.outboxId));
          for (int k = 1; k < row.attempts; ++k) b.next();
          RealtimeRepository::markRetry(tx, row, b.next().count(), result.error);
          break;
        }
        case SendResult::Kind::Permanent: RealtimeRepository::markDead(tx, row, result.error); break;
      }
    }
    tx.commit();
    return 0;
  });
}

int Dispatcher::runOnce() {
  // The claim is one statement (atomic on its own): no BEGIN/COMMIT round trips before the sends.
  const auto t0 = std::chrono::steady_clock::now();
  auto rows = [&] {
    auto lease = db_.lease();
    return lease->run([&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      if (claimInDoubt_) {
        // The last claim lost its connection before answering; if it committed, its rows sit in
        // "sending" with nobody to send them. Put back every "sending" row we do not hold.
        std::vector<std::pair<std::int64_t, std::int64_t>> held;
        {
          std::lock_guard lock(outMu_);
          held = held_;
        }
        if (const int n = RealtimeRepository::requeueOrphaned(tx, held)) {
          log_.warn("dispatcher: re-queued " + std::to_string(n) + " pushes of a claim whose answer was lost");
        }
      }
      claimInDoubt_ = true;
      auto claimed = RealtimeRepository::claimDue(tx, options_.batch);
      claimInDoubt_ = false;
      return claimed;
    });
  }();
  const auto t1 = std::chrono::steady_clock::now();
  if (rows.empty()) return 0;
  // Hand every claimed row over first; the outcomes go to the writer, so the next claim does not
  // wait for this batch's write-back.
  std::vector<SendResult> results;
  results.reserve(rows.size());
  for (const auto& row : rows) {
    SendResult result;
    auto p = providers_.find(row.provider);
    if (p == providers_.end()) {
      result = SendResult::permanent("no provider '" + row.provider + "' configured");
    } else {
      result = p->second->send(PushMessage{row.memberId, row.outboxId, row.dedupeKey, row.payload, row.pushToken});
    }
    if (result.kind == SendResult::Kind::Retry && row.attempts >= options_.maxAttempts) {
      result = SendResult::permanent("gave up after " + std::to_string(row.attempts) + " attempts: " + result.error);
    }
    results.push_back(std::move(result));
  }
  const auto t2 = std::chrono::steady_clock::now();
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  stageClaim_.observe(seconds(t1 - t0));
  stageSend_.observe(seconds(t2 - t1));
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    const auto& result = results[i];
    const char* outcome = result.kind == SendResult::Kind::Sent ? "sent" : result.kind == SendResult::Kind::Retry ? "retry" : "dead";
    metrics_->counter("aisle_engine_pushes_total", "push deliveries", "provider=\"" + row.provider + "\",outcome=\"" + outcome + "\"").inc();
    if (result.kind != SendResult::Kind::Sent) {
      log_.with("member", std::to_string(row.memberId)).warn("push " + std::to_string(row.outboxId) + " " + outcome + ": " + result.error);
    }
  }
  const int n = static_cast<int>(rows.size());
  {
    std::lock_guard lock(outMu_);
    for (const auto& row : rows) held_.emplace_back(row.memberId, row.outboxId);
    outRows_.insert(outRows_.end(), std::make_move_iterator(rows.begin()), std::make_move_iterator(rows.end()));
    outResults_.insert(outResults_.end(), std::make_move_iterator(results.begin()), std::make_move_iterator(results.end()));
  }
  if (writerRunning_) {
    outCv_.notify_all();
  } else {
    flushOutcomes();  // no writer thread (a direct caller): write back before returning
  }
  return n;
}

void Dispatcher::loop() {
  bool failing = false;
  for (;;) {
    try {
      while (runOnce() > 0) {
      }
      if (failing) log_.info("dispatcher: the database is back");
      failing = false;
    } catch (const std::exception& e) {
      // The database is away: keep the loop, retry at the next poll; say so once, not every poll.
      if (!failing) log_.error(std::string("dispatcher: ") + e.what() + " (retrying every poll)");
      failing = true;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.poll, [&] { return stop_ || woken_; });
    if (stop_) return;
    woken_ = false;
  }
}

}  // namespace aisle::engine
