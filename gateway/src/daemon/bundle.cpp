#include "aisle/gateway/bundle.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"
#include "aisle/gateway/pipeline.h"

namespace aisle::gateway {
namespace {

namespace fs = std::filesystem;

constexpr const char* kVersionFile = "accepted-version";
constexpr const char* kBundleFile = "last-good.bundle";

// The fleet writes UUIDs in canonical 8-4-4-4-12 form (fwconfig::canonicalUuid).
Result<std::array<std::uint8_t, 16>> uuidBytes(std::string_view text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex.push_back(c);
  auto bytes = fromHex(hex);
  if (!bytes || bytes->size() != 16) return fail("'" + std::string(text) + "' is not a UUID");
  std::array<std::uint8_t, 16> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::string errnoText(const std::string& what, const fs::path& p) {
  return what + " " + p.string() + ": " + std::strerror(errno);
}

// Write a temporary, fsync it, rename it over `path`, fsync the directory: after a crash the file
// is either the old one or the new one, never a torn mix.
Status writeAtomically(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(errnoText("cannot create", tmp));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = errnoText("cannot write", tmp);
      ::close(fd);
      return fail(why);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const std::string why = errnoText("cannot fsync", tmp);
    ::close(fd);
    return fail(why);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail(errnoText("cannot rename onto", path));
  const int dfd = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return fail(errnoText("cannot open", path.parent_path()));
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) return fail(errnoText("cannot fsync", path.parent_path()));
  return okStatus();
}

Result<std::string> readWhole(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return fail("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

Result<GatewayConfig> configFromBundle(const fwconfig::GatewaySlice& slice,
                                       const GatewayConfig& local) {
  const fwconfig::Fleet& f = slice.fleet;
  const fwconfig::Gateway& self = slice.self();
  GatewayConfig cfg = local;
  ZoneSetup& z = cfg.zones;
  ZoneParams& p = z.params;
  DaemonSettings& d = cfg.daemon;

  const fwconfig::Thresholds& t = slice.store().thresholds;
  p.dwellAfterMs = t.dwell.count();
  p.switchMargin = Db{static_cast<double>(t.hysteresisDb)};
  p.switchAfterMs = t.hysteresisTime.count();
  p.exitMaxMs = t.exitTimeout.count();
  p.exitMinMs = std::min(p.exitMinMs, p.exitMaxMs);

  z.gatewayId = self.id;
  d.scanner = self.id;
  d.storeId = slice.store().id.value();
  d.adapter = self.adapter;
  d.keyId = self.keyId;

  // LAN roles: a scanner sends its summaries to the store's hub (the one gateway that arbitrates)
  // at its bundle address; a hub (or both) receives them. The LAN key itself is local (lan.key_file):
  // a bundle is signed, not secret.
  d.lanRole = fwconfig::roleName(self.role);
  d.lanHubUrl.clear();
  if (self.role == fwconfig::GatewayRole::Scanner) {
    const fwconfig::Gateway* hub = nullptr;
    for (const fwconfig::Gateway& g : f.gateways) {
      if (g.store == self.store && g.id != self.id && fwconfig::arbitrates(g.role)) hub = &g;
    }
    if (!hub) return fail("gateway " + self.id + " has role scanner but its store has no hub (role hub or both)");
    if (hub->address.empty()) {
      return fail("gateway " + self.id + ": its hub " + hub->id + " has no address (host:port) to send summaries to");
    }
    d.lanHubUrl = "http://" + hub->address;
  }

  z.scanners.clear();
  for (const fwconfig::Gateway& g : f.gateways) {
    if (!fwconfig::scans(g.role)) continue;
    if (g.zone == kUnknownZone) {
      return fail("zone '" + g.zone + "' of gateway " + g.id +
                  ": the name is reserved for the unknown zone");
    }
    z.scanners.push_back(ScannerSpec{g.id, g.zone, Db{static_cast<double>(g.rssiOffsetDb)}});
  }

  z.beacons.clear();
  for (const fwconfig::Beacon& b : f.beacons) {
    std::string id;
    if (b.type == fwconfig::BeaconType::IBeacon) {
      id = "ibeacon:" + b.uuid + ":" + std::to_string(b.major) + ":" + std::to_string(b.minor);
    } else if (b.type == fwconfig::BeaconType::AltBeacon) {
      id = "altbeacon:" + b.beaconId;
    } else {
      continue;  // Eddystone: no stable id visible to the gateway (see the header)
    }
    z.beacons.push_back(
        BeaconSpec{canonicalBeaconId(id), Dbm{static_cast<double>(b.measuredPower)}});
  }

  d.ibeaconUuids.clear();
  d.ibeaconRanges.clear();
  for (const fwconfig::IBeaconPlan& plan : f.plans) {
    if (plan.purpose != fwconfig::PlanPurpose::Fobs) continue;
    auto uuid = uuidBytes(plan.uuid);
    if (!uuid) return fail("ibeacon plan " + plan.id + ": " + uuid.message());
    d.ibeaconRanges.push_back(
        IBeaconRange{*uuid, plan.majorLo, plan.majorHi, plan.minorLo, plan.minorHi});
  }

  constexpr int kMaxBatchEvents = 1000;  // the gateway's own limit on uplink.batch_max_events
  if (f.uplink.batchMaxEvents > kMaxBatchEvents) {
    return fail("uplink.batch_max_events = " + std::to_string(f.uplink.batchMaxEvents) +
                " exceeds the gateway's limit of " + std::to_string(kMaxBatchEvents));
  }
  d.engineUrl = f.uplink.engineUrl;
  d.batchMaxDelay = f.uplink.batchMaxDelay;
  d.batchMaxEvents = f.uplink.batchMaxEvents;
  d.requestMaxEvents = std::max(d.requestMaxEvents, d.batchMaxEvents);
  d.spoolMaxMb = std::max<std::int64_t>(1, f.uplink.spoolMaxBytes >> 20);
  return cfg;
}

Result<std::int64_t> BundleStore::acceptedVersion() const {
  const fs::path p = dir_ / kVersionFile;
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::int64_t{0};
  auto text = readWhole(p);
  if (!text) return text.error();
  auto v = parseNumber<std::int64_t>(*text, 1, fwconfig::kMaxBundleVersion);
  if (!v) return fail(p.string() + ": not a bundle version (" + v.message() + ")");
  return *v;
}

Result<std::string> BundleStore::lastGood() const {
  const fs::path p = dir_ / kBundleFile;
  std::error_code ec;
  if (!fs::exists(p, ec)) return fail("no last good bundle in " + dir_.string());
  return readWhole(p);
}

Status BundleStore::commit(std::string_view bundleBytes, std::int64_t version) const {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec) return fail("cannot create " + dir_.string() + ": " + ec.message());
  if (auto st = writeAtomically(dir_ / kBundleFile, bundleBytes); !st) return st;
  return writeAtomically(dir_ / kVersionFile, std::to_string(version) + "\n");
}

Result<BundleGate> BundleGate::open(fwconfig::PublicKey key, std::string gatewayId,
                                    BundleStore store) {
  auto floor = store.acceptedVersion();
  if (!floor) return floor.error();
  return BundleGate(std::move(key), std::move(gatewayId), std::move(store), *floor);
}

Result<AcceptedBundle> BundleGate::check(std::string_view bytes, const GatewayConfig& local) const {
  auto b = fwconfig::loadBundle(bytes, key_, floor_, gatewayId_);
  if (!b) return b.error();
  auto cfg = configFromBundle(b->config, local);
  if (!cfg) return fail("bundle version " + std::to_string(b->version()) + ": " + cfg.message());
  if (auto st = checkDaemonConfig(*cfg); !st) return st.error();
  AcceptedBundle a;
  a.config = std::move(*cfg);
  a.version = b->version();
  a.fleetSha256 = b->config.meta.fleetSha256;
  return a;
}

Result<AcceptedBundle> BundleGate::accept(std::string_view bytes, const GatewayConfig& local,
                                          bool persist) {
  auto a = check(bytes, local);
  if (!a || !persist) return a;
  // An identical copy at the same version is not rewritten: a reload without a new bundle costs the
  // SD card nothing.
  auto current = store_.lastGood();
  if (!(current && *current == bytes && a->version == floor_)) {
    if (auto st = store_.commit(bytes, a->version); !st) {
      return fail("bundle version " + std::to_string(a->version) +
                  " verified but cannot be persisted: " + st.message());
    }
  }
  floor_ = std::max(floor_, a->version);
  return a;
}

Result<AcceptedBundle> BundleGate::start(const Result<std::string>& bytes,
                                         const GatewayConfig& local) {
  std::string refusal;
  if (bytes) {
    auto a = accept(*bytes, local);
    if (a) return a;
    refusal = a.message();
  } else {
    refusal = bytes.message();
  }
  auto copy = store_.lastGood();
  if (!copy) return fail("bundle refused: " + refusal + "; " + copy.message());
  auto a = check(*copy, local);
  if (!a) {
    return fail("bundle refused: " + refusal + "; the last good bundle in " +
                store_.dir().string() + " is refused too: " + a.message());
  }
  a->fromLastGood = true;
  a->refusal = refusal;
  return a;
}

std::string defaultStateDir() {
  if (const char* env = std::getenv("STATE_DIRECTORY"); env && *env) {
    const std::string_view all(env);
    return std::string(all.substr(0, all.find(':')));
  }
  return "/var/lib/aisleone-gateway";
}

}  // namespace aisle::gateway
