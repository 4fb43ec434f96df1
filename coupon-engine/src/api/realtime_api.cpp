#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/JWT/Token.h>

#include "aisle/common/parse.h"
#include "aisle/engine/api.h"
#include "database_guard.h"

namespace aisle::engine {

std::string AppTokens::issue(std::int64_t memberId, std::chrono::seconds ttl) const {
  Poco::JWT::Token t;
  t.setType("JWT");
  t.setSubject(std::to_string(memberId));
  const std::int64_t nowUs = clock_.nowUnixMs() * 1000;
  t.setIssuedAt(Poco::Timestamp(nowUs));
  t.setExpiration(Poco::Timestamp(nowUs + std::chrono::duration_cast<std::chrono::microseconds>(ttl).count()));
  Poco::JWT::Signer signer(secret_);
  return signer.sign(t, Poco::JWT::Signer::ALGO_HS256);
}

Result<std::int64_t> AppTokens::verify(const std::string& token) const {
  try {
    Poco::JWT::Signer signer(secret_);
    signer.addAlgorithm(Poco::JWT::Signer::ALGO_HS256);
    Poco::JWT::Token t;
    if (!signer.tryVerify(token, t)) return fail("invalid app token");
    if (t.getExpiration().epochMicroseconds() / 1000 < clock_.nowUnixMs()) return fail("app token expired");
    auto id = parseNumber<std::int64_t>(t.getSubject(), 1);
    if (!id) return fail("app token has no member");
    return *id;
  } catch (const Poco::Exception&) {
    return fail("invalid app token");
  }
}

http::Authenticator AppTokens::authenticator() const {
  return [this](const http::Request& r) -> Result<std::string> {
    auto h = r.header("authorization");
    if (!h || h->rfind("Bearer ", 0) != 0) return fail("missing bearer token");
    auto id = verify(h->substr(7));
    if (!id) return id.error();
    return std::to_string(*id);
  };
}

void addRealtimeRoutes(http::Router& router, ApiDeps d) {
  // A gateway key's secret is read from the database on first use: its authenticator is guarded too.
  const auto gatewayAuth = guarded(http::hmacAuthenticator(d.gatewayVerifier));
  router.add("POST", "/v1/proximity/events", gatewayAuth, guarded([d](const http::Request& r) {
    auto batch = parseProximityBatch(r.body, d.clock.nowUnixMs());
    if (!batch) return http::Response::error(400, batch.message());
    // Rate limits count events, not requests: a gateway flushing its spool sends large batches.
    if (!d.gatewayLimiter.allow(r.principal, static_cast<double>(std::max<std::size_t>(1, batch->events.size())))) {
      auto resp = http::Response::error(429, "rate limit for gateway key " + r.principal);
      resp.headers.emplace_back("Retry-After", "1");
      return resp;
    }
    auto out = d.realtime.ingest(*batch, r.principal);
    if (!out) return http::Response::error(403, out.message());
    return http::Response::json(200, out->json());
  }));

  router.add("POST", "/v1/gateways/{id}/heartbeat", gatewayAuth, guarded([d](const http::Request& r) {
    // Stored as jsonb: only a JSON object is accepted, so the operators' view can rely on its shape.
    try {
      auto v = Poco::JSON::Parser().parse(r.body);
      if (v.type() != typeid(Poco::JSON::Object::Ptr)) return http::Response::error(400, "health must be a JSON object");
    } catch (const Poco::Exception& e) {
      return http::Response::error(400, "body is not valid JSON: " + e.message());
    }
    auto st = d.realtime.heartbeat(r.params.at("id"), r.principal, r.body);
    if (!st) return http::Response::error(403, st.message());
    return http::Response::json(200, "{\"ok\":true}");
  }));

  router.add("POST", "/v1/proximity/sightings", d.tokens.authenticator(), guarded([d](const http::Request& r) {
    auto s = parseAppSighting(r.body, d.clock.nowUnixMs());
    if (!s) return http::Response::error(400, s.message());
    auto out = d.realtime.ingestSighting(*s, std::stoll(r.principal));
    if (!out) return http::Response::error(400, out.message());
    return http::Response::json(200, out->json());
  }));

  // The wallet page's live stream of new coupons: a member may open only their own.
  auto memberOnly = [auth = d.tokens.authenticator()](const http::Request& r) -> Result<std::string> {
    auto who = auth(r);
    if (!who) return who;
    if (r.params.count("member") == 0 || r.params.at("member") != *who) return fail("not your wallet");
    return who;
  };
  router.addStream("GET", "/v1/wallet/{member}/stream", memberOnly, [d](const http::Request& r, http::StreamWriter& w) {
    auto sub = d.sse.subscribe(std::stoll(r.principal));
    if (!w.write(": connected\n\n")) return;
    for (;;) {
      auto e = sub->next(d.streamKeepAlive);
      if (!e) return;  // the engine is stopping
      // A comment line keeps proxies from closing an idle stream and tells us when the client left.
      if (!w.write(e->empty() ? ": keep-alive\n\n" : *e)) return;
    }
  });
}

}  // namespace aisle::engine
