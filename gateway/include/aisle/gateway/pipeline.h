#pragma once
// The live path from device reports to zone sightings: decode the advert payloads, name the beacon
// the way the engine does, keep only beacons of interest, and feed the ZoneTracker with the
// report's RSSI and the injected clock's time. Pure (no bus, no socket): the BlueZ source and unit
// tests drive it through DeviceListener.
//
// Privacy: a device that is not a beacon of interest leaves no trace beyond a counter; nothing
// here ever holds a Bluetooth address (the source hands over an opaque key).
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/gateway/advert.h"
#include "aisle/gateway/device_report.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

// The engine's beacon ids (coupon-engine parseBeaconRef): "eid:<16 hex>",
// "ibeacon:<uuid lower-case with dashes>:<major>:<minor>", "altbeacon:<40 hex>". Other kinds have
// no engine id: returns false and leaves `out` empty.
bool beaconIdOf(const Advert& advert, std::string& out);

// Lower-cases the id part of "ibeacon:"/"altbeacon:"/"eid:" ids so configured ids compare equal to
// the ones beaconIdOf writes; other text is returned unchanged.
std::string canonicalBeaconId(std::string_view id);

// A rectangle of iBeacon numbers under one proximity UUID (a fleet's `fobs` plan): every id in it
// is of interest, nothing around it (other plans may share the UUID).
struct IBeaconRange {
  std::array<std::uint8_t, 16> uuid{};
  std::uint16_t majorLo = 0, majorHi = 0, minorLo = 0, minorHi = 0;
  bool contains(const Advert& advert) const;
  bool operator==(const IBeaconRange&) const = default;
};

// Which beacons the gateway may forward. EID frames are always of interest (they are the shoppers'
// rotating identities, resolvable only by the engine); iBeacon/AltBeacon ids only when configured,
// one by one or (iBeacon) by proximity UUID.
struct PrivacyPolicy {
  bool forwardEid = true;
  std::unordered_set<std::string> beaconIds;              // canonical ids
  std::vector<std::array<std::uint8_t, 16>> ibeaconUuids;  // every major/minor under these
  std::vector<IBeaconRange> ibeaconRanges;                 // only the numbers inside these
  bool allows(const Advert& advert, const std::string& id) const;
};

struct PipelineStats {
  std::uint64_t reports = 0;
  std::uint64_t sightings = 0;         // reports that reached the tracker
  std::uint64_t notOfInterest = 0;     // reports of devices we may not forward (phones, others' beacons)
  std::uint64_t noRssiYet = 0;         // payload without any RSSI known yet
  std::uint64_t malformedPayloads = 0; // payloads that decoded with an issue
  std::uint64_t devicesKnown = 0;      // current size of the per-device cache
};

// The latest Eddystone-TLM heard from a configured fixed beacon: such beacons interleave TLM frames
// with their iBeacon/AltBeacon frames from the same address, so the TLM belongs to the identity the
// device announced. For the health report (battery going flat, a freezer beacon warming up).
struct BeaconTelemetry {
  std::uint16_t batteryMv = 0;  // 0: the beacon does not measure it
  double temperatureC = 0;
  bool hasTemperature = false;  // the beacon sent 0x8000 ("not supported")
  std::int64_t tMs = 0;         // when it was heard (the injected clock)
};

class AdvertPipeline final : public DeviceListener {
 public:
  AdvertPipeline(std::string scanner, PrivacyPolicy policy, SightingSink& tracker, const Clock& clock);

  void onDeviceReport(const DeviceReport& report) override;
  void onDeviceGone(std::uint64_t device) override;
  void onAdapterState(AdapterState state) override { adapterState_ = state; }

  // Heartbeat from the loop's timer: the local scanner is alive while discovery runs, and time moves
  // forward so exits and dwells fall due without new sightings.
  void tick();
  // Swaps the tracker after a configuration reload (presence state starts over).
  void reset(PrivacyPolicy policy, SightingSink& tracker);

  AdapterState adapterState() const { return adapterState_; }
  const PipelineStats& stats() const { return stats_; }
  // One entry per configured fixed beacon ([beacon.*] ids) that sent a TLM: bounded by the config.
  const std::map<std::string, BeaconTelemetry>& telemetry() const { return telemetry_; }

 private:
  // What a device last announced: BlueZ sends the payload only when it changes, RSSI per advert.
  struct Device {
    std::string beacon;  // engine id, empty while unknown or not of interest
    bool interest = false;
    bool decided = false;  // a beacon frame was seen (interest is known)
    bool hasRssi = false;
    bool tlmPending = false;  // a TLM came before the identity frame that says whose it is
    Dbm lastRssi;
    BeaconTelemetry tlm;
  };
  void learnPayload(Device& d, const DeviceReport& r);
  void consider(Device& d, const Advert& a);
  void keepTelemetry(Device& d);

  std::string scanner_;
  PrivacyPolicy policy_;
  SightingSink* tracker_;
  const Clock& clock_;
  AdapterState adapterState_ = AdapterState::Starting;
  std::unordered_map<std::uint64_t, Device> devices_;
  std::string scratch_;
  PipelineStats stats_;
  std::map<std::string, BeaconTelemetry> telemetry_;
};

}  // namespace aisle::gateway
