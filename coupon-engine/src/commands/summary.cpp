#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/pg.h"
#include "commands.h"
#include "db/summary_repository.h"

namespace aisle::engine {

int cmdSummary(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {}, {"json"});
  if (!cl) {
    io.err << "summary: " << cl.message() << "\n";
    return 2;
  }
  pqxx::connection conn(databaseUrl());
  const auto counts = SummaryRepository(conn).counts();
  if (cl->has("json")) {
    io.out << "{";
    for (std::size_t i = 0; i < counts.size(); ++i)
      io.out << (i ? "," : "") << "\"" << counts[i].first << "\":" << counts[i].second;
    io.out << "}\n";
    return 0;
  }
  for (const auto& [table, n] : counts) {
    std::string num = std::to_string(n);
    for (int i = static_cast<int>(num.size()) - 3; i > 0; i -= 3) num.insert(static_cast<std::size_t>(i), ",");
    io.out << "  " << table << std::string(table.size() < 26 ? 26 - table.size() : 1, ' ') << num << "\n";
  }
  return 0;
}

}  // namespace aisle::engine
