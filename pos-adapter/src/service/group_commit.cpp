#include "aisle/pos/group_commit.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <vector>

#include "aisle/common/pg.h"

namespace aisle::pos {

using SteadyClock = std::chrono::steady_clock;

namespace {
// One waiting sale; lives on its caller's stack until `done`.
struct Waiter {
  const Transaction* transaction = nullptr;
  std::int64_t storeId = 0;
  const WriteOptions* options = nullptr;
  std::string key;
  SteadyClock::time_point arrived;
  std::condition_variable cv;  // one per waiter: a batch wakes its own callers, not every request
  bool done = false;
  WriteResult result;
  std::exception_ptr error;
};
}  // namespace

// One writer thread's own connection (PgSession is one connection for one thread).
struct Connection {
  PgSession session;
  TransactionRepository repository;
  Connection(std::string url, std::shared_ptr<StoreCache> stores, const Logger& log)
      // One attempt: a caller whose batch met an outage spools its sale at once (see service.cpp).
      : session(std::move(url), log, PgRetry{1, std::chrono::milliseconds(50), std::chrono::milliseconds(50)}),
        repository(session, std::move(stores)) {}
};

struct GroupCommitWriter::Impl {
  GroupCommitOptions options;
  Logger log;
  std::vector<std::unique_ptr<Connection>> connections;  // one per writer thread
  mutable std::mutex mu;
  std::condition_variable wake;  // the writers: a first sale, a full batch, a key no longer being written, or stop
  std::deque<Waiter*> queue;
  std::unordered_set<std::string> writing;  // keys of the batches being written now
  bool stopping = false;
  Stats stats;
  std::vector<std::thread> threads;

  Impl(const std::string& url, const std::shared_ptr<StoreCache>& stores, GroupCommitOptions o, Logger l)
      : options(o), log(std::move(l)) {
    if (options.maxSales == 0) options.maxSales = 1;
    if (options.writers == 0) options.writers = 1;
    for (std::size_t i = 0; i < options.writers; ++i) connections.push_back(std::make_unique<Connection>(url, stores, log));
  }

  bool takeable(const Waiter* w) const { return !writing.count(w->key); }
  bool anyTakeable() const {
    return std::any_of(queue.begin(), queue.end(), [&](const Waiter* w) { return takeable(w); });
  }

  // Takes up to maxSales waiting sales with distinct keys, none being written by another writer, and
  // one card policy, in arrival order; the rest stay queued in their order. A key's sales are thus
  // written one batch after the other, in arrival order, whatever the number of writers: the later
  // one sees the earlier as stored (duplicate, or conflict and quarantine: the later is the one
  // refused), as one by one.
  std::vector<Waiter*> take() {
    std::vector<Waiter*> batch;
    std::unordered_set<std::string> keys;
    std::deque<Waiter*> rest;
    std::optional<UnknownCardPolicy> policy;
    while (!queue.empty()) {
      Waiter* w = queue.front();
      queue.pop_front();
      const bool fits = batch.size() < options.maxSales && takeable(w) && (!policy || w->options->unknownCard == *policy);
      if (fits && keys.insert(w->key).second) {
        policy = w->options->unknownCard;
        batch.push_back(w);
      } else {
        keys.insert(w->key);  // a later sale of a key left waiting must not overtake it
        rest.push_back(w);
      }
    }
    queue.swap(rest);
    for (const Waiter* w : batch) writing.insert(w->key);
    return batch;
  }

  // Outside the lock: the database work of one batch. Each waiter gets its result or its error.
  void writeBatch(TransactionRepository& repository, const std::vector<Waiter*>& batch) {
    if (batch.size() > 1) {
      std::vector<TransactionRepository::BatchItem> items;
      items.reserve(batch.size());
      for (const Waiter* w : batch) items.push_back({w->transaction, w->storeId});
      try {
        const auto results = repository.writeBatch(items, *batch.front()->options);
        for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->result = results[i];
        return;
      } catch (const std::exception& e) {
        if (isDatabaseUnavailable(e)) {
          for (Waiter* w : batch) w->error = std::current_exception();
          return;
        }
        // Nothing of the batch was written (one transaction). One bad sale must not fail the others:
        // each is written alone and only the bad one gets its error.
        log.warn(std::string("a batch of ") + std::to_string(batch.size()) +
                 " sales failed; writing them one by one: " + e.what());
        std::lock_guard lock(mu);
        ++stats.fallbacks;
      }
    }
    for (Waiter* w : batch) {
      try {
        w->result = repository.write(*w->transaction, w->storeId, *w->options);
      } catch (const std::exception&) {
        w->error = std::current_exception();
      }
    }
  }

