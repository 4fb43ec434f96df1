#include "aisle/fwconfig/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "aisle/common/hmac.h"

namespace aisle::fwconfig {
namespace {

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* k) {
  return std::shared_ptr<EVP_PKEY>(k, EVP_PKEY_free);
}

std::string opensslError() {
  const unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

BioPtr memBio(std::string_view data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())), BIO_free);
}

std::string drain(BIO* bio) {
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  return std::string(p, static_cast<std::size_t>(n));
}

bool isEd25519(const EVP_PKEY* k) {
  return EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519;
}

// OpenSSL's default callback would prompt on the terminal for an encrypted key; a batch tool must
// fail instead.
int noPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return 0;
}

}  // namespace

Result<PublicKey> PublicKey::fromPem(std::string_view pem) {
  auto bio = memBio(pem);
  EVP_PKEY* k = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
  if (!k) return fail("not a PEM public key: " + opensslError());
  auto key = own(k);
  if (!isEd25519(k)) return fail("the public key is not an Ed25519 key");
  return PublicKey(std::move(key));
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  // Ed25519 hashes internally, so no digest is named and the message is passed in one call.
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1) {
    ERR_clear_error();
    return false;
  }
  const int rc = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
      reinterpret_cast<const unsigned char*>(message.data()), message.size());
  ERR_clear_error();
  return rc == 1;
}

std::string PublicKey::fingerprint() const {
  unsigned char raw[32];
  std::size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1)
    throw std::runtime_error(opensslError());
  return sha256Hex(std::string_view(reinterpret_cast<const char*>(raw), len)).substr(0, 16);
}

std::string PublicKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PUBKEY(bio.get(), key_.get()) != 1) throw std::runtime_error(opensslError());
  return drain(bio.get());
}

Result<PrivateKey> PrivateKey::generate() {
  EVP_PKEY* k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (!k) return fail("Ed25519 key generation failed: " + opensslError());
  return PrivateKey(own(k));
}

Result<PrivateKey> PrivateKey::fromPem(std::string_view pem) {
  auto bio = memBio(pem);
  EVP_PKEY* k = PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr);
  if (!k) return fail("not an unencrypted PEM private key: " + opensslError());
  auto key = own(k);
  if (!isEd25519(k)) return fail("the private key is not an Ed25519 key");
  return PrivateKey(std::move(key));
}

std::string PrivateKey::sign(std::string_view message) const {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::string sig(64, '\0');
  std::size_t len = sig.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    // A loaded Ed25519 key that cannot sign is a broken invariant, not bad input.
    throw std::runtime_error("Ed25519 signing failed: " + opensslError());
  }
  sig.resize(len);
  return sig;
}

PublicKey PrivateKey::publicKey() const {
  unsigned char raw[32];
  std::size_t len = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &len) != 1)
    throw std::runtime_error(opensslError());
  EVP_PKEY* k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, raw, len);
  if (!k) throw std::runtime_error(opensslError());
  return PublicKey(own(k));
}

std::string PrivateKey::pem() const {
  BioPtr bio(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    throw std::runtime_error(opensslError());
  return drain(bio.get());
}

}  // namespace aisle::fwconfig
