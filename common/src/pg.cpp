#include "aisle/common/pg.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace aisle {

std::string databaseUrl(const std::string& fallback) {
  if (const char* env = std::getenv("AISLE_DB"); env && *env) return env;
  return fallback;
}

std::string pgTimestampUtc(std::int64_t unixMs) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds(unixMs)};
  const auto day = floor<days>(tp);
  const year_month_day ymd{day};
  const hh_mm_ss hms{tp - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d.%03d+00", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

std::string withDatabase(const std::string& conninfo, const std::string& dbname) {
  const auto pos = conninfo.find("dbname=");
  if (pos == std::string::npos) return conninfo + " dbname=" + dbname;
  const auto end = conninfo.find(' ', pos);
  return conninfo.substr(0, pos) + "dbname=" + dbname + (end == std::string::npos ? "" : conninfo.substr(end));
}

PgSession::PgSession(std::string conninfo, Logger log, PgRetry retry)
    : conninfo_(std::move(conninfo)), log_(std::move(log)), retry_(retry) {}

void PgSession::onConnect(Setup setup) {
  if (conn_) setup(*conn_);
  setups_.push_back(std::move(setup));
}

pqxx::connection& PgSession::connection() {
  if (conn_ && !conn_->is_open()) conn_.reset();
  if (!conn_) {
    auto c = std::make_unique<pqxx::connection>(conninfo_);
    for (auto& s : setups_) s(*c);
    conn_ = std::move(c);
  }
  return *conn_;
}

PgPool::PgPool(const std::string& conninfo, std::size_t size, const Logger& log, PgRetry retry) {
  for (std::size_t i = 0; i < size; ++i) {
    all_.push_back(std::make_unique<PgSession>(conninfo, log, retry));
    free_.push_back(all_.back().get());
  }
}

void PgPool::onConnect(const PgSession::Setup& setup) {
  // Sessions connect lazily, so registering before first use costs nothing.
  std::lock_guard lock(mu_);
  for (auto& s : all_) s->onConnect(setup);
}

PgPool::Lease PgPool::lease() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !free_.empty(); });
  PgSession* s = free_.back();
  free_.pop_back();
  return Lease(*this, s);
}

void PgPool::giveBack(PgSession* s) {
  {
    std::lock_guard lock(mu_);
    free_.push_back(s);
  }
  cv_.notify_one();
}

}  // namespace aisle
