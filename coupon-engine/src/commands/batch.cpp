// `batch`: recompute models for members with new purchases and issue coupons (OFFERS.md).
#include <unistd.h>

#include <chrono>
#include <ostream>

#include "aisle/common/cli.h"
#include "aisle/common/clock.h"
#include "aisle/common/parse.h"
#include "aisle/common/pg.h"
#include "aisle/engine/batch.h"
#include "commands.h"

namespace aisle::engine {

// "2018-01-01" -> unix ms at 00:00 UTC.
Result<std::int64_t> parseIsoDateMs(const std::string& text) {
  using namespace std::chrono;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-')
    return fail("expected YYYY-MM-DD, got '" + text + "'");
  auto y = parseNumber<int>(std::string_view(text).substr(0, 4), 1900, 9999);
  auto m = parseNumber<unsigned>(std::string_view(text).substr(5, 2), 1, 12);
  auto d = parseNumber<unsigned>(std::string_view(text).substr(8, 2), 1, 31);
  if (!y || !m || !d) return fail("expected YYYY-MM-DD, got '" + text + "'");
  const year_month_day ymd{year(*y), month(*m), day(*d)};
  if (!ymd.ok()) return fail("no such date '" + text + "'");
  return duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
}

int cmdBatch(const Args& args, Io io) {
  auto cl = CommandLine::parse(
      args, {"campaigns", "max-coupons-per-member", "as-of", "chunk", "run", "coupon-days"},
      {"all"});
  const auto usage = [&](const std::string& why) {
    io.err << "batch: " << why << "\n"
           << "usage: aisleone-coupon-engine batch [--campaigns FILE] [--max-coupons-per-member N] "
              "[--as-of YYYY-MM-DD] [--all] [--coupon-days N] [--chunk MEMBERS] [--run LABEL]\n";
    return 2;
  };
  if (!cl) return usage(cl.message());
  if (!cl->positional().empty()) return usage("unexpected argument '" + cl->positional()[0] + "'");
  BatchOptions o;
  o.campaignsFile = cl->valueOr("campaigns", "");
  auto maxCoupons = parseNumber<int>(cl->valueOr("max-coupons-per-member", "3"), 0, 100);
  auto chunk = parseNumber<std::size_t>(cl->valueOr("chunk", "1000"), 1, 100'000);
  auto couponDays = parseNumber<int>(cl->valueOr("coupon-days", "14"), 1, 365);
  if (!maxCoupons) return usage("--max-coupons-per-member: " + maxCoupons.message());
  if (!chunk) return usage("--chunk: " + chunk.message());
  if (!couponDays) return usage("--coupon-days: " + couponDays.message());
  o.offers.maxActivePerMember = *maxCoupons;
  o.offers.couponDays = *couponDays;
  o.chunkMembers = *chunk;
  o.all = cl->has("all");
  o.batchRun = cl->valueOr("run", "");
  if (auto asOf = cl->value("as-of")) {
    auto ms = parseIsoDateMs(*asOf);
    if (!ms) return usage("--as-of: " + ms.message());
    o.asOfMs = *ms;
  }
  const std::string url = databaseUrl();
  if (url.empty()) return usage("set AISLE_DB to the database (libpq conninfo or URI)");
  auto progress = makeProgress(io.err, isatty(STDERR_FILENO) == 1);
  o.progress = progress.get();
  SystemClock clock;
  auto codes = makeOsRandomCodes();
  auto report = runBatch(url, o, clock, *codes);
  progress.reset();
  if (!report) {
    io.err << "batch: " << report.message() << "\n";
    return 1;
  }
  io.out << report->toJson() << "\n";
  return 0;
}

}  // namespace aisle::engine
