#include "aisle/engine/eid.h"

#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <algorithm>
#include <memory>
#include <thread>

#include "aisle/common/hmac.h"

namespace aisle::engine {

Result<IdentityKey> parseIdentityKey(std::string_view hex) {
  auto raw = fromHex(hex);
  if (!raw) return fail("identity key: " + raw.message());
  if (raw->size() != 16) return fail("identity key must be 16 bytes (32 hex digits)");
  IdentityKey ik{};
  std::copy(raw->begin(), raw->end(), ik.begin());
  return ik;
}

std::uint64_t eidToU64(const EidBytes& eid) {
  std::uint64_t v = 0;
  for (auto b : eid) v = (v << 8) | b;
  return v;
}

Result<std::uint64_t> parseEid(std::string_view hex16) {
  auto raw = fromHex(hex16);
  if (!raw || raw->size() != 8) return fail("an EID is 8 bytes (16 hex digits)");
  EidBytes e{};
  std::copy(raw->begin(), raw->end(), e.begin());
  return eidToU64(e);
}

std::string eidHex(std::uint64_t eid) {
  std::string raw(8, '\0');
  for (int i = 7; i >= 0; --i, eid >>= 8) raw[static_cast<std::size_t>(i)] = static_cast<char>(eid & 0xff);
  return toHex(raw);
}

EidBytes EidComputer::compute(const IdentityKey& ik, int k, std::uint32_t t) {
  // Temporary key: AES128(IK, 00*11 || FF || 00 00 || t[31:24] || t[23:16]).
  std::array<std::uint8_t, 16> block{};
  block[11] = 0xff;
  block[14] = static_cast<std::uint8_t>(t >> 24);
  block[15] = static_cast<std::uint8_t>(t >> 16);
  const auto tempKey = aes_.encrypt(ik, block);
  // EID: AES128(temp key, 00*11 || K || t with its low K bits cleared, big endian)[0:8].
  const std::uint32_t masked = k >= 32 ? 0 : (t >> k) << k;
  block = {};
  block[11] = static_cast<std::uint8_t>(k);
  block[12] = static_cast<std::uint8_t>(masked >> 24);
  block[13] = static_cast<std::uint8_t>(masked >> 16);
  block[14] = static_cast<std::uint8_t>(masked >> 8);
  block[15] = static_cast<std::uint8_t>(masked);
  const auto full = aes_.encrypt(tempKey, block);
  EidBytes eid{};
  std::copy_n(full.begin(), 8, eid.begin());
  return eid;
}

namespace {
using Pkey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
}  // namespace

Result<std::string> x25519PublicKey(std::string_view private32) {
  if (private32.size() != 32) return fail("an X25519 private key is 32 bytes");
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(private32), 32), &EVP_PKEY_free);
  std::string pub(32, '\0');
  std::size_t len = 32;
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pub.data()), &len) != 1) {
    return fail("X25519 public key derivation failed");
  }
  return pub;
}

Result<IdentityKey> deriveIdentityKey(std::string_view resolverPrivate32, std::string_view beaconPublic32) {
  if (resolverPrivate32.size() != 32 || beaconPublic32.size() != 32) return fail("X25519 keys are 32 bytes");
  auto resolverPublic = x25519PublicKey(resolverPrivate32);
  if (!resolverPublic) return resolverPublic.error();
  Pkey priv(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(resolverPrivate32), 32), &EVP_PKEY_free);
  Pkey peer(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u8(beaconPublic32), 32), &EVP_PKEY_free);
  if (!priv || !peer) return fail("invalid X25519 key");
  PkeyCtx dctx(EVP_PKEY_CTX_new(priv.get(), nullptr), &EVP_PKEY_CTX_free);
  unsigned char shared[32];
  std::size_t sharedLen = sizeof shared;
  if (!dctx || EVP_PKEY_derive_init(dctx.get()) != 1 || EVP_PKEY_derive_set_peer(dctx.get(), peer.get()) != 1 ||
      EVP_PKEY_derive(dctx.get(), shared, &sharedLen) != 1) {
    return fail("X25519 key agreement failed");
  }
  const std::string salt = *resolverPublic + std::string(beaconPublic32);
  PkeyCtx hctx(EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr), &EVP_PKEY_CTX_free);
  unsigned char okm[32];
  std::size_t okmLen = sizeof okm;
  if (!hctx || EVP_PKEY_derive_init(hctx.get()) != 1 || EVP_PKEY_CTX_set_hkdf_md(hctx.get(), EVP_sha256()) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_salt(hctx.get(), u8(salt), static_cast<int>(salt.size())) != 1 ||
      EVP_PKEY_CTX_set1_hkdf_key(hctx.get(), shared, static_cast<int>(sharedLen)) != 1 ||
      EVP_PKEY_derive(hctx.get(), okm, &okmLen) != 1) {
    return fail("HKDF-SHA256 failed");
  }
  IdentityKey ik{};
  std::copy_n(okm, 16, ik.begin());
  return ik;
}

void EidResolver::rebuild(const std::vector<EidDevice>& devices, std::int64_t nowUnixS, unsigned threads) {
  const std::size_t perDevice = static_cast<std::size_t>(2 * window_ + 1);
  std::vector<Entry> table(devices.size() * perDevice);
  std::vector<std::pair<std::int64_t, std::int64_t>> ids(devices.size());
  threads = std::max(1u, threads);
  auto work = [&](std::size_t begin, std::size_t end) {
    EidComputer eid;  // one OpenSSL context per thread
    for (std::size_t i = begin; i < end; ++i) {
      const auto& d = devices[i];
      ids[i] = {d.memberId, d.deviceId};
      const std::int64_t beaconNow = nowUnixS + d.clockOffsetS;
      const std::int64_t period = std::int64_t{1} << d.k;
      for (int delta = -window_; delta <= window_; ++delta) {
        const std::int64_t t = std::max<std::int64_t>(0, beaconNow + delta * period);
        table[i * perDevice + static_cast<std::size_t>(delta + window_)] =
            Entry{eidToU64(eid.compute(d.identityKey, d.k, static_cast<std::uint32_t>(t))),
                  static_cast<std::uint32_t>(i), delta};
      }
    }
  };
  std::vector<std::thread> pool;
  const std::size_t chunk = (devices.size() + threads - 1) / threads;
  for (unsigned t = 1; t < threads; ++t) {
    const std::size_t b = std::min(devices.size(), t * chunk);
    pool.emplace_back(work, b, std::min(devices.size(), b + chunk));
  }
  work(0, std::min(devices.size(), chunk));
  for (auto& th : pool) th.join();
  std::sort(table.begin(), table.end());
  table_ = std::move(table);
  ids_ = std::move(ids);
}

std::optional<EidMatch> EidResolver::resolve(std::uint64_t eid) const {
  auto it = std::lower_bound(table_.begin(), table_.end(), Entry{eid, 0, 0});
  if (it == table_.end() || it->eid != eid) return std::nullopt;
  // Two devices sharing an 8-byte EID in one window is a 2^-64-ish event; prefer the exact period.
  auto best = it;
  for (auto j = it; j != table_.end() && j->eid == eid; ++j)
    if (j->delta == 0) best = j;
  const auto& [member, device] = ids_[best->device];
  return EidMatch{member, device, best->delta};
}

}  // namespace aisle::engine
