// The pos-adapter's HTTP service end to end on real parts: PostgreSQL, the server on 127.0.0.1:0,
// HMAC-signed terminal requests, the durable spool with the database unreachable, and the real
// binary killed with SIGKILL in the middle of an outage.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <gtest/gtest.h>

#include "temp_dir.h"
#include <pqxx/pqxx>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <barrier>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/common/log.h"
#include "aisle/pos/service.h"
#include "pg_fixture.h"

namespace aisle::pos {
namespace {

namespace fs = std::filesystem;

const std::string kSecret9 = "0123456789abcdef0123456789abcdef";  // hex of the 16-byte key
const std::string kSecret9b = "1123456789abcdef0123456789abcdef";
const std::string kSecret7 = "2123456789abcdef0123456789abcdef";
const std::string kPan = "4111111111111111";
// Nothing listens here: connecting fails at once, as when PostgreSQL is down.
const std::string kUnreachableDb = "host=/nonexistent-aisle-pg-socket-dir port=5432 user=postgres dbname=none";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

using aisle::testing::TempDir;

void seed(const std::string& url) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec(
      "INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) VALUES "
      "(1, 'default', '9', 'Store 9', 'America/New_York'), (2, 'default', '7', 'Store 7', 'America/New_York');"
      "INSERT INTO members (member_id, external_ref) VALUES (42, 'm42');"
      "INSERT INTO cards (member_id, number) VALUES (42, '40000066677');"
      "INSERT INTO campaigns (campaign_id, external_ref, name, type, target_kind, amount_off_minor, valid_from, valid_to) "
      "VALUES (100, '1134', 'Apples', 'amount_off', 'basket', 50, '2000-01-01', '2100-01-01');"
      "INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to, value_minor) VALUES "
      "(42, 100, 'AAAABBBBCCCCD', 'you buy apples', '2000-01-01', '2100-01-01', 50);"
      "INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to, store_id) VALUES "
      "(42, 100, 'OTHERSTORE0001', 'store 7 only', '2000-01-01', '2100-01-01', 2),"
      "(42, 100, 'EXPIREDCOUPON1', 'expired', '2000-01-01', '2001-01-01', NULL)");
  tx.commit();
}

PosConfig config(const fs::path& spoolDir) {
  PosConfig c;
  c.listenPort = 0;
  c.dbPoolSize = 3;
  c.terminals["lane-9"] = TerminalKey{"lane-9", *fromHex(kSecret9), "9"};
  c.terminals["lane-9b"] = TerminalKey{"lane-9b", *fromHex(kSecret9b), "9"};
  c.terminals["lane-7"] = TerminalKey{"lane-7", *fromHex(kSecret7), "7"};
  c.spool.dir = spoolDir.string();
  c.ingest.limits.maxBytes = 64 * 1024;
  return c;
}

std::string poslog(const std::string& seq, const std::string& amount = "1.00", const std::string& store = "9",
                   const std::string& workstation = "1") {
  return "<POSLog xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\"><Transaction><RetailStoreID>" + store +
         "</RetailStoreID><WorkstationID>" + workstation + "</WorkstationID><SequenceNumber>" + seq +
         "</SequenceNumber><BusinessDayDate>2024-03-01</BusinessDayDate><EndDateTime>2024-03-01T10:00:00"
         "</EndDateTime><RetailTransaction><LineItem><Sale><ItemID>4006381333931</ItemID><ExtendedAmount>" + amount +
         "</ExtendedAmount></Sale></LineItem><LineItem><Sale><ItemID>PLU-4011</ItemID><ExtendedAmount>0.50"
         "</ExtendedAmount></Sale></LineItem><LineItem><LoyaltyAccount><LoyaltyCard><PrimaryAccountNumber>40000066677"
         "</PrimaryAccountNumber></LoyaltyCard></LoyaltyAccount></LineItem></RetailTransaction></Transaction></POSLog>";
}

class Terminal {
 public:
  Terminal(std::uint16_t port, const std::string& keyId, const std::string& secretHex)
      : base_("http://127.0.0.1:" + std::to_string(port)), port_(port), signer_(keyId, *fromHex(secretHex), clock_) {}
  http::ClientResponse send(const std::string& method, const std::string& target, const std::string& body = "",
                            const std::string& type = "application/xml", bool sign = true) const {
    http::Headers h;
    if (sign) h.emplace_back("Authorization", signer_.sign(method, target, body));
    auto r = http::request(method, base_ + target, h, body, std::chrono::seconds(10), type);
    if (!r) throw std::runtime_error(r.message());
    return *r;
  }
  // A signed GET with the target sent byte for byte (a URL-encoded track read: http::request goes
  // through Poco::URI, which re-encodes the path differently from what was signed).
  http::ClientResponse rawGet(const std::string& target) const {
    Poco::Net::HTTPClientSession s("127.0.0.1", port_);
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, target, Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", signer_.sign("GET", target, ""));
    s.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = s.receiveResponse(resp);
    return {static_cast<int>(resp.getStatus()), std::string(std::istreambuf_iterator<char>(in), {})};
  }

