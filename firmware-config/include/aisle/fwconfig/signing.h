#pragma once
// Ed25519 keys for bundle signatures (OpenSSL EVP_PKEY_ED25519). Keys are PEM: PKCS#8 for the
// private key, SubjectPublicKeyInfo for the public one, so `openssl pkey` can inspect both.
#include <memory>
#include <string>
#include <string_view>

#include "aisle/common/result.h"

struct evp_pkey_st;

namespace aisle::fwconfig {

class PublicKey {
 public:
  static Result<PublicKey> fromPem(std::string_view pem);
  bool verify(std::string_view message, std::string_view signature) const;
  // First 16 hex digits of SHA-256 over the raw 32-byte key: names the key in bundle headers.
  std::string fingerprint() const;
  std::string pem() const;

 private:
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  friend class PrivateKey;
  std::shared_ptr<evp_pkey_st> key_;
};

class PrivateKey {
 public:
  static Result<PrivateKey> generate();
  static Result<PrivateKey> fromPem(std::string_view pem);
  std::string sign(std::string_view message) const;  // 64 raw bytes
  PublicKey publicKey() const;
  std::string pem() const;

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {}
  std::shared_ptr<evp_pkey_st> key_;
};

}  // namespace aisle::fwconfig
