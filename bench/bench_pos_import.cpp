// Bulk import of historical sales (`aisleone-pos-adapter import DIR`, run in-process through the same
// runCli the binary calls) against a raw COPY of the same rows in the same run.
//
// Import: N sales (default 20,000, 10 lines each, built from the real NCR sample as in
// bench_pos_ingest) in files of 200 sales, in two formats: ARTS POSLog XML, and the same sales in
// the documented JSON form. Timed: reading, parsing, normalizing, hashing and storing every sale
// idempotently (per-sale key lock, duplicate check, header, lines, rewards), commit.
// Raw COPY: the transaction and line rows the import stored, already formatted as text in memory,
// COPYed (pqxx::stream_to) into tables created LIKE transactions / transaction_lines INCLUDING ALL
// plus the foreign keys and triggers the real tables have, in one transaction: the floor for putting
// those rows into tables of that shape, with no parsing, no checks, no idempotency.
//
// Both sides are timed on equal terms: each phase starts after a CHECKPOINT (clean buffers), and
// autovacuum is off for the tables both write. The raw COPY is one transaction into fresh tables, so
// a vacuum its rows call for can only start after its timing; the import's inserts into the big real
// tables called for one during the import at random (the same import took 2.6 s or 3.5 s). The
// tables are vacuumed between the formats, outside the timings, as autovacuum would have done.
//
//   bench_pos_import [--sales 20000]
#include <pqxx/pqxx>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "aisle/pos/cli.h"
#include "aisle/pos/poslog.h"
#include "bench_db.h"
#include "bench_pos_workload.h"
#include "bench_result.h"

namespace fs = std::filesystem;
using namespace aisle;

