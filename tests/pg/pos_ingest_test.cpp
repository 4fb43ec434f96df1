// pos-adapter ingest against a real PostgreSQL: idempotency, conflicts, concurrency, post-voids,
// coupons, card policies, and a search of the whole database and the logs for a payment card number.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <barrier>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "aisle/common/log.h"
#include "aisle/common/pg.h"
#include "aisle/pos/cli.h"
#include "aisle/pos/ingest.h"
#include "pg_fixture.h"

namespace aisle::pos {
namespace {

using aisle::testing::PgDatabase;

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::filesystem::path datasets() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) return env;
  return std::filesystem::path(AISLE_SOURCE_DIR) / "../shared/datasets";
}

// Two stores, a member with a card, a campaign with one single-use coupon for that member.
void seed(const std::string& url) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  tx.exec(
      "INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) VALUES "
      "(1, 'default', '9', 'Store 9', 'America/New_York'), (2, 'default', '0610', 'Wellingborough', 'Europe/London'), "
      "(3, 'default', '7', 'Store 7', 'America/New_York');"
      "INSERT INTO members (member_id, external_ref) VALUES (42, 'm42'), (43, 'm43');"
      "INSERT INTO cards (member_id, number) VALUES (42, '40000066677'), (43, '0012345678');"
      "INSERT INTO campaigns (campaign_id, external_ref, name, type, target_kind, amount_off_minor, valid_from, valid_to) "
      "VALUES (100, '1134', 'Apples', 'amount_off', 'basket', 50, '2000-01-01', '2100-01-01');"
      "INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to) "
      "VALUES (42, 100, 'AAAABBBBCCCCD', 'you buy apples', '2000-01-01', '2100-01-01')");
  tx.commit();
}

std::string sale(const std::string& seq, const std::string& extra = "", const std::string& day = "2024-03-01",
                 const std::string& amount = "1.00") {
  return R"({"store":"9","workstation":"1","business_day":")" + day + R"(","sequence":")" + seq +
         R"(","ended_at":")" + day + R"(T10:00:00Z","lines":[{"item":"4006381333931","amount":")" + amount + R"("}])" +
         extra + "}";
}

class PosIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!db_.available()) GTEST_SKIP() << "AISLE_TEST_DB is not set: run under ./aisle test";
    seed(db_.url());
    sink_ = std::make_shared<MemorySink>();
    log_ = std::make_unique<Logger>("pos-test", sink_, LogLevel::Debug);
    session_ = std::make_unique<PgSession>(db_.url(), *log_);
    repo_ = std::make_unique<TransactionRepository>(*session_);
    service_ = std::make_unique<IngestService>(*repo_, zones_, IngestConfig{}, *log_);
  }
  std::int64_t count(const std::string& sql) { return db_.count(sql); }
  std::string one(const std::string& sql) { return db_.one(sql); }

  PgDatabase db_{"pos_ingest"};
  std::shared_ptr<MemorySink> sink_;
  std::unique_ptr<Logger> log_;
  std::unique_ptr<PgSession> session_;
  std::unique_ptr<TransactionRepository> repo_;
  TimeZoneDatabase zones_;
  std::unique_ptr<IngestService> service_;
};

TEST_F(PosIngest, TheRealSamplesLoadWithHandCheckedRows) {
  const auto dir = datasets() / "poslog";
  if (!std::filesystem::exists(dir / "ncr-acs-small.xml")) GTEST_SKIP() << "shared data set poslog/ not found";
  auto s = service_->ingest(readFile(dir / "ncr-acs-small.xml"), "ncr");
  s += service_->ingest(readFile(dir / "sainsburys-6.0.xml"), "sainsburys");
  EXPECT_EQ(s.json(), R"({"transactions":2,"duplicates":0,"rejected":0,"lines":4,"redemptions":3})");
  EXPECT_EQ(s.skipped, 1);  // the operator sign-on
  // NCR: member 42 through the 25-digit acs:LoyaltyID; zone-less 02:02:54 in New York (EDT).
  EXPECT_EQ(one("SELECT member_id || ' ' || occurred_at AT TIME ZONE 'UTC' || ' ' || business_day || ' ' || total_minor "
                "FROM transactions WHERE sequence_no = '161'"),
            "42 2017-10-01 06:02:54 2017-09-30 107");
  EXPECT_EQ(one("SELECT gtin || ' ' || quantity || ' ' || unit_price_minor || ' ' || amount_minor FROM transaction_lines "
                "WHERE member_id = 42"),
            "00000000067591 0.420 299 126");
  EXPECT_EQ(one("SELECT string_agg(coalesce(campaign_id::text, '-') || ':' || amount_minor, ',' ORDER BY redemption_id) "
                "FROM redemptions WHERE member_id = 42"),
            "100:0,-:19,-:0");  // offer 1134 is campaign 100's external ref
  EXPECT_EQ(one("SELECT member_id || ' ' || store_id || ' ' || currency || ' ' || total_minor || ' ' || "
                "(occurred_at AT TIME ZONE 'UTC') FROM transactions WHERE sequence_no = '451'"),
            "0 2 GBP 657 2016-08-22 14:21:54.483");
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines WHERE member_id = 0"), 3);
}

