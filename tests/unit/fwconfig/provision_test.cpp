#include "aisle/fwconfig/provision.h"

#include <gtest/gtest.h>

#include <set>

#include "test_util.h"

namespace aisle::fwconfig {
namespace {

// Deterministic bytes: allocation logic is tested without depending on the kernel's randomness.
class CountingRandom final : public RandomSource {
 public:
  std::string bytes(std::size_t n) override {
    std::string out(n, '\0');
    for (auto& c : out) c = static_cast<char>(next_++);
    return out;
  }

 private:
  unsigned char next_ = 1;
};

Fleet fleetWith(const std::string& extra) {
  const std::string text =
      "[chain]\nname = \"t\"\n[uplink]\nengine_url = \"https://e\"\n"
      "[[stores]]\nid = 1\nname = \"s\"\ntime_zone = \"UTC\"\n"
      "[[zones]]\nid = 1\nstore = 1\nname = \"z\"\n" +
      extra;
  auto check = checkFleet(text, "t.toml");
  EXPECT_TRUE(check.ok()) << (check.problems.empty() ? "" : check.problems.front().str());
  return check.fleet;
}

const std::string kPlan =
    "[[ibeacon_plans]]\nid = \"fobs\"\nuuid = \"f7826da6-4fa2-4e98-8024-bc5b71e0893e\"\n"
    "major = [7, 8]\nminor = [0, 2]\npurpose = \"fobs\"\n";
const std::string kUuid = "f7826da6-4fa2-4e98-8024-bc5b71e0893e";

TEST(Provision, EidFobsGetDistinctSixteenByteKeysFromTheOs) {
  OsRandom random;
  ProvisionRequest req;
  req.count = 50;
  req.rotationExponent = 12;
  auto fobs = provisionFobs(fleetWith(""), req, Ledger{}, random);
  ASSERT_TRUE(fobs.ok()) << fobs.message();
  std::set<std::string> keys;
  for (const auto& f : *fobs) {
    EXPECT_EQ(f.identityKeyHex.size(), 32u);
    EXPECT_EQ(f.rotationExponent, 12);
    keys.insert(f.identityKeyHex);
  }
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(fobs->front().fobId, "fob-000001");
  EXPECT_EQ(fobs->back().fobId, "fob-000050");
}

TEST(Provision, IBeaconNumbersSkipFixedBeaconsAndEarlierAllocations) {
  // The fixed beacon sits inside the plan's rectangle only to prove allocation steps around it;
  // it is built here directly because `check` would (rightly) refuse such a fleet.
  Fleet fleet = fleetWith(kPlan);
  Beacon fixed;
  fixed.type = BeaconType::IBeacon;
  fixed.uuid = kUuid;
  fixed.major = 7;
  fixed.minor = 1;
  fleet.beacons.push_back(fixed);
  Ledger ledger;
  ledger.lastSerial = 10;
  ledger.lastBatch = 3;
  ledger.ibeacons.emplace(kUuid, 7, 0);
  CountingRandom random;
  ProvisionRequest req;
  req.type = BeaconType::IBeacon;
  req.count = 3;
  auto fobs = provisionFobs(fleet, req, ledger, random);
  ASSERT_TRUE(fobs.ok()) << fobs.message();
  ASSERT_EQ(fobs->size(), 3u);
  EXPECT_EQ((*fobs)[0].minor, 2);
  EXPECT_EQ((*fobs)[0].major, 7);
  EXPECT_EQ((*fobs)[1].major, 8);
  EXPECT_EQ((*fobs)[1].minor, 0);
  EXPECT_EQ((*fobs)[2].minor, 1);
  EXPECT_EQ((*fobs)[0].fobId, "fob-000011");
  EXPECT_EQ((*fobs)[0].batch, 4);
  EXPECT_EQ((*fobs)[0].planId, "fobs");
}

TEST(Provision, AnExhaustedPlanIsAnErrorNotACollision) {
  CountingRandom random;
  ProvisionRequest req;
  req.type = BeaconType::IBeacon;
  req.count = 7;  // the plan holds 2 x 3 = 6 numbers
  auto fobs = provisionFobs(fleetWith(kPlan), req, Ledger{}, random);
  ASSERT_FALSE(fobs.ok());
  EXPECT_EQ(fobs.message(),
            "iBeacon plan 'fobs' has only 6 free major/minor pairs left, 7 requested");
}

TEST(Provision, IBeaconFobsNeedAFobsPlan) {
  CountingRandom random;
  ProvisionRequest req;
  req.type = BeaconType::IBeacon;
  req.count = 1;
  auto fobs = provisionFobs(fleetWith(""), req, Ledger{}, random);
  ASSERT_FALSE(fobs.ok());
  EXPECT_EQ(fobs.message(), "the fleet has no [[ibeacon_plans]] with purpose = \"fobs\"");
  req.planId = "nope";
  EXPECT_FALSE(provisionFobs(fleetWith(kPlan), req, Ledger{}, random).ok());
}

TEST(Provision, LedgerRoundTripsAndLaterBatchesContinueIt) {
  CountingRandom random;
  ProvisionRequest req;
  req.type = BeaconType::IBeacon;
  req.count = 4;
  const Fleet fleet = fleetWith(kPlan);
  auto first = provisionFobs(fleet, req, Ledger{}, random);
  ASSERT_TRUE(first.ok());
  auto ledger = parseLedger(ledgerLines(*first, true));
  ASSERT_TRUE(ledger.ok()) << ledger.message();
  EXPECT_EQ(ledger->lastSerial, 4);
  EXPECT_EQ(ledger->lastBatch, 1);
  req.count = 2;
  auto second = provisionFobs(fleet, req, *ledger, random);
  ASSERT_TRUE(second.ok()) << second.message();
  std::set<std::tuple<int, int>> all;
  for (const auto* batch : {&*first, &*second})
    for (const auto& f : *batch) all.emplace(f.major, f.minor);
  EXPECT_EQ(all.size(), 6u);
  EXPECT_EQ(second->front().fobId, "fob-000005");
  EXPECT_EQ(second->front().batch, 2);
}

TEST(Provision, ALedgerThatAllocatesANumberTwiceIsRefused) {
  const std::string csv = std::string(kLedgerHeader) + "\n" + "fob-000001,1,ibeacon," + kUuid +
                          ",7,0,fobs\n" + "fob-000002,1,ibeacon," + kUuid + ",7,0,fobs\n";
  auto ledger = parseLedger(csv);
  ASSERT_FALSE(ledger.ok());
  EXPECT_EQ(ledger.message(), "ledger: line 3: iBeacon " + kUuid + " 7/0 is allocated twice");
  EXPECT_FALSE(parseLedger("fob_id\n").ok());
}

TEST(Provision, LabelsNeverCarryIdentityKeys) {
  OsRandom random;
  ProvisionRequest req;
  req.count = 20;
  auto fobs = provisionFobs(fleetWith(""), req, Ledger{}, random);
  ASSERT_TRUE(fobs.ok());
  const std::string labels = labelsCsv(*fobs);
  const std::string import = importJsonl(*fobs);
  const std::string programming = programmingJsonl(*fobs);
  for (const auto& f : *fobs) {
    EXPECT_EQ(labels.find(f.identityKeyHex), std::string::npos);
    EXPECT_NE(labels.find(f.fobId + "," + f.claimCode), std::string::npos);
    EXPECT_NE(import.find(f.identityKeyHex), std::string::npos);
    EXPECT_NE(programming.find(f.identityKeyHex), std::string::npos);
    // The engine learns only the claim code's hash; whoever holds the label can claim the fob.
    EXPECT_EQ(import.find(f.claimCode), std::string::npos);
    EXPECT_NE(import.find(claimCodeSha256(f.claimCode)), std::string::npos);
  }
  EXPECT_EQ(labels.substr(0, labels.find('\n')), "fob_id,claim_code,batch");
}

TEST(Provision, ImportLinesCarryTheEngineDeviceFields) {
  CountingRandom random;
  ProvisionRequest req;
  req.count = 1;
  req.rotationExponent = 9;
  auto fobs = provisionFobs(fleetWith(""), req, Ledger{}, random);
  ASSERT_TRUE(fobs.ok());
  EXPECT_EQ(
      importJsonl(*fobs),
      "{\"kind\":\"fob\",\"external_ref\":\"fob-000001\",\"batch\":1,\"type\":\"eddystone-eid\","
      "\"eid_identity_key\":\"0102030405060708090a0b0c0d0e0f10\",\"eid_k\":9,\"claim_code_sha256\":"
      "\"" +
          claimCodeSha256((*fobs)[0].claimCode) + "\"}\n");
}

TEST(Provision, ClaimCodesAreReadableAndCompareWithoutDashesOrCase) {
  OsRandom random;
  ProvisionRequest req;
  req.count = 100;
  auto fobs = provisionFobs(fleetWith(""), req, Ledger{}, random);
  ASSERT_TRUE(fobs.ok());
  for (const auto& f : *fobs) {
    ASSERT_EQ(f.claimCode.size(), 11u);
    EXPECT_EQ(f.claimCode[5], '-');
    EXPECT_EQ(f.claimCode.find_first_of("ILOU"), std::string::npos) << f.claimCode;
  }
  EXPECT_EQ(claimCodeSha256("abcde-fghjk"), claimCodeSha256("ABCDEFGHJK"));
}

TEST(Provision, RequestsOutOfRangeAreRefused) {
  CountingRandom random;
  ProvisionRequest req;
  req.count = 0;
  EXPECT_FALSE(provisionFobs(fleetWith(""), req, Ledger{}, random).ok());
  req.count = 1;
  req.rotationExponent = 16;
  EXPECT_FALSE(provisionFobs(fleetWith(""), req, Ledger{}, random).ok());
  req.rotationExponent = 10;
  req.type = BeaconType::AltBeacon;
  EXPECT_FALSE(provisionFobs(fleetWith(""), req, Ledger{}, random).ok());
}

}  // namespace
}  // namespace aisle::fwconfig