namespace {

constexpr std::int64_t kMembers = 100'000;
constexpr int kProducts = 2'000;
constexpr int kPerFile = 200;  // NCR sales are ~19 KB each: files stay under the 8 MiB document limit

int argInt(int argc, char** argv, const std::string& name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return def;
}

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The sales of one format as files of kPerFile in `dir`; workstations `lane0`.. keep keys distinct.
void writeFiles(const bench::SaleGenerator& gen, const fs::path& dir, int sales, int lane0, bool json) {
  fs::create_directories(dir);
  pos::ParseOptions po;
  // The sample's times carry no zone: store 9 is in New York (EDT on the sample's day).
  po.localTime = [](const pos::NaturalKey&, std::int64_t localMs) -> Result<std::int64_t> {
    return localMs + 4 * 3'600'000;
  };
  for (int f = 0; f * kPerFile < sales; ++f) {
    std::string body;
    std::string jsonBody = "[";
    for (int i = f * kPerFile; i < std::min(sales, (f + 1) * kPerFile); ++i) {
      const std::string lane = std::to_string(lane0 + i % 20);
      const std::string sale = gen.sale(lane, i / 20 + 1, (i * 7919) % kMembers + 1);
      if (!json) {
        body += sale;
        continue;
      }
      auto doc = pos::parsePosLog(gen.document(sale), po);
      if (!doc || doc->items.size() != 1 || !doc->items[0].transaction) throw std::runtime_error("generator: bad sale");
      jsonBody += (jsonBody.size() > 1 ? "," : "") + pos::toJson(*doc->items[0].transaction, /*maskCard=*/false);
    }
    char name[32];
    std::snprintf(name, sizeof name, "sales-%05d.%s", f, json ? "json" : "xml");
    std::ofstream(dir / name) << (json ? jsonBody + "]" : gen.document(body));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* base = std::getenv("AISLE_DB");
  if (!base || !*base) {
    std::cerr << "bench_pos_import: set AISLE_DB (a scratch database is created next to it)\n";
    return 2;
  }
  const int sales = argInt(argc, argv, "--sales", 20'000);
  const bench::ScratchDatabase db(base, "bench_pos_import");
  const std::string& url = db.url();
  const fs::path dir = fs::temp_directory_path() / ("aisle-bench-pos-import-" + std::to_string(std::random_device{}()));
  int rc = 0;
  try {
    pqxx::connection c(url);
    {
      db.migrate(c);
      bench::seedCatalogAndMembers(c, kMembers, kProducts);
      bench::seedHistory(c, 50'000, kMembers, kProducts);
    }
    const bench::SaleGenerator gen(bench::datasetsDir(), 10, kProducts);
    {
      pqxx::work tx(c);
      bench::createRawTables(tx, "raw", /*checks=*/true);
      for (const char* t : {"transactions", "transaction_lines", "redemptions", "quarantined_transactions",
                            "raw.transactions", "raw.transaction_lines"})
        tx.exec(std::string("ALTER TABLE ") + t + " SET (autovacuum_enabled = false)");
      tx.commit();
    }
    setenv("AISLE_DB", url.c_str(), 1);
    std::map<std::string, double> figures;
    int lane0 = 100;
    for (const bool json : {false, true}) {
      const std::string fmt = json ? "json" : "poslog";
      const fs::path d = dir / fmt;
      writeFiles(gen, d, sales, lane0, json);
      std::ostringstream out, err;
      // Both timed phases start from clean buffers: otherwise whichever runs after the seed or the
      // other phase pays for writing out their pages, and a timed checkpoint can land in either.
      pqxx::nontransaction(c).exec("VACUUM ANALYZE transactions, transaction_lines, redemptions");
      pqxx::nontransaction(c).exec("CHECKPOINT");
      const auto t0 = std::chrono::steady_clock::now();
      const int code = pos::runCli({"import", d.string()}, out, err);
      const double importS = secondsSince(t0);
      if (code != 0) throw std::runtime_error("import failed: " + err.str().substr(0, 500));
      const std::string expect = "{\"transactions\":" + std::to_string(sales) + ",\"duplicates\":0,\"rejected\":0";
      if (out.str().rfind(expect, 0) != 0) throw std::runtime_error("import summary: " + out.str());

      const std::string where = "source <> 'history' AND workstation_id::int BETWEEN " + std::to_string(lane0) +
                                " AND " + std::to_string(lane0 + 19);
      const auto txRows = bench::fetchRaw<12>(c, "SELECT member_id, transaction_id, org_id, store_id, workstation_id, "
                                       "business_day, sequence_no, occurred_at, card_number, "
                                       "'\\x' || encode(content_hash, 'hex'), total_minor, source FROM transactions "
                                       "WHERE " + where);
      const auto lineRows = bench::fetchRaw<8>(c, "SELECT l.member_id, l.transaction_id, line_no, product_id, quantity, "
                                        "amount_minor, discount_minor, coupon_discount_minor FROM transaction_lines l "
                                        "JOIN transactions t USING (member_id, transaction_id) WHERE " + where);
      if (static_cast<int>(txRows.rows.size()) != sales || static_cast<int>(lineRows.rows.size()) != sales * 10)
        throw std::runtime_error(fmt + ": stored " + std::to_string(txRows.rows.size()) + " sales, " +
                                 std::to_string(lineRows.rows.size()) + " lines");
      {
        pqxx::work tx(c);
        tx.exec("TRUNCATE raw.transactions, raw.transaction_lines");
        tx.commit();
      }
      pqxx::nontransaction(c).exec("CHECKPOINT");
      const auto t1 = std::chrono::steady_clock::now();
      {
        pqxx::work tx(c);
        bench::useRawTables(tx, "raw");
        bench::copyRaw(tx, "transactions", bench::rawTransactionColumns(), txRows);
        bench::copyRaw(tx, "transaction_lines", bench::rawLineColumns(), lineRows);
        tx.commit();
      }
      const double rawS = secondsSince(t1);
      const double lines = static_cast<double>(lineRows.rows.size());
      std::cerr << "bench_pos_import: " << fmt << ": " << sales << " sales (" << lines << " lines) imported in "
                << importS << " s; raw COPY of the same rows " << rawS << " s; ratio " << rawS / importS << "\n";
      figures[fmt + "_import_transactions_per_s"] = sales / importS;
      figures[fmt + "_import_lines_per_s"] = lines / importS;
      figures[fmt + "_raw_copy_lines_per_s"] = lines / rawS;
      figures[fmt + "_ratio_vs_copy"] = rawS / importS;
      lane0 += 100;
    }
    double load = 0;
    std::ifstream("/proc/loadavg") >> load;
    figures["transactions"] = sales;
    figures["lines_per_transaction"] = 10;
    figures["from_dataset"] = gen.fromDataset() ? 1 : 0;
    figures["load_avg_1m"] = load;
    bench::writeResult("pos_import", figures);
  } catch (const std::exception& e) {
    std::cerr << "bench_pos_import: " << e.what() << "\n";
    rc = 1;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return rc;  // `db` is dropped on the way out
}
