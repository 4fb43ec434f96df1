#include "aisle/gateway/cli.h"

#include <fstream>
#include <istream>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/gateway/advert.h"
#include "aisle/gateway/config.h"
#include "aisle/gateway/replay.h"

namespace aisle::gateway {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-gateway [--help] [--version] [--config FILE] [--check-config]\n"
    "       aisleone-gateway run --config FILE [--check-config]   (the daemon; also bare --config FILE)\n"
    "       aisleone-gateway run --config LOCAL --bundle FILE --pubkey KEY.pem [--state-dir DIR] [--check-config]\n"
    "       aisleone-gateway decode                      < adverts.hex   (one advert per line)\n"
    "       aisleone-gateway replay [--config FILE] --input SIGHTINGS.jsonl|-\n"
    "Edge daemon: BLE adverts from BlueZ -> zone presence events -> engine.\n"
    "  decode   raw advertising data as hex, one advert a line -> one JSON object a line\n"
    "  replay   sightings (JSON Lines) -> enter/dwell/exit zone events (JSON Lines)\n"
    "  --check-config  validate --config FILE and exit (0 = valid)\n";

int decode(std::istream& in, std::ostream& out) {
  std::string line;
  std::string buf;
  buf.reserve(64 * 1024 + 1024);
  while (std::getline(in, line)) {
    appendAdvertJson(decodeHexLine(line), buf);
    buf.push_back('\n');
    if (buf.size() >= 64 * 1024) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  return 0;
}

int replay(const CommandLine& cl, std::istream& in, std::ostream& out, std::ostream& err) {
  GatewayConfig cfg;
  if (auto path = cl.value("config")) {
    auto loaded = loadGatewayConfig(*path);
    if (!loaded) {
      err << "aisleone-gateway: " << loaded.message() << "\n";
      return 2;
    }
    cfg = std::move(*loaded);
  }
  const auto input = cl.value("input");
  if (!input) {
    err << "aisleone-gateway: replay needs --input SIGHTINGS (a file, or - for stdin)\n";
    return 2;
  }
  std::ifstream file;
  std::istream* src = &in;
  if (*input != "-") {
    file.open(*input, std::ios::binary);
    if (!file) {
      err << "aisleone-gateway: cannot open " << *input << "\n";
      return 1;
    }
    src = &file;
  }
  const ReplayResult r = runReplay(*src, out, cfg.zones);
  out.flush();
  if (r.malformed > 0) {
    err << "aisleone-gateway: replay skipped " << r.malformed << " malformed line(s) of " << r.lines
        << " (first: " << r.firstError << ")\n";
  }
  if (r.zones.unknownScanner > 0) {
    err << "aisleone-gateway: replay ignored " << r.zones.unknownScanner
        << " sighting(s) from scanners the configuration does not list\n";
  }
  return 0;
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
           std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config", "input"}, {"help", "version", "check-config"});
  if (!cl) {
    err << "aisleone-gateway: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("version")) {
    out << "aisleone-gateway " << versionString() << "\n";
    return 0;
  }
  if (cl->has("check-config")) {
    const auto path = cl->value("config");
    if (!path) {
      err << "aisleone-gateway: --check-config needs --config FILE\n";
      return 2;
    }
    auto cfg = loadGatewayConfig(*path);
    if (!cfg) {
      err << cfg.message() << "\n";
      return 1;
    }
    out << *path << ": ok (" << cfg->zones.scanners.size() << " scanners, "
        << cfg->zones.beacons.size() << " beacons)\n";
    if (auto daemon = checkDaemonConfig(*cfg); !daemon) {
      // Valid for replay; say what `run` would still refuse (run --check-config makes it an error).
      out << "note: not yet runnable as the daemon:\n" << daemon.message() << "\n";
    }
    return 0;
  }
  if (cl->has("help") || cl->positional().empty()) {
    out << kUsage;
    return 0;
  }
  const std::string& command = cl->positional().front();
  if (cl->positional().size() > 1) {
    err << "aisleone-gateway: unexpected argument '" << cl->positional()[1] << "'\n";
    return 2;
  }
  if (command == "decode") return decode(in, out);
  if (command == "replay") return replay(*cl, in, out, err);
  err << "aisleone-gateway: unknown command '" << command << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::gateway
