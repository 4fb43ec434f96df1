// The real POSLog samples in the shared data sets, with hand-checked expectations.
#include <gtest/gtest.h>

#include <filesystem>

#include "aisle/pos/poslog.h"
#include "test_support.h"

namespace aisle::pos {
namespace {

using testing::datasets;
using testing::only;
using testing::optionsAtOffset;
using testing::readFile;
using Kind = TransactionOutcome::Kind;

std::string sample(const std::string& name) {
  const auto p = datasets() / "poslog" / name;
  if (!std::filesystem::exists(p)) return {};
  return readFile(p);
}

TEST(PosLogSamples, NcrAcsSampleHasOneSaleWithTheExpectedRows) {
  const std::string xml = sample("ncr-acs-small.xml");
  if (xml.empty()) GTEST_SKIP() << "shared data set poslog/ncr-acs-small.xml not found (set AISLE_DATASETS)";
  auto doc = parsePosLog(xml, optionsAtOffset(-4 * 3600));  // a US store in daylight saving time
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->items.size(), 2u);
  EXPECT_EQ(doc->items[0].kind, Kind::Skipped);  // operator sign-on
  const Transaction& t = only(*doc, 1);
  EXPECT_EQ(t.key.str(), "default/9/34/2017-09-30/161");
  EXPECT_EQ(t.occurredAtMs, 1506837774000);  // 2017-10-01T02:02:54 EDT
  EXPECT_EQ(t.card->str(), "40000066677");
  ASSERT_EQ(t.lines.size(), 1u);
  EXPECT_EQ(t.lines[0].gtin->str(), "00000000067591");
  EXPECT_EQ(t.lines[0].quantity.str(), "0.42");
  EXPECT_EQ(t.lines[0].unitPrice->minor(), 299);
  EXPECT_EQ(t.lines[0].amount.minor(), 126);
  // Summaries only: custom offer 1134 (seq 4), 5123 percent-off -0.19 (seq 8), custom offer 1129 (seq 9);
  // seq 5 is the detail of seq 8, seq 6 and 7 are messages.
  ASSERT_EQ(t.redemptions.size(), 3u);
  EXPECT_EQ(t.redemptions[0].offerId, "1134");
  EXPECT_EQ(t.redemptions[1].promotionId, "5123");
  EXPECT_EQ(t.redemptions[1].amount.minor(), 19);
  EXPECT_EQ(t.redemptions[2].offerId, "1129");
  EXPECT_EQ(t.total.minor(), 107);
  EXPECT_TRUE(t.warnings.empty());
}

TEST(PosLogSamples, Retalix60SampleHasThreeLinesInPounds) {
  const std::string xml = sample("sainsburys-6.0.xml");
  if (xml.empty()) GTEST_SKIP() << "shared data set poslog/sainsburys-6.0.xml not found (set AISLE_DATASETS)";
  auto doc = parsePosLog(xml, {});
  ASSERT_TRUE(doc.ok()) << doc.message();
  ASSERT_EQ(doc->items.size(), 1u);
  const Transaction& t = only(*doc, 0);
  EXPECT_EQ(t.key.str(), "default/0610/140/2016-08-22/451");
  EXPECT_EQ(t.occurredAtMs, 1471875714483);
  EXPECT_EQ(t.currency, "GBP");
  EXPECT_FALSE(t.card.has_value());  // an empty Customer: the shopper had no Nectar card
  ASSERT_EQ(t.lines.size(), 3u);
  EXPECT_EQ(t.lines[0].itemCode, "7583599");
  EXPECT_EQ(t.lines[0].amount.minor(), 259);
  EXPECT_EQ(t.lines[1].amount.minor(), 199);
  EXPECT_EQ(t.lines[1].quantity.milli(), 1000);  // the first Quantity (EA), not the weight
  EXPECT_EQ(t.lines[2].amount.minor(), 199);
  EXPECT_TRUE(t.redemptions.empty());
  EXPECT_EQ(t.total.minor(), 657);
}

}  // namespace
}  // namespace aisle::pos
