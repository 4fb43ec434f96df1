// The gateway daemon (the real binary, source.kind = "sightings") against a fake engine built
// from the common HTTP server that verifies the HMAC signature: while the engine is down the
// events pile up in the spool, when it returns every event arrives, in order, none lost; a
// SIGKILL of the gateway in the middle of the outage loses nothing that was spooled.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "aisle/common/clock.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/gateway/config.h"
#include "aisle/gateway/replay.h"
#include "gateway_fake_engine.h"
#include "gateway_process.h"

extern char** environ;

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using testing::eventIdsIn;
using testing::FakeEngine;
using testing::kKeyId;
using testing::kSecret;

using testing::eventually;
using testing::GatewayProcess;

// Beacons wandering between two scanners, heard once a second per visit, with gaps long enough
// for exits: a few hundred enter/dwell/exit events in a few simulated hours.
std::string makeSightings(std::uint32_t seed, int beacons, std::int64_t startMs) {
  std::mt19937 rng(seed);
  struct Row {
    std::int64_t t;
    std::string line;
  };
  std::vector<Row> rows;
  for (int b = 0; b < beacons; ++b) {
    char id[32];
    std::snprintf(id, sizeof id, "eid:%08x%08x", seed, static_cast<unsigned>(b));
    std::int64_t t = startMs + static_cast<std::int64_t>(rng() % 60000);
    for (int visit = 0; visit < 2; ++visit) {
      const int seconds = 20 + static_cast<int>(rng() % 60);
      const bool nearS1 = rng() % 2 == 0;
      for (int s = 0; s < seconds; ++s, t += 1000) {
        for (const char* scanner : {"s1", "s2"}) {
          const int rssi = (scanner[1] == '1') == nearS1 ? -58 : -82;
          rows.push_back({t, std::string("{\"scanner\":\"") + scanner + "\",\"beacon\":\"" + id +
                                 "\",\"rssi\":" + std::to_string(rssi) + ",\"t_ms\":" + std::to_string(t) + "}"});
        }
      }
      t += 200000;  // long enough for an exit before the next visit
    }
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.t < b.t; });
  std::string out;
  for (const Row& r : rows) out += r.line + "\n";
  return out;
}

// The events the daemon must emit: the same tracker over the same sightings and configuration.
std::vector<std::string> expectedEventIds(const fs::path& config, const std::string& sightings) {
  auto cfg = loadGatewayConfig(config.string());
  EXPECT_TRUE(cfg) << cfg.message();
  struct Sink final : ZoneEventSink {
    std::vector<std::string> ids;
    void onZoneEvent(const ZoneEvent& e) override {
      std::string json;
      appendZoneEventJson(e, json);
      ids.push_back(eventIdsIn(json).front());
    }
  } sink;
  ZoneTracker tracker(cfg->zones, sink);
  SightingParser parser;
  std::istringstream in(sightings);
  std::string line;
  Sighting s;
  while (std::getline(in, line)) {
    if (!parser.parse(line, s)) tracker.onSighting(s.scanner, s.beacon, s.rssi, s.tMs);
  }
  return sink.ids;
}

// First occurrences in arrival order: at-least-once delivery may repeat a batch, never reorder.
std::vector<std::string> dedupe(const std::vector<std::string>& ids) {
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (const auto& id : ids)
    if (seen.insert(id).second) out.push_back(id);
  return out;
}

