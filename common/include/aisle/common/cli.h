#pragma once
// Command-line arguments for every binary: `sub --key value --key=value --flag positional`.
// Flags are declared up front so a typo is an error, not a silently ignored option.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "aisle/common/result.h"

namespace aisle {

class CommandLine {
 public:
  // valueOptions take a value (--config FILE); switches do not (--check-config).
  static Result<CommandLine> parse(const std::vector<std::string>& args,
                                   const std::set<std::string>& valueOptions,
                                   const std::set<std::string>& switches);
  const std::vector<std::string>& positional() const { return positional_; }
  std::optional<std::string> value(const std::string& name) const;
  std::string valueOr(const std::string& name, std::string fallback) const;
  bool has(const std::string& name) const;

 private:
  std::vector<std::string> positional_;
  std::map<std::string, std::string> values_;
  std::set<std::string> switches_;
};

std::vector<std::string> argsOf(int argc, char** argv);  // argv[1..]
const char* versionString();

}  // namespace aisle
