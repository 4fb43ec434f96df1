// Next-basket evaluation on tafeng-nbr: wall time and peak RSS of one full `evaluate` (load, fit,
// rank every one of the 13,858 members), and the mean quality over keysets 0..4 (test members) of
// the blend model and the GP-TopFreq baseline.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "aisle/engine/cli.h"
#include "aisle/engine/evaluate.h"
#include "bench_result.h"

namespace {

double peakRssMb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

}  // namespace

int main() {
  using namespace aisle::engine;
  const char* env = std::getenv("AISLE_DATASETS");
  const std::filesystem::path dir =
      std::filesystem::path(env && *env ? env : AISLE_SOURCE_DIR "/../shared/datasets") /
      "tafeng-nbr";
  if (!std::filesystem::exists(dir / "tafeng_history.json")) {
    std::cerr << "bench_evaluate: tafeng-nbr not found under " << dir << " (set AISLE_DATASETS)\n";
    return 1;
  }
  std::map<std::string, double> figures;

  // One full evaluate through the command, as a user runs it: every member of the data set.
  {
    std::ostringstream out, err;
    const auto start = std::chrono::steady_clock::now();
    const int rc = runCli({"evaluate", "--history", (dir / "tafeng_history.json").string(),
                           "--future", (dir / "tafeng_future.json").string(), "--keyset",
                           (dir / "keyset/tafeng_keyset_0.json").string(), "--split", "all"},
                          out, err);
    figures["full_evaluate_wall_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    figures["full_evaluate_rss_mb"] = peakRssMb();
    if (rc != 0) {
      std::cerr << err.str();
      return 1;
    }
  }
  {
    std::ostringstream out, err;
    const auto start = std::chrono::steady_clock::now();
    const int rc =
        runCli({"evaluate", "--history", (dir / "tafeng_history.json").string(), "--future",
                (dir / "tafeng_future.json").string(), "--keyset",
                (dir / "keyset/tafeng_keyset_0.json").string(), "--predictions", "/dev/null"},
               out, err);
    figures["keyset0_test_evaluate_wall_s"] =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (rc != 0) {
      std::cerr << err.str();
      return 1;
    }
  }

  auto data = loadBasketDataset((dir / "tafeng_history.json").string(),
                                (dir / "tafeng_future.json").string());
  if (!data) {
    std::cerr << data.message() << "\n";
    return 1;
  }
  for (const auto& [kind, prefix] :
       {std::pair{ModelKind::Blend, "blend"}, std::pair{ModelKind::GpTopFreq, "gp_topfreq"}}) {
    double recall = 0, ndcg = 0, ndcgWhole = 0, phr = 0, recall20 = 0, ndcg20 = 0;
    for (int k = 0; k < 5; ++k) {
      auto text = readFileContents(
          (dir / ("keyset/tafeng_keyset_" + std::to_string(k) + ".json")).string());
      auto keyset = text ? parseKeyset(*text) : aisle::Result<Keyset>(text.error());
      if (!keyset) {
        std::cerr << keyset.message() << "\n";
        return 1;
      }
      NextBasketModel model(kind);
      const auto ev = evaluateModel(*data, model, membersOf(*data, keyset->train),
                                    membersOf(*data, keyset->test), {}, "test");
      recall += ev.report.all.recall.at(10) / 5;
      ndcg += ev.report.all.ndcg.at(10) / 5;
      ndcgWhole += ev.report.all.ndcgWholeBasket.at(10) / 5;
      phr += ev.report.all.phr.at(10) / 5;
      recall20 += ev.report.all.recall.at(20) / 5;
      ndcg20 += ev.report.all.ndcg.at(20) / 5;
    }
    const std::string p = prefix;
    figures[p + "_recall_at10_ratio"] = recall;
    figures[p + "_ndcg_at10_ratio"] = ndcg;
    figures[p + "_ndcg_whole_basket_at10_ratio"] = ndcgWhole;
    figures[p + "_phr_at10_ratio"] = phr;
    figures[p + "_recall_at20_ratio"] = recall20;
    figures[p + "_ndcg_at20_ratio"] = ndcg20;
  }
  figures["rss_mb"] = peakRssMb();
  aisle::bench::writeResult("evaluate", figures);
  return 0;
}
