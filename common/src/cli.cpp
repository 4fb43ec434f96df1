#include "aisle/common/cli.h"

#include "aisle/common/version.h"

namespace aisle {

Result<CommandLine> CommandLine::parse(const std::vector<std::string>& args,
                                       const std::set<std::string>& valueOptions,
                                       const std::set<std::string>& switches) {
  CommandLine cl;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      cl.positional_.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inlineValue;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inlineValue = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (switches.count(name)) {
      if (inlineValue) return fail("option --" + name + " takes no value");
      cl.switches_.insert(name);
    } else if (valueOptions.count(name)) {
      if (inlineValue) {
        cl.values_[name] = *inlineValue;
      } else if (i + 1 < args.size()) {
        cl.values_[name] = args[++i];
      } else {
        return fail("option --" + name + " needs a value");
      }
    } else {
      return fail("unknown option --" + name + " (see --help)");
    }
  }
  return cl;
}

std::optional<std::string> CommandLine::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string CommandLine::valueOr(const std::string& name, std::string fallback) const {
  auto v = value(name);
  return v ? *v : std::move(fallback);
}

bool CommandLine::has(const std::string& name) const {
  return switches_.count(name) > 0 || values_.count(name) > 0;
}

std::vector<std::string> argsOf(int argc, char** argv) { return std::vector<std::string>(argv + 1, argv + argc); }

const char* versionString() { return AISLE_VERSION " (" AISLE_GIT_SHA ")"; }

}  // namespace aisle