 private:
  SystemClock clock_;
  std::string base_;
  std::uint16_t port_;
  RequestSigner signer_;
};

class PosServe : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!db_.available()) GTEST_SKIP() << "AISLE_TEST_DB is not set: run under ./aisle test";
    seed(db_.url());
    sink_ = std::make_shared<MemorySink>();
    startService(db_.url());
  }
  void TearDown() override { service_.reset(); }

  void startService(const std::string& url) {
    service_.reset();
    auto s = PosService::create(config(spool_.dir() / "spool"), url, clock_, Logger("pos", sink_, LogLevel::Debug),
                                std::make_shared<MetricsRegistry>());
    ASSERT_TRUE(s) << s.message();
    service_ = std::move(*s);
    service_->start();
    lane9_ = std::make_unique<Terminal>(service_->port(), "lane-9", kSecret9);
  }
  std::int64_t count(const std::string& sql) { return db_.count(sql); }
  std::string one(const std::string& sql) { return db_.one(sql); }

  aisle::testing::PgDatabase db_{"pos_serve"};
  TempDir spool_;
  SystemClock clock_;
  std::shared_ptr<MemorySink> sink_;
  std::unique_ptr<PosService> service_;
  std::unique_ptr<Terminal> lane9_;
};

std::string field(const std::string& body, const std::string& name) {
  const auto p = body.find("\"" + name + "\":");
  if (p == std::string::npos) return "";
  const auto start = p + name.size() + 3;
  return body.substr(start, body.find_first_of(",}", start) - start);
}

TEST_F(PosServe, ASignedPosLogIsStoredAndAResendAnswersTheSameResultWithoutADuplicate) {
  const auto first = lane9_->send("POST", "/v1/poslog", poslog("1"));
  ASSERT_EQ(first.status, 200) << first.body;
  const auto again = lane9_->send("POST", "/v1/poslog", poslog("1"));
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(field(first.body, "transaction_id"), field(again.body, "transaction_id"));
  EXPECT_EQ(field(again.body, "duplicates"), "1");
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), 2);
  // The PLU is kept as the POS's item code; the GTIN line has none.
  EXPECT_EQ(one("SELECT string_agg(coalesce(gtin, '-') || '/' || coalesce(item_code, '-'), ',' ORDER BY line_no) "
                "FROM transaction_lines"),
            "04006381333931/-,-/PLU-4011");
  EXPECT_EQ(one("SELECT member_id FROM transactions"), "42");
}

TEST_F(PosServe, TheSameKeyWithChangedContentIs409AndQuarantined) {
  ASSERT_EQ(lane9_->send("POST", "/v1/poslog", poslog("1")).status, 200);
  const auto changed = lane9_->send("POST", "/v1/poslog", poslog("1", "2.00"));
  EXPECT_EQ(changed.status, 409) << changed.body;
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 1);
  EXPECT_EQ(one("SELECT amount_minor FROM transaction_lines WHERE line_no = 1"), "100");
}

