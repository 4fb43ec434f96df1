// The personalization batch against a real PostgreSQL: exact budgets under concurrent runs,
// idempotent re-runs, deterministic holdouts, incremental recompute, unguessable codes.
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include <filesystem>
#include <fstream>
#include <map>
#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "aisle/common/clock.h"
#include "aisle/engine/batch.h"
#include "aisle/engine/loader.h"
#include "aisle/engine/offers.h"
#include "pg_fixture.h"

namespace aisle::engine {
namespace {

constexpr std::int64_t kAsOfMs = 1514764800000;  // 2018-01-01, where the generator's data ends

class Batch : public ::testing::Test {
 protected:
  Batch() : db_("batch_test") {}

  void SetUp() override {
    if (!db_.available()) return;
    pqxx::connection c(db_.url());
    GenerateOptions g;
    g.members = 400;
    g.days = 120;
    g.seed = 7;
    auto r = generateSynthetic(c, g);
    ASSERT_TRUE(r.ok()) << r.message();
    // The three most bought categories of the built-in catalogue: every member has candidates.
    pqxx::read_transaction tx(c);
    for (const auto& row :
         tx.exec("SELECT p.category_id FROM transaction_lines l JOIN products p USING (product_id) "
                 "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 3"))
      categories_.push_back(row[0].as<std::int64_t>());
    ASSERT_EQ(categories_.size(), 3u);
  }

  // A campaign file in a temporary directory.
  std::string campaignFile(const std::string& extra0, const std::string& extra1) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("aisle-batch-test-" + std::to_string(std::random_device{}()) + ".toml");
    std::ofstream f(path);
    const auto campaign = [&](int id, std::int64_t category, const std::string& extra) {
      f << "[[campaign]]\nid = " << id << "\nname = \"c" << id
        << "\"\ntype = \"percent_off\"\npercent_off = 20\n"
        << "target = { category_id = " << category
        << " }\nvalid_from = 2017-12-01\nvalid_to = 2018-03-01\n"
        << extra << "\n\n";
    };
    campaign(1, categories_[0], extra0);
    campaign(2, categories_[1], extra1);
    files_.push_back(path);
    return path.string();
  }

  ~Batch() override {
    for (const auto& p : files_) std::filesystem::remove(p);
  }

  BatchReport run(const std::string& campaigns, bool all = false) {
    BatchOptions o;
    o.campaignsFile = campaigns;
    o.asOfMs = kAsOfMs;
    o.all = all;
    o.chunkMembers = 50;  // several chunks, so concurrent runs interleave
    SystemClock clock;
    auto codes = makeOsRandomCodes();
    auto r = runBatch(db_.url(), o, clock, *codes);
    if (!r) throw std::runtime_error(r.message());
    return *r;
  }

  pqxx::result query(const std::string& sql) {
    pqxx::connection c(db_.url());
    pqxx::read_transaction tx(c);
    return tx.exec(sql);
  }

  testing::PgDatabase db_;
  std::vector<std::int64_t> categories_;
  std::vector<std::filesystem::path> files_;
};

TEST_F(Batch, RespectsBudgetsExactlyWithTwoConcurrentRuns) {
  AISLE_REQUIRE_PG(db_);
  // Campaign 1 runs out by count, campaign 2 by money; demand exceeds both.
  const auto file = campaignFile("budget_count = 37", "budget = \"3.00\"");
  run(file);  // creates the campaigns; then reset everything the run issued
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    tx.exec(
        "DELETE FROM coupons; DELETE FROM campaign_members; DELETE FROM member_product_models; "
        "DELETE FROM member_category_models; DELETE FROM member_profiles; "
        "UPDATE campaigns SET committed_minor = 0, issued_count = 0");
    tx.commit();
  }
  BatchReport a, b;
  std::thread t1([&] { a = run(""); });
  std::thread t2([&] { b = run(""); });
  t1.join();
  t2.join();
  EXPECT_GT(a.budgetRefused + b.budgetRefused, 0);  // demand really exceeded the budgets