TEST_F(PosIngest, ResendingTheSameTransactionIsADuplicateAndWritesNothing) {
  EXPECT_EQ(service_->ingest(sale("1"), "a").transactions, 1);
  const auto again = service_->ingest(sale("1"), "a");
  EXPECT_EQ(again.duplicates, 1);
  EXPECT_EQ(again.transactions, 0);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 0);
}

TEST_F(PosIngest, SameKeyWithADifferentBodyIsAConflictAndQuarantinedOnce) {
  ASSERT_EQ(service_->ingest(sale("1"), "a").transactions, 1);
  const auto changed = service_->ingest(sale("1", "", "2024-03-01", "2.00"), "b");
  EXPECT_EQ(changed.conflicts, 1);
  EXPECT_EQ(changed.rejected, 1);
  service_->ingest(sale("1", "", "2024-03-01", "2.00"), "b");  // the same conflicting resend again
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 1);
  EXPECT_EQ(one("SELECT amount_minor FROM transaction_lines"), "100");  // the original stands
}

TEST_F(PosIngest, SequenceNumbersRepeatingAfterAResetOnANewBusinessDayAreNewTransactions) {
  EXPECT_EQ(service_->ingest(sale("1", "", "2024-03-01"), "a").transactions, 1);
  EXPECT_EQ(service_->ingest(sale("1", "", "2024-03-02"), "a").transactions, 1);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 2);
}

TEST_F(PosIngest, TwoConnectionsPostingTheSameTransactionsAtOnceStoreEachExactlyOnce) {
  constexpr int kTransactions = 30;
  std::barrier start(2);
  auto lane = [&](IngestSummary& out) {
    PgSession session(db_.url(), *log_);
    TransactionRepository repo(session);
    TimeZoneDatabase zones;
    IngestService service(repo, zones, IngestConfig{}, *log_);
    start.arrive_and_wait();
    for (int i = 0; i < kTransactions; ++i) out += service.ingest(sale(std::to_string(i)), "lane");
  };
  IngestSummary a, b;
  std::thread t1(lane, std::ref(a)), t2(lane, std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(a.transactions + b.transactions, kTransactions);
  EXPECT_EQ(a.duplicates + b.duplicates, kTransactions);
  EXPECT_EQ(a.rejected + b.rejected, 0);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), kTransactions);
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), kTransactions);
}

TEST_F(PosIngest, AKnownCardAttributesTheSaleToItsMemberAndAnUnknownOneToAnonymous) {
  service_->ingest(sale("1", R"(,"card":"0012 3456 78")"), "a");
  service_->ingest(sale("2", R"(,"card":"99999999")"), "a");
  EXPECT_EQ(one("SELECT member_id || ' ' || card_number FROM transactions WHERE sequence_no = '1'"), "43 0012345678");
  EXPECT_EQ(one("SELECT member_id || ' ' || card_number FROM transactions WHERE sequence_no = '2'"), "0 99999999");
  IngestConfig drop;
  drop.unknownCard = UnknownCardPolicy::AnonymousDropCard;
  IngestService dropping(*repo_, zones_, drop, *log_);
  dropping.ingest(sale("3", R"(,"card":"88888888")"), "a");
  EXPECT_EQ(one("SELECT member_id || ' ' || coalesce(card_number, '-') FROM transactions WHERE sequence_no = '3'"), "0 -");
}

TEST_F(PosIngest, ACouponIsRedeemedOnceAndASecondUseIsAnExceptionNotARejectedSale) {
  const std::string coupon = R"(,"card":"40000066677","redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}])";
  const auto first = service_->ingest(sale("1", coupon), "a");
  EXPECT_EQ(first.redemptions, 1);
  EXPECT_EQ(one("SELECT state FROM coupons WHERE code = 'AAAABBBBCCCCD'"), "redeemed");
  const auto second = service_->ingest(sale("2", coupon), "a");
  EXPECT_EQ(second.transactions, 1);  // the sale stands
  EXPECT_EQ(second.redemptions, 0);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'accepted'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'exception'"), 1);
}

