#include <unistd.h>

#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/pg.h"
#include "aisle/engine/loader.h"
#include "commands.h"

namespace aisle::engine {
namespace {

std::string reportJson(const LoadReport& r) {
  std::string out = "{\"source\":\"" + r.source +
                    "\",\"unchanged\":" + (r.unchanged ? "true" : "false") + ",\"inserted\":{";
  for (std::size_t i = 0; i < r.inserted.size(); ++i) {
    out += (i ? ",\"" : "\"") + r.inserted[i].first + "\":" + std::to_string(r.inserted[i].second);
  }
  out += "},\"placeholder_products\":" + std::to_string(r.placeholderProducts.size()) +
         ",\"seconds\":" + std::to_string(r.seconds) + "}";
  return out;
}

}  // namespace

// Shared by load and generate: the report on stdout (readable, or one JSON object with --json).
int printLoadResult(const Result<LoadReport>& result, bool json, const char* command, Io io) {
  if (!result) {
    io.err << command << ": " << result.message() << "\n"
           << command << ": nothing was loaded (rolled back)\n";
    return 1;
  }
  io.out << (json ? reportJson(*result) + "\n" : formatReport(*result));
  return 0;
}

int cmdLoad(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {}, {"force", "json"});
  if (!cl || cl->positional().size() != 2 ||
      (cl->positional()[0] != "completejourney" && cl->positional()[0] != "groceries")) {
    io.err << "usage: aisleone-coupon-engine load completejourney DIR | groceries FILE [--force] "
              "[--json]\n";
    if (!cl) io.err << "load: " << cl.message() << "\n";
    return 2;
  }
  const std::string url = databaseUrl();
  if (url.empty()) {
    io.err << "load: set AISLE_DB to the database (libpq conninfo or URI)\n";
    return 2;
  }
  pqxx::connection conn(url);
  // A bar when a person watches; plain lines in logs and CI.
  auto progress = makeProgress(io.err, isatty(STDERR_FILENO) == 1);
  LoadOptions options;
  options.force = cl->has("force");
  options.progress = progress.get();
  const auto& what = cl->positional()[0];
  auto result = what == "completejourney" ? loadCompleteJourney(conn, cl->positional()[1], options)
                                          : loadGroceries(conn, cl->positional()[1], options);
  progress.reset();
  return printLoadResult(result, cl->has("json"), "load", io);
}

}  // namespace aisle::engine
