// pos-adapter ingest against a real PostgreSQL: idempotency, conflicts, concurrency, post-voids,
// coupons, card policies, and a search of the whole database and the logs for a payment card number.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <barrier>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include <unistd.h>

#include "aisle/common/log.h"
#include "aisle/common/pg.h"
#include "aisle/pos/cli.h"
#include "aisle/pos/group_commit.h"
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

  // Two lanes (workstations 1 and 2, each with its own connection) post a sale of the same member at
  // the same moment, each redeeming one coupon code; their summaries.
  std::pair<IngestSummary, IngestSummary> twoLanesRedeemAtOnce(const std::string& codeOnLane1,
                                                               const std::string& codeOnLane2) {
    std::barrier start(2);
    auto lane = [&](const std::string& ws, const std::string& code, IngestSummary& out) {
      PgSession session(db_.url(), *log_);
      TransactionRepository repo(session);
      TimeZoneDatabase zones;
      IngestService service(repo, zones, IngestConfig{}, *log_);
      const std::string body = R"({"store":"9","workstation":")" + ws +
                               R"(","business_day":"2024-03-01","sequence":"1","ended_at":"2024-03-01T10:00:00Z",)"
                               R"("card":"40000066677","lines":[{"item":"1","amount":"1"}],)"
                               R"("redemptions":[{"kind":"coupon","code":")" + code + R"(","amount":"0.50"}]})";
      start.arrive_and_wait();
      out = service.ingest(body, "lane " + ws);
    };
    std::pair<IngestSummary, IngestSummary> out;
    std::thread t1(lane, "1", codeOnLane1, std::ref(out.first)), t2(lane, "2", codeOnLane2, std::ref(out.second));
    t1.join();
    t2.join();
    return out;
  }

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
  const auto [a, b] = twoLanesRedeemAtOnce("AAAABBBBCCCCD", "AAAABBBBCCCCD");
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

