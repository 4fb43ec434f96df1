// Pure parts of the serve command: the store's calendar day, the spool record, the configuration.
#include <gtest/gtest.h>

#include "aisle/pos/config.h"
#include "aisle/pos/poslog.h"
#include "aisle/pos/service.h"

namespace aisle::pos {
namespace {

TEST(StoreDay, IsTheLocalCalendarDayAsUtcMilliseconds) {
  const auto zone = TimeZone::fixed(-5 * 3600, "EST");
  // 2024-03-01T03:00Z is still 2024-02-29 22:00 in New York winter time.
  const auto [start, end] = storeDay(zone, 1'709'262'000'000);
  EXPECT_EQ(start, 1'709'182'800'000);  // 2024-02-29T05:00Z
  EXPECT_EQ(end - start, 86'400'000);
}

TEST(SpoolRecord, RoundTripsASaleThroughTheJsonFormWithTheSameContentHash) {
  ParseOptions o;
  const std::string sale = R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":"1",)"
                           R"("ended_at":"2024-03-01T10:00:00Z","card":"0012345678","lines":[{"item":"PLU-4011","amount":"1.00"}]})";
  auto doc = parseTransactionJson(sale, o);
  ASSERT_TRUE(doc);
  Transaction t = *doc->items.at(0).transaction;
  t.source = "poslog";
  auto back = decodeSpooled(encodeSpooled(t));
  ASSERT_TRUE(back) << back.message();
  EXPECT_EQ(back->source, "poslog");
  auto again = parseTransactionJson(back->json, o);
  ASSERT_TRUE(again);
  EXPECT_EQ(contentHashHex(*again->items.at(0).transaction), contentHashHex(t));
  EXPECT_EQ(again->items.at(0).transaction->card->str(), "0012345678");  // unmasked: it must reach the member
}

TEST(SpoolRecord, AZoneLessSaleKeepsItsCivilTimeWithoutAZone) {
  ParseOptions o;
  auto doc = parseTransactionJson(R"({"store":"9","workstation":"1","business_day":"2024-03-01","sequence":"1",)"
                                  R"("ended_at":"2024-03-01T10:00:00Z"})", o);
  ASSERT_TRUE(doc);
  const std::string rec = encodeSpooled(*doc->items.at(0).transaction, /*zoneLess=*/true);
  EXPECT_NE(rec.find("\"ended_at\":\"2024-03-01T10:00:00.000\""), std::string::npos) << rec;
}

TEST(SpoolRecord, ForeignBytesAreRefused) { EXPECT_FALSE(decodeSpooled("hello")); }

TEST(PosConfig, ReadsTerminalsSpoolAndLimits) {
  auto c = parsePosConfig(
      "[ingest]\nredemptions_per_member_per_day = 3\n[server]\nport = 0\n[spool]\ndir = \"/tmp/x\"\nfsync = \"batch:10\"\n"
      "[terminal.lane-9-1]\nstore = \"9\"\nsecret_hex = \"00112233445566778899aabbccddeeff\"\n",
      "pos.conf");
  ASSERT_TRUE(c) << c.message();
  EXPECT_EQ(c->ingest.redemptionsPerMemberPerDay, 3);
  EXPECT_EQ(c->terminals.at("lane-9-1").store, "9");
  EXPECT_EQ(c->terminals.at("lane-9-1").secret.size(), 16u);
  EXPECT_EQ(c->spool.fsync.mode, FsyncMode::Batch);
}

TEST(PosConfig, AShortTerminalKeyAndAMissingStoreAreErrorsWithTheirLine) {
  auto c = parsePosConfig("[terminal.lane-1]\nsecret_hex = \"0011\"\n", "pos.conf");
  ASSERT_FALSE(c);
  EXPECT_NE(c.message().find("pos.conf:2: terminal.lane-1.secret_hex: a key needs at least 16 bytes"), std::string::npos)
      << c.message();
  EXPECT_NE(c.message().find("terminal.lane-1.store: required but missing"), std::string::npos) << c.message();
}

}  // namespace
}  // namespace aisle::pos
