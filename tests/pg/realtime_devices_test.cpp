// Devices and consents through the shopper API, on real parts: PostgreSQL, the engine's HTTP server
// on 127.0.0.1:0, app tokens, HMAC-signed gateway batches. A device registered a moment ago must
// resolve on the very next gateway event, and a revoked one must stop at once.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/engine/api.h"
#include "aisle/engine/cli.h"
#include "aisle/engine/devices.h"
#include "aisle/engine/eid.h"
#include "aisle/engine/realtime.h"
#include "pg_fixture.h"

namespace aisle::engine {
namespace {

const std::string kMaster(32, 'M');
const std::string kMasterHex = toHex(kMaster);
constexpr std::int64_t kNowMs = 1'767'348'000'000;  // 2026-01-02 10:00 UTC
const std::string kResolverPrivate = std::string(31, '\x11') + '\x42';

class RealtimeDevices : public ::testing::Test {
 protected:
  void SetUp() override {
    db = std::make_unique<testing::PgDatabase>("rt_devices");
    if (!db->available()) GTEST_SKIP() << "AISLE_TEST_DB is not set: run under ./aisle test";
    seed();
    pool = std::make_unique<PgPool>(db->url(), 3, Logger("t", nullptr));
    RealtimeOptions ro;
    ro.masterKey = kMaster;
    ro.policy.quietStartMinute = ro.policy.quietEndMinute = 0;
    realtime = std::make_unique<RealtimeService>(*pool, clock, ro, Logger("r", nullptr), metrics);
    ASSERT_TRUE(realtime->rebuildEidResolver());
    devices = std::make_unique<DeviceService>(*pool, clock, DeviceOptions{kMaster, kResolverPrivate},
                                              Logger("d", nullptr), realtime.get());
    tokens = std::make_unique<AppTokens>("app-token-secret-0123456789", clock);
    limiter = std::make_unique<RateLimiter>(clock, 1000.0, 5000.0);
    verifier = std::make_shared<RequestVerifier>([this](const std::string& k) { return realtime->gatewaySecret(k); }, clock);
    http::Router router;
    addRealtimeRoutes(router, ApiDeps{*realtime, sse, *tokens, *limiter, verifier, clock, std::chrono::seconds(1)});
    addDeviceRoutes(router, DeviceApiDeps{*devices, *tokens});
    server = std::make_unique<http::Server>(std::move(router), http::ServerOptions{}, metrics, Logger("s", nullptr));
    server->start();
  }
  void TearDown() override {
    sse.close();
    if (server) server->stop();
  }

  void seed() {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO stores VALUES (1, 'default', 's1', 'Store 1', 'America/New_York', now())");
    tx.exec("INSERT INTO categories (category_id, name) VALUES (10, 'DENTAL')");
    tx.exec("INSERT INTO products (product_id, name, category_id) VALUES (100, 'toothpaste', 10)");
    tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, valid_from, valid_to, amount_off_minor) "
            "VALUES (1, 'c', 'amount_off', 'product', '2025-01-01', '2027-01-01', 100)");
    for (int m : {7, 8}) {
      tx.exec_params("INSERT INTO members (member_id) VALUES ($1)", m);
      tx.exec_params("INSERT INTO consents (member_id, purpose, granted) VALUES ($1, 'proximity', true), ($1, 'push', true)", m);
      tx.exec_params("INSERT INTO coupons (member_id, campaign_id, code, product_id, value_minor, reason, valid_from, valid_to) "
                     "VALUES ($1::bigint, 1, 'CODE-TOOTH-0000' || $1::text, 100, 100, 'Toothpaste', '2025-01-01', '2027-01-01')", m);
    }
    auto gwSecret = *sealAesGcm(kMaster, "gw-secret", "gateway:gw-1");
    tx.exec_params("INSERT INTO gateways VALUES ('gw-1', 1, 'both', 'key-1', $1, NULL, NULL)", pqxx::binarystring(gwSecret));
    tx.commit();
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  http::ClientResponse app(const std::string& method, const std::string& path, const std::string& body, std::int64_t member,
                           std::vector<std::pair<std::string, std::string>> extra = {}) {
    extra.emplace_back("Authorization", "Bearer " + tokens->issue(member, std::chrono::hours(1)));
    return *http::request(method, base() + path, extra, body, std::chrono::seconds(5));
  }
  // One gateway event for `beacon`; the answer says whether it resolved to a member.
  std::string sighting(const std::string& beacon, const std::string& eventId) {
    const std::string body = "{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[{\"event_id\":\"" + eventId +
                             "\",\"type\":\"enter\",\"zone\":\"\",\"beacon\":\"" + beacon +
                             "\",\"t_ms\":" + std::to_string(clock.nowUnixMs()) + ",\"confidence\":0.9}]}";
    RequestSigner s("key-1", "gw-secret", clock);
    return http::request("POST", base() + "/v1/proximity/events",
                         {{"Authorization", s.sign("POST", "/v1/proximity/events", body)}}, body, std::chrono::seconds(5))
        ->body;
  }
  std::string eidOf(const IdentityKey& ik, int k = 10, std::int64_t offsetS = 0) {
    EidComputer e;
    return "eid:" + eidHex(eidToU64(e.compute(ik, k, static_cast<std::uint32_t>(clock.nowUnixMs() / 1000 + offsetS))));
  }
  std::int64_t count(const std::string& sql) { return db->count(sql); }
  std::int64_t field(const std::string& body, const std::string& name) {
    const auto p = body.find("\"" + name + "\":");
    return p == std::string::npos ? -1 : std::stoll(body.substr(p + name.size() + 3));
  }

