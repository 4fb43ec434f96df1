#pragma once
// The engine's routes depend on PostgreSQL. When it is away (restarting, failed over, unreachable)
// a request must get a clear "503, retry later" -- gateways and apps retry on it, and nothing was
// stored -- rather than a 500 that reads like a bug. Only connectivity failures are mapped; any
// other database error is a real error and stays a 500.
#include <pqxx/pqxx>

#include <string>

#include "aisle/common/http.h"

namespace aisle::engine {

inline bool isDatabaseUnavailable(const pqxx::sql_error& e) {
  const std::string state = e.sqlstate();
  // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now.
  return state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0;
}

template <typename F>
auto underDatabaseGuard(F&& fn) {
  try {
    return fn();
  } catch (const pqxx::broken_connection&) {
    throw http::Unavailable("database unavailable; retry later");
  } catch (const pqxx::in_doubt_error&) {
    // The outcome is unknown, but a retry is safe: every write here is idempotent.
    throw http::Unavailable("database connection lost; retry later");
  } catch (const pqxx::sql_error& e) {
    if (isDatabaseUnavailable(e)) throw http::Unavailable("database unavailable; retry later");
    throw;
  }
}

inline http::Handler guarded(http::Handler h) {
  return [h = std::move(h)](const http::Request& r) { return underDatabaseGuard([&] { return h(r); }); };
}

inline http::Authenticator guarded(http::Authenticator a) {
  return [a = std::move(a)](const http::Request& r) { return underDatabaseGuard([&] { return a(r); }); };
}

}  // namespace aisle::engine
