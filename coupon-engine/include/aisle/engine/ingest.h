#pragma once
// Proximity payloads as gateways and phone apps send them (DESIGN.md "HTTP"), parsed and checked
// before anything touches the database. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "aisle/common/result.h"
#include "aisle/engine/triggers.h"

namespace aisle::engine {

// Beacon ids on the wire: "eid:<16 hex>", "ibeacon:<uuid>:<major>:<minor>", "altbeacon:<id>".
struct BeaconRef {
  enum class Kind { Eid, IBeacon, AltBeacon } kind = Kind::Eid;
  std::uint64_t eid = 0;
  std::string uuid;  // lower-case, with dashes
  int major = 0;
  int minor = 0;
  std::string altId;
};
Result<BeaconRef> parseBeaconRef(const std::string& text);

struct ZoneEventIn {
  std::string eventId;
  ZoneEventType type = ZoneEventType::Enter;
  std::string zone;  // the zone's name in the store; "" for a store-level event
  BeaconRef beacon;
  std::int64_t tMs = 0;
  double confidence = 1.0;
};

struct ProximityBatch {
  std::string gatewayId;
  std::int64_t storeId = 0;
  std::vector<ZoneEventIn> events;
};

struct IngestLimits {
  std::size_t maxEvents = 1000;
  std::int64_t maxSkewMs = 24LL * 3600 * 1000;  // refuse events far from the server's clock
};

// POST /v1/proximity/events. Every problem is one clear message naming the event index.
Result<ProximityBatch> parseProximityBatch(const std::string& json, std::int64_t nowMs, const IngestLimits& limits = {});

// POST /v1/proximity/sightings: {"store_id":1,"beacon":"ibeacon:...","zone":"entrance","t_ms":...}
// from the member's own app (the iPhone path); becomes one "sighting" event of that member.
struct AppSighting {
  std::int64_t storeId = 0;
  std::string zone;
  std::string beacon;
  std::int64_t tMs = 0;
  std::string sightingId;
};
Result<AppSighting> parseAppSighting(const std::string& json, std::int64_t nowMs, const IngestLimits& limits = {});

}  // namespace aisle::engine
