#pragma once
// The write side of the import command: parsed documents, taken in file order, written on several
// database connections at once, with the results of a one-thread import.
//
// Why: one writer alternates with PostgreSQL (it builds a batch, then waits while the database
// stores it), so neither the database nor the writer kept a core busy. Two writers overlap.
//
// What keeps a one-thread import's results: a document goes beside the ones in flight only when
// every transaction in it is a plain sale of a known store (TransactionRepository::batchable) and
// none of its natural keys is in flight. Such a sale's outcome depends on other documents only
// through its key (which one of two same-key sales is the duplicate or the conflict), and the
// per-key advisory locks make concurrent writers of one key safe anyway. Anything else (a
// post-void, a coupon of ours, a training sale, an unknown store, a rejection's log) waits until
// every earlier document is written, and the next ones wait for it.
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/common/pg.h"
#include "aisle/pos/ingest.h"

namespace aisle::pos {

class ImportWriters {
 public:
  // `writers` threads, each with its own connection to `url`; the store cache is shared.
  ImportWriters(std::size_t writers, const std::string& url, std::shared_ptr<StoreCache> stores,
                const IngestConfig& config, const Logger& log);
  ~ImportWriters();  // waits for the writes in flight
  ImportWriters(const ImportWriters&) = delete;
  ImportWriters& operator=(const ImportWriters&) = delete;

  // Queues document `index` (0, 1, 2... in order; `origin` names it in errors). Returns once a
  // writer has taken it. Rethrows what an earlier write threw (the database went away).
  void write(std::size_t index, ParsedDocument doc, std::string origin);
  // The outcome of document `index` decided without writing it (unreadable), kept in its place.
  void record(std::size_t index, IngestSummary sum);
  // Waits for every write; the summaries added up in document order. Rethrows a write's error.
  IngestSummary finish();

 private:
  struct Job {
    std::size_t index = 0;
    ParsedDocument doc;
    std::string origin;
    std::vector<std::string> keys;  // the natural keys it holds in flight
  };
  void work(std::shared_ptr<StoreCache> stores);
  // The document's natural keys when it may be written beside others (see above), else nothing.
  std::optional<std::vector<std::string>> independentKeys(const ParsedDocument& doc);
  void waitUntilIdleLocked(std::unique_lock<std::mutex>& lock);

  std::string url_;
  IngestConfig config_;
  Logger log_;
  PgSession session_;                 // the calling thread's, for store lookups while classifying
  TransactionRepository repository_;
  TimeZoneDatabase zones_;
  IngestService classify_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> next_;                  // handed from write() to a free writer
  std::size_t inFlight_ = 0;                 // taken by a writer and not finished
  std::map<std::string, int> keysInFlight_;  // natural key -> documents holding it
  std::map<std::size_t, IngestSummary> done_;
  std::exception_ptr error_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace aisle::pos
