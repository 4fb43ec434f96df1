// RSSI filters and the log-distance model.
#include <gtest/gtest.h>

#include "aisle/gateway/distance.h"
#include "aisle/gateway/rssi_filter.h"

namespace aisle::gateway {
namespace {

FilterParams params(FilterKind k) {
  FilterParams p;
  p.kind = k;
  return p;
}

TEST(RssiFilter, RawFollowsTheLastSample) {
  RssiFilter f;
  const auto p = params(FilterKind::Raw);
  f.add(Dbm{-60}, 0, p);
  f.add(Dbm{-90}, 100, p);
  EXPECT_EQ(f.value(), Dbm{-90});
}

TEST(RssiFilter, MedianIgnoresASingleDeepFade) {
  RssiFilter f;
  const auto p = params(FilterKind::Median);
  for (int i = 0; i < 4; ++i) f.add(Dbm{-60}, i * 100, p);
  f.add(Dbm{-95}, 400, p);  // a body between beacon and scanner for one advert
  EXPECT_EQ(f.value(), Dbm{-60});
}

TEST(RssiFilter, MedianForgetsSamplesOlderThanMaxAge) {
  RssiFilter f;
  auto p = params(FilterKind::Median);
  p.maxAgeMs = 1000;
  for (int i = 0; i < 4; ++i) f.add(Dbm{-60}, i * 100, p);
  f.add(Dbm{-80}, 10'000, p);  // the old samples are stale: the new one stands alone
  EXPECT_EQ(f.value(), Dbm{-80});
}

TEST(RssiFilter, MedianEmaRejectsOutliersAndConvergesToAStep) {
  RssiFilter f;
  const auto p = params(FilterKind::MedianEma);
  std::int64_t t = 0;
  for (int i = 0; i < 20; ++i, t += 100) f.add(Dbm{-60}, t, p);
  f.add(Dbm{-95}, t, p);
  t += 100;
  EXPECT_NEAR(f.value().value, -60, 0.01);
  for (int i = 0; i < 200; ++i, t += 100) f.add(Dbm{-75}, t, p);  // the beacon really moved
  EXPECT_NEAR(f.value().value, -75, 0.1);
}

TEST(RssiFilter, HuberEmaMovesAtMostTheClipPerStep) {
  RssiFilter f;
  const auto p = params(FilterKind::HuberEma);
  f.add(Dbm{-60}, 0, p);
  f.add(Dbm{-100}, 1'000'000, p);  // alpha ~1 after a long gap, but the innovation is clipped
  EXPECT_NEAR(f.value().value, -60 - p.huberDb, 0.01);
}

TEST(RssiFilter, ParsesAndNamesEveryKind) {
  for (auto k : {FilterKind::Raw, FilterKind::Median, FilterKind::MedianEma, FilterKind::HuberEma}) {
    FilterKind parsed{};
    ASSERT_TRUE(parseFilterKind(filterKindName(k), parsed));
    EXPECT_EQ(parsed, k);
  }
  FilterKind x{};
  EXPECT_FALSE(parseFilterKind("kalman", x));
}

TEST(PathLossModel, MeasuredPowerIsOneMetreAndSixDbDoublesDistanceInFreeSpace) {
  const PathLossModel m{2.0};
  EXPECT_NEAR(estimateDistance(Dbm{-59}, Dbm{-59}, m).value, 1.0, 1e-9);
  EXPECT_NEAR(estimateDistance(Dbm{-65.0206}, Dbm{-59}, m).value, 2.0, 1e-3);
  EXPECT_NEAR(dbForDistanceRatio(2.0, m).value, 6.0206, 1e-3);
}

TEST(PathLossModel, ScannerOffsetCalibratesBeforeTheModel) {
  EXPECT_EQ(calibrated(Dbm{-70}, Db{5}), Dbm{-65});
}

}  // namespace
}  // namespace aisle::gateway
