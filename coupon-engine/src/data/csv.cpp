#include "aisle/engine/csv.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace aisle::engine {

CsvReader::CsvReader(std::string_view text, std::string name)
    : text_(text), name_(std::move(name)) {
  // A UTF-8 byte order mark (spreadsheet exports) would otherwise become part of the first header.
  if (text_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
}

std::string CsvReader::where() const {
  return name_ + ":" + std::to_string(recordLine_);
}

Result<bool> CsvReader::next(std::vector<std::string>& fields) {
  fields.clear();
  // Skip blank lines between records.
  while (pos_ < text_.size() && (text_[pos_] == '\n' || text_[pos_] == '\r')) {
    if (text_[pos_] == '\n') ++lineNo_;
    ++pos_;
  }
  if (pos_ >= text_.size()) return false;
  recordLine_ = lineNo_;
  const auto bad = [&](const std::string& why) {
    return fail(name_ + ":" + std::to_string(lineNo_) + ": " + why);
  };

  std::string field;
  for (;;) {
    field.clear();
    if (pos_ < text_.size() && text_[pos_] == '"') {
      const std::size_t openedAt = lineNo_;
      ++pos_;
      for (;;) {
        if (pos_ >= text_.size()) {
          return fail(name_ + ":" + std::to_string(openedAt) + ": quoted field is never closed");
        }
        const char c = text_[pos_];
        if (c == '"') {
          if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '"') {
            field.push_back('"');
            pos_ += 2;
            continue;
          }
          ++pos_;
          break;
        }
        if (c == '\n') ++lineNo_;
        field.push_back(c);
        ++pos_;
      }
      // After the closing quote only a separator or the end of the record may follow.
      if (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
        return bad("unexpected character after a closing quote in field " +
                   std::to_string(fields.size() + 1));
      }
    } else {
      const std::size_t start = pos_;
      while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '\n' &&
             text_[pos_] != '\r') {
        if (text_[pos_] == '"') {
          return bad("quote inside an unquoted field " + std::to_string(fields.size() + 1));
        }
        ++pos_;
      }
      field.assign(text_.substr(start, pos_ - start));
    }
    fields.push_back(field);
    if (pos_ >= text_.size()) return true;
    const char sep = text_[pos_];
    if (sep == ',') {
      ++pos_;
      continue;
    }
    // End of record: CRLF or LF (a lone CR is tolerated as a line end too).
    if (sep == '\r') ++pos_;
    if (pos_ < text_.size() && text_[pos_] == '\n') ++pos_;
    ++lineNo_;
    return true;
  }
}

Result<CsvHeader> CsvHeader::parse(const std::vector<std::string>& header,
                                   const std::vector<std::string>& required,
                                   const std::string& where) {
  CsvHeader h;
  for (const auto& name : header) {
    for (const auto& seen : h.names_) {
      if (seen == name) return fail(where + ": column '" + name + "' appears twice in the header");
    }
    h.names_.push_back(name);
  }
  for (const auto& r : required) {
    bool found = false;
    for (const auto& n : h.names_) found = found || n == r;
    if (!found) return fail(where + ": missing column '" + r + "' in the header");
  }
  return h;
}

std::size_t CsvHeader::index(std::string_view column) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == column) return i;
  }
  throw std::out_of_range("no CSV column " + std::string(column));
}

Result<std::string> readDataFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(path + ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return fail(path + ": read error");
  return ss.str();
}

}  // namespace aisle::engine
