// The daemon binary on a fake BlueZ: it tells systemd READY=1 once discovery is armed, reports the
// adapter in /healthz, turns an advert into a spooled zone event, refuses a broken reload without
// stopping, and exits 0 on SIGTERM.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../e2e/gateway_fake_engine.h"
#include "aisle/common/http_client.h"
#include "gateway_daemon_fixture.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using testing::NotifySocket;
using testing::spawnGateway;
using testing::stopGateway;

class GatewayDaemonOnFakeBluez : public testing::FakeBluezDaemonTest {};

TEST_F(GatewayDaemonOnFakeBluez, NotifiesReadyServesHealthSpoolsEventsAndSurvivesABadReload) {

  const fs::path dir = fs::temp_directory_path() / ("aisle-gw-daemon-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef";
  const std::string config =
      "[gateway]\nid = \"gw-d\"\nstore_id = 3\n[http]\nport = 0\n"
      "[uplink]\nengine_url = \"http://127.0.0.1:9\"\nkey_id = \"k\"\nsecret_file = \"" + (dir / "key").string() +
      "\"\nbatch_max_delay = \"100ms\"\n[spool]\ndir = \"" + (dir / "spool").string() + "\"\nfsync = \"never\"\n";
  std::ofstream(dir / "gw.conf") << config;

  const std::string notifyPath = (dir / "notify").string();
  NotifySocket notify(notifyPath);
  ASSERT_TRUE(notify.bound());
  const std::string log = (dir / "gw.log").string();
  const pid_t pid = spawnGateway({"--config", (dir / "gw.conf").string()},
                                 {"DBUS_SYSTEM_BUS_ADDRESS=" + bus().address(), "NOTIFY_SOCKET=" + notifyPath},
                                 log);
  ASSERT_GT(pid, 0);

  const std::string ready = notify.receive();
  ASSERT_FALSE(ready.empty()) << readFile(log);
  EXPECT_EQ(ready.rfind("READY=1", 0), 0u) << ready;
  EXPECT_NE(ready.find("adapter discovering"), std::string::npos) << ready;

  std::uint16_t port = 0;
  ASSERT_TRUE(testing::eventually([&] {
    const std::string text = readFile(log);
    const std::string marker = "health and metrics on http://127.0.0.1:";
    const auto p = text.find(marker);
    if (p != std::string::npos) port = static_cast<std::uint16_t>(std::stoi(text.substr(p + marker.size())));
    return port != 0;
  }));
  auto health = [&] {
    auto r = http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/healthz", {}, "", 2s);
    return r ? r->body : std::string();
  };
  EXPECT_NE(health().find("\"adapter\":\"discovering\""), std::string::npos) << health();

  const std::string dev = bluez().addDevice("hci0", "C0:FF:EE:00:00:09");
  bluez().emitAdvert(dev, testing::eidAdvert(0x09, -50));
  EXPECT_TRUE(testing::eventually([&] { return health().find("\"events_spooled\":1") != std::string::npos; }))
      << health() << readFile(log);

  std::ofstream(dir / "gw.conf") << config << "[bogus]\nkey = 1\n";
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(testing::eventually([&] { return readFile(log).find("reload refused") != std::string::npos; }));
  EXPECT_NE(health().find("\"adapter\":\"discovering\""), std::string::npos) << health();

  EXPECT_EQ(stopGateway(pid), 0) << readFile(log);
  EXPECT_EQ(readFile(log).find("C0:FF"), std::string::npos);
  EXPECT_EQ(readFile(log).find("C0_FF"), std::string::npos);
  fs::remove_all(dir);
}

// A fixed iBeacon that interleaves Eddystone-TLM: its battery and temperature reach /healthz,
// /metrics and the signed heartbeat to the engine.
TEST_F(GatewayDaemonOnFakeBluez, ReportsAFixedBeaconsTelemetryLocallyAndInTheHeartbeat) {
  testing::FakeEngine engine(0, "gw-t", 3);

  const fs::path dir = fs::temp_directory_path() / ("aisle-gw-tlm-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "key") << testing::kSecret;
  std::ofstream(dir / "gw.conf")
      << "[gateway]\nid = \"gw-t\"\nstore_id = 3\n[http]\nport = 0\n"
      << "[beacon.entrance]\nid = \"ibeacon:F7826DA6-4FA2-4E98-8024-BC5B71E0893E:101:1\"\n"
      << "[uplink]\nengine_url = \"http://127.0.0.1:" << engine.port() << "\"\nkey_id = \"" << testing::kKeyId
      << "\"\nsecret_file = \"" << (dir / "key").string() << "\"\nbatch_max_delay = \"100ms\"\n"
      << "[heartbeat]\ninterval = \"300ms\"\n"
      << "[spool]\ndir = \"" << (dir / "spool").string() << "\"\nfsync = \"never\"\n";

  const std::string log = (dir / "gw.log").string();
  const pid_t pid =
      spawnGateway({"run", "--config", (dir / "gw.conf").string()}, {"DBUS_SYSTEM_BUS_ADDRESS=" + bus().address()}, log);
  ASSERT_GT(pid, 0);

  std::uint16_t port = 0;
  ASSERT_TRUE(testing::eventually([&] {
    const std::string text = readFile(log);
    const std::string marker = "health and metrics on http://127.0.0.1:";
    const auto p = text.find(marker);
    if (p != std::string::npos) port = static_cast<std::uint16_t>(std::stoi(text.substr(p + marker.size())));
    return port != 0 && text.find("adapter state: discovering") != std::string::npos;
  })) << readFile(log);
  auto get = [&](const std::string& path) {
    auto r = http::request("GET", "http://127.0.0.1:" + std::to_string(port) + path, {}, "", 2s);
    return r ? r->body : std::string();
  };

  const std::vector<std::uint8_t> ibeacon{0x02, 0x15, 0xF7, 0x82, 0x6D, 0xA6, 0x4F, 0xA2, 0x4E, 0x98, 0x80, 0x24,
                                          0xBC, 0x5B, 0x71, 0xE0, 0x89, 0x3E, 0x00, 0x65, 0x00, 0x01, 0xC5};
  // TLM v0: 2950 mV, 4.5 C (a chiller aisle).
  const std::vector<std::uint8_t> tlm{0x20, 0x00, 0x0B, 0x86, 0x04, 0x80, 0, 0, 0, 9, 0, 0, 0, 7};
  const std::string dev = bluez().addDevice("hci0", "C0:FF:EE:00:00:0A");
  std::map<std::uint16_t, sdbus::Variant> mfg{{0x004C, sdbus::Variant(ibeacon)}};
  std::map<std::string, sdbus::Variant> service{{"0000feaa-0000-1000-8000-00805f9b34fb", sdbus::Variant(tlm)}};
  bluez().emitAdvert(dev, {{"RSSI", sdbus::Variant(std::int16_t{-55})},
                         {"ManufacturerData", sdbus::Variant(mfg)},
                         {"ServiceData", sdbus::Variant(service)}});

  const std::string id = "ibeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e:101:1";
  const std::string expected = "{\"beacon\":\"" + id + "\",\"battery_mv\":2950,\"temperature_c\":4.5";
  EXPECT_TRUE(testing::eventually([&] { return get("/healthz").find(expected) != std::string::npos; }))
      << get("/healthz") << readFile(log);
  const std::string metrics = get("/metrics");
  EXPECT_NE(metrics.find("aisle_gateway_beacon_battery_mv{beacon=\"" + id + "\"} 2950"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("aisle_gateway_beacon_temperature_celsius{beacon=\"" + id + "\"} 4.5"), std::string::npos)
      << metrics;
  EXPECT_TRUE(testing::eventually([&] {
    for (const auto& hb : engine.heartbeats()) {
      if (hb.gatewayId == "gw-t" && hb.body.find(expected) != std::string::npos) return true;
    }
    return false;
  })) << readFile(log);

  EXPECT_EQ(stopGateway(pid), 0) << readFile(log);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aisle::gateway
