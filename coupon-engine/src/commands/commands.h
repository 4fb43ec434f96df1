#pragma once
// One function per subcommand, each in its own file under src/commands/. A command parses its own
// options (CommandLine) and returns the process exit code.
#include <iosfwd>
#include <string>
#include <vector>

namespace aisle::engine {

struct Io {
  std::ostream& out;
  std::ostream& err;
};

using Args = std::vector<std::string>;

int cmdMigrate(const Args& args, Io io);
int cmdSummary(const Args& args, Io io);
int cmdEid(const Args& args, Io io);
int cmdServe(const Args& args, Io io);
int cmdImportFobs(const Args& args, Io io);
int cmdRetention(const Args& args, Io io);
int cmdErase(const Args& args, Io io);
int cmdEvaluate(const Args& args, Io io);
int cmdLoad(const Args& args, Io io);
int cmdGenerate(const Args& args, Io io);
int cmdBatch(const Args& args, Io io);
int cmdEvaluateReplenishment(const Args& args, Io io);

}  // namespace aisle::engine
