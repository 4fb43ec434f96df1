#include "aisle/fwconfig/fleet.h"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>

#include "aisle/fwconfig/bundle.h"
#include "toml_reader.h"

namespace aisle::fwconfig {

using detail::Diagnostics;
using detail::Need;
using detail::TableReader;

SourcePos KeyPositions::at(const std::string& key) const {
  auto it = keys_.find(key);
  return it != keys_.end() ? it->second : table_;
}

const char* roleName(GatewayRole role) {
  switch (role) {
    case GatewayRole::Scanner:
      return "scanner";
    case GatewayRole::Hub:
      return "hub";
    case GatewayRole::Both:
      return "both";
  }
  return "?";
}

const char* beaconTypeName(BeaconType type) {
  switch (type) {
    case BeaconType::IBeacon:
      return "ibeacon";
    case BeaconType::AltBeacon:
      return "altbeacon";
    case BeaconType::EddystoneUid:
      return "eddystone-uid";
    case BeaconType::EddystoneEid:
      return "eddystone-eid";
  }
  return "?";
}

const char* zoneKindName(ZoneKind kind) {
  switch (kind) {
    case ZoneKind::Entrance:
      return "entrance";
    case ZoneKind::Aisle:
      return "aisle";
    case ZoneKind::Checkout:
      return "checkout";
    case ZoneKind::Other:
      return "other";
  }
  return "?";
}

const char* planPurposeName(PlanPurpose purpose) {
  switch (purpose) {
    case PlanPurpose::Fobs:
      return "fobs";
    case PlanPurpose::Fixed:
      return "fixed";
    case PlanPurpose::Reserved:
      return "reserved";
  }
  return "?";
}

const Store* Fleet::store(StoreId id) const {
  for (const auto& s : stores)
    if (s.id == id) return &s;
  return nullptr;
}

const Zone* Fleet::zone(StoreId storeId, std::string_view name) const {
  for (const auto& z : zones)
    if (z.store == storeId && z.name == name) return &z;
  return nullptr;
}

std::string Diagnostic::str() const {
  return file + ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ": " + message +
         " (hint: " + hint + ")";
}

std::optional<std::string> canonicalUuid(std::string_view text) {
  std::string hex;
  for (char c : text) {
    if (c == '-') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  if (hex.size() != 32) return std::nullopt;
  // Dashes are optional on input but, when present, must be where RFC 4122 puts them.
  if (text.size() != 32 && (text.size() != 36 || text[8] != '-' || text[13] != '-' ||
                            text[18] != '-' || text[23] != '-'))
    return std::nullopt;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string formatDuration(std::chrono::milliseconds d) {
  const std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

namespace {

constexpr std::int64_t kMaxId = 9'007'199'254'740'991;  // 2^53-1: survives JSON numbers everywhere

const char* kHintStoreRef = "the id of a store defined in [[stores]]";
const char* kHintUuid =
    "an iBeacon proximity UUID such as \"f7826da6-4fa2-4e98-8024-bc5b71e0893e\"";

bool isHex(std::string_view s, std::size_t digits) {
  return s.size() == digits && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isxdigit(static_cast<unsigned char>(c)) != 0;
         });
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An IANA name is "UTC" or Area/Location[/Sub]; the file is checked without the zoneinfo database
// so `check` gives the same answer on every machine.
bool looksLikeTimeZone(const std::string& tz) {
  if (tz == "UTC") return true;
  const auto slash = tz.find('/');
  if (slash == std::string::npos || slash == 0 || tz.back() == '/') return false;
  if (!std::isupper(static_cast<unsigned char>(tz[0]))) return false;
  return std::all_of(tz.begin(), tz.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
           c == '+';
  });
}

// An id used in file names, URLs and log context: keep it to a safe alphabet.
bool isSlug(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  }) && s[0] != '.';
}

void readSlug(TableReader& r, const std::string& key, std::string& out, const std::string& hint) {
  if (r.string(key, out, Need::Required, hint) && !isSlug(out)) {
    r.problem(key,
              key + " = \"" + out + "\" has characters other than letters, digits, '-', '_', '.'",
              hint + "; it names files and appears in URLs");
    out.clear();
  }
}

void readThresholds(TableReader& r, Thresholds& t) {
  using L = ThresholdLimits;
  r.duration("dwell", t.dwell, L::kDwellMin, L::kDwellMax, Need::Optional,
             "seconds in a zone before a dwell event, e.g. \"20s\"");
  r.duration("exit_timeout", t.exitTimeout, L::kExitMin, L::kExitMax, Need::Optional,
             "time without sightings before an exit event, e.g. \"30s\"");
  r.number("hysteresis_db", t.hysteresisDb, L::kHysteresisDbMin, L::kHysteresisDbMax,
           Need::Optional,
           "how many dB closer a challenging scanner must be before a beacon changes zone");
  r.duration("hysteresis_time", t.hysteresisTime, L::kHysteresisTimeMin, L::kHysteresisTimeMax,
             Need::Optional,
             "how long a challenger must stay closer before a zone change, e.g. \"5s\"");
  r.finish();
}

bool readStoreRef(TableReader& r, StoreId& out) {
  std::int64_t id = 0;
  if (!r.integer("store", id, 1, kMaxId, Need::Required, kHintStoreRef)) return false;
  out = StoreId(id);
  return true;
}

template <typename T, typename F>
void readArray(TableReader& root, const std::string& key, Diagnostics& diags, std::vector<T>& out,
               const std::string& hint, F readOne) {
  const toml::array* arr = root.tableArray(key, Need::Optional, hint);
  if (!arr) return;
  int index = 0;
  for (const auto& node : *arr) {
    ++index;
    T item;
    TableReader r(*node.as_table(), "[[" + key + "]] #" + std::to_string(index), diags, &item.pos);
    readOne(r, item);
    r.finish();
    out.push_back(std::move(item));
  }
}

void readStore(TableReader& r, Store& s, const Thresholds& chainDefaults) {
  std::int64_t id = 0;
  if (r.integer("id", id, 1, kMaxId, Need::Required,
                "a positive integer, the store's stores.store_id"))
    r.setLabel("store " + std::to_string(id));
  s.id = StoreId(id);
  r.string("name", s.name, Need::Required, "the store's name as shoppers know it");
  if (r.string("time_zone", s.timeZone, Need::Required,
               "an IANA time zone name such as \"Europe/Berlin\"") &&
      !looksLikeTimeZone(s.timeZone)) {
    r.problem("time_zone", "time_zone = \"" + s.timeZone + "\" is not an IANA time zone name",
              "write Area/Location such as \"America/Chicago\" or \"UTC\", not an abbreviation or "
              "offset");
  }
  s.thresholds = chainDefaults;
  if (const toml::table* t =
          r.table("thresholds", Need::Optional, "per-store threshold overrides")) {
    TableReader tr(*t, r.label() + " [thresholds]", r.diagnostics(), nullptr);
    readThresholds(tr, s.thresholds);
  }
}

}  // namespace

