#include "aisle/gateway/replay.h"

#include <cmath>
#include <istream>
#include <ostream>

#include "aisle/common/parse.h"

namespace aisle::gateway {
namespace {

class SightingVisitor final : public JsonFlatVisitor {
 public:
  SightingVisitor(std::string& scanner, std::string& beacon) : scanner_(scanner), beacon_(beacon) {}
  void onString(std::string_view key, std::string_view value) override {
    if (key == "scanner") {
      scanner_.assign(value);
      hasScanner = true;
    } else if (key == "beacon") {
      beacon_.assign(value);
      hasBeacon = true;
    } else if (key == "rssi" || key == "t_ms") {
      wrongType = true;
    }
  }
  void onLiteral(std::string_view key, std::string_view raw) override {
    if (key == "rssi") {
      auto v = parseNumber<double>(raw, -200, 50);
      if (v) rssi = *v, hasRssi = true;
      else badNumber = true;
    } else if (key == "t_ms") {
      auto v = parseNumber<std::int64_t>(raw, 0);
      if (!v) {  // 1.425e12 or 1425352282972.0: accept a whole-valued decimal
        auto d = parseNumber<double>(raw, 0, 9.0e15);
        if (d && *d == std::floor(*d)) v = static_cast<std::int64_t>(*d);
      }
      if (v) tMs = *v, hasTime = true;
      else badNumber = true;
    } else if (key == "scanner" || key == "beacon") {
      wrongType = true;
    }
  }
  std::string& scanner_;
  std::string& beacon_;
  double rssi = 0;
  std::int64_t tMs = 0;
  bool hasScanner = false, hasBeacon = false, hasRssi = false, hasTime = false;
  bool badNumber = false, wrongType = false;
};

class StreamSink final : public ZoneEventSink {
 public:
  explicit StreamSink(std::ostream& out) : out_(out) { buf_.reserve(kFlushAt + 512); }
  ~StreamSink() override { flush(); }
  void onZoneEvent(const ZoneEvent& e) override {
    appendZoneEventJson(e, buf_);
    buf_.push_back('\n');
    if (buf_.size() >= kFlushAt) flush();
  }
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  static constexpr std::size_t kFlushAt = 64 * 1024;
  std::ostream& out_;
  std::string buf_;
};

}  // namespace

const char* SightingParser::parse(std::string_view line, Sighting& out) {
  SightingVisitor v(scanner_, beacon_);
  std::size_t offset = 0;
  if (const char* err = reader_.parse(line, v, offset)) return err;
  if (v.wrongType) return "a member has the wrong type";
  if (v.badNumber) return "rssi or t_ms is not a number in range";
  if (!v.hasScanner || !v.hasBeacon || !v.hasRssi || !v.hasTime) {
    return "missing one of scanner, beacon, rssi, t_ms";
  }
  if (scanner_.empty() || beacon_.empty()) return "empty scanner or beacon";
  out.scanner = scanner_;
  out.beacon = beacon_;
  out.rssi = Dbm{v.rssi};
  out.tMs = v.tMs;
  return nullptr;
}

ReplayResult runReplay(std::istream& in, std::ostream& out, const ZoneSetup& setup) {
  ReplayResult result;
  StreamSink sink(out);
  ZoneTracker tracker(setup, sink);
  SightingParser parser;
  Sighting s;
  std::string line;
  while (std::getline(in, line)) {
    ++result.lines;
    if (trim(line).empty()) continue;
    if (const char* err = parser.parse(line, s)) {
      // Bad input is counted and reported once; the rest of the stream still counts.
      if (result.malformed++ == 0) result.firstError = "line " + std::to_string(result.lines) + ": " + err;
      continue;
    }
    ++result.sightings;
    tracker.onSighting(s.scanner, s.beacon, s.rssi, s.tMs);
  }
  tracker.finish();
  sink.flush();
  result.zones = tracker.stats();
  return result;
}

}  // namespace aisle::gateway
