#include "aisle/fwconfig/fleet.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace aisle::fwconfig {
namespace {

using namespace std::chrono_literals;

TEST(Fleet, ExampleChainParsesIntoTheModel) {
  const FleetCheck check = checkFleet(testing::exampleChain(), "chain.toml");
  ASSERT_TRUE(check.ok());
  const Fleet& f = check.fleet;
  EXPECT_EQ(f.chainName, "Greenleaf Markets");
  ASSERT_EQ(f.stores.size(), 3u);
  EXPECT_EQ(f.stores[0].timeZone, "Europe/Berlin");
  EXPECT_EQ(f.stores[0].thresholds.dwell, 20s);
  // Store 102 overrides two thresholds and inherits the rest from the chain.
  EXPECT_EQ(f.stores[1].thresholds.dwell, 30s);
  EXPECT_EQ(f.stores[1].thresholds.hysteresisDb, 8);
  EXPECT_EQ(f.stores[1].thresholds.exitTimeout, 30s);
  EXPECT_EQ(f.gateways.size(), 7u);
  EXPECT_EQ(f.gateways[1].role, GatewayRole::Scanner);
  EXPECT_EQ(f.gateways[1].rssiOffsetDb, 3);
  EXPECT_EQ(f.gateways[5].adapter, "hci1");
  EXPECT_EQ(f.zones[1].categories, (std::vector<std::string>{"Fruit", "Vegetables"}));
  EXPECT_EQ(f.beacons[0].uuid, "f7826da6-4fa2-4e98-8024-bc5b71e0893e");
  EXPECT_TRUE(f.beacons[0].expectTlm);
  EXPECT_EQ(f.plans[1].majorLo, 1000);
  EXPECT_EQ(f.plans[1].minorHi, 65535);
  EXPECT_EQ(f.uplink.spoolMaxBytes, 64LL * 1024 * 1024);
}

TEST(Fleet, DefaultsApplyWhenOptionalKeysAreAbsent) {
  const FleetCheck check = checkFleet(
      testing::readText(testing::sourcePath("tests/unit/fwconfig/golden/good/minimal.toml")),
      "m.toml");
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check.fleet.thresholds.exitTimeout, 30s);
  EXPECT_EQ(check.fleet.gateways[0].adapter, "hci0");
  EXPECT_EQ(check.fleet.zones[0].kind, ZoneKind::Aisle);
  EXPECT_EQ(check.fleet.uplink.batchMaxEvents, 100);
}

TEST(Fleet, UuidsAreCanonicalizedWithOrWithoutDashes) {
  EXPECT_EQ(canonicalUuid("F7826DA64FA24E988024BC5B71E0893E"),
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e");
  EXPECT_EQ(canonicalUuid("f7826da6-4fa2-4e98-8024-bc5b71e0893e"),
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e");
  EXPECT_FALSE(canonicalUuid("f7826da64-fa2-4e98-8024-bc5b71e0893e"));
  EXPECT_FALSE(canonicalUuid("f7826da6"));
  EXPECT_FALSE(canonicalUuid("g7826da64fa24e988024bc5b71e0893e"));
}

TEST(Fleet, DurationsAreWrittenInTheirLargestExactUnit) {
  EXPECT_EQ(formatDuration(20s), "20s");
  EXPECT_EQ(formatDuration(1500ms), "1500ms");
  EXPECT_EQ(formatDuration(5min), "5m");
  EXPECT_EQ(formatDuration(2h), "2h");
  EXPECT_EQ(formatDuration(0s), "0s");
}

TEST(Fleet, ProblemsAreSortedByPosition) {
  const std::string text =
      "[chain]\nname = \"x\"\n[uplink]\nengine_url = \"https://e\"\n"
      "[[gateways]]\nid = \"g\"\nstore = 9\nrole = \"both\"\nzone = \"z\"\nkey_id = \"k\"\n"
      "[[stores]]\nid = 1\nname = \"s\"\ntime_zone = \"UTC\"\nbogus = 1\n";
  const FleetCheck check = checkFleet(text, "f.toml");
  ASSERT_EQ(check.problems.size(), 2u);
  EXPECT_EQ(check.problems[0].str(),
            "f.toml:7:9: gateway 'g': store 9 is not defined (hint: defined stores: 1)");
  EXPECT_EQ(check.problems[1].str(),
            "f.toml:15:1: store 1: unknown key 'bogus' (hint: known keys: id, name, thresholds, "
            "time_zone)");
}

TEST(Fleet, EmptyInputReportsTheMissingTables) {
  const FleetCheck check = checkFleet("", "empty.toml");
  ASSERT_EQ(check.problems.size(), 2u);
  EXPECT_EQ(check.problems[0].message, "fleet: missing table [chain]");
  EXPECT_EQ(check.problems[1].message, "fleet: missing table [uplink]");
}

TEST(Fleet, ArbitraryBytesNeverCrashTheParser) {
  const std::string inputs[] = {std::string("\0\0\0", 3),
                                "[[stores]]\n[[stores]]\nid=1\n",
                                "a.b.c = 1\n[a]\n",
                                "stores = 5\nzones = [1,2]\n",
                                "[[zones]]\ncategories = [1, \"x\"]\n",
                                "[[ibeacon_plans]]\nmajor = [5, 1]\nminor = [1]\n",
                                "\xff\xfe["};
  for (const auto& in : inputs) {
    const FleetCheck check = checkFleet(in, "x");
    EXPECT_FALSE(check.ok());
  }
}

}  // namespace
}  // namespace aisle::fwconfig
