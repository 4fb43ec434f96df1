// The real-time path end to end on real parts: PostgreSQL, the engine's HTTP server on 127.0.0.1:0,
// HMAC-signed gateway batches, the dispatcher, and a local fake FCM (token + send endpoints) that
// checks the service account's RS256 JWT and the message, standing in for Google's servers.
#include <gtest/gtest.h>
#include <Poco/Crypto/RSAKey.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JWT/Signer.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <atomic>
#include <mutex>
#include <sstream>

#include "aisle/common/crypto.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/engine/api.h"
#include "aisle/engine/delivery.h"
#include "aisle/engine/eid.h"
#include "aisle/engine/realtime.h"
#include "db/member_repository.h"
#include "db/realtime_repository.h"
#include "pg_fixture.h"

namespace aisle::engine {
namespace {

const std::string kMaster(32, 'M');
const IdentityKey kIk = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
constexpr std::int64_t kNowMs = 1'767'348'000'000;  // 2026-01-02 10:00 UTC

std::string pemOf(Poco::Crypto::RSAKey& key, bool priv) {
  std::ostringstream pub, pri;
  key.save(&pub, &pri);
  return priv ? pri.str() : pub.str();
}

// Fake FCM: /token checks the RS256 assertion with the public key; /v1/projects/p/messages:send
// checks the bearer token and records the message.
struct FakeFcm {
  explicit FakeFcm(std::string publicPem) {
    http::Router r;
    r.add("POST", "/token", http::publicRoute(), [this, publicPem](const http::Request& q) {
      const auto pos = q.body.find("assertion=");
      if (pos == std::string::npos) return http::Response::error(400, "no assertion");
      std::istringstream pub(publicPem);
      Poco::SharedPtr<Poco::Crypto::RSAKey> key(new Poco::Crypto::RSAKey(&pub));
      Poco::JWT::Signer signer(key);
      signer.addAlgorithm(Poco::JWT::Signer::ALGO_RS256);
      Poco::JWT::Token t;
      if (!signer.tryVerify(q.body.substr(pos + 10), t) || t.getIssuer() != "engine@test.iam" ||
          t.payload().getValue<std::string>("scope") != "https://www.googleapis.com/auth/firebase.messaging") {
        return http::Response::error(401, "bad assertion");
      }
      ++tokens;
      return http::Response::json(200, "{\"access_token\":\"tok-1\",\"expires_in\":3600}");
    });
    r.add("POST", "/v1/projects/p/messages:send", http::publicRoute(), [this](const http::Request& q) {
      if (q.header("authorization").value_or("") != "Bearer tok-1") return http::Response::error(401, "bad token");
      std::lock_guard lock(mu);
      messages.push_back(q.body);
      return http::Response::json(200, "{\"name\":\"projects/p/messages/1\"}");
    });
    server = std::make_unique<http::Server>(std::move(r), http::ServerOptions{}, std::make_shared<MetricsRegistry>(),
                                            Logger("fcm", nullptr));
    server->start();
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::vector<std::string> sent() {
    std::lock_guard lock(mu);
    return messages;
  }
  std::atomic<int> tokens{0};
  std::mutex mu;
  std::vector<std::string> messages;
  std::unique_ptr<http::Server> server;
};

class RealtimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db = std::make_unique<testing::PgDatabase>("realtime");
    if (!db->available()) GTEST_SKIP() << "AISLE_TEST_DB is not set: run under ./aisle test";
    seed();
    rsa = std::make_unique<Poco::Crypto::RSAKey>(Poco::Crypto::RSAKey::KL_2048, Poco::Crypto::RSAKey::EXP_LARGE);
    fcm = std::make_unique<FakeFcm>(pemOf(*rsa, false));
    pool = std::make_unique<PgPool>(db->url(), 4, Logger("t", nullptr));
    sse = std::make_shared<SseHub>();
    FcmOptions fo;
    fo.projectId = "p";
    fo.clientEmail = "engine@test.iam";
    fo.privateKeyPem = pemOf(*rsa, true);
    fo.tokenUri = fcm->base() + "/token";
    fo.sendBase = fcm->base();
    std::map<std::string, std::shared_ptr<PushProvider>> providers{{"sse", sse}, {"fcm", std::make_shared<FcmProvider>(fo, clock)}};
    DispatcherOptions dopt;
    dopt.poll = std::chrono::milliseconds(20);
    dispatcher = std::make_unique<Dispatcher>(*pool, providers, clock, Logger("d", nullptr), metrics, dopt);
    RealtimeOptions ro;
    ro.masterKey = kMaster;
    ro.policy.quietStartMinute = ro.policy.quietEndMinute = 0;  // no quiet hours in these tests
    realtime = std::make_unique<RealtimeService>(*pool, clock, ro, Logger("r", nullptr), metrics,
                                                 [this](const std::string&) { dispatcher->wake(); });
    ASSERT_EQ(*realtime->rebuildEidResolver(), 1u);
    tokens = std::make_unique<AppTokens>("app-token-secret-0123456789", clock);
    limiter = std::make_unique<RateLimiter>(clock, 1000.0, 5000.0);
    verifier = std::make_shared<RequestVerifier>([this](const std::string& k) { return realtime->gatewaySecret(k); }, clock);
    http::Router router;
    addRealtimeRoutes(router, ApiDeps{*realtime, *sse, *tokens, *limiter, verifier, clock, std::chrono::seconds(1)});
    http::ServerOptions so;
    so.maxBodyBytes = 64 * 1024;
    server = std::make_unique<http::Server>(std::move(router), so, metrics, Logger("s", nullptr));
    server->start();
    dispatcher->start();
  }
  void TearDown() override {
    if (sse) sse->close();
    if (dispatcher) dispatcher->stop();
    if (server) server->stop();
  }