  const auto c1 = query(
      "SELECT issued_count, committed_minor, (SELECT count(*) FROM coupons WHERE campaign_id = 1), "
      "(SELECT coalesce(sum(value_minor), 0) FROM coupons WHERE campaign_id = 1) FROM campaigns "
      "WHERE campaign_id = 1");
  EXPECT_EQ(c1[0][0].as<int>(), 37);
  EXPECT_EQ(c1[0][2].as<int>(), 37);
  EXPECT_EQ(c1[0][1].as<std::int64_t>(), c1[0][3].as<std::int64_t>());

  const auto c2 = query(
      "SELECT committed_minor, (SELECT coalesce(sum(value_minor), 0) FROM coupons WHERE "
      "campaign_id = 2), "
      "issued_count, (SELECT count(*) FROM coupons WHERE campaign_id = 2) FROM campaigns WHERE "
      "campaign_id = 2");
  EXPECT_LE(c2[0][0].as<std::int64_t>(), 300);
  EXPECT_GT(c2[0][0].as<std::int64_t>(), 300 - 100);  // filled up to less than one coupon's value
  EXPECT_EQ(c2[0][0].as<std::int64_t>(), c2[0][1].as<std::int64_t>());
  EXPECT_EQ(c2[0][2].as<int>(), c2[0][3].as<int>());

  // The two runs met on the same members: still one coupon per member and campaign.
  const auto dup = query(
      "SELECT count(*) FROM (SELECT member_id, campaign_id FROM coupons GROUP BY 1, 2 HAVING "
      "count(*) > 1) d");
  EXPECT_EQ(dup[0][0].as<int>(), 0);
}

TEST_F(Batch, ReRunningIssuesNoDuplicates) {
  AISLE_REQUIRE_PG(db_);
  const auto file = campaignFile("per_member_limit = 1", "per_member_limit = 1");
  const auto first = run(file);
  EXPECT_GT(first.couponsIssued, 0);
  const auto again = run(file, /*all=*/true);  // every member recomputed, offers chosen again
  EXPECT_EQ(again.recomputed, first.recomputed);
  EXPECT_EQ(again.couponsIssued, 0);
  const auto n = query("SELECT count(*), count(DISTINCT (member_id, campaign_id)) FROM coupons");
  EXPECT_EQ(n[0][0].as<std::int64_t>(), first.couponsIssued);
  EXPECT_EQ(n[0][0].as<std::int64_t>(), n[0][1].as<std::int64_t>());
}

TEST_F(Batch, HoldsOutAStableShareOfEachCampaign) {
  AISLE_REQUIRE_PG(db_);
  const auto file = campaignFile("holdout_pct = 30", "holdout_pct = 30");
  const auto first = run(file);
  const auto held =
      query("SELECT member_id, campaign_id FROM campaign_members WHERE is_holdout ORDER BY 1, 2");
  const auto addressed = query("SELECT count(*) FROM campaign_members")[0][0].as<double>();
  ASSERT_GT(addressed, 100);
  // Binomial: 30 % of a few hundred members, three standard deviations of tolerance.
  const double share = static_cast<double>(held.size()) / addressed;
  EXPECT_NEAR(share, 0.30, 3 * std::sqrt(0.3 * 0.7 / addressed));
  for (const auto& r : held)
    EXPECT_TRUE(isHoldout(r[1].as<std::int64_t>(), r[0].as<std::int64_t>(), 3000));
  // Held-out members get no coupon of that campaign, now or on a re-run, and stay held out.
  run(file, /*all=*/true);
  const auto leaked = query(
      "SELECT count(*) FROM coupons c JOIN campaign_members m USING (member_id, campaign_id) WHERE "
      "m.is_holdout");
  EXPECT_EQ(leaked[0][0].as<int>(), 0);
  const auto heldAgain =
      query("SELECT member_id, campaign_id FROM campaign_members WHERE is_holdout ORDER BY 1, 2");
  EXPECT_EQ(heldAgain.size(), held.size());
  EXPECT_EQ(first.holdouts, static_cast<std::int64_t>(held.size()));
}

