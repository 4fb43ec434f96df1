#include "aisle/gateway/cli.h"

#include <ostream>

#include "aisle/common/cli.h"

namespace aisle::gateway {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-gateway [--help] [--version]\n"
    "Edge daemon: BLE adverts from BlueZ -> zone presence events -> engine.\n";
}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config"}, {"help", "version", "check-config"});
  if (!cl) {
    err << "aisleone-gateway: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("version")) {
    out << "aisleone-gateway " << versionString() << "\n";
    return 0;
  }
  if (cl->has("help") || cl->positional().empty()) {
    out << kUsage;
    return 0;
  }
  err << "aisleone-gateway: unknown command '" << cl->positional().front() << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::gateway
