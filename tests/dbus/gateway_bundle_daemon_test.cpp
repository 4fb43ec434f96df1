// The daemon binary started from a signed fleet bundle on a fake BlueZ: READY=1 with the bundle's
// configuration, a corrupted bundle on SIGHUP is refused while the gateway keeps running, a newer
// one is applied and becomes the state directory's floor, and a restart with an older bundle runs
// the last good one.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "aisle/common/http_client.h"
#include "aisle/fwconfig/bundle.h"
#include "gateway_daemon_fixture.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kFleet = R"(schema = 1
[chain]
name = "Bus Test"
[uplink]
engine_url = "http://127.0.0.1:9"
allow_plain_http = true
batch_max_delay = "100ms"
[[stores]]
id = 5
name = "Five"
time_zone = "UTC"
[[zones]]
id = 501
store = 5
name = "shop"
[[gateways]]
id = "gw-5"
store = 5
role = "both"
zone = "shop"
key_id = "gw-5-k1"
)";

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

using testing::LogMode;
using testing::NotifySocket;
using testing::spawnGateway;
using testing::stopGateway;

class GatewayDaemonWithBundle : public testing::FakeBluezDaemonTest {};

TEST_F(GatewayDaemonWithBundle,
       RunsTheSignedBundleRefusesACorruptReloadAndKeepsTheFloorAcrossARestart) {
  std::string tmpl = (fs::temp_directory_path() / "aisle-gw-bundle-bus-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;

  auto check = fwconfig::checkFleet(kFleet, "fleet.toml");
  ASSERT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems.front().str());
  auto key = fwconfig::PrivateKey::generate();
  ASSERT_TRUE(key.ok()) << key.message();
  auto render = [&](std::int64_t version) {
    return fwconfig::signBundle(fwconfig::renderPayload(check.fleet, check.fleet.gateways.front(),
                                                        {version, "gw-5", "b05"}),
                                *key);
  };
  writeFile(dir / "fleet-signing.pub", key->publicKey().pem());
  writeFile(dir / "gateway.bundle", render(2));
  writeFile(dir / "key", "0123456789abcdef0123456789abcdef");
  writeFile(dir / "local.conf",
            "[gateway]\nid = \"gw-5\"\n[http]\nport = 0\n[uplink]\nsecret_file = \"" +
                (dir / "key").string() + "\"\n[spool]\ndir = \"" + (dir / "spool").string() +
                "\"\nfsync = \"never\"\n");

  const std::vector<std::string> args{"run",
                                      "--config",
                                      (dir / "local.conf").string(),
                                      "--bundle",
                                      (dir / "gateway.bundle").string(),
                                      "--pubkey",
                                      (dir / "fleet-signing.pub").string(),
                                      "--state-dir",
                                      (dir / "state").string()};
  const std::string log = (dir / "gw.log").string();
  const std::string notifyPath = (dir / "notify").string();
  const std::vector<std::string> env{"DBUS_SYSTEM_BUS_ADDRESS=" + bus().address(),
                                     "NOTIFY_SOCKET=" + notifyPath};

  {
    NotifySocket notify(notifyPath);
    ASSERT_TRUE(notify.bound());
    const pid_t pid = spawnGateway(args, env, log, LogMode::kAppend);
    ASSERT_GT(pid, 0);
    const std::string ready = notify.receive();
    ASSERT_EQ(ready.rfind("READY=1", 0), 0u) << ready << readFile(log);
    EXPECT_NE(readFile(log).find("bundle version 2"), std::string::npos) << readFile(log);
    EXPECT_EQ(readFile(dir / "state" / "accepted-version"), "2\n");

    // A corrupted bundle: refused, the gateway keeps running version 2.
    std::string bad = render(3);
    bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 0x01);
    writeFile(dir / "gateway.bundle", bad);
    ::kill(pid, SIGHUP);
    EXPECT_TRUE(testing::eventually([&] {
      return readFile(log).find("reload refused") != std::string::npos;
    })) << readFile(log);
    EXPECT_EQ(readFile(dir / "state" / "accepted-version"), "2\n");

    // A newer signed bundle: applied and persisted as the floor.
    writeFile(dir / "gateway.bundle", render(4));
    ::kill(pid, SIGHUP);
    EXPECT_TRUE(testing::eventually([&] {
      return readFile(log).find("configuration reloaded from " + (dir / "gateway.bundle").string() +
                                " (bundle version 4") != std::string::npos;
    })) << readFile(log);
    EXPECT_EQ(readFile(dir / "state" / "accepted-version"), "4\n");
    EXPECT_EQ(stopGateway(pid), 0) << readFile(log);
  }

  // A restart with an older (validly signed) bundle: refused, the last good version 4 runs.
  writeFile(dir / "gateway.bundle", render(3));
  {
    NotifySocket notify(notifyPath);
    ASSERT_TRUE(notify.bound());
    const pid_t pid = spawnGateway(args, env, log, LogMode::kAppend);
    ASSERT_GT(pid, 0);
    const std::string ready = notify.receive();
    ASSERT_EQ(ready.rfind("READY=1", 0), 0u) << ready << readFile(log);
    const std::string text = readFile(log);
    EXPECT_NE(text.find("rollback refused"), std::string::npos) << text;
    EXPECT_NE(text.find("running the last good bundle, version 4"), std::string::npos) << text;
    EXPECT_EQ(stopGateway(pid), 0) << readFile(log);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace aisle::gateway
