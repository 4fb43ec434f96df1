#pragma once
// Symmetric crypto used across services, over OpenSSL: AES-256-GCM for secrets at rest (EID identity
// keys, gateway secrets) and AES-128 single-block encryption for Eddystone-EID.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "aisle/common/result.h"

namespace aisle {

// AES-256-GCM with a random 12-byte nonce. The output is nonce || ciphertext || 16-byte tag, and
// `aad` (e.g. "device:42") binds the ciphertext to the row it belongs to, so a value copied into
// another row does not decrypt.
Result<std::string> sealAesGcm(std::string_view key32, std::string_view plaintext, std::string_view aad);
Result<std::string> openAesGcm(std::string_view key32, std::string_view sealed, std::string_view aad);

// Reusable AES-128-ECB single-block encryptor: one OpenSSL context re-keyed per call, because
// Eddystone-EID needs two fresh keys per identity and rotation and context setup dominates otherwise.
class Aes128Block {
 public:
  Aes128Block();
  ~Aes128Block();
  Aes128Block(const Aes128Block&) = delete;
  Aes128Block& operator=(const Aes128Block&) = delete;
  std::array<std::uint8_t, 16> encrypt(const std::array<std::uint8_t, 16>& key,
                                       const std::array<std::uint8_t, 16>& block);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace aisle
