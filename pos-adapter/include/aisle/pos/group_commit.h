#pragma once
// Group commit for the HTTP ingest: plain sales (TransactionRepository::batchable) posted by many
// concurrent requests go to writer threads (GroupCommitOptions::writers); a free one takes what has arrived (up to `maxSales`, waiting
// at most `maxWait` after the oldest arrival) and stores it with writeBatch() in one database
// transaction. Each caller gets its own sale's outcome, exactly as write() would have given it:
// a database transaction and its fsync per batch instead of per sale is what makes the rate.
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/pos/repository.h"

namespace aisle::pos {

struct GroupCommitOptions {
  std::size_t maxSales = 256;                      // per database transaction
  std::chrono::microseconds maxWait{200};          // after the oldest waiting sale arrived
  // Writer threads, each with its connection: with one, PostgreSQL works on one core while the other
  // waits; batches of different keys are written side by side (advisory locks keep them apart).
  std::size_t writers = 2;
};

class GroupCommitWriter {
 public:
  // Opens one connection per writer thread (PgSession is one connection for one thread).
  GroupCommitWriter(std::string databaseUrl, std::shared_ptr<StoreCache> stores, GroupCommitOptions options,
                    Logger log);
  ~GroupCommitWriter();  // stops the thread; sales still waiting get an exception
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Blocks until the sale's batch is written. `t` must be batchable() and outlive the call.
  // Throws what the database threw for this sale (isDatabaseUnavailable(): nothing of it was stored).
  // Two sales with one natural key never share a batch, nor are they written by two writers at once:
  // the later waits until the earlier's batch is written, so it sees it as stored (duplicate or
  // conflict, as one by one).
  WriteResult write(const Transaction& t, std::int64_t storeId, const WriteOptions& options);

  // The sales of one document, queued together so that they can share a batch (write() one after the
  // other would give each its own). Each gets its result or what the database threw for it.
  struct Sale {
    const Transaction* transaction;
    std::int64_t storeId;
    const WriteOptions* options;  // outlives the call
  };
  struct Outcome {
    WriteResult result;
    std::exception_ptr error;  // set: the sale's write failed (isDatabaseUnavailable(): nothing stored)
  };
  std::vector<Outcome> writeAll(const std::vector<Sale>& sales);

  struct Stats {
    std::uint64_t batches = 0;
    std::uint64_t sales = 0;
    std::uint64_t fallbacks = 0;  // batches written one by one after an error in the batch
  };
  Stats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aisle::pos
