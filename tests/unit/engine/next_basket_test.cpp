#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "aisle/engine/evaluate.h"
#include "aisle/engine/history.h"
#include "aisle/engine/next_basket.h"

namespace aisle::engine {
namespace {

std::vector<ItemIndex> items(std::initializer_list<ItemIndex> list) {
  return list;
}

BasketDataset parseDataset(std::string_view history, std::string_view future) {
  BasketDataset data;
  EXPECT_TRUE(parseBasketJson(history, data.members, data.items, data.history).ok());
  EXPECT_TRUE(parseBasketJson(future, data.members, data.items, data.future).ok());
  data.history.finish(data.members.size());
  data.future.finish(data.members.size());
  return data;
}

std::vector<std::int64_t> recommendExternal(const BasketDataset& data, ModelKind kind,
                                            const std::string& member, std::size_t k) {
  NextBasketModel model(kind);
  model.fit(data, {});
  ScoringWorkspace ws;
  std::vector<ItemIndex> ranked;
  model.recommend(data.history, data.members.find(member), k, ranked, ws);
  std::vector<std::int64_t> out;
  for (ItemIndex i : ranked) out.push_back(data.items.external(i));
  return out;
}

}  // namespace

TEST(NextBasketMetrics, MatchHandComputedValuesOnATinyCase) {
  const auto target = items({1, 2, 3});  // sorted set
  const auto ranked = items({1, 5, 2, 3});
  EXPECT_DOUBLE_EQ(recallAt(target, ranked, 2), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(recallAt(target, ranked, 4), 1.0);
  // Hits at ranks 1 and 3 (gains 1 and 1/log2(4) = 0.5 within k=4; only rank 1 within k=2).
  const double idcg2 = 1.0 + 1.0 / std::log2(3.0);
  EXPECT_DOUBLE_EQ(ndcgAt(target, ranked, 2), 1.0 / idcg2);
  const double idcg3 = idcg2 + 0.5;
  EXPECT_DOUBLE_EQ(ndcgAt(target, ranked, 4), (1.0 + 0.5 + 1.0 / std::log2(5.0)) / idcg3);
  // The repository variant divides by the ideal gain of the whole basket even when k is smaller.
  EXPECT_DOUBLE_EQ(ndcgWholeBasketAt(target, ranked, 2), 1.0 / idcg3);
  EXPECT_DOUBLE_EQ(hitAt(target, ranked, 1), 1.0);
  EXPECT_DOUBLE_EQ(hitAt(target, items({7, 8, 1}), 2), 0.0);
}

TEST(NextBasketMetrics, ReachOneForAPerfectListAndHandleShortLists) {
  const auto target = items({4, 9});
  EXPECT_DOUBLE_EQ(ndcgAt(target, items({9, 4}), 10), 1.0);
  EXPECT_DOUBLE_EQ(ndcgWholeBasketAt(target, items({9, 4}), 10), 1.0);
  EXPECT_DOUBLE_EQ(recallAt(target, items({}), 10), 0.0);
  EXPECT_DOUBLE_EQ(recallAt(items({}), items({1}), 10), 0.0);
}

TEST(BasketJson, DropsSentinelsDeduplicatesBasketsAndSharesDictionaries) {
  auto data = parseDataset(R"({"7": [[-1], [5, 3, 5], [3], [-1]], "2": [[-1], [9], [-1]]})",
                           R"({"2": [[-1], [3, 11], [-1]], "7": [[-1], [5], [-1]]})");
  ASSERT_EQ(data.members.size(), 2u);
  const MemberIndex seven = data.members.find("7");
  ASSERT_EQ(data.history.basketsOf(seven), 2u);
  const auto first = data.history.basket(data.history.firstBasket(seven));
  ASSERT_EQ(first.size(), 2u);  // 5, 3 deduplicated
  EXPECT_EQ(data.target(seven).size(), 1u);
  EXPECT_EQ(data.items.external(data.target(seven)[0]), 5);
  EXPECT_EQ(data.target(data.members.find("2")).size(), 2u);
  EXPECT_EQ(data.items.size(), 4u);  // 5, 3, 9, 11
}

TEST(BasketJson, RejectsMalformedInputWithAPosition) {
  BasketDataset data;
  auto st = parseBasketJson(R"({"1": [[-1], [1, 2}])", data.members, data.items, data.history);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("at byte"), std::string::npos);
  EXPECT_FALSE(
      parseBasketJson(R"({"1": [[-1], [-4], [-1]]})", data.members, data.items, data.history).ok());
  EXPECT_FALSE(parseBasketJson(R"({"1": []} x)", data.members, data.items, data.history).ok());
}

TEST(Keyset, ReadsTheSplitsAndSkipsUnknownKeys) {
  auto k = parseKeyset(
      R"({"item_num": 12, "extra": {"a": [1, "x"]}, "train": ["1", "2"], "val": [], "test": [3]})");
  ASSERT_TRUE(k.ok()) << k.message();
  EXPECT_EQ(k->itemNum, 12);
  EXPECT_EQ(k->train, (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(k->val.empty());
  EXPECT_EQ(k->test, (std::vector<std::string>{"3"}));
  EXPECT_FALSE(parseKeyset(R"({"train": []})").ok());
}

TEST(Baselines, GTopFreqRanksItemsByHistoryBasketCount) {
  auto data = parseDataset(
      R"({"a": [[-1], [1, 2], [2, 3], [-1]], "b": [[-1], [2, 3], [3], [4], [-1]]})", "{}");
  // Counts: 3 -> 3, 2 -> 3 (first seen earlier, stable tie), 1 -> 1, 4 -> 1.
  EXPECT_EQ(recommendExternal(data, ModelKind::GTopFreq, "a", 3),
            (std::vector<std::int64_t>{2, 3, 1}));
}

TEST(Baselines, PTopFreqRanksPersonalFrequencyThenRecencyAndDoesNotFill) {
  auto data = parseDataset(
      R"({"a": [[-1], [1, 2], [2, 3], [4], [-1]], "b": [[-1], [9], [9], [-1]]})", "{}");
  // 2 twice; 1, 3, 4 once each, the most recent first: 4, then 3, then 1.
  EXPECT_EQ(recommendExternal(data, ModelKind::PTopFreq, "a", 10),
            (std::vector<std::int64_t>{2, 4, 3, 1}));
}

TEST(Baselines, GpTopFreqFillsWithPopularItemsTheMemberNeverBought) {
  auto data = parseDataset(
      R"({"a": [[-1], [1], [-1]], "b": [[-1], [9, 8], [9], [-1]], "c": [[-1], [9, 8], [-1]]})",
      "{}");
  EXPECT_EQ(recommendExternal(data, ModelKind::GpTopFreq, "a", 3),
            (std::vector<std::int64_t>{1, 9, 8}));
}

TEST(BlendModel, BeatsPersonalTopFreqWhenNextBasketsFollowFromTheLastOne) {
  // Every member buys two staples in every basket plus one-off noise; whoever buys the trigger item
  // buys its follow-up in the next basket. Members of the test half end their history with the
  // trigger, so only a model that learns transitions from the other members finds the follow-up.
  BasketDataset data;
  const ItemIndex trigger = data.items.intern(1000), followUp = data.items.intern(1001);
  std::mt19937 rng(7);  // fixed seed: the case is the same on every run
  std::uniform_int_distribution<int> noiseItem(500, 799);
  std::vector<MemberIndex> train, test;
  for (int u = 0; u < 200; ++u) {
    const MemberIndex m = data.members.intern(std::to_string(u));
    // Staples differ between members, as in a real store: no single one is popular overall.
    const ItemIndex s1 = data.items.intern(2 * u), s2 = data.items.intern(2 * u + 1);
    const bool testMember = u % 2 == 1;
    const int baskets = 5 + u % 3;
    for (int b = 0; b < baskets; ++b) {
      std::vector<ItemIndex> basket{s1, s2, data.items.intern(noiseItem(rng)),
                                    data.items.intern(noiseItem(rng))};
      const bool last = b == baskets - 1;
      if ((b == 1 && !testMember) || (last && testMember)) basket.push_back(trigger);
      if (b == 2 && !testMember) basket.push_back(followUp);
      data.history.add(m, basket);
    }
    data.future.add(m, std::vector<ItemIndex>{
                           s1, s2, testMember ? followUp : data.items.intern(noiseItem(rng))});
    (testMember ? test : train).push_back(m);
  }
  data.history.finish(data.members.size());
  data.future.finish(data.members.size());

  EvaluationOptions options;
  options.ks = {3};
  NextBasketModel blend(ModelKind::Blend), personal(ModelKind::PTopFreq);
  const auto b = evaluateModel(data, blend, train, test, options, "test").report;
  const auto p = evaluateModel(data, personal, train, test, options, "test").report;
  EXPECT_GT(b.all.recall.at(3), p.all.recall.at(3) + 0.2);
  EXPECT_GT(b.all.ndcg.at(3), p.all.ndcg.at(3));
  EXPECT_NEAR(b.all.recall.at(3), 1.0, 1e-9);
  EXPECT_EQ(b.all.users, 100u);
}

TEST(GroceriesTimeSplit, MakesTheLastPurchaseDayTheFutureBasket) {
  std::vector<std::string> products;
  auto lines = parseGroceriesCsv(
      "Member_number,Date,itemDescription\n"
      "1,2/1/2015,milk\n1,01-01-2015,bread\n1,02-01-2015,eggs\n1,01-01-2015,milk\n"
      "2,05-03-2014,milk\n"  // one day only: no history, left out
      "3,31-12-2014,soda\r\n3,01-01-2015,soda\n",
      products);
  ASSERT_TRUE(lines.ok()) << lines.message();
  EXPECT_EQ(products, (std::vector<std::string>{"milk", "bread", "eggs", "soda"}));
  const BasketDataset data = timeSplit(std::move(*lines));
  ASSERT_EQ(data.members.size(), 2u);
  const MemberIndex one = data.members.find("1");
  ASSERT_EQ(data.history.basketsOf(one), 1u);
  EXPECT_EQ(data.history.basket(data.history.firstBasket(one)).size(), 2u);  // bread, milk
  EXPECT_EQ(data.target(one).size(), 2u);                                    // milk, eggs
  EXPECT_EQ(data.members.find("2"), data.members.size());
  EXPECT_FALSE(parseGroceriesCsv("1,2015-01-02,milk\n", products).ok());
  EXPECT_FALSE(parseGroceriesCsv("1,13/13/2015,milk\n", products).ok());
}

}  // namespace aisle::engine