FleetCheck parseFleet(std::string_view text, const std::string& fileName) {
  return detail::parseFleetDocument(text, fileName, nullptr);
}

FleetCheck detail::parseFleetDocument(std::string_view text, const std::string& fileName,
                                      BundleMeta* meta) {
  FleetCheck out;
  Diagnostics diags(fileName, out.problems);
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(fileName));
  } catch (const toml::parse_error& e) {
    diags.add(detail::posOf(e.source()), "TOML syntax error: " + std::string(e.description()),
              "see https://toml.io/en/v1.0.0; nothing else is checked until the file parses");
    return out;
  }
  Fleet& f = out.fleet;
  TableReader r(root, "fleet", diags, nullptr);
  r.number("schema", f.schema, 1, 1, Need::Optional,
           "the fleet file format version; only 1 exists");
  if (meta) {
    if (const toml::table* b =
            r.table("bundle", Need::Required, "a bundle payload starts with [bundle]")) {
      TableReader br(*b, "[bundle]", diags, nullptr);
      br.integer("version", meta->version, 1, kMaxBundleVersion, Need::Required,
                 "the bundle version");
      br.string("gateway", meta->gatewayId, Need::Required, "the gateway this bundle is for");
      br.string("fleet_sha256", meta->fleetSha256, Need::Optional,
                "SHA-256 of the source fleet file");
      br.finish();
    }
  }

  if (const toml::table* chain =
          r.table("chain", Need::Required, "a [chain] table with the chain's name")) {
    TableReader cr(*chain, "[chain]", diags, nullptr);
    cr.string("name", f.chainName, Need::Required, "the chain's name, shown in bundles and logs");
    cr.finish();
  }
  if (const toml::table* t = r.table("thresholds", Need::Optional, "chain-wide zone thresholds")) {
    TableReader tr(*t, "[thresholds]", diags, nullptr);
    readThresholds(tr, f.thresholds);
  }
  if (const toml::table* u =
          r.table("uplink", Need::Required,
                  "an [uplink] table with engine_url, where gateways send events")) {
    TableReader ur(*u, "[uplink]", diags, &f.uplink.pos);
    bool plainHttpAllowed = false;
    ur.boolean("allow_plain_http", plainHttpAllowed, Need::Optional,
               "true only in a lab: events would travel unencrypted");
    if (ur.string("engine_url", f.uplink.engineUrl, Need::Required,
                  "the coupon engine's base URL, e.g. \"https://engine.example.com\"")) {
      const std::string& url = f.uplink.engineUrl;
      const bool https = url.rfind("https://", 0) == 0 && url.size() > 8;
      const bool http = url.rfind("http://", 0) == 0 && url.size() > 7;
      if (!https && !(http && plainHttpAllowed)) {
        ur.problem("engine_url",
                   http ? "engine_url = \"" + url + "\" is plain HTTP"
                        : "engine_url = \"" + url + "\" is not an http(s) URL",
                   http ? "use https://, or set allow_plain_http = true in [uplink] for a lab setup"
                        : "write the engine's base URL, e.g. \"https://engine.example.com\"");
      }
    }
    ur.duration("batch_max_delay", f.uplink.batchMaxDelay, std::chrono::milliseconds(100),
                std::chrono::seconds(60), Need::Optional,
                "longest wait before a batch is sent, e.g. \"1s\"");
    ur.number("batch_max_events", f.uplink.batchMaxEvents, 1, 10'000, Need::Optional,
              "most zone events in one POST");
    std::int64_t spoolMb = f.uplink.spoolMaxBytes / (1024 * 1024);
    if (ur.integer("spool_max_mb", spoolMb, 1, 16'384, Need::Optional,
                   "disk the gateway may use for undelivered events, in MiB"))
      f.uplink.spoolMaxBytes = spoolMb * 1024 * 1024;
    ur.finish();
  }

  readArray(r, "stores", diags, f.stores, "one [[stores]] table per store",
            [&](TableReader& sr, Store& s) { readStore(sr, s, f.thresholds); });

  readArray(
      r, "zones", diags, f.zones, "one [[zones]] table per zone", [](TableReader& zr, Zone& z) {
        std::int64_t id = 0;
        if (zr.integer("id", id, 1, kMaxId, Need::Required,
                       "a positive integer, the zone's zones.zone_id"))
          zr.setLabel("zone " + std::to_string(id));
        z.id = id;
        readStoreRef(zr, z.store);
        zr.string("name", z.name, Need::Required, "the zone's name, unique within its store");
        zr.choice("kind", z.kind,
                  {{"entrance", ZoneKind::Entrance},
                   {"aisle", ZoneKind::Aisle},
                   {"checkout", ZoneKind::Checkout},
                   {"other", ZoneKind::Other}},
                  Need::Optional);
        zr.stringList("categories", z.categories, Need::Optional,
                      "product category names as in the catalog, e.g. [\"Dairy\", \"Cheese\"]");
      });

  readArray(r, "gateways", diags, f.gateways, "one [[gateways]] table per Raspberry Pi",
            [](TableReader& gr, Gateway& g) {
              readSlug(gr, "id", g.id, "a short unique name such as \"gw-101-a\"");
              if (!g.id.empty()) gr.setLabel("gateway '" + g.id + "'");
              readStoreRef(gr, g.store);
              gr.choice("role", g.role,
                        {{"scanner", GatewayRole::Scanner},
                         {"hub", GatewayRole::Hub},
                         {"both", GatewayRole::Both}},
                        Need::Required);
              gr.string("adapter", g.adapter, Need::Optional,
                        "the Bluetooth adapter, e.g. \"hci0\"");
              gr.string("zone", g.zone, scans(g.role) ? Need::Required : Need::Optional,
                        "the name of the zone this scanner covers (a zone of the same store)");
              gr.string("placement", g.placement, Need::Optional,
                        "where the installer mounts the Pi, e.g. \"ceiling above aisle 3\"");
              gr.number("rssi_offset_db", g.rssiOffsetDb, -30, 30, Need::Optional,
                        "calibration added to this scanner's RSSI, in dB");
              readSlug(gr, "key_id", g.keyId, "the uplink HMAC key id, unique per gateway");
              gr.string("address", g.address, Need::Optional,
                        "host:port where this hub listens for its store's scanners");
            });

  readArray(
      r, "beacons", diags, f.beacons, "one [[beacons]] table per fixed beacon",
      [](TableReader& br, Beacon& b) {
        readSlug(br, "id", b.id, "a short unique name such as \"b-101-entrance\"");
        if (!b.id.empty()) br.setLabel("beacon '" + b.id + "'");
        readStoreRef(br, b.store);
        br.string("zone", b.zone, Need::Required,
                  "the name of the zone where the beacon is mounted");
        const bool typed = br.choice("type", b.type,
                                     {{"ibeacon", BeaconType::IBeacon},
                                      {"altbeacon", BeaconType::AltBeacon},
                                      {"eddystone-uid", BeaconType::EddystoneUid},
                                      {"eddystone-eid", BeaconType::EddystoneEid}},
                                     Need::Required);
        br.number("measured_power", b.measuredPower, -100, 0, Need::Required,
                  "dBm at 1 m (iBeacon, AltBeacon) or 0 m (Eddystone), from the beacon's settings");
        br.boolean("tlm", b.expectTlm, Need::Optional,
                   "true when the beacon also sends Eddystone-TLM (battery, temperature)");
        br.explainKey("uuid", "'uuid', 'major' and 'minor' belong to ibeacon beacons");
        br.explainKey("major", "'uuid', 'major' and 'minor' belong to ibeacon beacons");
        br.explainKey("minor", "'uuid', 'major' and 'minor' belong to ibeacon beacons");
        br.explainKey("beacon_id", "'beacon_id' belongs to altbeacon beacons");
        br.explainKey("namespace", "'namespace' and 'instance' belong to eddystone-uid beacons");
        br.explainKey("instance", "'namespace' and 'instance' belong to eddystone-uid beacons");
        br.explainKey("k", "'k' belongs to eddystone-eid beacons");
        if (!typed) return;
        switch (b.type) {
          case BeaconType::IBeacon:
            if (br.string("uuid", b.uuid, Need::Required, kHintUuid)) {
              if (auto u = canonicalUuid(b.uuid))
                b.uuid = *u;
              else
                br.problem("uuid", "uuid = \"" + b.uuid + "\" is not a UUID", kHintUuid);
            }
            br.number("major", b.major, 0, 65535, Need::Required, "the iBeacon major number");
            br.number("minor", b.minor, 0, 65535, Need::Required, "the iBeacon minor number");
            break;
          case BeaconType::AltBeacon:
            if (br.string("beacon_id", b.beaconId, Need::Required, "20 bytes as 40 hex digits")) {
              if (isHex(b.beaconId, 40))
                b.beaconId = lower(b.beaconId);
              else
                br.problem("beacon_id", "beacon_id is not 40 hex digits",
                           "20 bytes as 40 hex digits");
            }
            break;
          case BeaconType::EddystoneUid:
            if (br.string("namespace", b.namespaceId, Need::Required,
                          "10 bytes as 20 hex digits")) {
              if (isHex(b.namespaceId, 20))
                b.namespaceId = lower(b.namespaceId);
              else
                br.problem("namespace", "namespace is not 20 hex digits",
                           "10 bytes as 20 hex digits");
            }
            if (br.string("instance", b.instanceId, Need::Required, "6 bytes as 12 hex digits")) {
              if (isHex(b.instanceId, 12))
                b.instanceId = lower(b.instanceId);
              else
                br.problem("instance", "instance is not 12 hex digits", "6 bytes as 12 hex digits");
            }
            break;
          case BeaconType::EddystoneEid:
            br.number("k", b.rotationExponent, 0, 15, Need::Required,
                      "the EID rotation exponent K: a new EID every 2^K seconds");
            break;
        }
      });

  readArray(r, "ibeacon_plans", diags, f.plans,
            "one [[ibeacon_plans]] table per reserved block of iBeacon numbers",
            [](TableReader& pr, IBeaconPlan& p) {
              readSlug(pr, "id", p.id, "a short unique name such as \"fobs-2024\"");
              if (!p.id.empty()) pr.setLabel("iBeacon plan '" + p.id + "'");
              if (pr.string("uuid", p.uuid, Need::Required, kHintUuid)) {
                if (auto u = canonicalUuid(p.uuid))
                  p.uuid = *u;
                else
                  pr.problem("uuid", "uuid = \"" + p.uuid + "\" is not a UUID", kHintUuid);
              }
              pr.range("major", p.majorLo, p.majorHi, Need::Required,
                       "a major number or an inclusive [first, last] range");
              pr.range("minor", p.minorLo, p.minorHi, Need::Required,
                       "a minor number or an inclusive [first, last] range");
              pr.choice("purpose", p.purpose,
                        {{"fobs", PlanPurpose::Fobs},
                         {"fixed", PlanPurpose::Fixed},
                         {"reserved", PlanPurpose::Reserved}},
                        Need::Required);
              if (pr.present("store")) {
                StoreId s;
                if (readStoreRef(pr, s)) p.store = s;
              }
            });
  r.finish();
  return out;
}

}  // namespace aisle::fwconfig