  ManualClock clock{kNowMs};
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();
  std::unique_ptr<testing::PgDatabase> db;
  std::unique_ptr<PgPool> pool;
  SseHub sse;
  std::unique_ptr<RealtimeService> realtime;
  std::unique_ptr<DeviceService> devices;
  std::unique_ptr<AppTokens> tokens;
  std::unique_ptr<RateLimiter> limiter;
  std::shared_ptr<RequestVerifier> verifier;
  std::unique_ptr<http::Server> server;
};

const char* const kResolved = "{\"accepted\":1,\"duplicates\":0,\"unresolved\":0,\"pushes\":";
const char* const kUnresolved = "{\"accepted\":0,\"duplicates\":0,\"unresolved\":1,\"pushes\":0}";

}  // namespace

TEST_F(RealtimeDevices, APhoneRegisteredThroughTheX25519ExchangeResolvesOnTheNextGatewayEvent) {
  const std::string beaconPrivate = *fromHex(randomHex(32));
  const std::string beaconPublic = *x25519PublicKey(beaconPrivate);
  // The beacon's clock runs 1000 s ahead of ours: the stored offset must carry that.
  const std::int64_t beaconTime = clock.nowUnixMs() / 1000 + 1000;
  auto r = app("POST", "/v1/devices",
               "{\"kind\":\"android\",\"push\":{\"provider\":\"fcm\",\"token\":\"tok-7\"},\"eid\":{\"beacon_public_key\":\"" +
                   toHex(beaconPublic) + "\",\"k\":8,\"beacon_time_s\":" + std::to_string(beaconTime) + "}}",
               7);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_NE(r.body.find("\"resolver_public_key\":\"" + toHex(*x25519PublicKey(kResolverPrivate)) + "\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"eid_k\":8,\"eid_time_offset_s\":1000"), std::string::npos) << r.body;
  const std::int64_t deviceId = field(r.body, "device_id");

  // Both sides derive the same identity key; the engine keeps it sealed to the device's row.
  const IdentityKey ik = *deriveIdentityKey(kResolverPrivate, beaconPublic);
  {
    pqxx::connection c(db->url());
    pqxx::read_transaction tx(c);
    auto row = tx.exec_params1("SELECT eid_key_enc, push_token FROM devices WHERE member_id = 7 AND device_id = $1", deviceId);
    const std::string sealed = pqxx::binarystring(row[0]).str();
    EXPECT_EQ(sealed.find(std::string(ik.begin(), ik.end())), std::string::npos);
    auto opened = openAesGcm(kMaster, sealed, "device:7:" + std::to_string(deviceId));
    ASSERT_TRUE(opened) << opened.message();
    EXPECT_EQ(*opened, std::string(ik.begin(), ik.end()));
    EXPECT_EQ(row[1].as<std::string>(), "tok-7");
  }
  const std::string out = sighting(eidOf(ik, 8, 1000), "ev-1");
  EXPECT_EQ(out.rfind(kResolved, 0), 0u) << out;
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events WHERE member_id = 7 AND device_id = " + std::to_string(deviceId)), 1);
  // The next full rebuild loads it from the database and keeps resolving it.
  ASSERT_EQ(*realtime->rebuildEidResolver(), 1u);
  EXPECT_EQ(sighting(eidOf(ik, 8, 1000), "ev-2").rfind(kResolved, 0), 0u);
}

