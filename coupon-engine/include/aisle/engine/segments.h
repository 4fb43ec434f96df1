#pragma once
// Behavioural segments and a lifetime-value estimate per member, from recency, frequency, monetary
// value and category mix. Deterministic rules (no clustering): a marketer can read why a member is
// in a segment, and a member's segment changes only when their own behaviour (or the population
// quantiles) change. Thresholds are population quantiles, so the rules fit any currency and any
// shopping rhythm (Complete Journey's sampled lines and a full POS feed alike).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aisle::engine {

// What a member did, up to `today` (days as in replenishment.h).
struct MemberActivity {
  std::int32_t firstDay = 0, lastDay = 0;
  int visits = 0;    // baskets
  int visits90 = 0;  // baskets in the 90 days before today
  std::int64_t spendMinor = 0, spend90Minor = 0;
  std::int64_t discountMinor = 0;  // price reductions received (all time)
  double topCategoryShare = 0;     // share of lines in the member's most bought category
  int distinctCategories = 0;
};

enum class Segment {
  New,            // first visit in the last 30 days, at most 2 visits
  Lapsed,         // nothing for 90 days
  AtRisk,         // gap above 3x their usual gap (and over 30 days)
  Champions,      // top 20 % in both visits and spend of the last 90 days
  Loyal,          // above the median in both
  DealSeekers,    // a quarter or more of their spend came as discounts
  BigBasket,      // infrequent (below median visits) but top 20 % basket value
  CategoryLoyal,  // half their lines in one category, at most 5 categories
  Explorers,      // top 20 % in distinct categories
  Occasional,     // everyone else
};
inline constexpr int kSegmentCount = 10;

const char* segmentName(Segment s);
// Parses a name as written by segmentName ("champions", "at_risk", ...); false when unknown.
bool segmentByName(std::string_view name, Segment& out);

// Population quantiles the rules compare against.
struct SegmentThresholds {
  double visits90Median = 0, visits90P80 = 0;
  double spend90Median = 0, spend90P80 = 0;
  double basketP80 = 0;  // average basket value (minor units)
  double categoriesP80 = 0;
};

SegmentThresholds segmentThresholds(std::span<const MemberActivity> population, std::int32_t today);

Segment assignSegment(const MemberActivity& a, const SegmentThresholds& t, std::int32_t today);

// Lifetime value over the next `horizonDays`: expected visits x average basket value, where
// expected visits = visit rate x horizon x probability the member is still active.
//  - visit rate = visits / max(days since first visit, 30): a member seen once last week is not
//    credited with a visit a week forever;
//  - P(active) = exp(-recency / (3 x usual gap)): a member silent for three of their usual gaps is
//    about 37 % likely to still be shopping, for ten gaps about 4 %.
// A heuristic, not BG/NBD: it needs no fitting and is monotone in recency, frequency and spend.
std::int64_t lifetimeValueMinor(const MemberActivity& a, std::int32_t today, int horizonDays = 365);

}  // namespace aisle::engine
