#pragma once
// Key-fob provisioning: Eddystone-EID identity keys or collision-free iBeacon numbers, claim codes
// for the printed labels, and the three files a batch produces. Randomness is injected so the
// allocation logic is tested deterministically; production passes OsRandom (getrandom(2)).
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "aisle/common/result.h"
#include "aisle/fwconfig/fleet.h"

namespace aisle::fwconfig {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual std::string bytes(std::size_t n) = 0;
};

// The kernel CSPRNG via getrandom(2), which blocks only until the pool is first initialized.
class OsRandom final : public RandomSource {
 public:
  std::string bytes(std::size_t n) override;
};

struct FobRecord {
  std::string fobId;  // "fob-000042": printed on the label, the engine's devices external reference
  int batch = 0;
  BeaconType type = BeaconType::EddystoneEid;
  std::string identityKeyHex;  // EID: 16 bytes; secret, never on a label
  int rotationExponent = 0;    // EID: K
  std::string uuid;            // iBeacon
  std::uint16_t major = 0;
  std::uint16_t minor = 0;
  std::string planId;
  std::string claimCode;  // "ABCDE-FGHJK": the shopper types it to link the fob to their account
};

// What earlier batches used, read back from the ledger (ledger.csv in the output directory).
struct Ledger {
  std::int64_t lastSerial = 0;
  int lastBatch = 0;
  std::set<std::tuple<std::string, int, int>> ibeacons;  // uuid, major, minor
  std::vector<FobRecord> records;                        // without secrets or claim codes
};
inline constexpr std::string_view kLedgerHeader = "fob_id,batch,type,uuid,major,minor,plan";
Result<Ledger> parseLedger(std::string_view csv);
// Lines to append to the ledger for a new batch (the header only when the ledger is new).
std::string ledgerLines(const std::vector<FobRecord>& records, bool withHeader);

struct ProvisionRequest {
  BeaconType type = BeaconType::EddystoneEid;
  int count = 0;
  int rotationExponent = 10;  // 2^10 s ~ 17 minutes between EID rotations
  std::string planId;  // iBeacon: which fobs plan; may be empty when the fleet has exactly one
};

// Allocates `count` fobs after the ledger's last serial, in a new batch. iBeacon numbers skip the
// fleet's fixed beacons and everything in the ledger.
Result<std::vector<FobRecord>> provisionFobs(const Fleet& fleet, const ProvisionRequest& request,
                                             const Ledger& ledger, RandomSource& random);

// Engine import (JSON Lines, one device per line): secrets included, the claim code only hashed.
std::string importJsonl(const std::vector<FobRecord>& records);
// For the fob programming station: what to write into each fob (secrets included).
std::string programmingJsonl(const std::vector<FobRecord>& records);
// For the label printer: fob id and claim code only; never a key.
std::string labelsCsv(const std::vector<FobRecord>& records);
// Claim codes are compared without dashes and case: "abcde-fghjk" == "ABCDEFGHJK".
std::string claimCodeSha256(std::string_view code);

}  // namespace aisle::fwconfig
