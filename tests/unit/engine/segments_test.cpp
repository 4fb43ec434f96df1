#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "aisle/engine/segments.h"

namespace aisle::engine {
namespace {

constexpr std::int32_t kToday = 1000;

MemberActivity active(int visits90, std::int64_t spend90) {
  MemberActivity a;
  a.firstDay = kToday - 365;
  a.lastDay = kToday - 3;
  a.visits = visits90 * 4;
  a.visits90 = visits90;
  a.spendMinor = spend90 * 4;
  a.spend90Minor = spend90;
  a.distinctCategories = 10;
  a.topCategoryShare = 0.2;
  return a;
}

SegmentThresholds thresholds() {
  SegmentThresholds t;
  t.visits90Median = 6;
  t.visits90P80 = 12;
  t.spend90Median = 30000;
  t.spend90P80 = 80000;
  t.basketP80 = 6000;
  t.categoriesP80 = 20;
  return t;
}

TEST(Segments, PutsLifecycleBeforeValue) {
  auto bigButGone = active(20, 200000);
  bigButGone.lastDay = kToday - 120;
  EXPECT_EQ(assignSegment(bigButGone, thresholds(), kToday), Segment::Lapsed);

  MemberActivity fresh;
  fresh.firstDay = fresh.lastDay = kToday - 10;
  fresh.visits = 1;
  EXPECT_EQ(assignSegment(fresh, thresholds(), kToday), Segment::New);

  auto drifting = active(2, 5000);
  drifting.visits = 52;            // about weekly for a year
  drifting.lastDay = kToday - 40;  // 40 > 30 and > 3 x 6.5 days
  EXPECT_EQ(assignSegment(drifting, thresholds(), kToday), Segment::AtRisk);
}

TEST(Segments, RanksByVisitsAndSpendOfTheLastNinetyDays) {
  EXPECT_EQ(assignSegment(active(13, 90000), thresholds(), kToday), Segment::Champions);
  EXPECT_EQ(assignSegment(active(7, 40000), thresholds(), kToday), Segment::Loyal);
  EXPECT_EQ(assignSegment(active(3, 10000), thresholds(), kToday), Segment::Occasional);
}

TEST(Segments, RecognisesDealSeekersBigBasketsSpecialistsAndExplorers) {
  auto deals = active(3, 10000);
  deals.discountMinor = deals.spendMinor;  // half of the list price came off
  EXPECT_EQ(assignSegment(deals, thresholds(), kToday), Segment::DealSeekers);

  auto big = active(2, 20000);  // 80000 over 8 visits = 10000 a basket
  EXPECT_EQ(assignSegment(big, thresholds(), kToday), Segment::BigBasket);

  auto specialist = active(3, 10000);
  specialist.topCategoryShare = 0.6;
  specialist.distinctCategories = 4;
  EXPECT_EQ(assignSegment(specialist, thresholds(), kToday), Segment::CategoryLoyal);

  auto explorer = active(3, 10000);
  explorer.distinctCategories = 25;
  EXPECT_EQ(assignSegment(explorer, thresholds(), kToday), Segment::Explorers);
}

TEST(Segments, NamesRoundTrip) {
  for (int i = 0; i < kSegmentCount; ++i) {
    Segment s;
    ASSERT_TRUE(segmentByName(segmentName(static_cast<Segment>(i)), s));
    EXPECT_EQ(static_cast<int>(s), i);
  }
  Segment s;
  EXPECT_FALSE(segmentByName("vip", s));
}

TEST(Segments, ThresholdsAreQuantilesOfTheActivePopulation) {
  std::vector<MemberActivity> pop;
  for (int v = 1; v <= 10; ++v) pop.push_back(active(v, v * 1000));
  auto gone = active(50, 900000);
  gone.lastDay = kToday - 200;  // not active: left out of the recent quantiles
  pop.push_back(gone);
  const auto t = segmentThresholds(pop, kToday);
  EXPECT_DOUBLE_EQ(t.visits90Median, 6);  // index round(0.5 x 9) = 5 of 1..10
  EXPECT_DOUBLE_EQ(t.visits90P80, 8);     // index round(0.8 x 9) = 7
  EXPECT_DOUBLE_EQ(t.spend90P80, 8000);
}

TEST(LifetimeValue, IsVisitRateTimesHorizonTimesSurvivalTimesBasket) {
  MemberActivity a;
  a.firstDay = 0;
  a.lastDay = 100;
  a.visits = 10;
  a.spendMinor = 10000;  // 1000 a basket
  // Rate 10 / 100 a day, active (recency 0): 0.1 x 365 x 1 x 1000 = 36500.
  EXPECT_EQ(lifetimeValueMinor(a, 100), 36500);
  // 30 days later: rate 10 / 130, gap 13 days, P(active) = exp(-30 / 39).
  EXPECT_EQ(lifetimeValueMinor(a, 130),
            std::llround(10.0 / 130 * 365 * std::exp(-30.0 / 39) * 1000));
  EXPECT_EQ(lifetimeValueMinor(MemberActivity{}, 100), 0);
}

}  // namespace
}  // namespace aisle::engine
