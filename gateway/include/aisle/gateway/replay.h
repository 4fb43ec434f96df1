#pragma once
// `aisleone-gateway replay`: sightings as JSON Lines in, zone events as JSON Lines out, through the
// same ZoneTracker the daemon runs. Timestamps come from the input, so a replay is deterministic.
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "aisle/gateway/json.h"
#include "aisle/gateway/units.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

// {"scanner":"Room201","beacon":"<id>","rssi":-70,"t_ms":1425352282972}; other members ignored.
struct Sighting {
  std::string_view scanner;  // views into the parser's buffers, valid until the next parse
  std::string_view beacon;
  Dbm rssi;
  std::int64_t tMs = 0;
};

class SightingParser {
 public:
  // nullptr on success, else a static reason.
  const char* parse(std::string_view line, Sighting& out);

 private:
  FlatJsonReader reader_;
  std::string scanner_;
  std::string beacon_;
};

struct ReplayResult {
  std::uint64_t lines = 0;
  std::uint64_t sightings = 0;
  std::uint64_t malformed = 0;
  std::string firstError;  // "line N: reason" of the first malformed line
  ZoneStats zones;
};

ReplayResult runReplay(std::istream& in, std::ostream& out, const ZoneSetup& setup);

}  // namespace aisle::gateway
