#pragma once
// Eddystone-EID (google/eddystone eddystone-eid/eid-computation.md): a beacon broadcasts an 8-byte
// ephemeral id that rotates every 2^K seconds; only a resolver that holds the beacon's 16-byte
// identity key can map it back to the device (and so the member). Pure: time is passed in.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/crypto.h"
#include "aisle/common/result.h"

namespace aisle::engine {

using IdentityKey = std::array<std::uint8_t, 16>;
using EidBytes = std::array<std::uint8_t, 8>;

Result<IdentityKey> parseIdentityKey(std::string_view hex);
std::uint64_t eidToU64(const EidBytes& eid);
Result<std::uint64_t> parseEid(std::string_view hex16);
std::string eidHex(std::uint64_t eid);

class EidComputer {
 public:
  // The EID a beacon with identity key `ik` and rotation exponent `k` (0..15) shows at beacon time t.
  EidBytes compute(const IdentityKey& ik, int k, std::uint32_t beaconTimeS);

 private:
  Aes128Block aes_;
};

// The Eddystone-EID registration exchange: identity key = HKDF-SHA256(salt = resolver public key ||
// beacon public key, ikm = X25519(resolver private, beacon public))[0:16].
Result<IdentityKey> deriveIdentityKey(std::string_view resolverPrivate32, std::string_view beaconPublic32);
// The X25519 public key of a private key (32 raw bytes each).
Result<std::string> x25519PublicKey(std::string_view private32);

struct EidDevice {
  std::int64_t memberId = 0;
  std::int64_t deviceId = 0;
  IdentityKey identityKey{};
  int k = 10;
  std::int64_t clockOffsetS = 0;  // beacon time = server unix time + offset
};

struct EidMatch {
  std::int64_t memberId;
  std::int64_t deviceId;
  int periodDelta;  // 0: the beacon's current period; +-1: its clock drifted by a period
};

// Maps observed EIDs to registered devices. rebuild() precomputes every device's EIDs for the
// rotation periods around now (beacon clocks drift), so a lookup is one hash-free binary search.
class EidResolver {
 public:
  explicit EidResolver(int windowPeriods = 1) : window_(windowPeriods) {}
  // Recomputes the table for server time `nowUnixS`, on `threads` threads.
  void rebuild(const std::vector<EidDevice>& devices, std::int64_t nowUnixS, unsigned threads = 1);
  std::optional<EidMatch> resolve(std::uint64_t eid) const;
  std::size_t size() const { return table_.size(); }

 private:
  struct Entry {
    std::uint64_t eid;
    std::uint32_t device;
    std::int32_t delta;
    bool operator<(const Entry& o) const { return eid < o.eid; }
  };
  int window_;
  std::vector<Entry> table_;
  std::vector<std::pair<std::int64_t, std::int64_t>> ids_;  // device index -> (member, device)
};

}  // namespace aisle::engine
