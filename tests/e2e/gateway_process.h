#pragma once
// The real aisleone-gateway binary as a child process for the e2e tests: its health port comes
// from its own log line (it binds port 0), its state from /healthz.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "aisle/common/http_client.h"
#include "child_process.h"
#include "eventually.h"

extern char** environ;

namespace aisle::gateway::testing {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The daemon is another process: its state is only visible through its HTTP endpoints and the
// engine's records, so the tests poll. Every gateway wait passes its 30 s explicitly.
using aisle::testing::eventually;
using aisle::testing::fileText;
using aisle::testing::killAndReap;

class GatewayProcess {
 public:
  GatewayProcess(const fs::path& config, const fs::path& log) : log_(log) {
    const std::string binary = std::string(AISLE_BINARY_DIR) + "/gateway/aisleone-gateway";
    const std::string cfg = config.string();
    const char* argv[] = {binary.c_str(), "run", "--config", cfg.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~GatewayProcess() { kill(SIGKILL); }
  // The health port, from the daemon's own log line (it binds port 0).
  std::uint16_t healthPort() {
    std::uint16_t port = 0;
    eventually([&] {
      std::ifstream in(log_);
      std::string line;
      const std::string marker = "health and metrics on http://127.0.0.1:";
      while (std::getline(in, line)) {
        if (auto p = line.find(marker); p != std::string::npos) port = static_cast<std::uint16_t>(std::stoi(line.substr(p + marker.size())));
      }
      return port != 0;
    }, 30s);
    return port;
  }
  std::string health() {
    if (port_ == 0) port_ = healthPort();
    auto r = http::request("GET", "http://127.0.0.1:" + std::to_string(port_) + "/healthz", {}, "", 2s);
    return r ? r->body : "";
  }
  long healthNumber(const std::string& field) {
    const std::string h = health();
    const std::string key = "\"" + field + "\":";
    const auto p = h.find(key);
    return p == std::string::npos ? -1 : std::stol(h.substr(p + key.size()));
  }
  int kill(int sig) { return killAndReap(pid_, sig); }
  std::string logText() const { return fileText(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace aisle::gateway::testing
