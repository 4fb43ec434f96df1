// End to end on the real Raspberry Pi scanner runs: the shared converter turns each run into
// sightings, `replay` (in-process, default configuration) turns them into zone events, and the
// shared independent scorer (tools/zone_score.py) measures them against the annotated truth. The
// asserted figures are the scorer's own.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "aisle/gateway/replay.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;

fs::path datasetsDir() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) return env;
  return fs::path(AISLE_SOURCE_DIR) / ".." / "shared" / "datasets";
}

std::string capture(const std::string& command, int& status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  status = pclose(p);
  return out;
}

std::string quoted(const fs::path& p) { return "'" + p.string() + "'"; }

// Prints "beacon right changes_per_hour" for every beacon the annotation says stayed in one room.
constexpr const char* kExtract =
    "import json,sys\n"
    "d=json.load(sys.stdin)\n"
    "if 'error' in d: print('ERROR', d['error']); sys.exit(0)\n"
    "for sec in ('stationary','stationary_heartbeat'):\n"
    "  for b,v in sorted(d[sec]['per_beacon'].items()):\n"
    "    print(b, v['right'] if v['right'] is not None else -1, v['changes_per_hour'] or 0)\n";

class GatewayReplayOnScannerRuns : public ::testing::TestWithParam<const char*> {};

TEST_P(GatewayReplayOnScannerRuns, StationaryBeaconsStayInTheirRoomWithFewZoneChanges) {
  const std::string run = GetParam();
  const fs::path data = datasetsDir() / "ble-scanner-runs";
  const fs::path tools = datasetsDir() / ".." / "tools";
  const fs::path python = "/usr/bin/python3";
  if (!fs::exists(data / (run + ".json.gz")) || !fs::exists(data / "truth" / (run + ".json"))) {
    GTEST_SKIP() << "scanner run " << run << " not found under " << data << " (set AISLE_DATASETS)";
  }
  if (!fs::exists(tools / "zone_score.py") || !fs::exists(tools / "scanner_runs_to_sightings.py")) {
    GTEST_SKIP() << "shared tools not found under " << tools;
  }
  if (!fs::exists(python)) GTEST_SKIP() << "/usr/bin/python3 not installed: cannot run the scorer";

  const fs::path dir = fs::temp_directory_path() / ("gw-e2e-" + run + "-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path sightings = dir / "sightings.jsonl";
  const fs::path events = dir / "events.jsonl";
  int status = 0;
  capture(quoted(python) + " " + quoted(tools / "scanner_runs_to_sightings.py") + " " +
              quoted(data / (run + ".json.gz")) + " -o " + quoted(sightings) + " 2>&1",
          status);
  ASSERT_EQ(status, 0) << "converter failed";
  {
    std::ifstream in(sightings);
    std::ofstream out(events);
    const ReplayResult r = runReplay(in, out, ZoneSetup{});
    EXPECT_EQ(r.malformed, 0u) << r.firstError;
    EXPECT_GT(r.sightings, 10'000u);
  }
  std::ofstream(dir / "extract.py") << kExtract;
  const std::string scored =
      capture(quoted(python) + " " + quoted(tools / "zone_score.py") + " " +
                  quoted(data / "truth" / (run + ".json")) + " " + quoted(events) +
                  " --sightings " + quoted(sightings) + " | " + quoted(python) + " " +
                  quoted(dir / "extract.py"),
              status);
  ASSERT_EQ(status, 0) << scored;
  ASSERT_EQ(scored.find("ERROR"), std::string::npos) << scored;
  std::istringstream lines(scored);
  std::string beacon;
  double right = 0, changesPerHour = 0;
  int beacons = 0;
  while (lines >> beacon >> right >> changesPerHour) {
    ++beacons;
    EXPECT_GE(right, 0.95) << run << " " << beacon << " placed in its room only " << right;
    EXPECT_LE(changesPerHour, 6.0) << run << " " << beacon << " changes zone " << changesPerHour
                                   << " times an hour (goal: at most one per 10 minutes)";
    std::printf("%s %s right=%.4f changes_per_hour=%.2f\n", run.c_str(), beacon.c_str(), right,
                changesPerHour);
  }
  EXPECT_GE(beacons, 3) << scored;
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(AllRuns, GatewayReplayOnScannerRuns,
                         ::testing::Values("TwoScannersRun_1-2015-03-02",
                                           "TwoScannersRun_1-2015-03-03",
                                           "FourScannersRun_1-2015-03-07"),
                         [](const auto& param) {
                           std::string n = param.param;
                           for (char& c : n)
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace aisle::gateway
