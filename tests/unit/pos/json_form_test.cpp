#include <gtest/gtest.h>

#include "aisle/pos/poslog.h"
#include "test_support.h"

namespace aisle::pos {
namespace {

using testing::golden;
using testing::only;
using testing::optionsAtOffset;
using testing::readFile;
using Kind = TransactionOutcome::Kind;

const char* kSale = R"({
  "store": "9", "workstation": "34", "business_day": "2017-09-30", "sequence": "161",
  "ended_at": "2017-10-01T02:02:54", "currency": "USD", "card": "0000000000000040000066677",
  "lines": [
    {"line": 1, "item": "00000000067591", "quantity": "0.42", "unit_price": "2.99", "amount": "1.26"},
    {"line": 2, "gtin": "4006381333931", "item": "4006381333931", "quantity": 2, "unit_price": "1.995", "amount": "3.990", "discount": "0"}
  ],
  "redemptions": [
    {"kind": "loyalty_reward", "promotion": "5123", "amount": "0.19", "line": 7},
    {"kind": "loyalty_reward", "promotion": "1027", "offer": "1134", "amount": "0", "line": 8}
  ],
  "total": "5.06"
})";

TEST(JsonForm, ReadsTheDocumentedTransactionForm) {
  auto doc = parseTransactionJson(kSale, optionsAtOffset(-4 * 3600));
  ASSERT_TRUE(doc.ok()) << doc.message();
  const Transaction& t = only(*doc, 0);
  EXPECT_EQ(t.source, "json");
  EXPECT_EQ(t.key.str(), "default/9/34/2017-09-30/161");
  EXPECT_EQ(t.occurredAtMs, 1506837774000);
  EXPECT_EQ(t.card->str(), "40000066677");
  ASSERT_EQ(t.lines.size(), 2u);
  EXPECT_EQ(t.lines[0].quantity.milli(), 420);
  EXPECT_EQ(t.lines[1].amount.minor(), 399);
  EXPECT_EQ(t.redemptions.size(), 2u);
  EXPECT_EQ(t.total.minor(), 506);
}

TEST(JsonForm, TheSameSaleAsXmlAndAsJsonHasTheSameContentHash) {
  auto xml = parsePosLog(readFile(golden("ncr-sale.xml")), optionsAtOffset(-4 * 3600));
  auto json = parseTransactionJson(kSale, optionsAtOffset(-4 * 3600));
  ASSERT_TRUE(xml.ok() && json.ok());
  // The XML sale's lines carry line numbers 1,2 and rewards 7,8, as the JSON does.
  EXPECT_EQ(canonicalContent(only(*xml, 1)), canonicalContent(only(*json, 0)));
}

TEST(JsonForm, ToJsonRoundTripsToTheSameContent) {
  auto xml = parsePosLog(readFile(golden("flags-and-links.xml")), optionsAtOffset(0));
  ASSERT_TRUE(xml.ok());
  for (const auto& item : xml->items) {
    ASSERT_TRUE(item.transaction) << item.reason;
    const std::string json = toJson(*item.transaction, /*maskCard=*/false);
    auto back = parseTransactionJson(json, optionsAtOffset(0));
    ASSERT_TRUE(back.ok()) << back.message();
    EXPECT_EQ(contentHashHex(only(*back, 0)), contentHashHex(*item.transaction)) << json;
  }
}

TEST(JsonForm, ToJsonMasksTheCardByDefault) {
  auto doc = parseTransactionJson(kSale, optionsAtOffset(0));
  ASSERT_TRUE(doc.ok());
  const std::string json = toJson(only(*doc, 0));
  EXPECT_EQ(json.find("40000066677"), std::string::npos) << json;
  EXPECT_NE(json.find("*******6677"), std::string::npos) << json;
}

TEST(JsonForm, AcceptsAnArrayOrATransactionsEnvelope) {
  const std::string one = R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z"})";
  auto arr = parseTransactionJson("[" + one + "," + one + "]", {});
  ASSERT_TRUE(arr.ok());
  EXPECT_EQ(arr->items.size(), 2u);
  auto env = parseTransactionJson(R"({"transactions":[)" + one + "]}", {});
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(env->items.size(), 1u);
  EXPECT_EQ(env->items[0].kind, Kind::Parsed) << env->items[0].reason;
}

TEST(JsonForm, RejectsDoublesUnknownFieldsAndMissingKeysWithTheirName) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "lines":[{"item":"1","amount":1.1}]})", "not exact"},
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "lines":[{"item":"1","amount":"1","qty":"2"}]})", "unknown field 'qty'"},
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","ended_at":"2020-01-01T10:00:00Z"})", "sequence is missing"},
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "lines":[{"item":"1","amount":"1e400"}]})", "not a decimal"},
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "training":"yes"})", "true or false"},
      {R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "redemptions":[{"kind":"gift"}]})", "'kind'"},
      {R"(42)", ""},
  };
  for (const auto& [json, expected] : cases) {
    auto doc = parseTransactionJson(json, {});
    if (!doc.ok()) {
      EXPECT_NE(doc.message().find(expected), std::string::npos) << json << ": " << doc.message();
      continue;
    }
    ASSERT_EQ(doc->items.size(), 1u);
    EXPECT_EQ(doc->items[0].kind, Kind::Rejected) << json;
    EXPECT_NE(doc->items[0].reason.find(expected), std::string::npos) << json << ": " << doc->items[0].reason;
  }
}

TEST(JsonForm, ALineWithItsAmountTwiceIsRefusedRatherThanOneOfThemCounted) {
  auto doc = parseTransactionJson(
      R"({"store":"1","workstation":"2","business_day":"2020-01-01","sequence":"3","ended_at":"2020-01-01T10:00:00Z",
          "lines":[{"item":"1","amount":"1.00","amount":"100.00"}]})",
      {});
  ASSERT_FALSE(doc.ok());
  EXPECT_NE(doc.message().find("a key appears twice"), std::string::npos) << doc.message();
}

TEST(JsonForm, MalformedAndDeeplyNestedDocumentsFail) {
  EXPECT_FALSE(parseTransactionJson("{", {}).ok());
  EXPECT_FALSE(parseTransactionJson("", {}).ok());
  EXPECT_FALSE(parseTransactionJson(std::string(1000, '[') + std::string(1000, ']'), {}).ok());
  EXPECT_FALSE(parseTransactionJson("{\"store\":\"\xff\xfe\"}", {}).ok() &&
               parseTransactionJson("{\"store\":\"\xff\xfe\"}", {})->items.at(0).kind == Kind::Parsed);
}

TEST(JsonForm, ParseAnyPicksTheParserByTheFirstByte) {
  EXPECT_TRUE(parseAny(readFile(golden("poslog6-sale.xml")), {}).ok());
  EXPECT_TRUE(parseAny(std::string("  ") + kSale, optionsAtOffset(0)).ok());
  EXPECT_FALSE(parseAny("hello", {}).ok());
}

}  // namespace
}  // namespace aisle::pos
