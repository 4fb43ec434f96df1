// The command line end to end, on temp directories: what an operator types.
#include "aisle/fwconfig/cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <sstream>

#include "test_util.h"

namespace aisle::fwconfig {
namespace {

using testing::TempDir;

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = runCli(args, out, err);
  return {code, out.str(), err.str()};
}

const std::string kChain = testing::sourcePath("firmware-config/examples/chain.toml").string();

unsigned modeOf(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return st.st_mode & 0777;
}

TEST(FwconfigCli, CheckPrintsAOneLineSummaryForAGoodFleet) {
  const CliRun r = run({"check", kChain});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, kChain + ": OK: 3 stores, 8 zones, 7 gateways, 5 beacons, 3 iBeacon plans\n");
  EXPECT_EQ(r.err, "");
}

TEST(FwconfigCli, CheckExitsOneAndPrintsEveryProblem) {
  const std::string bad = testing::sourcePath("tests/unit/fwconfig/golden/bad/hubs.toml").string();
  const CliRun r = run({"check", bad});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find(bad + ":9:6: store 1: has gateways but no hub (hint: "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(bad + ": 3 problems\n"), std::string::npos) << r.err;
}

TEST(FwconfigCli, MissingFilesAndUnknownOptionsAreClearErrors) {
  EXPECT_EQ(run({"check", "/nonexistent/fleet.toml"}).code, 1);
  EXPECT_EQ(run({"check"}).code, 2);
  EXPECT_EQ(run({"render", kChain, "--outt", "x"}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"--help"}).code, 0);
  EXPECT_EQ(run({"--version"}).code, 0);
}

TEST(FwconfigCli, KeygenRenderVerifyRoundTrip) {
  TempDir dir;
  CliRun r = run({"keygen", "--out", dir / "keys"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(modeOf(dir / "keys/fleet-signing.key"), 0600u);
  // A second keygen must not replace a key gateways already trust.
  EXPECT_EQ(run({"keygen", "--out", dir / "keys"}).code, 1);

  r = run({"render", kChain, "--out", dir / "bundles", "--key", dir / "keys/fleet-signing.key"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("{\"gateway\":\"gw-103\",\"store\":103,\"version\":1,"), std::string::npos)
      << r.out;

  r = run({"verify", dir / "bundles/gw-103.bundle", "--pubkey", dir / "keys/fleet-signing.pub"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("{\"valid\":true,\"version\":1,\"gateway\":\"gw-103\",\"store\":103,", 0),
            0u)
      << r.out;

  // Rendering again without --version counts upwards; an explicit version is taken as given.
  ASSERT_EQ(
      run({"render", kChain, "--out", dir / "bundles", "--key", dir / "keys/fleet-signing.key"})
          .code,
      0);
  r = run({"verify", dir / "bundles/gw-103.bundle", "--pubkey", dir / "keys/fleet-signing.pub",
           "--current-version", "2", "--gateway", "gw-103"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"version\":2"), std::string::npos);
  r = run({"verify", dir / "bundles/gw-103.bundle", "--pubkey", dir / "keys/fleet-signing.pub",
           "--current-version", "3"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rollback refused"), std::string::npos) << r.err;
  ASSERT_EQ(run({"render", kChain, "--out", dir / "bundles", "--key",
                 dir / "keys/fleet-signing.key", "--version", "40"})
                .code,
            0);
  r = run(
      {"verify", dir / "bundles/gw-101-hub.bundle", "--pubkey", dir / "keys/fleet-signing.pub"});
  EXPECT_NE(r.out.find("\"version\":40"), std::string::npos) << r.out;
}

TEST(FwconfigCli, VerifyRefusesATamperedBundleFile) {
  TempDir dir;
  ASSERT_EQ(run({"keygen", "--out", dir.path().string()}).code, 0);
  ASSERT_EQ(
      run({"render", kChain, "--out", dir.path().string(), "--key", dir / "fleet-signing.key"})
          .code,
      0);
  std::string bytes = testing::readText(dir / "gw-103.bundle");
  bytes[bytes.size() - 3] = static_cast<char>(bytes[bytes.size() - 3] ^ 0x01);
  testing::writeText(dir / "gw-103.bundle", bytes);
  const CliRun r = run({"verify", dir / "gw-103.bundle", "--pubkey", dir / "fleet-signing.pub"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bundle signature is not valid"), std::string::npos) << r.err;
}

TEST(FwconfigCli, RenderWithoutAKeyWritesUnsignedPayloadsForReview) {
  TempDir dir;
  const CliRun r = run({"render", kChain, "--out", dir.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("unsigned payloads for review only"), std::string::npos);
  EXPECT_NE(testing::readText(dir / "gw-103.payload.toml").find("[bundle]"), std::string::npos);
}

TEST(FwconfigCli, RenderRefusesABadFleet) {
  TempDir dir;
  const CliRun r =
      run({"render", testing::sourcePath("tests/unit/fwconfig/golden/bad/references.toml").string(),
           "--out", dir.path().string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(FwconfigCli, ProvisionTwiceNeverReusesNumbersAndKeepsSecretsPrivate) {
  TempDir dir;
  CliRun r = run({"provision", "--fleet", kChain, "--count", "5", "--type", "ibeacon", "--out",
                  dir.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"provision", "--fleet", kChain, "--count", "5", "--type", "ibeacon", "--out",
           dir.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"provision", "--fleet", kChain, "--count", "3", "--type", "eddystone-eid", "--k", "8",
           "--out", dir.path().string()});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"batch\":3"), std::string::npos) << r.out;
  auto ledger = testing::readText(dir / "ledger.csv");
  EXPECT_NE(
      ledger.find("fob-000010,2,ibeacon,f7826da6-4fa2-4e98-8024-bc5b71e0893e,1000,9,loyalty-fobs"),
      std::string::npos)
      << ledger;
  EXPECT_NE(ledger.find("fob-000013,3,eddystone-eid"), std::string::npos) << ledger;
  EXPECT_EQ(modeOf(dir / "batch-0003-fobs.jsonl"), 0600u);
  EXPECT_EQ(modeOf(dir / "batch-0003-import.jsonl"), 0600u);
  const std::string labels = testing::readText(dir / "batch-0003-labels.csv");
  const std::string programming = testing::readText(dir / "batch-0003-fobs.jsonl");
  std::size_t at = 0;
  int keys = 0;
  while ((at = programming.find("\"identity_key\":\"", at)) != std::string::npos) {
    at += 16;
    EXPECT_EQ(labels.find(programming.substr(at, 32)), std::string::npos);
    ++keys;
  }
  EXPECT_EQ(keys, 3);
}

}  // namespace
}  // namespace aisle::fwconfig