TEST(PosImportCommand, FilesParsedAheadOnWorkerThreadsAreStoredInFileOrder) {
  aisle::testing::PgDatabase db("pos_import_order");
  AISLE_REQUIRE_PG(db);
  seed(db.url());
  ::setenv("AISLE_DB", db.url().c_str(), 1);
  const auto dir = std::filesystem::temp_directory_path() / ("pos-import-order-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // 12 files: sale k in file k; file 11 sends sale 1 again with another amount (a conflict, so sale 1
  // of file 01 must have been stored first), file 12 sends sale 2 again unchanged (a duplicate).
  for (int k = 1; k <= 10; ++k) {
    char name[16];
    std::snprintf(name, sizeof name, "%02d.json", k);
    std::ofstream(dir / name) << sale(std::to_string(k));
  }
  std::ofstream(dir / "11.json") << sale("1", "", "2024-03-01", "2.00");
  std::ofstream(dir / "12.json") << sale("2");
  std::ostringstream out, err;
  ASSERT_EQ(runCli({"import", dir.string()}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "{\"transactions\":10,\"duplicates\":1,\"rejected\":1,\"lines\":10,\"redemptions\":0}\n");
  EXPECT_NE(err.str().find("11.json"), std::string::npos) << err.str();
  EXPECT_EQ(db.one("SELECT l.amount_minor FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) "
                   "WHERE t.sequence_no = '1'"),
            "100");  // file 01's sale stands; file 11's is the quarantined one
  EXPECT_EQ(db.count("SELECT count(*) FROM quarantined_transactions"), 1);
  std::filesystem::remove_all(dir);
  ::unsetenv("AISLE_DB");
}

// Plain documents go to two writers at once; a document sharing a key with one in flight, or holding
// anything but plain sales (here post-voids), waits for the earlier ones. Adjacent files resend the
// same key with other content, so a later file written beside (or before) an earlier one would store
// the wrong version; the post-voids must find (or park for) their originals as in file order.
TEST(PosImportCommand, ManyFilesOnTwoWritersGiveTheOutcomesOfAOneThreadImport) {
  aisle::testing::PgDatabase db("pos_import_writers");
  AISLE_REQUIRE_PG(db);
  seed(db.url());
  ::setenv("AISLE_DB", db.url().c_str(), 1);
  const auto dir = std::filesystem::temp_directory_path() / ("pos-import-writers-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = [&](int n, const std::string& body) {
    char name[16];
    std::snprintf(name, sizeof name, "%03d.json", n);
    std::ofstream(dir / name) << body;
  };
  for (int k = 1; k <= 40; ++k) {
    file(2 * k - 1, "[" + sale(std::to_string(k)) + "," + sale(std::to_string(1000 + k)) + "]");
    file(2 * k, "[" + sale(std::to_string(k), "", "2024-03-01", "2.00") + "," + sale(std::to_string(2000 + k)) + "]");
  }
  file(81, sale("3001", R"(,"post_void_of":{"sequence":"1001"})"));  // its original is in file 001
  file(82, sale("3002", R"(,"post_void_of":{"sequence":"4000"})"));  // its original comes next
  file(83, "[" + sale("4000") + "," + sale("4001") + "]");
  std::ostringstream out, err;
  ASSERT_EQ(runCli({"import", dir.string()}, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), "{\"transactions\":124,\"duplicates\":0,\"rejected\":40,\"lines\":122,\"redemptions\":0}\n");  // post-voids: no lines
  // Every key's first version stands; every second one is the quarantined conflict, named in order.
  EXPECT_EQ(db.count("SELECT count(*) FROM transactions t JOIN transaction_lines l USING (member_id, transaction_id) "
                     "WHERE t.sequence_no::int <= 40 AND l.amount_minor = 100"),
            40);
  EXPECT_EQ(db.count("SELECT count(*) FROM quarantined_transactions WHERE reason = 'same natural key, different content'"),
            40);
  const std::string errors = err.str();
  std::size_t at = 0;
  for (int k = 1; k <= 40; ++k) {
    char name[16];
    std::snprintf(name, sizeof name, "%03d.json", 2 * k);
    const auto next = errors.find(name, at);
    ASSERT_NE(next, std::string::npos) << name << " missing or out of order in:\n" << errors;
    at = next;
  }
  EXPECT_EQ(db.one("SELECT string_agg(sequence_no || ':' || is_post_voided, ' ' ORDER BY sequence_no) FROM transactions "
                   "WHERE sequence_no IN ('1001', '1002', '4000', '4001')"),
            "1001:true 1002:false 4000:true 4001:false");
  std::filesystem::remove_all(dir);
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
    // Another campaign: campaign 100 allows one use per member, and this test is about the daily limit.
    tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, amount_off_minor, valid_from, valid_to) "
            "VALUES (101, 'Pears', 'amount_off', 'basket', 50, '2000-01-01', '2100-01-01')");
    tx.exec("INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to) "
            "VALUES (42, 101, 'SECONDCOUPON1', 'second', '2000-01-01', '2100-01-01')");
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

// A campaign's per_member_limit counts the member's accepted redemptions of the campaign (our coupons
// and rewards the POS maps to it); a post-void gives a use back.
class PosCampaignLimits : public PosIngest {
 protected:
  void SetUp() override {
    PosIngest::SetUp();
    if (IsSkipped()) return;
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, amount_off_minor, valid_from, valid_to, "
            "per_member_limit) VALUES (101, 'Pears twice', 'amount_off', 'basket', 30, '2000-01-01', '2100-01-01', 2)");
    tx.exec("INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to) VALUES "
            "(42, 100, 'SAMECAMPAIGN01', 'apples again', '2000-01-01', '2100-01-01'), "
            "(42, 101, 'LIMITTWO00001', 'pears', '2000-01-01', '2100-01-01'), "
            "(42, 101, 'LIMITTWO00002', 'pears', '2000-01-01', '2100-01-01'), "
            "(42, 101, 'LIMITTWO00003', 'pears', '2000-01-01', '2100-01-01')");
    tx.commit();
  }
  // The codes the swipe offers member 42's card in store 9, sorted.
  std::vector<std::string> offered() {
    CouponQuery q;
    q.card = "40000066677";
    q.storeId = 1;
    q.nowMs = 1'709'287'200'000;  // 2024-03-01T10:00Z, the day of the sales below
    q.dayStartMs = q.nowMs - 36'000'000;
    q.dayEndMs = q.dayStartMs + 86'400'000;
    std::vector<std::string> codes;
    for (const auto& c : repo_->activeCoupons(q).coupons) codes.push_back(c.code);
    std::sort(codes.begin(), codes.end());
    return codes;
  }
  static std::string redeeming(const std::string& code) {
    return R"(,"card":"40000066677","redemptions":[{"kind":"coupon","code":")" + code + R"(","amount":"0.50"}])";
  }
};

