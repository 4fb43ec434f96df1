#pragma once
// The hub's zone logic: sightings (scanner, beacon, rssi, time) from every scanner of a store ->
// one zone per beacon -> enter / dwell / exit events. Pure: time comes only from the sightings
// (and advance()), so replaying a log gives the same events as the live run, and tests run it in
// microseconds.
//
// Per beacon x scanner an RssiFilter smooths the signal; each scanner's offset calibrates it; the
// log-distance model turns it into metres. Arbitration picks the zone whose scanner hears the
// beacon best, with hysteresis: a challenger must be clearly stronger (margin) for a sustained
// time before the beacon moves, so a stationary beacon does not flap between two rooms. A beacon
// not heard for its timeout (derived from its observed advertising interval) exits. When a
// scanner goes silent while it may have been the nearest, the beacon is put in the explicit
// "unknown" zone instead of the next-best (and probably wrong) room.
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aisle/gateway/distance.h"
#include "aisle/gateway/rssi_filter.h"
#include "aisle/gateway/units.h"

namespace aisle::gateway {

enum class ZoneEventType : std::uint8_t { Enter, Dwell, Exit };
std::string_view eventTypeName(ZoneEventType type);

// Views stay valid only during the sink call.
struct ZoneEvent {
  ZoneEventType type = ZoneEventType::Enter;
  std::string_view zone;
  std::string_view beacon;
  std::int64_t tMs = 0;
  double confidence = 0;      // 0..1; 0 for the unknown zone
  std::uint64_t id = 0;       // deterministic: hash of gateway, beacon, zone, type, time
};

class ZoneEventSink {
 public:
  virtual ~ZoneEventSink() = default;
  virtual void onZoneEvent(const ZoneEvent& event) = 0;
};

inline constexpr std::string_view kUnknownZone = "unknown";

struct ZoneParams {
  FilterParams filter;
  PathLossModel model;
  Dbm defaultMeasuredPower{-59};  // RSSI at 1 m when the beacon's own is not configured
  Db switchMargin{6};             // a challenger must be this much stronger (calibrated) ...
  std::int64_t switchAfterMs = 4000;   // ... continuously for this long
  std::int64_t dwellAfterMs = 30000;   // one dwell event after this long in a zone
  // Presence timeout: `missedAdverts` advertising intervals (as observed), within [min, max].
  int missedAdverts = 20;
  std::int64_t exitMinMs = 20000;
  std::int64_t exitMaxMs = 120000;
  std::int64_t scannerSilenceMs = 10000;      // a scanner that hears nothing this long is dead
  std::int64_t silentMemoryMs = 300000;       // how long a dead scanner's last reading counts
  std::int64_t forgetAfterMs = 600000;        // drop state of beacons gone this long (MAC churn)
  // Not hearing a beacon that a scanner used to hear is evidence it moved away: beyond a grace of
  // a few advertising intervals, a scanner's reading fades by this much per second.
  double fadeDbPerS = 1.0;
};

struct ScannerSpec {
  std::string id;
  std::string zone;
  Db rssiOffset{0};
};

struct BeaconSpec {
  std::string id;
  Dbm measuredPower{-59};
};

struct ZoneSetup {
  std::string gatewayId = "gateway";
  ZoneParams params;
  // Empty: every scanner is its own zone, named after it (the replay default).
  std::vector<ScannerSpec> scanners;
  std::vector<BeaconSpec> beacons;
};

struct ZoneStats {
  std::uint64_t sightings = 0;
  std::uint64_t unknownScanner = 0;  // sightings from scanners the configuration does not list
  std::uint64_t enters = 0;
  std::uint64_t dwells = 0;
  std::uint64_t exits = 0;
  std::uint64_t unknownEnters = 0;
  std::uint64_t beaconsTracked = 0;
  std::uint64_t beaconsForgotten = 0;
};

// Where a scanner's sightings go: the zone tracker (hub or one-Pi store), or the LAN summarizer
// of a scanner-only Pi that forwards them to its hub.
class SightingSink {
 public:
  virtual ~SightingSink() = default;
  virtual void onSighting(std::string_view scanner, std::string_view beacon, Dbm rssi, std::int64_t tMs) = 0;
  virtual void onScannerHeartbeat(std::string_view scanner, std::int64_t tMs) = 0;
  virtual void advance(std::int64_t tMs) = 0;
};

class ZoneTracker final : public SightingSink {
 public:
  ZoneTracker(ZoneSetup setup, ZoneEventSink& sink);

