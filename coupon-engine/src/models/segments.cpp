#include "aisle/engine/segments.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace aisle::engine {
namespace {

constexpr std::array<const char*, kSegmentCount> kNames = {
    "new",          "lapsed",     "at_risk",        "champions", "loyal",
    "deal_seekers", "big_basket", "category_loyal", "explorers", "occasional"};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

double avgBasket(const MemberActivity& a) {
  return a.visits > 0 ? static_cast<double>(a.spendMinor) / a.visits : 0;
}

}  // namespace

const char* segmentName(Segment s) {
  return kNames[static_cast<std::size_t>(s)];
}

bool segmentByName(std::string_view name, Segment& out) {
  for (std::size_t i = 0; i < kNames.size(); ++i) {
    if (name == kNames[i]) {
      out = static_cast<Segment>(i);
      return true;
    }
  }
  return false;
}

SegmentThresholds segmentThresholds(std::span<const MemberActivity> population,
                                    std::int32_t today) {
  std::vector<double> visits, spend, basket, cats;
  for (const auto& a : population) {
    if (a.visits == 0) continue;
    // Quantiles of the active population only: lapsed members' zeros would drag the medians
    // to zero and make everyone recent "loyal".
    if (today - a.lastDay <= 90) {
      visits.push_back(a.visits90);
      spend.push_back(static_cast<double>(a.spend90Minor));
    }
    basket.push_back(avgBasket(a));
    cats.push_back(a.distinctCategories);
  }
  SegmentThresholds t;
  t.visits90Median = quantile(visits, 0.5);
  t.visits90P80 = quantile(visits, 0.8);
  t.spend90Median = quantile(spend, 0.5);
  t.spend90P80 = quantile(spend, 0.8);
  t.basketP80 = quantile(basket, 0.8);
  t.categoriesP80 = quantile(std::move(cats), 0.8);
  return t;
}

Segment assignSegment(const MemberActivity& a, const SegmentThresholds& t, std::int32_t today) {
  const int recency = today - a.lastDay;
  const int tenure = today - a.firstDay;
  // First matching rule wins; the order puts lifecycle (new, lapsed, at risk) before value, so a
  // lapsed big spender is treated as lapsed: that is what a win-back campaign needs to find.
  if (a.visits == 0) return Segment::Occasional;
  if (tenure <= 30 && a.visits <= 2) return Segment::New;
  if (recency > 90) return Segment::Lapsed;
  const double usualGap =
      a.visits >= 2 ? static_cast<double>(a.lastDay - a.firstDay) / (a.visits - 1) : 30.0;
  if (recency > 30 && recency > 3 * usualGap) return Segment::AtRisk;
  const double v = a.visits90, s = static_cast<double>(a.spend90Minor);
  if (v >= t.visits90P80 && s >= t.spend90P80 && v > 0) return Segment::Champions;
  if (v >= t.visits90Median && s >= t.spend90Median && v > 0) return Segment::Loyal;
  if (a.spendMinor + a.discountMinor > 0 &&
      static_cast<double>(a.discountMinor) >=
          0.25 * static_cast<double>(a.spendMinor + a.discountMinor))
    return Segment::DealSeekers;
  if (v < t.visits90Median && avgBasket(a) >= t.basketP80 && t.basketP80 > 0)
    return Segment::BigBasket;
  if (a.topCategoryShare >= 0.5 && a.distinctCategories <= 5 && a.visits >= 3)
    return Segment::CategoryLoyal;
  if (a.distinctCategories >= t.categoriesP80 && t.categoriesP80 > 0) return Segment::Explorers;
  return Segment::Occasional;
}

std::int64_t lifetimeValueMinor(const MemberActivity& a, std::int32_t today, int horizonDays) {
  if (a.visits == 0) return 0;
  const double tenure = std::max(30, today - a.firstDay);
  const double rate = a.visits / tenure;  // visits per day
  const double usualGap = 1.0 / rate;
  const double recency = std::max(0, today - a.lastDay);
  const double pActive = std::exp(-recency / (3.0 * usualGap));
  return std::llround(rate * horizonDays * pActive * avgBasket(a));
}

}  // namespace aisle::engine