TEST_F(PosCampaignLimits, TheSwipeOffersNoCouponOfACampaignWhoseLimitForTheMemberIsUsedUp) {
  using V = std::vector<std::string>;
  EXPECT_EQ(offered(), (V{"AAAABBBBCCCCD", "LIMITTWO00001", "LIMITTWO00002", "LIMITTWO00003", "SAMECAMPAIGN01"}));
  ASSERT_EQ(service_->ingest(sale("1", redeeming("AAAABBBBCCCCD")), "a").redemptions, 1);
  // Campaign 100 allows one use: its other coupon is no longer offered.
  EXPECT_EQ(offered(), (V{"LIMITTWO00001", "LIMITTWO00002", "LIMITTWO00003"}));
  ASSERT_EQ(service_->ingest(sale("2", redeeming("LIMITTWO00001")), "a").redemptions, 1);
  EXPECT_EQ(offered(), (V{"LIMITTWO00002", "LIMITTWO00003"}));  // campaign 101 allows two
  ASSERT_EQ(service_->ingest(sale("3", redeeming("LIMITTWO00002")), "a").redemptions, 1);
  EXPECT_EQ(offered(), V{});
  // A post-void gives the use back: campaign 100's coupons are offered again.
  service_->ingest(sale("4", R"(,"post_void_of":{"sequence":"1"})"), "a");
  EXPECT_EQ(offered(), (V{"AAAABBBBCCCCD", "SAMECAMPAIGN01"}));
}

TEST_F(PosCampaignLimits, ACouponUsedBeyondItsCampaignLimitIsAnExceptionAndTheSaleStands) {
  ASSERT_EQ(service_->ingest(sale("1", redeeming("AAAABBBBCCCCD")), "a").redemptions, 1);
  const auto over = service_->ingest(sale("2", redeeming("SAMECAMPAIGN01")), "a");
  EXPECT_EQ(over.transactions, 1);
  EXPECT_EQ(over.redemptions, 0);
  EXPECT_EQ(one("SELECT note FROM redemptions WHERE status = 'exception'"), "campaign limit per member reached");
  EXPECT_EQ(one("SELECT state FROM coupons WHERE code = 'SAMECAMPAIGN01'"), "issued");
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), 2);
}

TEST_F(PosCampaignLimits, TwoLanesRedeemingTwoCouponsOfAOneUseCampaignAtOnceGiveExactlyOneRedemption) {
  const auto [a, b] = twoLanesRedeemAtOnce("AAAABBBBCCCCD", "SAMECAMPAIGN01");
  EXPECT_EQ(a.transactions + b.transactions, 2);
  EXPECT_EQ(a.redemptions + b.redemptions, 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'accepted' AND campaign_id = 100"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM redemptions WHERE status = 'exception'"), 1);
}

// The same member's card as tills send it: NCR's 25-digit padding, leading zeros kept, whitespace
// around it, full-width digits from a keyed entry on an East Asian keyboard.
TEST_F(PosIngest, LoyaltyIdsWithLeadingZerosPaddingWhitespaceAndNonAsciiDigitsReachTheirMember) {
  const std::vector<std::string> cards = {"0000000000000040000066677", " 40000066677 ",
                                          "\uFF14\uFF10\uFF10\uFF10\uFF10\uFF10\uFF16\uFF16\uFF16\uFF17\uFF17",
                                          "0012345678"};
  int seq = 0;
  for (const auto& card : cards) {
    const auto sum = service_->ingest(sale(std::to_string(++seq), R"(,"card":")" + card + R"(")"), "a");
    ASSERT_EQ(sum.transactions, 1) << (sum.errors.empty() ? std::string() : sum.errors.front());
  }
  EXPECT_EQ(one("SELECT string_agg(member_id || ':' || card_number, ' ' ORDER BY sequence_no) FROM transactions"),
            "42:40000066677 42:40000066677 42:40000066677 43:0012345678");
}

