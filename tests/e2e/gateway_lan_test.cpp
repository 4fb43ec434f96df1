// Scanner -> hub over the LAN with two real gateway processes on 127.0.0.1: the scanner (its
// sightings from a tailed file, lan.role = "scanner") summarises and signs; the hub
// (lan.role = "hub", no radio) verifies, feeds its zone tracker and sends the zone events to a fake
// engine. A badly signed or mislabelled request is refused, and a killed scanner's beacon leaves
// its zone on the hub.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "aisle/common/hmac.h"
#include "aisle/common/http_client.h"
#include "gateway_fake_engine.h"
#include "gateway_process.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::eventually;
using testing::FakeEngine;
using testing::GatewayProcess;

constexpr const char* kLanKey = "store-7-lan-key-0123456789abcdef";
constexpr const char* kBeacon = "eid:00112233445566aa";

class GatewayLan : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aisle-gw-lan-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "uplink.key") << testing::kSecret << "\n";
    std::ofstream(dir_ / "lan.key") << kLanKey << "\n";
    if (!fs::exists(std::string(AISLE_BINARY_DIR) + "/gateway/aisleone-gateway")) {
      GTEST_SKIP() << "aisleone-gateway not built";
    }
  }
  void TearDown() override {
    stopFeeding();
    fs::remove_all(dir_);
  }

  fs::path writeConfig(const std::string& id, const std::string& extra, std::uint16_t enginePort) {
    const fs::path p = dir_ / (id + ".conf");
    std::ofstream(p) << "[gateway]\nid = \"" << id << "\"\nstore_id = 7\n[http]\nport = 0\n"
                     << "[scanner.s1]\nzone = \"dairy\"\n[scanner.hub]\nzone = \"checkout\"\n"
                     << "[zones]\nscanner_silence = \"2s\"\nexit_min = \"2s\"\n"
                     << "[uplink]\nengine_url = \"http://127.0.0.1:" << enginePort << "\"\nkey_id = \""
                     << testing::kKeyId << "\"\nsecret_file = \"" << (dir_ / "uplink.key").string() << "\"\n"
                     << "batch_max_delay = \"100ms\"\nretry_initial = \"20ms\"\nretry_max = \"200ms\"\n"
                     << "[heartbeat]\ninterval = \"0s\"\n"
                     << "[spool]\ndir = \"" << (dir_ / (id + "-spool")).string() << "\"\nfsync = \"never\"\n"
                     << "[lan]\nkey_file = \"" << (dir_ / "lan.key").string() << "\"\ninterval = \"250ms\"\n" << extra;
    return p;
  }

  // The scanner's radio: one sighting of the beacon every 100 ms, appended to its tailed file.
  void startFeeding(const fs::path& file) {
    feeding_ = true;
    feeder_ = std::thread([this, file] {
      std::int64_t t = 1'700'000'000'000;
      while (feeding_) {
        std::ofstream(file, std::ios::app) << "{\"scanner\":\"s1\",\"beacon\":\"" << kBeacon << "\",\"rssi\":-58,\"t_ms\":"
                                           << (t += 100) << "}\n";
        std::this_thread::sleep_for(100ms);
      }
    });
  }
  void stopFeeding() {
    feeding_ = false;
    if (feeder_.joinable()) feeder_.join();
  }

  static Result<http::ClientResponse> post(std::uint16_t port, const std::string& keyId, const std::string& key,
                                     const std::string& body) {
    SystemClock clock;
    RequestSigner signer(keyId, key, clock);
    const std::string auth = signer.sign("POST", "/v1/lan/sightings", body);
    return http::request("POST", "http://127.0.0.1:" + std::to_string(port) + "/v1/lan/sightings",
                         {{"Authorization", auth}}, body, 2s);
  }

  fs::path dir_;
  std::atomic<bool> feeding_{false};
  std::thread feeder_;
};

bool hasEvent(const std::vector<std::string>& bodies, const std::string& type, const std::string& zone) {
  const std::string a = "\"type\":\"" + type + "\",\"zone\":\"" + zone + "\",\"beacon\":\"" + kBeacon + "\"";
  for (const auto& b : bodies) {
    if (b.find(a) != std::string::npos) return true;
  }
  return false;
}

