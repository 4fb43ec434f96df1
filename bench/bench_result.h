#pragma once
// Writes bench/results/<name>.json in the format of DESIGN.md:
// {"bench": "<name>", "commit": "<git sha>", "machine": "<cores, model>", "figures": {...}}
// and prints the same JSON to stdout.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "aisle/common/json.h"
#include "aisle/common/version.h"

namespace aisle::bench {

inline std::string machineDescription() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown cpu";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  long memKb = 0;
  std::ifstream mem("/proc/meminfo");
  std::string key;
  mem >> key >> memKb;
  return std::to_string(std::thread::hardware_concurrency()) + " cores, " + model + ", " +
         std::to_string(memKb / 1024 / 1024 + 1) + " GiB";
}

inline std::string gitSha() {
  std::string sha;
  if (FILE* p = popen("git -C " AISLE_SOURCE_DIR " rev-parse --short HEAD 2>/dev/null", "r")) {
    char buf[64] = {};
    if (fgets(buf, sizeof buf, p)) sha = buf;
    pclose(p);
  }
  while (!sha.empty() && (sha.back() == '\n' || sha.back() == ' ')) sha.pop_back();
  return sha.empty() ? AISLE_GIT_SHA : sha;
}


// figures: "<metric>_<unit>" -> value, e.g. {"rows_per_s", 1.2e6}, {"ratio_vs_copy", 0.83}.
inline void writeResult(const std::string& name, const std::map<std::string, double>& figures) {
  std::ostringstream js;
  js << "{\"bench\": \"" << name << "\", \"commit\": \"" << gitSha() << "\", \"machine\": \""
     << jsonEscape(machineDescription()) << "\", \"figures\": {";
  bool first = true;
  for (const auto& [k, v] : figures) {
    js << (first ? "" : ", ") << "\"" << k << "\": " << v;
    first = false;
  }
  js << "}}\n";
  std::ofstream(std::string(AISLE_SOURCE_DIR) + "/bench/results/" + name + ".json") << js.str();
  std::cout << js.str();
}

}  // namespace aisle::bench