// Tills whose clocks lie: a zone-less time is the store's local time; the business day stays what
// the POS booked even after midnight; a sale arriving years late keeps its own time; a clock reset
// to 1970 yields to noon of the business day.
TEST_F(PosIngest, ClockChaosZoneLessTimesLateBusinessDaysYearsLateMessagesAnd1970AreStoredSensibly) {
  auto at = [](const std::string& seq, const std::string& day, const std::string& ended) {
    return R"({"store":"9","workstation":"1","business_day":")" + day + R"(","sequence":")" + seq +
           R"(","ended_at":")" + ended + R"(","lines":[{"item":"1","amount":"1"}]})";
  };
  ASSERT_EQ(service_->ingest(at("1", "2024-03-01", "2024-03-01T15:00:00"), "a").transactions, 1);
  ASSERT_EQ(service_->ingest(at("2", "2024-03-01", "2024-03-02T00:30:00"), "a").transactions, 1);
  ASSERT_EQ(service_->ingest(at("3", "2019-06-01", "2019-06-01T10:00:00"), "a").transactions, 1);
  ASSERT_EQ(service_->ingest(at("4", "2024-03-01", "1970-01-01T00:00:05"), "a").transactions, 1);
  auto is = [&](const std::string& seq, const std::string& expected) {
    return one("SELECT occurred_at = timestamptz '" + expected + "' FROM transactions WHERE sequence_no = '" + seq +
               "'");
  };
  EXPECT_EQ(is("1", "2024-03-01 15:00:00 America/New_York"), "t");
  EXPECT_EQ(is("2", "2024-03-02 00:30:00 America/New_York"), "t");
  EXPECT_EQ(one("SELECT business_day FROM transactions WHERE sequence_no = '2'"), "2024-03-01");
  EXPECT_EQ(is("3", "2019-06-01 10:00:00 America/New_York"), "t");
  EXPECT_EQ(is("4", "2024-03-01 12:00:00 America/New_York"), "t");
}

// Hostile documents (billion laughs, XXE, external DTD, too deep, invalid characters, UTF-16...)
// are refused as a whole: no row anywhere.
TEST_F(PosIngest, HostileXmlIsRefusedWholeAndStoresNothing) {
  const auto dir = std::filesystem::path(AISLE_SOURCE_DIR) / "tests/unit/pos/golden/malformed";
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const auto sum = service_->ingest(readFile(e.path()), e.path().filename().string());
    EXPECT_EQ(sum.transactions, 0) << e.path();
    EXPECT_GE(sum.rejected, 1) << e.path();
    ++files;
  }
  EXPECT_GE(files, 10);
  EXPECT_EQ(count("SELECT (SELECT count(*) FROM transactions) + (SELECT count(*) FROM transaction_lines) + "
                  "(SELECT count(*) FROM quarantined_transactions) + (SELECT count(*) FROM redemptions)"),
            0);
}

