// "A PostgreSQL restart is survived": the real engine binary against its own private PostgreSQL
// cluster (initdb into a temporary directory, unix socket only -- the shared test cluster is never
// touched), fed by a gateway stand-in that follows the uplink contract (2xx acknowledges; network
// errors, 5xx and 429 are retried after Retry-After or a backoff; 400/413/422 are dropped), pushing
// through the webhook provider to a receiver that records each Idempotency-Key.
//
// PostgreSQL is stopped fully (pg_ctl stop -m fast) with pushes still pending in the outbox (the
// receiver was refusing them). While it is down the engine answers 503 with Retry-After, quickly,
// and keeps running; the gateway keeps retrying. PostgreSQL starts again: the same engine process
// reconnects, the retried batches are stored once, the pending pushes are delivered, and every push
// reaches the receiver exactly once.
#include <gtest/gtest.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <pqxx/pqxx>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http_client.h"
#include "aisle/common/log.h"
#include "aisle/common/migrate.h"
#include "engine_process.h"
#include "eventually.h"
#include "temp_dir.h"

namespace aisle {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::EngineProcess;
using testing::eventually;
using testing::entryEventBatch;
using testing::FakeWebhook;

const std::string kMaster(32, 'R');
const fs::path kPgBin = "/usr/lib/postgresql/15/bin";

// A throwaway PostgreSQL 15 cluster of this test's own: data and socket in one short /tmp
// directory (unix socket paths are limited to about 100 bytes), no TCP. As root it runs as the
// postgres user, who must own the directory.
class PrivateCluster {
 public:
  PrivateCluster() : dir_("aisle-pgr") {
    if (geteuid() == 0) run("chown postgres " + dir_.path());
    ok_ = run(asPg(kPgBin.string() + "/initdb -D " + data() + " --auth=trust -U postgres -E UTF8") + " >" + dir_.sub("initdb.log") +
              " 2>&1");
  }
  ~PrivateCluster() { stop(); }
  bool ok() const { return ok_; }
  bool start() {
    up_ = run(asPg(kPgBin.string() + "/pg_ctl -D " + data() + " -l " + dir_.sub("postgres.log") + " -w -t 60 -o \"-k " +
                   dir_.path() + " -c listen_addresses= -p 5432 -c fsync=off\" start") + " >/dev/null 2>&1");
    return up_;
  }
  // -m fast: every session is ended and the server exits, as an operator's restart does.
  bool stop() {
    if (!up_) return true;
    up_ = false;
    return run(asPg(kPgBin.string() + "/pg_ctl -D " + data() + " -m fast -w stop") + " >/dev/null 2>&1");
  }
  std::string url(const std::string& db = "postgres") const {
    return "host=" + dir_.path() + " port=5432 user=postgres dbname=" + db;
  }
  std::string serverLog() const {
    std::ifstream in(dir_.sub("postgres.log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string data() const { return dir_.sub("data"); }
  static std::string asPg(const std::string& cmd) { return geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd; }
  static bool run(const std::string& cmd) { return std::system(cmd.c_str()) == 0; }
  testing::TempDir dir_;
  bool ok_ = false;
  bool up_ = false;
};

struct Answer {
  int status = 0;  // 0: no answer (connection refused, reset, timeout)
  std::string retryAfter;
  std::string body;
};

// One signed POST; reads the Retry-After header too (the common client returns status and body).
Answer postEvents(std::uint16_t port, const std::string& body) {
  SystemClock clock;
  RequestSigner signer("key-1", "gw-secret", clock);
  try {
    Poco::Net::HTTPClientSession s("127.0.0.1", port);
    s.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req("POST", "/v1/proximity/events", Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", signer.sign("POST", "/v1/proximity/events", body));
    req.setContentType("application/json");
    req.setContentLength64(static_cast<std::int64_t>(body.size()));
    s.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& is = s.receiveResponse(resp);
    Answer a;
    a.status = static_cast<int>(resp.getStatus());
    a.retryAfter = resp.get("Retry-After", "");
    std::stringstream ss;
    ss << is.rdbuf();
    a.body = ss.str();
    return a;
  } catch (const Poco::Exception& e) {
    return Answer{0, "", e.displayText()};
  }
}

class EnginePgRestart : public ::testing::Test {
 protected:
  static constexpr int kBatches = 12;  // ten events each, one per member
  static constexpr int kMembers = kBatches * 10;

  void SetUp() override {
    const std::string binary = std::string(AISLE_BINARY_DIR) + "/coupon-engine/aisleone-coupon-engine";
    if (!fs::exists(binary)) GTEST_SKIP() << "aisleone-coupon-engine not built";
    if (!fs::exists(kPgBin / "initdb")) GTEST_SKIP() << "PostgreSQL 15 is not installed in " << kPgBin;
    pg = std::make_unique<PrivateCluster>();
    ASSERT_TRUE(pg->ok()) << "initdb failed";
    ASSERT_TRUE(pg->start()) << pg->serverLog();
    {
      pqxx::connection admin(pg->url());
      pqxx::nontransaction nt(admin);
      nt.exec("CREATE DATABASE engine");
    }
    pqxx::connection c(pg->url("engine"));
    auto m = migrate(c, embeddedMigrations(), Logger("test", nullptr));
    ASSERT_TRUE(m) << m.message();
    aisle::testing::seedFobShoppers(c, kMembers, kMaster, "PGR-COUPON-");
    aisle::testing::writeWebhookEngineConfig(work.sub("engine.conf"), kMaster, hook.url());
    engine = std::make_unique<EngineProcess>(work.dir() / "engine.conf", work.dir(), pg->url("engine"), 1);
    port = engine->port();
    ASSERT_NE(port, 0) << engine->logText();
  }

  // The gateway's uplink contract: retry until a 2xx, after Retry-After when given, else a backoff.
  bool sendLikeTheGateway(int b) {
    const std::string body = entryEventBatch(b, t0);
    auto delay = 100ms;
    for (int attempt = 0; attempt < 600; ++attempt) {
      const Answer a = postEvents(port, body);
      if (a.status >= 200 && a.status < 300) return true;
      if (a.status == 400 || a.status == 413 || a.status == 422) return false;  // never retried
      if (a.status == 503) {
        ++unavailable;
        if (a.retryAfter.empty()) ++unavailableWithoutRetryAfter;
      }
      std::this_thread::sleep_for(a.retryAfter.empty() ? delay : std::chrono::milliseconds(200));
      delay = std::min<std::chrono::milliseconds>(delay * 2, 1s);
    }
    return false;
  }

  std::int64_t count(const std::string& sql) {
    pqxx::connection c(pg->url("engine"));
    pqxx::nontransaction nt(c);
    return nt.exec1(sql)[0].as<std::int64_t>();
  }

  testing::TempDir work{"aisle-pgr-work"};
  std::unique_ptr<PrivateCluster> pg;
  FakeWebhook hook;
  std::unique_ptr<EngineProcess> engine;
  std::uint16_t port = 0;
  std::int64_t t0 = SystemClock().nowUnixMs();
  std::atomic<int> unavailable{0};
  std::atomic<int> unavailableWithoutRetryAfter{0};
};

}  // namespace

TEST_F(EnginePgRestart, WhilePostgresIsDownTheEngineAnswers503AndAfterItsRestartDeliversEveryPushExactlyOnce) {
  // 1. Normal service: three batches stored and pushed.
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(sendLikeTheGateway(b));
  ASSERT_TRUE(eventually([&] { return count("SELECT count(*) FROM outbox WHERE state = 'sent'") == 30; }))
      << engine->logText();

  // 2. The push receiver refuses: three more batches are stored, their pushes stay pending (retry).
  hook.setDown(true);
  for (int b = 3; b < 6; ++b) ASSERT_TRUE(sendLikeTheGateway(b));
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'pending' AND attempts >= 1") == 30;
  })) << engine->logText();

