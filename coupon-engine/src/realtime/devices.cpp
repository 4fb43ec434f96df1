#include "aisle/engine/devices.h"

#include <Poco/JSON/Parser.h>

#include <sstream>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/engine/ingest.h"
#include "aisle/engine/realtime.h"
#include "db/device_repository.h"

namespace aisle::engine {
namespace {

using Obj = Poco::JSON::Object::Ptr;

Result<Obj> parseObject(const std::string& json) {
  try {
    auto v = Poco::JSON::Parser().parse(json);
    if (v.type() != typeid(Obj)) return fail("body must be a JSON object");
    return v.extract<Obj>();
  } catch (const Poco::Exception& e) {
    return fail("body is not valid JSON: " + e.message());
  }
}

template <typename T>
Result<std::optional<T>> optField(const Obj& o, const std::string& key, const std::string& where) {
  if (!o->has(key) || o->isNull(key)) return std::optional<T>();
  try {
    return std::optional<T>(o->getValue<T>(key));
  } catch (const Poco::Exception&) {
    return fail(where + "\"" + key + "\" has the wrong type");
  }
}

Result<Obj> optObject(const Obj& o, const std::string& key) {
  if (!o->has(key) || o->isNull(key)) return Obj();
  auto p = o->getObject(key);
  if (!p) return fail("\"" + key + "\" must be an object");
  return p;
}

// The iBeacon parts through the wire-format parser, so both paths agree on what a UUID is.
Status parseIbeacon(const std::string& uuid, std::int64_t major, std::int64_t minor, std::string& outUuid) {
  auto b = parseBeaconRef("ibeacon:" + uuid + ":" + std::to_string(major) + ":" + std::to_string(minor));
  if (!b) return b.error();
  outUuid = b->uuid;
  return okStatus();
}

std::string normalizedClaim(std::string_view code) {
  std::string n;
  for (char c : code)
    if (c != '-' && c != ' ') n += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return n;
}

DeviceError invalid(std::string m) { return {DeviceError::Kind::Invalid, std::move(m)}; }

std::string aadOf(std::int64_t member, std::int64_t device) {
  return "device:" + std::to_string(member) + ":" + std::to_string(device);
}

}  // namespace

std::string claimCodeSha256(std::string_view code) { return sha256Hex(normalizedClaim(code)); }

Result<DeviceRegistration> parseDeviceRegistration(const std::string& json) {
  auto o = parseObject(json);
  if (!o) return o.error();
  DeviceRegistration r;
  auto kind = optField<std::string>(*o, "kind", "");
  if (!kind) return kind.error();
  if (*kind) r.kind = **kind;
  if (r.kind != "android" && r.kind != "ios" && r.kind != "fob" && r.kind != "other") {
    return fail("\"kind\" must be android, ios, fob or other");
  }
  auto push = optObject(*o, "push");
  if (!push) return push.error();
  if (*push) {
    auto provider = optField<std::string>(*push, "provider", "push: ");
    auto token = optField<std::string>(*push, "token", "push: ");
    if (!provider) return provider.error();
    if (!token) return token.error();
    r.pushProvider = provider->value_or("fcm");
    if (*r.pushProvider != "fcm" && *r.pushProvider != "webhook" && *r.pushProvider != "sse") {
      return fail("push: \"provider\" must be fcm, webhook or sse");
    }
    if (*r.pushProvider == "fcm" && (!*token || (*token)->empty())) return fail("push: fcm needs a \"token\"");
    if (*token && (*token)->size() > 4096) return fail("push: \"token\" is longer than 4096 characters");
    r.pushToken = *token;
  }
  auto eid = optObject(*o, "eid");
  if (!eid) return eid.error();
  if (*eid) {
    EidRegistration e;
    auto pub = optField<std::string>(*eid, "beacon_public_key", "eid: ");
    auto ik = optField<std::string>(*eid, "identity_key", "eid: ");
    auto k = optField<int>(*eid, "k", "eid: ");
    auto t = optField<std::int64_t>(*eid, "beacon_time_s", "eid: ");
    if (!pub) return pub.error();
    if (!ik) return ik.error();
    if (!k) return k.error();
    if (!t) return t.error();
    if (pub->has_value() == ik->has_value()) return fail("eid: send exactly one of \"beacon_public_key\" and \"identity_key\"");
    if (*pub) {
      auto raw = fromHex(**pub);
      if (!raw || raw->size() != 32) return fail("eid: \"beacon_public_key\" must be 64 hex digits (an X25519 public key)");
      e.mode = EidRegistration::Mode::Exchange;
      e.beaconPublicKey = *raw;
    } else {
      auto key = parseIdentityKey(**ik);
      if (!key) return fail("eid: \"identity_key\": " + key.message());
      e.mode = EidRegistration::Mode::Upload;
      e.identityKey = *key;
    }
    e.k = k->value_or(10);
    if (e.k < 0 || e.k > 15) return fail("eid: \"k\" must be 0..15");
    if (*t && (**t < 0 || **t > 0xffffffffLL)) return fail("eid: \"beacon_time_s\" must be 0..2^32-1");
    e.beaconTimeS = *t;
    r.eid = e;
  }
  auto ib = optObject(*o, "ibeacon");
  if (!ib) return ib.error();
  if (*ib) {
    auto uuid = optField<std::string>(*ib, "uuid", "ibeacon: ");
    auto major = optField<std::int64_t>(*ib, "major", "ibeacon: ");
    auto minor = optField<std::int64_t>(*ib, "minor", "ibeacon: ");
    if (!uuid || !major || !minor) return fail("ibeacon: \"uuid\", \"major\" and \"minor\" have the wrong type");
    if (!*uuid || !*major || !*minor) return fail("ibeacon: needs \"uuid\", \"major\" and \"minor\"");
    std::string u;
    if (auto st = parseIbeacon(**uuid, **major, **minor, u); !st) return fail("ibeacon: " + st.message());
    r.ibeaconUuid = u;
    r.ibeaconMajor = static_cast<int>(**major);
    r.ibeaconMinor = static_cast<int>(**minor);
  }
  auto alt = optField<std::string>(*o, "altbeacon", "");
  if (!alt) return alt.error();
  if (*alt) {
    if ((*alt)->empty() || (*alt)->size() > 64) return fail("\"altbeacon\" must be 1..64 characters");
    r.altbeaconId = **alt;
  }
  auto claim = optField<std::string>(*o, "claim_code", "");
  if (!claim) return claim.error();
  if (*claim) {
    if (normalizedClaim(**claim).size() != 10) return fail("\"claim_code\" must look like ABCDE-FGHJK");
    if (r.eid || r.ibeaconUuid || r.altbeaconId) return fail("a \"claim_code\" brings the fob's own identity: send no eid, ibeacon or altbeacon with it");
    r.claimCode = **claim;
    r.kind = "fob";
  }
  if (!r.pushToken && !r.pushProvider && !r.eid && !r.ibeaconUuid && !r.altbeaconId && !r.claimCode) {
    return fail("nothing to register: send push, eid, ibeacon, altbeacon or claim_code");
  }
  return r;
}

Result<ConsentUpdate> parseConsentUpdate(const std::string& json) {
  auto o = parseObject(json);
  if (!o) return o.error();
  ConsentUpdate u;
  for (const auto& [key, value] : **o) {
    if (key == "source") {
      if (!value.isString()) return fail("\"source\" must be a string");
      u.source = value.toString();
      if (u.source.empty() || u.source.size() > 32) return fail("\"source\" must be 1..32 characters");
      continue;
    }
    if (key != "marketing" && key != "proximity" && key != "push") {
      return fail("unknown consent purpose \"" + key + "\" (marketing, proximity, push)");
    }
    if (!value.isBoolean()) return fail("\"" + key + "\" must be true or false");
    u.granted[key] = value.extract<bool>();
  }
  if (u.granted.empty()) return fail("no consent given: send marketing, proximity and/or push");
  return u;
}

Result<FobImport> parseFobImportLine(const std::string& line) {
  auto o = parseObject(line);
  if (!o) return o.error();
  FobImport f;
  auto kind = optField<std::string>(*o, "kind", "");
  auto ref = optField<std::string>(*o, "external_ref", "");
  auto type = optField<std::string>(*o, "type", "");
  auto claim = optField<std::string>(*o, "claim_code_sha256", "");
  if (!kind || !ref || !type || !claim) return fail("a field has the wrong type");
  if (*kind && **kind != "fob") return fail("\"kind\" must be \"fob\"");
  if (!*ref || (*ref)->empty()) return fail("missing \"external_ref\"");
  f.externalRef = **ref;
  if (!*claim || (*claim)->size() != 64 || !fromHex(**claim)) return fail("\"claim_code_sha256\" must be 64 hex digits");
  f.claimCodeSha256 = **claim;
  const std::string t = type->value_or(o->get()->has("eid_identity_key") ? "eddystone-eid" : "ibeacon");
  if (t == "eddystone-eid") {
    auto ik = optField<std::string>(*o, "eid_identity_key", "");
    auto k = optField<int>(*o, "eid_k", "");
    if (!ik || !*ik) return fail("missing \"eid_identity_key\"");
    if (!k) return k.error();
    auto key = parseIdentityKey(**ik);
    if (!key) return fail("\"eid_identity_key\": " + key.message());
    f.identityKey = *key;
    f.k = k->value_or(10);
    if (f.k < 0 || f.k > 15) return fail("\"eid_k\" must be 0..15");
  } else if (t == "ibeacon") {
    auto uuid = optField<std::string>(*o, "ibeacon_uuid", "");
    auto major = optField<std::int64_t>(*o, "ibeacon_major", "");
    auto minor = optField<std::int64_t>(*o, "ibeacon_minor", "");
    if (!uuid || !major || !minor || !*uuid || !*major || !*minor) return fail("ibeacon fobs need ibeacon_uuid, ibeacon_major and ibeacon_minor");
    std::string u;
    if (auto st = parseIbeacon(**uuid, **major, **minor, u); !st) return st.error();
    f.ibeaconUuid = u;
    f.ibeaconMajor = static_cast<int>(**major);
    f.ibeaconMinor = static_cast<int>(**minor);
  } else {
    return fail("\"type\" must be eddystone-eid or ibeacon");
  }
  return f;
}

std::string RegisteredDevice::json() const {
  std::ostringstream o;
  o << "{\"device_id\":" << deviceId;
  if (!resolverPublicKeyHex.empty()) o << ",\"resolver_public_key\":\"" << resolverPublicKeyHex << "\"";
  if (eidK) o << ",\"eid_k\":" << *eidK;
  if (eidTimeOffsetS) o << ",\"eid_time_offset_s\":" << *eidTimeOffsetS;
  o << "}";
  return o.str();
}

std::string FobImportSummary::json() const {
  return "{\"imported\":" + std::to_string(imported) + ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"rejected\":" + std::to_string(rejected) + "}";
}

DeviceService::DeviceService(PgPool& db, const Clock& clock, DeviceOptions options, Logger log, RealtimeService* realtime)
    : db_(db), clock_(clock), options_(std::move(options)), log_(std::move(log)), realtime_(realtime) {
  db_.onConnect(&DeviceRepository::prepare);
}

DeviceResult<RegisteredDevice> DeviceService::registerDevice(std::int64_t memberId, const DeviceRegistration& r) {
  RegisteredDevice out;
  std::optional<IdentityKey> ik;
  if (r.eid) {
    if (r.eid->mode == EidRegistration::Mode::Upload) {
      ik = r.eid->identityKey;
    } else {
      // The exchange of the Eddystone-EID spec: our (resolver) key pair and the beacon's public key
      // give both sides the same identity key, which never crosses the wire.
      std::string priv;
      if (options_.resolverPrivate) {
        priv = *options_.resolverPrivate;
      } else {
        priv = *fromHex(randomHex(32));
      }
      auto pub = x25519PublicKey(priv);
      auto key = deriveIdentityKey(priv, r.eid->beaconPublicKey);
      if (!pub || !key) return invalid("eid: the beacon public key is not a usable X25519 key");
      ik = *key;
      out.resolverPublicKeyHex = toHex(*pub);
    }
    out.eidK = r.eid->k;
    out.eidTimeOffsetS = r.eid->beaconTimeS ? *r.eid->beaconTimeS - clock_.nowUnixMs() / 1000 : 0;
  }
  std::optional<EidDevice> resolvable;
  auto lease = db_.lease();
  auto result = lease->run([&](pqxx::connection& c) -> DeviceResult<RegisteredDevice> {
    pqxx::work tx(c);
    if (!DeviceRepository::memberExists(tx, memberId)) return DeviceError{DeviceError::Kind::NotFound, "unknown member"};
    DeviceRow d;
    d.memberId = memberId;
    d.kind = r.kind;
    d.pushProvider = r.pushProvider;
    d.pushToken = r.pushToken;
    RegisteredDevice reg = out;
    std::optional<IdentityKey> key = ik;
    if (r.claimCode) {
      auto fob = DeviceRepository::unclaimedFobForUpdate(tx, claimCodeSha256(*r.claimCode));
      if (!fob) return DeviceError{DeviceError::Kind::NotFound, "no unclaimed key-fob has this claim code"};
      // The fob moves from member 0 to the shopper under its own device id; its key is re-sealed
      // because the seal is bound to the row (member and device).
      if (fob->eidKeyEnc) {
        auto plain = openAesGcm(options_.masterKey, *fob->eidKeyEnc, aadOf(0, fob->deviceId));
        if (!plain || plain->size() != 16) throw std::runtime_error("imported fob key does not open with the master key");
        IdentityKey k{};
        std::copy(plain->begin(), plain->end(), k.begin());
        key = k;
      }
      DeviceRepository::deleteUnclaimed(tx, fob->deviceId);
      d.deviceId = fob->deviceId;
      d.eidK = fob->eidK;
      d.eidTimeOffsetS = fob->eidTimeOffsetS;
      d.ibeaconUuid = fob->ibeaconUuid;
      d.ibeaconMajor = fob->ibeaconMajor;
      d.ibeaconMinor = fob->ibeaconMinor;
      d.altbeaconId = fob->altbeaconId;
      d.externalRef = fob->externalRef;
      reg.eidK = fob->eidK;
      reg.eidTimeOffsetS = fob->eidTimeOffsetS;
    } else {
      d.deviceId = DeviceRepository::nextDeviceId(tx);
      d.eidK = reg.eidK;
      d.eidTimeOffsetS = reg.eidTimeOffsetS;
      if (r.ibeaconUuid) {
        d.ibeaconUuid = r.ibeaconUuid;
        d.ibeaconMajor = r.ibeaconMajor;
        d.ibeaconMinor = r.ibeaconMinor;
      }
      d.altbeaconId = r.altbeaconId;
    }
    if (key) {
      auto sealed = sealAesGcm(options_.masterKey, std::string(key->begin(), key->end()), aadOf(memberId, d.deviceId));
      if (!sealed) throw std::runtime_error("sealing an identity key: " + sealed.message());
      d.eidKeyEnc = *sealed;
    }
    DeviceRepository::insert(tx, d);
    tx.commit();
    reg.deviceId = d.deviceId;
    if (key) resolvable = EidDevice{memberId, d.deviceId, *key, d.eidK.value_or(10), d.eidTimeOffsetS.value_or(0)};
    return reg;
  });
  // After the commit: the resolver must never know a device the database does not.
  if (resolvable && realtime_) realtime_->addEidDevice(*resolvable);
  if (auto* ok = std::get_if<RegisteredDevice>(&result)) {
    log_.with("member", std::to_string(memberId)).info("device " + std::to_string(ok->deviceId) + " registered (" + r.kind + ")");
  }
  return result;
}

DeviceResult<bool> DeviceService::revoke(std::int64_t memberId, std::int64_t deviceId) {
  auto lease = db_.lease();
  const bool done = lease->run([&](pqxx::connection& c) {
    pqxx::work tx(c);
    const bool n = DeviceRepository::revoke(tx, memberId, deviceId);
    tx.commit();
    return n;
  });
  if (!done) return DeviceError{DeviceError::Kind::NotFound, "no such device"};
  if (realtime_) realtime_->forgetEidDevice(deviceId);
  log_.with("member", std::to_string(memberId)).info("device " + std::to_string(deviceId) + " revoked");
  return true;
}

DeviceResult<std::string> DeviceService::updateConsents(std::int64_t memberId, const ConsentUpdate& u) {
  auto lease = db_.lease();
  return lease->run([&](pqxx::connection& c) -> DeviceResult<std::string> {
    pqxx::work tx(c);
    if (!DeviceRepository::memberExists(tx, memberId)) return DeviceError{DeviceError::Kind::NotFound, "unknown member"};
    auto now = DeviceRepository::currentConsents(tx, memberId);
    for (const auto& [purpose, granted] : u.granted) {
      auto it = now.find(purpose);
      // History rows record changes: re-sending the same state adds nothing.
      if (it != now.end() && it->second == granted) continue;
      DeviceRepository::addConsent(tx, memberId, purpose, granted, u.source);
      now[purpose] = granted;
    }
    tx.commit();
    std::string js = "{";
    for (const char* p : {"marketing", "proximity", "push"}) {
      js += std::string(js.size() > 1 ? "," : "") + "\"" + p + "\":" + (now.count(p) && now.at(p) ? "true" : "false");
    }
    return js + "}";
  });
}

FobImportSummary DeviceService::importFobs(std::istream& in) {
  FobImportSummary s;
  std::string line;
  auto lease = db_.lease();
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto fob = parseFobImportLine(line);
    if (!fob) {
      ++s.rejected;
      s.problems.push_back("line " + std::to_string(n) + ": " + fob.message());
      continue;
    }
    // One transaction per fob: a bad line later in the file keeps the good ones, and a re-run of
    // the same file imports nothing twice (external_ref).
    const bool fresh = lease->run([&](pqxx::connection& c) {
      pqxx::work tx(c);
      if (DeviceRepository::fobImported(tx, fob->externalRef)) return false;
      DeviceRow d;
      d.memberId = 0;
      d.deviceId = DeviceRepository::nextDeviceId(tx);
      d.kind = "fob";
      d.externalRef = fob->externalRef;
      d.claimCodeSha256 = fob->claimCodeSha256;
      if (fob->identityKey) {
        auto sealed = sealAesGcm(options_.masterKey, std::string(fob->identityKey->begin(), fob->identityKey->end()),
                                 aadOf(0, d.deviceId));
        if (!sealed) throw std::runtime_error("sealing an identity key: " + sealed.message());
        d.eidKeyEnc = *sealed;
        d.eidK = fob->k;
        d.eidTimeOffsetS = 0;  // fwconfig programs fobs with unix time
      }
      if (fob->ibeaconUuid) {
        d.ibeaconUuid = fob->ibeaconUuid;
        d.ibeaconMajor = fob->ibeaconMajor;
        d.ibeaconMinor = fob->ibeaconMinor;
      }
      DeviceRepository::insert(tx, d);
      tx.commit();
      return true;
    });
    ++(fresh ? s.imported : s.duplicates);
  }
  return s;
}

}  // namespace aisle::engine