// A document of many sales is written in batches (import, drop folder): each sale must come out as
// it would alone: new, duplicate, conflict (quarantined), the original of a parked post-void
// (stored voided, no reward counted), card policies, rewards, results in document order.
TEST_F(PosIngest, ADocumentOfManySalesIsStoredInBatchesWithTheSameOutcomesAsOneByOne) {
  const std::string reward = R"(,"redemptions":[{"kind":"loyalty_reward","promotion":"5123","offer":"1134","amount":"0.19"}])";
  ASSERT_EQ(service_->ingest(sale("2"), "a").transactions, 1);
  ASSERT_EQ(service_->ingest(sale("3"), "a").transactions, 1);
  ASSERT_EQ(service_->ingest(sale("90", R"(,"post_void_of":{"sequence":"4"})"), "a").transactions, 1);
  const std::string doc = "[" + sale("1", R"(,"card":"40000066677")") + "," + sale("2") + "," +
                          sale("3", "", "2024-03-01", "9.99") + "," + sale("4", R"(,"card":"40000066677")" + reward) +
                          "," + sale("5", R"(,"card":"777777777")") + "," +
                          sale("6", R"(,"card":"0012345678")" + reward) + "]";
  const auto sum = service_->ingest(doc, "batch");
  EXPECT_EQ(sum.transactions, 4);
  EXPECT_EQ(sum.duplicates, 1);
  EXPECT_EQ(sum.rejected, 1);
  EXPECT_EQ(sum.conflicts, 1);
  EXPECT_EQ(sum.lines, 4);
  EXPECT_EQ(sum.redemptions, 1);  // seq 6's reward; seq 4 arrived voided
  ASSERT_EQ(sum.results.size(), 6u);
  std::string order;
  for (const auto& r : sum.results) order += r.reference.substr(r.reference.rfind('/') + 1) + statusName(r.status)[0];
  EXPECT_EQ(order, "1s2d3c4s5s6s");
  EXPECT_EQ(one("SELECT string_agg(sequence_no || ':' || member_id || ':' || coalesce(card_number, '-') || ':' || "
                "is_post_voided, ' ' ORDER BY sequence_no) FROM transactions WHERE sequence_no IN ('1','4','5','6')"),
            "1:42:40000066677:false 4:42:40000066677:true 5:0:777777777:false 6:43:0012345678:false");
  EXPECT_EQ(one("SELECT string_agg(reason, ',' ORDER BY reason) FROM quarantined_transactions"),
            "post-void applied,same natural key, different content");
  EXPECT_EQ(one("SELECT r.campaign_id || ' ' || r.promotion_id || ' ' || r.amount_minor || ' ' || t.sequence_no "
                "FROM redemptions r JOIN transactions t USING (member_id, transaction_id)"),
            "100 5123 19 6");
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 7);
  EXPECT_EQ(one("SELECT occurred_at = timestamptz '2024-03-01 10:00Z' FROM transactions WHERE sequence_no = '6'"), "t");
  // The whole document again: every sale a duplicate, nothing written.
  const auto again = service_->ingest(doc, "batch");
  EXPECT_EQ(again.duplicates, 5);
  EXPECT_EQ(again.conflicts, 1);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 7);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 2);
}

// writeBatch keeps the GTINs it has looked up; one the catalog did not have must not stay unknown.
TEST_F(PosIngest, AGtinUnknownToTheCatalogIsLookedUpAgainOnceTheCatalogHasIt) {
  ASSERT_EQ(service_->ingest("[" + sale("1") + "," + sale("2") + "]", "before").transactions, 2);
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines WHERE product_id IS NULL AND gtin = '04006381333931'"), 2);
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    tx.exec("INSERT INTO products (product_id, gtin, name) VALUES (7, '04006381333931', 'Pencil')");
    tx.commit();
  }
  ASSERT_EQ(service_->ingest("[" + sale("3") + "," + sale("4") + "]", "after").transactions, 2);
  ASSERT_EQ(service_->ingest("[" + sale("5") + "," + sale("6") + "]", "cached").transactions, 2);
  EXPECT_EQ(one("SELECT string_agg(t.sequence_no || ':' || coalesce(l.product_id::text, '-'), ' ' ORDER BY t.sequence_no) "
                "FROM transactions t JOIN transaction_lines l USING (member_id, transaction_id)"),
            "1:- 2:- 3:7 4:7 5:7 6:7");
}

// Item codes travel to PostgreSQL inside array literals: quotes, backslashes, commas and braces
// must arrive as the POS sent them.
TEST_F(PosIngest, ItemCodesWithQuotesBackslashesCommasAndBracesAreStoredAsSent) {
  const std::string body = R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":"1",)"
                           R"("ended_at":"2024-03-01T10:00:00Z","lines":[{"item":"A\"B\\C,{D}","amount":"1"},)"
                           R"({"item":"NULL","amount":"2"},{"item":"4006381333931","amount":"3"}]})";
  const auto sum = service_->ingest(body, "a");
  ASSERT_EQ(sum.lines, 3) << (sum.errors.empty() ? std::string() : sum.errors.front());
  EXPECT_EQ(one("SELECT item_code FROM transaction_lines WHERE line_no = 1"), "A\"B\\C,{D}");
  EXPECT_EQ(one("SELECT item_code FROM transaction_lines WHERE line_no = 2"), "NULL");
  EXPECT_EQ(one("SELECT gtin || ' ' || (item_code IS NULL) FROM transaction_lines WHERE line_no = 3"),
            "04006381333931 true");
}


// ------------------------------------------------------------------ group commit (the HTTP write path)

