#pragma once
// Loading the public data sets and generating synthetic members (see coupon-engine/LOADER.md).
// Every load runs in one database transaction: bad input (reported as file:line) or a failure
// leaves the database as it was. Loads are idempotent: files whose sha256 is recorded in
// data_loads are not read again, and with `force` every row is merged so that nothing present is
// inserted twice.
#include <pqxx/pqxx>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::engine {

// Progress of a long step: a bar on a terminal, occasional plain lines otherwise.
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void phase(std::string_view name, std::int64_t total) = 0;  // total 0: unknown
  virtual void advance(std::int64_t n) = 0;
  virtual void finish() = 0;  // ends the current phase
};
std::unique_ptr<Progress> makeProgress(std::ostream& err, bool terminal);
std::unique_ptr<Progress> makeSilentProgress();

struct LoadReport {
  std::string source;
  bool unchanged = false;  // every file was loaded before with the same sha256: nothing to do
  std::vector<std::pair<std::string, std::int64_t>> fileRows;  // data rows read per file
  std::vector<std::pair<std::string, std::int64_t>> inserted;  // rows inserted per table
  std::vector<std::int64_t> placeholderProducts;  // referenced but absent from the product file
  std::vector<std::string> notes;                 // data quirks worth knowing, in plain words
  double seconds = 0;
  // The transactions part alone (read + parse + map + write transactions and lines), for the bench.
  double transactionSeconds = 0;
  std::int64_t transactionLinesWritten = 0;

  std::int64_t insertedInto(std::string_view table) const;
  std::int64_t totalInserted() const;
};

struct LoadOptions {
  bool force = false;            // ignore data_loads and merge every row again
  Progress* progress = nullptr;  // nullptr: silent
};

// DIR holds the Complete Journey CSV files (products, transactions_sample, campaigns, ...).
Result<LoadReport> loadCompleteJourney(pqxx::connection& conn, const std::string& dir,
                                       const LoadOptions& options);
// FILE is Groceries_dataset.csv (Member_number, Date, itemDescription).
Result<LoadReport> loadGroceries(pqxx::connection& conn, const std::string& file,
                                 const LoadOptions& options);

struct GenerateOptions {
  std::int64_t members = 1000;
  int days = 90;
  std::uint64_t seed = 1;
  std::string endDate = "2018-01-01";  // exclusive; fixed so the same seed gives the same rows
  std::int64_t chunkMembers = 2000;    // members per committed chunk: bounds memory, allows resume
  int catalogProducts = 500;  // size of the built-in catalogue (used only when nothing is loaded)
  Progress* progress = nullptr;
};
// Synthetic members (ids from 1,000,000,000), cards and purchases drawn from the loaded data's
// distributions (built-in ones when nothing is loaded). Members already present are skipped, so a
// re-run, or a run after an interruption, only adds what is missing.
Result<LoadReport> generateSynthetic(pqxx::connection& conn, const GenerateOptions& options);

// The readable summary printed at the end of a load.
std::string formatReport(const LoadReport& report);
std::string withThousands(std::int64_t n);

}  // namespace aisle::engine
