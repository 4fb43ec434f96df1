// The JSON layer under the transaction form, the adapter's own reader: what RFC 8259 requires of a
// document, and the stricter rules we add for money and identity. Several of the refused cases below
// are documents Poco::JSON (the reader before it) accepted.
#include "json_value.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace aisle::pos::json {
namespace {

std::string errorOf(const std::string& doc, std::size_t depth = 16) {
  auto r = parse(doc, depth);
  return r ? std::string() : r.message();
}

TEST(JsonValue, ReadsObjectsArraysAndScalarsInDocumentOrder) {
  auto v = parse(R"( {"b": [1, -2.5e3, "x", true, false, null], "a": {"k": 0}} )", 16);
  ASSERT_TRUE(v) << v.message();
  ASSERT_TRUE(v->isObject());
  ASSERT_EQ(v->members.size(), 2u);
  EXPECT_EQ(v->members[0].key, "b");
  EXPECT_EQ(v->members[1].key, "a");
  const Value* b = v->find("b");
  ASSERT_TRUE(b && b->isArray());
  ASSERT_EQ(b->items.size(), 6u);
  EXPECT_TRUE(b->items[0].type == Value::Type::Number && b->items[0].integer && b->items[0].text == "1");
  EXPECT_TRUE(b->items[1].type == Value::Type::Number && !b->items[1].integer && b->items[1].text == "-2.5e3");
  EXPECT_EQ(b->items[2].text, "x");
  EXPECT_TRUE(b->items[3].type == Value::Type::Bool && b->items[3].boolean);
  EXPECT_TRUE(b->items[4].type == Value::Type::Bool && !b->items[4].boolean);
  EXPECT_TRUE(b->items[5].isNull());
  EXPECT_EQ(v->find("a")->find("k")->text, "0");
  EXPECT_EQ(v->find("c"), nullptr);
}

TEST(JsonValue, AnIntegerOfTwentyFiveDigitsKeepsEveryDigit) {
  auto v = parse("[1234567890123456789012345, -0]", 16);
  ASSERT_TRUE(v) << v.message();
  EXPECT_TRUE(v->items[0].integer);
  EXPECT_EQ(v->items[0].text, "1234567890123456789012345");
  EXPECT_EQ(v->items[1].text, "-0");
}

TEST(JsonValue, DecodesEscapesAndSurrogatePairsAndKeepsUtf8AsIs) {
  auto v = parse(R"(["a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20ac\ud83d\ude00", "é€😀"])", 16);
  ASSERT_TRUE(v) << v.message();
  EXPECT_EQ(v->items[0].text, "a\"b\\c/d\b\f\n\r\t");
  EXPECT_EQ(v->items[1].text, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_EQ(v->items[2].text, v->items[1].text);
}

TEST(JsonValue, AKeyTwiceInOneObjectIsRefused) {
  EXPECT_NE(errorOf(R"({"amount":"1.00","amount":"100.00"})").find("a key appears twice"), std::string::npos);
  EXPECT_EQ(errorOf(R"([{"amount":"1"},{"amount":"2"}])"), "");  // the same key in two objects is fine
}

TEST(JsonValue, IllFormedDocumentsFailWithWhatAndWhere) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "unexpected end"},
      {"{", "expected a quoted key"},
      {R"({"a":1,})", "expected a quoted key"},
      {"[1,]", "unexpected characters"},
      {"[1 2]", "expected ',' or ']'"},
      {R"({"a" 1})", "expected ':'"},
      {"{} {}", "text after the document"},
      {"01", "text after the document"},
      {"1.", "digits after its '.'"},
      {"1e", "digits in its exponent"},
      {"+1", "unexpected characters"},
      {"NaN", "unexpected characters"},
      {"tru", "unexpected characters"},
      {R"("abc)", "not closed"},
      {"\"a\tb\"", "control character"},
      {R"("\x41")", "unknown escape"},
      {R"("\u12")", "four hex digits"},
      {R"("\ud83d")", "without its low half"},
      {R"("\ude00")", "lone low surrogate"},
      {"\"\xff\xfe\"", "not valid UTF-8"},
      {"\"\xc0\xaf\"", "not valid UTF-8"},          // an overlong '/'
      {"\"\xed\xa0\x80\"", "not valid UTF-8"},      // a surrogate in UTF-8
      {"\"\xe2\x82\"", "not valid UTF-8"},          // cut short
  };
  for (const auto& [doc, expected] : cases) {
    const std::string e = errorOf(doc);
    EXPECT_NE(e.find(expected), std::string::npos) << doc << ": " << e;
    EXPECT_NE(e.find(" at byte "), std::string::npos) << doc << ": " << e;
  }
}

TEST(JsonValue, NestingDeeperThanTheLimitFailsWithoutExhaustingTheStack) {
  EXPECT_EQ(errorOf("[[[]]]", 3), "");
  EXPECT_NE(errorOf("[[[[]]]]", 3).find("nested too deep"), std::string::npos);
  const std::string deep = std::string(1'000'000, '[') + std::string(1'000'000, ']');
  EXPECT_NE(errorOf(deep).find("nested too deep"), std::string::npos);
}

}  // namespace
}  // namespace aisle::pos::json
