#include "aisle/pos/poslog.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test_support.h"

namespace aisle::pos {
namespace {

using testing::golden;
using testing::only;
using testing::optionsAtOffset;
using testing::readFile;
using Kind = TransactionOutcome::Kind;

TEST(PosLog, ReadsAnNcrSaleWithWeighedItemLoyaltyIdAndSummarizedRewards) {
  auto doc = parsePosLog(readFile(golden("ncr-sale.xml")), optionsAtOffset(-4 * 3600));
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->items.size(), 2u);
  EXPECT_EQ(doc->items[0].kind, Kind::Skipped);  // sign-on
  EXPECT_NE(doc->items[0].reason.find("ControlTransaction"), std::string::npos);

  const Transaction& t = only(*doc, 1);
  EXPECT_EQ(t.key.str(), "default/9/34/2017-09-30/161");
  // Zone-less 02:02:54 in a UTC-4 store is 06:02:54Z; the business day stays the 30th.
  EXPECT_EQ(t.occurredAtMs, 1506837774000);
  EXPECT_EQ(t.currency, "USD");
  ASSERT_TRUE(t.card.has_value());
  EXPECT_EQ(t.card->str(), "40000066677");  // 25-digit zero padding removed
  ASSERT_EQ(t.lines.size(), 2u);            // the voided line is gone, tender/loyalty are not lines
  EXPECT_EQ(t.lines[0].gtin->str(), "00000000067591");
  EXPECT_EQ(t.lines[0].quantity.milli(), 420);
  EXPECT_EQ(t.lines[0].amount.minor(), 126);
  EXPECT_EQ(t.lines[1].gtin->str(), "04006381333931");
  EXPECT_EQ(t.lines[1].amount.minor(), 399);  // "3.990": three decimals tolerated
  EXPECT_EQ(t.lines[1].unitPrice->minor(), 200);  // 1.995 rounds half away from zero
  // Detail and summary rows of the same reward count once; receipt messages are not rewards.
  ASSERT_EQ(t.redemptions.size(), 2u);
  EXPECT_EQ(t.redemptions[0].promotionId, "5123");
  EXPECT_EQ(t.redemptions[0].amount.minor(), 19);
  EXPECT_EQ(t.redemptions[1].offerId, "1134");
  EXPECT_EQ(t.total.minor(), 506);
  EXPECT_TRUE(t.counts());
}

TEST(PosLog, ReadsAPosLog6SaleWithBusinessUnitOffsetsAndVendorNamespaces) {
  ParseOptions o;  // no resolver: every time here carries its offset
  auto doc = parsePosLog(readFile(golden("poslog6-sale.xml")), o);
  ASSERT_TRUE(doc.ok()) << doc.message();
  const Transaction& t = only(*doc, 0);
  EXPECT_EQ(t.key.store, "0610");
  EXPECT_EQ(t.key.workstation, "140");
  EXPECT_EQ(t.key.businessDay, "2016-08-22");
  EXPECT_EQ(t.occurredAtMs, 1471875714483);  // 15:21:54.483+01:00
  EXPECT_EQ(t.currency, "GBP");
  ASSERT_EQ(t.lines.size(), 2u);
  EXPECT_FALSE(t.lines[0].gtin.has_value());  // 7583599 is an internal code, kept as such
  EXPECT_EQ(t.lines[0].itemCode, "7583599");
  EXPECT_EQ(t.lines[1].gtin->str(), "05000112637922");
  EXPECT_EQ(t.lines[1].discount.minor(), 50);
  EXPECT_EQ(t.lines[1].amount.minor(), 348);
  ASSERT_TRUE(t.card.has_value());
  EXPECT_EQ(t.card->str(), "9826300012345678");
  ASSERT_EQ(t.redemptions.size(), 1u);
  EXPECT_EQ(t.redemptions[0].kind, Redemption::Kind::Coupon);
  EXPECT_EQ(t.redemptions[0].couponCode, "5400000123456");
  EXPECT_EQ(t.redemptions[0].amount.minor(), 30);
  EXPECT_EQ(t.total.minor(), 577);  // the ARTS total, not the extension's 99.99
}

TEST(PosLog, TrainingSuspendedAndCancelledNeverCount) {
  auto doc = parsePosLog(readFile(golden("flags-and-links.xml")), optionsAtOffset(0));
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->items.size(), 5u);
  EXPECT_TRUE(only(*doc, 0).training);
  EXPECT_EQ(only(*doc, 0).card->str(), "123456789");  // CustomerID
  EXPECT_TRUE(only(*doc, 1).suspended);
  EXPECT_TRUE(only(*doc, 2).cancelled);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_FALSE(only(*doc, i).counts()) << i;
}

