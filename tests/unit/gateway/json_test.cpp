#include <gtest/gtest.h>

#include "aisle/gateway/json.h"
#include "gateway_test_support.h"

namespace aisle::gateway {
namespace {

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  std::string out;
  appendJsonString(out, std::string_view("a\"b\\c\n\x01\xc3\xa9", 9));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xc3\xa9\"");
}

TEST(JsonWriter, WritesFieldsInOrderWithShortestNumbers) {
  std::string out;
  JsonObjectWriter w(out);
  w.field("s", "x").field("i", -70).field("d", 71.06640625).field("b", true).field("n", 0.0 / 0.0);
  w.close();
  EXPECT_EQ(out, "{\"s\":\"x\",\"i\":-70,\"d\":71.06640625,\"b\":true,\"n\":null}");
}

TEST(FlatJsonReader, ReadsStringsNumbersAndEscapes) {
  auto m = testing::flatJson(R"( {"scanner": "Room\u0032\"01", "rssi": -70, "ok": true, "t": 1.5e3} )");
  ASSERT_EQ(m.count(""), 0u) << m[""];
  EXPECT_EQ(m["scanner"], "Room2\"01");
  EXPECT_EQ(m["rssi"], "-70");
  EXPECT_EQ(m["ok"], "true");
  EXPECT_EQ(m["t"], "1.5e3");
}

TEST(FlatJsonReader, DecodesSurrogatePairsToUtf8) {
  auto m = testing::flatJson(R"({"e":"\ud83d\ude00"})");
  EXPECT_EQ(m["e"], "\xF0\x9F\x98\x80");
}

TEST(FlatJsonReader, RejectsMalformedObjectsWithAReason) {
  for (const char* bad : {"", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":\"x}",
                          "{\"a\":{}}", "{\"a\":1} x", "{\"a\":bogus}", "{\"a\":\"\\q\"}",
                          "{\"a\":\"\\ud800\"}"}) {
    auto m = testing::flatJson(bad);
    EXPECT_EQ(m.count(""), 1u) << bad;
  }
}

}  // namespace
}  // namespace aisle::gateway