TEST_F(RealtimeDevices, AnUploadedIdentityKeyIsAcceptedOnlyOverTls) {
  const std::string body = "{\"kind\":\"ios\",\"eid\":{\"identity_key\":\"000102030405060708090a0b0c0d0e0f\",\"k\":10}}";
  auto plain = app("POST", "/v1/devices", body, 8);
  EXPECT_EQ(plain.status, 403) << plain.body;
  EXPECT_NE(plain.body.find("only over TLS"), std::string::npos);
  auto tls = app("POST", "/v1/devices", body, 8, {{"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(tls.status, 201) << tls.body;
  EXPECT_EQ(tls.body.find("resolver_public_key"), std::string::npos) << tls.body;
  const IdentityKey ik = *parseIdentityKey("000102030405060708090a0b0c0d0e0f");
  EXPECT_EQ(sighting(eidOf(ik), "ev-1").rfind(kResolved, 0), 0u);
}

TEST_F(RealtimeDevices, IbeaconAndAltbeaconIdsResolveByLookupAndARevokedDeviceStopsAtOnce) {
  auto ib = app("POST", "/v1/devices", "{\"kind\":\"fob\",\"ibeacon\":{\"uuid\":\"F7826DA6-4FA2-4E98-8024-BC5B71E0893E\",\"major\":3,\"minor\":4}}", 8);
  ASSERT_EQ(ib.status, 201) << ib.body;
  auto alt = app("POST", "/v1/devices", "{\"kind\":\"other\",\"altbeacon\":\"abc123\"}", 8);
  ASSERT_EQ(alt.status, 201) << alt.body;
  auto eid = app("POST", "/v1/devices", "{\"kind\":\"ios\",\"eid\":{\"identity_key\":\"ffeeddccbbaa99887766554433221100\"}}", 8,
                 {{"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(eid.status, 201) << eid.body;
  const IdentityKey ik = *parseIdentityKey("ffeeddccbbaa99887766554433221100");
  EXPECT_EQ(sighting("ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:3:4", "ev-1").rfind(kResolved, 0), 0u);
  EXPECT_EQ(sighting("altbeacon:abc123", "ev-2").rfind(kResolved, 0), 0u);
  EXPECT_EQ(sighting(eidOf(ik), "ev-3").rfind(kResolved, 0), 0u);

  // Member 7 cannot revoke member 8's device; member 8 can.
  EXPECT_EQ(app("DELETE", "/v1/devices/" + std::to_string(field(eid.body, "device_id")), "", 7).status, 404);
  for (const auto& d : {ib, alt, eid}) {
    auto del = app("DELETE", "/v1/devices/" + std::to_string(field(d.body, "device_id")), "", 8);
    EXPECT_EQ(del.status, 200) << del.body;
  }
  EXPECT_EQ(sighting("ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:3:4", "ev-4"), kUnresolved);
  EXPECT_EQ(sighting("altbeacon:abc123", "ev-5"), kUnresolved);
  EXPECT_EQ(sighting(eidOf(ik), "ev-6"), kUnresolved);
  ASSERT_EQ(*realtime->rebuildEidResolver(), 0u);
  EXPECT_EQ(sighting(eidOf(ik), "ev-7"), kUnresolved);
  EXPECT_EQ(app("DELETE", "/v1/devices/" + std::to_string(field(eid.body, "device_id")), "", 8).status, 404);
}

TEST_F(RealtimeDevices, ConsentChangesAppendHistoryRowsAndOnlyTheMemberMayChangeThem) {
  auto r = app("PUT", "/v1/members/7/consents", "{\"push\":false,\"marketing\":true,\"source\":\"app\"}", 7);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"marketing\":true,\"proximity\":true,\"push\":false}");
  // The same state again adds no history row.
  EXPECT_EQ(app("PUT", "/v1/members/7/consents", "{\"push\":false}", 7).status, 200);
  EXPECT_EQ(count("SELECT count(*) FROM consents WHERE member_id = 7"), 4);
  EXPECT_EQ(count("SELECT count(*) FROM consents WHERE member_id = 7 AND purpose = 'push' AND NOT granted AND source = 'app'"), 1);
  // Without push consent nothing is pushed.
  ASSERT_EQ(app("POST", "/v1/devices", "{\"altbeacon\":\"m7\"}", 7).status, 201);
  EXPECT_EQ(sighting("altbeacon:m7", "ev-1"), "{\"accepted\":1,\"duplicates\":0,\"unresolved\":0,\"pushes\":0}");
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE member_id = 7 AND reason = 'no push consent'"), 1);

  EXPECT_EQ(app("PUT", "/v1/members/7/consents", "{\"push\":true}", 8).status, 401);
  auto unknown = app("PUT", "/v1/members/7/consents", "{\"location\":true}", 7);
  EXPECT_EQ(unknown.status, 400);
  EXPECT_EQ(unknown.body, "{\"error\":\"unknown consent purpose \\\"location\\\" (marketing, proximity, push)\"}");
  EXPECT_EQ(app("PUT", "/v1/members/7/consents", "{\"push\":\"yes\"}", 7).status, 400);
}

TEST_F(RealtimeDevices, ImportedFobsResolveOnlyOnceAShopperClaimsOneWithTheCodeOnItsLabel) {
  const std::string file = ::testing::TempDir() + "rt-fobs-" + std::to_string(getpid()) + ".jsonl";
  {
    std::ofstream out(file);
    out << "{\"kind\":\"fob\",\"external_ref\":\"FOB-1\",\"batch\":1,\"type\":\"eddystone-eid\","
           "\"eid_identity_key\":\"00112233445566778899aabbccddeeff\",\"eid_k\":10,\"claim_code_sha256\":\""
        << claimCodeSha256("ABCDE-FGHJK") << "\"}\n"
        << "{\"kind\":\"fob\",\"external_ref\":\"FOB-2\",\"batch\":1,\"type\":\"ibeacon\",\"ibeacon_uuid\":"
           "\"f7826da6-4fa2-4e98-8024-bc5b71e0893e\",\"ibeacon_major\":9,\"ibeacon_minor\":1,\"claim_code_sha256\":\""
        << claimCodeSha256("KMNPQ-RSTVW") << "\"}\n";
  }
  setenv("AISLE_DB", db->url().c_str(), 1);
  setenv("AISLE_MASTER_KEY", kMasterHex.c_str(), 1);
  std::ostringstream out, err;
  ASSERT_EQ(runCli({"import-fobs", file}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "{\"imported\":2,\"duplicates\":0,\"rejected\":0}\n");
  std::ostringstream again, err2;
  ASSERT_EQ(runCli({"import-fobs", file}, again, err2), 0) << err2.str();
  EXPECT_EQ(again.str(), "{\"imported\":0,\"duplicates\":2,\"rejected\":0}\n");

  const IdentityKey ik = *parseIdentityKey("00112233445566778899aabbccddeeff");
  ASSERT_EQ(*realtime->rebuildEidResolver(), 0u);  // unclaimed fobs belong to nobody yet
  EXPECT_EQ(sighting(eidOf(ik), "ev-1"), kUnresolved);
  EXPECT_EQ(sighting("ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:9:1", "ev-2"), kUnresolved);

  auto claim = app("POST", "/v1/devices", "{\"claim_code\":\"abcde-fghjk\"}", 7);
  ASSERT_EQ(claim.status, 201) << claim.body;
  EXPECT_EQ(sighting(eidOf(ik), "ev-3").rfind(kResolved, 0), 0u);
  EXPECT_EQ(count("SELECT count(*) FROM devices WHERE member_id = 7 AND external_ref = 'FOB-1' AND claim_code_sha256 IS NULL"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM devices WHERE member_id = 0 AND external_ref = 'FOB-1'"), 0);
  ASSERT_EQ(*realtime->rebuildEidResolver(), 1u);  // re-sealed to its new row, so it still opens
  EXPECT_EQ(app("POST", "/v1/devices", "{\"claim_code\":\"ABCDE-FGHJK\"}", 8).status, 404);  // claimed already
  ASSERT_EQ(app("POST", "/v1/devices", "{\"claim_code\":\"KMNPQ RSTVW\"}", 8).status, 201);
  EXPECT_EQ(sighting("ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:9:1", "ev-4").rfind(kResolved, 0), 0u);

  // A malformed line is named with its line number and imports nothing.
  {
    std::ofstream bad(file);
    bad << "{\"kind\":\"fob\",\"external_ref\":\"FOB-3\",\"type\":\"eddystone-eid\",\"eid_identity_key\":\"zz\","
           "\"claim_code_sha256\":\"" << claimCodeSha256("AAAAA-BBBBB") << "\"}\n";
  }
  std::ostringstream o3, e3;
  EXPECT_EQ(runCli({"import-fobs", file}, o3, e3), 1);
  EXPECT_NE(e3.str().find(file + ":1: \"eid_identity_key\""), std::string::npos) << e3.str();
  std::remove(file.c_str());
}

TEST_F(RealtimeDevices, BadDeviceRequestsGetClearErrors) {
  EXPECT_EQ(http::request("POST", base() + "/v1/devices", {}, "{}", std::chrono::seconds(5))->status, 401);
  auto bad = app("POST", "/v1/devices", "{not json", 7);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("not valid JSON"), std::string::npos) << bad.body;
  auto empty = app("POST", "/v1/devices", "{\"kind\":\"android\"}", 7);
  EXPECT_EQ(empty.body, "{\"error\":\"nothing to register: send push, eid, ibeacon, altbeacon or claim_code\"}");
  auto both = app("POST", "/v1/devices", "{\"eid\":{\"identity_key\":\"00\",\"beacon_public_key\":\"00\"}}", 7);
  EXPECT_EQ(both.status, 400);
  auto shortKey = app("POST", "/v1/devices", "{\"eid\":{\"beacon_public_key\":\"0011\"}}", 7);
  EXPECT_EQ(shortKey.body, "{\"error\":\"eid: \\\"beacon_public_key\\\" must be 64 hex digits (an X25519 public key)\"}");
  EXPECT_EQ(app("POST", "/v1/devices", "{\"ibeacon\":{\"uuid\":\"nope\",\"major\":1,\"minor\":2}}", 7).status, 400);
  EXPECT_EQ(app("POST", "/v1/devices", "{\"claim_code\":\"ZZZZZ-ZZZZZ\"}", 7).status, 404);
  EXPECT_EQ(app("DELETE", "/v1/devices/abc", "", 7).status, 400);
  EXPECT_EQ(app("POST", "/v1/devices", "{\"altbeacon\":\"x\"}", 999).status, 404);  // a token for no member
}

TEST_F(RealtimeDevices, AGatewayHeartbeatStoresItsHealthAndOnlyItsOwnKeyMayReport) {
  auto beat = [&](const std::string& gw, const std::string& body, const std::string& secret = "gw-secret") {
    const std::string path = "/v1/gateways/" + gw + "/heartbeat";
    RequestSigner s("key-1", secret, clock);
    return *http::request("POST", base() + path, {{"Authorization", s.sign("POST", path, body)}}, body, std::chrono::seconds(5));
  };
  auto ok = beat("gw-1", "{\"uptime_s\":120,\"spool_bytes\":0,\"adapter\":\"up\"}");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(count("SELECT count(*) FROM gateways WHERE gateway_id = 'gw-1' AND health->>'adapter' = 'up' "
                  "AND (health->>'uptime_s')::int = 120 AND last_seen_at IS NOT NULL"), 1);
  EXPECT_EQ(beat("gw-2", "{}").status, 403);
  EXPECT_EQ(beat("gw-1", "[1,2]").status, 400);
  EXPECT_EQ(beat("gw-1", "{oops").status, 400);
  EXPECT_EQ(beat("gw-1", "{}", "wrong-secret").status, 401);
}

}  // namespace aisle::engine
