#include "aisle/common/crypto.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace aisle {
namespace {
constexpr int kNonce = 12;
constexpr int kTag = 16;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
CipherCtx newCtx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }
const unsigned char* u8(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
}  // namespace

Result<std::string> sealAesGcm(std::string_view key32, std::string_view plaintext, std::string_view aad) {
  if (key32.size() != 32) return fail("AES-256-GCM key must be 32 bytes");
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(o, kNonce) != 1) return fail("no randomness for the nonce");
  auto ctx = newCtx();
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key32), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonce, &len, u8(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, o + kNonce + plaintext.size()) != 1) {
    return fail("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> openAesGcm(std::string_view key32, std::string_view sealed, std::string_view aad) {
  if (key32.size() != 32) return fail("AES-256-GCM key must be 32 bytes");
  if (sealed.size() < kNonce + kTag) return fail("sealed value is too short");
  const std::size_t n = sealed.size() - kNonce - kTag;
  std::string out(n, '\0');
  auto ctx = newCtx();
  int len = 0;
  std::string tag(sealed.substr(kNonce + n));
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u8(key32), u8(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, u8(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len, u8(sealed) + kNonce,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return fail("sealed value does not authenticate (wrong key, wrong row, or tampered)");
  }
  return out;
}

struct Aes128Block::Ctx {
  CipherCtx c = newCtx();
};

Aes128Block::Aes128Block() : ctx_(std::make_unique<Ctx>()) {
  if (!ctx_->c || EVP_EncryptInit_ex(ctx_->c.get(), EVP_aes_128_ecb(), nullptr, nullptr, nullptr) != 1) {
    throw std::runtime_error("AES-128-ECB is unavailable");
  }
  EVP_CIPHER_CTX_set_padding(ctx_->c.get(), 0);
}

Aes128Block::~Aes128Block() = default;

std::array<std::uint8_t, 16> Aes128Block::encrypt(const std::array<std::uint8_t, 16>& key,
                                                  const std::array<std::uint8_t, 16>& block) {
  std::array<std::uint8_t, 16> out{};
  int len = 0;
  if (EVP_EncryptInit_ex(ctx_->c.get(), nullptr, nullptr, key.data(), nullptr) != 1 ||
      EVP_EncryptUpdate(ctx_->c.get(), out.data(), &len, block.data(), 16) != 1) {
    throw std::runtime_error("AES-128 block encryption failed");
  }
  return out;
}

}  // namespace aisle
