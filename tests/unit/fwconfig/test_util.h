#pragma once
// Helpers shared by the fwconfig tests: files from the source tree and throwaway directories.
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace aisle::fwconfig::testing {

inline std::string readText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void writeText(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::filesystem::path sourcePath(const std::string& relative) {
  return std::filesystem::path(AISLE_SOURCE_DIR) / relative;
}

inline std::string exampleChain() {
  return readText(sourcePath("firmware-config/examples/chain.toml"));
}

// A fresh directory under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("aisle-fwconfig-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace aisle::fwconfig::testing
