#include "aisle/pos/cli.h"

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"
#include "aisle/pos/config.h"
#include "aisle/pos/ingest.h"
#include "aisle/pos/service.h"

namespace aisle::pos {
namespace {
constexpr const char* kUsage =
    "usage: aisleone-pos-adapter [--config FILE] COMMAND\n"
    "POS-facing service: POSLog/JSON ingest, coupons at swipe, redemptions.\n"
    "\n"
    "  import [--org ORG] [--create-stores TZ] FILE...|DIR\n"
    "        POSLog XML or JSON transactions into the database (AISLE_DB or the config's database.url);\n"
    "        prints {\"transactions\":N,\"duplicates\":N,\"rejected\":N,\"lines\":N,\"redemptions\":N}\n"
    "  serve            the POS HTTP service (needs --config: terminals, spool, drop folder); prints\n"
    "                   {\"listening\":PORT} once it takes requests; stops on SIGTERM/SIGINT\n"
    "  watch [--once] DIR\n"
    "                   drop-folder mode only: ingest files put in DIR, move them to DIR/done or\n"
    "                   DIR/failed (with a .reason file)\n"
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

// Startup order, and why:
//  1. block SIGTERM/SIGINT before any thread exists, so only sigwait() below receives them;
//  2. open the spool before the server: a sale must never be acknowledged without a place to keep it;
//  3. PosService::start tries the database once, starts the replay (a spool left by a crash goes
//     first), then the server; the port is printed only when requests are taken.
int serve(const CommandLine& cl, PosConfig config, std::ostream& out, std::ostream& err) {
  const bool watchOnly = cl.positional().front() == "watch";
  if (watchOnly) {
    if (cl.positional().size() != 2) {
      err << "aisleone-pos-adapter: usage: watch [--once] DIR\n";
      return 2;
    }
    config.dropDir = cl.positional()[1];
  } else if (config.terminals.empty()) {
    err << "aisleone-pos-adapter: serve needs --config FILE with at least one [terminal.<key id>]\n";
    return 2;
  }
  const std::string url = databaseUrl(config.databaseUrl);
  if (url.empty()) {
    err << "aisleone-pos-adapter: no database: set AISLE_DB or database.url in --config\n";
    return 2;
  }
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  const Logger log = stderrLogger("pos-adapter");
  SystemClock clock;
  try {
    auto service = PosService::create(config, url, clock, log, std::make_shared<MetricsRegistry>());
    if (!service) {
      err << "aisleone-pos-adapter: " << service.message() << "\n";
      return 1;
    }
    if (watchOnly && cl.has("once")) {
      (*service)->start(/*http=*/false);
      const auto scan = (*service)->scanDropFolder();
      (*service)->stop();
      out << "{\"done\":" << scan.done << ",\"failed\":" << scan.failed << ",\"deferred\":" << scan.deferred << "}\n";
      return scan.deferred > 0 ? 1 : 0;
    }
    (*service)->start(/*http=*/!watchOnly);
    if (!watchOnly) out << "{\"listening\":" << (*service)->port() << "}" << std::endl;
    int sig = 0;
    sigwait(&stopSignals, &sig);
    log.info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    (*service)->stop();
    return 0;
  } catch (const std::exception& e) {
    err << "aisleone-pos-adapter: " << maskSensitive(e.what()) << "\n";
    return 1;
  }
}

}  // namespace

int runCli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto cl = CommandLine::parse(args, {"config", "org", "create-stores"}, {"help", "version", "check-config", "once"});
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
  if (cl->positional().front() == "serve" || cl->positional().front() == "watch") {
    return serve(*cl, std::move(config), out, err);
  }
  err << "aisleone-pos-adapter: unknown command '" << cl->positional().front() << "' (see --help)\n";
  return 2;
}

}  // namespace aisle::pos
