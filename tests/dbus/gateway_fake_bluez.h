#pragma once
// A private dbus-daemon with python-dbusmock's bluez5 template on it, for the gateway's dbus tests.
// Each test owns one (no shared state between tests); DBUS_SYSTEM_BUS_ADDRESS points at it, so the
// production BlueZ source connects to it unchanged. The driver side uses sdbus-c++ synchronously
// (the tests are clients of the mock; only production code is bound to gateway/src/bluez/).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace aisle::gateway::testing {

inline bool dbusmockAvailable(std::string& why) {
  if (access("/usr/bin/dbus-daemon", X_OK) != 0) {
    why = "/usr/bin/dbus-daemon not installed (package dbus-daemon)";
    return false;
  }
  if (std::system("/usr/bin/python3 -c 'import dbusmock' >/dev/null 2>&1") != 0) {
    why = "/usr/bin/python3 -m dbusmock unavailable (package python3-dbusmock)";
    return false;
  }
  return true;
}

// Polls `done` until it holds or `timeout` passes: for state on the far side of a process boundary
// (the mock's objects), where there is no event to wait on.
template <typename Fn>
bool eventually(Fn done, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

class PrivateBus {
 public:
  PrivateBus() {
    FILE* p = popen("/usr/bin/dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
    if (!p) return;
    char line[512];
    if (std::fgets(line, sizeof line, p)) address_ = trimmed(line);
    if (std::fgets(line, sizeof line, p)) pid_ = std::atoi(line);
    pclose(p);
    setenv("DBUS_SYSTEM_BUS_ADDRESS", address_.c_str(), 1);
  }
  ~PrivateBus() {
    if (pid_ > 0) kill(pid_, SIGTERM);  // --fork: not our child, no waitpid
  }
  bool ok() const { return !address_.empty() && pid_ > 0; }
  const std::string& address() const { return address_; }

 private:
  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
  }
  std::string address_;
  pid_t pid_ = -1;
};

// The bluez5 mock process; start() again after stop() is a bluetoothd restart.
class FakeBluez {
 public:
  explicit FakeBluez(const std::string& busAddress) : address_(busAddress) {
    driver_ = sdbus::createSystemBusConnection();
    dbus_ = sdbus::createProxy(*driver_, "org.freedesktop.DBus", "/org/freedesktop/DBus");
  }
  ~FakeBluez() { stop(); }

  bool start() {
    const std::string env = "DBUS_SYSTEM_BUS_ADDRESS=" + address_;
    std::vector<std::string> envs{env, "DBUS_SESSION_BUS_ADDRESS=" + address_, "PATH=/usr/bin:/bin"};
    std::vector<char*> envp;
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
    const char* argv[] = {"/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "bluez5", nullptr};
    // The mock logs every call on stdout; keep the test output readable.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, const_cast<char**>(argv), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return false;
    return eventually([&] { return hasOwner(); });
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool hasOwner() {
    bool has = false;
    dbus_->callMethod("NameHasOwner").onInterface("org.freedesktop.DBus").withArguments(std::string("org.bluez")).storeResultsTo(has);
    return has;
  }

  void addAdapter(const std::string& name) {
    std::string path;
    root()->callMethod("AddAdapter").onInterface("org.bluez.Mock").withArguments(name, std::string("aisle-test")).storeResultsTo(path);
  }
  void removeAdapter(const std::string& name) {
    root()->callMethod("RemoveAdapter").onInterface("org.bluez.Mock").withArguments(name);
  }
  // Returns the device's object path.
  std::string addDevice(const std::string& adapter, const std::string& address) {
    std::string path;
    root()->callMethod("AddDevice").onInterface("org.bluez.Mock").withArguments(adapter, address, std::string("tag")).storeResultsTo(path);
    return path;
  }

  // What BlueZ sends per received advert: Device1 PropertiesChanged, through Mock.EmitSignal
  // (Mock.UpdateProperties cannot carry the dictionaries).
  void emitAdvert(const std::string& devicePath, std::map<std::string, sdbus::Variant> changed) {
    auto dev = sdbus::createProxy(*driver_, "org.bluez", devicePath);
    std::vector<sdbus::Variant> args{sdbus::Variant(std::string("org.bluez.Device1")), sdbus::Variant(changed),
                                     sdbus::Variant(std::vector<std::string>{})};
    dev->callMethod("EmitSignal").onInterface("org.freedesktop.DBus.Mock")
        .withArguments(std::string("org.freedesktop.DBus.Properties"), std::string("PropertiesChanged"),
                       std::string("sa{sv}as"), args);
  }
  void emitRssi(const std::string& devicePath, std::int16_t rssi) {
    emitAdvert(devicePath, {{"RSSI", sdbus::Variant(rssi)}});
  }

  bool adapterDiscovering(const std::string& name) {
    try {
      auto a = sdbus::createProxy(*driver_, "org.bluez", "/org/bluez/" + name);
      sdbus::Variant v;
      a->callMethod("Get").onInterface("org.freedesktop.DBus.Properties")
          .withArguments(std::string("org.bluez.Adapter1"), std::string("Discovering")).storeResultsTo(v);
      return v.get<bool>();
    } catch (const sdbus::Error&) {
      return false;
    }
  }
  bool objectExists(const std::string& path) {
    std::map<sdbus::ObjectPath, std::map<std::string, std::map<std::string, sdbus::Variant>>> objects;
    root()->callMethod("GetManagedObjects").onInterface("org.freedesktop.DBus.ObjectManager").storeResultsTo(objects);
    return objects.contains(sdbus::ObjectPath(path));
  }

 private:
  std::unique_ptr<sdbus::IProxy> root() { return sdbus::createProxy(*driver_, "org.bluez", "/"); }
  std::string address_;
  std::unique_ptr<sdbus::IConnection> driver_;
  std::unique_ptr<sdbus::IProxy> dbus_;
  pid_t pid_ = -1;
};

// Eddystone service data (after the UUID): EID frame with an 8-byte ephemeral id.
inline std::vector<std::uint8_t> eidFrame(std::uint8_t last) {
  return {0x30, 0xE3, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, last};
}

inline std::map<std::string, sdbus::Variant> eidAdvert(std::uint8_t last, std::int16_t rssi) {
  std::map<std::string, sdbus::Variant> service{
      {"0000feaa-0000-1000-8000-00805f9b34fb", sdbus::Variant(eidFrame(last))}};
  return {{"RSSI", sdbus::Variant(rssi)}, {"ServiceData", sdbus::Variant(service)}};
}

}  // namespace aisle::gateway::testing
