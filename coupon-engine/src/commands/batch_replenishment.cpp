// `replenish`: next-purchase dates on a time split of a real data set (OFFERS.md).
#include <algorithm>
#include <chrono>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/money.h"
#include "aisle/common/parse.h"
#include "aisle/engine/csv.h"
#include "aisle/engine/history.h"
#include "aisle/engine/replenishment.h"
#include "commands.h"

namespace aisle::engine {
namespace {

std::int32_t civilDay(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<std::int32_t>(
      sys_days(year_month_day(year(y), month(m), day(d))).time_since_epoch().count());
}

// transactions_sample.csv of Complete Journey: household, product, quantity, local date.
Result<std::vector<DatedPurchase>> readCompleteJourney(const std::string& dir) {
  const std::string path = dir + "/transactions_sample.csv";
  auto text = readDataFile(path);
  if (!text) return text.error();
  CsvReader reader(*text, "transactions_sample.csv");
  std::vector<std::string> f;
  auto ok = reader.next(f);
  if (!ok || !*ok) return fail(path + ": no header");
  auto header = CsvHeader::parse(
      f, {"household_id", "product_id", "quantity", "transaction_timestamp"}, reader.where());
  if (!header) return header.error();
  const auto hh = header->index("household_id"), pr = header->index("product_id"),
             qt = header->index("quantity"), ts = header->index("transaction_timestamp");
  std::vector<DatedPurchase> out;
  while (true) {
    auto more = reader.next(f);
    if (!more) return more.error();
    if (!*more) break;
    auto member = parseNumber<std::int64_t>(f[hh]);
    auto item = parseNumber<std::int64_t>(f[pr]);
    auto q = Quantity::parse(f[qt]);
    if (!member || !item || !q || f[ts].size() < 10)
      continue;  // R's scientific ids: rare, skipped here
    auto y = parseNumber<int>(std::string_view(f[ts]).substr(0, 4));
    auto m = parseNumber<unsigned>(std::string_view(f[ts]).substr(5, 2));
    auto d = parseNumber<unsigned>(std::string_view(f[ts]).substr(8, 2));
    if (!y || !m || !d || q->milli() <= 0) continue;
    out.push_back({*member, *item, civilDay(*y, *m, *d), static_cast<double>(q->milli()) / 1000.0});
  }
  return out;
}

Result<std::vector<DatedPurchase>> readGroceries(const std::string& path) {
  auto text = readFileContents(path);
  if (!text) return text.error();
  std::vector<std::string> names;
  auto lines = parseGroceriesCsv(*text, names);
  if (!lines) return lines.error();
  std::vector<DatedPurchase> out;
  out.reserve(lines->size());
  for (const auto& l : *lines) {
    auto member = parseNumber<std::int64_t>(l.member);
    if (!member) return fail(path + ": member '" + l.member + "' is not a number");
    out.push_back({*member, l.item, l.day, 1.0});  // a repeated row on the same day adds a unit
  }
  return out;
}

}  // namespace

int cmdEvaluateReplenishment(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"groceries", "completejourney", "cutoff-fraction", "end-fraction"}, {});
  const auto usage = [&](const std::string& why) {
    io.err << "replenish: " << why << "\n"
           << "usage: aisleone-coupon-engine replenish (--groceries FILE | --completejourney DIR) "
              "[--cutoff-fraction 0.75] [--end-fraction 1]\n";
    return 2;
  };
  if (!cl) return usage(cl.message());
  auto fraction = parseNumber<double>(cl->valueOr("cutoff-fraction", "0.75"), 0.05, 0.95);
  if (!fraction) return usage("--cutoff-fraction: " + fraction.message());
  // --end-fraction drops the data after it: the validation split is --cutoff-fraction 0.5
  // --end-fraction 0.75, which never sees the test period (after 0.75).
  auto endFraction = parseNumber<double>(cl->valueOr("end-fraction", "1"), 0.05, 1.0);
  if (!endFraction) return usage("--end-fraction: " + endFraction.message());
  if (*endFraction <= *fraction) return usage("--end-fraction must be after --cutoff-fraction");
  Result<std::vector<DatedPurchase>> data = fail("give --groceries FILE or --completejourney DIR");
  if (auto g = cl->value("groceries"))
    data = readGroceries(*g);
  else if (auto c = cl->value("completejourney"))
    data = readCompleteJourney(*c);
  else
    return usage("give --groceries FILE or --completejourney DIR");
  if (!data) {
    io.err << "replenish: " << data.message() << "\n";
    return 1;
  }
  if (data->empty()) return usage("no purchases read");
  const auto [lo, hi] = std::minmax_element(
      data->begin(), data->end(), [](const auto& a, const auto& b) { return a.day < b.day; });
  const auto cutoff = static_cast<std::int32_t>(lo->day + *fraction * (hi->day - lo->day));
  const auto end = static_cast<std::int32_t>(lo->day + *endFraction * (hi->day - lo->day));
  if (*endFraction < 1.0)
    std::erase_if(*data, [&](const DatedPurchase& p) { return p.day >= end; });
  const auto t0 = std::chrono::steady_clock::now();
  const auto report = evaluateReplenishment(*data, cutoff);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto json = report.toJson();
  json.insert(json.size() - 1, ", \"lines\": " + std::to_string(data->size()) +
                                   ", \"seconds\": " + std::to_string(s));
  io.out << json << "\n";
  return 0;
}

}  // namespace aisle::engine
