#pragma once
#include <pqxx/pqxx>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace aisle::engine {

// Row counts of the main tables, for the demo's summary and for operators.
class SummaryRepository {
 public:
  explicit SummaryRepository(pqxx::connection& conn) : conn_(conn) {}
  std::vector<std::pair<std::string, std::int64_t>> counts();

 private:
  pqxx::connection& conn_;
};

}  // namespace aisle::engine
