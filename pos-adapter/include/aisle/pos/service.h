#pragma once
// `aisleone-pos-adapter serve`: the POS-facing HTTP service and its offline machinery.
//
//   POST /v1/poslog                 ARTS POSLog XML        } HMAC-signed by a terminal key; every
//   POST /v1/transactions           the JSON form (POS.md) } sale must be for the terminal's store
//   GET  /v1/cards/{card}/coupons?store=   the member's usable coupons at the swipe
//   GET  /healthz, /metrics
//
// While PostgreSQL is away a POST is kept in the durable spool (one record per normalized sale) and
// answered 202; a replay thread stores the spool in order once the database is back, and as long as
// anything is spooled new sales queue behind it, so a post-void never overtakes its sale.
// A drop folder (optional) is scanned by its own thread. Card numbers never reach a log line.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "aisle/common/clock.h"
#include "aisle/common/http.h"
#include "aisle/common/log.h"
#include "aisle/common/metrics.h"
#include "aisle/common/result.h"
#include "aisle/common/spool.h"
#include "aisle/pos/config.h"
#include "aisle/pos/group_commit.h"
#include "aisle/pos/ingest.h"
#include "aisle/pos/time_zone.h"

namespace aisle::pos {

// The store's calendar day containing `nowMs`, as [start, end) in Unix ms (23 or 25 hours long on
// daylight-saving days). Pure.
std::pair<std::int64_t, std::int64_t> storeDay(const TimeZone& zone, std::int64_t nowMs);

// A spool record: one normalized sale and where it came from. Its JSON is the documented form, so
// the replay goes through the same parser and content hash as a JSON post.
// `zoneLess`: the sale's time was written without a zone and the store's zone was unknown when it
// was spooled; it is kept zone-less and resolved on replay.
std::string encodeSpooled(const Transaction& t, bool zoneLess = false);
struct SpooledTransaction {
  std::string source;
  std::string json;
};
Result<SpooledTransaction> decodeSpooled(std::string_view payload);

// Drop-folder mode: every regular file directly in `dir` (names starting with '.' and ending in .tmp
// or .part are still being written) is ingested in name order; then it moves to done/, or to failed/
// with <name>.reason when the document or any of its sales was rejected. A file met while the
// database is away stays where it is for the next scan.
class DropFolder {
 public:
  // Throws what the database throws (isDatabaseUnavailable() tells an outage).
  using Ingest = std::function<IngestSummary(std::string_view bytes, const std::string& origin)>;
  DropFolder(std::filesystem::path dir, Logger log);
  struct Scan {
    int done = 0;
    int failed = 0;
    int deferred = 0;  // left for the next scan: the database is away
  };
  Scan scanOnce(const Ingest& ingest);
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  Logger log_;
};

class PosService {
 public:
  // Opens the spool (when configured) and prepares the connection pool; connects to nothing yet, so
  // the service starts and takes sales while PostgreSQL is down.
  static Result<std::unique_ptr<PosService>> create(PosConfig config, std::string databaseUrl, const Clock& clock,
                                                    Logger log, std::shared_ptr<MetricsRegistry> metrics);
  ~PosService();
  PosService(const PosService&) = delete;
  PosService& operator=(const PosService&) = delete;

  // Tries the database once (migrations, the store list), then starts the replay thread, the drop
  // folder thread (when configured) and, with `http`, the server.
  void start(bool http = true);
  void stop();
  std::uint16_t port() const;

  bool databaseUp() const;
  SpoolStats spoolStats() const;
  // Sales the HTTP ingest wrote through the group writer, and in how many database transactions.
  GroupCommitWriter::Stats groupCommitStats() const;
  // Blocks until nothing is left in the spool or the timeout passes; true when drained.
  bool waitUntilDrained(std::chrono::milliseconds timeout);
  // One pass over the drop folder, for `watch --once` and tests.
  DropFolder::Scan scanDropFolder();

  struct Impl;

 private:
  explicit PosService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::pos
