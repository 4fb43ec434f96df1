#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/migrate.h"
#include "aisle/common/pg.h"
#include "commands.h"

namespace aisle::engine {

int cmdMigrate(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {}, {});
  if (!cl) {
    io.err << "migrate: " << cl.message() << "\n";
    return 2;
  }
  const std::string url = databaseUrl();
  if (url.empty()) {
    io.err << "migrate: set AISLE_DB to the database (libpq conninfo or URI)\n";
    return 2;
  }
  pqxx::connection conn(url);
  auto report = migrate(conn, embeddedMigrations(), stderrLogger("migrate"));
  if (!report) {
    io.err << "migrate: " << report.message() << "\n";
    return 1;
  }
  io.out << "{\"applied\":" << report->applied << ",\"version\":" << report->current << "}\n";
  return 0;
}

}  // namespace aisle::engine
