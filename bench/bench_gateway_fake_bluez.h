#pragma once
// A fast fake BlueZ for the gateway benchmarks, in C++ on sdbus-c++ (python-dbusmock's EmitSignal
// is one method call plus a Python dispatch per advert: far below 15,000/s). It owns org.bluez on a
// private dbus-daemon and answers what the gateway's BlueZ source calls (GetManagedObjects,
// SetDiscoveryFilter, StartDiscovery, StopDiscovery, RemoveDevice); adverts are Device1
// PropertiesChanged signals, as BlueZ sends them with DuplicateData=true. Everything (method calls
// and emission) runs on the one thread that calls step(), because sd-bus is not thread-safe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sdbus-c++/sdbus-c++.h>
#include <string>
#include <unordered_map>
#include <vector>

namespace aisle::bench {

// `dbus-daemon --session --fork` on a private socket; killed on destruction.
class PrivateDbusDaemon {
 public:
  PrivateDbusDaemon() {
    // The forked daemon outlives popen's shell: it must not inherit our descriptors, above all
    // the bench lock that `flock` handed down (a leaked copy would hold the lock after we exit).
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
      const int fd = std::atoi(e.path().filename().c_str());
      if (fd > 2) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    FILE* p = popen("/usr/bin/dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
    if (!p) return;
    char line[512];
    if (std::fgets(line, sizeof line, p)) address_ = line;
    if (std::fgets(line, sizeof line, p)) pid_ = std::atoi(line);
    pclose(p);
    while (!address_.empty() && (address_.back() == '\n' || address_.back() == '\r')) address_.pop_back();
  }
  ~PrivateDbusDaemon() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  bool ok() const { return !address_.empty() && pid_ > 0; }
  const std::string& address() const { return address_; }
  int pid() const { return pid_; }

 private:
  std::string address_;
  int pid_ = -1;
};

using Props = std::map<std::string, sdbus::Variant>;
using Ifaces = std::map<std::string, Props>;

class FastFakeBluez {
 public:
  // DBUS_SYSTEM_BUS_ADDRESS must point at the private bus.
  FastFakeBluez() : conn_(sdbus::createSystemBusConnection(std::string("org.bluez"))) {
    // sd-bus serves GetManagedObjects itself (it refuses vtables for the standard interfaces):
    // it lists the adapter below. Devices are not registered objects (24,000 vtables would measure
    // the fake, not the gateway); the source learns them from InterfacesAdded/PropertiesChanged.
    root_ = sdbus::createObject(*conn_, "/");
    root_->addObjectManager();
    adapter_ = sdbus::createObject(*conn_, kAdapter);
    adapter_->registerMethod("SetDiscoveryFilter").onInterface("org.bluez.Adapter1").implementedAs([](const Props&) {});
    adapter_->registerMethod("StartDiscovery").onInterface("org.bluez.Adapter1").implementedAs([this] { discovering_ = true; });
    adapter_->registerMethod("StopDiscovery").onInterface("org.bluez.Adapter1").implementedAs([this] { discovering_ = false; });
    adapter_->registerProperty("Powered").onInterface("org.bluez.Adapter1").withGetter([] { return true; });
    adapter_->registerProperty("Discovering").onInterface("org.bluez.Adapter1").withGetter([this] { return discovering_; });
    adapter_->registerProperty("Address").onInterface("org.bluez.Adapter1").withGetter([] { return std::string("00:AA:01:00:00:01"); });
    adapter_->registerMethod("RemoveDevice").onInterface("org.bluez.Adapter1").implementedAs([this](const sdbus::ObjectPath& p) {
      if (devices_.erase(p) == 0) throw sdbus::Error("org.bluez.Error.DoesNotExist", "no such device");
      ++removed_;
      root_->emitSignal("InterfacesRemoved").onInterface("org.freedesktop.DBus.ObjectManager")
          .withArguments(p, std::vector<std::string>{"org.bluez.Device1"});
    });
    adapter_->finishRegistration();
  }

  static std::string devicePath(std::uint64_t n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s/dev_%02X_%02X_%02X_%02X_%02X_%02X", kAdapter, 0xC0 | unsigned((n >> 40) & 0x3F),
                  unsigned((n >> 32) & 0xFF), unsigned((n >> 24) & 0xFF), unsigned((n >> 16) & 0xFF),
                  unsigned((n >> 8) & 0xFF), unsigned(n & 0xFF));
    return buf;
  }

  // A new device, as BlueZ announces one it has just heard (InterfacesAdded with RSSI and payload).
  void addDevice(const std::string& path, const Props& props) {
    devices_.try_emplace(path, sdbus::createObject(*conn_, path));
    root_->emitSignal("InterfacesAdded").onInterface("org.freedesktop.DBus.ObjectManager")
        .withArguments(sdbus::ObjectPath(path), Ifaces{{"org.bluez.Device1", props}});
  }
  // One advert: Device1 PropertiesChanged from the device's object.
  void advert(const std::string& path, const Props& changed) {
    auto it = devices_.find(path);
    if (it == devices_.end()) it = devices_.emplace(path, sdbus::createObject(*conn_, path)).first;
    it->second->emitSignal("PropertiesChanged").onInterface("org.freedesktop.DBus.Properties")
        .withArguments(std::string("org.bluez.Device1"), changed, std::vector<std::string>{});
    ++emitted_;
  }

  // Answers pending method calls and flushes queued signals; waits at most `wait` for the socket.
  void step(std::chrono::microseconds wait) {
    while (conn_->processPendingRequest()) {
    }
    const auto pd = conn_->getEventLoopPollData();
    pollfd fd{pd.fd, static_cast<short>(pd.events), 0};
    int timeoutMs = static_cast<int>(wait.count() / 1000);
    if (pd.timeout_usec != UINT64_MAX) timeoutMs = std::min<int>(timeoutMs, static_cast<int>(pd.timeout_usec / 1000));
    ::poll(&fd, 1, std::max(0, timeoutMs));
    while (conn_->processPendingRequest()) {
    }
  }

  bool discovering() const { return discovering_; }
  std::size_t devices() const { return devices_.size(); }
  std::uint64_t emitted() const { return emitted_; }
  std::uint64_t removed() const { return removed_; }

 private:
  static constexpr const char* kAdapter = "/org/bluez/hci0";
  std::unique_ptr<sdbus::IConnection> conn_;
  std::unique_ptr<sdbus::IObject> root_;
  std::unique_ptr<sdbus::IObject> adapter_;
  std::unordered_map<std::string, std::unique_ptr<sdbus::IObject>> devices_;
  bool discovering_ = false;
  std::uint64_t emitted_ = 0;
  std::uint64_t removed_ = 0;
};

// iBeacon manufacturer data (Apple 0x004C) under a fixed UUID, one minor per device.
inline sdbus::Variant ibeaconData(std::uint16_t major, std::uint16_t minor) {
  std::vector<std::uint8_t> d{0x02, 0x15, 0xF7, 0x82, 0x6D, 0xA6, 0x4F, 0xA2, 0x4E, 0x98, 0x80, 0x24, 0xBC, 0x5B,
                              0x71, 0xE0, 0x89, 0x3E, static_cast<std::uint8_t>(major >> 8),
                              static_cast<std::uint8_t>(major), static_cast<std::uint8_t>(minor >> 8),
                              static_cast<std::uint8_t>(minor), 0xC5};
  return sdbus::Variant(std::map<std::uint16_t, sdbus::Variant>{{0x004C, sdbus::Variant(d)}});
}
constexpr const char* kBenchIBeaconUuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e";

}  // namespace aisle::bench
