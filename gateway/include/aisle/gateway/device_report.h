#pragma once
// What an advert source (BlueZ over D-Bus, or a test) tells the pipeline, with no D-Bus types in
// sight: the pipeline and its unit tests never see the bus. A device is an opaque 64-bit key (a
// hash of BlueZ's object path): the device's Bluetooth address never leaves the source, so it can
// be neither logged nor forwarded downstream.
#include <cstdint>
#include <span>
#include <string_view>

#include "aisle/gateway/units.h"

namespace aisle::gateway {

struct ManufacturerEntry {
  std::uint16_t companyId = 0;
  std::span<const std::uint8_t> data;  // after the company id
};

struct ServiceEntry {
  std::string_view uuid;  // as BlueZ writes it, "0000feaa-0000-1000-8000-00805f9b34fb"
  std::span<const std::uint8_t> data;
};

// One device's properties as announced (InterfacesAdded) or changed (PropertiesChanged). Absent
// members were not part of the update. With DuplicateData=true each received advert changes RSSI,
// so an update carrying RSSI is one sighting; advert payloads arrive only when they change.
struct DeviceReport {
  std::uint64_t device = 0;
  bool hasRssi = false;
  Dbm rssi;
  bool hasManufacturerData = false;
  std::span<const ManufacturerEntry> manufacturerData;
  bool hasServiceData = false;
  std::span<const ServiceEntry> serviceData;
};

enum class AdapterState : std::uint8_t {
  Starting,    // not yet looked
  BluezGone,   // org.bluez has no owner (bluetoothd stopped or restarting)
  Absent,      // bluetoothd runs, but no (configured/powered) adapter
  Off,         // the adapter exists but is not powered
  Discovering, // filter set and discovery started: adverts flow
  NotScanning, // a hub-only gateway: no local radio by configuration (lan.role = "hub")
};
std::string_view adapterStateName(AdapterState state);

class DeviceListener {
 public:
  virtual ~DeviceListener() = default;
  virtual void onDeviceReport(const DeviceReport& report) = 0;
  // BlueZ forgot the device (InterfacesRemoved, our own prune, bluetoothd gone).
  virtual void onDeviceGone(std::uint64_t device) = 0;
  virtual void onAdapterState(AdapterState state) = 0;
};

}  // namespace aisle::gateway
