#pragma once
// BlueZ over the system D-Bus as a DeviceListener's source. Everything runs on the caller's
// Boost.Asio io_context (the sd-bus socket and timeout are waited on there), so the gateway is one
// thread for radio, zones and batching. No sdbus-c++ type appears here: only src/bluez/ includes it.
//
// What it does (BlueZ 5.66 behaviour, see shared/PLATFORM.md):
// - picks the configured adapter, or the first powered one, sets the discovery filter
//   {Transport "le", DuplicateData true} (without it BlueZ swallows small RSSI changes and repeated
//   adverts) and starts discovery;
// - follows ObjectManager InterfacesAdded/InterfacesRemoved and one PropertiesChanged match under
//   /org/bluez, tolerating values of the wrong type (counted, skipped);
// - re-arms when bluetoothd restarts (NameOwnerChanged), the adapter goes and comes back, is
//   powered again, or someone else stops discovery;
// - calls Adapter1.RemoveDevice for devices not heard for pruneAfter, so bluetoothd's cache of
//   random addresses stays bounded under MAC rotation.
// Device object paths (which contain the address) stay inside: listeners get an opaque key.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "aisle/common/clock.h"
#include "aisle/common/log.h"
#include "aisle/common/result.h"
#include "aisle/gateway/device_report.h"

namespace boost::asio {
class io_context;
}

namespace aisle::gateway {

struct BluezOptions {
  std::string adapter;  // "hci0"; empty: the first powered adapter
  std::chrono::milliseconds pruneAfter{60000};
  // How often the prune runs (0: pruneAfter / 4, within [250 ms, 10 s]). A tick that hits its
  // per-tick bound runs again at once, so any rate of new addresses is kept up with.
  std::chrono::milliseconds pruneEvery{0};
  std::chrono::milliseconds callTimeout{5000};
  std::chrono::milliseconds rearmMax{30000};  // backoff cap between failed arming attempts
};

struct BluezStats {
  std::uint64_t signals = 0;
  std::uint64_t reports = 0;
  std::uint64_t mistypedValues = 0;   // properties of an unexpected D-Bus type, skipped
  std::uint64_t malformedSignals = 0; // signals whose arguments did not parse
  std::uint64_t arms = 0;             // successful discovery starts (1 + re-arms)
  std::uint64_t armFailures = 0;
  std::uint64_t devicesPruned = 0;    // RemoveDevice calls for silent devices
  std::uint64_t devicesKnown = 0;
};

class BluezSource {
 public:
  virtual ~BluezSource() = default;
  // Subscribes and arms discovery (asynchronously, on the io_context).
  virtual void start() = 0;
  // Stops discovery (best effort) and detaches from the io_context; the connection stays open
  // until destruction.
  virtual void stop() = 0;
  virtual AdapterState state() const = 0;
  virtual BluezStats stats() const = 0;
};

// Connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS is honoured, which is how tests point it at
// a private bus with a fake BlueZ). `onFatal` is called on the loop when the bus connection itself
// breaks: there is no recovering from that in-process, the daemon exits and systemd restarts it.
Result<std::unique_ptr<BluezSource>> openBluezSource(boost::asio::io_context& io, BluezOptions options,
                                                     DeviceListener& listener, const Clock& clock,
                                                     Logger log,
                                                     std::function<void(const std::string&)> onFatal);

}  // namespace aisle::gateway
