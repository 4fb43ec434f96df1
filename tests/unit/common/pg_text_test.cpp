// The text forms the repositories hand to PostgreSQL (no server needed).
#include <gtest/gtest.h>

#include "aisle/common/pg.h"

namespace aisle {

TEST(PgTimestampUtc, WritesUnixMillisecondsAsUtcTimestamptzTextToTheMillisecond) {
  EXPECT_EQ(pgTimestampUtc(0), "1970-01-01 00:00:00.000+00");
  EXPECT_EQ(pgTimestampUtc(1'709'632'800'123), "2024-03-05 10:00:00.123+00");
  EXPECT_EQ(pgTimestampUtc(951'782'400'000), "2000-02-29 00:00:00.000+00");  // leap day
}

TEST(PgTimestampUtc, PutsInstantsBefore1970OnTheRightSecond) {
  EXPECT_EQ(pgTimestampUtc(-1), "1969-12-31 23:59:59.999+00");
  EXPECT_EQ(pgTimestampUtc(-86'400'000), "1969-12-31 00:00:00.000+00");
}

}  // namespace aisle
