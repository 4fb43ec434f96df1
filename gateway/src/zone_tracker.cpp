#include "aisle/gateway/zone_tracker.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "aisle/gateway/json.h"

namespace aisle::gateway {
namespace {

constexpr double kNoiseFloorDbm = -100;  // "nobody else hears it" counts as this
constexpr std::int64_t kSweepEveryMs = 1000;
constexpr double kMinusInf = -std::numeric_limits<double>::infinity();

// Logistic in dB: a 0 dB lead is a coin flip (0.5), 10 dB is 0.91, 20 dB is 0.99.
double confidenceForMargin(double marginDb) {
  const double c = 1.0 / (1.0 + std::pow(10.0, -marginDb / 10.0));
  return std::round(c * 1000.0) / 1000.0;
}

}  // namespace

std::string_view eventTypeName(ZoneEventType type) {
  switch (type) {
    case ZoneEventType::Enter: return "enter";
    case ZoneEventType::Dwell: return "dwell";
    case ZoneEventType::Exit: return "exit";
  }
  return "?";
}

std::uint64_t zoneEventId(std::string_view gatewayId, std::string_view beacon,
                          std::string_view zone, ZoneEventType type, std::int64_t tMs) {
  std::uint64_t h = 14695981039346656037ULL;
  auto mix = [&h](std::string_view s) {
    for (const char c : s) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ULL;
    }
    h ^= 0;  // separator byte keeps ("ab","c") apart from ("a","bc")
    h *= 1099511628211ULL;
  };
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, tMs);
  mix(gatewayId);
  mix(beacon);
  mix(zone);
  mix(eventTypeName(type));
  mix(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
  return h;
}

void appendZoneEventJson(const ZoneEvent& e, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  char id[16];
  for (int i = 0; i < 16; ++i) id[i] = kHex[(e.id >> (60 - 4 * i)) & 0xF];
  JsonObjectWriter w(out);
  w.field("event_id", std::string_view(id, sizeof id))
      .field("type", eventTypeName(e.type))
      .field("zone", e.zone)
      .field("beacon", e.beacon)
      .field("t_ms", e.tMs)
      .field("confidence", e.confidence);
  w.close();
}

ZoneTracker::ZoneTracker(ZoneSetup setup, ZoneEventSink& sink)
    : setup_(std::move(setup)), sink_(sink), autoZones_(setup_.scanners.empty()) {
  zones_.emplace_back(kUnknownZone);
  for (const ScannerSpec& s : setup_.scanners) {
    Scanner sc;
    sc.id = s.id;
    sc.zone = zoneIndex(s.zone.empty() ? s.id : s.zone);
    sc.offset = s.rssiOffset;
    scannerIds_.emplace(s.id, static_cast<std::uint32_t>(scanners_.size()));
    scanners_.push_back(std::move(sc));
  }
  for (const BeaconSpec& b : setup_.beacons) measuredPower_.emplace(b.id, b.measuredPower);
}

int ZoneTracker::zoneIndex(std::string_view zone) {
  for (std::size_t i = 0; i < zones_.size(); ++i)
    if (zones_[i] == zone) return static_cast<int>(i);
  zones_.emplace_back(zone);
  zoneScratch_.resize(zones_.size());
  return static_cast<int>(zones_.size() - 1);
}

int ZoneTracker::scannerIndex(std::string_view scanner, std::int64_t /*tMs*/) {
  if (const auto it = scannerIds_.find(scanner); it != scannerIds_.end()) {
    return static_cast<int>(it->second);
  }
  if (!autoZones_) return -1;
  Scanner sc;
  sc.id = std::string(scanner);
  sc.zone = zoneIndex(scanner);
  scannerIds_.emplace(sc.id, static_cast<std::uint32_t>(scanners_.size()));
  scanners_.push_back(std::move(sc));
  return static_cast<int>(scanners_.size() - 1);
}

std::uint32_t ZoneTracker::trackIndex(std::string_view beacon) {
  if (const auto it = beaconIds_.find(beacon); it != beaconIds_.end()) return it->second;
  std::uint32_t idx;
  if (!freeTracks_.empty()) {
    idx = freeTracks_.back();
    freeTracks_.pop_back();
  } else {
    idx = static_cast<std::uint32_t>(tracks_.size());
    tracks_.emplace_back();
  }
  Track& t = tracks_[idx];
  t.id.assign(beacon);  // reuses the slot's capacity when recycled
  t.inUse = true;
  const auto mp = measuredPower_.find(beacon);
  t.measuredPower = mp != measuredPower_.end() ? mp->second : setup_.params.defaultMeasuredPower;
  t.pairs.assign(scanners_.size(), Pair{});
  t.lastMs = now_;
  t.zone = kNoZone;
  t.zoneSinceMs = 0;
  t.dwellSent = false;
  t.confidence = 0;
  t.challenger = kNoZone;
  t.challengerSinceMs = 0;
  beaconIds_.emplace(t.id, idx);
  ++stats_.beaconsTracked;
  return idx;
}

