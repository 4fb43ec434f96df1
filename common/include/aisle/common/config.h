#pragma once
// Typed configuration: a file of `[section]` headers and `key = value` lines (a subset of TOML:
// strings in double quotes, integers, decimals, true/false, durations like "500ms"/"10s"/"5m",
// and ["lists", "of", "strings"]). Each daemon declares its one config struct and reads it through a
// ConfigReader, which reports every problem as `file:line: key: message`, unknown keys included.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle {

struct ConfigEntry {
  std::string key;   // "section.key" (or "key" before any section)
  std::string text;  // the value as written, quotes removed for strings
  bool quoted = false;
  bool list = false;
  std::vector<std::string> items;  // for lists
  int line = 0;
};

class ConfigFile {
 public:
  static Result<ConfigFile> parse(std::string_view text, std::string fileName);
  static Result<ConfigFile> load(const std::string& path);
  const std::string& fileName() const { return file_; }
  const ConfigEntry* find(const std::string& key) const;
  const std::vector<ConfigEntry>& entries() const { return entries_; }

 private:
  std::string file_;
  std::vector<ConfigEntry> entries_;
};

class ConfigReader {
 public:
  explicit ConfigReader(const ConfigFile& file) : file_(file) {}

  // Each reader leaves `out` (the default) untouched when the key is absent, unless required.
  void string(const std::string& key, std::string& out, bool required = false);
  void boolean(const std::string& key, bool& out);
  void integer(const std::string& key, std::int64_t& out, std::int64_t min, std::int64_t max,
               bool required = false);
  void decimal(const std::string& key, double& out, double min, double max);
  void duration(const std::string& key, std::chrono::milliseconds& out,
                std::chrono::milliseconds min, std::chrono::milliseconds max);
  void stringList(const std::string& key, std::vector<std::string>& out);
  // One of a fixed set of words, e.g. fsync = "always" | "batch" | "never".
  void choice(const std::string& key, std::string& out, const std::vector<std::string>& allowed);

  // Records a problem found by cross-checks after reading (e.g. a reference to an unknown zone).
  void problem(const std::string& key, const std::string& message);

  // All problems, plus one per key the program never asked for (a typo would otherwise be ignored).
  Status finish();

 private:
  const ConfigEntry* use(const std::string& key);
  void report(const ConfigEntry* e, const std::string& key, const std::string& message);
  const ConfigFile& file_;
  std::map<std::string, bool> used_;
  std::vector<std::string> problems_;
};

// "250ms", "10s", "5m", "2h", "1d" -> milliseconds.
Result<std::chrono::milliseconds> parseDuration(std::string_view text);

}  // namespace aisle
