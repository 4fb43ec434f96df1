#pragma once
// The fleet: one human-edited TOML file describing a chain's stores, zones, gateways, fixed
// beacons, iBeacon numbering plans, thresholds and uplink. This header is the pure model plus the
// checks; no file or network I/O happens here, so `check` and the tests run the same code on
// strings.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/ids.h"

namespace aisle::fwconfig {

// 1-based, as editors show them; 0 means "not from a file" (e.g. a default).
struct SourcePos {
  int line = 0;
  int column = 0;
};

// Where each key of one table was written, so cross-checks can point at the exact value.
class KeyPositions {
 public:
  void set(const std::string& key, SourcePos pos) { keys_[key] = pos; }
  // The key's position, else the table's own position (a missing key is reported at its table).
  SourcePos at(const std::string& key) const;
  SourcePos table() const { return table_; }
  void setTable(SourcePos pos) { table_ = pos; }

 private:
  SourcePos table_;
  std::map<std::string, SourcePos> keys_;
};

enum class GatewayRole { Scanner, Hub, Both };
enum class BeaconType { IBeacon, AltBeacon, EddystoneUid, EddystoneEid };
enum class ZoneKind { Entrance, Aisle, Checkout, Other };
enum class PlanPurpose { Fobs, Fixed, Reserved };

const char* roleName(GatewayRole role);
const char* beaconTypeName(BeaconType type);
const char* zoneKindName(ZoneKind kind);
const char* planPurposeName(PlanPurpose purpose);
inline bool scans(GatewayRole r) {
  return r != GatewayRole::Hub;
}
inline bool arbitrates(GatewayRole r) {
  return r != GatewayRole::Scanner;
}

// Zone tracking parameters. Limits are part of the contract: the gateway may rely on them.
struct Thresholds {
  std::chrono::milliseconds dwell{std::chrono::seconds(20)};
  std::chrono::milliseconds exitTimeout{std::chrono::seconds(30)};
  int hysteresisDb = 6;
  std::chrono::milliseconds hysteresisTime{std::chrono::seconds(5)};
};
struct ThresholdLimits {
  static constexpr std::chrono::milliseconds kDwellMin{std::chrono::seconds(5)};
  static constexpr std::chrono::milliseconds kDwellMax{std::chrono::minutes(30)};
  static constexpr std::chrono::milliseconds kExitMin{std::chrono::seconds(5)};
  static constexpr std::chrono::milliseconds kExitMax{std::chrono::minutes(10)};
  static constexpr int kHysteresisDbMin = 0;
  static constexpr int kHysteresisDbMax = 20;
  static constexpr std::chrono::milliseconds kHysteresisTimeMin{std::chrono::seconds(0)};
  static constexpr std::chrono::milliseconds kHysteresisTimeMax{std::chrono::minutes(1)};
};

struct Uplink {
  std::string engineUrl;
  std::chrono::milliseconds batchMaxDelay{std::chrono::seconds(1)};
  int batchMaxEvents = 100;
  std::int64_t spoolMaxBytes = 64LL * 1024 * 1024;
  KeyPositions pos;
};

struct Store {
  StoreId id;
  std::string name;
  std::string timeZone;   // IANA name, e.g. "Europe/Berlin"
  Thresholds thresholds;  // the chain's, with this store's overrides applied
  KeyPositions pos;
};

struct Zone {
  std::int64_t id = 0;  // zones.zone_id in the database
  StoreId store;
  std::string name;  // unique within its store; gateways and beacons refer to zones by name
  ZoneKind kind = ZoneKind::Aisle;
  std::vector<std::string> categories;  // product category names as in the catalog
  KeyPositions pos;
};

struct Gateway {
  std::string id;  // gateways.gateway_id
  StoreId store;
  GatewayRole role = GatewayRole::Both;
  std::string adapter = "hci0";
  std::string zone;       // the zone this scanner covers; empty for a pure hub
  std::string placement;  // free text for the installer: where the Pi hangs
  int rssiOffsetDb = 0;   // added to every RSSI this scanner reports (calibration)
  std::string keyId;      // uplink HMAC key id (gateways.key_id); the secret is never in the fleet
  std::string address;    // host:port the hub listens on for its scanners (hubs only)
  KeyPositions pos;
};

struct Beacon {
  std::string id;
  StoreId store;
  std::string zone;
  BeaconType type = BeaconType::IBeacon;
  std::string uuid;  // iBeacon proximity UUID, lower-case canonical form
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::string beaconId;      // AltBeacon: 20 bytes as 40 hex digits
  std::string namespaceId;   // Eddystone-UID: 10 bytes as 20 hex digits
  std::string instanceId;    // Eddystone-UID: 6 bytes as 12 hex digits
  int rotationExponent = 0;  // Eddystone-EID K (rotation every 2^K seconds)
  int measuredPower =
      -59;  // dBm at the type's reference distance (1 m iBeacon/AltBeacon, 0 m Eddystone)
  bool expectTlm = false;  // the beacon interleaves Eddystone-TLM frames (battery, temperature)
  KeyPositions pos;
};

// A rectangle of iBeacon numbers under one UUID, reserved for one purpose; fob provisioning draws
// from "fobs" plans, and nothing else may use numbers inside them.
struct IBeaconPlan {
  std::string id;
  std::string uuid;
  std::uint16_t majorLo = 0, majorHi = 0, minorLo = 0, minorHi = 0;
  PlanPurpose purpose = PlanPurpose::Fobs;
  std::optional<StoreId> store;
  KeyPositions pos;
};

struct Fleet {
  int schema = 1;
  std::string chainName;
  Thresholds thresholds;
  Uplink uplink;
  std::vector<Store> stores;
  std::vector<Zone> zones;
  std::vector<Gateway> gateways;
  std::vector<Beacon> beacons;
  std::vector<IBeaconPlan> plans;

  const Store* store(StoreId id) const;
  const Zone* zone(StoreId store, std::string_view name) const;
};

// One problem, printed as `file:line:col: message (hint: ...)`.
struct Diagnostic {
  std::string file;
  SourcePos pos;
  std::string message;
  std::string hint;
  std::string str() const;
};

struct FleetCheck {
  Fleet fleet;
  std::vector<Diagnostic> problems;  // sorted by position; empty means the fleet is usable
  bool ok() const { return problems.empty(); }
};

// Syntax, types, missing and unknown keys, value ranges: everything one table can tell.
FleetCheck parseFleet(std::string_view text, const std::string& fileName);
// Cross-checks on a parsed fleet: references, duplicate ids, overlapping iBeacon numbers, roles.
std::vector<Diagnostic> validateFleet(const Fleet& fleet, const std::string& fileName);
// Both, sorted: what `aisleone-fwconfig check` prints.
FleetCheck checkFleet(std::string_view text, const std::string& fileName);

// "ab12..." lower-case canonical 8-4-4-4-12 form, or an error.
std::optional<std::string> canonicalUuid(std::string_view text);
// "20s", "1500ms", "5m": the largest unit that divides exactly, as the fleet file writes them.
std::string formatDuration(std::chrono::milliseconds d);

}  // namespace aisle::fwconfig
