#include <unistd.h>

#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/parse.h"
#include "aisle/common/pg.h"
#include "aisle/engine/loader.h"
#include "commands.h"

namespace aisle::engine {

int printLoadResult(const Result<LoadReport>& result, bool json, const char* command, Io io);

int cmdGenerate(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"members", "days", "seed", "end", "chunk", "products"}, {"json"});
  const auto usage = [&](const std::string& why) {
    io.err << "generate: " << why << "\n"
           << "usage: aisleone-coupon-engine generate --members N --days D --seed S [--end "
              "YYYY-MM-DD] "
              "[--chunk MEMBERS] [--products N] [--json]\n";
    return 2;
  };
  if (!cl) return usage(cl.message());
  if (!cl->positional().empty()) return usage("unexpected argument '" + cl->positional()[0] + "'");
  GenerateOptions o;
  auto members = parseNumber<std::int64_t>(cl->valueOr("members", "1000"), 0, 100'000'000);
  auto days = parseNumber<int>(cl->valueOr("days", "90"), 1, 3650);
  auto seed = parseNumber<std::uint64_t>(cl->valueOr("seed", "1"));
  auto chunk = parseNumber<std::int64_t>(cl->valueOr("chunk", "2000"), 1, 1'000'000);
  if (!members) return usage("--members: " + members.message());
  if (!days) return usage("--days: " + days.message());
  if (!seed) return usage("--seed: " + seed.message());
  if (!chunk) return usage("--chunk: " + chunk.message());
  // Size of the built-in catalogue, used only when no data set is loaded.
  auto products = parseNumber<int>(cl->valueOr("products", "500"), 1, 1'000'000);
  if (!products) return usage("--products: " + products.message());
  o.catalogProducts = *products;
  o.members = *members;
  o.days = *days;
  o.seed = *seed;
  o.chunkMembers = *chunk;
  o.endDate = cl->valueOr("end", o.endDate);
  const std::string url = databaseUrl();
  if (url.empty()) return usage("set AISLE_DB to the database (libpq conninfo or URI)");
  pqxx::connection conn(url);
  auto progress = makeProgress(io.err, isatty(STDERR_FILENO) == 1);
  o.progress = progress.get();
  auto result = generateSynthetic(conn, o);
  progress.reset();
  return printLoadResult(result, cl->has("json"), "generate", io);
}

}  // namespace aisle::engine
