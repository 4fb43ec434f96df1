#include "aisle/fwconfig/bundle.h"

#include <algorithm>
#include <sstream>

#include "aisle/common/json.h"

#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"
#include "toml_reader.h"

namespace aisle::fwconfig {
namespace {

// A TOML basic string: the JSON escaper's output is one.
std::string quote(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

class TomlWriter {
 public:
  void comment(std::string_view text) { out_ << "# " << text << "\n"; }
  void table(std::string_view name) { out_ << "\n[" << name << "]\n"; }
  void arrayTable(std::string_view name) { out_ << "\n[[" << name << "]]\n"; }
  void str(std::string_view key, std::string_view v) { out_ << key << " = " << quote(v) << "\n"; }
  void optStr(std::string_view key, std::string_view v) {
    if (!v.empty()) str(key, v);
  }
  void num(std::string_view key, std::int64_t v) { out_ << key << " = " << v << "\n"; }
  void boolean(std::string_view key, bool v) {
    out_ << key << " = " << (v ? "true" : "false") << "\n";
  }
  void range(std::string_view key, int lo, int hi) {
    out_ << key << " = [" << lo << ", " << hi << "]\n";
  }
  void list(std::string_view key, const std::vector<std::string>& items) {
    out_ << key << " = [";
    for (std::size_t i = 0; i < items.size(); ++i) out_ << (i ? ", " : "") << quote(items[i]);
    out_ << "]\n";
  }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string summarize(const std::vector<Diagnostic>& problems) {
  std::string m = problems.front().str();
  if (problems.size() > 1) m += " (and " + std::to_string(problems.size() - 1) + " more)";
  return m;
}

}  // namespace

const Gateway& GatewaySlice::self() const {
  for (const auto& g : fleet.gateways)
    if (g.id == meta.gatewayId) return g;
  // parsePayload refuses a payload without its own gateway, so this is a broken invariant.
  throw std::logic_error("bundle has no gateway '" + meta.gatewayId + "'");
}

Fleet sliceFor(const Fleet& fleet, const Gateway& gateway) {
  Fleet s;
  s.schema = fleet.schema;
  s.chainName = fleet.chainName;
  s.uplink = fleet.uplink;
  for (const auto& st : fleet.stores)
    if (st.id == gateway.store) s.stores.push_back(st);
  // The slice has one store, so its effective thresholds become the slice's chain-wide ones.
  s.thresholds = s.stores.empty() ? fleet.thresholds : s.stores.front().thresholds;
  for (const auto& z : fleet.zones)
    if (z.store == gateway.store) s.zones.push_back(z);
  for (const auto& g : fleet.gateways)
    if (g.store == gateway.store) s.gateways.push_back(g);
  for (const auto& b : fleet.beacons)
    if (b.store == gateway.store) s.beacons.push_back(b);
  // Fobs roam between stores, so every store's gateways need every fob plan; which store issued
  // the fobs does not matter to a gateway (and would name a store outside the slice).
  for (auto p : fleet.plans) {
    if (p.purpose != PlanPurpose::Fobs) continue;
    p.store.reset();
    s.plans.push_back(std::move(p));
  }
  return s;
}

std::string writeFleet(const Fleet& f, const BundleMeta* meta) {
  TomlWriter w;
  if (meta)
    w.comment("aisleone gateway bundle payload, written by aisleone-fwconfig render: do not edit");
  w.num("schema", f.schema);
  if (meta) {
    w.table("bundle");
    w.num("version", meta->version);
    w.str("gateway", meta->gatewayId);
    w.optStr("fleet_sha256", meta->fleetSha256);
  }
  w.table("chain");
  w.str("name", f.chainName);
  w.table("thresholds");
  w.str("dwell", formatDuration(f.thresholds.dwell));
  w.str("exit_timeout", formatDuration(f.thresholds.exitTimeout));
  w.num("hysteresis_db", f.thresholds.hysteresisDb);
  w.str("hysteresis_time", formatDuration(f.thresholds.hysteresisTime));
  w.table("uplink");
  w.str("engine_url", f.uplink.engineUrl);
  if (f.uplink.engineUrl.rfind("http://", 0) == 0) w.boolean("allow_plain_http", true);
  w.str("batch_max_delay", formatDuration(f.uplink.batchMaxDelay));
  w.num("batch_max_events", f.uplink.batchMaxEvents);
  w.num("spool_max_mb", f.uplink.spoolMaxBytes / (1024 * 1024));
  for (const auto& s : f.stores) {
    w.arrayTable("stores");
    w.num("id", s.id.value());
    w.str("name", s.name);
    w.str("time_zone", s.timeZone);
  }
  for (const auto& z : f.zones) {
    w.arrayTable("zones");
    w.num("id", z.id);
    w.num("store", z.store.value());
    w.str("name", z.name);
    w.str("kind", zoneKindName(z.kind));
    w.list("categories", z.categories);
  }
  for (const auto& g : f.gateways) {
    w.arrayTable("gateways");
    w.str("id", g.id);
    w.num("store", g.store.value());
    w.str("role", roleName(g.role));
    w.str("adapter", g.adapter);
    w.optStr("zone", g.zone);
    w.optStr("placement", g.placement);
    w.num("rssi_offset_db", g.rssiOffsetDb);
    w.str("key_id", g.keyId);
    w.optStr("address", g.address);
  }
  for (const auto& b : f.beacons) {
    w.arrayTable("beacons");
    w.str("id", b.id);
    w.num("store", b.store.value());
    w.str("zone", b.zone);
    w.str("type", beaconTypeName(b.type));
    switch (b.type) {
      case BeaconType::IBeacon:
        w.str("uuid", b.uuid);
        w.num("major", b.major);
        w.num("minor", b.minor);
        break;
      case BeaconType::AltBeacon:
        w.str("beacon_id", b.beaconId);
        break;
      case BeaconType::EddystoneUid:
        w.str("namespace", b.namespaceId);
        w.str("instance", b.instanceId);
        break;
      case BeaconType::EddystoneEid:
        w.num("k", b.rotationExponent);
        break;
    }
    w.num("measured_power", b.measuredPower);
    w.boolean("tlm", b.expectTlm);
  }
  for (const auto& p : f.plans) {
    w.arrayTable("ibeacon_plans");
    w.str("id", p.id);
    w.str("uuid", p.uuid);
    w.range("major", p.majorLo, p.majorHi);
    w.range("minor", p.minorLo, p.minorHi);
    w.str("purpose", planPurposeName(p.purpose));
    if (p.store) w.num("store", p.store->value());
  }
  return w.text();
}

std::string renderPayload(const Fleet& fleet, const Gateway& gateway, const BundleMeta& meta) {
  return writeFleet(sliceFor(fleet, gateway), &meta);
}

Result<GatewaySlice> parsePayload(std::string_view payload) {
  GatewaySlice c;
  FleetCheck check = detail::parseFleetDocument(payload, "payload", &c.meta);
  if (check.problems.empty()) check.problems = validateFleet(check.fleet, "payload");
  if (!check.problems.empty())
    return fail("bundle payload is invalid: " + summarize(check.problems));
  c.fleet = std::move(check.fleet);
  if (c.fleet.stores.size() != 1)
    return fail("bundle payload has " + std::to_string(c.fleet.stores.size()) + " stores, not one");
  const bool hasSelf = std::any_of(c.fleet.gateways.begin(), c.fleet.gateways.end(),
                                   [&](const Gateway& g) { return g.id == c.meta.gatewayId; });
  if (!hasSelf)
    return fail("bundle payload does not describe its own gateway '" + c.meta.gatewayId + "'");
  return c;
}

std::string signBundle(std::string_view payload, const PrivateKey& key) {
  std::string message(kBundleMagic);
  message.append(payload);
  std::string out(kBundleMagic);
  out += "key " + key.publicKey().fingerprint() + "\n";
  out += "signature " + toHex(key.sign(message)) + "\n";
  out += "payload-bytes " + std::to_string(payload.size()) + "\n\n";
  out.append(payload);
  return out;
}

Result<Bundle> openBundle(std::string_view bytes, const PublicKey& key) {
  if (bytes.substr(0, kBundleMagic.size()) != kBundleMagic)
    return fail("not an aisleone bundle (the first line is not 'aisleone-bundle 1')");
  std::size_t at = kBundleMagic.size();
  // Reads the next header line "<name> <value>\n", in the fixed order the format defines.
  auto field = [&](std::string_view name) -> Result<std::string> {
    const std::size_t nl = bytes.find('\n', at);
    if (nl == std::string_view::npos) return fail("bundle header is truncated");
    const std::string_view line = bytes.substr(at, nl - at);
    at = nl + 1;
    if (line.size() <= name.size() + 1 || line.substr(0, name.size()) != name ||
        line[name.size()] != ' ')
      return fail("bundle header: expected '" + std::string(name) + " ...', got '" +
                  std::string(line.substr(0, 40)) + "'");
    return std::string(line.substr(name.size() + 1));
  };
  Bundle b;
  auto fp = field("key");
  if (!fp) return fp.error();
  auto sigHex = field("signature");
  if (!sigHex) return sigHex.error();
  auto size = field("payload-bytes");
  if (!size) return size.error();
  if (bytes.substr(at, 1) != "\n")
    return fail("bundle header: missing the empty line before the payload");
  ++at;
  auto n = parseNumber<std::size_t>(*size, 0, 16 * 1024 * 1024);
  if (!n) return fail("bundle header: payload-bytes " + n.message());
  if (bytes.size() - at != *n)
    return fail("bundle payload is " + std::to_string(bytes.size() - at) +
                " bytes, the header says " + std::to_string(*n) + " (truncated or appended to)");
  b.keyFingerprint = *fp;
  if (b.keyFingerprint != key.fingerprint())
    return fail("bundle is signed by key " + b.keyFingerprint + ", but the trusted key is " +
                key.fingerprint());
  auto sig = fromHex(*sigHex);
  if (!sig || sig->size() != 64) return fail("bundle header: signature is not 128 hex digits");
  b.payload = std::string(bytes.substr(at));
  std::string message(kBundleMagic);
  message += b.payload;
  if (!key.verify(message, *sig)) return fail("bundle signature is not valid: refusing it");
  auto config = parsePayload(b.payload);
  if (!config) return config.error();
  b.config = std::move(*config);
  return b;
}

Result<Bundle> loadBundle(std::string_view bytes, const PublicKey& key, std::int64_t currentVersion,
                          std::string_view expectedGatewayId) {
  auto b = openBundle(bytes, key);
  if (!b) return b;
  if (!expectedGatewayId.empty() && b->config.meta.gatewayId != expectedGatewayId)
    return fail("bundle is for gateway '" + b->config.meta.gatewayId + "', this is '" +
                std::string(expectedGatewayId) + "'");
  if (b->version() < currentVersion)
    return fail("bundle version " + std::to_string(b->version()) +
                " is older than the running version " + std::to_string(currentVersion) +
                " (rollback refused)");
  return b;
}

}  // namespace aisle::fwconfig
