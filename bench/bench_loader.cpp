// Loader throughput for transactions against a raw COPY of the same rows, in the same run.
//
// Loader: `load completejourney` on the real files with the transactions sample repeated
// AISLE_BENCH_SCALE times (default 10; basket ids shifted by k * 10^11 so every copy is a new
// basket). Timed: reading + hashing + parsing the transactions file, building baskets, the
// existence check, COPY of transactions and lines, commit (LoadReport::transactionSeconds).
//
// Raw COPY: the identical transaction and line rows, already formatted as text in memory, COPYed
// with the same client (pqxx::stream_to) into tables created LIKE transactions / transaction_lines
// INCLUDING ALL (same columns, defaults, checks, primary and unique keys, indexes) plus the same
// foreign keys and referential triggers, in one transaction with commit. It is the floor for
// putting those rows into tables of that shape: no parsing, no mapping, no hashing. A second figure
// COPYs them into the same tables without those checks, to show what the checks themselves cost.
//
// Each side runs AISLE_BENCH_ROUNDS times (default 3), alternating, tables truncated between
// rounds; the figures are medians.
#include <pqxx/pqxx>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/loader.h"
#include "bench_db.h"
#include "bench_result.h"

namespace fs = std::filesystem;
using namespace aisle;
using namespace aisle::engine;

namespace {


int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;  // NOLINT: a bench knob, not input
}

// The data set directory with transactions_sample.csv repeated `scale` times.
fs::path scaledCopy(const fs::path& source, int scale) {
  std::random_device rd;
  const fs::path dir = fs::temp_directory_path() / ("aisle-bench-loader-" + std::to_string(rd()));
  fs::create_directories(dir);
  for (const char* f : {"campaign_descriptions.csv", "demographics.csv", "products.csv",
                        "coupons.csv", "campaigns.csv", "coupon_redemptions.csv"}) {
    fs::create_symlink(source / f, dir / f);
  }
  std::ifstream in(source / "transactions_sample.csv");
  std::ofstream out(dir / "transactions_sample.csv");
  std::string header, line;
  std::getline(in, header);
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  out << header << "\n";
  for (int k = 0; k < scale; ++k) {
    for (const auto& l : lines) {
      // Third field is the basket id (the file quotes fields and has no commas inside them).
      const auto a = l.find(',');
      const auto b = l.find(',', a + 1);
      const auto c = l.find(',', b + 1);
      std::string basket = l.substr(b + 1, c - b - 1);
      basket.erase(std::remove(basket.begin(), basket.end(), '"'), basket.end());
      const auto id = parseIdText(basket);
      if (!id) throw std::runtime_error("bad basket id " + basket);
      out << l.substr(0, b + 1) << '"' << (*id + static_cast<std::int64_t>(k) * 100'000'000'000)
          << '"' << l.substr(c) << "\n";
    }
  }
  return dir;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main() {
  const char* base = std::getenv("AISLE_DB");
  if (!base || !*base) {
    std::cerr << "bench_loader: set AISLE_DB (a scratch database is created next to it)\n";
    return 2;
  }
  const char* ds = std::getenv("AISLE_DATASETS");
  const fs::path source =
      fs::path(ds && *ds ? ds : AISLE_SOURCE_DIR "/../shared/datasets") / "completejourney2";
  if (!fs::exists(source)) {
    std::cerr << "bench_loader: Complete Journey not found at " << source
              << " (set AISLE_DATASETS)\n";
    return 2;
  }
  const int scale = std::max(1, envInt("AISLE_BENCH_SCALE", 10));
  const int rounds = std::max(1, envInt("AISLE_BENCH_ROUNDS", 3));

  const bench::ScratchDatabase db(base, "bench_loader");
  const fs::path dir = scaledCopy(source, scale);
  int rc = 0;
  try {
    pqxx::connection c(db.url());
    db.migrate(c);

    std::cerr << "bench_loader: first load (catalog + " << scale << "x transactions)\n";
    auto first = loadCompleteJourney(c, dir.string(), {});
    if (!first) throw std::runtime_error(first.message());
    const double fullLoadSeconds = first->seconds;
    const std::int64_t lines = first->transactionLinesWritten;

    const auto txRows = bench::fetchRaw<12>(
        c,
        "SELECT member_id, transaction_id, org_id, store_id, workstation_id, business_day, "
        "sequence_no, occurred_at, "
        "card_number, '\\x' || encode(content_hash, 'hex'), total_minor, source FROM transactions");
    const auto lineRows =
        bench::fetchRaw<8>(c,
                           "SELECT member_id, transaction_id, line_no, product_id, "
                           "quantity, amount_minor, discount_minor, "
                           "coupon_discount_minor FROM transaction_lines");
    {
      pqxx::work tx(c);
      bench::createRawTables(tx, "raw_fk", /*checks=*/true);
      bench::createRawTables(tx, "raw_nofk", /*checks=*/false);
      tx.commit();
    }

    std::vector<double> loader, raw, rawNoFk;
    LoadOptions force;
    force.force = true;  // catalog rows are all present: only the transactions are new each round
    for (int r = 0; r < rounds; ++r) {
      {
        pqxx::work tx(c);
        tx.exec(
            "TRUNCATE transactions, transaction_lines, raw_fk.transactions, raw_fk.transaction_lines, "
            "raw_nofk.transactions, raw_nofk.transaction_lines");
        tx.commit();
        pqxx::nontransaction nt(c);
        nt.exec("VACUUM ANALYZE");
      }
      auto rep = loadCompleteJourney(c, dir.string(), force);
      if (!rep) throw std::runtime_error(rep.message());
      if (rep->transactionLinesWritten != lines)
        throw std::runtime_error("round loaded a different number of lines");
      loader.push_back(rep->transactionSeconds);

      for (const char* suffix : {"fk", "nofk"}) {
        const auto t0 = std::chrono::steady_clock::now();
        pqxx::work tx(c);
        bench::useRawTables(tx, std::string("raw_") + suffix);
        bench::copyRaw(tx, "transactions", bench::rawTransactionColumns(), txRows);
        bench::copyRaw(tx, "transaction_lines", bench::rawLineColumns(), lineRows);
        tx.commit();
        (std::string(suffix) == "fk" ? raw : rawNoFk).push_back(secondsSince(t0));
      }
      std::cerr << "  round " << r + 1 << ": loader " << loader.back() << " s, raw COPY "
                << raw.back() << " s, raw COPY without referential checks " << rawNoFk.back() << " s\n";
    }
    const double l = median(loader), rw = median(raw), rn = median(rawNoFk);
    const double n = static_cast<double>(lines);
    bench::writeResult("loader", {{"lines", n},
                                  {"transactions", static_cast<double>(txRows.rows.size())},
                                  {"loader_lines_per_s", n / l},
                                  {"raw_copy_lines_per_s", n / rw},
                                  {"raw_copy_nofk_lines_per_s", n / rn},
                                  {"ratio_vs_copy", rw / l},
                                  {"ratio_vs_copy_nofk", rn / l},
                                  {"first_full_load_s", fullLoadSeconds}});
  } catch (const std::exception& e) {
    std::cerr << "bench_loader: " << e.what() << "\n";
    rc = 1;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;  // `db` is dropped on the way out
}