  // Sightings should arrive in time order (per scanner they do; across scanners the hub takes
  // them as they come); time never moves backwards: an older timestamp counts as "now".
  void onSighting(std::string_view scanner, std::string_view beacon, Dbm rssi, std::int64_t tMs) override;
  // A scanner is alive even when it hears no beacon (heartbeats over the LAN).
  void onScannerHeartbeat(std::string_view scanner, std::int64_t tMs) override;
  // Moves time forward: exits and dwells that fall due are emitted with their own timestamps.
  void advance(std::int64_t tMs) override;
  // End of input: every beacon still in a zone gets its due dwell and its exit at its timeout.
  void finish();

  const ZoneStats& stats() const { return stats_; }
  // The current zone of a beacon ("" if none), for tests and /metrics.
  std::string_view zoneOf(std::string_view beacon) const;

 private:
  static constexpr int kNoZone = -1;
  static constexpr int kUnknown = 0;  // zones_[0] is the "unknown" pseudo-zone

  struct Scanner {
    std::string id;
    int zone = kNoZone;
    Db offset{0};
    std::int64_t lastHeardMs = std::numeric_limits<std::int64_t>::min() / 2;
  };
  struct Pair {
    RssiFilter filter;
    std::int64_t lastMs = -1;   // -1: never heard by this scanner
    double gapEmaMs = 0;
    std::uint32_t gaps = 0;
  };
  struct Track {
    std::string id;
    bool inUse = false;
    Dbm measuredPower{-59};
    std::vector<Pair> pairs;  // by scanner index
    std::int64_t lastMs = 0;
    int zone = kNoZone;
    std::int64_t zoneSinceMs = 0;
    bool dwellSent = false;
    double confidence = 0;
    int challenger = kNoZone;
    std::int64_t challengerSinceMs = 0;
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Index = std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>>;

  int scannerIndex(std::string_view scanner, std::int64_t tMs);
  int zoneIndex(std::string_view zone);
  std::uint32_t trackIndex(std::string_view beacon);
  std::int64_t pairTimeout(const Pair& p) const;
  double effectiveDbm(const Pair& p, const Scanner& s, std::int64_t now) const;
  std::int64_t deviceTimeout(const Track& t) const;
  bool scannerLive(const Scanner& s, std::int64_t now) const;
  void checkDue(Track& t, std::int64_t now);
  void decide(Track& t, std::int64_t now);
  void moveTo(Track& t, int zone, std::int64_t now, double confidence);
  void emit(ZoneEventType type, const Track& t, int zone, std::int64_t tMs, double confidence);

  ZoneSetup setup_;
  ZoneEventSink& sink_;
  bool autoZones_;
  std::vector<std::string> zones_;
  std::vector<Scanner> scanners_;
  Index scannerIds_;
  Index beaconIds_;
  std::unordered_map<std::string, Dbm, StringHash, std::equal_to<>> measuredPower_;
  std::vector<Track> tracks_;
  std::vector<std::uint32_t> freeTracks_;
  std::vector<double> zoneScratch_;  // per-zone best calibrated RSSI during decide(), reused
  std::int64_t now_ = std::numeric_limits<std::int64_t>::min() / 2;
  std::int64_t lastSweepMs_ = std::numeric_limits<std::int64_t>::min() / 2;
  ZoneStats stats_;
};

// FNV-1a 64 of "gateway\0beacon\0zone\0type\0t_ms": stable across runs and machines, so a replayed
// or re-sent event keeps its id and the engine can deduplicate.
std::uint64_t zoneEventId(std::string_view gatewayId, std::string_view beacon,
                          std::string_view zone, ZoneEventType type, std::int64_t tMs);

// Appends the replay/uplink JSON line for an event (DESIGN.md field names).
void appendZoneEventJson(const ZoneEvent& e, std::string& out);

}  // namespace aisle::gateway
