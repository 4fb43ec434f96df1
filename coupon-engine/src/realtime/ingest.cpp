#include "aisle/engine/ingest.h"

#include <Poco/JSON/Parser.h>

#include <cmath>

#include "aisle/common/parse.h"
#include "aisle/engine/eid.h"

namespace aisle::engine {
namespace {

bool isHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::string> uuidOf(const std::string& s) {
  std::string hex;
  for (char c : s) {
    if (c == '-') continue;
    if (!isHex(c)) return fail("'" + s + "' is not a UUID");
    hex.push_back(c);
  }
  if (hex.size() != 32) return fail("'" + s + "' is not a UUID");
  hex = lower(hex);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" + hex.substr(20);
}

template <typename T>
Result<T> get(const Poco::JSON::Object::Ptr& o, const std::string& key, const std::string& where) {
  if (!o->has(key)) return fail(where + ": missing \"" + key + "\"");
  try {
    return o->getValue<T>(key);
  } catch (const Poco::Exception&) {
    return fail(where + ": \"" + key + "\" has the wrong type");
  }
}

Result<Poco::JSON::Object::Ptr> parseObject(const std::string& json) {
  try {
    auto v = Poco::JSON::Parser().parse(json);
    if (v.type() != typeid(Poco::JSON::Object::Ptr)) return fail("body must be a JSON object");
    return v.extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception& e) {
    return fail("body is not valid JSON: " + e.message());
  }
}

Status checkTime(std::int64_t tMs, std::int64_t nowMs, const IngestLimits& l, const std::string& where) {
  if (std::llabs(tMs - nowMs) > l.maxSkewMs) return fail(where + ": t_ms is more than a day away from the server's clock");
  return okStatus();
}

}  // namespace

Result<BeaconRef> parseBeaconRef(const std::string& text) {
  BeaconRef b;
  const auto colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  if (kind == "eid") {
    auto e = parseEid(rest);
    if (!e) return fail("beacon '" + text + "': " + e.message());
    b.kind = BeaconRef::Kind::Eid;
    b.eid = *e;
    return b;
  }
  if (kind == "ibeacon") {
    const auto c1 = rest.find(':');
    const auto c2 = rest.find(':', c1 == std::string::npos ? c1 : c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) return fail("beacon '" + text + "': expected ibeacon:<uuid>:<major>:<minor>");
    auto uuid = uuidOf(rest.substr(0, c1));
    auto major = parseNumber<int>(rest.substr(c1 + 1, c2 - c1 - 1), 0, 65535);
    auto minor = parseNumber<int>(rest.substr(c2 + 1), 0, 65535);
    if (!uuid || !major || !minor) return fail("beacon '" + text + "': expected ibeacon:<uuid>:<major 0..65535>:<minor 0..65535>");
    b.kind = BeaconRef::Kind::IBeacon;
    b.uuid = *uuid;
    b.major = *major;
    b.minor = *minor;
    return b;
  }
  if (kind == "altbeacon" && !rest.empty() && rest.size() <= 64) {
    b.kind = BeaconRef::Kind::AltBeacon;
    b.altId = lower(rest);
    return b;
  }
  return fail("beacon '" + text + "': expected eid:, ibeacon: or altbeacon: followed by the id");
}

Result<ProximityBatch> parseProximityBatch(const std::string& json, std::int64_t nowMs, const IngestLimits& limits) {
  auto root = parseObject(json);
  if (!root) return root.error();
  const auto& o = *root;
  ProximityBatch batch;
  auto gw = get<std::string>(o, "gateway_id", "batch");
  if (!gw) return gw.error();
  batch.gatewayId = *gw;
  auto store = get<std::int64_t>(o, "store_id", "batch");
  if (!store) return store.error();
  batch.storeId = *store;
  if (!o->has("events") || !o->isArray("events")) return fail("batch: \"events\" must be an array");
  auto events = o->getArray("events");
  if (events->size() > limits.maxEvents) {
    return fail("batch: " + std::to_string(events->size()) + " events; at most " + std::to_string(limits.maxEvents) + " per request");
  }
  for (std::size_t i = 0; i < events->size(); ++i) {
    const std::string where = "events[" + std::to_string(i) + "]";
    if (!events->isObject(static_cast<unsigned>(i))) return fail(where + ": must be an object");
    auto e = events->getObject(static_cast<unsigned>(i));
    ZoneEventIn ev;
    auto id = get<std::string>(e, "event_id", where);
    if (!id) return id.error();
    if (id->empty() || id->size() > 128) return fail(where + ": event_id must be 1..128 characters");
    ev.eventId = *id;
    auto type = get<std::string>(e, "type", where);
    if (!type) return type.error();
    if (!parseZoneEventType(*type, ev.type) || ev.type == ZoneEventType::Sighting) {
      return fail(where + ": type must be enter, dwell or exit");
    }
    if (e->has("zone") && !e->isNull("zone")) {
      auto zone = get<std::string>(e, "zone", where);
      if (!zone) return zone.error();
      ev.zone = *zone;
    }
    auto beacon = get<std::string>(e, "beacon", where);
    if (!beacon) return beacon.error();
    auto ref = parseBeaconRef(*beacon);
    if (!ref) return fail(where + ": " + ref.message());
    ev.beacon = *ref;
    auto t = get<std::int64_t>(e, "t_ms", where);
    if (!t) return t.error();
    if (auto st = checkTime(*t, nowMs, limits, where); !st) return st.error();
    ev.tMs = *t;
    if (e->has("confidence")) {
      auto c = get<double>(e, "confidence", where);
      if (!c || !std::isfinite(*c) || *c < 0 || *c > 1) return fail(where + ": confidence must be a number in [0, 1]");
      ev.confidence = *c;
    }
    batch.events.push_back(std::move(ev));
  }
  return batch;
}

Result<AppSighting> parseAppSighting(const std::string& json, std::int64_t nowMs, const IngestLimits& limits) {
  auto root = parseObject(json);
  if (!root) return root.error();
  const auto& o = *root;
  AppSighting s;
  auto store = get<std::int64_t>(o, "store_id", "sighting");
  if (!store) return store.error();
  s.storeId = *store;
  auto beacon = get<std::string>(o, "beacon", "sighting");
  if (!beacon) return beacon.error();
  s.beacon = *beacon;
  auto t = get<std::int64_t>(o, "t_ms", "sighting");
  if (!t) return t.error();
  if (auto st = checkTime(*t, nowMs, limits, "sighting"); !st) return st.error();
  s.tMs = *t;
  if (o->has("zone")) {
    auto z = get<std::string>(o, "zone", "sighting");
    if (!z) return z.error();
    s.zone = *z;
  }
  if (o->has("sighting_id")) {
    auto id = get<std::string>(o, "sighting_id", "sighting");
    if (!id || id->empty() || id->size() > 128) return fail("sighting: sighting_id must be 1..128 characters");
    s.sightingId = *id;
  }
  return s;
}

}  // namespace aisle::engine