bool ZoneTracker::scannerLive(const Scanner& s, std::int64_t now) const {
  return now - s.lastHeardMs <= setup_.params.scannerSilenceMs;
}

std::int64_t ZoneTracker::pairTimeout(const Pair& p) const {
  const ZoneParams& z = setup_.params;
  if (p.gaps < 3) return z.exitMinMs;
  const auto t = static_cast<std::int64_t>(z.missedAdverts * p.gapEmaMs);
  return std::clamp(t, z.exitMinMs, z.exitMaxMs);
}

std::int64_t ZoneTracker::deviceTimeout(const Track& t) const {
  // The best-hearing scanner misses the fewest adverts: its interval is the closest estimate of
  // the beacon's own advertising interval.
  std::int64_t best = std::numeric_limits<std::int64_t>::max();
  for (const Pair& p : t.pairs) {
    if (p.lastMs >= 0) best = std::min(best, pairTimeout(p));
  }
  return best == std::numeric_limits<std::int64_t>::max() ? setup_.params.exitMinMs : best;
}

double ZoneTracker::effectiveDbm(const Pair& p, const Scanner& s, std::int64_t now) const {
  const double v = calibrated(p.filter.value(), s.offset).value;
  const double interval = p.gaps > 0 ? p.gapEmaMs : 1000.0;
  const double graceMs = std::max(1000.0, 3.0 * interval);
  const double silentMs = static_cast<double>(now - p.lastMs) - graceMs;
  return silentMs > 0 ? v - setup_.params.fadeDbPerS * silentMs / 1000.0 : v;
}

void ZoneTracker::emit(ZoneEventType type, const Track& t, int zone, std::int64_t tMs,
                       double confidence) {
  ZoneEvent e;
  e.type = type;
  e.zone = zones_[static_cast<std::size_t>(zone)];
  e.beacon = t.id;
  e.tMs = tMs;
  e.confidence = zone == kUnknown ? 0.0 : confidence;
  e.id = zoneEventId(setup_.gatewayId, e.beacon, e.zone, type, tMs);
  switch (type) {
    case ZoneEventType::Enter:
      ++stats_.enters;
      if (zone == kUnknown) ++stats_.unknownEnters;
      break;
    case ZoneEventType::Dwell: ++stats_.dwells; break;
    case ZoneEventType::Exit: ++stats_.exits; break;
  }
  sink_.onZoneEvent(e);
}

void ZoneTracker::moveTo(Track& t, int zone, std::int64_t now, double confidence) {
  if (t.zone != kNoZone) emit(ZoneEventType::Exit, t, t.zone, now, confidence);
  t.zone = zone;
  t.zoneSinceMs = now;
  t.dwellSent = false;
  t.confidence = confidence;
  t.challenger = kNoZone;
  emit(ZoneEventType::Enter, t, zone, now, confidence);
}

void ZoneTracker::checkDue(Track& t, std::int64_t now) {
  if (t.zone == kNoZone) return;
  const std::int64_t deadline = t.lastMs + deviceTimeout(t);
  if (t.zone != kUnknown && !t.dwellSent) {
    const std::int64_t dwellAt = t.zoneSinceMs + setup_.params.dwellAfterMs;
    if (dwellAt <= now && dwellAt <= deadline) {
      emit(ZoneEventType::Dwell, t, t.zone, dwellAt, t.confidence);
      t.dwellSent = true;
    }
  }
  if (now > deadline) {
    emit(ZoneEventType::Exit, t, t.zone, deadline, 1.0);  // certain: nothing heard for the timeout
    t.zone = kNoZone;
    t.challenger = kNoZone;
  }
}

