#include "aisle/fwconfig/cli.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>

#include "aisle/common/cli.h"
#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"
#include "aisle/fwconfig/bundle.h"
#include "aisle/fwconfig/fleet.h"
#include "aisle/fwconfig/provision.h"
#include "aisle/fwconfig/signing.h"

namespace aisle::fwconfig {
namespace {

namespace fs = std::filesystem;

constexpr const char* kUsage =
    "usage: aisleone-fwconfig COMMAND [options]\n"
    "Fleet configuration: checks, signed per-gateway bundles, verification, fob provisioning.\n"
    "\n"
    "  check FILE                                   check a fleet file; every problem as "
    "file:line:col\n"
    "  render FILE --out DIR [--key PRIVATE.pem] [--version N]\n"
    "                                               one signed bundle per gateway (unsigned "
    "payloads\n"
    "                                               for review without --key); N defaults to 1 + "
    "the\n"
    "                                               newest version already in DIR\n"
    "  verify BUNDLE --pubkey PUBLIC.pem [--current-version N] [--gateway ID]\n"
    "                                               check a bundle's signature (and rollback), "
    "print it\n"
    "  keygen --out DIR                             new Ed25519 signing key pair (PEM)\n"
    "  provision --fleet FILE --count N --type eddystone-eid|ibeacon --out DIR [--k K] [--plan "
    "ID]\n"
    "                                               key-fob batch: programming records, engine "
    "import,\n"
    "                                               labels CSV; ledger.csv in DIR prevents "
    "collisions\n"
    "\n"
    "  --help, --version\n";

constexpr const char* kPrivateKeyFile = "fleet-signing.key";
constexpr const char* kPublicKeyFile = "fleet-signing.pub";

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  if (in.bad()) return fail("error reading " + path);
  return s.str();
}

// Written next to the target and renamed, so a reader never sees half a bundle; secrets get 0600
// from the first byte instead of being chmod-ed after the fact.
Status writeFile(const fs::path& path, std::string_view data, mode_t mode, bool overwrite = true) {
  if (!overwrite && fs::exists(path))
    return fail(path.string() + " already exists; not overwriting it");
  const fs::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return fail("cannot write " + tmp.string());
  bool ok = ::fchmod(fd, mode) == 0;
  std::size_t done = 0;
  while (ok && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0)
      ok = false;
    else
      done += static_cast<std::size_t>(n);
  }
  ok = ::fsync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (!ok) return fail("error writing " + tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return fail("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  return okStatus();
}

Status appendFile(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << data;
  out.flush();
  if (!out) return fail("cannot append to " + path.string());
  return okStatus();
}

Status ensureDir(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail("cannot create " + dir + ": " + ec.message());
  return okStatus();
}

struct Context {
  std::ostream& out;
  std::ostream& err;
  int die(const std::string& message, int code = 1) {
    err << "aisleone-fwconfig: " << message << "\n";
    return code;
  }
};

// Loads and checks a fleet file; prints every problem and returns nothing when there are any.
std::optional<FleetCheck> loadFleet(Context& c, const std::string& path,
                                    std::string* text = nullptr) {
  auto data = readFile(path);
  if (!data) {
    c.die(data.message());
    return std::nullopt;
  }
  FleetCheck check = checkFleet(*data, path);
  for (const auto& d : check.problems) c.err << d.str() << "\n";
  if (!check.ok()) {
    c.err << path << ": " << check.problems.size() << " problem"
          << (check.problems.size() == 1 ? "" : "s") << "\n";
    return std::nullopt;
  }
  if (text) *text = std::move(*data);
  return check;
}

int cmdCheck(Context& c, const CommandLine& cl) {
  if (cl.positional().size() != 2) return c.die("usage: aisleone-fwconfig check FILE", 2);
  const std::string& path = cl.positional()[1];
  auto check = loadFleet(c, path);
  if (!check) return 1;
  const Fleet& f = check->fleet;
  c.out << path << ": OK: " << f.stores.size() << " stores, " << f.zones.size() << " zones, "
        << f.gateways.size() << " gateways, " << f.beacons.size() << " beacons, " << f.plans.size()
        << " iBeacon plans\n";
  return 0;
}

// The newest version among bundles already in DIR, so repeated renders count upwards by default.
std::int64_t newestVersionIn(const std::string& dir) {
  std::int64_t newest = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".bundle") continue;
    auto bytes = readFile(e.path().string());
    if (!bytes) continue;
    const auto start = bytes->find("\n\n");
    if (start == std::string::npos) continue;
    auto payload = parsePayload(std::string_view(*bytes).substr(start + 2));
    if (payload) newest = std::max(newest, payload->meta.version);
  }
  return newest;
}

