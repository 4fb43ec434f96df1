#include "aisle/common/parse.h"
#include "aisle/engine/api.h"
#include "database_guard.h"

namespace aisle::engine {
namespace {

http::Response errorOf(const DeviceError& e) {
  switch (e.kind) {
    case DeviceError::Kind::Invalid: return http::Response::error(400, e.message);
    case DeviceError::Kind::NotFound: return http::Response::error(404, e.message);
    case DeviceError::Kind::Conflict: return http::Response::error(409, e.message);
  }
  return http::Response::error(500, e.message);
}

}  // namespace

void addDeviceRoutes(http::Router& router, DeviceApiDeps d) {
  router.add("POST", "/v1/devices", d.tokens.authenticator(), guarded([d](const http::Request& r) {
    auto reg = parseDeviceRegistration(r.body);
    if (!reg) return http::Response::error(400, reg.message());
    if (reg->eid && reg->eid->mode == EidRegistration::Mode::Upload && r.header("x-forwarded-proto") != "https") {
      return http::Response::error(403, "identity keys are accepted only over TLS; use the X25519 exchange (beacon_public_key) otherwise");
    }
    auto out = d.devices.registerDevice(std::stoll(r.principal), *reg);
    if (auto* e = std::get_if<DeviceError>(&out)) return errorOf(*e);
    return http::Response::json(201, std::get<RegisteredDevice>(out).json());
  }));

  router.add("DELETE", "/v1/devices/{id}", d.tokens.authenticator(), guarded([d](const http::Request& r) {
    auto id = parseNumber<std::int64_t>(r.params.at("id"), 1);
    if (!id) return http::Response::error(400, "device id: " + id.message());
    auto out = d.devices.revoke(std::stoll(r.principal), *id);
    if (auto* e = std::get_if<DeviceError>(&out)) return errorOf(*e);
    return http::Response::json(200, "{\"revoked\":" + std::to_string(*id) + "}");
  }));

  auto memberOnly = [auth = d.tokens.authenticator()](const http::Request& r) -> Result<std::string> {
    auto who = auth(r);
    if (!who) return who;
    if (r.params.count("member") == 0 || r.params.at("member") != *who) return fail("not your account");
    return who;
  };
  router.add("PUT", "/v1/members/{member}/consents", memberOnly, guarded([d](const http::Request& r) {
    auto u = parseConsentUpdate(r.body);
    if (!u) return http::Response::error(400, u.message());
    auto out = d.devices.updateConsents(std::stoll(r.principal), *u);
    if (auto* e = std::get_if<DeviceError>(&out)) return errorOf(*e);
    return http::Response::json(200, std::get<std::string>(out));
  }));
}

}  // namespace aisle::engine