TEST(PosLog, ReturnsAreNegativeLinesLinkedToTheOriginalSale) {
  auto doc = parsePosLog(readFile(golden("flags-and-links.xml")), optionsAtOffset(0));
  ASSERT_TRUE(doc.ok());
  const Transaction& t = only(*doc, 3);
  ASSERT_EQ(t.lines.size(), 2u);
  EXPECT_TRUE(t.lines[0].isReturn);
  EXPECT_EQ(t.lines[0].quantity.milli(), -2000);
  EXPECT_EQ(t.lines[0].amount.minor(), -200);
  ASSERT_TRUE(t.lines[0].returnOf.has_value());
  EXPECT_EQ(t.lines[0].returnOf->str(), "default/7/3/2024-02-27/99");
  EXPECT_TRUE(t.lines[1].isReturn);  // a negative-quantity Sale
  EXPECT_EQ(t.lines[1].amount.minor(), -150);
  EXPECT_EQ(t.total.minor(), -350);
}

TEST(PosLog, PostVoidCarriesTheOriginalsKeyAndDefaultsToItsOwnStoreTillAndDay) {
  auto doc = parsePosLog(readFile(golden("flags-and-links.xml")), optionsAtOffset(0));
  ASSERT_TRUE(doc.ok());
  const Transaction& t = only(*doc, 4);
  ASSERT_TRUE(t.postVoidOf.has_value());
  EXPECT_EQ(t.postVoidOf->str(), "default/9/1/2024-03-01/13");
  EXPECT_FALSE(t.counts());
  EXPECT_TRUE(t.lines.empty());
}

TEST(PosLog, AcceptsEveryArtsNamespaceSpelling) {
  for (std::string ns : {"http://www.nrf-arts.org/IXRetail/namespace/", "http://www.nrf-arts.org/IXRetail/namespace",
                         "http://www.nrf-arts.org/IXRetail/namespace/2.1", "https://nrf-arts.org/IXRetail/namespace/6.0.0/",
                         ""}) {
    const std::string xml = "<POSLog" + (ns.empty() ? std::string() : " xmlns=\"" + ns + "\"") +
                            "><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
                            "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2020-01-01</BusinessDayDate>"
                            "<EndDateTime>2020-01-01T10:00:00Z</EndDateTime><RetailTransaction/></Transaction></POSLog>";
    auto doc = parsePosLog(xml, {});
    ASSERT_TRUE(doc.ok()) << ns << ": " << doc.message();
    EXPECT_EQ(doc->items.at(0).kind, Kind::Parsed) << ns << ": " << doc->items[0].reason;
  }
}

TEST(PosLog, PrefixedArtsElementsAndASingleTransactionRootAreRead) {
  const std::string xml =
      "<p:Transaction xmlns:p=\"http://www.nrf-arts.org/IXRetail/namespace/\"><p:RetailStoreID>1</p:RetailStoreID>"
      "<p:WorkstationID>2</p:WorkstationID><p:SequenceNumber>3</p:SequenceNumber>"
      "<p:BusinessDayDate>2020-01-01</p:BusinessDayDate><p:EndDateTime>2020-01-01T10:00:00Z</p:EndDateTime>"
      "<p:RetailTransaction><p:LineItem><p:Sale><p:ItemID>96385074</p:ItemID><p:ExtendedAmount>1</p:ExtendedAmount>"
      "</p:Sale></p:LineItem></p:RetailTransaction></p:Transaction>";
  auto doc = parsePosLog(xml, {});
  ASSERT_TRUE(doc.ok()) << doc.message();
  EXPECT_EQ(only(*doc, 0).lines.at(0).gtin->str(), "00000096385074");
}

TEST(PosLog, ZoneLessTimesWithoutAStoreZoneAreRejectedNotGuessed) {
  auto doc = parsePosLog(readFile(golden("ncr-sale.xml")), ParseOptions{});
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->items[1].kind, Kind::Rejected);
  EXPECT_NE(doc->items[1].reason.find("time zone"), std::string::npos) << doc->items[1].reason;
}

