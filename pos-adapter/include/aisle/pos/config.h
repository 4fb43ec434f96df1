#pragma once
// The one configuration of aisleone-pos-adapter, parsed and validated once (common/config.h format).
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aisle/common/result.h"
#include "aisle/common/spool.h"
#include "aisle/pos/ingest.h"
#include "aisle/pos/swipe.h"

namespace aisle::pos {

// A POS terminal (or a store server posting for its lanes): its HMAC key and the one store it may
// post for and look cards up in.
struct TerminalKey {
  std::string keyId;
  std::string secret;  // raw bytes (configured as hex)
  std::string store;   // the POS's RetailStoreID (stores.external_ref)
};

struct PosConfig {
  std::string databaseUrl;  // AISLE_DB overrides
  IngestConfig ingest;

  // serve
  std::string listenHost = "127.0.0.1";
  std::int64_t listenPort = 8080;  // 0: any free port (printed on stdout as {"listening":PORT})
  std::int64_t httpThreads = 16;
  std::int64_t dbPoolSize = 4;
  // Group commit of plain sales from concurrent POSTs (group_commit.h): sales per database transaction
  // (1: every sale alone, no writer thread) and the longest wait (microseconds) for more to arrive.
  std::int64_t groupCommitMaxSales = 256;
  // 200 us: on this 2-core machine 1000 gave 2,561-3,147 sales/s at one sale a POST, 200 3,317 and
  // 100-300 3,032-3,433 (bench pos_ingest --group-wait-us); batches shrink from 5.7 to 4.7 sales, and
  // the tills wait less. At 10 sales a POST the wait hardly matters (documents fill the batches).
  std::int64_t groupCommitWaitUs = 200;
  std::int64_t groupCommitWriters = 2;  // writer threads, one connection each (group_commit.h)
  std::chrono::milliseconds signatureWindow{std::chrono::minutes(5)};
  std::map<std::string, TerminalKey> terminals;  // by key id
  SwipeOptions swipe;
  std::int64_t maxCouponsPerSwipe = 50;

  // offline
  SpoolOptions spool;  // spool.dir empty: no spool, a POST while the database is down answers 503
  std::string dropDir;  // empty: no drop folder
  std::chrono::milliseconds dropPoll{std::chrono::seconds(2)};
};

// Example:
//   [database]
//   url = "host=/tmp/pg dbname=aisle connect_timeout=2"
//   [ingest]
//   org = "default"
//   default_currency = "USD"
//   card_check_digit = "none"          # none | luhn | gs1
//   unknown_card = "anonymous"         # anonymous | anonymous-without-card
//   unknown_store = "reject"           # reject | create
//   new_store_time_zone = "UTC"
//   max_document_bytes = 8388608
//   redemptions_per_member_per_day = 5 # 0: no limit
//   [server]
//   host = "127.0.0.1"
//   port = 8080
//   threads = 16
//   db_pool = 4
//   group_commit_max_sales = 256     # 1: no group commit
//   group_commit_wait_us = 200
//   group_commit_writers = 2
//   signature_window = "5m"
//   [swipe]
//   loyalty_prefixes = ["6012345"]
//   max_coupons = 50
//   [spool]
//   dir = "/var/lib/aisleone/pos-spool"
//   fsync = "always"                   # always | batch[:n] | never
//   max_bytes = 268435456
//   [dropfolder]
//   dir = "/var/lib/aisleone/pos-drop" # processed files go to done/, failed ones to failed/
//   poll = "2s"
//   [terminal.lane-9-1]                # the key id the terminal signs with
//   store = "9"
//   secret_hex = "00112233445566778899aabbccddeeff"
Result<PosConfig> loadPosConfig(const std::string& path);
Result<PosConfig> parsePosConfig(std::string_view text, const std::string& fileName);

}  // namespace aisle::pos
