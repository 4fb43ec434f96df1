#include "db/summary_repository.h"

namespace aisle::engine {

std::vector<std::pair<std::string, std::int64_t>> SummaryRepository::counts() {
  // A fixed list of table names (never user input), so building the statement text is safe.
  static const char* const kTables[] = {
      "stores", "categories", "products", "members", "cards", "consents", "transactions",
      "transaction_lines", "campaigns", "campaign_products", "campaign_members", "coupons",
      "redemptions", "devices", "proximity_events", "outbox"};
  std::vector<std::pair<std::string, std::int64_t>> out;
  pqxx::read_transaction tx(conn_);
  for (const char* t : kTables) {
    out.emplace_back(t, tx.exec1(std::string("SELECT count(*) FROM ") + t)[0].as<std::int64_t>());
  }
  return out;
}

}  // namespace aisle::engine