TEST_F(GatewayLan, AScannersSummariesDriveTheHubsZonesAndItsDeathEndsThePresence) {
  FakeEngine engine(0, "hub", 7);
  GatewayProcess hub(writeConfig("hub", "role = \"hub\"\n", engine.port()), dir_ / "hub.log");
  const std::uint16_t hubPort = hub.healthPort();
  ASSERT_NE(hubPort, 0) << hub.logText();
  EXPECT_TRUE(eventually([&] { return hub.health().find("\"adapter\":\"not-scanning\"") != std::string::npos; }, 30s))
      << hub.health();

  const fs::path sightings = dir_ / "s1.jsonl";
  std::ofstream(sightings) << "";
  const std::string scannerRole = "role = \"scanner\"\nhub_url = \"http://127.0.0.1:" + std::to_string(hubPort) + "\"\n"
                                  "[source]\nkind = \"sightings\"\nsightings = \"" + sightings.string() + "\"\n";
  GatewayProcess scanner(writeConfig("s1", scannerRole, engine.port()), dir_ / "s1.log");
  startFeeding(sightings);

  // The hub, not the scanner, emits the enter: the scanner's events would be signed by "s1" (the
  // fake engine accepts only the hub's batches).
  ASSERT_TRUE(eventually([&] { return hasEvent(engine.bodies(), "enter", "dairy"); }, 30s))
      << hub.logText() << "\n---\n" << scanner.logText();
  EXPECT_EQ(engine.badBodies(), 0);
  EXPECT_NE(scanner.health().find("\"lan_hub\":\"ok\""), std::string::npos) << scanner.health();

  // The scanner dies: no more summaries or heartbeats. The hub must not keep the beacon in dairy.
  stopFeeding();
  scanner.kill(SIGKILL);
  EXPECT_TRUE(eventually([&] {
    return hasEvent(engine.bodies(), "exit", "dairy") || hasEvent(engine.bodies(), "enter", "unknown");
  }, 30s)) << hub.logText();
  EXPECT_EQ(hub.kill(SIGTERM), 0) << hub.logText();
}

TEST_F(GatewayLan, TheHubRefusesBadSignaturesUnknownScannersAndLinesForAnotherScanner) {
  FakeEngine engine(0, "hub", 7);
  GatewayProcess hub(writeConfig("hub", "role = \"hub\"\n", engine.port()), dir_ / "hub.log");
  const std::uint16_t port = hub.healthPort();
  ASSERT_NE(port, 0) << hub.logText();
  const std::string line = std::string("{\"scanner\":\"s1\",\"beacon\":\"") + kBeacon + "\",\"rssi\":-60,\"t_ms\":1}\n";

  auto wrongKey = post(port, "s1", "not-the-store-lan-key-000000000", line);
  ASSERT_TRUE(wrongKey) << wrongKey.message();
  EXPECT_EQ(wrongKey->status, 401);
  auto unknownScanner = post(port, "s9", kLanKey, line);
  ASSERT_TRUE(unknownScanner);
  EXPECT_EQ(unknownScanner->status, 401);
  auto unsigned_ = http::request("POST", "http://127.0.0.1:" + std::to_string(port) + "/v1/lan/sightings", {}, line, 2s);
  ASSERT_TRUE(unsigned_);
  EXPECT_EQ(unsigned_->status, 401);
  // Signed by s1, but speaking for the hub's own scanner: refused as a whole.
  auto impostor = post(port, "s1", kLanKey, std::string("{\"scanner\":\"hub\",\"beacon\":\"") + kBeacon + "\",\"rssi\":-40,\"t_ms\":1}\n");
  ASSERT_TRUE(impostor);
  EXPECT_EQ(impostor->status, 400);
  // Nothing of the refused requests reached the tracker; a good one does.
  EXPECT_NE(hub.health().find("\"beacons_tracked\":0"), std::string::npos) << hub.health();
  auto good = post(port, "s1", kLanKey, line);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
  EXPECT_TRUE(eventually([&] { return hasEvent(engine.bodies(), "enter", "dairy"); }, 30s)) << hub.logText();
  EXPECT_EQ(hub.kill(SIGTERM), 0);
}

}  // namespace
}  // namespace aisle::gateway
