// The command line as users and tools see it: streams in, JSON lines out, exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include <algorithm>

#include "aisle/gateway/cli.h"
#include "gateway_test_support.h"

namespace aisle::gateway {
namespace {

struct Run {
  int rc;
  std::string out;
  std::string err;
};

Run run(const std::vector<std::string>& args, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out, err;
  const int rc = runCli(args, in, out, err);
  return {rc, out.str(), err.str()};
}

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

TEST(GatewayCli, DecodeWritesExactlyOneObjectPerInputLineInOrder) {
  const auto r = run({"decode"},
                     "0201061aff4c0002154142434445464748494041424344454600010002f8\n"
                     "\n"
                     "not hex\n"
                     "0201060303aafe0d16aafe30e34549445f74657374\n");
  EXPECT_EQ(r.rc, 0);
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 4u) << r.out;
  EXPECT_EQ(testing::flatJson(l[0])["kind"], "ibeacon");
  EXPECT_EQ(l[1], "{\"kind\":\"none\"}");
  EXPECT_EQ(testing::flatJson(l[2])["kind"], "none");
  EXPECT_EQ(testing::flatJson(l[2])["error"], "odd number of hex digits");
  EXPECT_EQ(testing::flatJson(l[3])["kind"], "eddystone-eid");
}

TEST(GatewayCli, DecodeOfAnEmptyStreamWritesNothing) {
  const auto r = run({"decode"}, "");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "");
}

TEST(GatewayCli, ReplayReadsSightingsAndWritesZoneEvents) {
  std::string input;
  for (int i = 0; i < 50; ++i) {
    input += "{\"scanner\":\"Room201\",\"beacon\":\"b1\",\"rssi\":-60,\"t_ms\":" +
             std::to_string(1000 + i * 100) + "}\n";
    input += "{\"scanner\":\"Room202\",\"beacon\":\"b1\",\"rssi\":-85,\"t_ms\":" +
             std::to_string(1000 + i * 100) + "}\n";
  }
  input += "this is not json\n";
  const auto r = run({"replay", "--input", "-"}, input);
  EXPECT_EQ(r.rc, 0) << r.err;
  const auto l = lines(r.out);
  ASSERT_EQ(l.size(), 2u) << r.out;  // enter, then the exit at the end of input
  auto enter = testing::flatJson(l[0]);
  EXPECT_EQ(enter["type"], "enter");
  EXPECT_EQ(enter["zone"], "Room201");
  EXPECT_EQ(enter["beacon"], "b1");
  EXPECT_EQ(enter["t_ms"], "1000");
  EXPECT_EQ(enter["event_id"].size(), 16u);
  EXPECT_EQ(testing::flatJson(l[1])["type"], "exit");
  EXPECT_NE(r.err.find("1 malformed line"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 101"), std::string::npos) << r.err;
}

TEST(GatewayCli, ReplayWithConfigUsesItsZones) {
  const auto dir = std::filesystem::temp_directory_path() / ("gw-cli-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto conf = (dir / "gw.conf").string();
  std::ofstream(conf) << "[scanner.Room201]\nzone = \"dairy\"\n";
  const auto r = run({"replay", "--config", conf, "--input", "-"},
                     "{\"scanner\":\"Room201\",\"beacon\":\"b1\",\"rssi\":-60,\"t_ms\":5}\n"
                     "{\"scanner\":\"Room999\",\"beacon\":\"b1\",\"rssi\":-60,\"t_ms\":6}\n");
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(testing::flatJson(lines(r.out).at(0))["zone"], "dairy");
  EXPECT_NE(r.err.find("ignored 1 sighting"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(GatewayCli, CheckConfigValidatesWithFileAndLine) {
  const auto dir = std::filesystem::temp_directory_path() / ("gw-cfg-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto good = (dir / "good.conf").string();
  const auto bad = (dir / "bad.conf").string();
  std::ofstream(good) << "[gateway]\nid = \"pi-1\"\n";
  std::ofstream(bad) << "[gateway]\nid = \"pi-1\"\nbogus = 1\n";
  EXPECT_EQ(run({"--check-config", "--config", good}).rc, 0);
  const auto r = run({"--check-config", "--config", bad});
  EXPECT_NE(r.rc, 0);
  EXPECT_NE(r.err.find("bad.conf:3: gateway.bogus: unknown key"), std::string::npos) << r.err;
  std::filesystem::remove_all(dir);
}

TEST(GatewayCli, ErrorsAreOneLineOnStderrWithNonZeroExit) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"replay"}, {"replay", "--input", "/nonexistent/sightings.jsonl"}, {"frobnicate"},
           {"--check-config"}, {"decode", "--nope"}}) {
    const auto r = run(args);
    EXPECT_NE(r.rc, 0);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
}  // namespace aisle::gateway
