#include <gtest/gtest.h>

#include <set>

#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/generator.h"

namespace aisle::engine {
namespace {

GeneratorParams params(std::uint64_t seed) {
  GeneratorParams p;
  p.seed = seed;
  p.days = 90;
  p.endDate = "2018-01-01";
  return p;
}

bool sameMember(const SyntheticMember& a, const SyntheticMember& b) {
  if (a.memberId != b.memberId || a.cardNumber != b.cardNumber || a.trips.size() != b.trips.size())
    return false;
  for (std::size_t i = 0; i < a.trips.size(); ++i) {
    const auto &x = a.trips[i], &y = b.trips[i];
    if (x.storeId != y.storeId || x.businessDay != y.businessDay ||
        x.secondOfDay != y.secondOfDay || x.lines.size() != y.lines.size())
      return false;
    for (std::size_t k = 0; k < x.lines.size(); ++k) {
      if (x.lines[k].productId != y.lines[k].productId ||
          x.lines[k].quantity != y.lines[k].quantity ||
          x.lines[k].amountMinor != y.lines[k].amountMinor)
        return false;
    }
  }
  return true;
}

TEST(SyntheticGenerator, TheSameSeedGivesTheSameMembersWhateverTheOrder) {
  const SyntheticGenerator a(builtInDistributions(), params(7)),
      b(builtInDistributions(), params(7));
  const auto late = b.member(41);  // asked out of order: members are independent streams
  EXPECT_TRUE(sameMember(a.member(41), late));
  EXPECT_TRUE(sameMember(a.member(0), b.member(0)));
}

TEST(SyntheticGenerator, AnotherSeedGivesOtherHistories) {
  const SyntheticGenerator a(builtInDistributions(), params(1)),
      b(builtInDistributions(), params(2));
  int different = 0;
  for (int i = 0; i < 20; ++i) different += sameMember(a.member(i), b.member(i)) ? 0 : 1;
  EXPECT_GE(different, 19);
}

TEST(SyntheticGenerator, StaysInsideTheWindowTheCatalogueAndItsIdSpace) {
  const SyntheticGenerator g(builtInDistributions(), params(3));
  std::set<std::int64_t> catalogue;
  for (const auto& p : builtInDistributions().products) catalogue.insert(p.productId);
  std::size_t trips = 0;
  for (int i = 0; i < 200; ++i) {
    const auto m = g.member(i);
    EXPECT_EQ(m.memberId, kSyntheticMemberOffset + i);
    EXPECT_EQ(m.cardNumber, loyaltyCardNumber(m.memberId));
    std::string previous;
    for (const auto& t : m.trips) {
      EXPECT_GE(t.businessDay, "2017-10-03");  // 90 days before the exclusive end
      EXPECT_LT(t.businessDay, "2018-01-01");
      EXPECT_GT(t.businessDay, previous) << "trips are in time order, at most one per day";
      previous = t.businessDay;
      EXPECT_FALSE(t.lines.empty());
      for (const auto& l : t.lines) {
        EXPECT_TRUE(catalogue.count(l.productId));
        EXPECT_GE(l.quantity, 1);
        EXPECT_GT(l.amountMinor, 0);
      }
      ++trips;
    }
  }
  // Weekly-ish visits over 90 days: on average several trips per member, bounded by the window.
  EXPECT_GT(trips, 200u * 4);
  EXPECT_LT(trips, 200u * 90);
}

TEST(WeightedSampler, DrawsInProportionToTheWeights) {
  const WeightedSampler s({0, 1, 3});
  SplitMix64 rng(99);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 40000; ++i) ++counts[s.draw(rng)];
  EXPECT_EQ(counts[0], 0);
  EXPECT_NEAR(counts[2] / static_cast<double>(counts[1]), 3.0, 0.15);
}

TEST(SplitMix64, IsTheReferenceSequence) {
  // First outputs of SplitMix64 seeded with 0 (Vigna's reference implementation).
  SplitMix64 rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFull);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ull);
}

TEST(PurchaseDistributions, AreUnusableWhenAnythingIsMissing) {
  auto d = builtInDistributions();
  EXPECT_TRUE(d.usable());
  d.gapDays.assign(d.gapDays.size(), 0);
  EXPECT_FALSE(d.usable());
}

}  // namespace
}  // namespace aisle::engine