class PosGroupCommit : public PosIngest {
 protected:
  Transaction parsed(const std::string& json) {
    auto doc = service_->parse(json, DocumentFormat::Json);
    EXPECT_TRUE(doc) << doc.message();
    return *doc->items.at(0).transaction;
  }
  // Every sale is posted from its own thread at once; the writer waits for all of them (maxSales = the
  // number of sales, a long maxWait), so they arrive in one collection round.
  std::vector<WriteResult> writeTogether(GroupCommitWriter& writer, const std::vector<Transaction>& sales,
                                         const std::vector<std::int64_t>& storeIds,
                                         std::vector<std::string>* errors = nullptr) {
    std::vector<WriteResult> out(sales.size());
    std::vector<std::string> errs(sales.size());
    const WriteOptions wo;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < sales.size(); ++i) {
      threads.emplace_back([&, i] {
        try {
          out[i] = writer.write(sales[i], storeIds[i], wo);
        } catch (const std::exception& e) {
          errs[i] = e.what();
        }
      });
    }
    for (auto& t : threads) t.join();
    if (errors) *errors = errs;
    for (std::size_t i = 0; i < sales.size() && !errors; ++i) EXPECT_EQ(errs[i], "") << "sale " << i;
    return out;
  }
  GroupCommitOptions together(std::size_t n) {
    GroupCommitOptions o;
    o.maxSales = n;
    o.maxWait = std::chrono::seconds(5);
    return o;
  }
};

TEST_F(PosGroupCommit, TwoIdenticalSalesInOneBatchAreStoredOnceAndBothAnsweredSuccess) {
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), together(2), *log_);
  const Transaction t = parsed(sale("1", R"(,"card":"40000066677")"));
  const auto results = writeTogether(writer, {t, t}, {1, 1});
  std::multiset<WriteResult::Status> statuses{results[0].status, results[1].status};
  EXPECT_EQ(statuses.count(WriteResult::Status::Inserted), 1u);
  EXPECT_EQ(statuses.count(WriteResult::Status::Duplicate), 1u);
  EXPECT_EQ(results[0].transactionId, results[1].transactionId);  // the duplicate names the stored sale
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines"), 1);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 0);
  EXPECT_EQ(one("SELECT member_id FROM transactions"), "42");
}

TEST_F(PosGroupCommit, AConflictInsideABatchIsQuarantinedAndTheOtherSalesOfTheBatchAreStored) {
  ASSERT_EQ(service_->ingest(sale("1"), "till").transactions, 1);
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), together(3), *log_);
  const auto results =
      writeTogether(writer, {parsed(sale("1", "", "2024-03-01", "2.00")), parsed(sale("2")), parsed(sale("3"))}, {1, 1, 1});
  EXPECT_EQ(results[0].status, WriteResult::Status::Conflict);
  EXPECT_EQ(results[1].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[2].status, WriteResult::Status::Inserted);
  EXPECT_EQ(writer.stats().batches, 1u);  // one database transaction for all three
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions WHERE sequence_no = '1'"), 1);
  EXPECT_EQ(one("SELECT amount_minor FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) "
                "WHERE t.sequence_no = '1'"),
            "100");  // the original stands
}

TEST_F(PosGroupCommit, ASaleTheDatabaseRefusesFailsAloneAndTheRestOfItsBatchIsStored) {
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), together(3), *log_);
  std::vector<std::string> errors;
  // Store 999 does not exist: the batch's insert fails on the foreign key, then each sale goes alone.
  const auto results = writeTogether(writer, {parsed(sale("1")), parsed(sale("2")), parsed(sale("3"))}, {1, 999, 1}, &errors);
  EXPECT_EQ(results[0].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[2].status, WriteResult::Status::Inserted);
  EXPECT_EQ(errors[0], "");
  EXPECT_NE(errors[1], "");
  EXPECT_EQ(errors[2], "");
  EXPECT_EQ(writer.stats().fallbacks, 1u);
  EXPECT_EQ(one("SELECT string_agg(sequence_no, ',' ORDER BY sequence_no) FROM transactions"), "1,3");
}

