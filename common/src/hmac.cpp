#include "aisle/common/hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "aisle/common/parse.h"

namespace aisle {

std::string toHex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

Result<std::string> fromHex(std::string_view hex) {
  if (hex.size() % 2) return fail("hex string has an odd length");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = nibble(hex[i]);
    const int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return fail("'" + std::string(hex.substr(i, 2)) + "' is not hex");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::string sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("EVP_Digest(sha256) failed");
  }
  return toHex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len)) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomHex(std::size_t bytes) {
  std::string buf(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), static_cast<int>(bytes)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return toHex(buf);
}

std::string canonicalRequest(std::string_view method, std::string_view path, std::int64_t tsMs,
                             std::string_view nonce, std::string_view body) {
  std::string s;
  s.append(method).append("\n").append(path).append("\n").append(std::to_string(tsMs));
  s.append("\n").append(nonce).append("\n").append(sha256Hex(body));
  return s;
}

Result<SignedRequest> parseAuthorization(std::string_view header) {
  static constexpr std::string_view kScheme = "AISLE-HMAC-SHA256 ";
  if (header.substr(0, kScheme.size()) != kScheme) return fail("authorization scheme must be AISLE-HMAC-SHA256");
  SignedRequest r;
  std::string_view rest = header.substr(kScheme.size());
  bool haveTs = false;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const auto eq = part.find('=');
    if (eq == std::string_view::npos) return fail("malformed authorization parameter '" + std::string(part) + "'");
    const std::string_view k = part.substr(0, eq);
    const std::string_view v = part.substr(eq + 1);
    if (k == "key") r.keyId = v;
    else if (k == "nonce") r.nonce = v;
    else if (k == "sig") r.signatureHex = v;
    else if (k == "ts") {
      auto ts = parseNumber<std::int64_t>(v, 0);
      if (!ts) return fail("authorization timestamp: " + ts.message());
      r.timestampMs = *ts;
      haveTs = true;
    }
  }
  if (r.keyId.empty() || !haveTs || r.nonce.size() < 16 || r.signatureHex.size() != 64) {
    return fail("authorization needs key, ts, nonce (>= 16 hex digits) and sig (64 hex digits)");
  }
  return r;
}

std::string RequestSigner::sign(std::string_view method, std::string_view path, std::string_view body) const {
  const std::int64_t ts = clock_.nowUnixMs();
  const std::string nonce = randomHex(12);
  const std::string sig = toHex(hmacSha256(secret_, canonicalRequest(method, path, ts, nonce, body)));
  return "AISLE-HMAC-SHA256 key=" + keyId_ + ",ts=" + std::to_string(ts) + ",nonce=" + nonce + ",sig=" + sig;
}

bool RequestVerifier::rememberNonce(const std::string& keyed, std::int64_t nowMs) {
  std::lock_guard lock(mu_);
  // Nonces only need remembering for as long as their timestamp could still be accepted.
  while (!expiry_.empty() && expiry_.front().first < nowMs - 2 * window_.count()) {
    seen_.erase(expiry_.front().second);
    expiry_.pop_front();
  }
  if (!seen_.insert(keyed).second) return false;
  expiry_.emplace_back(nowMs, keyed);
  return true;
}

Result<std::string> RequestVerifier::verify(std::string_view authorization, std::string_view method,
                                            std::string_view path, std::string_view body) {
  auto req = parseAuthorization(authorization);
  if (!req) return req.error();
  const std::int64_t now = clock_.nowUnixMs();
  if (req->timestampMs < now - window_.count() || req->timestampMs > now + window_.count()) {
    return fail("request timestamp is outside the allowed window (check the sender's clock)");
  }
  const auto secret = keys_(req->keyId);
  if (!secret) return fail("unknown key '" + req->keyId + "'");
  const std::string expected =
      toHex(hmacSha256(*secret, canonicalRequest(method, path, req->timestampMs, req->nonce, body)));
  if (!constantTimeEquals(expected, req->signatureHex)) return fail("signature does not match");
  // Checked after the signature so that forged requests cannot fill the nonce cache.
  if (!rememberNonce(req->keyId + ":" + req->nonce, now)) return fail("replayed request (nonce seen before)");
  return req->keyId;
}

}  // namespace aisle
