#include <gtest/gtest.h>

#include "aisle/common/ids.h"
#include "aisle/engine/dataset_mapping.h"

namespace aisle::engine {
namespace {

TEST(LoyaltyCardNumber, IsPrefix29PlusTheZeroPaddedIdPlusAValidGs1CheckDigit) {
  const auto card = loyaltyCardNumber(105);
  EXPECT_EQ(card.substr(0, 12), "290000000105");
  ASSERT_EQ(card.size(), 13u);
  EXPECT_TRUE(Gtin::parse(card).ok()) << card;  // GS1 check digit, restricted-circulation prefix
  EXPECT_TRUE(CardNumber::parse(card, CardCheckDigit::Gs1Mod10).ok());
  EXPECT_FALSE(luhnValid(card) && card[0] == '4');  // never shaped like a Visa number
  EXPECT_EQ(loyaltyCardNumber(1'000'000'000).substr(0, 12), "291000000000");
}

TEST(ExpandExponent, TurnsRScientificNotationIntoExactDecimals) {
  EXPECT_EQ(*expandExponent("4.0128e+10"), "40128000000");
  EXPECT_EQ(*expandExponent("9e+05"), "900000");
  EXPECT_EQ(*expandExponent("4.440892e-16"), "0.0000000000000004440892");
  EXPECT_EQ(*expandExponent("-1.5E2"), "-150");
  EXPECT_EQ(*expandExponent("3.86"), "3.86");
  EXPECT_FALSE(expandExponent("1e999").ok());
  EXPECT_FALSE(expandExponent("x1e2").ok());
}

TEST(ParseIdText, AcceptsExactIntegersOnly) {
  EXPECT_EQ(*parseIdText("31625220889"), 31625220889);
  EXPECT_EQ(*parseIdText("4.0128e+10"), 40128000000);
  EXPECT_FALSE(parseIdText("4.5").ok());
  EXPECT_FALSE(parseIdText("-3").ok());
  EXPECT_FALSE(parseIdText("").ok());
  EXPECT_FALSE(parseIdText("1.5e0").ok());
}

TEST(ParseAmountText, IsExactInCentsAndRoundsFloatingResidueToZero) {
  EXPECT_EQ(parseAmountText("3.86")->minor(), 386);
  EXPECT_EQ(parseAmountText("1")->minor(), 100);
  EXPECT_EQ(parseAmountText("0.9")->minor(), 90);
  EXPECT_EQ(parseAmountText("4.440892e-16")->minor(), 0);
  EXPECT_EQ(parseAmountText("0.295")->minor(), 30);  // half away from zero
  EXPECT_FALSE(parseAmountText("1,5").ok());
}

TEST(ParseQuantityMilli, KeepsThreeDecimals) {
  EXPECT_EQ(*parseQuantityMilli("2"), 2000);
  EXPECT_EQ(*parseQuantityMilli("1.235"), 1235);
  EXPECT_EQ(*parseQuantityMilli("32623"), 32623000);
  EXPECT_FALSE(parseQuantityMilli("two").ok());
}

TEST(ParseIsoTimestamp, GivesTheLocalDateAndTheInstant) {
  auto t = parseIsoTimestamp("2017-01-28T14:06:53-0500");
  ASSERT_TRUE(t.ok()) << t.message();
  EXPECT_EQ(t->localDate, "2017-01-28");
  EXPECT_EQ(t->postgresText, "2017-01-28 14:06:53-05:00");
  EXPECT_EQ(t->epochSeconds, 1485630413);  // 2017-01-28T19:06:53Z
  // Late evening local time is already the next day in UTC; the business day stays local.
  auto late = parseIsoTimestamp("2017-03-26T23:30:00-04:00");
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late->localDate, "2017-03-26");
  EXPECT_EQ(parseIsoTimestamp("2017-03-27T03:30:00Z")->epochSeconds, late->epochSeconds);
}

TEST(ParseIsoTimestamp, RejectsMalformedAndImpossibleTimes) {
  EXPECT_FALSE(parseIsoTimestamp("2017-02-30T10:00:00-0500").ok());
  EXPECT_FALSE(parseIsoTimestamp("2017-01-28T24:00:00-0500").ok());
  EXPECT_FALSE(parseIsoTimestamp("2017-01-28T14:06:53").ok());
  EXPECT_FALSE(parseIsoTimestamp("2017-01-28T14:06:53-05x0").ok());
  EXPECT_FALSE(parseIsoTimestamp("28/01/2017 14:06").ok());
}

TEST(Dates, ParseDayMonthYearAndStepDays) {
  EXPECT_EQ(*parseDayMonthYear("27-05-2015"), "2015-05-27");
  EXPECT_FALSE(parseDayMonthYear("31-02-2015").ok());
  EXPECT_EQ(*parseDayMonthYear("2/5/2015"), "2015-05-02");  // the same file's other spelling
  EXPECT_FALSE(parseDayMonthYear("2015-05-27").ok());
  EXPECT_FALSE(parseDayMonthYear("2/5-2015").ok());
  EXPECT_FALSE(parseDayMonthYear("5/13/2015").ok());
  EXPECT_EQ(*parseIsoDate("2017-03-03"), "2017-03-03");
  EXPECT_FALSE(parseIsoDate("2017-13-03").ok());
  EXPECT_EQ(nextDay("2017-12-31"), "2018-01-01");
  EXPECT_EQ(nextDay("2016-02-28"), "2016-02-29");
  EXPECT_EQ(isoDateFromDays(daysFromIsoDate("2017-03-26")), "2017-03-26");
  EXPECT_EQ(daysFromIsoDate("1970-01-02"), 1);
}

TEST(CompleteJourneyProductName, FallsBackFromTypeToCategoryToDepartmentToId) {
  EXPECT_EQ(completeJourneyProductName("BREAD:ITALIAN/FRENCH", "BREAD", "PASTRY", 1),
            "BREAD:ITALIAN/FRENCH");
  EXPECT_EQ(completeJourneyProductName("", "BREAD", "PASTRY", 1), "BREAD");
  EXPECT_EQ(completeJourneyProductName("", "", "MISCELLANEOUS", 26081), "MISCELLANEOUS");
  EXPECT_EQ(completeJourneyProductName(" ", "", "", 26081), "product 26081");
}

TEST(GroceriesProductId, IsStableAndInsideItsOwnIdSpace) {
  const auto milk = groceriesProductId("whole milk");
  EXPECT_EQ(milk, groceriesProductId(" whole milk "));
  EXPECT_NE(milk, groceriesProductId("soda"));
  EXPECT_GE(milk, kGroceriesProductOffset);
  EXPECT_LT(milk, kGroceriesProductOffset + kGroceriesProductSpan);
}

TEST(JsonString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(jsonString("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace aisle::engine
