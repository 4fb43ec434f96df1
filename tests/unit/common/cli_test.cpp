#include "aisle/common/cli.h"

#include <gtest/gtest.h>

#include "aisle/common/parse.h"

namespace aisle {

TEST(CommandLine, ReadsValuesSwitchesAndPositionals) {
  auto cl = CommandLine::parse({"replay", "--config", "a.conf", "--k=10,20", "--check-config", "in.jsonl"},
                               {"config", "k"}, {"check-config"});
  ASSERT_TRUE(cl.ok()) << cl.message();
  EXPECT_EQ(cl->positional(), (std::vector<std::string>{"replay", "in.jsonl"}));
  EXPECT_EQ(*cl->value("config"), "a.conf");
  EXPECT_EQ(*cl->value("k"), "10,20");
  EXPECT_TRUE(cl->has("check-config"));
  EXPECT_FALSE(cl->has("other"));
}

TEST(CommandLine, RejectsUnknownOptionsAndMissingValues) {
  EXPECT_EQ(CommandLine::parse({"--nope"}, {}, {}).message(), "unknown option --nope (see --help)");
  EXPECT_EQ(CommandLine::parse({"--config"}, {"config"}, {}).message(), "option --config needs a value");
}

TEST(ParseNumber, AcceptsWholeNumbersInRangeOnly) {
  EXPECT_EQ(*parseNumber<int>("42"), 42);
  EXPECT_EQ(*parseNumber<int>(" +7 "), 7);
  EXPECT_FALSE(parseNumber<int>("42x").ok());
  EXPECT_FALSE(parseNumber<int>("").ok());
  EXPECT_FALSE(parseNumber<int>("5", 10, 20).ok());
  EXPECT_FALSE(parseNumber<std::int8_t>("300").ok());
  EXPECT_DOUBLE_EQ(*parseNumber<double>("-2.5"), -2.5);
}

}  // namespace aisle
