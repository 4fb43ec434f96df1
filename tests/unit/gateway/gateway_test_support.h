#pragma once
// Helpers shared by the gateway tests: locating the shared data sets and reading flat JSON lines.
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

#include "aisle/gateway/json.h"

namespace aisle::gateway::testing {

// AISLE_DATASETS, else ../shared/datasets next to the checkout; empty if neither exists.
inline std::filesystem::path datasetsDir() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) {
    if (std::filesystem::is_directory(env)) return env;
    return {};
  }
  const std::filesystem::path p = std::filesystem::path(AISLE_SOURCE_DIR) / ".." / "shared" / "datasets";
  return std::filesystem::is_directory(p) ? p : std::filesystem::path{};
}

// A flat JSON object as key -> text (strings decoded, literals raw); "" key holds a parse error.
inline std::map<std::string, std::string> flatJson(std::string_view line) {
  struct V final : JsonFlatVisitor {
    std::map<std::string, std::string> m;
    void onString(std::string_view k, std::string_view v) override { m[std::string(k)] = std::string(v); }
    void onLiteral(std::string_view k, std::string_view v) override { m[std::string(k)] = std::string(v); }
  } v;
  FlatJsonReader r;
  std::size_t off = 0;
  if (const char* e = r.parse(line, v, off)) v.m[""] = e;
  return v.m;
}

}  // namespace aisle::gateway::testing
