#include "aisle/gateway/config.h"

#include <chrono>
#include <limits>
#include <set>

#include "aisle/common/config.h"
#include "aisle/common/hmac.h"
#include "aisle/gateway/pipeline.h"

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

// "f7826da6-4fa2-4e98-8024-bc5b71e0893e" (dashes optional) -> 16 bytes.
bool parseUuid(std::string_view text, std::array<std::uint8_t, 16>& out) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex.push_back(c);
  if (hex.size() != 32) return false;
  auto bytes = fromHex(hex);
  if (!bytes || bytes->size() != 16) return false;
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return true;
}

void readDaemon(ConfigReader& r, GatewayConfig& cfg) {
  DaemonSettings& d = cfg.daemon;
  r.integer("gateway.store_id", d.storeId, 1, std::numeric_limits<std::int64_t>::max());
  d.scanner = cfg.zones.gatewayId;
  r.string("gateway.scanner", d.scanner);
  r.string("bluez.adapter", d.adapter);
  if (!d.adapter.empty() && d.adapter.find_first_not_of(
                                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") !=
                                std::string::npos) {
    r.problem("bluez.adapter", "must be an adapter name like hci0");
  }
  r.duration("bluez.prune_after", d.pruneAfter, milliseconds(1000), milliseconds(86'400'000));
  r.choice("source.kind", d.sourceKind, {"bluez", "sightings"});
  r.string("source.sightings", d.sightingsPath);
  if (d.sourceKind == "sightings" && d.sightingsPath.empty()) {
    r.problem("source.sightings", "required when source.kind = \"sightings\"");
  }
  r.boolean("privacy.forward_eid", d.forwardEid);
  std::vector<std::string> uuids;
  r.stringList("privacy.ibeacon_uuids", uuids);
  for (const std::string& u : uuids) {
    std::array<std::uint8_t, 16> bytes{};
    if (!parseUuid(u, bytes)) r.problem("privacy.ibeacon_uuids", "'" + u + "' is not a UUID");
    else d.ibeaconUuids.push_back(bytes);
  }
  r.string("http.host", d.httpHost);
  std::int64_t port = d.httpPort;
  r.integer("http.port", port, 0, 65535);
  d.httpPort = static_cast<std::uint16_t>(port);
  r.string("uplink.engine_url", d.engineUrl);
  if (!d.engineUrl.empty() && d.engineUrl.rfind("http://", 0) != 0 && d.engineUrl.rfind("https://", 0) != 0) {
    r.problem("uplink.engine_url", "must start with http:// or https://");
  }
  r.string("uplink.key_id", d.keyId);
  r.string("uplink.secret_file", d.secretFile);
  r.string("uplink.secret_credential", d.secretCredential);
  if (!d.secretFile.empty() && !d.secretCredential.empty()) {
    r.problem("uplink.secret_credential", "give either secret_file or secret_credential, not both");
  }
  r.duration("uplink.batch_max_delay", d.batchMaxDelay, milliseconds(10), milliseconds(60'000));
  r.integer("uplink.batch_max_events", d.batchMaxEvents, 1, 1000);
  r.integer("uplink.request_max_events", d.requestMaxEvents, 1, 1000);
  if (d.batchMaxEvents > d.requestMaxEvents) {
    r.problem("uplink.batch_max_events", "must not exceed uplink.request_max_events");
  }
  r.duration("uplink.timeout", d.timeout, milliseconds(100), milliseconds(120'000));
  r.duration("uplink.retry_initial", d.retryInitial, milliseconds(10), milliseconds(60'000));
  r.duration("uplink.retry_max", d.retryMax, milliseconds(10), milliseconds(3'600'000));
  r.duration("heartbeat.interval", d.heartbeatInterval, milliseconds(0), milliseconds(3'600'000));
  r.choice("lan.role", d.lanRole, {"both", "scanner", "hub"});
  r.string("lan.hub_url", d.lanHubUrl);
  if (!d.lanHubUrl.empty() && d.lanHubUrl.rfind("http://", 0) != 0 && d.lanHubUrl.rfind("https://", 0) != 0) {
    r.problem("lan.hub_url", "must start with http:// or https://");
  }
  r.string("lan.key_file", d.lanKeyFile);
  r.string("lan.key_credential", d.lanKeyCredential);
  if (!d.lanKeyFile.empty() && !d.lanKeyCredential.empty()) {
    r.problem("lan.key_credential", "give either key_file or key_credential, not both");
  }
  r.duration("lan.interval", d.lanInterval, milliseconds(100), milliseconds(10'000));
  r.string("spool.dir", d.spoolDir);
  r.integer("spool.max_mb", d.spoolMaxMb, 1, 16384);
  std::string fsync = toString(d.fsync);
  r.string("spool.fsync", fsync);
  if (auto p = parseFsyncPolicy(fsync); p) d.fsync = *p;
  else r.problem("spool.fsync", p.message());
  std::string level = "info";
  r.choice("log.level", level, {"debug", "info", "warn", "error"});
  parseLogLevel(level, d.logLevel);
}

Result<GatewayConfig> fromFile(const ConfigFile& file) {
  GatewayConfig cfg;
  cfg.fileName = file.fileName();
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
    // The daemon names beacons the engine's way, lower-case: configured ids must compare equal.
    b.id = canonicalBeaconId(b.id);
    r.decimal(base + "measured_power_dbm", b.measuredPower.value, -120, 20);
    if (!b.id.empty() && !beaconIds.insert(b.id).second) {
      r.problem(base + "id", "beacon '" + b.id + "' listed twice");
    }
    z.beacons.push_back(std::move(b));
  }
  readDaemon(r, cfg);
  if (Status st = r.finish(); !st) return st.error();
  return cfg;
}

// Keys the fleet owns when the gateway runs from a bundle: each names the bundle field it comes from.
struct FleetOwnedKey {
  std::string_view key;  // exact key, or a section prefix ending in '.'
  std::string_view from;
};
constexpr FleetOwnedKey kFleetOwned[] = {
    {"gateway.store_id", "the bundle's store id"},
    {"gateway.scanner", "the bundle's gateway id"},
    {"bluez.adapter", "the bundle's gateways.adapter"},
    {"uplink.engine_url", "the bundle's uplink.engine_url"},
    {"uplink.key_id", "the bundle's gateways.key_id"},
    {"uplink.batch_max_delay", "the bundle's uplink.batch_max_delay"},
    {"uplink.batch_max_events", "the bundle's uplink.batch_max_events"},
    {"spool.max_mb", "the bundle's uplink.spool_max_mb"},
    {"zones.dwell_after", "the bundle's thresholds.dwell"},
    {"zones.switch_margin_db", "the bundle's thresholds.hysteresis_db"},
    {"zones.switch_after", "the bundle's thresholds.hysteresis_time"},
    {"zones.exit_max", "the bundle's thresholds.exit_timeout"},
    {"privacy.ibeacon_uuids", "the bundle's fobs plans"},
    {"lan.role", "the bundle's gateways.role"},
    {"lan.hub_url", "the bundle's hub gateways.address"},
    {"scanner.", "the bundle's gateways"},
    {"beacon.", "the bundle's fixed beacons"},
};

Result<GatewayConfig> localFromFile(const ConfigFile& file) {
  std::string problems;
  for (const ConfigEntry& e : file.entries()) {
    for (const FleetOwnedKey& k : kFleetOwned) {
      const bool prefix = k.key.back() == '.';
      if (prefix ? e.key.rfind(k.key, 0) == 0 : e.key == k.key) {
        problems += file.fileName() + ":" + std::to_string(e.line) + ": " + e.key +
                    ": set by the signed bundle (" + std::string(k.from) +
                    "); remove it from the local config\n";
        break;
      }
    }
  }
  if (!file.find("gateway.id")) {
    problems += file.fileName() + ": gateway.id: required with --bundle (the id the bundle is signed for)\n";
  }
  if (!problems.empty()) {
    problems.pop_back();
    return fail(problems);
  }
  return fromFile(file);
}

}  // namespace

Status checkDaemonConfig(const GatewayConfig& cfg) {
  const DaemonSettings& d = cfg.daemon;
  std::string problems;
  auto need = [&](bool ok, const char* key, const char* what) {
    if (!ok) problems += cfg.fileName + ": " + key + ": " + what + "\n";
  };
  need(d.storeId > 0, "gateway.store_id", "required to run the daemon");
  need(!d.engineUrl.empty(), "uplink.engine_url", "required to run the daemon");
  need(!d.keyId.empty(), "uplink.key_id", "required to run the daemon");
  need(!d.secretFile.empty() || !d.secretCredential.empty(), "uplink.secret_file",
       "required to run the daemon (or uplink.secret_credential)");
  need(!d.spoolDir.empty(), "spool.dir", "must not be empty");
  need(d.lanRole != "scanner" || !d.lanHubUrl.empty(), "lan.hub_url", "required for lan.role = \"scanner\"");
  need(d.lanRole == "both" || !d.lanKeyFile.empty() || !d.lanKeyCredential.empty(), "lan.key_file",
       "required for lan.role = \"scanner\" or \"hub\" (or lan.key_credential)");
  if (!cfg.zones.scanners.empty() && d.lanRole != "hub") {  // a hub-only Pi scans nothing itself
    bool listed = false;
    for (const ScannerSpec& s : cfg.zones.scanners) listed = listed || s.id == d.scanner;
    need(listed, "gateway.scanner", "the local scanner must be one of the [scanner.*] ids");
  }
  if (problems.empty()) return okStatus();
  problems.pop_back();
  return fail(problems);
}

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

Result<GatewayConfig> parseLocalGatewayConfig(std::string_view text, const std::string& fileName) {
  auto file = ConfigFile::parse(text, fileName);
  if (!file) return file.error();
  return localFromFile(*file);
}

Result<GatewayConfig> loadLocalGatewayConfig(const std::string& path) {
  auto file = ConfigFile::load(path);
  if (!file) return file.error();
  return localFromFile(*file);
}

}  // namespace aisle::gateway
