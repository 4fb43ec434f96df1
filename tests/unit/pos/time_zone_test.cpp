#include "aisle/pos/time_zone.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace aisle::pos {
namespace {

TEST(Timestamp, ReadsZoneLessOffsetAndZuluForms) {
  auto a = parseTimestamp("2017-10-01T02:01:31");
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->offsetSeconds.has_value());
  EXPECT_EQ(a->localMs, 1506823291000);
  auto b = parseTimestamp("2016-08-22T15:21:54.4833703+01:00");
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(*b->offsetSeconds, 3600);
  EXPECT_EQ(b->utcMs(), 1471875714483);
  EXPECT_EQ(parseTimestamp("2016-08-22 14:21:54Z")->utcMs(), 1471875714000);
  EXPECT_EQ(*parseTimestamp("2016-08-22T10:21:54-0400")->offsetSeconds, -4 * 3600);
}

TEST(Timestamp, RejectsImpossibleDatesTimesAndGarbage) {
  EXPECT_FALSE(parseTimestamp("2017-02-29T10:00:00").ok());
  EXPECT_FALSE(parseTimestamp("2017-01-01T24:00:00").ok());
  EXPECT_FALSE(parseTimestamp("2017-01-01T10:00:00+15:00").ok());
  EXPECT_FALSE(parseTimestamp("0001-01-01T10:00:00").ok());
  EXPECT_FALSE(parseTimestamp("yesterday").ok());
  EXPECT_FALSE(parseTimestamp("2017-01-01T10:00:00 garbage").ok());
  EXPECT_TRUE(parseTimestamp("2016-12-31T23:59:60Z").ok());  // leap second, kept in its minute
}

TEST(Date, ChecksTheCalendar) {
  EXPECT_EQ(*parseDate("1970-01-02"), 1);
  EXPECT_EQ(formatDate(*parseDate("2024-02-29")), "2024-02-29");
  EXPECT_FALSE(parseDate("2023-02-29").ok());
  EXPECT_FALSE(parseDate("2023-2-1").ok());
}

TEST(TimeZone, FixedOffsetConvertsBothWays) {
  const auto z = TimeZone::fixed(-5 * 3600, "EST");
  EXPECT_EQ(z.localToUtc(0), 5 * 3600);
  EXPECT_EQ(z.offsetAt(123), -5 * 3600);
}

TEST(TimeZone, RejectsTruncatedOrForeignBytes) {
  EXPECT_FALSE(TimeZone::fromTzif("", "x").ok());
  EXPECT_FALSE(TimeZone::fromTzif("TZif2", "x").ok());
  EXPECT_FALSE(TimeZone::fromTzif(std::string(100, 'A'), "x").ok());
}

TEST(TimeZoneDatabase, RefusesPathsThatAreNotZoneNames) {
  TimeZoneDatabase db;
  EXPECT_FALSE(db.get("../../etc/passwd").ok());
  EXPECT_FALSE(db.get("/etc/passwd").ok());
  EXPECT_FALSE(db.get("").ok());
}

// tzdata is a system package: read it when present (it is on every supported machine).
TEST(TimeZoneDatabase, HandlesDaylightSavingGapsAndOverlapsInLondon) {
  if (!std::filesystem::exists("/usr/share/zoneinfo/Europe/London")) GTEST_SKIP() << "no tzdata installed";
  TimeZoneDatabase db;
  auto z = db.get("Europe/London");
  ASSERT_TRUE(z.ok()) << z.message();
  const std::int64_t summer = *parseDate("2016-08-22") * 86400 + 15 * 3600;
  EXPECT_EQ((*z)->localToUtc(summer), summer - 3600);
  const std::int64_t winter = *parseDate("2016-12-22") * 86400 + 15 * 3600;
  EXPECT_EQ((*z)->localToUtc(winter), winter);
  // 2016-03-27 01:30 does not exist (clocks went 01:00 -> 02:00): read as 02:30 BST = 01:30Z.
  const std::int64_t gap = *parseDate("2016-03-27") * 86400 + 90 * 60;
  EXPECT_EQ((*z)->localToUtc(gap), gap);
  // 2016-10-30 01:30 happened twice: the earlier (BST) instant wins.
  const std::int64_t overlap = *parseDate("2016-10-30") * 86400 + 90 * 60;
  EXPECT_EQ((*z)->localToUtc(overlap), overlap - 3600);
  EXPECT_FALSE(db.get("Mars/Olympus_Mons").ok());
}

}  // namespace
}  // namespace aisle::pos