  void run(Connection& connection) {
    std::unique_lock lock(mu);
    bool carried = false;
    for (;;) {
      wake.wait(lock, [&] { return stopping || anyTakeable(); });
      if (stopping) break;
      // Sales that came in while the previous batch was written are usually past their deadline
      // already: the wait only matters when the writer was idle.
      // A sale carried over from the last batch (its key was already there) goes at once.
      const auto deadline = queue.front()->arrived + options.maxWait;
      while (!carried && !stopping && queue.size() < options.maxSales && SteadyClock::now() < deadline)
        wake.wait_until(lock, deadline);
      if (stopping) break;
      auto batch = take();
      if (batch.empty()) continue;  // another writer took them meanwhile
      carried = !queue.empty();
      if (carried) wake.notify_one();  // another writer may take what this batch left
      lock.unlock();
      writeBatch(connection.repository, batch);
      lock.lock();
      ++stats.batches;
      stats.sales += batch.size();
      for (Waiter* w : batch) {
        writing.erase(w->key);
        w->done = true;
        w->cv.notify_one();
      }
      if (!queue.empty()) wake.notify_all();  // sales held back for a key this batch held
    }
    for (Waiter* w : queue) {
      w->error = std::make_exception_ptr(std::runtime_error("group commit writer stopped"));
      w->done = true;
      w->cv.notify_one();
    }
    queue.clear();
  }
};

GroupCommitWriter::GroupCommitWriter(std::string databaseUrl, std::shared_ptr<StoreCache> stores,
                                     GroupCommitOptions options, Logger log)
    : impl_(std::make_unique<Impl>(databaseUrl, stores, options, std::move(log))) {
  for (auto& c : impl_->connections) impl_->threads.emplace_back([this, conn = c.get()] { impl_->run(*conn); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  for (auto& t : impl_->threads) t.join();
}

WriteResult GroupCommitWriter::write(const Transaction& t, std::int64_t storeId, const WriteOptions& options) {
  auto outcome = writeAll({Sale{&t, storeId, &options}});
  if (outcome.front().error) std::rethrow_exception(outcome.front().error);
  return outcome.front().result;
}

std::vector<GroupCommitWriter::Outcome> GroupCommitWriter::writeAll(const std::vector<Sale>& sales) {
  std::vector<Waiter> waiters(sales.size());  // never resized: the queue points into it
  for (std::size_t i = 0; i < sales.size(); ++i) {
    Waiter& w = waiters[i];
    w.transaction = sales[i].transaction;
    w.storeId = sales[i].storeId;
    w.options = sales[i].options;
    w.key = w.transaction->key.str() + '\x1f' + std::to_string(w.storeId);
  }
  std::unique_lock lock(impl_->mu);
  if (impl_->stopping) throw std::runtime_error("group commit writer stopped");
  const auto now = SteadyClock::now();
  for (Waiter& w : waiters) {
    w.arrived = now;
    impl_->queue.push_back(&w);
    // A writer needs waking only for a first sale or a full batch; in between it sleeps to its deadline.
    if (impl_->queue.size() == 1 || impl_->queue.size() == impl_->options.maxSales) impl_->wake.notify_one();
  }
  std::vector<Outcome> out(sales.size());
  for (std::size_t i = 0; i < sales.size(); ++i) {
    waiters[i].cv.wait(lock, [&] { return waiters[i].done; });
    out[i] = Outcome{waiters[i].result, waiters[i].error};
  }
  return out;
}

GroupCommitWriter::Stats GroupCommitWriter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace aisle::pos
