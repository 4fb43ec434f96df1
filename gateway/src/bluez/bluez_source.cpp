// The only BlueZ/D-Bus code of the gateway (with sdbus_asio.cpp). All of it runs on the loop
// thread; callbacks never make synchronous calls themselves but post them, so sd-bus is never
// re-entered from inside its own dispatch.
#include "aisle/gateway/bluez_source.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <sdbus-c++/sdbus-c++.h>
#include <unordered_map>
#include <vector>

#include "aisle/common/backoff.h"
#include "bluez/sdbus_asio.h"

namespace aisle::gateway {
namespace {

namespace asio = boost::asio;

constexpr const char* kBluez = "org.bluez";
constexpr const char* kAdapterIface = "org.bluez.Adapter1";
constexpr const char* kDeviceIface = "org.bluez.Device1";
constexpr const char* kObjectManager = "org.freedesktop.DBus.ObjectManager";
constexpr std::size_t kPruneBound = 256;  // RemoveDevice calls per prune tick (each a bus round trip)

using Properties = std::map<std::string, sdbus::Variant>;
using Interfaces = std::map<std::string, Properties>;
using ManagedObjects = std::map<sdbus::ObjectPath, Interfaces>;

std::uint64_t deviceKey(const std::string& path) {
  // FNV-1a of the object path: a stable opaque key; the path (and the address in it) stays here.
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : path) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.size() > prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

class BluezSourceImpl final : public BluezSource {
 public:
  BluezSourceImpl(asio::io_context& io, BluezOptions options, DeviceListener& listener,
                  const Clock& clock, Logger log, std::function<void(const std::string&)> onFatal,
                  std::unique_ptr<sdbus::IConnection> connection)
      : io_(io),
        options_(std::move(options)),
        listener_(listener),
        clock_(clock),
        log_(std::move(log)),
        connection_(std::move(connection)),
        loop_(io, *connection_, std::move(onFatal)),
        armTimer_(io),
        pruneTimer_(io),
        backoff_(std::chrono::milliseconds(250), options_.rearmMax) {
    manager_ = sdbus::createProxy(*connection_, kBluez, "/");
  }

  ~BluezSourceImpl() override { stop(); }

  void start() override {
    // One match per signal family (not a proxy per device): cheap for the bus under MAC churn.
    slots_.push_back(connection_->addMatch(
        "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
        "member='NameOwnerChanged',arg0='org.bluez'",
        [this](sdbus::Message& m) { guarded(m, &BluezSourceImpl::onNameOwnerChanged); }));
    slots_.push_back(connection_->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager',path='/'",
        [this](sdbus::Message& m) { guarded(m, &BluezSourceImpl::onObjectManager); }));
    slots_.push_back(connection_->addMatch(
        "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.Properties',"
        "member='PropertiesChanged',path_namespace='/org/bluez'",
        [this](sdbus::Message& m) { guarded(m, &BluezSourceImpl::onPropertiesChanged); }));
    loop_.drain();
    scheduleArm(std::chrono::milliseconds(0));
    schedulePrune();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    armTimer_.cancel();
    pruneTimer_.cancel();
    if (state_ == AdapterState::Discovering && !adapterPath_.empty()) {
      try {  // Be a good citizen: bluetoothd scans on for nobody otherwise.
        adapter()->callMethod("StopDiscovery").onInterface(kAdapterIface).withTimeout(std::chrono::seconds(1));
      } catch (const std::exception&) {
      }
    }
    slots_.clear();
    loop_.detach();
  }

  AdapterState state() const override { return state_; }
  BluezStats stats() const override {
    BluezStats s = stats_;
    s.devicesKnown = devices_.size();
    return s;
  }

 private:
  struct Known {
    std::uint64_t key = 0;
    std::chrono::steady_clock::time_point lastSeen;
  };

  template <typename Fn>
  void guarded(sdbus::Message& m, Fn fn) {
    ++stats_.signals;
    try {
      (this->*fn)(m);
    } catch (const std::exception&) {
      // A signal with arguments of the wrong shape is bad input: count it, never crash on it.
      ++stats_.malformedSignals;
    }
  }

  std::unique_ptr<sdbus::IProxy> adapter() const {
    return sdbus::createProxy(*connection_, kBluez, adapterPath_);
  }

  void setState(AdapterState s) {
    if (s == state_) return;
    state_ = s;
    log_.info(std::string("adapter state: ") + std::string(adapterStateName(s)));
    listener_.onAdapterState(s);
  }

