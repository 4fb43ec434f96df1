// `generate --members N --days D --seed S`: synthetic members for scale tests. Chunks of members
// are generated, COPYed and committed one at a time, so memory stays bounded at any N and an
// interrupted run resumes where it stopped (members present are skipped).
#include <cstdio>
#include <future>

#include "aisle/common/hmac.h"
#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/generator.h"
#include "aisle/engine/loader.h"
#include "data/load_support.h"
#include "db/loader_repository.h"

namespace aisle::engine {
namespace {

constexpr const char* kOrg = "generated";

TransactionRow toTransaction(const SyntheticMember& m, const SyntheticTrip& trip,
                             std::size_t tripNo) {
  TransactionRow t;
  t.memberId = m.memberId;
  t.orgId = kOrg;
  t.storeId = trip.storeId;
  t.workstationId = "0";
  t.businessDay = trip.businessDay;
  t.sequenceNo = std::to_string(m.memberId) + "-" + std::to_string(tripNo);
  char time[32];
  std::snprintf(time, sizeof time, " %02d:%02d:%02d ", trip.secondOfDay / 3600,
                trip.secondOfDay / 60 % 60, trip.secondOfDay % 60);
  // Local time in the store's zone: PostgreSQL resolves the offset (daylight saving included).
  t.occurredAt = trip.businessDay + time + *trip.timeZone;
  t.cardNumber = m.cardNumber;
  std::string normalized = std::string(kOrg) + "|" + t.sequenceNo + "|" +
                           std::to_string(trip.storeId) + "|" + t.occurredAt;
  for (const auto& l : trip.lines) {
    t.lines.push_back({l.productId, l.quantity * 1000, l.amountMinor, 0, 0});
    t.totalMinor += l.amountMinor;
    normalized += "|" + std::to_string(l.productId) + "," + std::to_string(l.quantity) + "," +
                  std::to_string(l.amountMinor);
  }
  t.contentHashHex = sha256Hex(normalized);
  return t;
}

LoadReport run(pqxx::connection& conn, const GenerateOptions& o) {
  load::Stopwatch total;
  auto silent = makeSilentProgress();
  Progress& progress = o.progress ? *o.progress : *silent;
  LoadReport report;
  report.source = "generate";

  LoaderRepository repo(conn);
  repo.begin("aisle:load:generate");
  PurchaseDistributions dist = repo.readDistributions();
  if (!dist.usable()) {
    // Nothing loaded (the demo without the data sets): a built-in catalogue to draw from.
    dist = builtInDistributions(o.catalogProducts);
    const auto catalog = builtInCatalog(o.catalogProducts);
    std::vector<StoreRow> stores;
    for (const auto& s : catalog.stores) {
      stores.push_back({s.storeId, kOrg, std::to_string(s.storeId),
                        "Synthetic store " + std::to_string(s.storeId - kSyntheticStoreOffset),
                        s.timeZone});
    }
    std::vector<CategoryRow> categories;
    for (const auto& c : catalog.categories) categories.push_back({c, "SYNTHETIC"});
    std::vector<ProductRow> products;
    for (const auto& p : catalog.products) {
      ProductRow row;
      row.id = p.productId;
      row.name = p.name;
      row.category = p.category;
      row.department = "SYNTHETIC";
      row.priceMinor = p.priceMinor;
      products.push_back(std::move(row));
    }
    report.inserted.emplace_back("stores", repo.addStores(stores));
    report.inserted.emplace_back("categories", repo.addCategories(categories));
    report.inserted.emplace_back("products", repo.addProducts(products));
  }
  repo.commit();
  report.notes.push_back("distributions from " + dist.origin + ": " +
                         withThousands(static_cast<std::int64_t>(dist.products.size())) +
                         " products, " +
                         withThousands(static_cast<std::int64_t>(dist.stores.size())) + " stores");

  GeneratorParams params;
  params.seed = o.seed;
  params.days = o.days;
  params.endDate = o.endDate;
  params.firstMemberId = kSyntheticMemberOffset;
  const SyntheticGenerator gen(std::move(dist), params);

  std::int64_t members = 0, cards = 0, transactions = 0, lines = 0, skipped = 0;
  const std::int64_t chunk = std::max<std::int64_t>(1, o.chunkMembers);
  struct Drawn {
    std::vector<MemberRow> members;
    std::vector<TransactionRow> rows;
    std::vector<std::size_t> firstRow;  // rows of members[j]: [firstRow[j], firstRow[j + 1])
  };
  // Drawing members is pure CPU work; it runs on a second thread for the next chunk while this
  // one is being COPYed (the database's side of the COPY is the other core's work).
  const auto draw = [&gen](std::int64_t start, std::int64_t end) {
    Drawn d;
    for (std::int64_t i = start; i < end; ++i) {
      const auto m = gen.member(i);
      MemberRow row;
      row.id = m.memberId;
      row.externalRef = "generated:" + std::to_string(i);
      row.cardNumber = m.cardNumber;
      d.members.push_back(std::move(row));
      d.firstRow.push_back(d.rows.size());
      for (std::size_t k = 0; k < m.trips.size(); ++k)
        d.rows.push_back(toTransaction(m, m.trips[k], k + 1));
    }
    d.firstRow.push_back(d.rows.size());
    return d;
  };
  progress.phase("members", o.members);
  std::future<Drawn> next;
  if (o.members > 0) next = std::async(std::launch::async, draw, 0, std::min(o.members, chunk));
  for (std::int64_t start = 0; start < o.members; start += chunk) {
    const std::int64_t end = std::min(o.members, start + chunk);
    Drawn d = next.get();
    if (end < o.members)
      next = std::async(std::launch::async, draw, end, std::min(o.members, end + chunk));
    repo.begin("aisle:load:generate");
    const auto existing =
        repo.existingMembers(kSyntheticMemberOffset + start, kSyntheticMemberOffset + end - 1);
    std::vector<MemberRow> memberRows;
    std::vector<TransactionRow> rows;
    if (existing.empty()) {
      memberRows = std::move(d.members);
      rows = std::move(d.rows);
    } else {
      for (std::size_t j = 0; j < d.members.size(); ++j) {
        if (existing.count(d.members[j].id)) {
          ++skipped;
          continue;
        }
        memberRows.push_back(std::move(d.members[j]));
        for (auto r = d.firstRow[j]; r < d.firstRow[j + 1]; ++r) rows.push_back(std::move(d.rows[r]));
      }
    }
    const auto [mi, ci] = repo.addMembersWithCards(memberRows);
    members += mi;
    cards += ci;
    repo.copyTransactions(rows, "generate:seed=" + std::to_string(o.seed));
    repo.commit();
    transactions += static_cast<std::int64_t>(rows.size());
    for (const auto& t : rows) lines += static_cast<std::int64_t>(t.lines.size());
    progress.advance(end - start);
  }
  progress.finish();
  report.inserted.emplace_back("members", members);
  report.inserted.emplace_back("cards", cards);
  report.inserted.emplace_back("transactions", transactions);
  report.inserted.emplace_back("transaction_lines", lines);
  if (skipped > 0)
    report.notes.push_back(withThousands(skipped) + " members existed already and were skipped");
  report.transactionLinesWritten = lines;
  report.seconds = total.seconds();
  return report;
}

}  // namespace

Result<LoadReport> generateSynthetic(pqxx::connection& conn, const GenerateOptions& options) {
  if (options.members < 0 || options.members > 100'000'000)
    return fail("--members must be between 0 and 100,000,000");
  if (options.days < 1 || options.days > 3650) return fail("--days must be between 1 and 3650");
  if (!parseIsoDate(options.endDate)) return fail("--end must be a date like 2018-01-01");
  return run(conn, options);
}

std::int64_t LoadReport::insertedInto(std::string_view table) const {
  for (const auto& [t, n] : inserted) {
    if (t == table) return n;
  }
  return 0;
}

std::int64_t LoadReport::totalInserted() const {
  std::int64_t n = 0;
  for (const auto& [t, rows] : inserted) n += rows;
  return n;
}

std::string formatReport(const LoadReport& r) {
  std::string out = r.source + (r.unchanged ? ": unchanged\n" : ":\n");
  if (!r.fileRows.empty()) {
    out += "  read\n";
    for (const auto& [file, n] : r.fileRows) {
      out += "    " + file + std::string(file.size() < 28 ? 28 - file.size() : 1, ' ') +
             withThousands(n) + " rows\n";
    }
  }
  if (!r.inserted.empty()) {
    out += "  inserted\n";
    for (const auto& [table, n] : r.inserted) {
      out += "    " + table + std::string(table.size() < 28 ? 28 - table.size() : 1, ' ') +
             withThousands(n) + "\n";
    }
  }
  if (!r.placeholderProducts.empty()) {
    out += "  placeholder products:";
    for (auto id : r.placeholderProducts) out += " " + std::to_string(id);
    out += "\n";
  }
  for (const auto& n : r.notes) out += "  note: " + n + "\n";
  char buf[160];
  const double rate = r.seconds > 0 ? static_cast<double>(r.totalInserted()) / r.seconds : 0;
  std::snprintf(buf, sizeof buf, "  elapsed %.2f s, %s rows inserted (%s rows/s)\n", r.seconds,
                withThousands(r.totalInserted()).c_str(),
                withThousands(static_cast<std::int64_t>(rate)).c_str());
  out += buf;
  return out;
}

}  // namespace aisle::engine