  void seed() {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO stores VALUES (1, 'default', 's1', 'Store 1', 'America/New_York', now()), "
            "(2, 'default', 's2', 'Store 2', 'America/New_York', now())");
    tx.exec("INSERT INTO categories (category_id, name) VALUES (10, 'DENTAL'), (20, 'DAIRY')");
    tx.exec("INSERT INTO products (product_id, name, category_id) VALUES (100, 'toothpaste', 10), (200, 'milk', 20)");
    tx.exec("INSERT INTO zones VALUES (5, 1, 'health', 'aisle'), (6, 1, 'dairy', 'aisle')");
    tx.exec("INSERT INTO zone_categories VALUES (5, 10), (6, 20)");
    tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, valid_from, valid_to, amount_off_minor) "
            "VALUES (1, 'c', 'amount_off', 'product', '2025-01-01', '2027-01-01', 100)");
    for (int m : {7, 8}) {
      tx.exec_params("INSERT INTO members (member_id) VALUES ($1)", m);
      tx.exec_params("INSERT INTO consents (member_id, purpose, granted) VALUES ($1, 'proximity', true), ($1, 'push', $2)", m, m == 7);
      tx.exec_params("INSERT INTO coupons (member_id, campaign_id, code, product_id, value_minor, reason, valid_from, valid_to) "
                     "VALUES ($1::bigint, 1, 'CODE-TOOTH-0000' || $1::text, 100, 100, 'Your toothpaste is probably running out', '2025-01-01', '2027-01-01'), "
                     "($1, 1, 'CODE-MILK-00000' || $1::text, 200, 50, 'Milk for less', '2025-01-01', '2027-01-01')", m);
    }
    // Member 7's phone: FCM token and an EID key sealed to its row; member 8: an iBeacon key fob.
    auto sealed = *sealAesGcm(kMaster, std::string(kIk.begin(), kIk.end()), "device:7:1");
    tx.exec_params("INSERT INTO devices (member_id, device_id, kind, push_provider, push_token, eid_key_enc, eid_k, eid_time_offset_s) "
                   "VALUES (7, 1, 'android', 'fcm', 'device-token-7', $1, 10, 0)", pqxx::binarystring(sealed));
    tx.exec("INSERT INTO devices (member_id, device_id, kind, ibeacon_uuid, ibeacon_major, ibeacon_minor) "
            "VALUES (8, 2, 'fob', 'f7826da6-4fa2-4e98-8024-bc5b71e0893e', 1, 2)");
    auto gwSecret = *sealAesGcm(kMaster, "gw-secret", "gateway:gw-1");
    tx.exec_params("INSERT INTO gateways VALUES ('gw-1', 1, 'both', 'key-1', $1, NULL, NULL)", pqxx::binarystring(gwSecret));
    tx.commit();
  }

  std::string eidBeacon() {
    EidComputer e;
    return "eid:" + eidHex(eidToU64(e.compute(kIk, 10, static_cast<std::uint32_t>(clock.nowUnixMs() / 1000))));
  }

  http::ClientResponse post(const std::string& body, const std::string& key = "key-1", const std::string& secret = "gw-secret") {
    RequestSigner s(key, secret, clock);
    return *http::request("POST", base() + "/v1/proximity/events",
                          {{"Authorization", s.sign("POST", "/v1/proximity/events", body)}}, body, std::chrono::seconds(5));
  }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(server->port()); }
  std::string batch(const std::string& eventId, const std::string& type, const std::string& zone, const std::string& beacon,
                    std::int64_t store = 1) {
    return "{\"gateway_id\":\"gw-1\",\"store_id\":" + std::to_string(store) + ",\"events\":[{\"event_id\":\"" + eventId +
           "\",\"type\":\"" + type + "\",\"zone\":\"" + zone + "\",\"beacon\":\"" + beacon +
           "\",\"t_ms\":" + std::to_string(clock.nowUnixMs()) + ",\"confidence\":0.9}]}";
  }
  std::vector<std::string> waitForFcm(std::size_t n) {
    for (int i = 0; i < 500 && fcm->sent().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return fcm->sent();
  }
  std::int64_t count(const std::string& sql) { return db->count(sql); }

  ManualClock clock{kNowMs};
  std::shared_ptr<MetricsRegistry> metrics = std::make_shared<MetricsRegistry>();
  std::unique_ptr<testing::PgDatabase> db;
  std::unique_ptr<Poco::Crypto::RSAKey> rsa;
  std::unique_ptr<FakeFcm> fcm;
  std::unique_ptr<PgPool> pool;
  std::shared_ptr<SseHub> sse;
  std::unique_ptr<Dispatcher> dispatcher;
  std::unique_ptr<RealtimeService> realtime;
  std::unique_ptr<AppTokens> tokens;
  std::unique_ptr<RateLimiter> limiter;
  std::shared_ptr<RequestVerifier> verifier;
  std::unique_ptr<http::Server> server;
};

}  // namespace

