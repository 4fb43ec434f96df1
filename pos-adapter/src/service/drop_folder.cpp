#include <algorithm>
#include <fstream>
#include <iterator>
#include <vector>

#include "aisle/pos/repository.h"
#include "aisle/pos/service.h"

namespace aisle::pos {
namespace fs = std::filesystem;

namespace {

bool inProgress(const std::string& name) {
  auto endsWith = [&](std::string_view s) { return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0; };
  return name.empty() || name[0] == '.' || endsWith(".tmp") || endsWith(".part");
}

// done/ and failed/ keep every file: a name seen before gets a numeric suffix instead of overwriting.
fs::path freeName(const fs::path& dir, const std::string& name) {
  fs::path p = dir / name;
  for (int i = 1; fs::exists(p); ++i) p = dir / (name + "." + std::to_string(i));
  return p;
}

}  // namespace

DropFolder::DropFolder(fs::path dir, Logger log) : dir_(std::move(dir)), log_(std::move(log)) {
  fs::create_directories(dir_ / "done");
  fs::create_directories(dir_ / "failed");
}

DropFolder::Scan DropFolder::scanOnce(const Ingest& ingest) {
  Scan scan;
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.is_regular_file() && !inProgress(e.path().filename().string())) files.push_back(e.path());
  }
  if (ec) {
    log_.error("cannot list drop folder " + dir_.string() + ": " + ec.message());
    return scan;
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    const std::string name = f.filename().string();
    const std::string bytes = readWholeFile(f).value_or(std::string());
    IngestSummary sum;
    try {
      sum = ingest(bytes, name);
    } catch (const std::exception& e) {
      if (!isDatabaseUnavailable(e)) throw;
      // Files are their own durable copy: leave this one and the rest for when the database is back.
      scan.deferred += static_cast<int>(files.end() - std::find(files.begin(), files.end(), f));
      log_.with("file", name).warn("database unavailable; file left for the next scan");
      return scan;
    }
    if (sum.rejected > 0) {
      const fs::path target = freeName(dir_ / "failed", name);
      fs::rename(f, target);
      std::ofstream reason(target.string() + ".reason");
      for (const auto& e : sum.errors) reason << maskSensitive(e) << "\n";
      reason << sum.json() << "\n";
      ++scan.failed;
      log_.with("file", name).warn("moved to failed/: " + std::to_string(sum.rejected) + " rejected");
    } else {
      fs::rename(f, freeName(dir_ / "done", name));
      ++scan.done;
      log_.with("file", name).info("processed: " + sum.json());
    }
  }
  return scan;
}

}  // namespace aisle::pos
