#include "aisle/pos/cli.h"

#include <algorithm>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <optional>
#include <ostream>
#include <thread>

#include "aisle/common/cli.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"
#include "aisle/pos/config.h"
#include "aisle/pos/import_writers.h"
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

// Import pipeline: files are read and parsed on worker threads, up to kParseAhead documents ahead,
// while ImportWriters writes the previous ones: parsing 19 KB of POSLog a sale costs as much CPU
// as PostgreSQL storing it, so done in turn each side waits for the other. Results are taken in file
// order (take(i)) and written as a one-thread import would (import_writers.h), so document order,
// the summary and idempotency are those of a one-thread import.
// A worker needs the database only for a store not cached yet: its own connection, the shared cache.
class ParseAhead {
 public:
  static constexpr std::size_t kParseAhead = 4;

  struct Parsed {
    bool readable = true;
    Result<ParsedDocument> doc = fail("not parsed");
    std::exception_ptr error;  // what the parse threw (the database went away during a store lookup)
  };

  ParseAhead(const std::vector<std::filesystem::path>& files, std::size_t threads, const std::string& url,
             std::shared_ptr<StoreCache> stores, const IngestConfig& config, const Logger& log)
      : files_(files), slots_(files.size()) {
    for (std::size_t t = 0; t < threads; ++t) {
      workers_.emplace_back([this, url, stores, config, log] { work(url, stores, config, log); });
    }
  }
  ~ParseAhead() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  ParseAhead(const ParseAhead&) = delete;
  ParseAhead& operator=(const ParseAhead&) = delete;

  // The parse of file i, once ready; call with i = 0, 1, 2... in order.
  Parsed take(std::size_t i) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return slots_[i].has_value(); });
    Parsed p = std::move(*slots_[i]);
    slots_[i].reset();
    taken_ = i + 1;
    cv_.notify_all();
    return p;
  }

 private:
  void work(const std::string& url, std::shared_ptr<StoreCache> stores, const IngestConfig& config, const Logger& log) {
    PgSession session(url, log);
    TransactionRepository repository(session, std::move(stores));
    TimeZoneDatabase zones;
    IngestService ingest(repository, zones, config, log);
    for (;;) {
      std::size_t i = 0;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || next_ >= files_.size() || next_ < taken_ + kParseAhead; });
        if (stopping_ || next_ >= files_.size()) return;
        i = next_++;
      }
      Parsed p;
      const std::optional<std::string> bytes = readWholeFile(files_[i]);
      if (!bytes) {
        p.readable = false;
      } else {
        try {
          p.doc = ingest.parse(*bytes);
        } catch (...) {
          p.error = std::current_exception();
        }
      }
      {
        std::lock_guard lock(mu_);
        slots_[i] = std::move(p);
      }
      cv_.notify_all();
    }
  }

  const std::vector<std::filesystem::path>& files_;
  std::vector<std::optional<Parsed>> slots_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::size_t next_ = 0;   // the next file a worker takes
  std::size_t taken_ = 0;  // files the writer has taken
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

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
    auto stores = std::make_shared<StoreCache>();
    // Two parsers and two writers on two cores, PostgreSQL beside them; one file alone gains
    // nothing from a thread.
    const std::size_t threads = files->size() > 1 ? 2 : 1;
    ParseAhead ahead(*files, threads, url, stores, config.ingest, log);
    ImportWriters writers(threads, url, stores, config.ingest, log);
    for (std::size_t i = 0; i < files->size(); ++i) {
      const auto& f = (*files)[i];
      ParseAhead::Parsed p = ahead.take(i);
      if (!p.readable) {
        err << "aisleone-pos-adapter: cannot read " << f.string() << "\n";
        return 1;
      }
      if (p.error) std::rethrow_exception(p.error);
      const std::string origin = f.filename().string();
      if (!p.doc) {
        IngestSummary rejected;
        ++rejected.rejected;
        rejected.errors.push_back(origin + ": " + p.doc.message());
        log.with("source", origin).warn("document rejected: " + p.doc.message());
        writers.record(i, std::move(rejected));
        continue;
      }
      writers.write(i, std::move(*p.doc), origin);
    }
    const IngestSummary total = writers.finish();
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
