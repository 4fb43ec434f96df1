#include "aisle/engine/cli.h"

#include <ostream>

#include "aisle/common/cli.h"
#include "commands/commands.h"

namespace aisle::engine {
namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const Args&, Io);
};

constexpr Command kCommands[] = {
    {"migrate", "apply the schema migrations to AISLE_DB", cmdMigrate},
    {"summary", "print what the database holds", cmdSummary},
    {"load", "load a data set: completejourney DIR | groceries FILE [--force]", cmdLoad},
    {"generate", "synthetic members and purchases: --members N --days D --seed S", cmdGenerate},
    {"eid", "compute an Eddystone-EID (or an identity key from an X25519 exchange)", cmdEid},
    {"serve", "the HTTP API: proximity ingest, triggers, push delivery (--config FILE)", cmdServe},
    {"import-fobs", "load key-fobs from an aisleone-fwconfig import file (batch-NNNN-import.jsonl)", cmdImportFobs},
    {"retention", "delete proximity events older than --days (default 30)", cmdRetention},
    {"erase", "erase a member (--member ID): personal data deleted, sales anonymized", cmdErase},
    {"evaluate", "offline next-basket evaluation (history/future/keyset files)", cmdEvaluate},
    {"batch", "recompute member models and issue coupons (--campaigns FILE)", cmdBatch},
    {"replenish", "evaluate next-purchase dates on a time split (--groceries F | --completejourney D)", cmdEvaluateReplenishment},
};

void usage(std::ostream& out) {
  out << "usage: aisleone-coupon-engine COMMAND [options]   (database: AISLE_DB)\n\n";
  for (const auto& c : kCommands) out << "  " << c.name << std::string(12 - std::string(c.name).size(), ' ') << c.summary << "\n";
  out << "\n  --version   print the version\n";
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage(out);
    return 0;
  }
  if (args[0] == "--version") {
    out << "aisleone-coupon-engine " << versionString() << "\n";
    return 0;
  }
  for (const auto& c : kCommands) {
    if (args[0] == c.name) {
      try {
        return c.run(Args(args.begin() + 1, args.end()), Io{out, err});
      } catch (const std::exception& e) {
        err << "aisleone-coupon-engine " << c.name << ": " << e.what() << "\n";
        return 1;
      }
    }
  }
  err << "aisleone-coupon-engine: unknown command '" << args[0] << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::engine
