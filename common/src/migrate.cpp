#include "aisle/common/migrate.h"

#include <algorithm>
#include <set>

namespace aisle {
namespace {
// Any fixed 64-bit number shared by every service; "aisle" in ASCII.
constexpr long long kMigrationLockKey = 0x6169736c65;
}  // namespace

Result<MigrationReport> migrate(pqxx::connection& conn, const std::vector<Migration>& migrations,
                                const Logger& log) {
  MigrationReport report;
  try {
    {
      pqxx::nontransaction nt(conn);
      // Session-level lock: held across the per-migration transactions below, released at the end.
      nt.exec_params("SELECT pg_advisory_lock($1)", kMigrationLockKey);
    }
    struct Unlock {
      pqxx::connection& c;
      ~Unlock() {
        try {
          pqxx::nontransaction nt(c);
          nt.exec_params("SELECT pg_advisory_unlock($1)", kMigrationLockKey);
        } catch (...) {  // the connection is gone: the server released the lock with it
        }
      }
    } unlock{conn};

    std::set<int> applied;
    {
      pqxx::work tx(conn);
      tx.exec(
          "CREATE TABLE IF NOT EXISTS schema_migrations ("
          " version integer PRIMARY KEY, name text NOT NULL,"
          " applied_at timestamptz NOT NULL DEFAULT now())");
      for (const auto& row : tx.exec("SELECT version FROM schema_migrations")) applied.insert(row[0].as<int>());
      tx.commit();
    }
    for (const auto& m : migrations) {
      if (applied.count(m.version)) continue;
      pqxx::work tx(conn);
      tx.exec(m.sql);
      tx.exec_params("INSERT INTO schema_migrations(version, name) VALUES ($1, $2)", m.version, m.name);
      tx.commit();
      ++report.applied;
      log.info("applied migration " + std::to_string(m.version) + " " + m.name);
    }
    pqxx::work tx(conn);
    report.current = tx.exec1("SELECT coalesce(max(version), 0) FROM schema_migrations")[0].as<int>();
    tx.commit();
  } catch (const std::exception& e) {
    return fail(std::string("migration failed: ") + e.what());
  }
  return report;
}

}  // namespace aisle
