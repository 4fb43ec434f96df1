#pragma once
// Per-gateway bundles: the gateway's slice of the fleet, versioned and signed with Ed25519.
//
// File format (one file per gateway, `<gateway-id>.bundle`):
// clang-format off
//   aisleone-bundle 1\n             magic and format version
//   key <16 hex>\n                  fingerprint of the signing public key (PublicKey::fingerprint)
//   signature <128 hex>\n           Ed25519 over "aisleone-bundle 1\n" followed by the payload
//   payload-bytes <N>\n
//   \n
//   <exactly N bytes of payload>
// clang-format on
//
// The payload is itself a fleet file (same schema, same parser, same validator) restricted to the
// gateway's store, plus a [bundle] table carrying version, gateway id and the source fleet's
// SHA-256. Everything a gateway acts on is inside the signed payload; the header only helps find
// the key.
#include <cstdint>
#include <string>
#include <string_view>

#include "aisle/common/result.h"
#include "aisle/fwconfig/fleet.h"
#include "aisle/fwconfig/signing.h"

namespace aisle::fwconfig {

inline constexpr std::string_view kBundleMagic = "aisleone-bundle 1\n";
inline constexpr std::int64_t kMaxBundleVersion = 9'007'199'254'740'991;

struct BundleMeta {
  std::int64_t version = 0;
  std::string gatewayId;
  std::string fleetSha256;  // of the fleet file the bundle was rendered from, for traceability
};

// What a gateway runs with: its own store's zones, gateways, fixed beacons, the chain's fob plans,
// effective thresholds and the uplink.
struct GatewaySlice {
  BundleMeta meta;
  Fleet fleet;  // exactly one store
  const Gateway& self() const;
  const Store& store() const { return fleet.stores.front(); }
};

// The slice of `fleet` for one of its gateways. The fleet must have passed checkFleet.
Fleet sliceFor(const Fleet& fleet, const Gateway& gateway);
// Deterministic TOML text: the same fleet, gateway and version always give the same bytes.
std::string writeFleet(const Fleet& fleet, const BundleMeta* meta);
std::string renderPayload(const Fleet& fleet, const Gateway& gateway, const BundleMeta& meta);
// Parses and validates a payload; any problem at all refuses it.
Result<GatewaySlice> parsePayload(std::string_view payload);

std::string signBundle(std::string_view payload, const PrivateKey& key);

struct Bundle {
  std::string keyFingerprint;
  std::string payload;
  GatewaySlice config;
  std::int64_t version() const { return config.meta.version; }
};

// Checks the signature only (what `verify` does); the payload is parsed but versions are not
// compared.
Result<Bundle> openBundle(std::string_view bytes, const PublicKey& key);

// What the gateway calls on a new bundle: refuses a bad signature, a payload that does not
// validate, a bundle for another gateway (when expectedGatewayId is given) and a version older than
// currentVersion (rollback protection). The same version is accepted so a restart can reload it.
Result<Bundle> loadBundle(std::string_view bytes, const PublicKey& key, std::int64_t currentVersion,
                          std::string_view expectedGatewayId = {});

}  // namespace aisle::fwconfig
