#pragma once
// Scanner -> hub over the store's LAN (GATEWAY.md, "LAN contract"). A scanner-only Pi does not
// arbitrate: its pipeline feeds a LanSummarizer instead of a ZoneTracker, and once per interval
// (1 s) the summary goes to the hub:
//
//   POST /v1/lan/sightings
//   Authorization: AISLE-HMAC-SHA256 key=<scanner id>,ts=…,nonce=…,sig=…   (the store's LAN key)
//   body: JSON Lines, one per beacon heard in the interval, the replay's sighting format:
//         {"scanner":"<scanner id>","beacon":"<engine beacon id>","rssi":-61.5,"t_ms":<scanner clock>}
//         An empty body is a heartbeat: the scanner is alive and heard nothing.
//
// So a beacon is summarised at most once per interval (the median of its readings: outlier-robust,
// the hub's own filter smooths across intervals), and a scanner that stops discovering, crashes
// or drops off the LAN stops sending: the hub's tracker sees the silence. The hub stamps what it
// receives with its own clock (scanner clocks are not trusted to agree); `t_ms` is informational.
// Both sides are pure: the daemon does the HTTP, the signing and the threads.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "aisle/common/result.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

inline constexpr std::string_view kLanSightingsPath = "/v1/lan/sightings";

class LanSummarizer final : public SightingSink {
 public:
  explicit LanSummarizer(std::string scanner) : scanner_(std::move(scanner)) {}
  void onSighting(std::string_view scanner, std::string_view beacon, Dbm rssi, std::int64_t tMs) override;
  void onScannerHeartbeat(std::string_view, std::int64_t) override {}
  void advance(std::int64_t) override {}

  // The interval's body (one line per beacon heard, empty for a heartbeat), and a fresh interval.
  // Nothing (no request at all) while the local scanner is not alive, so the hub notices.
  std::optional<std::string> take(bool scannerAlive, std::int64_t nowMs);
  std::size_t beaconsPending() const { return order_.size(); }

 private:
  static constexpr int kMaxReadings = 15;  // per beacon per interval; the rest only update t_ms
  struct Pending {
    float readings[kMaxReadings];
    int n = 0;
    std::int64_t lastMs = 0;
  };
  std::string scanner_;
  std::unordered_map<std::string, Pending> pending_;
  std::vector<std::string> order_;  // first-heard order, so bodies are deterministic
};

struct LanSighting {
  std::string beacon;
  Dbm rssi;
};

// The hub's side: a request body from the authenticated scanner `principal`. Every line must name
// that scanner (a scanner cannot speak for another), a beacon and an RSSI; otherwise the whole
// request is refused with the reason (nothing of it is applied).
Result<std::vector<LanSighting>> parseLanSightings(std::string_view body, std::string_view principal);

}  // namespace aisle::gateway
