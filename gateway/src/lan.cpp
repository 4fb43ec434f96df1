#include "aisle/gateway/lan.h"

#include <algorithm>

#include "aisle/gateway/json.h"
#include "aisle/gateway/replay.h"

namespace aisle::gateway {

void LanSummarizer::onSighting(std::string_view, std::string_view beacon, Dbm rssi, std::int64_t tMs) {
  auto it = pending_.find(std::string(beacon));
  if (it == pending_.end()) {
    it = pending_.emplace(std::string(beacon), Pending{}).first;
    order_.emplace_back(beacon);
  }
  Pending& p = it->second;
  if (p.n < kMaxReadings) p.readings[p.n++] = static_cast<float>(rssi.value);
  p.lastMs = tMs;
}

std::optional<std::string> LanSummarizer::take(bool scannerAlive, std::int64_t nowMs) {
  std::string body;
  if (scannerAlive) {
    for (const std::string& beacon : order_) {
      Pending& p = pending_.at(beacon);
      std::nth_element(p.readings, p.readings + p.n / 2, p.readings + p.n);
      double median = p.readings[p.n / 2];
      if (p.n % 2 == 0) {
        const float lower = *std::max_element(p.readings, p.readings + p.n / 2);
        median = (median + lower) / 2.0;
      }
      JsonObjectWriter w(body);
      w.field("scanner", scanner_).field("beacon", beacon).field("rssi", median).field("t_ms", p.lastMs > 0 ? p.lastMs : nowMs);
      w.close();
      body.push_back('\n');
    }
  }
  pending_.clear();
  order_.clear();
  if (!scannerAlive) return std::nullopt;
  return body;
}

Result<std::vector<LanSighting>> parseLanSightings(std::string_view body, std::string_view principal) {
  std::vector<LanSighting> out;
  SightingParser parser;
  Sighting s;
  std::size_t lineNo = 0;
  for (std::size_t pos = 0; pos < body.size();) {
    std::size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    ++lineNo;
    if (line.empty()) continue;
    if (const char* err = parser.parse(line, s)) return fail("line " + std::to_string(lineNo) + ": " + err);
    if (s.scanner != principal) {
      return fail("line " + std::to_string(lineNo) + ": scanner '" + std::string(s.scanner) + "' is not the signer '" +
                  std::string(principal) + "'");
    }
    out.push_back({std::string(s.beacon), s.rssi});
  }
  return out;
}

}  // namespace aisle::gateway
