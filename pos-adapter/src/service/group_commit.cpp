#include "aisle/pos/group_commit.h"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
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

struct GroupCommitWriter::Impl {
  GroupCommitOptions options;
  Logger log;
  PgSession session;
  TransactionRepository repository;
  mutable std::mutex mu;
  std::condition_variable wake;  // the writer: a first sale, a full batch, or stop
  std::deque<Waiter*> queue;
  bool stopping = false;
  Stats stats;
  std::thread thread;

  Impl(std::string url, std::shared_ptr<StoreCache> stores, GroupCommitOptions o, Logger l)
      : options(o),
        log(std::move(l)),
        // One attempt: a caller whose batch met an outage spools its sale at once (see service.cpp).
        session(std::move(url), log, PgRetry{1, std::chrono::milliseconds(50), std::chrono::milliseconds(50)}),
        repository(session, std::move(stores)) {
    if (options.maxSales == 0) options.maxSales = 1;
  }

  // Takes up to maxSales waiting sales with distinct keys and one card policy, in arrival order; the
  // rest stay queued in their order.
  std::vector<Waiter*> take() {
    std::vector<Waiter*> batch;
    std::unordered_set<std::string> keys;
    std::deque<Waiter*> rest;
    const UnknownCardPolicy policy = queue.front()->options->unknownCard;
    while (!queue.empty()) {
      Waiter* w = queue.front();
      queue.pop_front();
      if (batch.size() < options.maxSales && w->options->unknownCard == policy && keys.insert(w->key).second) {
        batch.push_back(w);
      } else {
        rest.push_back(w);
      }
    }
    queue.swap(rest);
    return batch;
  }

  // Outside the lock: the database work of one batch. Each waiter gets its result or its error.
  void writeBatch(const std::vector<Waiter*>& batch) {
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

  void run() {
    std::unique_lock lock(mu);
    bool carried = false;
    for (;;) {
      wake.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
      // Sales that came in while the previous batch was written are usually past their deadline
      // already: the wait only matters when the writer was idle.
      // A sale carried over from the last batch (its key was already there) goes at once.
      const auto deadline = queue.front()->arrived + options.maxWait;
      while (!carried && !stopping && queue.size() < options.maxSales && SteadyClock::now() < deadline)
        wake.wait_until(lock, deadline);
      if (stopping) break;
      auto batch = take();
      carried = !queue.empty();
      lock.unlock();
      writeBatch(batch);
      lock.lock();
      ++stats.batches;
      stats.sales += batch.size();
      for (Waiter* w : batch) {
        w->done = true;
        w->cv.notify_one();
      }
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
    : impl_(std::make_unique<Impl>(std::move(databaseUrl), std::move(stores), options, std::move(log))) {
  impl_->thread = std::thread([this] { impl_->run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

WriteResult GroupCommitWriter::write(const Transaction& t, std::int64_t storeId, const WriteOptions& options) {
  Waiter w;
  w.transaction = &t;
  w.storeId = storeId;
  w.options = &options;
  w.key = t.key.str() + '\x1f' + std::to_string(storeId);
  std::unique_lock lock(impl_->mu);
  if (impl_->stopping) throw std::runtime_error("group commit writer stopped");
  w.arrived = SteadyClock::now();
  impl_->queue.push_back(&w);
  // The writer needs waking only for a first sale or a full batch; in between it sleeps to its deadline.
  if (impl_->queue.size() == 1 || impl_->queue.size() == impl_->options.maxSales) impl_->wake.notify_one();
  w.cv.wait(lock, [&] { return w.done; });
  if (w.error) std::rethrow_exception(w.error);
  return w.result;
}

GroupCommitWriter::Stats GroupCommitWriter::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

}  // namespace aisle::pos
