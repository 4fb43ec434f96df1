#pragma once
// Group commit for the HTTP ingest: plain sales (TransactionRepository::batchable) posted by many
// concurrent requests go to one writer thread, which takes what has arrived (up to `maxSales`, waiting
// at most `maxWait` after the oldest arrival) and stores it with writeBatch() in one database
// transaction. Each caller gets its own sale's outcome, exactly as write() would have given it:
// a database transaction and its fsync per batch instead of per sale is what makes the rate.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "aisle/common/log.h"
#include "aisle/pos/repository.h"

namespace aisle::pos {

struct GroupCommitOptions {
  std::size_t maxSales = 256;                      // per database transaction
  std::chrono::microseconds maxWait{1000};         // after the oldest waiting sale arrived
};

class GroupCommitWriter {
 public:
  // Opens its own connection (one writer thread; PgSession is one connection for one thread).
  GroupCommitWriter(std::string databaseUrl, std::shared_ptr<StoreCache> stores, GroupCommitOptions options,
                    Logger log);
  ~GroupCommitWriter();  // stops the thread; sales still waiting get an exception
  GroupCommitWriter(const GroupCommitWriter&) = delete;
  GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

  // Blocks until the sale's batch is written. `t` must be batchable() and outlive the call.
  // Throws what the database threw for this sale (isDatabaseUnavailable(): nothing of it was stored).
  // Two sales with one natural key never share a batch: the later waits for the next one, so it sees
  // the first as stored (duplicate or conflict, as one by one).
  WriteResult write(const Transaction& t, std::int64_t storeId, const WriteOptions& options);

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
