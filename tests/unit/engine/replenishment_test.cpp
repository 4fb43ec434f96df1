#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aisle/engine/replenishment.h"

namespace aisle::engine {
namespace {

std::vector<PurchaseEvent> every(int days, int count, double units = 1.0) {
  std::vector<PurchaseEvent> v;
  for (int i = 0; i < count; ++i) v.push_back({i * days, units});
  return v;
}

TEST(Replenishment, ShrinksAShortHistoryTowardThePopulationInterval) {
  // Days 0, 14, 28: two intervals of 14; prior 30 with weight 2, in log space:
  // exp((2 ln 14 + 2 ln 30) / 4) = sqrt(14 x 30) = 20.49.
  const auto e = estimateReplenishment(every(14, 3), IntervalPrior{30, 0.5});
  EXPECT_NEAR(e.perUnitDays, std::sqrt(420.0), 1e-9);
  EXPECT_NEAR(e.intervalDays, std::sqrt(420.0), 1e-9);
  EXPECT_NEAR(e.expectedNextDay, 28 + std::sqrt(420.0), 1e-9);
  EXPECT_EQ(e.purchases, 3);
  EXPECT_EQ(e.lastDay, 28);
}

TEST(Replenishment, UsesThePopulationIntervalForASinglePurchase) {
  const auto e =
      estimateReplenishment(std::vector<PurchaseEvent>{{100, 1}}, IntervalPrior{30, 0.5});
  EXPECT_DOUBLE_EQ(e.intervalDays, 30.0);
  EXPECT_DOUBLE_EQ(e.expectedNextDay, 130.0);
}

TEST(Replenishment, ConvergesToTheMembersOwnRhythmWithLongHistory) {
  // 99 gaps of 7 days: 7 x (30 / 7)^(2 / 101) = 7.20.
  const auto e = estimateReplenishment(every(7, 100), IntervalPrior{30, 0.5});
  EXPECT_NEAR(e.intervalDays, 7.0, 0.5);
}

TEST(Replenishment, TwoUnitsLastTwiceAsLongAsOne) {
  auto ev = every(14, 3);
  const auto one = estimateReplenishment(ev, IntervalPrior{14, 0.5});
  ev.back().units = 2;
  const auto two = estimateReplenishment(ev, IntervalPrior{14, 0.5});
  EXPECT_DOUBLE_EQ(one.intervalDays, 14.0);
  EXPECT_DOUBLE_EQ(two.intervalDays, 28.0);
  EXPECT_DOUBLE_EQ(two.expectedNextDay, 28.0 + 28.0);
}

TEST(Replenishment, AMemberBuyingTwoTubesEveryFourWeeksHasTheSamePerUnitRateAsOneEveryTwo) {
  // Days 0 (2 units), 28 (2 units): 28 days for 2 units = 14 a unit, as the prior.
  const std::vector<PurchaseEvent> ev{{0, 2}, {28, 2}};
  const auto e = estimateReplenishment(ev, IntervalPrior{14, 0.5});
  EXPECT_DOUBLE_EQ(e.perUnitDays, 14.0);
  EXPECT_DOUBLE_EQ(e.intervalDays, 28.0);
}

TEST(Replenishment, FallsBackToTheDefaultIntervalWhenNothingIsKnown) {
  const auto e = estimateReplenishment(std::vector<PurchaseEvent>{{5, 1}}, IntervalPrior{});
  EXPECT_DOUBLE_EQ(e.intervalDays, ReplenishmentParams{}.fallbackDays);
}

TEST(Replenishment, IsMoreConfidentWithMoreAndMoreRegularHistory) {
  const IntervalPrior prior{20, 0.8};
  const auto single = estimateReplenishment(every(10, 1), prior);
  const auto regular = estimateReplenishment(every(10, 12), prior);
  std::vector<PurchaseEvent> irregular{{0, 1},   {2, 1},   {30, 1},  {33, 1},  {70, 1},  {71, 1},
                                       {120, 1}, {122, 1}, {160, 1}, {161, 1}, {200, 1}, {203, 1}};
  const auto noisy = estimateReplenishment(irregular, prior);
  EXPECT_LT(single.confidence, regular.confidence);
  EXPECT_LT(noisy.confidence, regular.confidence);
  EXPECT_GT(regular.confidence, 0.8);  // cv 0: 1 x (0.3 + 0.7 x 11/13) = 0.89
  EXPECT_LE(regular.confidence, 1.0);
}

TEST(Replenishment, ExplainsTheRhythmAndTheLastPurchaseInWords) {
  ReplenishmentEstimate e;
  e.purchases = 3;
  e.personalWeight = 0.5;
  e.intervalDays = 14.2;
  e.lastDay = 100;
  EXPECT_EQ(replenishmentExplanation(e, 112),
            "you buy this about every 14 days; last bought 12 days ago");
  e.personalWeight = 0.4;  // mostly the population's interval: say so
  EXPECT_EQ(replenishmentExplanation(e, 101),
            "shoppers usually buy this again after about 14 days; last bought yesterday");
}

TEST(PopulationIntervals, TakesTheMedianPerUnitIntervalOverAllMembers) {
  PopulationIntervals pop;
  pop.addSeries(7, std::vector<PurchaseEvent>{{0, 1}, {10, 1}, {20, 1}});  // 10, 10
  pop.addSeries(7, std::vector<PurchaseEvent>{{0, 2}, {40, 1}});           // 40 / 2 = 20
  pop.addSeries(7, std::vector<PurchaseEvent>{{3, 1}});                    // no pair
  pop.addSeries(8, std::vector<PurchaseEvent>{{0, 1}});
  pop.finish();
  EXPECT_DOUBLE_EQ(pop.prior(7).perUnitDays, 10.0);  // median of {10, 10, 20}
  EXPECT_DOUBLE_EQ(pop.prior(8).perUnitDays, 0.0);
  EXPECT_DOUBLE_EQ(pop.prior(9).perUnitDays, 0.0);
}

TEST(PopulationIntervals, EstimatesALowCredibilityConstantWhenMembersDifferConsistently) {
  // 40 members at 7 days and 40 at 28, each perfectly regular: all variance lies between members,
  // so a member's own history deserves nearly full weight (k at its floor).
  PopulationIntervals distinct;
  for (int m = 0; m < 80; ++m) distinct.addSeries(1, every(m % 2 ? 7 : 28, 6));
  distinct.finish();
  EXPECT_DOUBLE_EQ(distinct.credibility(), 0.25);
  // Everyone alternates 7 and 28: members do not differ, the population should dominate.
  PopulationIntervals same;
  const std::vector<PurchaseEvent> alternating{{0, 1}, {7, 1}, {35, 1}, {42, 1}, {70, 1}, {77, 1}};
  for (int m = 0; m < 80; ++m) same.addSeries(1, alternating);
  same.finish();
  EXPECT_GT(same.credibility(), 10.0);
  EXPECT_DOUBLE_EQ(same.globalPrior().perUnitDays, 7.0);  // 3 sevens and 2 twenty-eights per member
}

TEST(ReplenishmentEvaluation, ScoresTheFirstPurchaseAfterTheCutoffAgainstBothBaselines) {
  // Member 1 buys item 5 every 10 days, member 2 every 40 days; cutoff at day 60.
  std::vector<DatedPurchase> p;
  for (int d = 0; d <= 90; d += 10) p.push_back({1, 5, d, 1});
  for (int d = 0; d <= 90; d += 40) p.push_back({2, 5, d, 1});
  const auto r = evaluateReplenishment(p, 60);
  EXPECT_EQ(r.all.pairs, 2u);
  EXPECT_EQ(r.members, 2u);
  // Personal medians are exact here: member 1 last bought on 50 -> 60, member 2 on 40 -> 80.
  EXPECT_DOUBLE_EQ(r.all.personalMedianMae, 0.0);
  // The product median (10 days) predicts 50 -> clamped to the cutoff 60 for member 2: 20 days off.
  EXPECT_DOUBLE_EQ(r.all.productMedianMae, 10.0);
}

}  // namespace
}  // namespace aisle::engine