int cmdRender(Context& c, const CommandLine& cl) {
  if (cl.positional().size() != 2 || !cl.has("out"))
    return c.die("usage: aisleone-fwconfig render FILE --out DIR [--key PRIVATE.pem] [--version N]",
                 2);
  const std::string& path = cl.positional()[1];
  const std::string dir = *cl.value("out");
  std::string text;
  auto check = loadFleet(c, path, &text);
  if (!check) return 1;
  std::optional<PrivateKey> key;
  if (auto keyPath = cl.value("key")) {
    auto pem = readFile(*keyPath);
    if (!pem) return c.die(pem.message());
    auto k = PrivateKey::fromPem(*pem);
    if (!k) return c.die(*keyPath + ": " + k.message());
    key = std::move(*k);
  }
  if (auto s = ensureDir(dir); !s) return c.die(s.message());
  std::int64_t version = 0;
  if (auto v = cl.value("version")) {
    auto n = parseNumber<std::int64_t>(*v, 1, kMaxBundleVersion);
    if (!n) return c.die("--version: " + n.message(), 2);
    version = *n;
  } else {
    version = newestVersionIn(dir) + 1;
  }
  const std::string fleetSha = sha256Hex(text);
  for (const auto& g : check->fleet.gateways) {
    const BundleMeta meta{version, g.id, fleetSha};
    const std::string payload = renderPayload(check->fleet, g, meta);
    const fs::path file = fs::path(dir) / (g.id + (key ? ".bundle" : ".payload.toml"));
    if (auto s = writeFile(file, key ? signBundle(payload, *key) : payload, 0644); !s)
      return c.die(s.message());
    c.out << "{\"gateway\":\"" << g.id << "\",\"store\":" << g.store.value()
          << ",\"version\":" << version << ",\"file\":\"" << file.string()
          << "\",\"signed\":" << (key ? "true" : "false") << "}\n";
  }
  if (!key) c.err << "aisleone-fwconfig: no --key given: wrote unsigned payloads for review only\n";
  return 0;
}

int cmdVerify(Context& c, const CommandLine& cl) {
  if (cl.positional().size() != 2 || !cl.has("pubkey"))
    return c.die(
        "usage: aisleone-fwconfig verify BUNDLE --pubkey PUBLIC.pem [--current-version N] "
        "[--gateway ID]",
        2);
  const std::string& path = cl.positional()[1];
  auto pem = readFile(*cl.value("pubkey"));
  if (!pem) return c.die(pem.message());
  auto key = PublicKey::fromPem(*pem);
  if (!key) return c.die(*cl.value("pubkey") + ": " + key.message());
  auto bytes = readFile(path);
  if (!bytes) return c.die(bytes.message());
  std::int64_t current = 0;
  if (auto v = cl.value("current-version")) {
    auto n = parseNumber<std::int64_t>(*v, 0, kMaxBundleVersion);
    if (!n) return c.die("--current-version: " + n.message(), 2);
    current = *n;
  }
  auto b = loadBundle(*bytes, *key, current, cl.valueOr("gateway", ""));
  if (!b) return c.die(path + ": " + b.message());
  c.out << "{\"valid\":true,\"version\":" << b->version() << ",\"gateway\":\""
        << b->config.meta.gatewayId << "\",\"store\":" << b->config.store().id.value()
        << ",\"key\":\"" << b->keyFingerprint << "\",\"fleet_sha256\":\""
        << b->config.meta.fleetSha256 << "\"}\n";
  return 0;
}

int cmdKeygen(Context& c, const CommandLine& cl) {
  if (cl.positional().size() != 1 || !cl.has("out"))
    return c.die("usage: aisleone-fwconfig keygen --out DIR", 2);
  const std::string dir = *cl.value("out");
  if (auto s = ensureDir(dir); !s) return c.die(s.message());
  auto key = PrivateKey::generate();
  if (!key) return c.die(key.message());
  const fs::path priv = fs::path(dir) / kPrivateKeyFile;
  const fs::path pub = fs::path(dir) / kPublicKeyFile;
  // Never replace a signing key: gateways trust the old public key until they are told otherwise.
  if (fs::exists(priv) || fs::exists(pub))
    return c.die(dir + " already holds a signing key; not replacing it");
  if (auto s = writeFile(priv, key->pem(), 0600, false); !s) return c.die(s.message());
  if (auto s = writeFile(pub, key->publicKey().pem(), 0644, false); !s) return c.die(s.message());
  c.out << "{\"private\":\"" << priv.string() << "\",\"public\":\"" << pub.string()
        << "\",\"key\":\"" << key->publicKey().fingerprint() << "\"}\n";
  return 0;
}