TEST(PosLog, AClockResetTo1970YieldsToTheBusinessDay) {
  const std::string xml =
      "<POSLog><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
      "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2024-06-01</BusinessDayDate>"
      "<EndDateTime>1970-01-01T00:00:00</EndDateTime><RetailTransaction/></Transaction></POSLog>";
  auto doc = parsePosLog(xml, optionsAtOffset(3600));
  ASSERT_TRUE(doc.ok());
  const Transaction& t = only(*doc, 0);
  EXPECT_EQ(t.occurredAtMs, 1717243200000 - 3600000);  // 2024-06-01 12:00 local at UTC+1
  ASSERT_FALSE(t.warnings.empty());
}

TEST(PosLog, BusinessDayAfterMidnightIsKeptApartFromTheCalendarDay) {
  auto doc = parsePosLog(readFile(golden("ncr-sale.xml")), optionsAtOffset(0));
  ASSERT_TRUE(doc.ok());
  const Transaction& t = only(*doc, 1);
  EXPECT_EQ(t.key.businessDay, "2017-09-30");
  EXPECT_EQ(t.occurredAtMs, 1506823374000);  // 2017-10-01T02:02:54Z
}

TEST(PosLog, APaymentCardInTheLoyaltyFieldIsDroppedAndNeverEchoed) {
  const std::string pan = "4111111111111111";
  const std::string xml =
      "<POSLog><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
      "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2024-06-01</BusinessDayDate>"
      "<EndDateTime>2024-06-01T10:00:00Z</EndDateTime><RetailTransaction><LineItem><LoyaltyAccount><LoyaltyCard>"
      "<PrimaryAccountNumber>" + pan + "</PrimaryAccountNumber></LoyaltyCard></LoyaltyAccount></LineItem>"
      "</RetailTransaction></Transaction></POSLog>";
  auto doc = parsePosLog(xml, {});
  ASSERT_TRUE(doc.ok());
  const Transaction& t = only(*doc, 0);
  EXPECT_FALSE(t.card.has_value());
  ASSERT_EQ(t.warnings.size(), 1u);
  EXPECT_NE(t.warnings[0].find("payment card"), std::string::npos);
  for (const auto& w : t.warnings) EXPECT_EQ(w.find("1111"), std::string::npos) << w;
  EXPECT_EQ(canonicalContent(t).find("1111"), std::string::npos);
}

TEST(PosLog, TenderCardNumbersAreNeverRead) {
  const std::string xml =
      "<POSLog><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
      "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2024-06-01</BusinessDayDate>"
      "<EndDateTime>2024-06-01T10:00:00Z</EndDateTime><RetailTransaction><LineItem><Tender><CreditDebit>"
      "<PrimaryAccountNumber>5500005555555559</PrimaryAccountNumber></CreditDebit></Tender></LineItem>"
      "</RetailTransaction></Transaction></POSLog>";
  auto doc = parsePosLog(xml, {});
  ASSERT_TRUE(doc.ok());
  EXPECT_FALSE(only(*doc, 0).card.has_value());
  EXPECT_TRUE(only(*doc, 0).warnings.empty());
}

TEST(PosLog, LoyaltyIdsWithWhitespaceFullWidthDigitsAndPaddingNormalizeToOneCard) {
  for (std::string raw : {" 0012345678 ", "0012 3456 78", "\xEF\xBC\x90\xEF\xBC\x90" "12345678",
                          "000000000000000000000012345678"}) {
    const std::string xml =
        "<POSLog><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
        "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2024-06-01</BusinessDayDate>"
        "<EndDateTime>2024-06-01T10:00:00Z</EndDateTime><RetailTransaction><Customer><CustomerID>" + raw +
        "</CustomerID></Customer></RetailTransaction></Transaction></POSLog>";
    auto doc = parsePosLog(xml, {});
    ASSERT_TRUE(doc.ok());
    const auto& t = only(*doc, 0);
    ASSERT_TRUE(t.card.has_value()) << raw;
    // Padding beyond 20 digits is removed entirely; shorter ids keep their leading zeros.
    EXPECT_EQ(t.card->str(), raw.size() > 25 ? "12345678" : "0012345678") << raw;
  }
}