class GatewayUplink : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("aisle-gw-uplink-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "uplink.key") << kSecret << "\n";
    if (!fs::exists(std::string(AISLE_BINARY_DIR) + "/gateway/aisleone-gateway")) {
      GTEST_SKIP() << "aisleone-gateway not built";
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path writeConfig(const std::string& name, std::uint16_t enginePort, const fs::path& sightings,
                       const std::string& extra = "") {
    const fs::path p = dir_ / name;
    std::ofstream(p) << "[gateway]\nid = \"gw-e2e\"\nstore_id = 7\n"
                     << "[source]\nkind = \"sightings\"\nsightings = \"" << sightings.string() << "\"\n"
                     << "[http]\nport = 0\n"
                     << "[uplink]\nengine_url = \"http://127.0.0.1:" << enginePort << "\"\nkey_id = \"" << kKeyId
                     << "\"\nsecret_file = \"" << (dir_ / "uplink.key").string() << "\"\n"
                     << "batch_max_delay = \"200ms\"\nretry_initial = \"20ms\"\nretry_max = \"200ms\"\ntimeout = \"2s\"\n"
                     << "[spool]\ndir = \"" << (dir_ / "spool").string() << "\"\nmax_mb = 4\nfsync = \"never\"\n"
                     << extra;
    return p;
  }
  fs::path writeSightings(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p;
  }

  fs::path dir_;
  const std::int64_t startMs_ = SystemClock().nowUnixMs() - 3 * 3600 * 1000;
};

TEST_F(GatewayUplink, EveryEventArrivesInOrderAfterAnEngineOutage) {
  FakeEngine engine;
  engine.setDown(true);
  const std::string text = makeSightings(1, 40, startMs_);
  const fs::path sightings = writeSightings("a.jsonl", text);
  const fs::path config = writeConfig("gw.conf", engine.port(), sightings);
  const auto expected = expectedEventIds(config, text);
  ASSERT_GT(expected.size(), 150u);

  GatewayProcess gw(config, dir_ / "gw.log");
  ASSERT_TRUE(eventually([&] { return gw.healthNumber("events_spooled") == static_cast<long>(expected.size()); }, 30s))
      << gw.health() << "\n" << gw.logText();
  // The outage is real: the gateway keeps trying and the spool holds the batches.
  ASSERT_TRUE(eventually([&] { return engine.requests() >= 3; }, 30s));
  EXPECT_GT(gw.healthNumber("spool_depth_records"), 0);
  EXPECT_NE(gw.health().find("\"uplink\":\"retrying\""), std::string::npos) << gw.health();
  EXPECT_TRUE(engine.received().empty());

  engine.setDown(false);
  ASSERT_TRUE(eventually([&] { return dedupe(engine.received()).size() >= expected.size(); }, 30s))
      << engine.received().size() << " of " << expected.size() << "\n" << gw.logText();
  EXPECT_EQ(dedupe(engine.received()), expected);
  EXPECT_EQ(engine.badBodies(), 0);
  EXPECT_TRUE(eventually([&] { return gw.healthNumber("spool_depth_records") == 0; }, 30s)) << gw.health();
  EXPECT_EQ(gw.healthNumber("spool_dropped"), 0);

  const int status = gw.kill(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << "\n" << gw.logText();
}

TEST_F(GatewayUplink, AGatewayKilledDuringTheOutageLosesNothingItHadSpooled) {
  // The engine is not even listening during the outage (connection refused), then comes back on
  // the same port.
  std::uint16_t port = 0;
  {
    FakeEngine probe;
    port = probe.port();
    probe.stop();
  }
  const std::string textA = makeSightings(2, 30, startMs_);
  const std::string textB = makeSightings(3, 30, startMs_ + 2 * 3600 * 1000);
  const fs::path configA = writeConfig("a.conf", port, writeSightings("a.jsonl", textA));
  const fs::path configB = writeConfig("b.conf", port, writeSightings("b.jsonl", textB));
  const auto expectedA = expectedEventIds(configA, textA);
  const auto expectedB = expectedEventIds(configB, textB);

  {
    GatewayProcess gw(configA, dir_ / "a.log");
    ASSERT_TRUE(eventually([&] { return gw.healthNumber("events_spooled") == static_cast<long>(expectedA.size()); }, 30s))
        << gw.health() << "\n" << gw.logText();
    const int status = gw.kill(SIGKILL);
    ASSERT_TRUE(WIFSIGNALED(status));
  }
  GatewayProcess gw(configB, dir_ / "b.log");
  ASSERT_TRUE(eventually([&] { return gw.healthNumber("events_spooled") == static_cast<long>(expectedB.size()); }, 30s))
      << gw.health() << "\n" << gw.logText();

  FakeEngine engine(port);
  std::vector<std::string> expected = expectedA;
  expected.insert(expected.end(), expectedB.begin(), expectedB.end());
  ASSERT_TRUE(eventually([&] { return dedupe(engine.received()).size() >= expected.size(); }, 30s))
      << engine.received().size() << " of " << expected.size() << "\n" << gw.logText();
  EXPECT_EQ(dedupe(engine.received()), expected);
  EXPECT_EQ(gw.kill(SIGTERM), 0);
}

TEST_F(GatewayUplink, SignedHeartbeatsCarryTheHealthAndAHungHeartbeatNeverDelaysEvents) {
  FakeEngine engine;
  const fs::path sightings = writeSightings("a.jsonl", "");
  const fs::path config = writeConfig("gw.conf", engine.port(), sightings, "[heartbeat]\ninterval = \"300ms\"\n");
  GatewayProcess gw(config, dir_ / "gw.log");
  // One at start, then one per interval; each passed the engine's HMAC check to be recorded.
  ASSERT_TRUE(eventually([&] { return engine.heartbeats().size() >= 3; }, 30s)) << gw.logText();
  for (const auto& hb : engine.heartbeats()) {
    EXPECT_EQ(hb.gatewayId, "gw-e2e");
    for (const char* field : {"\"gateway_id\":\"gw-e2e\"", "\"adapter\":\"discovering\"", "\"adverts_per_s\":",
                              "\"spool_depth_records\":0", "\"spool_dropped\":0", "\"fixed_beacons_tlm\":[]"}) {
      EXPECT_NE(hb.body.find(field), std::string::npos) << field << " missing in " << hb.body;
    }
  }

  // The engine's heartbeat endpoint hangs; events must still flow on their own connection.
  engine.holdHeartbeats(true);
  const int started = engine.heartbeatsStarted();
  ASSERT_TRUE(eventually([&] { return engine.heartbeatsStarted() > started; }, 30s));
  const std::string text = makeSightings(4, 20, startMs_);
  const auto expected = expectedEventIds(config, text);
  ASSERT_GT(expected.size(), 50u);
  std::ofstream(sightings, std::ios::app) << text;
  ASSERT_TRUE(eventually([&] { return dedupe(engine.received()).size() >= expected.size(); }, 30s))
      << engine.received().size() << " of " << expected.size() << "\n" << gw.logText();
  EXPECT_EQ(dedupe(engine.received()), expected);
  EXPECT_EQ(engine.heartbeatsStarted(), started + 1);  // latest wins: no pile-up behind the hung one
  engine.holdHeartbeats(false);
  const std::size_t before = engine.heartbeats().size();
  EXPECT_TRUE(eventually([&] { return engine.heartbeats().size() > before + 1; }, 30s));
  EXPECT_EQ(gw.kill(SIGTERM), 0) << gw.logText();
}

}  // namespace
}  // namespace aisle::gateway