void ZoneTracker::decide(Track& t, std::int64_t now) {
  const ZoneParams& z = setup_.params;
  zoneScratch_.assign(zones_.size(), kMinusInf);
  for (std::size_t si = 0; si < t.pairs.size(); ++si) {
    const Pair& p = t.pairs[si];
    const Scanner& sc = scanners_[si];
    if (p.lastMs < 0 || !scannerLive(sc, now) || now - p.lastMs > pairTimeout(p)) continue;
    double& slot = zoneScratch_[static_cast<std::size_t>(sc.zone)];
    slot = std::max(slot, effectiveDbm(p, sc, now));
  }
  int bestZone = kNoZone;
  double best = kMinusInf;
  double second = kNoiseFloorDbm;
  for (std::size_t zi = 1; zi < zoneScratch_.size(); ++zi) {
    const double v = zoneScratch_[zi];
    if (v > best) {
      if (bestZone != kNoZone) second = std::max(second, best);
      best = v;
      bestZone = static_cast<int>(zi);
    } else {
      second = std::max(second, v);
    }
  }
  if (bestZone == kNoZone) return;  // no live scanner hears it: the timeout decides

  // A silent scanner that was hearing this beacon about as well as the winner may be the one the
  // beacon is actually next to: say "unknown" rather than a confident wrong room.
  bool doubt = false;
  for (std::size_t si = 0; si < t.pairs.size() && !doubt; ++si) {
    const Pair& p = t.pairs[si];
    const Scanner& sc = scanners_[si];
    if (p.lastMs < 0 || scannerLive(sc, now) || sc.zone == bestZone) continue;
    if (now - p.lastMs > z.silentMemoryMs) continue;
    if (p.lastMs < sc.lastHeardMs - pairTimeout(p)) continue;  // it had lost the beacon already
    if (calibrated(p.filter.value(), sc.offset).value + z.switchMargin.value > best) doubt = true;
  }
  const int target = doubt ? kUnknown : bestZone;
  // pow() per sighting is measurable on a Pi: the confidence is computed only when it is used.
  auto confidence = [&] { return doubt ? 0.0 : confidenceForMargin(best - second); };

  if (t.zone == kNoZone || t.zone == kUnknown || target == kUnknown) {
    if (t.zone != target) moveTo(t, target, now, confidence());
    return;
  }
  if (target == t.zone) {
    t.challenger = kNoZone;
    if (!t.dwellSent) t.confidence = confidence();  // the dwell event reports the latest
    return;
  }
  // Hysteresis: the challenger must beat the current zone by the margin, continuously.
  const double current = zoneScratch_[static_cast<std::size_t>(t.zone)];
  if (best < current + z.switchMargin.value) {
    t.challenger = kNoZone;
    return;
  }
  if (t.challenger != target) {
    t.challenger = target;
    t.challengerSinceMs = now;
  }
  if (now - t.challengerSinceMs >= z.switchAfterMs) moveTo(t, target, now, confidence());
}

void ZoneTracker::onScannerHeartbeat(std::string_view scanner, std::int64_t tMs) {
  advance(tMs);
  const int si = scannerIndex(scanner, now_);
  if (si >= 0) {
    Scanner& sc = scanners_[static_cast<std::size_t>(si)];
    sc.lastHeardMs = std::max(sc.lastHeardMs, now_);
  }
}

void ZoneTracker::onSighting(std::string_view scanner, std::string_view beacon, Dbm rssi,
                             std::int64_t tMs) {
  advance(tMs);
  const std::int64_t now = now_;
  ++stats_.sightings;
  const int si = scannerIndex(scanner, now);
  if (si < 0) {
    ++stats_.unknownScanner;
    return;
  }
  Scanner& sc = scanners_[static_cast<std::size_t>(si)];
  sc.lastHeardMs = std::max(sc.lastHeardMs, now);
  Track& t = tracks_[trackIndex(beacon)];
  checkDue(t, now);  // its own due dwell/exit (at their own times) come before this sighting
  if (t.pairs.size() < scanners_.size()) t.pairs.resize(scanners_.size());
  Pair& p = t.pairs[static_cast<std::size_t>(si)];
  if (p.lastMs >= 0) {
    // One long absence must not stretch the interval estimate: cap each gap.
    const double cap = static_cast<double>(setup_.params.exitMaxMs) / setup_.params.missedAdverts;
    const double gap = std::min(static_cast<double>(now - p.lastMs), cap);
    p.gapEmaMs = p.gaps == 0 ? gap : p.gapEmaMs + (gap - p.gapEmaMs) / 8.0;
    ++p.gaps;
  }
  p.filter.add(rssi, now, setup_.params.filter);
  p.lastMs = now;
  t.lastMs = now;
  decide(t, now);
  checkDue(t, now);  // a dwell that is due now
}

void ZoneTracker::advance(std::int64_t tMs) {
  now_ = std::max(now_, tMs);
  if (now_ - lastSweepMs_ < kSweepEveryMs) return;
  lastSweepMs_ = now_;
  for (std::uint32_t i = 0; i < tracks_.size(); ++i) {
    Track& t = tracks_[i];
    if (!t.inUse) continue;
    checkDue(t, now_);
    if (t.zone == kNoZone && now_ - t.lastMs > setup_.params.forgetAfterMs) {
      // Bounded memory under MAC-address churn: a beacon gone this long starts from scratch.
      if (const auto it = beaconIds_.find(std::string_view(t.id)); it != beaconIds_.end()) {
        beaconIds_.erase(it);
      }
      t.inUse = false;
      freeTracks_.push_back(i);
      ++stats_.beaconsForgotten;
    }
  }
}

void ZoneTracker::finish() {
  for (Track& t : tracks_) {
    if (t.inUse) checkDue(t, std::numeric_limits<std::int64_t>::max());
  }
}

std::string_view ZoneTracker::zoneOf(std::string_view beacon) const {
  const auto it = beaconIds_.find(beacon);
  if (it == beaconIds_.end()) return {};
  const Track& t = tracks_[it->second];
  return t.zone == kNoZone ? std::string_view{} : std::string_view(zones_[static_cast<std::size_t>(t.zone)]);
}

}  // namespace aisle::gateway
