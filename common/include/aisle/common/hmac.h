#pragma once
// HMAC-SHA256 request signing shared by every service-to-service call (gateway -> engine,
// scanner -> hub, POS terminal -> pos-adapter).
//
// Header:  Authorization: AISLE-HMAC-SHA256 key=<keyId>,ts=<unix ms>,nonce=<hex>,sig=<hex>
// Signed:  METHOD \n PATH(with query) \n ts \n nonce \n hex(sha256(body))
// The verifier rejects a timestamp outside the window, a nonce it has seen inside the window
// (replay), an unknown key and a wrong signature, comparing in constant time.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "aisle/common/clock.h"
#include "aisle/common/result.h"

namespace aisle {

std::string toHex(std::string_view bytes);
Result<std::string> fromHex(std::string_view hex);
std::string sha256Hex(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
bool constantTimeEquals(std::string_view a, std::string_view b);
std::string randomHex(std::size_t bytes);  // from the OS CSPRNG

struct SignedRequest {
  std::string keyId;
  std::int64_t timestampMs = 0;
  std::string nonce;
  std::string signatureHex;
};

std::string canonicalRequest(std::string_view method, std::string_view path, std::int64_t tsMs,
                             std::string_view nonce, std::string_view body);
Result<SignedRequest> parseAuthorization(std::string_view header);

class RequestSigner {
 public:
  RequestSigner(std::string keyId, std::string secret, const Clock& clock)
      : keyId_(std::move(keyId)), secret_(std::move(secret)), clock_(clock) {}
  // The Authorization header value for this request.
  std::string sign(std::string_view method, std::string_view path, std::string_view body) const;

 private:
  std::string keyId_;
  std::string secret_;
  const Clock& clock_;
};

class RequestVerifier {
 public:
  // Returns the secret for a key id, or nothing when the key is unknown or revoked.
  using KeyLookup = std::function<std::optional<std::string>(const std::string& keyId)>;

  RequestVerifier(KeyLookup keys, const Clock& clock,
                  std::chrono::milliseconds window = std::chrono::minutes(5))
      : keys_(std::move(keys)), clock_(clock), window_(window) {}

  // On success, the authenticated key id.
  Result<std::string> verify(std::string_view authorization, std::string_view method,
                             std::string_view path, std::string_view body);

 private:
  bool rememberNonce(const std::string& keyed, std::int64_t nowMs);
  KeyLookup keys_;
  const Clock& clock_;
  std::chrono::milliseconds window_;
  std::mutex mu_;
  std::unordered_set<std::string> seen_;
  std::deque<std::pair<std::int64_t, std::string>> expiry_;
};

}  // namespace aisle