TEST_F(PosGroupCommit, ManyConcurrentWritersOfOverlappingSalesStoreEachExactlyOnce) {
  GroupCommitOptions o;
  o.maxSales = 16;
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), o, *log_);
  std::vector<Transaction> sales;
  for (int i = 0; i < 40; ++i) sales.push_back(parsed(sale(std::to_string(i % 20))));  // each sale twice
  const auto results = writeTogether(writer, sales, std::vector<std::int64_t>(sales.size(), 1));
  int inserted = 0, duplicates = 0;
  for (const auto& r : results) {
    inserted += r.status == WriteResult::Status::Inserted;
    duplicates += r.status == WriteResult::Status::Duplicate;
  }
  EXPECT_EQ(inserted, 20);
  EXPECT_EQ(duplicates, 20);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 20);
  EXPECT_LT(writer.stats().batches, 40u);  // sales shared database transactions
}

// The sales of one document are queued together: one batch for all ten, not one batch each.
TEST_F(PosGroupCommit, TheSalesOfOneDocumentShareABatch) {
  GroupCommitOptions o;
  o.maxSales = 256;
  o.maxWait = std::chrono::milliseconds(50);
  o.writers = 1;
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), o, *log_);
  std::vector<Transaction> sales;
  for (int i = 0; i < 10; ++i) sales.push_back(parsed(sale(std::to_string(i))));
  const WriteOptions wo;
  std::vector<GroupCommitWriter::Sale> all;
  for (const auto& t : sales) all.push_back({&t, 1, &wo});
  const auto outcomes = writer.writeAll(all);
  ASSERT_EQ(outcomes.size(), 10u);
  for (const auto& out : outcomes) {
    EXPECT_FALSE(out.error);
    EXPECT_EQ(out.result.status, WriteResult::Status::Inserted);
  }
  EXPECT_EQ(writer.stats().batches, 1u);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 10);
}

// Two writers write batches side by side; a key's second sale (other content) must still meet the
// first as stored: one row a key, the other refused as a conflict and quarantined, never two rows.
TEST_F(PosGroupCommit, TwoWritersSideBySideStoreEachKeyOnceAndRefuseItsOtherVersion) {
  GroupCommitOptions o;
  o.maxSales = 4;  // many small batches, so both writers are busy at once
  o.writers = 2;
  GroupCommitWriter writer(db_.url(), std::make_shared<StoreCache>(), o, *log_);
  std::vector<Transaction> sales;
  for (int i = 0; i < 60; ++i) {
    const std::string seq = std::to_string(i % 30);
    sales.push_back(parsed(sale(seq, "", "2024-03-01", i < 30 ? "1.00" : "2.00")));  // each key twice, two contents
  }
  const auto results = writeTogether(writer, sales, std::vector<std::int64_t>(sales.size(), 1));
  int inserted = 0, conflicts = 0;
  for (const auto& r : results) {
    inserted += r.status == WriteResult::Status::Inserted;
    conflicts += r.status == WriteResult::Status::Conflict;
  }
  EXPECT_EQ(inserted, 30);
  EXPECT_EQ(conflicts, 30);
  EXPECT_EQ(count("SELECT count(*) FROM transactions"), 30);
  EXPECT_EQ(count("SELECT count(DISTINCT sequence_no) FROM transactions"), 30);
  EXPECT_EQ(count("SELECT count(*) FROM quarantined_transactions"), 30);
  EXPECT_GE(writer.stats().batches, 15u);  // 60 sales in batches of at most 4
}

