// Running from signed fleet bundles: the fleet slice mapped onto the daemon's config, and the gate
// that refuses bad signatures, other gateways' bundles and rollbacks while the last good bundle
// keeps running (also across a restart, through the state directory).
#include "aisle/gateway/bundle.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "aisle/fwconfig/fleet.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;
using fwconfig::PrivateKey;

constexpr const char* kFleet = R"(schema = 1
[chain]
name = "Test Markets"
[thresholds]
dwell = "25s"
exit_timeout = "15s"
hysteresis_db = 7
hysteresis_time = "3s"
[uplink]
engine_url = "http://127.0.0.1:9"
allow_plain_http = true
batch_max_delay = "200ms"
batch_max_events = 50
spool_max_mb = 8
[[stores]]
id = 7
name = "Seven"
time_zone = "UTC"
[[zones]]
id = 701
store = 7
name = "entrance"
[[zones]]
id = 702
store = 7
name = "dairy"
[[gateways]]
id = "gw-7-hub"
store = 7
role = "both"
adapter = "hci1"
zone = "entrance"
rssi_offset_db = -2
key_id = "gw-7-hub-k1"
address = "10.0.0.1:7700"
[[gateways]]
id = "gw-7-dairy"
store = 7
role = "scanner"
zone = "dairy"
rssi_offset_db = 3
key_id = "gw-7-dairy-k1"
[[beacons]]
id = "b-ib"
store = 7
zone = "entrance"
type = "ibeacon"
uuid = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
major = 100
minor = 1
measured_power = -61
[[beacons]]
id = "b-alt"
store = 7
zone = "dairy"
type = "altbeacon"
beacon_id = "2f234454cf6d4a0fadf2f4911ba9ffa600660001"
measured_power = -60
[[beacons]]
id = "b-uid"
store = 7
zone = "dairy"
type = "eddystone-uid"
namespace = "edd1ebeac04e5defa017"
instance = "000000000102"
measured_power = -41
[[ibeacon_plans]]
id = "fixed"
uuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
major = [100, 199]
minor = [1, 99]
purpose = "fixed"
[[ibeacon_plans]]
id = "fobs"
uuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
major = [1000, 1099]
minor = [0, 65535]
purpose = "fobs"
[[ibeacon_plans]]
id = "partners"
uuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
major = [2000, 2999]
minor = [0, 65535]
purpose = "reserved"
)";

const std::array<std::uint8_t, 16> kUuid = {0xf7, 0x82, 0x6d, 0xa6, 0x4f, 0xa2, 0x4e, 0x98,
                                            0x80, 0x24, 0xbc, 0x5b, 0x71, 0xe0, 0x89, 0x3e};

class BundleGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto check = fwconfig::checkFleet(kFleet, "test.toml");
    ASSERT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems.front().str());
    fleet_ = check.fleet;
    auto k = PrivateKey::generate();
    ASSERT_TRUE(k.ok()) << k.message();
    key_ = std::make_unique<PrivateKey>(*k);
    std::string tmpl = (fs::temp_directory_path() / "aisle-gw-bundle-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto local = parseLocalGatewayConfig(localText("gw-7-hub"), "local.conf");
    ASSERT_TRUE(local.ok()) << local.message();
    local_ = *local;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string localText(const std::string& id) const {
    return "[gateway]\nid = \"" + id +
           "\"\n[filter]\nkind = \"median\"\n[zones]\nexit_min = \"20s\"\n" +
           "[http]\nport = 0\n[uplink]\nsecret_file = \"" + (dir_ / "key").string() +
           "\"\n[spool]\ndir = \"" + (dir_ / "spool").string() + "\"\n";
  }
  std::string bundle(const std::string& gw, std::int64_t version,
                     const PrivateKey* key = nullptr) const {
    for (const auto& g : fleet_.gateways) {
      if (g.id == gw)
        return fwconfig::signBundle(fwconfig::renderPayload(fleet_, g, {version, gw, "f1ee7"}),
                                    key ? *key : *key_);
    }
    ADD_FAILURE() << "no gateway " << gw;
    return {};
  }
  Result<BundleGate> gate(const std::string& id = "gw-7-hub") const {
    return BundleGate::open(key_->publicKey(), id, BundleStore(dir_ / "state"));
  }

  fwconfig::Fleet fleet_;
  std::unique_ptr<PrivateKey> key_;
  fs::path dir_;
  GatewayConfig local_;
};

