#pragma once
// Shared by the pos unit tests: golden files, the shared data sets, and a fixed-offset resolver.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "aisle/pos/poslog.h"

namespace aisle::pos::testing {

inline std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::filesystem::path golden(const std::string& name) {
  return std::filesystem::path(AISLE_SOURCE_DIR) / "tests/unit/pos/golden" / name;
}

// The shared data sets (never copied into the repository): AISLE_DATASETS, else ../shared/datasets.
inline std::filesystem::path datasets() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) return env;
  return std::filesystem::path(AISLE_SOURCE_DIR) / "../shared/datasets";
}

// Every store at a fixed UTC offset: unit tests do not depend on tzdata.
inline ParseOptions optionsAtOffset(int offsetSeconds) {
  ParseOptions o;
  o.localTime = [offsetSeconds](const NaturalKey&, std::int64_t localMs) -> Result<std::int64_t> {
    return localMs - std::int64_t{offsetSeconds} * 1000;
  };
  return o;
}

inline const Transaction& only(const ParsedDocument& d, std::size_t index) {
  const auto& item = d.items.at(index);
  if (!item.transaction) throw std::runtime_error("item " + std::to_string(index) + " not parsed: " + item.reason);
  return *item.transaction;
}

}  // namespace aisle::pos::testing
