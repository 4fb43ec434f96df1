// Runs `aisleone-coupon-engine evaluate` on the real Ta-Feng data (keyset 0, test users) and guards
// the quality goal of issue 5. The data set lives outside the repository: skipped with the reason
// when absent.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "aisle/common/parse.h"
#include "aisle/engine/cli.h"

namespace aisle::engine {
namespace {

std::filesystem::path datasetsDir() {
  if (const char* env = std::getenv("AISLE_DATASETS"); env && *env) return env;
  return std::filesystem::path(AISLE_SOURCE_DIR) / ".." / "shared" / "datasets";
}

double field(const std::string& json, const std::string& name) {
  const std::string key = "\"" + name + "\":";
  const auto at = json.find(key);
  if (at == std::string::npos) return -1.0;
  const auto end = json.find_first_of(",}", at + key.size());
  return parseNumber<double>(std::string_view(json).substr(at + key.size(), end - at - key.size()))
      .valueOr(-1.0);
}

struct CliRun {
  int code = 0;
  std::string out, err;
};

CliRun evaluate(const std::filesystem::path& dir, const std::string& model) {
  CliRun r;
  std::ostringstream out, err;
  r.code = runCli({"evaluate", "--history", (dir / "tafeng_history.json").string(), "--future",
                   (dir / "tafeng_future.json").string(), "--keyset",
                   (dir / "keyset" / "tafeng_keyset_0.json").string(), "--model", model},
                  out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace

TEST(TafengEvaluation, BlendModelStaysAboveTheQualityGoalOnKeysetZero) {
  const auto dir = datasetsDir() / "tafeng-nbr";
  if (!std::filesystem::exists(dir / "tafeng_history.json"))
    GTEST_SKIP() << "tafeng-nbr data set not found under " << dir << " (set AISLE_DATASETS)";
  const CliRun blend = evaluate(dir, "blend");
  ASSERT_EQ(blend.code, 0) << blend.err;
  // Issue 5 sets Recall@10 >= 0.148 and NDCG@10 >= 0.132 as a mean over keysets 0..4.
  EXPECT_GE(field(blend.out, "recall@10"), 0.148) << blend.out;
  EXPECT_GE(field(blend.out, "ndcg@10"), 0.132) << blend.out;
  EXPECT_GT(field(blend.out, "users"), 2500.0) << blend.out;

  // The strongest baseline through the same command stays clearly below.
  const CliRun gp = evaluate(dir, "gp-topfreq");
  ASSERT_EQ(gp.code, 0) << gp.err;
  EXPECT_LT(field(gp.out, "recall@10"), field(blend.out, "recall@10") - 0.01) << gp.out;
}

TEST(TafengEvaluation, RejectsAnUnknownModelWithOneClearLine) {
  std::ostringstream out, err;
  EXPECT_EQ(
      runCli({"evaluate", "--model", "magic", "--history", "h", "--future", "f", "--keyset", "k"},
             out, err),
      2);
  EXPECT_NE(err.str().find("unknown model 'magic'"), std::string::npos) << err.str();
}

}  // namespace aisle::engine
