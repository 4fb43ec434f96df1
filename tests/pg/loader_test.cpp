// The data loader and the generator against a real PostgreSQL: counts equal the files, a second
// run changes nothing, bad input leaves nothing behind, the generator is reproducible.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/loader.h"
#include "pg_fixture.h"

namespace aisle::engine {
namespace {

using aisle::testing::PgDatabase;
namespace fs = std::filesystem;

std::string datasets() {
  if (const char* d = std::getenv("AISLE_DATASETS"); d && *d) return d;
  return std::string(AISLE_SOURCE_DIR) + "/../shared/datasets";
}

#define REQUIRE_DATASET(path)                        \
  if (!fs::exists(path))                             \
  GTEST_SKIP() << "data set not found at " << (path) \
               << " (set AISLE_DATASETS to the shared data sets)"

std::int64_t count(pqxx::connection& c, const std::string& sql) {
  pqxx::read_transaction tx(c);
  return tx.exec1(sql)[0].as<std::int64_t>();
}

// Every row of the loader's tables, as one digest: equal digests mean equal contents.
std::string contentDigest(pqxx::connection& c) {
  static const char* const kTables[] = {
      "stores",       "categories",        "products",          "members",          "cards",
      "consents",     "campaigns",         "campaign_products", "campaign_members", "redemptions",
      "transactions", "transaction_lines", "data_loads"};
  std::string all;
  pqxx::read_transaction tx(c);
  for (const char* t : kTables) {
    // Fixed table names from the list above.
    all +=
        std::string(t) + "=" +
        tx.exec1(std::string(
                     "SELECT coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM ") +
                 t + " x")[0]
            .as<std::string>() +
        ";";
  }
  return all;
}

// The generated rows without the columns that record when they were written.
std::string generatedDigest(pqxx::connection& c) {
  pqxx::read_transaction tx(c);
  std::string out;
  for (const char* sql : {"SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM (SELECT "
                          "member_id, household_id, external_ref, "
                          "demographics FROM members WHERE member_id >= 1000000000) x",
                          "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM (SELECT "
                          "member_id, number, status FROM cards "
                          "WHERE member_id >= 1000000000) x",
                          "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM (SELECT "
                          "member_id, org_id, store_id, "
                          "workstation_id, business_day, sequence_no, occurred_at, card_number, "
                          "content_hash, total_minor, source "
                          "FROM transactions WHERE member_id >= 1000000000) x",
                          "SELECT md5(string_agg(x::text, '|' ORDER BY x::text)) FROM (SELECT "
                          "t.sequence_no, l.line_no, l.product_id, "
                          "l.quantity, l.amount_minor FROM transaction_lines l JOIN transactions t "
                          "USING (member_id, transaction_id) "
                          "WHERE l.member_id >= 1000000000) x"}) {
    const auto r = tx.exec1(sql);
    out += (r[0].is_null() ? std::string("-") : r[0].as<std::string>()) + ";";
  }
  return out;
}

LoadReport mustLoad(const Result<LoadReport>& r) {
  if (!r.ok()) throw std::runtime_error(r.message());
  return *r;
}

// A tiny Complete Journey directory written by the test itself: quirks of the real files in a few
// rows.
class TinyCompleteJourney {
 public:
  TinyCompleteJourney() {
    std::random_device rd;
    dir_ = fs::temp_directory_path() / ("aisle-loader-test-" + std::to_string(rd()));
    fs::create_directories(dir_);
    write("campaign_descriptions.csv",
          "\"campaign_id\",\"campaign_type\",\"start_date\",\"end_date\"\n\"1\",\"Type "
          "B\",2017-03-03,2017-04-09\n"
          "\"2\",\"Type A\",2017-05-01,2017-05-01\n");
    write("demographics.csv",
          "\"household_id\",\"age\",\"income\",\"home_ownership\",\"marital_status\",\"household_"
          "size\","
          "\"household_comp\",\"kids_count\"\n\"7\",\"65+\",\"35-49K\",,\"Married\",\"2\",\"2 "
          "Adults No Kids\",\"0\"\n");
    write("products.csv",
          "\"product_id\",\"manufacturer_id\",\"department\",\"brand\",\"product_category\","
          "\"product_type\","
          "\"package_size\"\n\"100\",\"2\",\"GROCERY\",\"National\",\"FRZN ICE\",\"ICE - "
          "CRUSHED/CUBED\",\"22 LB\"\n"
          "\"200\",\"69\",\"PASTRY\",\"Private\",\"BREAD\",,\n\"300\",\"5\",\"MISCELLANEOUS\","
          "\"National\",,,\n");
    write("coupons.csv",
          "\"coupon_upc\",\"product_id\",\"campaign_id\"\n\"10000085207\",\"100\","
          "\"1\"\n\"10000085207\",\"100\",\"1\"\n"
          "\"10000085428\",\"9e+05\",\"2\"\n");
    write("campaigns.csv", "\"campaign_id\",\"household_id\"\n\"1\",\"7\"\n\"2\",\"8\"\n");
    write("coupon_redemptions.csv",
          "\"household_id\",\"coupon_upc\",\"campaign_id\",\"redemption_date\"\n\"7\","
          "\"10000085207\",\"1\",2017-03-05\n"
          "\"7\",\"10000085207\",\"1\",2017-03-05\n");
    transactions(
        "\"7\",\"309\",\"31625220889\",\"200\",2,3.86,0.43,0.5,0.25,5,\"2017-01-28T14:06:53-"
        "0500\"\n"
        "\"7\",\"309\",\"31625220889\",\"100\",1,1,0,0,0,5,\"2017-01-28T14:06:53-0500\"\n"
        "\"9\",\"381\",\"4.0128e+10\",\"555\",0,4.440892e-16,0,0,0,40,\"2017-09-28T01:22:06-"
        "0400\"\n");
  }
  ~TinyCompleteJourney() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void transactions(const std::string& rows) {
    write("transactions_sample.csv",
          "\"household_id\",\"store_id\",\"basket_id\",\"product_id\",\"quantity\",\"sales_value\","
          "\"retail_disc\","
          "\"coupon_disc\",\"coupon_match_disc\",\"week\",\"transaction_timestamp\"\n" +
              rows);
  }
  std::string dir() const { return dir_.string(); }

