#include <gtest/gtest.h>

#include "aisle/engine/csv.h"

namespace aisle::engine {
namespace {

std::vector<std::vector<std::string>> readAll(std::string_view text, std::string* error = nullptr) {
  CsvReader r(text, "t.csv");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> fields;
  for (;;) {
    auto more = r.next(fields);
    if (!more) {
      if (error) *error = more.message();
      return rows;
    }
    if (!*more) return rows;
    rows.push_back(fields);
  }
}

TEST(CsvReader, SplitsPlainFieldsAndKeepsEmptyOnes) {
  const auto rows = readAll("a,b,c\n1,,3\n,,\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "", "3"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"", "", ""}));
}

TEST(CsvReader, UnquotesFieldsWithSeparatorsDoubledQuotesAndLineBreaks) {
  const auto rows = readAll("\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\"\n");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a,b", "say \"hi\"", "two\nlines", ""}));
}

TEST(CsvReader, AcceptsCrLfAndAMissingFinalNewlineAndSkipsBlankLines) {
  const auto rows = readAll("x,y\r\n\r\n1,2\r\n3,4");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1], (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(rows[2], (std::vector<std::string>{"3", "4"}));
}

TEST(CsvReader, ReportsTheLineWhereEachRecordStarts) {
  CsvReader r("h\n\"multi\nline\"\nnext\n", "f.csv");
  std::vector<std::string> fields;
  ASSERT_TRUE(*r.next(fields));
  ASSERT_TRUE(*r.next(fields));
  EXPECT_EQ(r.line(), 2u);
  ASSERT_TRUE(*r.next(fields));
  EXPECT_EQ(r.where(), "f.csv:4");
}

TEST(CsvReader, RejectsAnUnterminatedQuoteNamingTheLineItOpened) {
  std::string error;
  readAll("a,b\n1,\"open\n2,3\n", &error);
  EXPECT_EQ(error, "t.csv:2: quoted field is never closed");
}

TEST(CsvReader, RejectsAQuoteInsideAnUnquotedField) {
  std::string error;
  readAll("a,b\n1,2\nx\"y,3\n", &error);
  EXPECT_NE(error.find("t.csv:3: quote inside an unquoted field 1"), std::string::npos) << error;
}

TEST(CsvReader, RejectsTextAfterAClosingQuote) {
  std::string error;
  readAll("\"a\"b,c\n", &error);
  EXPECT_NE(error.find("t.csv:1: unexpected character after a closing quote"), std::string::npos)
      << error;
}

TEST(CsvReader, IgnoresAUtf8ByteOrderMark) {
  const auto rows = readAll("\xEF\xBB\xBFid,name\n1,x\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "id");
}

TEST(CsvHeader, FindsColumnsByNameAndNamesAMissingOne) {
  auto h = CsvHeader::parse({"a", "b"}, {"a"}, "f.csv:1");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->index("b"), 1u);
  auto missing = CsvHeader::parse({"a", "b"}, {"c"}, "f.csv:1");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.message(), "f.csv:1: missing column 'c' in the header");
  EXPECT_FALSE(CsvHeader::parse({"a", "a"}, {}, "f.csv:1").ok());
}

}  // namespace
}  // namespace aisle::engine
