#include "aisle/common/ids.h"

#include <gtest/gtest.h>

namespace aisle {

TEST(Gtin, NormalizesEveryLengthToFourteenDigits) {
  EXPECT_EQ(Gtin::parse("96385074")->str(), "00000096385074");        // GTIN-8
  EXPECT_EQ(Gtin::parse("036000291452")->str(), "00036000291452");    // UPC-A / GTIN-12
  EXPECT_EQ(Gtin::parse("4006381333931")->str(), "04006381333931");   // EAN-13
  EXPECT_EQ(Gtin::parse("10012345678902")->str(), "10012345678902");  // GTIN-14
  EXPECT_EQ(Gtin::parse("  036000291452\n")->str(), "00036000291452");
}

TEST(Gtin, SameItemInDifferentLengthsIsEqual) {
  EXPECT_EQ(*Gtin::parse("036000291452"), *Gtin::parse("0036000291452"));
  EXPECT_EQ(*Gtin::parse("036000291452"), *Gtin::parse("00036000291452"));
}

TEST(Gtin, RejectsWrongCheckDigitWithTheExpectedOne) {
  auto r = Gtin::parse("4006381333932");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("expected 1"), std::string::npos) << r.message();
}

TEST(Gtin, RejectsOtherLengthsAndNonDigits) {
  EXPECT_FALSE(Gtin::parse("12345").ok());
  EXPECT_FALSE(Gtin::parse("0360002914521234").ok());
  EXPECT_FALSE(Gtin::parse("03600029145A").ok());
  EXPECT_FALSE(Gtin::parse("").ok());
}

TEST(CardNumber, KeepsLeadingZerosAndDropsGroupingSeparators) {
  EXPECT_EQ(CardNumber::parse(" 0001 2345-6789 ")->str(), "000123456789");
}

TEST(CardNumber, RejectsLettersAndBadLengths) {
  EXPECT_FALSE(CardNumber::parse("12345").ok());
  EXPECT_FALSE(CardNumber::parse("123456789012345678901").ok());
  EXPECT_FALSE(CardNumber::parse("12345678x").ok());
}

TEST(CardNumber, ChecksTheConfiguredCheckDigit) {
  EXPECT_TRUE(CardNumber::parse("79927398713", CardCheckDigit::Luhn).ok());
  EXPECT_FALSE(CardNumber::parse("79927398710", CardCheckDigit::Luhn).ok());
  EXPECT_TRUE(CardNumber::parse("79927398710", CardCheckDigit::None).ok());
  EXPECT_TRUE(CardNumber::parse("4006381333931", CardCheckDigit::Gs1Mod10).ok());
  EXPECT_FALSE(CardNumber::parse("4006381333932", CardCheckDigit::Gs1Mod10).ok());
}

TEST(CardNumber, MasksAllButTheLastFourDigits) {
  EXPECT_EQ(CardNumber::parse("2900001234567")->masked(), "*********4567");
}

TEST(StrongIds, CompareByValueAndDoNotMixKinds) {
  EXPECT_EQ(MemberId(7), MemberId(7));
  EXPECT_LT(MemberId(6), MemberId(7));
  static_assert(!std::is_convertible_v<MemberId, StoreId>);
  static_assert(!std::is_convertible_v<std::int64_t, MemberId>);
}

}  // namespace aisle
