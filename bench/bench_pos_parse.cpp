// POSLog parsing on one core, no I/O: the sale of bench_pos_ingest (about 19 KB of NCR-shaped XML,
// 10 lines; bench_pos_workload.h) read N times by parsePosLog (XML checks + tree + interpretation into
// a normalized sale) and by the XML layer alone. The service spends most of its CPU per sale here.
//
// With --per-document N, N sales in one document (a store controller's POST), timed per sale.
// The same sales in the documented JSON form (toJson of the parsed sale, as bench_pos_import writes
// them) are read by parseTransactionJson for the JSON figure.
//
//   bench_pos_parse [--iterations 20000] [--per-document 1]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "aisle/pos/poslog.h"
#include "bench_pos_workload.h"
#include "bench_result.h"
#include "xml_tree.h"

int main(int argc, char** argv) {
  using namespace aisle;
  int iterations = 20'000;
  std::size_t perDocument = 1;
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) == "--iterations") iterations = std::atoi(argv[i + 1]);
    if (std::string(argv[i]) == "--per-document") perDocument = static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1])));
  }
  const bench::SaleGenerator gen(bench::datasetsDir(), 10, 2'000);
  std::string sales;
  for (std::size_t k = 0; k < perDocument; ++k) sales += gen.sale("101", static_cast<std::int64_t>(k + 1), 5);
  const std::string doc = gen.document(sales);
  iterations = std::max<int>(10, iterations / static_cast<int>(perDocument));
  pos::ParseOptions o;
  o.localTime = [](const pos::NaturalKey&, std::int64_t localMs) -> Result<std::int64_t> { return localMs + 4 * 3'600'000; };
  auto time = [&](auto&& parseOnce) {
    for (int i = 0; i < iterations / 10; ++i) parseOnce();  // warm caches and the allocator
    const auto a = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) parseOnce();
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count() / iterations /
           static_cast<double>(perDocument);
  };
  std::size_t lines = 0;
  const double full = time([&] {
    auto r = pos::parsePosLog(doc, o);
    if (!r || r->items.size() != perDocument || !r->items[0].transaction) {
      std::cerr << "bench_pos_parse: the sale did not parse: " << (r ? r->items[0].reason : r.message()) << "\n";
      std::exit(1);
    }
    lines = r->items[0].transaction->lines.size();
  });
  std::string json = "[";
  {
    const auto parsed = pos::parsePosLog(doc, o);
    for (const auto& item : parsed->items) json += (json.size() > 1 ? "," : "") + pos::toJson(*item.transaction, /*maskCard=*/false);
    json += "]";
  }
  const double fromJson = time([&] {
    auto r = pos::parseTransactionJson(json, o);
    if (!r || r->items.size() != perDocument || !r->items[0].transaction || r->items[0].transaction->lines.size() != lines) {
      std::cerr << "bench_pos_parse: the JSON sale did not parse: " << (r ? r->items[0].reason : r.message()) << "\n";
      std::exit(1);
    }
  });
  const double tree = time([&] {
    if (!pos::xml::parse(doc, {o.limits.maxBytes, o.limits.maxDepth, o.limits.maxElements})) std::exit(1);
  });
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  std::cerr << "bench_pos_parse: " << doc.size() / perDocument << " bytes, " << lines << " lines a sale"
            << (gen.fromDataset() ? " (from the NCR sample)" : " (built-in sale: data set absent)") << ": parsePosLog "
            << full << " us, XML layer alone " << tree << " us; the JSON form (" << json.size() / perDocument
            << " bytes a sale) " << fromJson << " us\n";
  bench::writeResult("pos_parse", {{"bytes_per_sale", static_cast<double>(doc.size() / perDocument)},
                                   {"sales_per_document", static_cast<double>(perDocument)},
                                   {"lines_per_sale", static_cast<double>(lines)},
                                   {"parse_us_per_sale", full},
                                   {"xml_layer_us_per_sale", tree},
                                   {"json_bytes_per_sale", static_cast<double>(json.size() / perDocument)},
                                   {"json_parse_us_per_sale", fromJson},
                                   {"mb_per_s", static_cast<double>(doc.size() / perDocument) / full},
                                   {"load_avg_1m", load}});
  return 0;
}