int cmdProvision(Context& c, const CommandLine& cl) {
  if (cl.positional().size() != 1 || !cl.has("fleet") || !cl.has("count") || !cl.has("type") ||
      !cl.has("out"))
    return c.die(
        "usage: aisleone-fwconfig provision --fleet FILE --count N --type eddystone-eid|ibeacon "
        "--out DIR [--k K] [--plan ID]",
        2);
  ProvisionRequest req;
  const std::string type = *cl.value("type");
  if (type == "eddystone-eid")
    req.type = BeaconType::EddystoneEid;
  else if (type == "ibeacon")
    req.type = BeaconType::IBeacon;
  else
    return c.die("--type must be eddystone-eid or ibeacon", 2);
  auto count = parseNumber<int>(*cl.value("count"), 1, 100'000);
  if (!count) return c.die("--count: " + count.message(), 2);
  req.count = *count;
  auto k = parseNumber<int>(cl.valueOr("k", "10"), 0, 15);
  if (!k) return c.die("--k: " + k.message(), 2);
  req.rotationExponent = *k;
  req.planId = cl.valueOr("plan", "");
  auto check = loadFleet(c, *cl.value("fleet"));
  if (!check) return 1;
  const std::string dir = *cl.value("out");
  if (auto s = ensureDir(dir); !s) return c.die(s.message());
  const fs::path ledgerPath = fs::path(dir) / "ledger.csv";
  Ledger ledger;
  const bool haveLedger = fs::exists(ledgerPath);
  if (haveLedger) {
    auto text = readFile(ledgerPath.string());
    if (!text) return c.die(text.message());
    auto parsed = parseLedger(*text);
    if (!parsed) return c.die(ledgerPath.string() + ": " + parsed.message());
    ledger = std::move(*parsed);
  }
  OsRandom random;
  auto fobs = provisionFobs(check->fleet, req, ledger, random);
  if (!fobs) return c.die(fobs.message());
  char stem[32];
  std::snprintf(stem, sizeof stem, "batch-%04d", fobs->front().batch);
  const fs::path base = fs::path(dir) / stem;
  const fs::path programming = base.string() + "-fobs.jsonl";
  const fs::path import = base.string() + "-import.jsonl";
  const fs::path labels = base.string() + "-labels.csv";
  // Identity keys are in the programming and import files: readable by their owner only.
  for (const auto& [file, data, mode] :
       {std::make_tuple(programming, programmingJsonl(*fobs), mode_t{0600}),
        std::make_tuple(import, importJsonl(*fobs), mode_t{0600}),
        std::make_tuple(labels, labelsCsv(*fobs), mode_t{0644})}) {
    if (auto s = writeFile(file, data, mode, false); !s) return c.die(s.message());
  }
  // The ledger goes last: a batch whose files failed to write leaves no allocation behind.
  if (auto s = appendFile(ledgerPath, ledgerLines(*fobs, !haveLedger)); !s)
    return c.die(s.message());
  c.out << "{\"batch\":" << fobs->front().batch << ",\"type\":\"" << type
        << "\",\"fobs\":" << fobs->size() << ",\"first\":\"" << fobs->front().fobId
        << "\",\"last\":\"" << fobs->back().fobId << "\",\"programming\":\"" << programming.string()
        << "\",\"import\":\"" << import.string() << "\",\"labels\":\"" << labels.string()
        << "\"}\n";
  return 0;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Context c{out, err};
  const std::string command = args.empty() ? "" : args.front();
  // Options are declared per command so a typo is an error, and `--version N` of render does not
  // collide with the program's --version switch.
  std::set<std::string> values;
  std::set<std::string> switches{"help"};
  int (*run)(Context&, const CommandLine&) = nullptr;
  if (command == "check") {
    run = cmdCheck;
  } else if (command == "render") {
    values = {"out", "key", "version"};
    run = cmdRender;
  } else if (command == "verify") {
    values = {"pubkey", "current-version", "gateway"};
    run = cmdVerify;
  } else if (command == "keygen") {
    values = {"out"};
    run = cmdKeygen;
  } else if (command == "provision") {
    values = {"fleet", "count", "type", "out", "k", "plan"};
    run = cmdProvision;
  } else {
    switches.insert("version");
  }
  auto cl = CommandLine::parse(args, values, switches);
  if (!cl) return c.die(cl.message(), 2);
  if (cl->has("help") || args.empty()) {
    out << kUsage;
    return 0;
  }
  if (!run && cl->has("version")) {
    out << "aisleone-fwconfig " << versionString() << "\n";
    return 0;
  }
  if (!run) return c.die("unknown command '" + command + "' (see --help)", 2);
  try {
    return run(c, *cl);
  } catch (const std::exception& e) {
    // Only broken invariants throw (e.g. OpenSSL failing on a key it accepted): say so and fail.
    return c.die(std::string("internal error: ") + e.what(), 3);
  }
}

}  // namespace aisle::fwconfig
