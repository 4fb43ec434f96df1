#pragma once
// What every test of the real aisleone-gateway binary on a fake BlueZ sets up: a private system
// bus with the bluez5 mock and one adapter, systemd's side of the notification socket, and the
// binary as a child process with its stderr in a log file.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <memory>
#include <string>
#include <vector>

#include "gateway_fake_bluez.h"

namespace aisle::gateway::testing {

// Skips (not fails) where dbus-daemon or python3-dbusmock is missing: those are packages of the
// machine, not bugs of the gateway. SetUp's asserts end the test before its body runs.
class FakeBluezDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!dbusmockAvailable(why)) GTEST_SKIP() << why;
    bus_ = std::make_unique<PrivateBus>();
    ASSERT_TRUE(bus_->ok());
    bluez_ = std::make_unique<FakeBluez>(bus_->address());
    ASSERT_TRUE(bluez_->start());
    bluez_->addAdapter("hci0");
  }

  const PrivateBus& bus() const { return *bus_; }
  FakeBluez& bluez() { return *bluez_; }

 private:
  // Pointers only because the skip must come before the bus exists; destroyed after the test
  // body, so after the daemon it served has been stopped.
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<FakeBluez> bluez_;
};

// systemd's side of NOTIFY_SOCKET: the daemon sends READY=1 here once it is really up.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};  // a daemon that never gets ready fails the test instead of hanging it
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  std::string receive() {  // blocks up to SO_RCVTIMEO; empty on timeout
    char buf[256] = {};
    const ssize_t n = ::recv(fd_, buf, sizeof buf - 1, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

// How a spawned gateway's stderr goes to its log: a restart test appends, so the log keeps both
// runs; a single run starts from an empty file.
enum class LogMode { kTruncate, kAppend };

// Starts the built gateway binary with `args` and exactly `env` (nothing inherited: the test
// decides which bus and notify socket it sees). Returns its pid, -1 if it could not be started.
inline pid_t spawnGateway(const std::vector<std::string>& args, const std::vector<std::string>& env,
                          const std::string& log, LogMode mode = LogMode::kTruncate) {
  const std::string binary = std::string(AISLE_BINARY_DIR) + "/gateway/aisleone-gateway";
  std::vector<std::string> envs = env;
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> argStore{binary};
  argStore.insert(argStore.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argStore) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(
      &actions, STDERR_FILENO, log.c_str(),
      O_WRONLY | O_CREAT | (mode == LogMode::kAppend ? O_APPEND : O_TRUNC), 0600);
  pid_t pid = -1;
  if (posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), envp.data()) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

// SIGTERM and wait: the exit code, or 128 + the signal that killed it (as a shell reports it).
inline int stopGateway(pid_t pid) {
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace aisle::gateway::testing
