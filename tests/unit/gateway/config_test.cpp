#include <gtest/gtest.h>

#include "aisle/gateway/config.h"

namespace aisle::gateway {
namespace {

TEST(GatewayConfig, ReadsEverySectionIntoTheOneStruct) {
  auto cfg = parseGatewayConfig(R"(
[gateway]
id = "store12-pi1"
[filter]
kind = "median"
window = 7
max_age = "3s"
[zones]
switch_margin_db = 8
switch_after = "5s"
dwell_after = "45s"
exit_min = "15s"
exit_max = "90s"
scanner_silence = "20s"
[model]
path_loss_exponent = 2.5
measured_power_dbm = -62
[scanner.pi-dairy]
zone = "dairy"
rssi_offset_db = 3.5
[scanner.door]
id = "Room201"
[beacon.fob1]
id = "DAF246CE836311E4:0:3"
measured_power_dbm = -70
)",
                                "gw.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  const ZoneSetup& z = cfg->zones;
  EXPECT_EQ(z.gatewayId, "store12-pi1");
  EXPECT_EQ(z.params.filter.kind, FilterKind::Median);
  EXPECT_EQ(z.params.filter.window, 7);
  EXPECT_EQ(z.params.filter.maxAgeMs, 3000);
  EXPECT_EQ(z.params.switchMargin, Db{8});
  EXPECT_EQ(z.params.switchAfterMs, 5000);
  EXPECT_EQ(z.params.dwellAfterMs, 45000);
  EXPECT_EQ(z.params.exitMinMs, 15000);
  EXPECT_EQ(z.params.exitMaxMs, 90000);
  EXPECT_EQ(z.params.scannerSilenceMs, 20000);
  EXPECT_DOUBLE_EQ(z.params.model.exponent, 2.5);
  ASSERT_EQ(z.scanners.size(), 2u);
  EXPECT_EQ(z.scanners[0].id, "Room201");  // sections in name order: door, pi-dairy
  EXPECT_EQ(z.scanners[0].zone, "Room201");
  EXPECT_EQ(z.scanners[1].id, "pi-dairy");
  EXPECT_EQ(z.scanners[1].zone, "dairy");
  EXPECT_EQ(z.scanners[1].rssiOffset, Db{3.5});
  ASSERT_EQ(z.beacons.size(), 1u);
  EXPECT_EQ(z.beacons[0].measuredPower, Dbm{-70});
}

TEST(GatewayConfig, AnEmptyFileMeansDefaultsAndOneZonePerScanner) {
  auto cfg = parseGatewayConfig("", "empty.conf");
  ASSERT_TRUE(cfg.ok()) << cfg.message();
  EXPECT_TRUE(cfg->zones.scanners.empty());
  EXPECT_EQ(cfg->zones.params.filter.kind, FilterKind::MedianEma);
}

TEST(GatewayConfig, ReportsEveryProblemWithFileAndLine) {
  auto cfg = parseGatewayConfig(R"([filter]
kind = "kalman"
window = 99
[zones]
exit_min = "5m"
exit_max = "1m"
swich_after = "3s"
[beacon.x]
measured_power_dbm = -60
)",
                                "gw.conf");
  ASSERT_FALSE(cfg.ok());
  const std::string& m = cfg.message();
  EXPECT_NE(m.find("gw.conf:2: filter.kind"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.conf:3: filter.window"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.conf:5: zones.exit_min: must not exceed"), std::string::npos) << m;
  EXPECT_NE(m.find("gw.conf:7: zones.swich_after: unknown key"), std::string::npos) << m;
  EXPECT_NE(m.find("beacon.x.id: required"), std::string::npos) << m;
}

TEST(GatewayConfig, RejectsTheReservedUnknownZoneAndDuplicateScanners) {
  auto cfg = parseGatewayConfig(R"([scanner.a]
zone = "unknown"
[scanner.b]
id = "a"
)",
                                "gw.conf");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.message().find("reserved"), std::string::npos) << cfg.message();
  EXPECT_NE(cfg.message().find("listed twice"), std::string::npos) << cfg.message();
}

TEST(GatewayConfig, MissingFileIsAClearError) {
  auto cfg = loadGatewayConfig("/nonexistent/gw.conf");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.message().find("/nonexistent/gw.conf"), std::string::npos);
}

}  // namespace
}  // namespace aisle::gateway

namespace aisle::gateway {
namespace {

TEST(GatewayConfig, ReadsTheHeartbeatAndLanKeysAndChecksWhatEachRoleNeeds) {
  const std::string base =
      "[gateway]\nid = \"s1\"\nstore_id = 3\n[uplink]\nengine_url = \"http://e\"\nkey_id = \"k\"\n"
      "secret_file = \"/k\"\n[heartbeat]\ninterval = \"15s\"\n";
  auto both = parseGatewayConfig(base, "gw.conf");
  ASSERT_TRUE(both) << both.message();
  EXPECT_EQ(both->daemon.heartbeatInterval, std::chrono::seconds(15));
  EXPECT_EQ(both->daemon.lanRole, "both");
  EXPECT_TRUE(checkDaemonConfig(*both).ok());  // a one-Pi store needs no LAN key

  auto scanner = parseGatewayConfig(base + "[lan]\nrole = \"scanner\"\n", "gw.conf");
  ASSERT_TRUE(scanner) << scanner.message();
  auto st = checkDaemonConfig(*scanner);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("lan.hub_url: required"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("lan.key_file: required"), std::string::npos) << st.message();

  auto bad = parseGatewayConfig(base + "[lan]\nrole = \"relay\"\nhub_url = \"10.0.0.1:7700\"\n", "gw.conf");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.message().find("gw.conf:11: lan.role"), std::string::npos) << bad.message();
  EXPECT_NE(bad.message().find("gw.conf:12: lan.hub_url: must start with http://"), std::string::npos)
      << bad.message();
}

}  // namespace
}  // namespace aisle::gateway
