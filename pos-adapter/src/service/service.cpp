#include "aisle/pos/service.h"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "aisle/common/backoff.h"
#include "aisle/common/hmac.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"
#include "aisle/pos/group_commit.h"
#include "aisle/pos/poslog.h"
#include "aisle/pos/repository.h"
#include "aisle/pos/swipe.h"

namespace aisle::pos {
namespace {

constexpr std::string_view kSpoolMagic = "aisle-pos-tx/1 ";
constexpr std::size_t kReplayBatch = 64;  // an ack costs two fsyncs: one per batch, not per sale

std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a >= 0 ? a / b : (a - b + 1) / b; }

std::string isoUtc(std::int64_t ms) {
  const std::int64_t days = floorDiv(ms, 86'400'000);
  const std::int64_t rest = ms - days * 86'400'000;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02dZ", formatDate(days).c_str(), static_cast<int>(rest / 3'600'000),
                static_cast<int>(rest / 60'000 % 60), static_cast<int>(rest / 1000 % 60));
  return buf;
}

}  // namespace

std::pair<std::int64_t, std::int64_t> storeDay(const TimeZone& zone, std::int64_t nowMs) {
  const std::int64_t utcS = floorDiv(nowMs, 1000);
  const std::int64_t localS = utcS + zone.offsetAt(utcS);
  const std::int64_t dayStart = floorDiv(localS, 86'400) * 86'400;
  return {zone.localToUtc(dayStart) * 1000, zone.localToUtc(dayStart + 86'400) * 1000};
}

std::string encodeSpooled(const Transaction& t, bool zoneLess) {
  // The loyalty card travels unmasked (the sale must reach its member); a payment card never got
  // this far (the parsers drop it), and nothing of Tender is read.
  std::string json = toJson(t, /*maskCard=*/false);
  if (zoneLess) {
    // occurredAtMs holds the civil time as if UTC: without its 'Z' the replay reads it in the
    // store's zone, exactly as the original document would have been read.
    constexpr std::string_view kField = "\"ended_at\":\"";
    const auto at = json.find(kField);
    const auto end = at == std::string::npos ? at : json.find('"', at + kField.size());
    if (end != std::string::npos && json[end - 1] == 'Z') json.erase(end - 1, 1);
  }
  return std::string(kSpoolMagic) + t.source + "\n" + json;
}

Result<SpooledTransaction> decodeSpooled(std::string_view payload) {
  if (payload.substr(0, kSpoolMagic.size()) != kSpoolMagic) return fail("not a spooled transaction");
  payload.remove_prefix(kSpoolMagic.size());
  const auto nl = payload.find('\n');
  if (nl == std::string_view::npos) return fail("spooled transaction has no body");
  return SpooledTransaction{std::string(payload.substr(0, nl)), std::string(payload.substr(nl + 1))};
}

struct PosService::Impl {
  PosConfig config;
  std::string url;
  const Clock& clock;
  Logger log;
  std::shared_ptr<MetricsRegistry> metrics;
  std::shared_ptr<StoreCache> stores = std::make_shared<StoreCache>();
  TimeZoneDatabase zones;
  // Requests fail fast when the database is away (one attempt): the sale goes to the spool at once
  // instead of keeping the lane waiting through a retry schedule.
  PgPool pool;
  std::map<PgSession*, std::unique_ptr<TransactionRepository>> repositories;
  PgSession replaySession;
  TransactionRepository replayRepository;
  PgSession dropSession;  // PgSession is one connection for one thread at a time
  TransactionRepository dropRepository;
  std::unique_ptr<GroupCommitWriter> group;  // null: group_commit_max_sales = 1
  std::unique_ptr<Spool> spool;
  std::mutex appendMu;  // the spool takes one producer at a time; HTTP threads are many
  std::unique_ptr<DropFolder> drop;
  std::unique_ptr<http::Server> server;
  std::thread replayer, dropper;
  std::mutex mu;
  std::condition_variable cv;  // stop requests and "spool drained"
  bool stopping = false;
  std::atomic<bool> ready{false};  // schema migrated and stores loaded at least once
  std::atomic<bool> dbUp{false};

  Counter& refusedPayment;
  Gauge& spoolDepth;
  Gauge& dbUpGauge;
  Counter& replayed;

  Impl(PosConfig c, std::string u, const Clock& cl, Logger l, std::shared_ptr<MetricsRegistry> m)
      : config(std::move(c)),
        url(std::move(u)),
        clock(cl),
        log(std::move(l)),
        metrics(std::move(m)),
        pool(url, static_cast<std::size_t>(config.dbPoolSize), log, PgRetry{1, std::chrono::milliseconds(50), std::chrono::milliseconds(50)}),
        replaySession(url, log.with("part", "replay"), PgRetry{1, std::chrono::milliseconds(50), std::chrono::milliseconds(50)}),
        replayRepository(replaySession, stores),
        dropSession(url, log.with("part", "drop"), PgRetry{1, std::chrono::milliseconds(50), std::chrono::milliseconds(50)}),
        dropRepository(dropSession, stores),
        refusedPayment(metrics->counter("aisle_pos_payment_cards_refused_total",
                                        "payment cards presented on the loyalty reader (refused, never stored)")),
        spoolDepth(metrics->gauge("aisle_pos_spool_depth", "sales waiting in the spool for the database")),
        dbUpGauge(metrics->gauge("aisle_pos_database_up", "1 when the last database call succeeded")),
        replayed(metrics->counter("aisle_pos_spool_replayed_total", "spooled sales stored after an outage")) {
    // One repository per pooled connection, all sharing the store cache.
    std::vector<PgPool::Lease> leases;
    for (std::int64_t i = 0; i < config.dbPoolSize; ++i) leases.push_back(pool.lease());
    for (auto& lease : leases) repositories[&*lease] = std::make_unique<TransactionRepository>(*lease, stores);
    if (config.groupCommitMaxSales > 1) {
      GroupCommitOptions go;
      go.maxSales = static_cast<std::size_t>(config.groupCommitMaxSales);
      go.maxWait = std::chrono::microseconds(config.groupCommitWaitUs);
      go.writers = static_cast<std::size_t>(config.groupCommitWriters);
      group = std::make_unique<GroupCommitWriter>(url, stores, go, log.with("part", "group-commit"));
    }
  }

  void count(const char* outcome, std::uint64_t n = 1) {
    if (n) metrics->counter("aisle_pos_transactions_total", "sales by outcome", std::string("outcome=\"") + outcome + "\"").inc(n);
  }

  void markDb(bool up) {
    if (dbUp.exchange(up) != up) log.warn(up ? "database is back" : "database unavailable: spooling sales");
    dbUpGauge.set(up ? 1 : 0);
  }

  std::uint64_t backlog() const { return spool ? spool->stats().depthRecords : 0; }

  // Migrations and the store list: the first thing after the database is reachable.
  void prepareDatabase() {
    if (ready) return;
    {
      pqxx::connection c(url);
      auto m = migrate(c, embeddedMigrations(), log);
      if (!m) throw std::runtime_error("migration failed: " + m.message());
    }
    const auto n = replayRepository.loadStores(config.ingest.org);
    log.info("database ready; " + std::to_string(n) + " stores cached");
    ready = true;
    markDb(true);
  }

  Status spoolTransaction(const Transaction& t, bool zoneLess) {
    std::lock_guard lock(appendMu);
    auto seq = spool->append(encodeSpooled(t, zoneLess));
    if (!seq) return seq.error();
    spoolDepth.set(static_cast<double>(spool->stats().depthRecords));
    return okStatus();
  }

  // ------------------------------------------------------------------ POST /v1/poslog, /v1/transactions

  http::Response post(const http::Request& r, DocumentFormat format) {
    const TerminalKey& terminal = config.terminals.at(r.principal);
    const Logger tlog = log.with("terminal", terminal.keyId);
    // The connection is held only while this request needs one of its own: parsing (a zone-less time
    // in a store not cached), and sales the group writer does not take. A request of plain sales gives
    // it back before waiting for its batch, so the pool does not bound how many sales share a batch.
    std::optional<PgPool::Lease> lease(pool.lease());
    IngestService ingest(*repositories.at(&**lease), zones, config.ingest, tlog);
    // Only a zone-less time in a store not cached since start needs the database to parse; with the
    // database away such a sale is spooled with its time still zone-less.
    std::set<std::string> zoneLess;
    Result<ParsedDocument> doc = ingest.parse(r.body, format, spool ? &zoneLess : nullptr);
    if (!doc) {
      count("rejected");
      tlog.warn("document rejected: " + doc.message());
      return http::Response::error(400, doc.message());
    }
    // A terminal posts for its own store only: checked for every sale before any is stored.
    for (const auto& item : doc->items) {
      if (!item.transaction) continue;
      const auto& k = item.transaction->key;
      if (k.store != terminal.store || k.org != config.ingest.org) {
        tlog.warn("refused a sale for store " + k.store + ": the terminal belongs to store " + terminal.store);
        return http::Response::error(403, "terminal " + terminal.keyId + " may post only for store " + terminal.store);
      }
    }
    // Which sales the group writer takes (plain, store known); the store lookups are cache hits but for
    // a store added since start, hence before the connection goes back.
    std::vector<std::optional<StoreInfo>> grouped(doc->items.size());
    bool ownWrites = false;
    for (std::size_t i = 0; i < doc->items.size(); ++i) {
      const auto& item = doc->items[i];
      if (!item.transaction) continue;
      if (group && !zoneLess.count(item.transaction->key.str())) {
        try {
          grouped[i] = ingest.batchableStore(item);
        } catch (const std::exception& e) {
          if (!isDatabaseUnavailable(e)) throw;  // left to store() below, which spools it
        }
      }
      if (!grouped[i]) ownWrites = true;
    }
    if (!ownWrites) lease.reset();
    IngestSummary sum;
    bool spooling = !ready || backlog() > 0 || !zoneLess.empty();
    // The document's grouped sales go to the group writer together (they can share a batch); their
    // outcomes are recorded in document order below.
    std::vector<std::optional<GroupCommitWriter::Outcome>> groupedOutcome(doc->items.size());
    if (!spooling) {
      std::vector<WriteOptions> options(doc->items.size());
      std::vector<GroupCommitWriter::Sale> sales;
      std::vector<std::size_t> at;
      for (std::size_t i = 0; i < doc->items.size(); ++i) {
        if (!grouped[i]) continue;
        options[i] = ingest.writeOptions(*grouped[i]);
        sales.push_back({&*doc->items[i].transaction, grouped[i]->storeId, &options[i]});
        at.push_back(i);
      }
      if (!sales.empty()) {
        auto outcomes = group->writeAll(sales);
        for (std::size_t k = 0; k < at.size(); ++k) groupedOutcome[at[k]] = std::move(outcomes[k]);
      }
    }
    for (std::size_t i = 0; i < doc->items.size(); ++i) {
      const auto& item = doc->items[i];
      const bool provisional = item.transaction && zoneLess.count(item.transaction->key.str()) > 0;
      if (groupedOutcome[i] && !groupedOutcome[i]->error) {  // stored (or found stored) already
        ingest.recordWritten(item, groupedOutcome[i]->result, "http", sum);
        markDb(true);
        continue;
      }
      if (item.transaction && (spooling || provisional)) {
        if (!spool) return http::Response::error(503, "database unavailable; retry");
        if (auto s = spoolTransaction(*item.transaction, provisional); !s) {
          tlog.error("spool append failed: " + s.message());
          return http::Response::error(503, "database unavailable and the spool refused the sale; retry");
        }
        ++sum.spooled;
        sum.results.push_back(TransactionResult{TransactionResult::Status::Spooled, item.transaction->key.str(), 0, 0, ""});
        continue;
      }
      try {
        // A grouped sale got its outcome above (not spooling) or was spooled (spooling): here only its
        // failure is left to handle.
        if (groupedOutcome[i]) {
          std::rethrow_exception(groupedOutcome[i]->error);
        } else {
          ingest.store(item, "http", sum);
        }
        if (item.transaction) markDb(true);
      } catch (const std::exception& e) {
        if (!isDatabaseUnavailable(e)) throw;
        markDb(false);
        spooling = true;
        if (!spool) return http::Response::error(503, "database unavailable; retry");
        if (auto s = spoolTransaction(*item.transaction, false); !s) {
          tlog.error("spool append failed: " + s.message());
          return http::Response::error(503, "database unavailable and the spool refused the sale; retry");
        }
        ++sum.spooled;
        sum.results.push_back(TransactionResult{TransactionResult::Status::Spooled, item.transaction->key.str(), 0, 0, ""});
      }
    }
    count("stored", static_cast<std::uint64_t>(sum.transactions));
    count("duplicate", static_cast<std::uint64_t>(sum.duplicates));
    count("conflict", static_cast<std::uint64_t>(sum.conflicts));
    count("rejected", static_cast<std::uint64_t>(sum.rejected - sum.conflicts));
    count("spooled", static_cast<std::uint64_t>(sum.spooled));
    int status = 200;
    if (sum.conflicts > 0) {
      status = 409;
    } else if (sum.spooled > 0) {
      status = 202;
    } else if (sum.rejected > 0 && sum.transactions + sum.duplicates == 0) {
      status = 422;
    }
    return http::Response::json(status, sum.detailedJson());
  }

  // ------------------------------------------------------------------ GET /v1/cards/{card}/coupons

  http::Response coupons(const http::Request& r) {
    const TerminalKey& terminal = config.terminals.at(r.principal);
    const std::string storeRef = r.queryParam("store").value_or(terminal.store);
    if (storeRef != terminal.store) {
      return http::Response::error(403, "terminal " + terminal.keyId + " may look up cards only in store " + terminal.store);
    }
    auto card = parseCardInput(r.params.at("card"), config.swipe);
    if (!card) {
      // The message never contains the digits (swipe.h); the number itself is dropped here.
      if (isPaymentCardRefusal(card.error())) {
        refusedPayment.inc();
        log.with("terminal", terminal.keyId).warn("payment card presented at the loyalty reader: refused");
        return http::Response::error(422, card.message());
      }
      return http::Response::error(400, card.message());
    }
    try {
      auto lease = pool.lease();
      auto& repo = *repositories.at(&*lease);
      auto store = repo.findStore(config.ingest.org, storeRef);
      if (!store) return http::Response::error(404, "unknown store '" + storeRef + "'");
      auto zone = zones.get(store->timeZone);
      if (!zone) return http::Response::error(500, "store time zone: " + zone.message());
      CouponQuery q;
      q.card = card->str();
      q.storeId = store->storeId;
      q.nowMs = clock.nowUnixMs();
      std::tie(q.dayStartMs, q.dayEndMs) = storeDay(**zone, q.nowMs);
      q.maxCoupons = static_cast<int>(config.maxCouponsPerSwipe);
      const MemberCoupons mc = repo.activeCoupons(q);
      markDb(true);
      std::string body = "{\"card\":\"" + card->masked() + "\",\"member\":" +
                         (mc.memberId ? std::to_string(*mc.memberId) : std::string("null"));
      const int limit = config.ingest.redemptionsPerMemberPerDay;
      const std::int64_t left = limit > 0 ? std::max<std::int64_t>(0, limit - mc.redeemedToday) : -1;
      body += ",\"redemptions_left_today\":" + (limit > 0 ? std::to_string(left) : std::string("null"));
      body += ",\"coupons\":[";
      bool first = true;
      if (left != 0) {
        for (const auto& c : mc.coupons) {
          body += first ? "{" : ",{";
          first = false;
          body += "\"code\":\"" + http::jsonEscape(c.code) + "\",\"campaign\":" + std::to_string(c.campaignId);
          if (c.valueMinor) body += ",\"value_minor\":" + std::to_string(*c.valueMinor);
          if (c.productId) body += ",\"product\":" + std::to_string(*c.productId);
          body += ",\"reason\":\"" + http::jsonEscape(c.reason) + "\",\"valid_to\":\"" + isoUtc(c.validToMs) + "\"}";
        }
      }
      return http::Response::json(200, body + "]}");
    } catch (const std::exception& e) {
      if (!isDatabaseUnavailable(e)) throw;
      markDb(false);
      return http::Response::error(503, "coupons unavailable: sell without coupons");
    }
  }

  // ------------------------------------------------------------------ replay

  // Stores what the spool holds, in order, one batch at a time; throws when the database goes away.
  void drainOnce() {
    auto batch = spool->peek(kReplayBatch);
    if (!batch) throw std::runtime_error("spool: " + batch.message());
    if (batch->empty()) return;
    IngestService ingest(replayRepository, zones, config.ingest, log.with("part", "replay"));
    std::uint64_t done = 0;
    for (const auto& rec : *batch) {
      IngestSummary sum;
      auto sp = decodeSpooled(rec.payload);
      try {
        // A zone-less time needs the store's zone: the parse can meet an outage too.
        Result<ParsedDocument> doc = sp ? ingest.parse(sp->json, DocumentFormat::Json) : Result<ParsedDocument>(sp.error());
        if (!doc || doc->items.size() != 1) {
          ++sum.rejected;
          sum.errors.push_back(doc ? "spooled record holds " + std::to_string(doc->items.size()) + " sales" : doc.message());
        } else {
          auto item = doc->items.front();
          if (item.transaction) item.transaction->source = sp->source;
          ingest.store(item, "spool #" + std::to_string(rec.seq), sum);
        }
      } catch (const std::exception& e) {
        if (isDatabaseUnavailable(e)) {
          if (done) ack(done);
          throw;
        }
        ++sum.rejected;
        sum.errors.push_back(std::string("spool #") + std::to_string(rec.seq) + ": " + e.what());
      }
      if (sum.rejected > sum.conflicts) keepRejected(rec, sum);  // conflicts are already quarantined
      replayed.inc();
      done = rec.seq;
    }
    ack(done);
  }

  void ack(std::uint64_t seq) {
    if (auto s = spool->ack(seq); !s) throw std::runtime_error("spool ack: " + s.message());
    spoolDepth.set(static_cast<double>(spool->stats().depthRecords));
    cv.notify_all();
  }

  // A spooled sale the database refuses (e.g. its store was deleted) must not block the queue, and was
  // acknowledged to the till, so it is kept beside the spool with its reason for a person to look at.
  void keepRejected(const SpoolRecord& rec, const IngestSummary& sum) {
    const std::filesystem::path dir = config.spool.dir + ".rejected";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::ofstream out(dir / ("spool-" + std::to_string(rec.seq) + ".txt"));
    for (const auto& e : sum.errors) out << "# " << maskSensitive(e) << "\n";
    out << rec.payload << "\n";
    log.error("spooled sale #" + std::to_string(rec.seq) + " rejected on replay; kept in " + dir.string());
  }

  bool waitStopping(std::chrono::milliseconds d) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, d, [&] { return stopping; });
  }

  void replayLoop() {
    Backoff backoff(std::chrono::milliseconds(100), std::chrono::seconds(5), reinterpret_cast<std::uintptr_t>(this));
    for (;;) {
      {
        std::lock_guard lock(mu);
        if (stopping) return;
      }
      try {
        prepareDatabase();
        if (spool && backlog() > 0) {
          drainOnce();
          markDb(true);
          backoff.reset();
          continue;
        }
        backoff.reset();
        // Appends wake the spool's waiter at once; the timeout only bounds how late stop() is seen.
        if (spool) {
          spool->waitForRecords(std::chrono::milliseconds(200));
        } else if (waitStopping(std::chrono::milliseconds(500))) {
          return;
        }
      } catch (const std::exception& e) {
        if (isDatabaseUnavailable(e)) {
          markDb(false);
        } else {
          log.error(std::string("replay: ") + e.what());
        }
        if (waitStopping(backoff.next())) return;
      }
    }
  }

  void dropLoop() {
    for (;;) {
      try {
        scanDrop();
      } catch (const std::exception& e) {
        log.error(std::string("drop folder: ") + e.what());
      }
      if (waitStopping(config.dropPoll)) return;
    }
  }

  DropFolder::Scan scanDrop() {
    std::lock_guard lock(dropMu);  // the thread and scanDropFolder() callers share the connection
    IngestService ingest(dropRepository, zones, config.ingest, log.with("part", "drop"));
    return drop->scanOnce([&](std::string_view bytes, const std::string& origin) { return ingest.ingest(bytes, origin); });
  }
  std::mutex dropMu;
};

PosService::PosService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PosService::~PosService() { stop(); }

Result<std::unique_ptr<PosService>> PosService::create(PosConfig config, std::string databaseUrl, const Clock& clock,
                                                       Logger log, std::shared_ptr<MetricsRegistry> metrics) {
  auto impl = std::make_unique<Impl>(std::move(config), std::move(databaseUrl), clock, std::move(log), std::move(metrics));
  if (!impl->config.spool.dir.empty()) {
    auto s = Spool::open(impl->config.spool);
    if (!s) return fail("spool: " + s.message());
    impl->spool = std::move(*s);
    impl->spoolDepth.set(static_cast<double>(impl->spool->stats().depthRecords));
  }
  if (!impl->config.dropDir.empty()) {
    try {
      impl->drop = std::make_unique<DropFolder>(impl->config.dropDir, impl->log.with("part", "drop"));
    } catch (const std::exception& e) {
      return fail("drop folder: " + std::string(e.what()));
    }
  }
  return std::unique_ptr<PosService>(new PosService(std::move(impl)));
}

void PosService::start(bool withHttp) {
  Impl& d = *impl_;
  // One synchronous try, so a healthy start has its store cache before the first sale; a database
  // that is down is the replay thread's job, and the lanes are served from the spool meanwhile.
  try {
    d.prepareDatabase();
  } catch (const std::exception& e) {
    if (!isDatabaseUnavailable(e)) throw;
    d.markDb(false);
  }
  // The replay thread starts before the server: a spool left by the previous run goes first.
  d.replayer = std::thread([&d] { d.replayLoop(); });
  if (d.drop) d.dropper = std::thread([&d] { d.dropLoop(); });
  if (!withHttp) return;

  auto verifier = std::make_shared<RequestVerifier>(
      [&d](const std::string& keyId) -> std::optional<std::string> {
        auto it = d.config.terminals.find(keyId);
        if (it == d.config.terminals.end()) return std::nullopt;
        return it->second.secret;
      },
      d.clock, d.config.signatureWindow);
  const auto auth = http::hmacAuthenticator(verifier);
  http::Router router;
  router.add("POST", "/v1/poslog", auth, [&d](const http::Request& r) { return d.post(r, DocumentFormat::PosLog); });
  router.add("POST", "/v1/transactions", auth, [&d](const http::Request& r) { return d.post(r, DocumentFormat::Json); });
  router.add("GET", "/v1/cards/{card}/coupons", auth, [&d](const http::Request& r) { return d.coupons(r); });
  http::ServerOptions so;
  so.host = d.config.listenHost;
  so.port = static_cast<std::uint16_t>(d.config.listenPort);
  so.maxBodyBytes = d.config.ingest.limits.maxBytes;
  so.maxThreads = static_cast<int>(d.config.httpThreads);
  so.component = "pos";
  d.server = std::make_unique<http::Server>(std::move(router), so, d.metrics, d.log.with("part", "http"), [&d] {
    return http::Response::json(200, std::string("{\"status\":\"ok\",\"database\":\"") + (d.dbUp ? "up" : "down") +
                                         "\",\"spool_depth\":" + std::to_string(d.backlog()) + "}");
  });
  d.server->start();
}

void PosService::stop() {
  if (!impl_) return;
  Impl& d = *impl_;
  if (d.server) d.server->stop();
  {
    std::lock_guard lock(d.mu);
    d.stopping = true;
  }
  d.cv.notify_all();
  if (d.replayer.joinable()) d.replayer.join();
  if (d.dropper.joinable()) d.dropper.join();
  if (d.spool) (void)d.spool->sync();
  if (d.group) {
    const auto g = d.group->stats();
    if (g.batches) {
      d.log.info("group commit: " + std::to_string(g.sales) + " sales in " + std::to_string(g.batches) +
                 " database transactions, " + std::to_string(g.fallbacks) + " written one by one after an error");
    }
  }
}

std::uint16_t PosService::port() const { return impl_->server ? impl_->server->port() : 0; }
bool PosService::databaseUp() const { return impl_->dbUp; }
GroupCommitWriter::Stats PosService::groupCommitStats() const {
  return impl_->group ? impl_->group->stats() : GroupCommitWriter::Stats{};
}
SpoolStats PosService::spoolStats() const { return impl_->spool ? impl_->spool->stats() : SpoolStats{}; }

bool PosService::waitUntilDrained(std::chrono::milliseconds timeout) {
  Impl& d = *impl_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(d.mu);
  // ack() notifies without holding mu, so a wake-up can slip between the check and the wait: short
  // slices bound the cost of a missed one.
  while (d.backlog() > 0) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    d.cv.wait_for(lock, std::chrono::milliseconds(20));
  }
  return true;
}

DropFolder::Scan PosService::scanDropFolder() {
  if (!impl_->drop) return {};
  return impl_->scanDrop();
}

}  // namespace aisle::pos