TEST_F(BundleGateTest, ASignedBundleIsAcceptedAndMappedOntoTheDaemonConfig) {
  auto g = gate();
  ASSERT_TRUE(g.ok()) << g.message();
  auto a = g->accept(bundle("gw-7-hub", 3), local_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_EQ(a->version, 3);
  EXPECT_EQ(a->fleetSha256, "f1ee7");
  EXPECT_FALSE(a->fromLastGood);
  const GatewayConfig& c = a->config;

  // The fleet's part.
  EXPECT_EQ(c.zones.gatewayId, "gw-7-hub");
  EXPECT_EQ(c.daemon.scanner, "gw-7-hub");
  EXPECT_EQ(c.daemon.storeId, 7);
  EXPECT_EQ(c.daemon.adapter, "hci1");
  EXPECT_EQ(c.daemon.keyId, "gw-7-hub-k1");
  EXPECT_EQ(c.daemon.engineUrl, "http://127.0.0.1:9");
  EXPECT_EQ(c.daemon.batchMaxDelay, std::chrono::milliseconds(200));
  EXPECT_EQ(c.daemon.batchMaxEvents, 50);
  EXPECT_EQ(c.daemon.spoolMaxMb, 8);
  EXPECT_EQ(c.zones.params.dwellAfterMs, 25000);
  EXPECT_EQ(c.zones.params.switchMargin, Db{7});
  EXPECT_EQ(c.zones.params.switchAfterMs, 3000);
  EXPECT_EQ(c.zones.params.exitMaxMs, 15000);
  EXPECT_EQ(c.zones.params.exitMinMs, 15000);  // the local 20 s would exceed the fleet's timeout
  ASSERT_EQ(c.zones.scanners.size(), 2u);
  EXPECT_EQ(c.zones.scanners[0].id, "gw-7-hub");
  EXPECT_EQ(c.zones.scanners[0].zone, "entrance");
  EXPECT_EQ(c.zones.scanners[0].rssiOffset, Db{-2});
  EXPECT_EQ(c.zones.scanners[1].id, "gw-7-dairy");
  EXPECT_EQ(c.zones.scanners[1].zone, "dairy");
  EXPECT_EQ(c.zones.scanners[1].rssiOffset, Db{3});
  ASSERT_EQ(c.zones.beacons.size(), 2u);  // the Eddystone-UID beacon has no id a gateway forwards
  EXPECT_EQ(c.zones.beacons[0].id, "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:100:1");
  EXPECT_EQ(c.zones.beacons[0].measuredPower, Dbm{-61});
  EXPECT_EQ(c.zones.beacons[1].id, "altbeacon:2f234454cf6d4a0fadf2f4911ba9ffa600660001");
  EXPECT_EQ(c.zones.beacons[1].measuredPower, Dbm{-60});
  EXPECT_TRUE(c.daemon.ibeaconUuids.empty());
  ASSERT_EQ(c.daemon.ibeaconRanges.size(), 1u);
  EXPECT_EQ(c.daemon.ibeaconRanges[0], (IBeaconRange{kUuid, 1000, 1099, 0, 65535}));

  // The local part survives.
  EXPECT_EQ(c.zones.params.filter.kind, FilterKind::Median);
  EXPECT_EQ(c.daemon.httpPort, 0);
  EXPECT_EQ(c.daemon.spoolDir, (dir_ / "spool").string());
  EXPECT_EQ(c.daemon.secretFile, (dir_ / "key").string());

  // Accepting persisted the floor and the copy.
  EXPECT_EQ(g->floor(), 3);
  EXPECT_EQ(BundleStore(dir_ / "state").acceptedVersion().value(), 3);
  EXPECT_EQ(BundleStore(dir_ / "state").lastGood().value(), bundle("gw-7-hub", 3));
  EXPECT_FALSE(fs::exists(dir_ / "state" / "accepted-version.tmp"));
}

TEST_F(BundleGateTest, TheFobPlanIsForwardedButNotTheReservedNumbersUnderTheSameUuid) {
  auto g = gate();
  ASSERT_TRUE(g.ok());
  auto a = g->accept(bundle("gw-7-hub", 1), local_);
  ASSERT_TRUE(a.ok()) << a.message();
  PrivacyPolicy p;
  p.ibeaconRanges = a->config.daemon.ibeaconRanges;
  Advert fob;
  fob.kind = AdvertKind::IBeacon;
  fob.uuid = kUuid;
  fob.major = 1042;
  fob.minor = 7;
  Advert partner = fob;
  partner.major = 2001;
  std::string id;
  ASSERT_TRUE(beaconIdOf(fob, id));
  EXPECT_TRUE(p.allows(fob, id));
  ASSERT_TRUE(beaconIdOf(partner, id));
  EXPECT_FALSE(p.allows(partner, id));
}

TEST_F(BundleGateTest, AFlippedByteIsRefusedAndTheLastGoodConfigKeepsRunning) {
  auto g = gate();
  ASSERT_TRUE(g.ok());
  const std::string good = bundle("gw-7-hub", 2);
  ASSERT_TRUE(g->accept(good, local_).ok());
  std::string bad = bundle("gw-7-hub", 3);
  bad[bad.size() - 10] = static_cast<char>(bad[bad.size() - 10] ^ 0x20);  // inside the payload
  EXPECT_FALSE(g->accept(bad, local_).ok());
  EXPECT_EQ(g->floor(), 2);
  EXPECT_EQ(BundleStore(dir_ / "state").lastGood().value(), good);

  // At a start with the corrupted file in place, the state directory's copy runs.
  auto restarted = gate();
  ASSERT_TRUE(restarted.ok());
  auto a = restarted->start(bad, local_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->fromLastGood);
  EXPECT_EQ(a->version, 2);
  EXPECT_FALSE(a->refusal.empty());
  EXPECT_EQ(a->config.daemon.storeId, 7);
}

TEST_F(BundleGateTest, AnOlderBundleIsRefusedAfterANewerOneAlsoAcrossARestart) {
  {
    auto g = gate();
    ASSERT_TRUE(g.ok());
    ASSERT_TRUE(g->accept(bundle("gw-7-hub", 5), local_).ok());
    auto older = g->accept(bundle("gw-7-hub", 4), local_);
    ASSERT_FALSE(older.ok());
    EXPECT_NE(older.message().find("older"), std::string::npos) << older.message();
  }
  auto g = gate();  // a restart: the floor comes back from the state directory
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->floor(), 5);
  EXPECT_FALSE(g->accept(bundle("gw-7-hub", 4), local_).ok());
  auto a = g->start(bundle("gw-7-hub", 4), local_);
  ASSERT_TRUE(a.ok()) << a.message();
  EXPECT_TRUE(a->fromLastGood);
  EXPECT_EQ(a->version, 5);
  // The same version is accepted, so a restart reloads its current bundle; newer moves the floor.
  EXPECT_TRUE(g->accept(bundle("gw-7-hub", 5), local_).ok());
  EXPECT_TRUE(g->accept(bundle("gw-7-hub", 6), local_).ok());
  EXPECT_EQ(BundleStore(dir_ / "state").acceptedVersion().value(), 6);
}

