#pragma once
// The real `aisleone-coupon-engine serve` binary as a child process (EngineProcess), and a webhook
// receiver standing in for the push provider (FakeWebhook), shared by the engine's e2e tests.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include <pqxx/pqxx>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "child_process.h"
#include "eventually.h"

extern char** environ;

namespace aisle::testing {

namespace fs = std::filesystem;

// A gateway's batch b of ten store-entry events: members b*10+1 .. b*10+10, each seen by its
// iBeacon fob at tMs (the devices the engine tests insert).
inline std::string entryEventBatch(int b, std::int64_t tMs) {
  std::string body = "{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[";
  for (int i = 0; i < 10; ++i) {
    const int member = b * 10 + i + 1;
    body += std::string(i ? "," : "") + "{\"event_id\":\"e-" + std::to_string(member) +
            "\",\"type\":\"enter\",\"zone\":\"\",\"beacon\":\"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:1:" +
            std::to_string(member) + "\",\"t_ms\":" + std::to_string(tMs) + ",\"confidence\":0.9}";
  }
  return body + "]}";
}

// Receives the engine's webhook pushes; verifies the signature and records every Idempotency-Key.
class FakeWebhook {
 public:
  FakeWebhook() {
    auto verifier = std::make_shared<RequestVerifier>(
        [](const std::string& k) -> std::optional<std::string> {
          if (k == "hook-key") return std::string("hook-secret-0123456789");
          return std::nullopt;
        },
        clock_);
    http::Router r;
    r.add("POST", "/push", http::hmacAuthenticator(verifier), [this](const http::Request& q) {
      if (down_) {
        ++refused_;
        return http::Response::error(503, "receiver down");
      }
      std::lock_guard lock(mu_);
      ++received_[q.header("idempotency-key").value_or("")];
      return http::Response::json(200, "{}");
    });
    server_ = std::make_unique<http::Server>(std::move(r), http::ServerOptions{}, std::make_shared<MetricsRegistry>(),
                                             Logger("hook", nullptr));
    server_->start();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/push"; }
  // Pushes accepted (200), by Idempotency-Key.
  std::map<std::string, int> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  // While down, every push is answered 503 (and not counted as received).
  void setDown(bool down) { down_ = down; }
  int refused() const { return refused_; }

 private:
  SystemClock clock_;
  std::atomic<bool> down_{false};
  std::atomic<int> refused_{0};
  std::mutex mu_;
  std::map<std::string, int> received_;
  std::unique_ptr<http::Server> server_;
};

class EngineProcess {
 public:
  EngineProcess(const fs::path& config, const fs::path& dir, const std::string& dbUrl, int run) {
    out_ = dir / ("engine-" + std::to_string(run) + ".out");
    log_ = dir / ("engine-" + std::to_string(run) + ".log");
    const std::string binary = std::string(AISLE_BINARY_DIR) + "/coupon-engine/aisleone-coupon-engine";
    const std::string cfg = config.string();
    const char* argv[] = {binary.c_str(), "serve", "--config", cfg.c_str(), nullptr};
    std::vector<std::string> envStrings;
    for (char** e = environ; *e; ++e) {
      if (std::string(*e).rfind("AISLE_DB=", 0) != 0) envStrings.emplace_back(*e);
    }
    envStrings.push_back("AISLE_DB=" + dbUrl);
    std::vector<char*> env;
    for (auto& s : envStrings) env.push_back(s.data());
    env.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char**>(argv), env.data());
    posix_spawn_file_actions_destroy(&actions);
  }
  ~EngineProcess() { kill(SIGKILL); }
  // Still running (not exited or crashed)?
  bool alive() const {
    if (pid_ <= 0) return false;
    int status = 0;
    return waitpid(pid_, &status, WNOHANG) == 0;
  }
  // The port from the engine's `{"listening":N}` line (it binds port 0).
  std::uint16_t port() {
    std::uint16_t port = 0;
    eventually([&] {
      std::ifstream in(out_);
      std::string line;
      const std::string marker = "{\"listening\":";
      while (std::getline(in, line)) {
        if (line.rfind(marker, 0) == 0) port = static_cast<std::uint16_t>(std::stoi(line.substr(marker.size())));
      }
      return port != 0;
    });
    return port;
  }
  void kill(int sig) { killAndReap(pid_, sig); }
  std::string logText() const { return fileText(log_); }

 private:
  fs::path out_, log_;
  pid_t pid_ = -1;
};

// The shoppers the engine's reliability tests push to: store 1, one product campaign, `members`
// members with consent to proximity and push, each with a coupon (code `couponPrefix` + 6-digit id)
// and a key-fob (iBeacon major 1, minor = member id) whose pushes go to the webhook; and gateway gw-1,
// its secret sealed with `master`.
inline void seedFobShoppers(pqxx::connection& c, int members, const std::string& master,
                            const std::string& couponPrefix) {
  pqxx::work tx(c);
  tx.exec("INSERT INTO stores VALUES (1, 'default', 's1', 'Store 1', 'UTC', now())");
  tx.exec("INSERT INTO products (product_id, name) VALUES (1, 'coffee')");
  tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, valid_from, valid_to, amount_off_minor) "
          "VALUES (1, 'c', 'amount_off', 'product', now() - interval '1 day', now() + interval '1 day', 100)");
  tx.exec_params("INSERT INTO members (member_id) SELECT g FROM generate_series(1, $1) g", members);
  tx.exec_params("INSERT INTO consents (member_id, purpose, granted) SELECT g, p, true FROM generate_series(1, $1) g, "
                 "(VALUES ('proximity'), ('push')) v(p)", members);
  tx.exec_params("INSERT INTO coupons (member_id, campaign_id, code, product_id, value_minor, reason, valid_from, valid_to) "
                 "SELECT g, 1, $2 || lpad(g::text, 6, '0'), 1, 100, 'Coffee', now() - interval '1 day', "
                 "now() + interval '1 day' FROM generate_series(1, $1) g", members, couponPrefix);
  tx.exec_params("INSERT INTO devices (member_id, kind, push_provider, push_token, ibeacon_uuid, ibeacon_major, ibeacon_minor) "
                 "SELECT g, 'fob', 'webhook', 'hook', 'f7826da6-4fa2-4e98-8024-bc5b71e0893e', 1, g "
                 "FROM generate_series(1, $1) g", members);
  tx.exec_params("INSERT INTO gateways VALUES ('gw-1', 1, 'both', 'key-1', $1, NULL, NULL)",
                 pqxx::binarystring(*sealAesGcm(master, "gw-secret", "gateway:gw-1")));
  tx.commit();
}

// The engine configuration of those tests: port 0, no quiet hours, no ingest rate limit (the tests
// send bursts), pushes to the fake webhook at `hookUrl`.
inline void writeWebhookEngineConfig(const fs::path& file, const std::string& master, const std::string& hookUrl) {
  std::ofstream(file) << "[http]\nhost = \"127.0.0.1\"\nport = 0\n"
                      << "[secrets]\nmaster_key = \"" << toHex(master) << "\"\n"
                      << "app_token_secret = \"app-token-secret-0123456789\"\n"
                      << "[triggers]\nquiet_start = \"0h\"\nquiet_end = \"0h\"\n"
                      << "[ingest]\nevents_per_second_per_gateway = 100000\n"
                      << "[delivery]\nwebhook_url = \"" << hookUrl << "\"\n"
                      << "webhook_key_id = \"hook-key\"\nwebhook_secret = \"hook-secret-0123456789\"\n";
}

}  // namespace aisle::testing