TEST_F(PosServe, ASaleForAnotherStoreIs403AndNothingIsStored) {
  const auto r = lane9_->send("POST", "/v1/poslog", poslog("1", "1.00", "7"));
  EXPECT_EQ(r.status, 403) << r.body;
  Terminal lane7(service_->port(), "lane-7", kSecret7);
  EXPECT_EQ(lane7.send("GET", "/v1/cards/40000066677/coupons?store=9").status, 403);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 0);
}

TEST_F(PosServe, UnsignedOrWronglySignedRequestsAre401) {
  EXPECT_EQ(lane9_->send("POST", "/v1/poslog", poslog("1"), "application/xml", false).status, 401);
  Terminal impostor(service_->port(), "lane-9", kSecret7);
  EXPECT_EQ(impostor.send("POST", "/v1/poslog", poslog("1")).status, 401);
  EXPECT_EQ(impostor.send("GET", "/v1/cards/40000066677/coupons").status, 401);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 0);
}

TEST_F(PosServe, OversizedAndBillionLaughsDocumentsAreRefusedAndNothingIsStored) {
  const std::string huge = "<POSLog>" + std::string(100 * 1024, ' ') + "</POSLog>";
  EXPECT_EQ(lane9_->send("POST", "/v1/poslog", huge).status, 413);
  const std::string laughs = readFile(fs::path(AISLE_SOURCE_DIR) / "tests/unit/pos/golden/malformed/billion-laughs.xml");
  ASSERT_FALSE(laughs.empty());
  const auto r = lane9_->send("POST", "/v1/poslog", laughs);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("DOCTYPE"), std::string::npos) << r.body;
  EXPECT_EQ(lane9_->send("POST", "/v1/transactions", "{\"store\":", "application/json").status, 400);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 0);
}

TEST_F(PosServe, CouponsAtTheSwipeAreTheMembersUsableOnesInThisStore) {
  const auto r = lane9_->send("GET", "/v1/cards/40000066677/coupons?store=9");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"code\":\"AAAABBBBCCCCD\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("OTHERSTORE0001"), std::string::npos) << r.body;  // valid in store 7 only
  EXPECT_EQ(r.body.find("EXPIREDCOUPON1"), std::string::npos) << r.body;
  EXPECT_EQ(field(r.body, "member"), "42");
  EXPECT_EQ(r.body.find("40000066677"), std::string::npos) << "the answer masks the card: " << r.body;
  // The same card as a track 2 read (URL-encoded) and an unknown card.
  EXPECT_EQ(lane9_->rawGet("/v1/cards/%3B40000066677%3D%3F/coupons").status, 200);
  const auto unknown = lane9_->send("GET", "/v1/cards/55550000/coupons");
  EXPECT_EQ(unknown.status, 200);
  EXPECT_EQ(field(unknown.body, "member"), "null");
  // Once redeemed, the coupon is no longer offered.
  const std::string sale = R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":"9",)"
                           R"("ended_at":"2024-03-01T10:00:00Z","card":"40000066677","lines":[{"item":"1","amount":"1"}],)"
                           R"("redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}]})";
  ASSERT_EQ(lane9_->send("POST", "/v1/transactions", sale, "application/json").status, 200);
  EXPECT_EQ(lane9_->send("GET", "/v1/cards/40000066677/coupons").body.find("AAAABBBBCCCCD"), std::string::npos);
}

