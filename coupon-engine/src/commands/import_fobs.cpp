// `import-fobs FILE`: the key-fobs of an `aisleone-fwconfig provision` batch (batch-NNNN-import.jsonl),
// held by the anonymous member until a shopper claims one with the code on its label.
#include <fstream>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/hmac.h"
#include "aisle/engine/devices.h"
#include "aisle/engine/engine_config.h"
#include "commands.h"

namespace aisle::engine {

int cmdImportFobs(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"config"}, {});
  if (!cl || cl->positional().size() != 1) {
    io.err << "import-fobs: usage: import-fobs [--config FILE] batch-NNNN-import.jsonl\n";
    return 2;
  }
  // The master key seals the fobs' identity keys: from the engine's config, or AISLE_MASTER_KEY.
  std::string masterHex;
  std::string database = databaseUrl();
  if (auto path = cl->value("config")) {
    auto cfg = loadEngineConfig(*path);
    if (!cfg) {
      io.err << "import-fobs: " << cfg.message() << "\n";
      return 1;
    }
    masterHex = cfg->masterKeyHex;
    database = databaseUrl(cfg->database);
  } else if (const char* e = std::getenv("AISLE_MASTER_KEY")) {
    masterHex = e;
  }
  auto master = fromHex(masterHex);
  if (!master || master->size() != 32) {
    io.err << "import-fobs: a master key is required: AISLE_MASTER_KEY (64 hex digits) or --config\n";
    return 1;
  }
  const std::string file = cl->positional()[0];
  std::ifstream in(file);
  if (!in) {
    io.err << "import-fobs: cannot read " << file << "\n";
    return 1;
  }
  PgPool pool(database, 1, stderrLogger("import-fobs"));
  SystemClock clock;
  DeviceService devices(pool, clock, DeviceOptions{*master, std::nullopt}, stderrLogger("import-fobs"), nullptr);
  auto summary = devices.importFobs(in);
  for (const auto& p : summary.problems) io.err << file << ":" << p.substr(5) << "\n";
  io.out << summary.json() << "\n";
  return summary.rejected > 0 ? 1 : 0;
}

}  // namespace aisle::engine
