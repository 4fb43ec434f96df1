#pragma once
// Shared by the data-set loaders and the generator (internal to the engine library).
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/engine/csv.h"
#include "aisle/engine/loader.h"
#include "db/loader_repository.h"

namespace aisle::engine::load {

// Bad input found while parsing: carries "file:line: column: reason". Thrown inside the loader only
// and turned into a Result error at its boundary, so each accessor below stays one line.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SourceFile {
  std::string name;  // as recorded in data_loads ("products.csv")
  std::string path;
  std::string text;
  std::string sha256;
  std::int64_t rows = 0;
};

// Reads the whole file and its sha256; throws InputError when it cannot be read.
SourceFile readSource(const std::string& path, const std::string& name);

// One CSV record with typed, error-reporting accessors.
class Row {
 public:
  Row(const std::vector<std::string>& fields, std::string_view where, std::int64_t& exponentCount)
      : f_(fields), where_(where), exponents_(exponentCount) {}
  std::string_view text(std::size_t i) const { return f_[i]; }
  std::string required(std::size_t i, std::string_view column) const;
  std::int64_t id(std::size_t i, std::string_view column) const;
  std::int64_t amountMinor(std::size_t i, std::string_view column) const;
  std::int64_t quantityMilli(std::size_t i, std::string_view column) const;
  std::string isoDate(std::size_t i, std::string_view column) const;
  [[noreturn]] void error(std::string_view column, const std::string& why) const;
  std::string_view where() const { return where_; }

 private:
  void countExponent(std::size_t i) const;
  const std::vector<std::string>& f_;
  std::string_view where_;
  std::int64_t& exponents_;
};

// Calls fn(header, row) for every data row of a CSV file; checks the header has `required`
// columns and every row has as many fields as the header.
template <typename F>
void eachRow(SourceFile& file, const std::vector<std::string>& required,
             std::int64_t& exponentCount, F&& fn) {
  CsvReader reader(file.text, file.name);
  std::vector<std::string> fields;
  auto first = reader.next(fields);
  if (!first) throw InputError(first.message());
  if (!*first) throw InputError(file.name + ": empty file (no header line)");
  auto header = CsvHeader::parse(fields, required, reader.where());
  if (!header) throw InputError(header.message());
  for (;;) {
    auto more = reader.next(fields);
    if (!more) throw InputError(more.message());
    if (!*more) break;
    const std::string where = reader.where();
    if (fields.size() != header->size()) {
      throw InputError(where + ": expected " + std::to_string(header->size()) + " fields, found " +
                       std::to_string(fields.size()));
    }
    ++file.rows;
    fn(*header, Row(fields, where, exponentCount));
  }
}

// The tail every data-set loader shares: COPYs the transactions that no earlier load of `source`
// stored (same natural key), so a forced or repeated load adds only what is new, and counts
// transactions and lines in `report`. Returns the lines written. It runs inside the repository's
// open transaction: the caller records its files and commits, so a failure leaves nothing behind.
std::int64_t copyNewTransactions(LoaderRepository& repo, const std::string& source,
                                 std::vector<TransactionRow> transactions, Progress& progress,
                                 LoadReport& report);

class Stopwatch {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace aisle::engine::load