TEST_F(PosIngest, OneCouponRedeemedConcurrentlyOnTwoLanesGivesExactlyOneRedemption) {
  std::barrier start(2);
  auto lane = [&](const std::string& ws, IngestSummary& out) {
    PgSession session(db_.url(), *log_);
    TransactionRepository repo(session);
    TimeZoneDatabase zones;
    IngestService service(repo, zones, IngestConfig{}, *log_);
    const std::string body = R"({"store":"9","workstation":")" + ws +
                             R"(","business_day":"2024-03-01","sequence":"1","ended_at":"2024-03-01T10:00:00Z",)"
                             R"("card":"40000066677","lines":[{"item":"1","amount":"1"}],)"
                             R"("redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}]})";
    start.arrive_and_wait();
    out = service.ingest(body, "lane " + ws);
  };
  IngestSummary a, b;
  std::thread t1(lane, "1", std::ref(a)), t2(lane, "2", std::ref(b));
  t1.join();
  t2.join();
  EXPECT_EQ(a.transactions + b.transactions, 2);
  EXPECT_EQ(a.redemptions + b.redemptions, 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'accepted'"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'exception'"), 1);
}

TEST_F(PosIngest, TrainingModeWithARealCardAndASingleUseCouponBurnsNothingAndCountsNothing) {
  const auto s = service_->ingest(
      sale("1", R"(,"training":true,"card":"40000066677","redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}])"),
      "a");
  EXPECT_EQ(s.transactions, 1);
  EXPECT_EQ(s.lines, 0);
  EXPECT_EQ(s.redemptions, 0);
  EXPECT_EQ(one("SELECT state FROM coupons WHERE code = 'AAAABBBBCCCCD'"), "issued");
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), 0);
  EXPECT_EQ(one("SELECT is_training FROM transactions"), "t");
}

TEST_F(PosIngest, APostVoidReversesTheOriginalAndGivesItsCouponBack) {
  service_->ingest(sale("1", R"(,"card":"40000066677","redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}])"), "a");
  ASSERT_EQ(one("SELECT state FROM coupons"), "redeemed");
  const auto pv = service_->ingest(sale("2", R"(,"post_void_of":{"sequence":"1"})"), "a");
  EXPECT_EQ(pv.transactions, 1);
  EXPECT_EQ(pv.lines, 0);
  EXPECT_EQ(one("SELECT is_post_voided FROM transactions WHERE sequence_no = '1'"), "t");
  EXPECT_EQ(one("SELECT status FROM redemptions"), "reversed");
  EXPECT_EQ(one("SELECT state FROM coupons"), "issued");
}

TEST_F(PosIngest, APostVoidBeforeItsOriginalIsParkedAndAppliedWhenTheOriginalArrives) {
  const auto pv = service_->ingest(sale("2", R"(,"post_void_of":{"sequence":"1"})"), "a");
  EXPECT_EQ(pv.transactions, 1);
  EXPECT_EQ(one("SELECT reason FROM quarantined_transactions"), "parked post-void");
  const auto original = service_->ingest(
      sale("1", R"(,"card":"40000066677","redemptions":[{"kind":"coupon","code":"AAAABBBBCCCCD","amount":"0.50"}])"), "a");
  EXPECT_EQ(original.transactions, 1);
  EXPECT_EQ(original.redemptions, 0);  // a voided sale burns no coupon
  EXPECT_EQ(one("SELECT is_post_voided FROM transactions WHERE sequence_no = '1'"), "t");
  EXPECT_EQ(one("SELECT state FROM coupons"), "issued");
  EXPECT_EQ(one("SELECT reason FROM quarantined_transactions"), "post-void applied");
  // Resending either is a duplicate, not a new effect.
  EXPECT_EQ(service_->ingest(sale("2", R"(,"post_void_of":{"sequence":"1"})"), "a").duplicates, 1);
}

