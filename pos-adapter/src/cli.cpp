#include "aisle/pos/cli.h"

#include <ostream>

#include "aisle/common/cli.h"

namespace aisle::pos {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-pos-adapter [--help] [--version]\n"
    "POS-facing service: POSLog/JSON ingest, coupons at swipe, redemptions.\n";
}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config"}, {"help", "version", "check-config"});
  if (!cl) {
    err << "aisleone-pos-adapter: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("version")) {
    out << "aisleone-pos-adapter " << versionString() << "\n";
    return 0;
  }
  if (cl->has("help") || cl->positional().empty()) {
    out << kUsage;
    return 0;
  }
  err << "aisleone-pos-adapter: unknown command '" << cl->positional().front() << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::pos