TEST_F(Batch, RecomputesOnlyMembersWithNewPurchases) {
  AISLE_REQUIRE_PG(db_);
  const auto file = campaignFile("", "");
  const auto first = run(file);
  EXPECT_EQ(first.recomputed, 400);
  EXPECT_EQ(run("").recomputed, 0);
  // One existing member buys again; five new members arrive.
  std::int64_t member = 0;
  {
    pqxx::connection c(db_.url());
    pqxx::work tx(c);
    const auto t = tx.exec1(
        "INSERT INTO transactions (member_id, org_id, store_id, workstation_id, business_day, "
        "sequence_no, occurred_at, "
        " content_hash, total_minor, source) "
        "SELECT member_id, org_id, store_id, workstation_id, business_day, sequence_no || "
        "'-again', occurred_at, "
        " content_hash, total_minor, source FROM transactions ORDER BY member_id, transaction_id "
        "LIMIT 1 "
        "RETURNING member_id, transaction_id");
    member = t[0].as<std::int64_t>();
    tx.exec_params(
        "INSERT INTO transaction_lines (member_id, transaction_id, line_no, product_id, quantity, "
        "amount_minor) "
        "SELECT $1, $2, 1, product_id, 1, 100 FROM products LIMIT 1",
        member, t[1].as<std::int64_t>());
    tx.commit();
    GenerateOptions g;
    g.members = 405;
    g.days = 120;
    g.seed = 7;
    ASSERT_TRUE(generateSynthetic(c, g).ok());
  }
  const auto before = query("SELECT computed_at FROM member_profiles WHERE member_id = " +
                            std::to_string(member + 1));
  EXPECT_EQ(run("").recomputed, 6);
  const auto after = query("SELECT computed_at FROM member_profiles WHERE member_id = " +
                           std::to_string(member + 1));
  EXPECT_EQ(std::string(before[0][0].c_str()),
            after[0][0].c_str());  // a member without news untouched
  const auto through = query(
      "SELECT modeled_through = (SELECT max(transaction_id) FROM transactions WHERE member_id = " +
      std::to_string(member) +
      ") FROM member_profiles WHERE member_id = " + std::to_string(member));
  EXPECT_TRUE(through[0][0].as<bool>());
}

TEST_F(Batch, IssuesUniqueUnguessableCodesWithReasonsAndWritesTheModels) {
  AISLE_REQUIRE_PG(db_);
  const auto report = run(campaignFile("", ""));
  ASSERT_GT(report.couponsIssued, 0);
  const auto codes = query("SELECT code, reason, valid_to > valid_from, value_minor FROM coupons");
  std::set<std::string> seen;
  for (const auto& r : codes) {
    const std::string code = r[0].c_str();
    EXPECT_GE(code.size() * 5, 64u);  // base32: 5 bits a character
    seen.insert(code);
    EXPECT_NE(std::string(r[1].c_str()).find(':'), std::string::npos)
        << r[1].c_str();  // "20% off X: why"
    EXPECT_TRUE(r[2].as<bool>());
    EXPECT_GT(r[3].as<std::int64_t>(), 0);
  }
  EXPECT_EQ(seen.size(), codes.size());
  const auto models = query(
      "SELECT count(*), count(affinity), count(expected_next_at), count(explanation) FROM "
      "member_product_models");
  EXPECT_GT(models[0][0].as<int>(), 400);
  EXPECT_EQ(models[0][1].as<int>(), models[0][0].as<int>());
  EXPECT_EQ(models[0][2].as<int>(), models[0][0].as<int>());
  // expected_next_at is the next purchase given none up to the run's day: never in its past.
  EXPECT_EQ(query("SELECT count(*) FROM member_product_models WHERE expected_next_at < "
                  "'2018-01-01T00:00:00Z'")[0][0]
                .as<int>(),
            0);
  EXPECT_EQ(query("SELECT count(*) FROM member_category_models WHERE expected_next_at < "
                  "'2018-01-01T00:00:00Z'")[0][0]
                .as<int>(),
            0);
  const auto segments = query("SELECT count(DISTINCT segment), count(*) FROM member_profiles");
  EXPECT_EQ(segments[0][1].as<int>(), 400);
  EXPECT_GE(segments[0][0].as<int>(), 2);
}