TEST_F(RealtimeTest, AnEidSightingAtTheHealthAisleIsPushedOnceThroughFcmWithTheToothpasteOffer) {
  auto r = post(batch("ev-1", "dwell", "health", eidBeacon()));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"accepted\":1,\"duplicates\":0,\"unresolved\":0,\"pushes\":1}");
  auto sent = waitForFcm(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].find("\"token\":\"device-token-7\""), std::string::npos) << sent[0];
  EXPECT_NE(sent[0].find("toothpaste is probably running out"), std::string::npos) << sent[0];
  EXPECT_NE(sent[0].find("\"collapse_key\":\"event:ev-1\""), std::string::npos) << sent[0];
  for (int i = 0; i < 200 && count("SELECT count(*) FROM coupons WHERE member_id = 7 AND state = 'delivered'") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(count("SELECT count(*) FROM coupons WHERE member_id = 7 AND state = 'delivered' AND product_id = 100"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'sent'"), 1);

  // The gateway retries the same batch (its ack was lost): stored once, pushed once.
  auto again = post(batch("ev-1", "dwell", "health", eidBeacon()));
  EXPECT_EQ(again.body, "{\"accepted\":0,\"duplicates\":1,\"unresolved\":0,\"pushes\":0}");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(fcm->sent().size(), 1u);
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events"), 1);
}

TEST_F(RealtimeTest, AMembersSecondEventInOneBatchSeesTheFirstOnesPushAndARepeatedEventIsStoredOnce) {
  // One batch: member 7 dwells at the health aisle twice (the zone cap is one per visit), the
  // gateway repeats the first event verbatim, and member 8's fob enters. The batch is decided in
  // rounds with one read and one write each; a member's later events go to a later round.
  const std::string t = std::to_string(clock.nowUnixMs());
  auto event = [&](const std::string& id, const std::string& type, const std::string& zone, const std::string& beacon) {
    return "{\"event_id\":\"" + id + "\",\"type\":\"" + type + "\",\"zone\":\"" + zone + "\",\"beacon\":\"" + beacon +
           "\",\"t_ms\":" + t + ",\"confidence\":0.9}";
  };
  const std::string fob = "ibeacon:F7826DA6-4FA2-4E98-8024-BC5B71E0893E:1:2";
  auto r = post("{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[" + event("b-1", "dwell", "health", eidBeacon()) + "," +
                event("b-1", "dwell", "health", eidBeacon()) + "," + event("b-2", "dwell", "health", eidBeacon()) + "," +
                event("b-3", "enter", "", fob) + "]}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"accepted\":3,\"duplicates\":1,\"unresolved\":0,\"pushes\":1}");
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE member_id = 7 AND event_id = 'b-1' AND action = 'push'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE member_id = 7 AND event_id = 'b-2' AND action = 'none' "
                  "AND reason = 'already pushed in this zone during this visit'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE member_id = 8 AND reason = 'no push consent'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events"), 3);
  EXPECT_EQ(waitForFcm(1).size(), 1u);
}