// The batch statement ties lines and rewards to their sale by the sale's place in the batch: each must
// land on its own sale, a sale stored already (in the middle of the batch) gets nothing, an original
// whose post-void came first gets its lines but no reward, and new sales are numbered in batch order.
TEST_F(PosGroupCommit, ABatchPutsEachLineAndRewardOnItsOwnSaleAndNumbersNewSalesInBatchOrder) {
  ASSERT_EQ(service_->ingest(sale("2"), "till").transactions, 1);
  ASSERT_EQ(service_->ingest(sale("90", R"(,"post_void_of":{"sequence":"4"})"), "till").transactions, 1);
  const std::string reward =
      R"(,"redemptions":[{"kind":"loyalty_reward","promotion":"P","offer":"1134","amount":"0.10"}])";
  auto twoLines = [](const std::string& seq, const std::string& extra) {
    return R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":")" + seq +
           R"(","ended_at":"2024-03-01T10:00:00.250Z","lines":[{"item":"4006381333931","amount":")" + seq +
           R"(.01"},{"item":"X-)" + seq + R"(","amount":")" + seq + R"(.02"}])" + extra + "}";
  };
  const std::vector<Transaction> sales = {parsed(twoLines("1", reward)), parsed(sale("2")), parsed(twoLines("3", "")),
                                          parsed(twoLines("4", reward)), parsed(twoLines("5", reward))};
  std::vector<TransactionRepository::BatchItem> items;
  for (const auto& t : sales) items.push_back({&t, 1});
  const auto results = repo_->writeBatch(items, WriteOptions{});
  ASSERT_EQ(results.size(), 5u);
  EXPECT_EQ(results[0].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[1].status, WriteResult::Status::Duplicate);
  EXPECT_EQ(results[2].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[3].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[4].status, WriteResult::Status::Inserted);
  EXPECT_EQ(results[1].transactionId, std::stoll(one("SELECT transaction_id FROM transactions WHERE sequence_no = '2'")));
  EXPECT_LT(results[0].transactionId, results[2].transactionId);
  EXPECT_LT(results[2].transactionId, results[3].transactionId);
  EXPECT_LT(results[3].transactionId, results[4].transactionId);
  EXPECT_EQ(results[0].lines, 2);
  EXPECT_EQ(results[0].redemptions, 1);
  EXPECT_TRUE(results[3].arrivedVoided);
  EXPECT_EQ(results[3].lines, 2);
  EXPECT_EQ(results[3].redemptions, 0);
  EXPECT_EQ(results[4].redemptions, 1);
  EXPECT_EQ(one("SELECT string_agg(t.sequence_no || ':' || l.line_no || ':' || l.amount_minor || ':' || "
                "coalesce(l.item_code, l.gtin), ' ' ORDER BY t.sequence_no, l.line_no) "
                "FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) WHERE t.sequence_no <> '2'"),
            "1:1:101:04006381333931 1:2:102:X-1 3:1:301:04006381333931 3:2:302:X-3 "
            "4:1:401:04006381333931 4:2:402:X-4 5:1:501:04006381333931 5:2:502:X-5");
  EXPECT_EQ(one("SELECT string_agg(t.sequence_no || ':' || r.campaign_id || ':' || r.amount_minor, ' ' "
                "ORDER BY r.redemption_id) FROM redemptions r JOIN transactions t USING (member_id, transaction_id)"),
            "1:100:10 5:100:10");
  // Each reward at its sale's instant (to the millisecond) and store, as the reward it is.
  EXPECT_EQ(count("SELECT count(*) FROM redemptions r JOIN transactions t USING (member_id, transaction_id) "
                  "WHERE r.redeemed_at = t.occurred_at AND r.redeemed_at = '2024-03-01 10:00:00.25+00' "
                  "AND r.store_id = t.store_id AND r.status = 'accepted' AND r.note = 'loyalty reward' "
                  "AND r.promotion_id = 'P' AND r.coupon_upc IS NULL"),
            2);
  EXPECT_EQ(one("SELECT string_agg(sequence_no || ':' || is_post_voided, ' ' ORDER BY sequence_no) FROM transactions "
                "WHERE sequence_no <> '90'"),
            "1:false 2:false 3:false 4:true 5:false");
  EXPECT_EQ(count("SELECT count(*) FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) "
                  "WHERE t.sequence_no = '2'"),
            1);  // the stored sale's own line, nothing added
}

TEST_F(PosGroupCommit, ABatchUnderAnonymousWithoutCardDropsUnknownCardsAndKeepsKnownOnes) {
  const std::vector<Transaction> sales = {parsed(sale("1", R"(,"card":"40000066677")")),
                                          parsed(sale("2", R"(,"card":"777777777")")), parsed(sale("3"))};
  std::vector<TransactionRepository::BatchItem> items;
  for (const auto& t : sales) items.push_back({&t, 1});
  WriteOptions options;
  options.unknownCard = UnknownCardPolicy::AnonymousDropCard;
  const auto results = repo_->writeBatch(items, options);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].memberId, 42);
  EXPECT_EQ(results[1].memberId, 0);
  EXPECT_EQ(results[2].memberId, 0);
  EXPECT_EQ(one("SELECT string_agg(sequence_no || ':' || member_id || ':' || coalesce(card_number, '-'), ' ' "
                "ORDER BY sequence_no) FROM transactions"),
            "1:42:40000066677 2:0:- 3:0:-");
}

}  // namespace
}  // namespace aisle::pos
