#include "aisle/common/money.h"

#include <gtest/gtest.h>

namespace aisle {

TEST(Money, ParsesDecimalAmountsExactly) {
  EXPECT_EQ(Money::parse("3.86")->minor(), 386);
  EXPECT_EQ(Money::parse("0.1")->minor(), 10);
  EXPECT_EQ(Money::parse("12")->minor(), 1200);
  EXPECT_EQ(Money::parse("-0.05")->minor(), -5);
  EXPECT_EQ(Money::parse(".5")->minor(), 50);
}

TEST(Money, RoundsThreeDecimalAmountsHalfAwayFromZero) {
  EXPECT_EQ(Money::parse("1.005")->minor(), 101);
  EXPECT_EQ(Money::parse("1.004")->minor(), 100);
  EXPECT_EQ(Money::parse("-1.005")->minor(), -101);
}

TEST(Money, RejectsGarbageAndAbsurdAmounts) {
  EXPECT_FALSE(Money::parse("").ok());
  EXPECT_FALSE(Money::parse("1,50").ok());
  EXPECT_FALSE(Money::parse("1.2.3").ok());
  EXPECT_FALSE(Money::parse("abc").ok());
  EXPECT_FALSE(Money::parse(".").ok());
  EXPECT_FALSE(Money::parse("1e5").ok());
  EXPECT_FALSE(Money::parse("99999999999999999999").ok());
}

TEST(Money, FormatsWithFixedFractionDigits) {
  EXPECT_EQ(Money::fromMinor(386).str(), "3.86");
  EXPECT_EQ(Money::fromMinor(-5).str(), "-0.05");
  EXPECT_EQ(Money::fromMinor(1200).str(), "12.00");
}

TEST(Money, AddsAndComparesInMinorUnits) {
  EXPECT_EQ((Money::fromMinor(10) + Money::fromMinor(20)).minor(), 30);
  EXPECT_LT(Money::fromMinor(1), Money::fromMinor(2));
}

TEST(Quantity, HoldsWeighedQuantitiesExactly) {
  EXPECT_EQ(Quantity::parse("1.235")->milli(), 1235);
  EXPECT_EQ(Quantity::parse("2")->str(), "2");
  EXPECT_EQ(Quantity::parse("-1")->str(), "-1");
  EXPECT_EQ(Quantity::parse("0.5")->str(), "0.5");
}

}  // namespace aisle