TEST_F(PosIngest, AReturnAsANegativeSaleLinkedToAnotherStoreAndDayIsStoredNegative) {
  const auto s = service_->ingest(
      sale("5", "", "2024-03-05", "-1.00"), "a");
  EXPECT_EQ(s.transactions, 1);
  const std::string linked = R"({"store":"9","workstation":"1","business_day":"2024-03-05","sequence":"6",)"
                             R"("ended_at":"2024-03-05T10:00:00Z","lines":[{"item":"4006381333931","quantity":"-1",)"
                             R"("amount":"-1.00","return_of":{"store":"7","business_day":"2024-02-27","sequence":"99"}}]})";
  EXPECT_EQ(service_->ingest(linked, "b").transactions, 1);
  EXPECT_EQ(one("SELECT string_agg(quantity || '/' || amount_minor || '/' || is_return, ',') FROM transaction_lines"),
            "-1.000/-100/true,-1.000/-100/true");
}

TEST_F(PosIngest, AnUnknownStoreIsRejectedUnlessConfiguredToCreateIt) {
  const std::string other = R"({"store":"404","workstation":"1","business_day":"2024-03-01","sequence":"1","ended_at":"2024-03-01T10:00:00"})";
  const auto r = service_->ingest(other, "a");
  EXPECT_EQ(r.rejected, 1);
  EXPECT_NE(r.errors.at(0).find("unknown store '404'"), std::string::npos) << r.errors[0];
  IngestConfig create;
  create.unknownStore = UnknownStorePolicy::Create;
  create.newStoreTimeZone = "Europe/London";
  IngestService creating(*repo_, zones_, create, *log_);
  EXPECT_EQ(creating.ingest(other, "a").transactions, 1);
  // Zone-less 10:00 in London in March (GMT) is 10:00Z.
  EXPECT_EQ(one("SELECT occurred_at AT TIME ZONE 'UTC' FROM transactions"), "2024-03-01 10:00:00");
}

// The issue's rule: a bank card on the loyalty reader is never stored or logged anywhere.
TEST_F(PosIngest, APaymentCardNumberAppearsNowhereInTheDatabaseOrTheLogs) {
  const std::string pan = "4111111111111111";
  const std::string xml =
      "<POSLog xmlns=\"http://www.nrf-arts.org/IXRetail/namespace/\"><Transaction><RetailStoreID>9</RetailStoreID>"
      "<WorkstationID>1</WorkstationID><SequenceNumber>77</SequenceNumber><BusinessDayDate>2024-03-01</BusinessDayDate>"
      "<EndDateTime>2024-03-01T10:00:00</EndDateTime><RetailTransaction>"
      "<LineItem><Sale><ItemID>4006381333931</ItemID><ExtendedAmount>1.00</ExtendedAmount></Sale></LineItem>"
      "<LineItem><LoyaltyAccount><LoyaltyCard><PrimaryAccountNumber>" + pan +
      "</PrimaryAccountNumber></LoyaltyCard></LoyaltyAccount></LineItem>"
      "<LineItem><Tender><CreditDebit><PrimaryAccountNumber>" + pan + "</PrimaryAccountNumber></CreditDebit></Tender></LineItem>"
      "<Customer><CustomerID>" + pan + "</CustomerID></Customer></RetailTransaction></Transaction></POSLog>";
  EXPECT_EQ(service_->ingest(xml, "lane-3").transactions, 1);
  // A conflicting resend (quarantine keeps a copy of the content) and a training copy (kept as JSON).
  service_->ingest(std::string(xml).replace(xml.find("1.00"), 4, "2.00"), "lane-3");
  std::string training = xml;
  training.replace(training.find("<Transaction>"), 13, "<Transaction TrainingModeFlag=\"true\">");
  training.replace(training.find(">77<"), 4, ">78<");
  service_->ingest(training, "lane-3");

  pqxx::connection c(db_.url());
  pqxx::read_transaction tx(c);
  std::int64_t tables = 0;
  for (const auto& row : tx.exec("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")) {
    const std::string table = row[0].as<std::string>();
    const auto hits = tx.exec1("SELECT count(*) FROM " + tx.quote_name(table) + " t WHERE t::text LIKE " +
                               tx.quote("%" + pan.substr(0, 6) + "%") + " OR t::text LIKE " +
                               tx.quote("%" + pan.substr(6) + "%"));
    EXPECT_EQ(hits[0].as<std::int64_t>(), 0) << "found in table " << table;
    ++tables;
  }
  EXPECT_GT(tables, 10);
  const auto lines = sink_->lines();
  EXPECT_FALSE(lines.empty());
  for (const auto& l : lines) EXPECT_EQ(l.find(pan.substr(6)), std::string::npos) << l;
  EXPECT_EQ(one("SELECT coalesce(card_number, '-') FROM transactions WHERE sequence_no = '77'"), "-");
}

}  // namespace
}  // namespace aisle::pos

