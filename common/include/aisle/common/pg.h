#pragma once
// PostgreSQL session helper: one connection, (re)opened on demand, with per-connection setup
// (prepared statements) replayed after every reconnect, and retry with backoff when the
// connection breaks. Only repositories use it to run SQL.
#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "aisle/common/backoff.h"
#include "aisle/common/log.h"

namespace aisle {

// AISLE_DB from the environment, or `fallback` (the config's value) when unset.
std::string databaseUrl(const std::string& fallback = {});
// The same keyword/value conninfo pointed at another database (tests and benches make scratch ones).
std::string withDatabase(const std::string& conninfo, const std::string& dbname);
// Unix milliseconds as timestamptz text in UTC, "2024-03-05 10:00:00.123+00": what COPY's text
// format takes. Instants before 1970 come out right (floor, not truncation).
std::string pgTimestampUtc(std::int64_t unixMs);

struct PgRetry {
  int attempts = 5;
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
};

class PgSession {
 public:
  using Setup = std::function<void(pqxx::connection&)>;
  PgSession(std::string conninfo, Logger log, PgRetry retry = {});

  // Runs per connection, now and after every reconnect (prepare statements here).
  void onConnect(Setup setup);
  pqxx::connection& connection();

  // Runs fn(connection) and retries on a broken connection (the whole function again, so it must
  // be one transaction). Other errors propagate unchanged.
  template <typename F>
  auto run(F&& fn) {
    Backoff backoff(retry_.initial, retry_.max, reinterpret_cast<std::uintptr_t>(this));
    for (int attempt = 1;; ++attempt) {
      try {
        return fn(connection());
      } catch (const pqxx::broken_connection& e) {
        conn_.reset();
        if (attempt >= retry_.attempts) throw;
        const auto delay = backoff.next();
        log_.warn(std::string("database connection lost (") + e.what() + "), retry " +
                  std::to_string(attempt) + " in " + std::to_string(delay.count()) + " ms");
        std::this_thread::sleep_for(delay);
      }
    }
  }

 private:
  std::string conninfo_;
  Logger log_;
  PgRetry retry_;
  std::vector<Setup> setups_;
  std::unique_ptr<pqxx::connection> conn_;
};

// A fixed set of sessions shared by request threads: lease() blocks until one is free, so the
// database sees at most `size` connections from this process however many threads serve HTTP.
class PgPool {
 public:
  PgPool(const std::string& conninfo, std::size_t size, const Logger& log, PgRetry retry = {});
  void onConnect(const PgSession::Setup& setup);

  class Lease {
   public:
    Lease(PgPool& pool, PgSession* s) : pool_(&pool), s_(s) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), s_(o.s_) { o.s_ = nullptr; }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (s_) pool_->giveBack(s_);
    }
    PgSession& operator*() { return *s_; }
    PgSession* operator->() { return s_; }

   private:
    PgPool* pool_;
    PgSession* s_;
  };
  Lease lease();

 private:
  void giveBack(PgSession* s);
  std::vector<std::unique_ptr<PgSession>> all_;
  std::vector<PgSession*> free_;
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace aisle