  // 3. PostgreSQL stops. The engine answers at once, clearly, and tells the caller when to retry.
  ASSERT_TRUE(pg->stop());
  const auto asked = std::chrono::steady_clock::now();
  const Answer down = postEvents(port, entryEventBatch(6, t0));
  const auto took = std::chrono::steady_clock::now() - asked;
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(down.retryAfter, "1");
  EXPECT_NE(down.body.find("database unavailable"), std::string::npos) << down.body;
  EXPECT_LT(took, 2s) << "a request must not hang while the database is away";

  // 4. The gateway keeps retrying the rest through the outage; the receiver comes back meanwhile.
  std::atomic<int> acknowledged{0};
  std::thread gateway([&] {
    for (int b = 6; b < kBatches; ++b) {
      if (sendLikeTheGateway(b)) ++acknowledged;
    }
  });
  ASSERT_TRUE(eventually([&] { return unavailable >= 5; }, 30s));
  hook.setDown(false);
  EXPECT_TRUE(engine->alive()) << engine->logText();
  EXPECT_EQ(acknowledged, 0);
  auto health = http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", {}, "", 5s);
  ASSERT_TRUE(health) << health.message();
  EXPECT_EQ(health->status, 200);

  // 5. PostgreSQL is back: the same engine process reconnects and catches up.
  ASSERT_TRUE(pg->start()) << pg->serverLog();
  gateway.join();
  EXPECT_EQ(acknowledged, kBatches - 6);
  EXPECT_TRUE(engine->alive()) << engine->logText();
  EXPECT_EQ(unavailableWithoutRetryAfter, 0);
  ASSERT_TRUE(eventually([&] {
    return count("SELECT count(*) FROM outbox WHERE state = 'sent'") == kMembers;
  })) << count("SELECT count(*) FROM outbox WHERE state = 'sent'") << " sent\n"
      << engine->logText();
  EXPECT_EQ(count("SELECT count(*) FROM proximity_events"), kMembers);
  EXPECT_EQ(count("SELECT count(*) FROM trigger_decisions WHERE action = 'push'"), kMembers);
  EXPECT_EQ(count("SELECT count(*) FROM outbox"), kMembers);
  EXPECT_EQ(count("SELECT count(*) FROM coupons WHERE state = 'delivered'"), kMembers);
  // Every push reached the receiver, each exactly once (the refused attempts are not deliveries).
  const auto received = hook.received();
  EXPECT_EQ(received.size(), static_cast<std::size_t>(kMembers));
  for (const auto& [key, times] : received) EXPECT_EQ(times, 1) << key << " delivered " << times << " times";
  EXPECT_GT(hook.refused(), 0);
}

}  // namespace aisle