TEST_F(Batch, IssuesBasketOffersOnlyToMembersWhoseTypicalBasketIsJustBelowTheThreshold) {
  AISLE_REQUIRE_PG(db_);
  // Each member's last 20 baskets (the batch's window), sorted by spend, from SQL: an independent
  // computation of the median the batch uses (the upper one for an even count).
  std::map<std::int64_t, std::int64_t> median;
  for (const auto& r : query(
           "WITH b AS (SELECT member_id, transaction_id, t.occurred_at, sum(amount_minor) AS s "
           " FROM transactions t JOIN transaction_lines USING (member_id, transaction_id) "
           " GROUP BY 1, 2, 3), "
           "r AS (SELECT member_id, s, row_number() OVER (PARTITION BY member_id "
           " ORDER BY occurred_at DESC, transaction_id DESC) AS rn FROM b) "
           "SELECT member_id, (array_agg(s ORDER BY s))[count(*) / 2 + 1] FROM r WHERE rn <= 20 "
           "GROUP BY 1 HAVING count(*) >= 3")) {
    median[r[0].as<std::int64_t>()] = r[1].as<std::int64_t>();
  }
  std::vector<std::int64_t> medians;
  for (const auto& [m, v] : median) medians.push_back(v);
  std::sort(medians.begin(), medians.end());
  // Threshold at the 70th percentile of typical baskets: some members below it, some above.
  const std::int64_t threshold = medians[medians.size() * 7 / 10];
  const auto path = std::filesystem::temp_directory_path() /
                    ("aisle-batch-basket-" + std::to_string(std::random_device{}()) + ".toml");
  files_.push_back(path);
  std::ofstream(path) << "[[campaign]]\nid = 3\nname = \"spend and save\"\ntype = \"amount_off\"\n"
                      << "amount_off = \"2.00\"\ntarget = { basket_min_spend = \"" << threshold / 100
                      << "." << (threshold % 100 < 10 ? "0" : "") << threshold % 100
                      << "\" }\nvalid_from = 2017-12-01\nvalid_to = 2018-03-01\n";
  const auto report = run(path.string());
  std::size_t near = 0;
  for (const auto& [m, v] : median) near += v < threshold && v >= threshold * 0.6;
  ASSERT_GT(near, 0u);
  // Nothing else competes for the member's slots: every member near the threshold gets one.
  EXPECT_EQ(report.couponsIssued, static_cast<std::int64_t>(near));
  const auto coupons =
      query("SELECT member_id, product_id IS NULL, value_minor, reason FROM coupons");
  ASSERT_EQ(coupons.size(), near);
  for (const auto& r : coupons) {
    const auto m = r[0].as<std::int64_t>();
    ASSERT_TRUE(median.count(m));
    EXPECT_LT(median[m], threshold);
    EXPECT_GE(static_cast<double>(median[m]), threshold * 0.6);
    EXPECT_TRUE(r[1].as<bool>());
    EXPECT_EQ(r[2].as<std::int64_t>(), 200);
    EXPECT_NE(std::string(r[3].c_str()).find("on a basket of"), std::string::npos);
  }
  // A second run issues nothing new: the member has this basket coupon already.
  EXPECT_EQ(run(path.string(), true).couponsIssued, 0);
}

}  // namespace
}  // namespace aisle::engine
