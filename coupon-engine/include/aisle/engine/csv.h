#pragma once
// RFC 4180 CSV over an in-memory buffer: quoted fields ("a,b", "say ""hi"""), empty fields,
// LF or CRLF line ends, quoted line breaks. Errors name the file and line ("products.csv:12: ...")
// so a bad data set is fixed at its source, not guessed around.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle::engine {

class CsvReader {
 public:
  // `name` only labels errors; `text` must outlive the reader.
  CsvReader(std::string_view text, std::string name);

  // Reads the next record into `fields`. Returns false at the end of the input. Blank lines are
  // skipped (a trailing newline is not a record).
  Result<bool> next(std::vector<std::string>& fields);

  // The line on which the last record returned by next() started (1-based).
  std::size_t line() const { return recordLine_; }
  // "name:line", for error messages about the current record.
  std::string where() const;
  // Fraction of the input consumed, for progress bars.
  std::size_t consumed() const { return pos_; }

 private:
  std::string_view text_;
  std::string name_;
  std::size_t pos_ = 0;
  std::size_t lineNo_ = 1;
  std::size_t recordLine_ = 0;
};

// Column positions by header name, checked once so every row access is by index.
class CsvHeader {
 public:
  // Fails (with where) when a required column is missing or a column repeats.
  static Result<CsvHeader> parse(const std::vector<std::string>& header,
                                 const std::vector<std::string>& required,
                                 const std::string& where);
  std::size_t index(std::string_view column) const;  // throws std::out_of_range when unknown
  std::size_t size() const { return names_.size(); }

 private:
  std::vector<std::string> names_;
};

// The whole file as a string; a clear error when it cannot be read.
Result<std::string> readDataFile(const std::string& path);

}  // namespace aisle::engine
