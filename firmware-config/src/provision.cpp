#include "aisle/fwconfig/provision.h"

#include <sys/random.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <stdexcept>

#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"

namespace aisle::fwconfig {
namespace {

// Crockford's base32 without I, L, O, U: nothing a label printer or a shopper can confuse.
constexpr std::string_view kClaimAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::string claimCode(RandomSource& random) {
  const std::string r = random.bytes(10);
  std::string code;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i == 5) code += '-';
    // 256 is a multiple of 32, so the modulo keeps the distribution uniform.
    code += kClaimAlphabet[static_cast<unsigned char>(r[i]) % kClaimAlphabet.size()];
  }
  return code;
}

std::string fobId(std::int64_t serial) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fob-%06lld", static_cast<long long>(serial));
  return buf;
}

std::vector<std::string> splitCsv(std::string_view line) {
  std::vector<std::string> out(1);
  for (char c : line) {
    if (c == ',')
      out.emplace_back();
    else
      out.back() += c;
  }
  return out;
}

std::string jsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20)
      continue;  // ids and hex never hold control characters
    out += c;
  }
  return out + "\"";
}

const IBeaconPlan* choosePlan(const Fleet& fleet, const std::string& planId, std::string& error) {
  std::vector<const IBeaconPlan*> fobPlans;
  for (const auto& p : fleet.plans)
    if (p.purpose == PlanPurpose::Fobs) fobPlans.push_back(&p);
  if (!planId.empty()) {
    for (const auto* p : fobPlans)
      if (p->id == planId) return p;
    error = "the fleet has no fobs iBeacon plan '" + planId + "'";
    return nullptr;
  }
  if (fobPlans.size() == 1) return fobPlans.front();
  error = fobPlans.empty() ? "the fleet has no [[ibeacon_plans]] with purpose = \"fobs\""
                           : "the fleet has several fobs iBeacon plans: choose one with --plan";
  return nullptr;
}

}  // namespace

std::string OsRandom::bytes(std::size_t n) {
  std::string out(n, '\0');
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(out.data() + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<std::size_t>(r);
  }
  return out;
}

Result<Ledger> parseLedger(std::string_view csv) {
  Ledger ledger;
  std::size_t lineNo = 0;
  while (!csv.empty()) {
    const std::size_t nl = csv.find('\n');
    const std::string_view line = trim(csv.substr(0, nl));
    csv = nl == std::string_view::npos ? std::string_view{} : csv.substr(nl + 1);
    ++lineNo;
    if (line.empty()) continue;
    if (lineNo == 1) {
      if (line != kLedgerHeader)
        return fail("ledger: line 1 is not the header '" + std::string(kLedgerHeader) + "'");
      continue;
    }
    const auto f = splitCsv(line);
    const std::string where = "ledger: line " + std::to_string(lineNo) + ": ";
    if (f.size() != 7 || f[0].rfind("fob-", 0) != 0)
      return fail(where + "expected 7 fields starting with fob-");
    auto serial = parseNumber<std::int64_t>(std::string_view(f[0]).substr(4), 1, 999'999'999);
    auto batch = parseNumber<int>(f[1], 1, 1'000'000);
    if (!serial || !batch) return fail(where + "bad fob serial or batch");
    FobRecord r;
    r.fobId = f[0];
    r.batch = *batch;
    r.planId = f[6];
    if (f[2] == "ibeacon") {
      auto major = parseNumber<int>(f[4], 0, 65535);
      auto minor = parseNumber<int>(f[5], 0, 65535);
      auto uuid = canonicalUuid(f[3]);
      if (!major || !minor || !uuid) return fail(where + "bad iBeacon uuid/major/minor");
      r.type = BeaconType::IBeacon;
      r.uuid = *uuid;
      r.major = static_cast<std::uint16_t>(*major);
      r.minor = static_cast<std::uint16_t>(*minor);
      if (!ledger.ibeacons.emplace(r.uuid, *major, *minor).second)
        return fail(where + "iBeacon " + r.uuid + " " + f[4] + "/" + f[5] + " is allocated twice");
    } else if (f[2] == "eddystone-eid") {
      r.type = BeaconType::EddystoneEid;
    } else {
      return fail(where + "unknown type '" + f[2] + "'");
    }
    ledger.lastSerial = std::max(ledger.lastSerial, *serial);
    ledger.lastBatch = std::max(ledger.lastBatch, *batch);
    ledger.records.push_back(std::move(r));
  }
  return ledger;
}

std::string ledgerLines(const std::vector<FobRecord>& records, bool withHeader) {
  std::string out = withHeader ? std::string(kLedgerHeader) + "\n" : "";
  for (const auto& r : records) {
    out += r.fobId + "," + std::to_string(r.batch) + "," + beaconTypeName(r.type) + ",";
    if (r.type == BeaconType::IBeacon)
      out +=
          r.uuid + "," + std::to_string(r.major) + "," + std::to_string(r.minor) + "," + r.planId;
    else
      out += ",,,";
    out += "\n";
  }
  return out;
}

