#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "aisle/engine/replenishment.h"

namespace aisle::engine {
namespace {

IntervalPrior priorOf(double perUnitDays, double cv) {
  IntervalPrior p;
  p.perUnitDays = perUnitDays;
  p.cv = cv;
  return p;
}

std::vector<PurchaseEvent> every(int days, int count, double units = 1.0) {
  std::vector<PurchaseEvent> v;
  for (int i = 0; i < count; ++i) v.push_back({i * days, units});
  return v;
}

TEST(Replenishment, ShrinksAShortHistoryTowardThePopulationInterval) {
  // Days 0, 14, 28: two intervals of 14; prior 30 with weight 2, in log space:
  // exp((2 ln 14 + 2 ln 30) / 4) = sqrt(14 x 30) = 20.49.
  const auto e = estimateReplenishment(every(14, 3), priorOf(30, 0.5));
  EXPECT_NEAR(e.perUnitDays, std::sqrt(420.0), 1e-9);
  EXPECT_NEAR(e.intervalDays, std::sqrt(420.0), 1e-9);
  EXPECT_NEAR(e.expectedNextDay, 28 + std::sqrt(420.0), 1e-9);
  EXPECT_EQ(e.purchases, 3);
  EXPECT_EQ(e.lastDay, 28);
}

TEST(Replenishment, UsesThePopulationIntervalForASinglePurchase) {
  const auto e =
      estimateReplenishment(std::vector<PurchaseEvent>{{100, 1}}, priorOf(30, 0.5));
  EXPECT_DOUBLE_EQ(e.intervalDays, 30.0);
  EXPECT_DOUBLE_EQ(e.expectedNextDay, 130.0);
}

TEST(Replenishment, ConvergesToTheMembersOwnRhythmWithLongHistory) {
  // 99 gaps of 7 days: 7 x (30 / 7)^(2 / 101) = 7.20.
  const auto e = estimateReplenishment(every(7, 100), priorOf(30, 0.5));
  EXPECT_NEAR(e.intervalDays, 7.0, 0.5);
}

ReplenishmentParams proportional() {
  ReplenishmentParams p;
  p.quantityElasticity = 1.0;
  return p;
}

TEST(Replenishment, TwoUnitsLastTwiceAsLongAsOneWhenConsumptionIsProportional) {
  auto ev = every(14, 3);
  const auto one = estimateReplenishment(ev, priorOf(14, 0.5), proportional());
  ev.back().units = 2;
  const auto two = estimateReplenishment(ev, priorOf(14, 0.5), proportional());
  EXPECT_DOUBLE_EQ(one.intervalDays, 14.0);
  EXPECT_DOUBLE_EQ(two.intervalDays, 28.0);
  EXPECT_DOUBLE_EQ(two.expectedNextDay, 28.0 + 28.0);
}

TEST(Replenishment, TwoUnitsLastTheSquareRootOfTwoAsLongWithTheDefaultElasticity) {
  auto ev = every(14, 3);
  ev.back().units = 2;
  const auto two = estimateReplenishment(ev, priorOf(14, 0.5));
  EXPECT_DOUBLE_EQ(ReplenishmentParams{}.quantityElasticity, 0.5);
  EXPECT_NEAR(two.intervalDays, 14.0 * std::sqrt(2.0), 1e-9);
}

TEST(Replenishment, AMemberBuyingTwoTubesEveryFourWeeksHasTheSamePerUnitRateAsOneEveryTwo) {
  // Days 0 (2 units), 28 (2 units): 28 days for 2 units = 14 a unit, as the prior.
  const std::vector<PurchaseEvent> ev{{0, 2}, {28, 2}};
  const auto e = estimateReplenishment(ev, priorOf(14, 0.5), proportional());
  EXPECT_DOUBLE_EQ(e.perUnitDays, 14.0);
  EXPECT_DOUBLE_EQ(e.intervalDays, 28.0);
  EXPECT_DOUBLE_EQ(e.memberScale, 1.0);
}

TEST(Replenishment, RecordsTheMembersRhythmRelativeToThePrior) {
  // As in the shrinkage case above: sqrt(14 x 30) per unit against a prior of 30.
  const auto e = estimateReplenishment(every(14, 3), priorOf(30, 0.5));
  EXPECT_NEAR(e.memberScale, std::sqrt(420.0) / 30.0, 1e-12);
}

TEST(ConditionalNextPurchase, IsTheMedianOfTheGapsLongerThanTheTimeAlreadyElapsed) {
  const std::vector<float> gaps{5, 10, 20, 30, 60};
  // Nothing elapsed: the plain median, 20 days after the last purchase on day 100.
  EXPECT_DOUBLE_EQ(conditionalMedianDay(100, 1.0, gaps, 100), 120.0);
  // 12 days without a purchase: gaps 20, 30, 60 remain -> 30.
  EXPECT_DOUBLE_EQ(conditionalMedianDay(100, 1.0, gaps, 112), 130.0);
  // A member twice as slow: 2g >= 12 leaves 10, 20, 30, 60 -> median 25, x 2 = 50.
  EXPECT_DOUBLE_EQ(conditionalMedianDay(100, 2.0, gaps, 112), 150.0);
  // Overdue beyond every observed gap: any day now.
  EXPECT_DOUBLE_EQ(conditionalMedianDay(100, 1.0, gaps, 200), 200.0);
}

TEST(ConditionalNextPurchase, ScalesTheGapsByTheMemberAndTheQuantityBoughtLast) {
  auto shape = std::make_shared<std::vector<float>>(std::vector<float>{5, 10, 20, 30, 60});
  IntervalPrior prior;
  prior.sortedGaps = shape;
  ReplenishmentEstimate e;
  e.purchases = 2;
  e.lastDay = 100;
  e.lastUnits = 4;
  e.memberScale = 1.5;
  // scale = 1.5 x 4^0.5 = 3; 30 days elapsed: 3g >= 30 leaves 10, 20, 30, 60 -> 25 x 3 = 75.
  EXPECT_DOUBLE_EQ(nextPurchaseDayGiven(e, prior, 130), 175.0);
  // Without a known gap distribution: the rhythm's date, but never before today.
  e.expectedNextDay = 140;
  EXPECT_DOUBLE_EQ(nextPurchaseDayGiven(e, IntervalPrior{}, 130), 140.0);
  EXPECT_DOUBLE_EQ(nextPurchaseDayGiven(e, IntervalPrior{}, 150), 150.0);
}

TEST(Replenishment, FallsBackToTheDefaultIntervalWhenNothingIsKnown) {
  const auto e = estimateReplenishment(std::vector<PurchaseEvent>{{5, 1}}, IntervalPrior{});
  EXPECT_DOUBLE_EQ(e.intervalDays, ReplenishmentParams{}.fallbackDays);
}

TEST(Replenishment, IsMoreConfidentWithMoreAndMoreRegularHistory) {
  const IntervalPrior prior = priorOf(20, 0.8);
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

TEST(PopulationIntervals, KeepsASortedBoundedGapShapeForKeysWithEnoughGaps) {
  PopulationIntervals pop;
  pop.addSeries(1, std::vector<PurchaseEvent>{{0, 1}, {30, 1}, {40, 1}, {60, 1}});  // 30, 10, 20
  std::vector<PurchaseEvent> many;
  for (int i = 0; i <= 5000; ++i) many.push_back({i * 3 + (i % 2), 1});  // gaps 4, 2, 4, 2, ...
  pop.addSeries(2, many);
  pop.finish();
  const auto three = pop.shape(1, 3);
  ASSERT_TRUE(three.sortedGaps);
  EXPECT_EQ(*three.sortedGaps, (std::vector<float>{10, 20, 30}));
  EXPECT_EQ(three.gaps, 3u);
  EXPECT_FALSE(pop.shape(1, 4).sortedGaps);  // too few gaps for its own shape
  const auto big = pop.shape(2, 100);
  ASSERT_TRUE(big.sortedGaps);
  EXPECT_EQ(big.gaps, 5000u);
  EXPECT_EQ(big.sortedGaps->size(), 1025u);  // thinned to evenly spaced order statistics
  EXPECT_FLOAT_EQ(big.sortedGaps->front(), 2.0f);
  EXPECT_FLOAT_EQ(big.sortedGaps->back(), 4.0f);
  EXPECT_TRUE(std::is_sorted(big.sortedGaps->begin(), big.sortedGaps->end()));
  EXPECT_EQ(pop.globalPrior().gaps, 5003u);
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
  EXPECT_DOUBLE_EQ(r.all.productMedianWithin7, 0.5);
  // History gaps: 10 x5 (member 1) and 40 (member 2). The conditional median knows member 2 has
  // waited 20 days already: of the gaps >= 20 only 40 is left -> day 80, exact; member 1: all gaps
  // remain after 10 days, median 10 -> day 60, exact.
  EXPECT_DOUBLE_EQ(r.all.conditionalMedianMae, 0.0);
  EXPECT_DOUBLE_EQ(r.all.conditionalMedianWithin7, 1.0);
  // The model shrinks member 2's single gap (40, against the product's 10) with k = 2 (too few
  // members to estimate it): scale (40 / 10)^(1/3); 40 x scale >= 20 -> day 40 + 40 x 4^(1/3).
  EXPECT_DOUBLE_EQ(r.credibility, 2.0);
  EXPECT_NEAR(r.all.modelMae, (40.0 + 40.0 * std::cbrt(4.0) - 80.0) / 2, 1e-4);
  EXPECT_DOUBLE_EQ(r.all.modelWithin7, 0.5);
}

}  // namespace
}  // namespace aisle::engine