namespace aisle::pos {
namespace {

TEST(PosImportCommand, PrintsTheDesignSummaryAndCountsResendsAsDuplicates) {
  aisle::testing::PgDatabase db("pos_import");
  AISLE_REQUIRE_PG(db);
  ::setenv("AISLE_DB", db.url().c_str(), 1);
  const std::string golden = std::string(AISLE_SOURCE_DIR) + "/tests/unit/pos/golden/";
  std::ostringstream out, err;
  const std::vector<std::string> args = {"import", "--create-stores", "America/New_York", golden + "ncr-sale.xml",
                                         golden + "poslog6-sale.xml", golden + "malformed"};
  ASSERT_EQ(runCli(args, out, err), 0) << err.str();
  // 2 sales stored (sign-on skipped); every malformed file is one rejection, with its reason on stderr.
  EXPECT_EQ(out.str(), "{\"transactions\":2,\"duplicates\":0,\"rejected\":12,\"lines\":4,\"redemptions\":3}\n");
  EXPECT_NE(err.str().find("billion-laughs.xml: document has a DOCTYPE"), std::string::npos) << err.str();
  std::ostringstream again, err2;
  ASSERT_EQ(runCli({"import", golden + "ncr-sale.xml", golden + "poslog6-sale.xml"}, again, err2), 0) << err2.str();
  EXPECT_EQ(again.str(), "{\"transactions\":0,\"duplicates\":2,\"rejected\":0,\"lines\":0,\"redemptions\":0}\n");
  ::unsetenv("AISLE_DB");
}

TEST(PosImportCommand, ANonexistentFileIsOneClearErrorAndNonZeroExit) {
  std::ostringstream out, err;
  EXPECT_EQ(runCli({"import", "/nonexistent/file.xml"}, out, err), 2);
  EXPECT_EQ(err.str(), "aisleone-pos-adapter: no such file or directory: /nonexistent/file.xml\n");
}

}  // namespace
}  // namespace aisle::pos

namespace aisle::pos {
namespace {

TEST(PosRedemptionLimits, BeyondTheDailyLimitACouponIsAnExceptionAndTheSaleStands) {
  aisle::testing::PgDatabase db("pos_limits");
  AISLE_REQUIRE_PG(db);
  seed(db.url());
  {
    pqxx::connection c(db.url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to) "
            "VALUES (42, 100, 'SECONDCOUPON1', 'second', '2000-01-01', '2100-01-01')");
    tx.commit();
  }
  Logger log("t", nullptr);
  PgSession session(db.url(), log);
  TransactionRepository repo(session);
  TimeZoneDatabase zones;
  IngestConfig cfg;
  cfg.redemptionsPerMemberPerDay = 1;
  IngestService service(repo, zones, cfg, log);
  auto withCoupon = [](const std::string& code) {
    return R"(,"card":"40000066677","redemptions":[{"kind":"coupon","code":")" + code + R"(","amount":"0.50"},)"
           R"({"kind":"loyalty_reward","promotion":"5123","amount":"0.19"}])";
  };
  EXPECT_EQ(service.ingest(sale("1", withCoupon("AAAABBBBCCCCD")), "a").redemptions, 2);
  const auto second = service.ingest(sale("2", withCoupon("SECONDCOUPON1")), "a");
  EXPECT_EQ(second.transactions, 1);
  EXPECT_EQ(second.redemptions, 1);  // the loyalty reward; the coupon is over the limit
  pqxx::connection c(db.url());
  pqxx::read_transaction tx(c);
  EXPECT_EQ(tx.exec1("SELECT note FROM redemptions WHERE status = 'exception'")[0].as<std::string>(),
            "daily redemption limit reached");
  EXPECT_EQ(tx.exec1("SELECT state FROM coupons WHERE code = 'SECONDCOUPON1'")[0].as<std::string>(), "issued");
  // Promotions are kept in promotion_id, not disguised as a coupon UPC.
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM redemptions WHERE promotion_id = '5123' AND coupon_upc IS NULL")[0].as<int>(), 2);
  // The next business day the limit starts again.
  EXPECT_EQ(service.ingest(sale("3", withCoupon("SECONDCOUPON1"), "2024-03-02"), "a").redemptions, 2);
}

}  // namespace
}  // namespace aisle::pos
