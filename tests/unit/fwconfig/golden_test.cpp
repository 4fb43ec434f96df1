// Golden fleet files: every bad file's problems, message for message, and good files without any.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "aisle/fwconfig/fleet.h"
#include "test_util.h"

namespace aisle::fwconfig {
namespace {

namespace fs = std::filesystem;
using testing::readText;
using testing::sourcePath;

std::vector<fs::path> filesIn(const fs::path& dir, const std::string& ext) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(FleetGolden, EveryBadFileReportsExactlyTheExpectedMessages) {
  const auto files = filesIn(sourcePath("tests/unit/fwconfig/golden/bad"), ".toml");
  ASSERT_GE(files.size(), 8u);
  for (const auto& file : files) {
    SCOPED_TRACE(file.filename().string());
    const FleetCheck check = checkFleet(readText(file), file.filename().string());
    std::string actual;
    for (const auto& d : check.problems) actual += d.str() + "\n";
    fs::path expected = file;
    expected.replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected)) << "missing " << expected;
    EXPECT_EQ(actual, readText(expected));
    EXPECT_FALSE(check.ok());
  }
}

TEST(FleetGolden, GoodFilesAndTheShippedExampleHaveNoProblems) {
  auto files = filesIn(sourcePath("tests/unit/fwconfig/golden/good"), ".toml");
  files.push_back(sourcePath("firmware-config/examples/chain.toml"));
  for (const auto& file : files) {
    SCOPED_TRACE(file.string());
    const FleetCheck check = checkFleet(readText(file), file.filename().string());
    std::string problems;
    for (const auto& d : check.problems) problems += d.str() + "\n";
    EXPECT_TRUE(check.ok()) << problems;
  }
}

TEST(FleetGolden, EveryProblemHasAPositionAndAHint) {
  for (const auto& file : filesIn(sourcePath("tests/unit/fwconfig/golden/bad"), ".toml")) {
    for (const auto& d : checkFleet(readText(file), "f").problems) {
      EXPECT_GT(d.pos.line, 0) << d.str();
      EXPECT_GT(d.pos.column, 0) << d.str();
      EXPECT_FALSE(d.hint.empty()) << d.str();
    }
  }
}

}  // namespace
}  // namespace aisle::fwconfig
