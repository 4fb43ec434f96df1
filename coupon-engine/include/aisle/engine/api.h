#pragma once
// The engine's HTTP routes for the real-time path. Authentication:
//  - gateways: HMAC-signed requests with their key (common/hmac.h), one store per key;
//  - shopper apps and the wallet page: a bearer token, an HS256 JWT whose subject is the member id.
#include <memory>
#include <string>

#include "aisle/common/clock.h"
#include "aisle/common/http.h"
#include "aisle/common/rate_limit.h"
#include "aisle/common/result.h"
#include "aisle/engine/delivery.h"
#include "aisle/engine/devices.h"
#include "aisle/engine/realtime.h"

namespace aisle::engine {

// Issues and checks app tokens (HS256, claim "sub" = member id, "exp").
class AppTokens {
 public:
  AppTokens(std::string secret, const Clock& clock) : secret_(std::move(secret)), clock_(clock) {}
  std::string issue(std::int64_t memberId, std::chrono::seconds ttl) const;
  Result<std::int64_t> verify(const std::string& token) const;
  http::Authenticator authenticator() const;  // principal = the member id as text

 private:
  std::string secret_;
  const Clock& clock_;
};

struct ApiDeps {
  RealtimeService& realtime;
  SseHub& sse;
  const AppTokens& tokens;
  RateLimiter& gatewayLimiter;
  std::shared_ptr<RequestVerifier> gatewayVerifier;
  const Clock& clock;
  std::chrono::seconds streamKeepAlive{15};
};

void addRealtimeRoutes(http::Router& router, ApiDeps deps);

// The shopper's devices and consents (bearer app token; a member acts only on their own):
//   POST /v1/devices, DELETE /v1/devices/{id}, PUT /v1/members/{member}/consents.
// An identity key travels in clear inside the body, so an upload is accepted only when the
// TLS-terminating proxy in front of the engine says the request came over TLS
// (X-Forwarded-Proto: https); the X25519 exchange needs no TLS.
struct DeviceApiDeps {
  DeviceService& devices;
  const AppTokens& tokens;
};
void addDeviceRoutes(http::Router& router, DeviceApiDeps deps);

}  // namespace aisle::engine