TEST_F(RealtimeTest, EveryDecisionIsLoggedWithItsReasonIncludingWhyNothingWasSent) {
  ASSERT_EQ(post(batch("ev-1", "dwell", "health", eidBeacon())).status, 200);
  clock.advance(std::chrono::seconds(30));
  ASSERT_EQ(post(batch("ev-2", "dwell", "health", eidBeacon())).status, 200);  // same zone, same visit
  ASSERT_EQ(post(batch("ev-3", "exit", "health", eidBeacon())).status, 200);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE event_id = 'ev-1' AND action = 'push'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE event_id = 'ev-2' AND action = 'none' "
                  "AND reason = 'already pushed in this zone during this visit'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE event_id = 'ev-3' AND reason = 'exit events never push'"), 1);
}

TEST_F(RealtimeTest, AMemberWithoutPushConsentGetsNothingAndUnknownBeaconsAreNeverStored) {
  auto r = post(batch("ev-8", "enter", "", "ibeacon:F7826DA6-4FA2-4E98-8024-BC5B71E0893E:1:2"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"accepted\":1,\"duplicates\":0,\"unresolved\":0,\"pushes\":0}");
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE member_id = 8 AND reason = 'no push consent'"), 1);
  auto stranger = post(batch("ev-9", "enter", "", "ibeacon:00000000-0000-0000-0000-000000000001:9:9"));
  EXPECT_EQ(stranger.body, "{\"accepted\":0,\"duplicates\":0,\"unresolved\":1,\"pushes\":0}");
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events WHERE event_id = 'ev-9'"), 0);
}

TEST_F(RealtimeTest, BadRequestsGetClearErrors) {
  EXPECT_EQ(post("{not json").status, 400);
  auto missing = post("{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[{\"type\":\"enter\"}]}");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body, "{\"error\":\"events[0]: missing \\\"event_id\\\"\"}");
  EXPECT_EQ(post(batch("e", "enter", "", eidBeacon()), "key-1", "guessed").status, 401);
  EXPECT_EQ(post(batch("e", "enter", "", eidBeacon()), "key-404", "x").status, 401);
  auto otherStore = post(batch("e", "enter", "", eidBeacon(), 2));
  EXPECT_EQ(otherStore.status, 403);
  EXPECT_EQ(otherStore.body, "{\"error\":\"gateway gw-1 may post only for store 1\"}");
  const std::string huge = "{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[" + std::string(70000, ' ') + "]}";
  EXPECT_EQ(post(huge).status, 413);
  auto unsignedReq = http::request("POST", base() + "/v1/proximity/events", {}, "{}", std::chrono::seconds(5));
  EXPECT_EQ(unsignedReq->status, 401);
}

