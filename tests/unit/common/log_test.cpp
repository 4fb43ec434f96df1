#include "aisle/common/log.h"

#include <gtest/gtest.h>

namespace aisle {

TEST(MaskSensitive, MasksCardLikeDigitRunsToTheLastFour) {
  EXPECT_EQ(maskSensitive("card 4111111111111111 swiped"), "card ************1111 swiped");
  EXPECT_EQ(maskSensitive("card 4111 1111 1111 1111."), "card ************1111.");
  EXPECT_EQ(maskSensitive("loyalty 2900001234567"), "loyalty *********4567");
}

TEST(MaskSensitive, LeavesShortNumbersAlone) {
  EXPECT_EQ(maskSensitive("store 12 lane 3 total 45.99 in 2026"), "store 12 lane 3 total 45.99 in 2026");
  EXPECT_EQ(maskSensitive("id 123456789012345678901234"), "id 123456789012345678901234");
}

TEST(MaskSensitive, RemovesTrackOneAndTrackTwoData) {
  const std::string t1 = "%B4111111111111111^DOE/JOHN^2512101000000000000000000000?";
  const std::string t2 = ";4111111111111111=25121010000000000000?";
  EXPECT_EQ(maskSensitive("swipe " + t1 + " end"), "swipe [track data removed] end");
  EXPECT_EQ(maskSensitive("swipe " + t2 + " end"), "swipe [track data removed] end");
}

TEST(Logger, WritesLevelComponentContextAndMaskedMessage) {
  auto sink = std::make_shared<MemorySink>();
  Logger log("pos", sink);
  log.with("store", "12").with("lane", "3").info("swipe of 4111111111111111");
  ASSERT_EQ(sink->lines().size(), 1u);
  const std::string line = sink->lines()[0];
  EXPECT_NE(line.find("INFO pos store=12 lane=3: swipe of ************1111"), std::string::npos) << line;
  EXPECT_EQ(line.find("4111111111111111"), std::string::npos);
}

TEST(Logger, DropsMessagesBelowItsLevel) {
  auto sink = std::make_shared<MemorySink>();
  Logger log("gw", sink, LogLevel::Warn);
  log.info("hidden");
  log.error("shown");
  ASSERT_EQ(sink->lines().size(), 1u);
  EXPECT_NE(sink->lines()[0].find("ERROR gw: shown"), std::string::npos);
}

}  // namespace aisle