TEST(PosLog, UnreadableLoyaltyIdLeavesTheSaleAnonymousWithAWarning) {
  const std::string xml =
      "<POSLog><Transaction><RetailStoreID>1</RetailStoreID><WorkstationID>2</WorkstationID>"
      "<SequenceNumber>3</SequenceNumber><BusinessDayDate>2024-06-01</BusinessDayDate>"
      "<EndDateTime>2024-06-01T10:00:00Z</EndDateTime><RetailTransaction><Customer><CustomerID>J\xC3\xBCrgen</CustomerID>"
      "</Customer></RetailTransaction></Transaction></POSLog>";
  auto doc = parsePosLog(xml, {});
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->items[0].kind, Kind::Parsed);
  EXPECT_FALSE(only(*doc, 0).card.has_value());
  EXPECT_EQ(only(*doc, 0).warnings.size(), 1u);
}

TEST(PosLog, SameContentHashesTheSameAndAnyChangeChangesIt) {
  const std::string xml = readFile(golden("ncr-sale.xml"));
  auto a = parsePosLog(xml, optionsAtOffset(0));
  auto b = parsePosLog(xml, optionsAtOffset(0));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(contentHashHex(only(*a, 1)), contentHashHex(only(*b, 1)));
  std::string changed = xml;
  changed.replace(changed.find("<ExtendedAmount>1.26"), 20, "<ExtendedAmount>1.27");
  auto c = parsePosLog(changed, optionsAtOffset(0));
  ASSERT_TRUE(c.ok());
  EXPECT_NE(contentHashHex(only(*a, 1)), contentHashHex(only(*c, 1)));
  EXPECT_EQ(only(*a, 1).key, only(*c, 1).key);
}

// Golden malformed documents: each fails as a whole with a reason that says why.
TEST(PosLog, HostileAndMalformedDocumentsFailWithAClearReason) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"billion-laughs.xml", "DOCTYPE"},      {"xxe-file.xml", "DOCTYPE"},
      {"xxe-external-dtd.xml", "DOCTYPE"},    {"undeclared-entity.xml", "not well-formed"},
      {"invalid-char.xml", "not well-formed"}, {"truncated.xml", "not well-formed"},
      {"utf16.xml", "UTF-16"},                {"latin1-declared.xml", "only UTF-8"},
      {"wrong-root.xml", "not ARTS"},         {"wrong-namespace.xml", "not ARTS"},
      {"empty.xml", ""},                      {"deep-nesting.xml", "deeper than"},
  };
  for (const auto& [file, expected] : cases) {
    const auto bytes = readFile(golden("malformed/" + file));
    auto doc = parsePosLog(bytes, optionsAtOffset(0));
    ASSERT_FALSE(doc.ok()) << file;
    EXPECT_NE(doc.message().find(expected), std::string::npos) << file << ": " << doc.message();
  }
}

TEST(PosLog, TheXxeTargetFileNeverAppearsInTheOutcome) {
  auto doc = parsePosLog(readFile(golden("malformed/xxe-file.xml")), {});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.message().find("root:"), std::string::npos);
}

TEST(PosLog, SizeAndElementLimitsAreEnforced) {
  ParseOptions o;
  o.limits.maxBytes = 100;
  auto big = parsePosLog(std::string(101, ' '), o);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.message().find("limit"), std::string::npos);
  ParseOptions few;
  few.limits.maxElements = 10;
  std::string many = "<POSLog>";
  for (int i = 0; i < 20; ++i) many += "<x/>";
  many += "</POSLog>";
  auto r = parsePosLog(many, few);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("elements"), std::string::npos);
}

TEST(PosLog, BadTransactionsAreRejectedOneByOneWithTheirReason) {
  auto doc = parsePosLog(readFile(golden("rejected-transactions.xml")), optionsAtOffset(0));
  ASSERT_TRUE(doc.ok()) << doc.message();
  const std::vector<std::string> expected = {"too large", "not a decimal", "not a decimal", "out of range",
                                             "does not exist", "out of range", "SequenceNumber is missing",
                                             "no item id", "not printable ASCII", "not ISO 8601",
                                             "discount exceeds"};
  ASSERT_EQ(doc->items.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(doc->items[i].kind, Kind::Rejected) << i;
    EXPECT_NE(doc->items[i].reason.find(expected[i]), std::string::npos) << i << ": " << doc->items[i].reason;
  }
}

}  // namespace
}  // namespace aisle::pos