TEST_F(BundleGateTest, AnotherGatewaysBundleIsRefused) {
  auto g = gate();
  ASSERT_TRUE(g.ok());
  auto a = g->accept(bundle("gw-7-dairy", 1), local_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("gw-7-dairy"), std::string::npos) << a.message();
  EXPECT_FALSE(fs::exists(dir_ / "state"));
}

TEST_F(BundleGateTest, ABundleSignedWithAnotherKeyIsRefused) {
  auto other = PrivateKey::generate();
  ASSERT_TRUE(other.ok());
  auto g = gate();
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(g->accept(bundle("gw-7-hub", 1, &*other), local_).ok());
}

TEST_F(BundleGateTest, StartWithoutAUsableBundleOrALastGoodCopyFailsWithBothReasons) {
  auto g = gate();
  ASSERT_TRUE(g.ok());
  auto a = g->start(fail("cannot read /etc/aisleone/gateway.bundle"), local_);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.message().find("cannot read /etc/aisleone/gateway.bundle"), std::string::npos)
      << a.message();
  EXPECT_NE(a.message().find("no last good bundle"), std::string::npos) << a.message();
}

TEST_F(BundleGateTest, CheckingWithoutPersistingWritesNothing) {
  auto g = gate();
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->accept(bundle("gw-7-hub", 9), local_, /*persist=*/false).ok());
  EXPECT_FALSE(fs::exists(dir_ / "state"));
  EXPECT_EQ(g->floor(), 0);
}