TEST_F(RealtimeTest, TheShoppersAppReportsAStoreBeaconAndTheWalletStreamReceivesTheCoupon) {
  // Member 7's push goes to FCM; give member 7's wallet page an SSE stream and switch it to SSE.
  {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("UPDATE devices SET push_provider = 'sse' WHERE member_id = 7");
    tx.commit();
  }
  const std::string token = tokens->issue(7, std::chrono::hours(1));
  std::string streamed;
  std::thread reader([&] {
    Poco::Net::HTTPClientSession s("127.0.0.1", server->port());
    Poco::Net::HTTPRequest req("GET", "/v1/wallet/7/stream", Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", "Bearer " + token);
    s.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& is = s.receiveResponse(resp);
    std::string line;
    while (std::getline(is, line)) {
      streamed += line + "\n";
      if (line.rfind("data: {", 0) == 0) break;
    }
  });
  for (int i = 0; i < 200 && !sse->hasSubscriber(7); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(sse->hasSubscriber(7));
  const std::string body = "{\"store_id\":1,\"beacon\":\"ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e08900:1:1\",\"t_ms\":" +
                           std::to_string(clock.nowUnixMs()) + ",\"sighting_id\":\"s-1\"}";
  auto r = http::request("POST", base() + "/v1/proximity/sightings", {{"Authorization", "Bearer " + token}}, body,
                         std::chrono::seconds(5));
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, "{\"accepted\":1,\"duplicates\":0,\"unresolved\":0,\"pushes\":1}");
  reader.join();
  EXPECT_NE(streamed.find("id: event:app:s-1"), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("toothpaste"), std::string::npos) << streamed;
  // Another member's token cannot open member 7's wallet.
  auto other = http::request("GET", base() + "/v1/wallet/7/stream",
                             {{"Authorization", "Bearer " + tokens->issue(8, std::chrono::hours(1))}}, "", std::chrono::seconds(5));
  EXPECT_EQ(other->status, 401);
}

TEST_F(RealtimeTest, ErasingAMemberLeavesNoRowOfTheirsInAnyTable) {
  ASSERT_EQ(post(batch("ev-1", "dwell", "health", eidBeacon())).status, 200);
  waitForFcm(1);
  {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO cards (member_id, number) VALUES (7, '2900000000077')");
    tx.exec("INSERT INTO transactions (member_id, org_id, store_id, workstation_id, business_day, sequence_no, "
            "occurred_at, card_number, content_hash, source, raw_payload) VALUES (7, 'o', 1, 'w', '2026-01-02', '1', now(), "
            "'2900000000077', '\\x00', 'test', '<POSLog>card 2900000000077</POSLog>')");
    MemberRepository::erase(tx, 7);
    tx.commit();
  }
  pqxx::connection c(db->url());
  pqxx::read_transaction tx(c);
  for (const auto& row : tx.exec(
           "SELECT cl.relname FROM pg_attribute a JOIN pg_class cl ON cl.oid = a.attrelid "
           "JOIN pg_namespace n ON n.oid = cl.relnamespace WHERE n.nspname = 'public' AND a.attname = 'member_id' "
           "AND cl.relkind IN ('r', 'p') AND NOT cl.relispartition")) {
    const std::string t = row[0].as<std::string>();
    EXPECT_EQ(tx.exec1("SELECT count(*) FROM " + t + " WHERE member_id = 7")[0].as<int>(), 0) << t << " still holds member 7";
  }
  // The sale itself survives as an anonymous one, without the card or the raw payload.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM transactions WHERE member_id = 0 AND card_number IS NULL AND raw_payload IS NULL "
                     "AND sequence_no = '1'")[0].as<int>(), 1);
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM transactions WHERE card_number = '2900000000077' OR raw_payload LIKE '%2900000000077%'")[0].as<int>(), 0);
}

TEST_F(RealtimeTest, RawProximityEventsOlderThanTheRetentionAreDeleted) {
  {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("SELECT ensure_proximity_partitions(current_date - 40, 3)");
    tx.exec("INSERT INTO proximity_events (member_id, event_id, occurred_at, type, store_id) VALUES "
            "(7, 'old', now() - interval '39 days', 'enter', 1), (7, 'older-default', now() - interval '400 days', 'enter', 1), "
            "(7, 'new', now(), 'enter', 1)");
    tx.commit();
  }
  pqxx::connection c(db->url());
  RealtimeRepository::prepare(c);
  pqxx::work tx(c);
  EXPECT_EQ(RealtimeRepository::dropEventsOlderThan(tx, 30), 4);  // three old daily partitions + one default-partition row
  tx.commit();
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events WHERE event_id IN ('old', 'older-default')"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events WHERE event_id = 'new'"), 1);
}

