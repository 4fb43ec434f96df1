#pragma once
// A fake coupon engine for the gateway's process-level tests (e2e and dbus): the common HTTP server
// with the engine's two gateway routes behind the real HMAC verifier, so a request only counts if
// its signature, key and timestamp are right. Records event ids (in arrival order) and heartbeat
// bodies; can answer 503 (an outage) and hold heartbeats (a hung engine endpoint).
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"

namespace aisle::gateway::testing {

constexpr const char* kKeyId = "gw-e2e-key";
constexpr const char* kSecret = "0123456789abcdef0123456789abcdef";

inline std::vector<std::string> eventIdsIn(const std::string& body) {
  std::vector<std::string> ids;
  const std::string key = "\"event_id\":\"";
  for (std::size_t p = body.find(key); p != std::string::npos; p = body.find(key, p + 1)) {
    const std::size_t start = p + key.size();
    ids.push_back(body.substr(start, body.find('"', start) - start));
  }
  return ids;
}

struct Heartbeat {
  std::string gatewayId;  // from the path
  std::string body;
};

class FakeEngine {
 public:
  explicit FakeEngine(std::uint16_t port = 0, std::string gatewayId = "gw-e2e", std::int64_t storeId = 7)
      : gatewayId_(std::move(gatewayId)), storeId_(storeId) {
    start(port);
  }
  ~FakeEngine() {
    holdHeartbeats(false);
    if (server_) stop();
  }
  void start(std::uint16_t port) {
    auto verifier = std::make_shared<RequestVerifier>(
        [](const std::string& key) -> std::optional<std::string> {
          if (key == kKeyId) return std::string(kSecret);
          return std::nullopt;
        },
        clock_);
    http::Router router;
    router.add("POST", "/v1/proximity/events", http::hmacAuthenticator(verifier), [this](const http::Request& r) {
      std::lock_guard lock(mu_);
      ++requests_;
      if (down_) return http::Response::error(503, "engine down for the test");
      if (r.body.find("\"gateway_id\":\"" + gatewayId_ + "\"") == std::string::npos ||
          r.body.find("\"store_id\":" + std::to_string(storeId_) + ",") == std::string::npos) {
        ++badBodies_;
        return http::Response::error(400, "bad batch");
      }
      for (auto& id : eventIdsIn(r.body)) received_.push_back(std::move(id));
      bodies_.push_back(r.body);
      return http::Response::json(200, "{\"accepted\":true}");
    });
    // The engine's heartbeat route: signed like the events; the body is the gateway's health object.
    router.add("POST", "/v1/gateways/{id}/heartbeat", http::hmacAuthenticator(verifier), [this](const http::Request& r) {
      std::unique_lock lock(mu_);
      ++heartbeatsStarted_;
      heartbeatCv_.notify_all();
      heartbeatCv_.wait(lock, [this] { return !holdHeartbeats_; });
      if (r.body.empty() || r.body.front() != '{') return http::Response::error(400, "health must be a JSON object");
      heartbeats_.push_back({r.params.at("id"), r.body});
      return http::Response::json(200, "{\"ok\":true}");
    });
    http::ServerOptions o;
    o.port = port;
    server_ = std::make_unique<http::Server>(std::move(router), o, std::make_shared<MetricsRegistry>(),
                                             Logger("fake-engine", std::make_shared<MemorySink>()));
    server_->start();
    port_ = server_->port();
  }
  void stop() {
    server_->stop();
    server_.reset();
  }
  void setDown(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }
  std::vector<std::string> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  int requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  int badBodies() {
    std::lock_guard lock(mu_);
    return badBodies_;
  }
  std::uint16_t port() const { return port_; }
  // Accepted event batches, as sent.
  std::vector<std::string> bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
  }
  std::vector<Heartbeat> heartbeats() {
    std::lock_guard lock(mu_);
    return heartbeats_;
  }
  int heartbeatsStarted() {
    std::lock_guard lock(mu_);
    return heartbeatsStarted_;
  }
  // While held, heartbeat requests hang inside the handler (an engine endpoint that never answers).
  void holdHeartbeats(bool hold) {
    {
      std::lock_guard lock(mu_);
      holdHeartbeats_ = hold;
    }
    heartbeatCv_.notify_all();
  }

 private:
  std::string gatewayId_;
  std::int64_t storeId_;
  std::condition_variable heartbeatCv_;
  bool holdHeartbeats_ = false;
  int heartbeatsStarted_ = 0;
  std::vector<Heartbeat> heartbeats_;
  std::vector<std::string> bodies_;
  SystemClock clock_;
  std::mutex mu_;
  bool down_ = false;
  int requests_ = 0;
  int badBodies_ = 0;
  std::vector<std::string> received_;
  std::unique_ptr<http::Server> server_;
  std::uint16_t port_ = 0;
};

}  // namespace aisle::gateway::testing
