#include "aisle/common/pg.h"

#include <cstdlib>

namespace aisle {

std::string databaseUrl(const std::string& fallback) {
  if (const char* env = std::getenv("AISLE_DB"); env && *env) return env;
  return fallback;
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

}  // namespace aisle