TEST_F(PosServe, APaymentCardSwipeIs422AndTheNumberIsInNoLogTableOrSpoolFile) {
  const auto keyed = lane9_->send("GET", "/v1/cards/" + kPan + "/coupons?store=9");
  EXPECT_EQ(keyed.status, 422) << keyed.body;
  EXPECT_NE(keyed.body.find("payment card refused"), std::string::npos) << keyed.body;
  const auto track1 = lane9_->rawGet("/v1/cards/%25B" + kPan + "%5EDOE%2FJOHN%5E2512101%3F/coupons");
  EXPECT_EQ(track1.status, 422) << track1.body;
  EXPECT_EQ(keyed.body.find(kPan.substr(6)), std::string::npos);
  // The same card in a sale posted while the database is away goes through the spool: the parser
  // has already dropped it.
  startService(kUnreachableDb);
  std::string sale = poslog("5");
  sale.replace(sale.find("40000066677"), 11, kPan);
  EXPECT_EQ(lane9_->send("POST", "/v1/poslog", sale).status, 202);
  service_.reset();

  for (const auto& l : sink_->lines()) {
    EXPECT_EQ(l.find(kPan.substr(6)), std::string::npos) << l;
    EXPECT_EQ(l.find(kPan.substr(0, 8)), std::string::npos) << l;
  }
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(spool_.dir())) {
    if (!e.is_regular_file()) continue;
    ++files;
    const std::string bytes = readFile(e.path());
    EXPECT_EQ(bytes.find(kPan.substr(6)), std::string::npos) << e.path();
  }
  EXPECT_GT(files, 0u);
  pqxx::connection c(db_.url());
  pqxx::read_transaction tx(c);
  for (const auto& row : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
    const auto hits = tx.exec1("SELECT count(*) FROM " + tx.quote_name(row[0].as<std::string>()) +
                               " t WHERE t::text LIKE " + tx.quote("%" + kPan.substr(6) + "%"));
    EXPECT_EQ(hits[0].as<std::int64_t>(), 0) << row[0].as<std::string>();
  }
}

TEST_F(PosServe, TwoLanesRedeemingTheSameCouponAtOnceGiveExactlyOneRedemptionAndTwoSales) {
  Terminal lane9b(service_->port(), "lane-9b", kSecret9b);
  std::barrier start(2);
  auto post = [&](const Terminal& t, const std::string& ws, int& status) {
    const std::string body = R"({"store":"9","workstation":")" + ws +
                             R"(","business_day":"2024-03-01","sequence":"1","ended_at":"2024-03-01T10:00:00Z",)"
                             R"("card":"40000066677","lines":[{"item":"1","amount":"1"}],)"
                             R"("redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}]})";
    start.arrive_and_wait();
    status = t.send("POST", "/v1/transactions", body, "application/json").status;
  };
  int a = 0, b = 0;
  std::thread t1(post, std::cref(*lane9_), "1", std::ref(a)), t2(post, std::cref(lane9b), "2", std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(a, 200);  // a coupon problem never rejects the sale
  EXPECT_EQ(b, 200);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 2);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'accepted'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'exception'"), 1);
}

TEST_F(PosServe, WithTheDatabaseAwayPostsAre202AndTheSpoolIsStoredInOrderWhenItReturns) {
  startService(kUnreachableDb);
  EXPECT_FALSE(service_->databaseUp());
  const auto r = lane9_->send("POST", "/v1/poslog", poslog("1"));
  EXPECT_EQ(r.status, 202) << r.body;
  // A post-void of that sale, as JSON: it must not overtake its original on replay.
  const std::string pv = R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":"2",)"
                         R"("ended_at":"2024-03-01T15:05:00Z","post_void_of":{"sequence":"1"}})";
  EXPECT_EQ(lane9_->send("POST", "/v1/transactions", pv, "application/json").status, 202);
  EXPECT_EQ(lane9_->send("GET", "/v1/cards/40000066677/coupons").status, 503);
  EXPECT_EQ(service_->spoolStats().depthRecords, 2u);

  startService(db_.url());  // the same spool directory, reopened
  ASSERT_TRUE(service_->waitUntilDrained(std::chrono::seconds(30)));
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 2);
  EXPECT_EQ(one("SELECT is_post_voided FROM transactions WHERE sequence_no = '1'"), "t");
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 0);  // applied, not parked
  // The spooled form has the content hash of the original document: a resend is a duplicate.
  const auto resend = lane9_->send("POST", "/v1/poslog", poslog("1"));
  EXPECT_EQ(resend.status, 200) << resend.body;
  EXPECT_EQ(field(resend.body, "duplicates"), "1");
}