 private:
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  fs::path dir_;
};

TEST(LoadCompleteJourney, MapsEveryQuirkOfTheFilesOnATinyCopy) {
  PgDatabase db("loader_tiny");
  AISLE_REQUIRE_PG(db);
  TinyCompleteJourney files;
  pqxx::connection c(db.url());
  const auto r = mustLoad(loadCompleteJourney(c, files.dir(), {}));
  EXPECT_EQ(r.insertedInto("transactions"), 2);
  EXPECT_EQ(r.insertedInto("transaction_lines"), 3);
  EXPECT_EQ(r.insertedInto("campaign_products"), 2);  // the repeated coupon row is one fact
  EXPECT_EQ(r.insertedInto("redemptions"), 2);        // repeated redemptions are both kept
  EXPECT_EQ(r.placeholderProducts, (std::vector<std::int64_t>{555, 900000}));
  EXPECT_EQ(r.insertedInto("members"), 3);  // households 7, 8 (campaign list only) and 9
  pqxx::read_transaction tx(c);
  // Lines in product order, amounts exact, both coupon discounts in one column, card attached.
  const auto lines = tx.exec(
      "SELECT l.line_no, l.product_id, l.quantity::text, l.amount_minor, l.discount_minor, "
      "l.coupon_discount_minor, "
      "t.card_number, t.business_day::text, t.occurred_at = '2017-01-28 19:06:53+00', "
      "t.total_minor "
      "FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) "
      "WHERE t.sequence_no = '31625220889' ORDER BY l.line_no");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0][1].as<std::int64_t>(), 100);
  EXPECT_EQ(lines[1][1].as<std::int64_t>(), 200);
  EXPECT_EQ(lines[1][2].as<std::string>(), "2.000");
  EXPECT_EQ(lines[1][3].as<std::int64_t>(), 386);
  EXPECT_EQ(lines[1][4].as<std::int64_t>(), 43);
  EXPECT_EQ(lines[1][5].as<std::int64_t>(), 75);
  EXPECT_EQ(lines[0][6].as<std::string>(), loyaltyCardNumber(7));
  EXPECT_EQ(lines[0][7].as<std::string>(), "2017-01-28");
  EXPECT_TRUE(lines[0][8].as<bool>());
  EXPECT_EQ(lines[0][9].as<std::int64_t>(), 486);
  // The basket id written as 4.0128e+10 is the exact integer; the 4.44e-16 amount is zero cents.
  EXPECT_EQ(tx.exec1("SELECT amount_minor FROM transaction_lines l JOIN transactions t USING "
                     "(member_id, transaction_id) "
                     "WHERE t.sequence_no = '40128000000'")[0]
                .as<std::int64_t>(),
            0);
  // Campaign validity: local midnights in New York, end date inclusive.
  EXPECT_TRUE(
      tx.exec1("SELECT valid_from = '2017-05-01 04:00+00' AND valid_to = '2017-05-02 04:00+00' AND "
               "name = 'Campaign 2 (Type A)' AND type = 'external' FROM campaigns WHERE "
               "campaign_id = 2")[0]
          .as<bool>());
  EXPECT_EQ(tx.exec1("SELECT demographics->>'age' || '/' || "
                     "coalesce(demographics->>'home_ownership', 'null') "
                     "FROM members WHERE member_id = 7")[0]
                .as<std::string>(),
            "65+/null");
  EXPECT_EQ(tx.exec1("SELECT count(*) FROM consents")[0].as<int>(), 0);  // import grants no consent
  EXPECT_EQ(tx.exec1("SELECT name FROM products WHERE product_id = 200")[0].as<std::string>(),
            "BREAD");
}