  void scheduleArm(std::chrono::milliseconds delay) {
    if (stopped_) return;
    armTimer_.expires_after(delay);
    armTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      arm();
      loop_.drain();  // the synchronous calls may have read signals off the socket
    });
  }

  void forgetDevices() {
    for (const auto& [path, known] : devices_) listener_.onDeviceGone(known.key);
    devices_.clear();
  }

  void arm() {
    ManagedObjects objects;
    try {
      manager_->callMethod("GetManagedObjects").onInterface(kObjectManager).withTimeout(options_.callTimeout).storeResultsTo(objects);
    } catch (const sdbus::Error& e) {
      ++stats_.armFailures;
      if (e.getName() == "org.freedesktop.DBus.Error.ServiceUnknown" ||
          e.getName() == "org.freedesktop.DBus.Error.NameHasNoOwner") {
        // bluetoothd is not running: NameOwnerChanged tells us when it is back.
        setState(AdapterState::BluezGone);
        return;
      }
      log_.warn("BlueZ GetManagedObjects failed: " + e.getName());
      scheduleArm(backoff_.next());
      return;
    }
    std::string chosen;
    bool powered = false;
    for (const auto& [path, ifaces] : objects) {
      const auto a = ifaces.find(kAdapterIface);
      if (a == ifaces.end()) continue;
      const bool isPowered = boolProperty(a->second, "Powered");
      if (!options_.adapter.empty()) {
        if (path == "/org/bluez/" + options_.adapter) chosen = path, powered = isPowered;
      } else if (isPowered) {
        chosen = path;
        powered = true;
        break;
      } else if (chosen.empty()) {
        chosen = path;  // remembered so a later Powered=true on it re-arms
      }
    }
    if (chosen != adapterPath_) forgetDevices();
    adapterPath_ = chosen;
    if (chosen.empty()) {
      setState(AdapterState::Absent);
      return;
    }
    if (!powered) {
      setState(AdapterState::Off);
      return;
    }
    try {
      auto proxy = adapter();
      const std::map<std::string, sdbus::Variant> filter{
          {"Transport", sdbus::Variant(std::string("le"))}, {"DuplicateData", sdbus::Variant(true)}};
      proxy->callMethod("SetDiscoveryFilter").onInterface(kAdapterIface).withTimeout(options_.callTimeout).withArguments(filter);
      try {
        proxy->callMethod("StartDiscovery").onInterface(kAdapterIface).withTimeout(options_.callTimeout);
      } catch (const sdbus::Error& e) {
        // Discovery already running for us (a re-arm after a filter reset) is what we want.
        if (e.getName() != "org.bluez.Error.InProgress") throw;
      }
    } catch (const sdbus::Error& e) {
      ++stats_.armFailures;
      log_.warn("arming discovery failed: " + e.getName() + ": " + e.getMessage());
      scheduleArm(backoff_.next());
      return;
    }
    ++stats_.arms;
    backoff_.reset();
    setState(AdapterState::Discovering);
    // Devices bluetoothd already knows: learn their payloads (their RSSI is stale, not a sighting)
    // and start their prune clocks now.
    const std::string prefix = adapterPath_ + "/";
    for (const auto& [path, ifaces] : objects) {
      const auto d = ifaces.find(kDeviceIface);
      if (d == ifaces.end() || !startsWith(path, prefix)) continue;
      report(path, d->second, /*withRssi=*/false);
    }
  }

  bool boolProperty(const Properties& props, const std::string& name) {
    const auto it = props.find(name);
    if (it == props.end()) return false;
    if (it->second.peekValueType() != "b") {
      ++stats_.mistypedValues;
      return false;
    }
    return it->second.get<bool>();
  }

  // Decodes the advert-related properties into the reusable buffers and hands them over.
  void report(const std::string& path, const Properties& props, bool withRssi) {
    auto [it, inserted] = devices_.try_emplace(path);
    if (inserted) it->second.key = deviceKey(path);
    DeviceReport r;
    r.device = it->second.key;
    if (const auto p = props.find("RSSI"); withRssi && p != props.end()) {
      if (p->second.peekValueType() == "n") {
        r.hasRssi = true;
        r.rssi = Dbm{static_cast<double>(p->second.get<std::int16_t>())};
        it->second.lastSeen = clock_.monotonic();
      } else {
        ++stats_.mistypedValues;
      }
    }
    if (inserted) it->second.lastSeen = clock_.monotonic();
    mfgBytes_.clear();
    mfg_.clear();
    if (const auto p = props.find("ManufacturerData"); p != props.end()) {
      // BlueZ: a{qv} with ay values. dbusmock's bookworm template announces aa{qv}: skip that.
      if (p->second.peekValueType() == "a{qv}") {
        for (const auto& [company, value] : p->second.get<std::map<std::uint16_t, sdbus::Variant>>()) {
          if (value.peekValueType() != "ay") {
            ++stats_.mistypedValues;
            continue;
          }
          mfgBytes_.push_back(value.get<std::vector<std::uint8_t>>());
          mfg_.push_back({company, {}});
        }
        for (std::size_t i = 0; i < mfg_.size(); ++i) mfg_[i].data = mfgBytes_[i];
        r.hasManufacturerData = true;
        r.manufacturerData = mfg_;
      } else {
        ++stats_.mistypedValues;
      }
    }
    svcBytes_.clear();
    svcUuids_.clear();
    svc_.clear();
    if (const auto p = props.find("ServiceData"); p != props.end()) {
      if (p->second.peekValueType() == "a{sv}") {
        for (const auto& [uuid, value] : p->second.get<std::map<std::string, sdbus::Variant>>()) {
          if (value.peekValueType() != "ay") {
            ++stats_.mistypedValues;
            continue;
          }
          svcUuids_.push_back(uuid);
          svcBytes_.push_back(value.get<std::vector<std::uint8_t>>());
        }
        for (std::size_t i = 0; i < svcUuids_.size(); ++i) svc_.push_back({svcUuids_[i], svcBytes_[i]});
        r.hasServiceData = true;
        r.serviceData = svc_;
      } else {
        ++stats_.mistypedValues;
      }
    }
    ++stats_.reports;
    listener_.onDeviceReport(r);
  }

  void onNameOwnerChanged(sdbus::Message& m) {
    std::string name, oldOwner, newOwner;
    m >> name >> oldOwner >> newOwner;
    if (name != kBluez) return;
    if (!oldOwner.empty()) {
      log_.warn("bluetoothd left the bus");
      forgetDevices();
      adapterPath_.clear();
      setState(AdapterState::BluezGone);
    }
    if (!newOwner.empty()) {
      log_.info("bluetoothd is on the bus: arming discovery");
      backoff_.reset();
      scheduleArm(std::chrono::milliseconds(0));
    }
  }

  void onObjectManager(sdbus::Message& m) {
    const std::string member = m.getMemberName();
    sdbus::ObjectPath path;
    if (member == "InterfacesAdded") {
      Interfaces ifaces;
      m >> path >> ifaces;
      if (ifaces.contains(kAdapterIface) && state_ != AdapterState::Discovering) {
        scheduleArm(std::chrono::milliseconds(0));  // an adapter (re)appeared
      }
      const auto d = ifaces.find(kDeviceIface);
      if (d != ifaces.end() && state_ == AdapterState::Discovering && startsWith(path, adapterPath_ + "/")) {
        report(path, d->second, /*withRssi=*/true);
      }
    } else if (member == "InterfacesRemoved") {
      std::vector<std::string> ifaces;
      m >> path >> ifaces;
      for (const std::string& i : ifaces) {
        if (i == kDeviceIface) {
          if (const auto it = devices_.find(path); it != devices_.end()) {
            listener_.onDeviceGone(it->second.key);
            devices_.erase(it);
          }
        } else if (i == kAdapterIface && path == adapterPath_) {
          log_.warn("adapter removed");
          forgetDevices();
          setState(AdapterState::Absent);
          scheduleArm(std::chrono::milliseconds(0));  // maybe another adapter is there
        }
      }
    }
  }

  void onPropertiesChanged(sdbus::Message& m) {
    std::string iface;
    Properties changed;
    m >> iface >> changed;
    const std::string path = m.getPath();
    if (iface == kDeviceIface) {
      if (state_ == AdapterState::Discovering && startsWith(path, adapterPath_ + "/")) {
        report(path, changed, /*withRssi=*/true);
      }
      return;
    }
    if (iface != kAdapterIface) return;
    const auto powered = changed.find("Powered");
    const auto discovering = changed.find("Discovering");
    if (path == adapterPath_) {
      if (powered != changed.end() && powered->second.peekValueType() == "b") {
        if (!powered->second.get<bool>()) {
          forgetDevices();
          setState(AdapterState::Off);
        } else if (state_ != AdapterState::Discovering) {
          scheduleArm(std::chrono::milliseconds(0));
        }
      }
      if (discovering != changed.end() && discovering->second.peekValueType() == "b" &&
          !discovering->second.get<bool>() && state_ == AdapterState::Discovering && !stopped_) {
        // Someone stopped discovery (or cleared the filter): start it again, backing off in case
        // it keeps happening.
        log_.warn("discovery stopped by someone else: re-arming");
        setState(AdapterState::Off);
        scheduleArm(backoff_.next());
      }
    } else if (options_.adapter.empty() && state_ != AdapterState::Discovering &&
               powered != changed.end() && powered->second.peekValueType() == "b" &&
               powered->second.get<bool>()) {
      scheduleArm(std::chrono::milliseconds(0));  // some adapter got powered and we have none
    }
  }

  void schedulePrune(bool more = false) {
    if (stopped_) return;
    auto every = options_.pruneEvery.count() > 0
                     ? options_.pruneEvery
                     : std::clamp(options_.pruneAfter / 4, std::chrono::milliseconds(250),
                                  std::chrono::milliseconds(10000));
    // A full tick means more stale devices are waiting: at 40 new addresses/s a 10 s tick finds
    // 400, more than one tick's bound, and the cache would grow without this.
    if (more) every = std::chrono::milliseconds(1);
    pruneTimer_.expires_after(every);
    pruneTimer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_) return;
      const bool full = prune();
      loop_.drain();
      schedulePrune(full);
    });
  }

  // True when the tick stopped at its bound (stale devices are left for the next one).
  bool prune() {
    if (state_ != AdapterState::Discovering || devices_.empty()) return false;
    const auto cutoff = clock_.monotonic() - options_.pruneAfter;
    std::vector<std::string> stale;
    for (const auto& [path, known] : devices_) {
      // Bounded per tick so a flood of stale devices never stalls the loop for long.
      if (known.lastSeen < cutoff && stale.size() < kPruneBound) stale.push_back(path);
    }
    if (stale.empty()) return false;
    auto proxy = adapter();
    for (const std::string& path : stale) {
      try {
        proxy->callMethod("RemoveDevice").onInterface(kAdapterIface).withTimeout(options_.callTimeout).withArguments(sdbus::ObjectPath(path));
      } catch (const sdbus::Error&) {
        // Already gone (bluetoothd's own TemporaryTimeout won): nothing to free.
      }
      if (const auto it = devices_.find(path); it != devices_.end()) {
        listener_.onDeviceGone(it->second.key);
        devices_.erase(it);
      }
      ++stats_.devicesPruned;
    }
    return stale.size() == kPruneBound;
  }

  asio::io_context& io_;
  BluezOptions options_;
  DeviceListener& listener_;
  const Clock& clock_;
  Logger log_;
  std::unique_ptr<sdbus::IConnection> connection_;
  bluez::SdbusAsio loop_;
  std::unique_ptr<sdbus::IProxy> manager_;
  std::vector<sdbus::Slot> slots_;
  asio::steady_timer armTimer_;
  asio::steady_timer pruneTimer_;
  Backoff backoff_;
  AdapterState state_ = AdapterState::Starting;
  std::string adapterPath_;
  std::unordered_map<std::string, Known> devices_;  // by object path, never leaves this file
  bool stopped_ = false;
  BluezStats stats_;
  // Reused per report, so the steady stream of PropertiesChanged does not churn the heap.
  std::vector<std::vector<std::uint8_t>> mfgBytes_, svcBytes_;
  std::vector<std::string> svcUuids_;
  std::vector<ManufacturerEntry> mfg_;
  std::vector<ServiceEntry> svc_;
};

}  // namespace

Result<std::unique_ptr<BluezSource>> openBluezSource(asio::io_context& io, BluezOptions options,
                                                     DeviceListener& listener, const Clock& clock,
                                                     Logger log,
                                                     std::function<void(const std::string&)> onFatal) {
  std::unique_ptr<sdbus::IConnection> connection;
  try {
    connection = sdbus::createSystemBusConnection();
  } catch (const sdbus::Error& e) {
    return fail("cannot connect to the system bus: " + e.getMessage());
  }
  return std::unique_ptr<BluezSource>(std::make_unique<BluezSourceImpl>(
      io, std::move(options), listener, clock, std::move(log), std::move(onFatal), std::move(connection)));
}

}  // namespace aisle::gateway
