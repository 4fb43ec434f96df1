#pragma once
// Devices and consents through the shopper API: push tokens and beacon identities (Eddystone-EID by
// the X25519 + HKDF exchange or an identity key uploaded over TLS, iBeacon, AltBeacon), key-fobs
// imported from `aisleone-fwconfig provision` and claimed with the code printed on their label, and
// consent changes. Parsing is pure; DeviceService writes through DeviceRepository and tells the
// real-time service, so a new device resolves at once and a revoked one stops resolving at once.
#include <cstdint>
#include <istream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "aisle/common/clock.h"
#include "aisle/common/log.h"
#include "aisle/common/pg.h"
#include "aisle/common/result.h"
#include "aisle/engine/eid.h"

namespace aisle::engine {

class RealtimeService;

struct EidRegistration {
  enum class Mode { Exchange, Upload } mode = Mode::Exchange;
  std::string beaconPublicKey;  // 32 raw bytes (Exchange): the beacon's X25519 public key
  IdentityKey identityKey{};    // Upload: the key itself
  int k = 10;                   // rotation exponent: a new EID every 2^k seconds
  std::optional<std::int64_t> beaconTimeS;  // the beacon's clock when registered (default: unix time)
};

// POST /v1/devices:
// {"kind":"android|ios|fob|other", "push":{"provider":"fcm","token":"..."},
//  "eid":{"beacon_public_key":"<64 hex>" | "identity_key":"<32 hex>", "k":10, "beacon_time_s":N},
//  "ibeacon":{"uuid":"...","major":1,"minor":2}, "altbeacon":"<id>", "claim_code":"ABCDE-FGHJK"}
// A claim code takes over an imported key-fob and excludes the other identities.
struct DeviceRegistration {
  std::string kind = "android";
  std::optional<std::string> pushProvider;  // fcm | webhook | sse
  std::optional<std::string> pushToken;
  std::optional<EidRegistration> eid;
  std::optional<std::string> ibeaconUuid;  // lower case, with dashes
  int ibeaconMajor = 0;
  int ibeaconMinor = 0;
  std::optional<std::string> altbeaconId;
  std::optional<std::string> claimCode;
};
Result<DeviceRegistration> parseDeviceRegistration(const std::string& json);

// PUT /v1/members/{member}/consents: {"marketing":true,"proximity":true,"push":false,"source":"app"}
struct ConsentUpdate {
  std::map<std::string, bool> granted;  // purpose -> granted, only the purposes sent
  std::string source = "app";
};
Result<ConsentUpdate> parseConsentUpdate(const std::string& json);

// One line of `batch-NNNN-import.jsonl` (firmware-config/FWCONFIG.md "Key-fob provisioning").
struct FobImport {
  std::string externalRef;
  std::optional<IdentityKey> identityKey;  // eddystone-eid fobs
  int k = 10;
  std::optional<std::string> ibeaconUuid;  // ibeacon fobs
  int ibeaconMajor = 0;
  int ibeaconMinor = 0;
  std::string claimCodeSha256;  // hex; the code itself never reaches the engine
};
Result<FobImport> parseFobImportLine(const std::string& line);
// The label's code as fwconfig hashes it: dashes and spaces removed, upper case, SHA-256 hex.
std::string claimCodeSha256(std::string_view code);

struct DeviceError {
  enum class Kind { Invalid, NotFound, Conflict } kind = Kind::Invalid;
  std::string message;
};
template <typename T>
using DeviceResult = std::variant<T, DeviceError>;

struct RegisteredDevice {
  std::int64_t deviceId = 0;
  std::string resolverPublicKeyHex;  // the EID exchange's answer, written into the beacon
  std::optional<int> eidK;
  std::optional<std::int64_t> eidTimeOffsetS;
  std::string json() const;
};

struct FobImportSummary {
  int imported = 0;
  int duplicates = 0;
  int rejected = 0;
  std::vector<std::string> problems;  // "line N: why"
  std::string json() const;
};

struct DeviceOptions {
  std::string masterKey;                       // 32 bytes: seals identity keys at rest
  std::optional<std::string> resolverPrivate;  // 32 bytes; without one, a fresh pair per device
};

class DeviceService {
 public:
  // `realtime` may be null (the import command): then no resolver is told.
  DeviceService(PgPool& db, const Clock& clock, DeviceOptions options, Logger log, RealtimeService* realtime);

  DeviceResult<RegisteredDevice> registerDevice(std::int64_t memberId, const DeviceRegistration& r);
  // Revokes the member's own device; NotFound for someone else's or an unknown one.
  DeviceResult<bool> revoke(std::int64_t memberId, std::int64_t deviceId);
  // Appends a history row per purpose whose state changes; returns the current states as JSON.
  DeviceResult<std::string> updateConsents(std::int64_t memberId, const ConsentUpdate& u);
  // Unclaimed fobs belong to the anonymous member 0 until a shopper claims them.
  FobImportSummary importFobs(std::istream& in);

 private:
  PgPool& db_;
  const Clock& clock_;
  DeviceOptions options_;
  Logger log_;
  RealtimeService* realtime_;
};

}  // namespace aisle::engine