TEST_F(RealtimeTest, APushQueuedDuringASlowWriteBackIsHandedOverWithoutWaitingForIt) {
  // Member 7's coupon row is locked, so the write-back of member 7's push (it marks the coupon
  // delivered) blocks. A push queued meanwhile for member 8 must still be claimed and handed over:
  // the write-back runs beside the claims, not between them.
  pqxx::connection locker(db->url());
  pqxx::work lock(locker);
  lock.exec("SELECT 1 FROM coupons WHERE member_id = 7 AND product_id = 100 FOR UPDATE");
  ASSERT_EQ(post(batch("ev-1", "dwell", "health", eidBeacon())).status, 200);
  ASSERT_EQ(waitForFcm(1).size(), 1u);

  auto stream = sse->subscribe(8);
  {
    pqxx::connection c(db->url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO outbox (member_id, dedupe_key, provider, payload) VALUES (8, 'manual:8', 'sse', '{\"title\":\"t\"}')");
    tx.commit();
  }
  dispatcher->wake();
  auto event = stream->next(std::chrono::seconds(5));
  ASSERT_TRUE(event.has_value());
  EXPECT_NE(event->find("id: manual:8"), std::string::npos) << *event;
  // Member 7's outcome is still waiting for the lock: its row is "sending", so no claim takes it again.
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE member_id = 7 AND state = 'sending'"), 1);

  lock.abort();
  for (int i = 0; i < 300 && count("SELECT count(*) FROM outbox WHERE state = 'sent'") < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(count("SELECT count(*) FROM outbox WHERE state = 'sent'"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM coupons WHERE member_id = 7 AND state = 'delivered' AND product_id = 100"), 1);
  EXPECT_EQ(fcm->sent().size(), 1u);  // handed over once, although its write-back came late
}

TEST_F(RealtimeTest, AClaimedPushIsNotClaimedAgainUntilItsOutcomeIsWrittenBack) {
  dispatcher->stop();  // this test claims by hand
  pqxx::connection c(db->url());
  RealtimeRepository::prepare(c);
  {
    pqxx::work tx(c);
    tx.exec("INSERT INTO outbox (member_id, dedupe_key, provider, payload) VALUES (7, 'k:1', 'fcm', '{}')");
    tx.commit();
  }
  std::vector<OutboxRow> first, second;
  {
    pqxx::nontransaction tx(c);
    first = RealtimeRepository::claimDue(tx, 50);
    second = RealtimeRepository::claimDue(tx, 50);
  }
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].attempts, 1);
  EXPECT_EQ(first[0].pushToken, "device-token-7");
  EXPECT_TRUE(second.empty());
  {
    pqxx::work tx(c);
    RealtimeRepository::markRetry(tx, first[0], 0, "try again");
    tx.commit();
  }
  pqxx::nontransaction tx(c);
  auto retried = RealtimeRepository::claimDue(tx, 50);
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].attempts, 2);
}

TEST_F(RealtimeTest, AfterAClaimWhoseAnswerWasLostOnlyTheRowsNobodyHoldsGoBackToPending) {
  dispatcher->stop();  // this test claims by hand
  pqxx::connection c(db->url());
  RealtimeRepository::prepare(c);
  {
    pqxx::work tx(c);
    tx.exec("INSERT INTO outbox (member_id, dedupe_key, provider, payload) VALUES (7, 'k:1', 'fcm', '{}'), "
            "(8, 'k:2', 'fcm', '{}')");
    tx.commit();
  }
  std::vector<OutboxRow> claimed;
  {
    pqxx::nontransaction tx(c);
    claimed = RealtimeRepository::claimDue(tx, 50);  // both committed; pretend only member 7's answer arrived
  }
  ASSERT_EQ(claimed.size(), 2u);
  const auto held = claimed[0].memberId == 7 ? claimed[0] : claimed[1];
  pqxx::nontransaction tx(c);
  EXPECT_EQ(RealtimeRepository::requeueOrphaned(tx, {{held.memberId, held.outboxId}}), 1);
  auto again = RealtimeRepository::claimDue(tx, 50);
  ASSERT_EQ(again.size(), 1u);  // member 8's push, which nobody was going to send
  EXPECT_EQ(again[0].memberId, 8);
  EXPECT_EQ(db->count("SELECT count(*) FROM outbox WHERE member_id = 7 AND state = 'sending'"), 1);
}

}  // namespace aisle::engine