Result<std::vector<FobRecord>> provisionFobs(const Fleet& fleet, const ProvisionRequest& req,
                                             const Ledger& ledger, RandomSource& random) {
  if (req.count < 1 || req.count > 100'000) return fail("--count must be within [1, 100000]");
  if (req.type != BeaconType::EddystoneEid && req.type != BeaconType::IBeacon)
    return fail("fobs are provisioned as eddystone-eid or ibeacon");
  if (req.rotationExponent < 0 || req.rotationExponent > 15)
    return fail("--k must be within [0, 15]");
  const int batch = ledger.lastBatch + 1;
  std::vector<FobRecord> out;
  out.reserve(static_cast<std::size_t>(req.count));

  const IBeaconPlan* plan = nullptr;
  std::set<std::tuple<std::string, int, int>> taken = ledger.ibeacons;
  if (req.type == BeaconType::IBeacon) {
    std::string error;
    plan = choosePlan(fleet, req.planId, error);
    if (!plan) return fail(error);
    for (const auto& b : fleet.beacons)
      if (b.type == BeaconType::IBeacon) taken.emplace(b.uuid, b.major, b.minor);
  }
  int major = plan ? plan->majorLo : 0;
  int minor = plan ? plan->minorLo : 0;
  for (int i = 0; i < req.count; ++i) {
    FobRecord r;
    r.fobId = fobId(ledger.lastSerial + 1 + i);
    r.batch = batch;
    r.type = req.type;
    if (req.type == BeaconType::EddystoneEid) {
      r.identityKeyHex = toHex(random.bytes(16));
      r.rotationExponent = req.rotationExponent;
    } else {
      // Walk the plan's rectangle in order; the first free numbers go first, so allocations
      // stay compact and a later batch continues where the ledger ends.
      while (major <= plan->majorHi && taken.count({plan->uuid, major, minor})) {
        if (++minor > plan->minorHi) {
          minor = plan->minorLo;
          ++major;
        }
      }
      if (major > plan->majorHi)
        return fail("iBeacon plan '" + plan->id + "' has only " + std::to_string(i) +
                    " free major/minor pairs left, " + std::to_string(req.count) + " requested");
      r.uuid = plan->uuid;
      r.major = static_cast<std::uint16_t>(major);
      r.minor = static_cast<std::uint16_t>(minor);
      r.planId = plan->id;
      taken.emplace(plan->uuid, major, minor);
    }
    r.claimCode = claimCode(random);
    out.push_back(std::move(r));
  }
  return out;
}

std::string claimCodeSha256(std::string_view code) {
  std::string normalized;
  for (char c : code)
    if (c != '-' && c != ' ')
      normalized += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return sha256Hex(normalized);
}

std::string importJsonl(const std::vector<FobRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    out += "{\"kind\":\"fob\",\"external_ref\":" + jsonString(r.fobId) +
           ",\"batch\":" + std::to_string(r.batch) +
           ",\"type\":" + jsonString(beaconTypeName(r.type));
    if (r.type == BeaconType::EddystoneEid)
      out += ",\"eid_identity_key\":" + jsonString(r.identityKeyHex) +
             ",\"eid_k\":" + std::to_string(r.rotationExponent);
    else
      out += ",\"ibeacon_uuid\":" + jsonString(r.uuid) +
             ",\"ibeacon_major\":" + std::to_string(r.major) +
             ",\"ibeacon_minor\":" + std::to_string(r.minor);
    out += ",\"claim_code_sha256\":" + jsonString(claimCodeSha256(r.claimCode)) + "}\n";
  }
  return out;
}

std::string programmingJsonl(const std::vector<FobRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    out += "{\"fob_id\":" + jsonString(r.fobId) + ",\"type\":" + jsonString(beaconTypeName(r.type));
    if (r.type == BeaconType::EddystoneEid)
      out += ",\"identity_key\":" + jsonString(r.identityKeyHex) +
             ",\"k\":" + std::to_string(r.rotationExponent);
    else
      out += ",\"uuid\":" + jsonString(r.uuid) + ",\"major\":" + std::to_string(r.major) +
             ",\"minor\":" + std::to_string(r.minor);
    out += "}\n";
  }
  return out;
}

std::string labelsCsv(const std::vector<FobRecord>& records) {
  std::string out = "fob_id,claim_code,batch\n";
  for (const auto& r : records)
    out += r.fobId + "," + r.claimCode + "," + std::to_string(r.batch) + "\n";
  return out;
}

}  // namespace aisle::fwconfig
