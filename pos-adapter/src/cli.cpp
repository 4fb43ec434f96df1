#include "aisle/pos/cli.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"
#include "aisle/pos/config.h"
#include "aisle/pos/ingest.h"

namespace aisle::pos {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-pos-adapter [--config FILE] COMMAND\n"
    "POS-facing service: POSLog/JSON ingest, coupons at swipe, redemptions.\n"
    "\n"
    "  import [--org ORG] [--create-stores TZ] FILE...|DIR\n"
    "        POSLog XML or JSON transactions into the database (AISLE_DB or the config's database.url);\n"
    "        prints {\"transactions\":N,\"duplicates\":N,\"rejected\":N,\"lines\":N,\"redemptions\":N}\n"
    "  --check-config   validate --config FILE and exit\n";

// Files in argument order; a directory contributes its regular files, sorted, recursively.
Result<std::vector<std::filesystem::path>> inputFiles(const std::vector<std::string>& args) {
  std::vector<std::filesystem::path> out;
  for (const auto& a : args) {
    std::error_code ec;
    if (std::filesystem::is_directory(a, ec)) {
      std::vector<std::filesystem::path> in;
      for (const auto& e : std::filesystem::recursive_directory_iterator(a, ec))
        if (e.is_regular_file()) in.push_back(e.path());
      if (ec) return fail("cannot list " + a + ": " + ec.message());
      std::sort(in.begin(), in.end());
      out.insert(out.end(), in.begin(), in.end());
    } else if (std::filesystem::is_regular_file(a, ec)) {
      out.emplace_back(a);
    } else {
      return fail("no such file or directory: " + a);
    }
  }
  if (out.empty()) return fail("import needs at least one file");
  return out;
}

int import(const CommandLine& cl, PosConfig config, std::ostream& out, std::ostream& err) {
  if (auto org = cl.value("org")) config.ingest.org = *org;
  if (auto tz = cl.value("create-stores")) {
    config.ingest.unknownStore = UnknownStorePolicy::Create;
    config.ingest.newStoreTimeZone = *tz;
  }
  const std::vector<std::string> args(cl.positional().begin() + 1, cl.positional().end());
  auto files = inputFiles(args);
  if (!files) {
    err << "aisleone-pos-adapter: " << files.message() << "\n";
    return 2;
  }
  const std::string url = databaseUrl(config.databaseUrl);
  if (url.empty()) {
    err << "aisleone-pos-adapter: no database: set AISLE_DB or database.url in --config\n";
    return 2;
  }
  const Logger log = stderrLogger("pos-adapter");
  try {
    {
      // The import is often the first thing run against a new database.
      pqxx::connection c(url);
      auto m = migrate(c, embeddedMigrations(), log);
      if (!m) {
        err << "aisleone-pos-adapter: migration failed: " << m.message() << "\n";
        return 1;
      }
    }
    PgSession session(url, log);
    TransactionRepository repository(session);
    TimeZoneDatabase zones;
    IngestService ingest(repository, zones, config.ingest, log);
    IngestSummary total;
    for (const auto& f : *files) {
      std::ifstream in(f, std::ios::binary);
      if (!in) {
        err << "aisleone-pos-adapter: cannot read " << f.string() << "\n";
        return 1;
      }
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      total += ingest.ingest(bytes, f.filename().string());
    }
    for (const auto& e : total.errors) err << "rejected: " << maskSensitive(e) << "\n";
    out << total.json() << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "aisleone-pos-adapter: " << maskSensitive(e.what()) << "\n";
    return 1;
  }
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config", "org", "create-stores"}, {"help", "version", "check-config"});
  if (!cl) {
    err << "aisleone-pos-adapter: " << cl.message() << "\n";
    return 2;
  }
  if (cl->has("version")) {
    out << "aisleone-pos-adapter " << versionString() << "\n";
    return 0;
  }
  PosConfig config;
  if (auto path = cl->value("config")) {
    auto c = loadPosConfig(*path);
    if (!c) {
      err << "aisleone-pos-adapter: " << c.message() << "\n";
      return 2;
    }
    config = std::move(*c);
  }
  if (cl->has("check-config")) {
    if (!cl->value("config")) {
      err << "aisleone-pos-adapter: --check-config needs --config FILE\n";
      return 2;
    }
    out << "config ok\n";
    return 0;
  }
  if (cl->has("help") || cl->positional().empty()) {
    out << kUsage;
    return 0;
  }
  if (cl->positional().front() == "import") return import(*cl, std::move(config), out, err);
  err << "aisleone-pos-adapter: unknown command '" << cl->positional().front() << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::pos
