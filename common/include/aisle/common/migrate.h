#pragma once
// Forward-only schema migrations from sql/NNNN_name.sql, embedded in the binaries at build time.
// Applied in order, each in its own transaction, under a PostgreSQL advisory lock so that two
// services starting at once neither race nor apply a migration twice.
#include <pqxx/pqxx>

#include <string>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/common/result.h"

namespace aisle {

struct Migration {
  int version = 0;
  std::string name;
  std::string sql;
};

// The migrations compiled into this binary, in version order.
const std::vector<Migration>& embeddedMigrations();

struct MigrationReport {
  int applied = 0;
  int current = 0;  // schema version after the run
};

Result<MigrationReport> migrate(pqxx::connection& conn, const std::vector<Migration>& migrations,
                                const Logger& log);

}  // namespace aisle
