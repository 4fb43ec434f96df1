// The personalization batch at scale: synthetic members (`generate`), then one full `batch` run
// (every member recomputed, coupons issued for six campaigns), timed, with the batch's own peak
// RSS.
//
//   bench_batch [--members N] [--products P] [--lines L | --days D]
// (or AISLE_BENCH_MEMBERS / _PRODUCTS / _LINES / _DAYS). Defaults: 50,000 members, 20,000 products,
// 50 lines a member (the shape, 1/20 of its size: ~4 min); the full target is
// `--members 1000000 --products 20000 --lines 50000000` (about an hour with generation). --lines
// picks the history length: the generator's lines per member and day are measured on 500 drawn
// members, then the days that give L lines are used (the report has the real count). With
// AISLE_BENCH_CATALOG=cj the Complete Journey catalogue is loaded first instead of the built-in
// one. The database is a scratch one next to AISLE_DB, dropped at the end unless
// AISLE_BENCH_KEEP=1.
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "aisle/common/clock.h"
#include "aisle/engine/batch.h"
#include "aisle/engine/generator.h"
#include "aisle/engine/loader.h"
#include "bench_db.h"
#include "bench_result.h"

namespace fs = std::filesystem;
using namespace aisle;
using namespace aisle::engine;

namespace {


long envLong(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;  // NOLINT: a bench knob, not input
}

double peakRssMb() {
  std::ifstream s("/proc/self/status");
  std::string line;
  while (std::getline(s, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;  // kB
  return 0;
}

// The 1-minute load average: other work on the machine skews every figure.
double load1() {
  double v = 0;
  std::ifstream("/proc/loadavg") >> v;
  return v;
}

// Resets the peak RSS so it measures the batch alone, not the generator before it.
void resetPeakRss() {
  std::ofstream("/proc/self/clear_refs") << "5";
}

// Days of history that give about `linesPerMember` lines, measured on the generator itself.
int daysFor(double linesPerMember, int products) {
  const auto perMember = [&](int days) {
    GeneratorParams p;
    p.days = days;
    const SyntheticGenerator g(builtInDistributions(products), p);
    double n = 0;
    for (int i = 0; i < 500; ++i)
      for (const auto& t : g.member(i).trips) n += static_cast<double>(t.lines.size());
    return n / 500;
  };
  int days = 90;
  for (int round = 0; round < 3; ++round)
    days = std::max(1, static_cast<int>(std::lround(days * linesPerMember / perMember(days))));
  return days;
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* base = std::getenv("AISLE_DB");
  if (!base || !*base) {
    std::cerr << "bench_batch: set AISLE_DB (a scratch database is created next to it)\n";
    return 2;
  }
  long members = envLong("AISLE_BENCH_MEMBERS", 50000);
  long products = envLong("AISLE_BENCH_PRODUCTS", 20000);
  long lines = envLong("AISLE_BENCH_LINES", 0);
  int days = static_cast<int>(envLong("AISLE_BENCH_DAYS", 0));
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const long v = std::atol(argv[i + 1]);  // NOLINT: a bench knob, not input
    if (flag == "--members") members = v;
    else if (flag == "--products") products = v;
    else if (flag == "--lines") lines = v;
    else if (flag == "--days") days = static_cast<int>(v);
    else {
      std::cerr << "usage: bench_batch [--members N] [--products P] [--lines L | --days D]\n";
      return 2;
    }
  }
  if (days <= 0)
    days = daysFor(static_cast<double>(lines > 0 ? lines : 50 * members) / static_cast<double>(members),
                   static_cast<int>(products));
  std::cerr << "bench_batch: " << members << " members, " << products << " products, " << days
            << " days\n";
  const bool keep = envLong("AISLE_BENCH_KEEP", 0) == 1;
  const char* catalogEnv = std::getenv("AISLE_BENCH_CATALOG");
  const bool cj = catalogEnv && std::string(catalogEnv) == "cj";
  const bench::ScratchDatabase db(base, "bench_batch", keep);
  const std::string& url = db.url();
  int rc = 0;
  try {
    pqxx::connection c(url);
    db.migrate(c);
    if (cj) {
      const char* ds = std::getenv("AISLE_DATASETS");
      const fs::path dir =
          fs::path(ds && *ds ? ds : AISLE_SOURCE_DIR "/../shared/datasets") / "completejourney2";
      auto r = loadCompleteJourney(c, dir.string(), {});
      if (!r) throw std::runtime_error(r.message());
    }
    auto progress = makeProgress(std::cerr, false);
    GenerateOptions g;
    g.members = members;
    g.days = days;
    g.seed = 1;
    g.catalogProducts = static_cast<int>(products);
    g.progress = progress.get();
    const double loadBefore = load1();
    const auto genStart = std::chrono::steady_clock::now();
    auto gen = generateSynthetic(c, g);
    if (!gen) throw std::runtime_error(gen.message());
    const double generateSeconds = secondsSince(genStart);
    const double loadAfterGenerate = load1();

    // Six campaigns over the most bought categories (ids read here: they depend on the catalogue).
    std::vector<std::int64_t> cats;
    std::int64_t productsBought = 0;
    {
      pqxx::read_transaction tx(c);
      for (const auto& r : tx.exec(
               "SELECT p.category_id FROM transaction_lines l JOIN products p USING (product_id) "
               "WHERE p.category_id IS NOT NULL AND l.member_id >= 1000000000 "
               "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 6"))
        cats.push_back(r[0].as<std::int64_t>());
      productsBought = tx.exec1("SELECT count(DISTINCT product_id) FROM transaction_lines")[0]
                           .as<std::int64_t>();
    }
    const fs::path file = fs::temp_directory_path() / (db.name() + ".toml");
    {
      std::ofstream f(file);
      for (std::size_t i = 0; i < cats.size(); ++i)
        f << "[[campaign]]\nid = " << 9001 + i << "\nname = \"bench " << i
          << "\"\ntype = \"percent_off\"\n"
          << "percent_off = " << 10 + 5 * i << "\ntarget = { category_id = " << cats[i] << " }\n"
          << "valid_from = 2017-12-01\nvalid_to = 2018-03-01\nbudget = \"" << members / 2
          << ".00\"\n"
          << "holdout_pct = 10\n\n";
    }
    BatchOptions o;
    o.campaignsFile = file.string();
    o.asOfMs = 1514764800000;  // 2018-01-01: the generator's end
    o.progress = progress.get();
    SystemClock clock;
    auto codes = makeOsRandomCodes();
    resetPeakRss();
    const auto batchStart = std::chrono::steady_clock::now();
    auto report = runBatch(url, o, clock, *codes);
    const double batchSeconds = secondsSince(batchStart);
    const double rss = peakRssMb();
    fs::remove(file);
    if (!report) throw std::runtime_error(report.message());
    std::cerr << report->toJson() << "\n";
    const double perMember = batchSeconds / static_cast<double>(report->members);
    bench::writeResult(
        "batch",
        {
            {"members_count", static_cast<double>(report->members)},
            {"lines_count", static_cast<double>(report->lines)},
            {"products_count", static_cast<double>(productsBought)},
            {"catalog_products_count", static_cast<double>(products)},
            {"days_count", static_cast<double>(days)},
            {"generate_s", generateSeconds},
            {"batch_s", batchSeconds},
            {"read_s", report->readSeconds},
            {"fit_s", report->fitSeconds},
            {"members_write_s", report->memberSeconds},
            {"compute_worker_s", report->computeSeconds},
            {"model_write_worker_s", report->modelWriteSeconds},
            {"coupon_write_worker_s", report->couponWriteSeconds},
            {"members_per_s", 1.0 / perMember},
            {"lines_per_s", static_cast<double>(report->lines) / batchSeconds},
            {"rss_mb", rss},
            {"load1_start", loadBefore},
            {"load1_after_generate", loadAfterGenerate},
            {"load1_end", load1()},
            {"coupons_count", static_cast<double>(report->couponsIssued)},
            {"product_models_count", static_cast<double>(report->productModels)},
            // Linear in members and lines (every phase streams or chunks): 1M members, 50 lines
            // each.
            {"extrapolated_1m_members_50m_lines_s",
             batchSeconds * 50e6 / std::max<double>(1.0, static_cast<double>(report->lines))},
        });
  } catch (const std::exception& e) {
    std::cerr << "bench_batch: " << e.what() << "\n";
    rc = 1;
  }
  return rc;  // `db` is dropped (or kept, with AISLE_BENCH_KEEP=1) on the way out
}
