// Track data fixtures live only under tests/ (a hook refuses them anywhere else).
#include "aisle/pos/swipe.h"

#include <gtest/gtest.h>

namespace aisle::pos {
namespace {

// Test payment numbers published by the card brands for testing; Luhn-valid.
const std::vector<std::string> kPaymentNumbers = {
    "4111111111111111",  // Visa
    "5500005555555559",  // Mastercard 51-55
    "2223000048400011",  // Mastercard 2-series
    "378282246310005",   // Amex
    "6011111111111117",  // Discover
    "3530111333300000",  // JCB
    "30569309025904",    // Diners
    "6200000000000005",  // UnionPay
    "6759649826438453",  // Maestro
};

void expectRefusedWithoutDigits(const Result<CardNumber>& r, const std::string& number) {
  ASSERT_FALSE(r.ok()) << "accepted a payment card";
  EXPECT_TRUE(isPaymentCardRefusal(r.error())) << r.message();
  EXPECT_EQ(r.message().find(number.substr(number.size() - 4)), std::string::npos) << r.message();
  EXPECT_EQ(r.message().find(number.substr(0, 6)), std::string::npos) << r.message();
}

TEST(Swipe, ReadsALoyaltyTrack1WithItsLrc) {
  auto c = parseTrack1("%A6012345678^LOYAL/MEMBER^?=");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->str(), "6012345678");
  EXPECT_TRUE(parseTrack1("%A6012345678^LOYAL/MEMBER^?").ok());  // readers often strip the LRC
}

TEST(Swipe, RejectsTrack1WithAWrongLrcOrMissingSentinels) {
  EXPECT_NE(parseTrack1("%A6012345678^LOYAL/MEMBER^?A").message().find("LRC"), std::string::npos);
  EXPECT_NE(parseTrack1("A6012345678^LOYAL/MEMBER^?").message().find("sentinel"), std::string::npos);
  EXPECT_NE(parseTrack1("%A6012345678^LOYAL/MEMBER^").message().find("end sentinel"), std::string::npos);
  EXPECT_NE(parseTrack1("%A6012345678LOYAL?").message().find("separator"), std::string::npos);
}

TEST(Swipe, RefusesEveryTrack1FormatBCardWithoutEchoingIt) {
  const std::string track = "%B4111111111111111^DOE/JANE^2512101000000000000000?";
  expectRefusedWithoutDigits(parseTrack1(track), "4111111111111111");
  expectRefusedWithoutDigits(parseCardInput(track), "4111111111111111");
}

TEST(Swipe, ReadsALoyaltyTrack2AndChecksItsLrc) {
  auto c = parseTrack2(";98263000123456=4912?6");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->str(), "98263000123456");
  EXPECT_FALSE(parseTrack2(";98263000123456=4912?7").ok());
  EXPECT_TRUE(parseTrack2(";98263000123456?").ok());
  EXPECT_FALSE(parseTrack2(";9826300A123456=4912?").ok());
}

TEST(Swipe, RefusesPaymentCardsOnTrack2BarcodeAndKeyedEntry) {
  for (const auto& pan : kPaymentNumbers) {
    expectRefusedWithoutDigits(parseTrack2(";" + pan + "=25121010000000000?"), pan);
    expectRefusedWithoutDigits(parseKeyed(pan), pan);
    expectRefusedWithoutDigits(parseBarcode("]C0" + pan), pan);
  }
}

TEST(Swipe, ALuhnInvalidNumberInAPaymentRangeIsNotAPaymentCard) {
  EXPECT_FALSE(looksLikePaymentCard("4111111111111112"));
  EXPECT_TRUE(parseKeyed("4111111111111112").ok());
}

TEST(Swipe, TheChainsOwnLoyaltyPrefixOverridesTheMaestroRange) {
  SwipeOptions o;
  EXPECT_FALSE(parseKeyed("6759649826438453", o).ok());
  o.loyaltyPrefixes = {"6759"};
  EXPECT_TRUE(parseKeyed("6759649826438453", o).ok());
}

TEST(Swipe, ReadsEan13AndCode128LoyaltyBarcodes) {
  auto ean = parseBarcode("4006381333931");
  ASSERT_TRUE(ean.ok()) << ean.message();
  EXPECT_EQ(ean->str(), "4006381333931");
  EXPECT_TRUE(parseBarcode("]E04006381333931").ok());
  EXPECT_NE(parseBarcode("4006381333932").message().find("check digit"), std::string::npos);
  auto c128 = parseBarcode("]C06290610140045100");
  ASSERT_TRUE(c128.ok()) << c128.message();
  EXPECT_EQ(c128->str(), "6290610140045100");  // not Luhn-valid: a loyalty number, not Maestro
  EXPECT_FALSE(parseBarcode("]Q0123456").ok());
}

TEST(Swipe, KeyedEntryToleratesSpacesDashesAndFullWidthDigits) {
  EXPECT_EQ(parseKeyed(" 0012-3456 78 ")->str(), "0012345678");
  EXPECT_EQ(parseKeyed("\xEF\xBC\x91\xEF\xBC\x92" "3456789")->str(), "123456789");
  EXPECT_NE(parseKeyed("12345x789").message().find("not a digit"), std::string::npos);
  EXPECT_NE(parseKeyed("12345\xC3\xA9" "789").message().find("non-ASCII"), std::string::npos);
  EXPECT_FALSE(parseKeyed("12345").ok());
}

TEST(Swipe, ParseCardInputDecidesByShape) {
  EXPECT_EQ(parseCardInput("%A6012345678^LOYAL/MEMBER^?")->str(), "6012345678");
  EXPECT_EQ(parseCardInput(";98263000123456?")->str(), "98263000123456");
  EXPECT_EQ(parseCardInput("]E04006381333931")->str(), "4006381333931");
  EXPECT_EQ(parseCardInput("98263000123456")->str(), "98263000123456");
  EXPECT_FALSE(parseCardInput("").ok());
  EXPECT_FALSE(parseCardInput(std::string(1000, '1')).ok());
}

}  // namespace
}  // namespace aisle::pos
