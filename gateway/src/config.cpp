#include "aisle/gateway/config.h"

#include <chrono>
#include <set>

#include "aisle/common/config.h"

namespace aisle::gateway {
namespace {

using std::chrono::milliseconds;

// "scanner.Room201.zone" -> "Room201" for prefix "scanner."; "" if the key is not in such a section.
std::string sectionName(const std::string& key, std::string_view prefix) {
  if (key.rfind(prefix, 0) != 0) return {};
  const auto dot = key.rfind('.');
  if (dot <= prefix.size()) return {};
  return key.substr(prefix.size(), dot - prefix.size());
}

void readDuration(ConfigReader& r, const std::string& key, std::int64_t& ms, milliseconds min,
                  milliseconds max) {
  milliseconds d(ms);
  r.duration(key, d, min, max);
  ms = d.count();
}

Result<GatewayConfig> fromFile(const ConfigFile& file) {
  GatewayConfig cfg;
  ConfigReader r(file);
  ZoneSetup& z = cfg.zones;
  ZoneParams& p = z.params;

  r.string("gateway.id", z.gatewayId);
  if (z.gatewayId.empty()) r.problem("gateway.id", "must not be empty");

  std::string kind(filterKindName(p.filter.kind));
  r.choice("filter.kind", kind, {"raw", "median", "median-ema", "huber-ema"});
  parseFilterKind(kind, p.filter.kind);
  std::int64_t window = p.filter.window;
  r.integer("filter.window", window, 1, RssiFilter::kMaxWindow);
  p.filter.window = static_cast<int>(window);
  readDuration(r, "filter.max_age", p.filter.maxAgeMs, milliseconds(100), milliseconds(600'000));
  std::int64_t tau = static_cast<std::int64_t>(p.filter.tauMs);
  readDuration(r, "filter.tau", tau, milliseconds(1), milliseconds(600'000));
  p.filter.tauMs = static_cast<double>(tau);
  r.decimal("filter.huber_db", p.filter.huberDb, 0.1, 60);

  r.decimal("zones.switch_margin_db", p.switchMargin.value, 0, 40);
  readDuration(r, "zones.switch_after", p.switchAfterMs, milliseconds(0), milliseconds(600'000));
  readDuration(r, "zones.dwell_after", p.dwellAfterMs, milliseconds(0), milliseconds(86'400'000));
  std::int64_t missed = p.missedAdverts;
  r.integer("zones.missed_adverts", missed, 1, 10'000);
  p.missedAdverts = static_cast<int>(missed);
  readDuration(r, "zones.exit_min", p.exitMinMs, milliseconds(1000), milliseconds(3'600'000));
  readDuration(r, "zones.exit_max", p.exitMaxMs, milliseconds(1000), milliseconds(3'600'000));
  if (p.exitMinMs > p.exitMaxMs) r.problem("zones.exit_min", "must not exceed zones.exit_max");
  readDuration(r, "zones.scanner_silence", p.scannerSilenceMs, milliseconds(1000), milliseconds(3'600'000));
  readDuration(r, "zones.silent_memory", p.silentMemoryMs, milliseconds(0), milliseconds(86'400'000));
  readDuration(r, "zones.forget_after", p.forgetAfterMs, milliseconds(1000), milliseconds(86'400'000));
  r.decimal("zones.fade_db_per_s", p.fadeDbPerS, 0, 100);

  r.decimal("model.path_loss_exponent", p.model.exponent, 1.0, 6.0);
  r.decimal("model.measured_power_dbm", p.defaultMeasuredPower.value, -120, 20);

  std::set<std::string> scannerSections, beaconSections;
  for (const ConfigEntry& e : file.entries()) {
    if (auto s = sectionName(e.key, "scanner."); !s.empty()) scannerSections.insert(s);
    if (auto b = sectionName(e.key, "beacon."); !b.empty()) beaconSections.insert(b);
  }
  std::set<std::string> scannerIds;
  for (const std::string& name : scannerSections) {
    const std::string base = "scanner." + name + ".";
    ScannerSpec s;
    s.id = name;
    r.string(base + "id", s.id);
    r.string(base + "zone", s.zone);
    if (s.zone.empty()) s.zone = s.id;
    if (s.zone == kUnknownZone) r.problem(base + "zone", "'unknown' is reserved for the unknown zone");
    r.decimal(base + "rssi_offset_db", s.rssiOffset.value, -40, 40);
    if (!scannerIds.insert(s.id).second) r.problem(base + "id", "scanner '" + s.id + "' listed twice");
    z.scanners.push_back(std::move(s));
  }
  std::set<std::string> beaconIds;
  for (const std::string& name : beaconSections) {
    const std::string base = "beacon." + name + ".";
    BeaconSpec b;
    b.measuredPower = p.defaultMeasuredPower;
    r.string(base + "id", b.id, /*required=*/true);
    r.decimal(base + "measured_power_dbm", b.measuredPower.value, -120, 20);
    if (!b.id.empty() && !beaconIds.insert(b.id).second) {
      r.problem(base + "id", "beacon '" + b.id + "' listed twice");
    }
    z.beacons.push_back(std::move(b));
  }
  if (Status st = r.finish(); !st) return st.error();
  return cfg;
}

}  // namespace

Result<GatewayConfig> parseGatewayConfig(std::string_view text, const std::string& fileName) {
  auto file = ConfigFile::parse(text, fileName);
  if (!file) return file.error();
  return fromFile(*file);
}

Result<GatewayConfig> loadGatewayConfig(const std::string& path) {
  auto file = ConfigFile::load(path);
  if (!file) return file.error();
  return fromFile(*file);
}

}  // namespace aisle::gateway