TEST_F(BundleGateTest, AGarbledAcceptedVersionFileIsAnErrorNotAFloorOfZero) {
  fs::create_directories(dir_ / "state");
  std::ofstream(dir_ / "state" / "accepted-version") << "seven\n";
  auto g = gate();
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.message().find("accepted-version"), std::string::npos) << g.message();
}

TEST_F(BundleGateTest, AHubOnlyGatewayArbitratesItsStoresScannersAndTheyPostToItsAddress) {
  std::ifstream in(std::string(AISLE_SOURCE_DIR) + "/firmware-config/examples/chain.toml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto check = fwconfig::checkFleet(ss.str(), "chain.toml");
  ASSERT_TRUE(check.ok());
  auto mapped = [&](const std::string& id) -> Result<GatewayConfig> {
    for (const auto& gw : check.fleet.gateways) {
      if (gw.id != id) continue;
      auto slice = fwconfig::parsePayload(fwconfig::renderPayload(check.fleet, gw, {1, gw.id, "x"}));
      if (!slice.ok()) return fail(slice.message());
      return configFromBundle(*slice, local_);
    }
    return fail(id + " is not in the example chain");
  };
  auto hub = mapped("gw-102-hub");
  ASSERT_TRUE(hub.ok()) << hub.message();
  EXPECT_EQ(hub->daemon.lanRole, "hub");
  ASSERT_EQ(hub->zones.scanners.size(), 2u);  // the two scanners, not the hub itself
  EXPECT_EQ(hub->zones.scanners[0].id, "gw-102-bakery");
  EXPECT_EQ(hub->zones.scanners[1].zone, "beverages");
  auto scanner = mapped("gw-102-beverages");
  ASSERT_TRUE(scanner.ok()) << scanner.message();
  EXPECT_EQ(scanner->daemon.lanRole, "scanner");
  EXPECT_EQ(scanner->daemon.lanHubUrl, "http://10.1.2.10:7700");
  EXPECT_EQ(scanner->daemon.adapter, "hci1");
  auto both = mapped("gw-103");
  ASSERT_TRUE(both.ok()) << both.message();
  EXPECT_EQ(both->daemon.lanRole, "both");
  EXPECT_TRUE(both->daemon.lanHubUrl.empty());
  // The daemon checks: a hub needs the store's LAN key in its local file.
  GatewayConfig noKey = *hub;
  auto st = checkDaemonConfig(noKey);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("lan.key_file"), std::string::npos) << st.message();
  noKey.daemon.lanKeyFile = "/etc/aisleone/lan.key";
  EXPECT_TRUE(checkDaemonConfig(noKey).ok()) << checkDaemonConfig(noKey).message();
}

TEST(LocalGatewayConfig, RefusesFleetOwnedKeysWithTheirLines) {
  auto c = parseLocalGatewayConfig(
      "[gateway]\nid = \"gw\"\nstore_id = 3\n[scanner.a]\nzone = \"x\"\n[http]\nport = 0\n",
      "local.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("local.conf:3: gateway.store_id: set by the signed bundle"),
            std::string::npos)
      << c.message();
  EXPECT_NE(c.message().find("local.conf:5: scanner.a.zone: set by the signed bundle"),
            std::string::npos)
      << c.message();
}

TEST(LocalGatewayConfig, RequiresTheGatewayIdTheBundleIsSignedFor) {
  auto c = parseLocalGatewayConfig("[http]\nport = 0\n", "local.conf");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.message().find("gateway.id: required with --bundle"), std::string::npos)
      << c.message();
}

}  // namespace
}  // namespace aisle::gateway
