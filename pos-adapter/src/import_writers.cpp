#include "aisle/pos/import_writers.h"

#include <algorithm>
#include <utility>

namespace aisle::pos {

ImportWriters::ImportWriters(std::size_t writers, const std::string& url, std::shared_ptr<StoreCache> stores,
                             const IngestConfig& config, const Logger& log)
    : url_(url),
      config_(config),
      log_(log),
      session_(url, log),
      repository_(session_, stores),
      classify_(repository_, zones_, config, log) {
  for (std::size_t i = 0; i < std::max<std::size_t>(writers, 1); ++i)
    threads_.emplace_back([this, stores] { work(stores); });
}

ImportWriters::~ImportWriters() {
  {
    std::unique_lock lock(mu_);
    // Every document taken is written before the connections close: a write cut off half-way
    // would only roll back, but the caller reported nothing about it.
    cv_.wait(lock, [&] { return !next_ && inFlight_ == 0; });
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::optional<std::vector<std::string>> ImportWriters::independentKeys(const ParsedDocument& doc) {
  std::vector<std::string> keys;
  for (const auto& item : doc.items) {
    if (item.kind != TransactionOutcome::Kind::Parsed) return std::nullopt;  // its log line keeps its place
    if (!classify_.batchableStore(item)) return std::nullopt;
    keys.push_back(item.transaction->key.str());
  }
  return keys;
}

void ImportWriters::waitUntilIdleLocked(std::unique_lock<std::mutex>& lock) {
  cv_.wait(lock, [&] { return (!next_ && inFlight_ == 0) || error_; });
}

void ImportWriters::write(std::size_t index, ParsedDocument doc, std::string origin) {
  const auto keys = independentKeys(doc);  // outside the lock: it may look a store up
  std::unique_lock lock(mu_);
  if (!keys) {
    waitUntilIdleLocked(lock);
  } else {
    cv_.wait(lock, [&] {
      if (error_) return true;
      if (next_) return false;
      for (const auto& k : *keys)
        if (keysInFlight_.count(k)) return false;
      return true;
    });
  }
  if (error_) std::rethrow_exception(error_);
  Job job{index, std::move(doc), std::move(origin), keys ? *keys : std::vector<std::string>{}};
  for (const auto& k : job.keys) ++keysInFlight_[k];
  next_ = std::move(job);
  cv_.notify_all();
  // A document that must be written alone also holds back the next one until it is done.
  if (!keys) waitUntilIdleLocked(lock);
  if (error_) std::rethrow_exception(error_);
}

void ImportWriters::record(std::size_t index, IngestSummary sum) {
  std::lock_guard lock(mu_);
  done_.emplace(index, std::move(sum));
}

IngestSummary ImportWriters::finish() {
  std::unique_lock lock(mu_);
  waitUntilIdleLocked(lock);
  if (error_) {
    cv_.wait(lock, [&] { return !next_ && inFlight_ == 0; });
    std::rethrow_exception(error_);
  }
  IngestSummary total;
  for (const auto& [index, sum] : done_) total += sum;
  done_.clear();
  return total;
}

void ImportWriters::work(std::shared_ptr<StoreCache> stores) {
  PgSession session(url_, log_);
  TransactionRepository repository(session, std::move(stores));
  TimeZoneDatabase zones;
  IngestService ingest(repository, zones, config_, log_);
  for (;;) {
    Job job;
    bool failed = false;  // after an earlier write's error, the rest are dropped, not written
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || next_.has_value(); });
      if (!next_) return;
      job = std::move(*next_);
      next_.reset();
      ++inFlight_;
      failed = error_ != nullptr;
    }
    cv_.notify_all();
    std::optional<IngestSummary> sum;
    std::exception_ptr error;
    try {
      if (!failed) sum = ingest.storeParsed(job.doc, job.origin);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard lock(mu_);
      --inFlight_;
      for (const auto& k : job.keys)
        if (--keysInFlight_[k] == 0) keysInFlight_.erase(k);
      if (sum) done_.emplace(job.index, std::move(*sum));
      if (error && !error_) error_ = error;
    }
    cv_.notify_all();
  }
}

}  // namespace aisle::pos
