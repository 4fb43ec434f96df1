#include "aisle/fwconfig/cli.h"

#include <ostream>

#include "aisle/common/cli.h"

namespace aisle::fwconfig {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-fwconfig [--help] [--version]\n"
    "Fleet configuration: checks, signed per-gateway bundles, verification.\n";
}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config"}, {"help", "version", "check-config"});
  if (!cl) {
    err << "aisleone-fwconfig: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("version")) {
    out << "aisleone-fwconfig " << versionString() << "\n";
    return 0;
  }
  if (cl->has("help") || cl->positional().empty()) {
    out << kUsage;
    return 0;
  }
  err << "aisleone-fwconfig: unknown command '" << cl->positional().front() << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::fwconfig