TEST_F(PosServe, ADropFolderMovesProcessedFilesToDoneAndFailedOnesToFailedWithAReason) {
  TempDir drop;
  service_.reset();
  PosConfig c = config(spool_.dir() / "spool");
  c.dropDir = drop.dir().string();
  auto s = PosService::create(c, db_.url(), clock_, Logger("pos", sink_), std::make_shared<MetricsRegistry>());
  ASSERT_TRUE(s) << s.message();
  std::ofstream(drop.dir() / "a.xml") << poslog("1");
  std::ofstream(drop.dir() / "b.xml") << "<POSLog><unclosed>";
  std::ofstream(drop.dir() / "c.xml.part") << "still being written";
  const auto scan = (*s)->scanDropFolder();
  EXPECT_EQ(scan.done, 1);
  EXPECT_EQ(scan.failed, 1);
  EXPECT_TRUE(fs::exists(drop.dir() / "done/a.xml"));
  EXPECT_TRUE(fs::exists(drop.dir() / "failed/b.xml"));
  EXPECT_NE(readFile(drop.dir() / "failed/b.xml.reason").find("b.xml"), std::string::npos);
  EXPECT_TRUE(fs::exists(drop.dir() / "c.xml.part"));
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 1);
}

// ------------------------------------------------------------------ the real binary, SIGKILLed

struct Child {
  pid_t pid = -1;
  std::uint16_t port = 0;
};

Child spawn(const fs::path& configFile) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe");
  const std::string bin = std::string(AISLE_BINARY_DIR) + "/pos-adapter/aisleone-pos-adapter";
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    ::unsetenv("AISLE_DB");  // the config's database.url is the one under test
    execl(bin.c_str(), bin.c_str(), "--config", configFile.c_str(), "serve", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(out[1]);
  // The child prints {"listening":PORT} once it takes requests: read that line (blocking on the event).
  std::string line;
  char ch;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  close(out[0]);
  Child c;
  c.pid = pid;
  const auto p = line.find(':');
  if (p == std::string::npos) throw std::runtime_error("child did not start: '" + line + "'");
  c.port = static_cast<std::uint16_t>(std::stoi(line.substr(p + 1)));
  return c;
}

void writeConfig(const fs::path& file, const std::string& url, const fs::path& spool) {
  std::ofstream(file) << "[database]\nurl = \"" << url << "\"\n[server]\nport = 0\n[spool]\ndir = \"" << spool.string()
                      << "\"\nfsync = \"always\"\n[terminal.lane-9]\nstore = \"9\"\nsecret_hex = \"" << kSecret9 << "\"\n";
}

TEST_F(PosServe, SigkillDuringAnOutageLosesNoAcknowledgedSale) {
  service_.reset();
  TempDir dir;
  const fs::path cfg = dir.dir() / "pos.conf";
  writeConfig(cfg, kUnreachableDb, dir.dir() / "spool");
  Child down = spawn(cfg);
  Terminal lane(down.port, "lane-9", kSecret9);
  constexpr int kSales = 5;
  for (int i = 1; i <= kSales; ++i) ASSERT_EQ(lane.send("POST", "/v1/poslog", poslog(std::to_string(i))).status, 202);
  ASSERT_EQ(::kill(down.pid, SIGKILL), 0);
  int st = 0;
  waitpid(down.pid, &st, 0);
  ASSERT_TRUE(WIFSIGNALED(st));

  writeConfig(cfg, db_.url(), dir.dir() / "spool");
  Child up = spawn(cfg);
  Terminal lane2(up.port, "lane-9", kSecret9);
  // Wait for the replay through the service's own health answer, with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string health;
  while (std::chrono::steady_clock::now() < deadline) {
    health = lane2.send("GET", "/healthz", "", "application/json", false).body;
    if (health.find("\"spool_depth\":0") != std::string::npos) break;
    std::this_thread::yield();
  }
  EXPECT_NE(health.find("\"spool_depth\":0"), std::string::npos) << health;
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), kSales);
  ::kill(up.pid, SIGTERM);
  waitpid(up.pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

}  // namespace
}  // namespace aisle::pos