TEST(LoadCompleteJourney, AMalformedRowIsReportedWithFileAndLineAndLoadsNothing) {
  PgDatabase db("loader_bad");
  AISLE_REQUIRE_PG(db);
  TinyCompleteJourney files;
  files.transactions(
      "\"7\",\"309\",\"31625220889\",\"200\",2,3.86,0.43,0,0,5,\"2017-01-28T14:06:53-0500\"\n"
      "\"7\",\"309\",\"31625220889\",\"100\",1,1.O5,0,0,0,5,\"2017-01-28T14:06:53-0500\"\n");
  pqxx::connection c(db.url());
  const auto r = loadCompleteJourney(c, files.dir(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("transactions_sample.csv:3: column sales_value"), std::string::npos)
      << r.message();
  EXPECT_EQ(count(c, "SELECT count(*) FROM products"), 0);
  EXPECT_EQ(count(c, "SELECT count(*) FROM data_loads"), 0);

  files.transactions(
      "\"7\",\"309\",\"1\",\"200\",2,3.86,0.43,0,0,5,\"2017-01-28T14:06:53-0500\"\n\"7\","
      "\"309\"\n");
  const auto shortRow = loadCompleteJourney(c, files.dir(), {});
  ASSERT_FALSE(shortRow.ok());
  EXPECT_EQ(shortRow.message(), "transactions_sample.csv:3: expected 11 fields, found 2");
  EXPECT_EQ(count(c, "SELECT count(*) FROM members WHERE member_id > 0"), 0);
}

TEST(LoadCompleteJourney, LoadsTheRealFilesWithCountsEqualToTheCsvs) {
  const std::string dir = datasets() + "/completejourney2";
  REQUIRE_DATASET(dir);
  PgDatabase db("loader_cj");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  const auto r = mustLoad(loadCompleteJourney(c, dir, {}));
  std::map<std::string, std::int64_t> read(r.fileRows.begin(), r.fileRows.end());
  EXPECT_EQ(read["products.csv"], 92331);
  EXPECT_EQ(read["transactions_sample.csv"], 75000);
  EXPECT_EQ(read["coupons.csv"], 116204);
  EXPECT_EQ(read["campaigns.csv"], 6589);
  EXPECT_EQ(read["campaign_descriptions.csv"], 27);
  EXPECT_EQ(read["coupon_redemptions.csv"], 2102);
  EXPECT_EQ(read["demographics.csv"], 801);

  // Products: every row of products.csv plus one placeholder per referenced id missing from it.
  // (products.csv itself writes product 900000 as 9e+05: it is there, not a placeholder.)
  EXPECT_EQ(r.placeholderProducts.size(), 10u);
  EXPECT_EQ(count(c, "SELECT count(*) FROM products WHERE name NOT LIKE 'unknown product %'"),
            92331);
  EXPECT_EQ(count(c, "SELECT count(*) FROM products"), 92331 + 10);
  EXPECT_EQ(count(c, "SELECT count(*) FROM transactions"), 47243);
  EXPECT_EQ(count(c, "SELECT count(*) FROM transaction_lines"), 75000);
  EXPECT_EQ(count(c, "SELECT count(*) FROM campaigns"), 27);
  // coupons.csv repeats 4,872 (campaign, upc, product) rows verbatim; each fact is stored once.
  EXPECT_EQ(count(c, "SELECT count(*) FROM campaign_products"), 116204 - 4872);
  EXPECT_EQ(count(c, "SELECT count(*) FROM campaign_members"), 6589);
  EXPECT_EQ(count(c, "SELECT count(*) FROM redemptions"), 2102);
  EXPECT_EQ(count(c, "SELECT count(*) FROM members WHERE demographics <> '{}'"), 801);
  EXPECT_EQ(count(c, "SELECT count(*) FROM members WHERE member_id > 0"),
            2379);  // 2,377 buyers + 2 more
  EXPECT_EQ(count(c, "SELECT count(*) FROM cards"), 2379);
  EXPECT_EQ(count(c, "SELECT count(*) FROM stores"), 293);
  EXPECT_EQ(count(c, "SELECT count(DISTINCT member_id) FROM transactions"), 2377);
  EXPECT_EQ(count(c, "SELECT count(*) FROM consents"), 0);
  EXPECT_EQ(count(c,
                  "SELECT sum(total_minor) - (SELECT sum(amount_minor) FROM transaction_lines) "
                  "FROM transactions"),
            0);
  EXPECT_EQ(count(c, "SELECT count(*) FROM data_loads WHERE source = 'completejourney'"), 7);
}

TEST(LoadCompleteJourney, ASecondRunChangesNothingEvenWhenForcedToMergeEveryRow) {
  const std::string dir = datasets() + "/completejourney2";
  REQUIRE_DATASET(dir);
  PgDatabase db("loader_cj_again");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  mustLoad(loadCompleteJourney(c, dir, {}));
  const auto before = contentDigest(c);

  const auto again = mustLoad(loadCompleteJourney(c, dir, {}));
  EXPECT_TRUE(again.unchanged);
  EXPECT_EQ(contentDigest(c), before);

  LoadOptions force;
  force.force = true;
  const auto forced = mustLoad(loadCompleteJourney(c, dir, force));
  EXPECT_FALSE(forced.unchanged);
  EXPECT_EQ(forced.totalInserted(), 0) << formatReport(forced);
  EXPECT_EQ(contentDigest(c), before);
}

TEST(LoadGroceries, MakesOneTransactionPerMemberAndDayInItsOwnIdSpace) {
  const std::string file = datasets() + "/groceries-members/Groceries_dataset.csv";
  REQUIRE_DATASET(file);
  PgDatabase db("loader_groceries");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  const auto r = mustLoad(loadGroceries(c, file, {}));
  EXPECT_EQ(r.fileRows.at(0).second, 38765);
  EXPECT_EQ(
      count(c, "SELECT count(*) FROM members WHERE member_id BETWEEN 100001000 AND 100005000"),
      3898);
  EXPECT_EQ(count(c, "SELECT count(*) FROM transactions WHERE org_id = 'groceries'"), 14963);
  // 759 rows repeat an item the member already bought that day: quantity, not another line.
  EXPECT_EQ(count(c, "SELECT count(*) FROM transaction_lines"), 38765 - 759);
  EXPECT_EQ(count(c, "SELECT sum(quantity)::bigint FROM transaction_lines"), 38765);
  EXPECT_EQ(
      count(c, "SELECT count(*) FROM products WHERE product_id BETWEEN 200000000 AND 299999999"),
      167);
  EXPECT_EQ(count(c, "SELECT count(*) FROM stores"), 1);

  const auto before = contentDigest(c);
  EXPECT_TRUE(mustLoad(loadGroceries(c, file, {})).unchanged);
  LoadOptions force;
  force.force = true;
  EXPECT_EQ(mustLoad(loadGroceries(c, file, force)).totalInserted(), 0);
  EXPECT_EQ(contentDigest(c), before);
}

GenerateOptions generateOptions(std::int64_t members, std::uint64_t seed, std::int64_t chunk) {
  GenerateOptions o;
  o.members = members;
  o.days = 60;
  o.seed = seed;
  o.chunkMembers = chunk;
  return o;
}

TEST(GenerateSynthetic, TheSameSeedWritesTheSameRowsWhateverTheChunkSize) {
  PgDatabase a("loader_gen_a"), b("loader_gen_b"), other("loader_gen_c");
  AISLE_REQUIRE_PG(a);
  pqxx::connection ca(a.url()), cb(b.url()), cc(other.url());
  const auto ra = mustLoad(generateSynthetic(ca, generateOptions(300, 5, 1000)));
  const auto rb = mustLoad(generateSynthetic(cb, generateOptions(300, 5, 37)));
  mustLoad(generateSynthetic(cc, generateOptions(300, 6, 1000)));
  EXPECT_EQ(ra.insertedInto("members"), 300);
  EXPECT_GT(ra.insertedInto("transaction_lines"), 300);
  EXPECT_EQ(generatedDigest(ca), generatedDigest(cb));
  EXPECT_NE(generatedDigest(ca), generatedDigest(cc));
  // Built-in catalogue when nothing is loaded: 10 stores, 500 products, all purchases inside it.
  EXPECT_EQ(count(ca, "SELECT count(*) FROM stores"), 10);
  EXPECT_EQ(count(ca,
                  "SELECT count(*) FROM transaction_lines WHERE product_id NOT BETWEEN 300000001 "
                  "AND 300000500"),
            0);
  // Bounded: every member's history fits the 60-day window, at most one visit per day.
  EXPECT_EQ(count(ca,
                  "SELECT count(*) FROM transactions WHERE business_day NOT BETWEEN '2017-11-02' "
                  "AND '2017-12-31'"),
            0);
  EXPECT_LE(
      count(ca, "SELECT max(n) FROM (SELECT count(*) AS n FROM transactions GROUP BY member_id) s"),
      60);
}

TEST(GenerateSynthetic, ARerunSkipsMembersThatExistAndChangesNothing) {
  PgDatabase db("loader_gen_again");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  mustLoad(generateSynthetic(c, generateOptions(120, 9, 50)));
  const auto before = contentDigest(c);
  const auto again = mustLoad(generateSynthetic(c, generateOptions(120, 9, 50)));
  EXPECT_EQ(again.totalInserted(), 0);
  EXPECT_EQ(contentDigest(c), before);
  // A larger N only adds the new members: 120 present, 30 more.
  EXPECT_EQ(mustLoad(generateSynthetic(c, generateOptions(150, 9, 50))).insertedInto("members"),
            30);
}

TEST(GenerateSynthetic, DrawsFromTheLoadedDataWhenThereIsSome) {
  const std::string file = datasets() + "/groceries-members/Groceries_dataset.csv";
  REQUIRE_DATASET(file);
  PgDatabase db("loader_gen_loaded");
  AISLE_REQUIRE_PG(db);
  pqxx::connection c(db.url());
  mustLoad(loadGroceries(c, file, {}));
  const auto r = mustLoad(generateSynthetic(c, generateOptions(200, 3, 1000)));
  EXPECT_EQ(r.insertedInto("products"), 0);  // no built-in catalogue
  EXPECT_EQ(
      count(c,
            "SELECT count(*) FROM transaction_lines l WHERE member_id >= 1000000000 AND NOT EXISTS "
            "(SELECT 1 FROM transaction_lines g WHERE g.member_id < 1000000000 AND g.product_id = "
            "l.product_id)"),
      0);
  EXPECT_EQ(
      count(c, "SELECT count(DISTINCT store_id) FROM transactions WHERE member_id >= 1000000000"),
      1);
  EXPECT_GT(count(c, "SELECT count(*) FROM transactions WHERE member_id >= 1000000000"), 0);
}

}  // namespace
}  // namespace aisle::engine
