// `load groceries FILE`: the groceries-members data set (Member_number, Date, itemDescription) in
// its own id spaces. One transaction per member and day; an item bought several times that day is
// one line with that quantity. The data has no prices, places or times of day.
#include <map>
#include <set>

#include "aisle/common/hmac.h"
#include "aisle/common/parse.h"
#include "aisle/engine/dataset_mapping.h"
#include "aisle/engine/loader.h"
#include "data/load_support.h"
#include "db/loader_repository.h"

namespace aisle::engine {
namespace {

using load::InputError;
using load::Row;

constexpr const char* kSource = "groceries";
// The data set names no place: UTC, and every sale at 12:00 so the business day is the file's date
// whatever zone a reader converts to.
constexpr const char* kTimeZone = "UTC";

LoadReport run(pqxx::connection& conn, const std::string& path, const LoadOptions& options) {
  load::Stopwatch total;
  auto silent = makeSilentProgress();
  Progress& progress = options.progress ? *options.progress : *silent;
  LoadReport report;
  report.source = kSource;

  auto file = load::readSource(path, "Groceries_dataset.csv");
  LoaderRepository repo(conn);
  repo.begin("aisle:load:groceries");
  if (!options.force) {
    const auto loaded = repo.loadedFiles(kSource);
    const auto it = loaded.find(file.name);
    if (it != loaded.end() && it->second == file.sha256) {
      repo.rollback();
      report.unchanged = true;
      report.notes.push_back(
          "the file was loaded before with the same sha256 (data_loads): nothing to do; --force "
          "merges again");
      report.seconds = total.seconds();
      return report;
    }
  }

  progress.phase("parsing", 0);
  // (member, day) -> item -> how many times it was bought that day.
  std::map<std::pair<std::int64_t, std::string>, std::map<std::string, std::int64_t>> baskets;
  std::map<std::int64_t, std::string> productByHash;
  std::int64_t exponents = 0, repeats = 0;
  load::eachRow(file, {"Member_number", "Date", "itemDescription"}, exponents,
                [&](const CsvHeader& h, const Row& r) {
                  const auto member = r.id(h.index("Member_number"), "Member_number");
                  if (member >= kGroceriesMemberOffset)
                    r.error("Member_number", "is too large for the groceries id space");
                  auto day = parseDayMonthYear(r.text(h.index("Date")));
                  if (!day) r.error("Date", day.message());
                  const auto item =
                      std::string(trim(r.required(h.index("itemDescription"), "itemDescription")));
                  const auto id = groceriesProductId(item);
                  const auto [at, added] = productByHash.emplace(id, item);
                  if (!added && at->second != item) {
                    r.error("itemDescription", "'" + item + "' and '" + at->second +
                                                   "' hash to the same product id " +
                                                   std::to_string(id));
                  }
                  if (++baskets[{member, *day}][item] > 1) ++repeats;
                });
  progress.advance(file.rows);
  progress.finish();

  std::vector<StoreRow> stores{
      {kGroceriesStoreId, kSource, kSource, "Groceries (member data set)", kTimeZone}};
  std::vector<ProductRow> products;
  for (const auto& [id, name] : productByHash) {
    ProductRow p;
    p.id = id;
    p.name = name;
    products.push_back(std::move(p));
  }
  std::set<std::int64_t> memberNumbers;
  std::vector<TransactionRow> transactions;
  std::int64_t lineCount = 0;
  for (const auto& [key, items] : baskets) {
    const auto& [number, day] = key;
    memberNumbers.insert(number);
    TransactionRow t;
    t.memberId = kGroceriesMemberOffset + number;
    t.orgId = kSource;
    t.storeId = kGroceriesStoreId;
    t.workstationId = "0";
    t.businessDay = day;
    t.sequenceNo = std::to_string(number) + "-" + day;
    t.occurredAt = day + " 12:00:00+00";
    t.cardNumber = loyaltyCardNumber(t.memberId);
    std::string normalized = std::string(kSource) + "|" + t.sequenceNo;
    for (const auto& [item, qty] : items) {  // std::map: lines in item-name order
      t.lines.push_back({groceriesProductId(item), qty * 1000, 0, 0, 0});
      normalized += "|" + item + "," + std::to_string(qty);
    }
    lineCount += static_cast<std::int64_t>(t.lines.size());
    t.contentHashHex = sha256Hex(normalized);
    transactions.push_back(std::move(t));
  }
  std::vector<MemberRow> members;
  for (auto n : memberNumbers) {
    MemberRow m;
    m.id = kGroceriesMemberOffset + n;
    m.externalRef = std::string(kSource) + ":" + std::to_string(n);
    m.cardNumber = loyaltyCardNumber(m.id);
    members.push_back(std::move(m));
  }

  progress.phase("catalog and members", 3);
  report.inserted.emplace_back("stores", repo.addStores(stores));
  progress.advance(1);
  report.inserted.emplace_back("products", repo.addProducts(products));
  progress.advance(1);
  const auto [membersInserted, cardsInserted] = repo.addMembersWithCards(members);
  report.inserted.emplace_back("members", membersInserted);
  report.inserted.emplace_back("cards", cardsInserted);
  progress.advance(1);
  progress.finish();

  const std::int64_t freshLines =
      load::copyNewTransactions(repo, kSource, std::move(transactions), progress, report);
  repo.recordFile(kSource, file.name, file.sha256, file.rows);
  report.fileRows.emplace_back(file.name, file.rows);
  repo.commit();

  report.notes.push_back(withThousands(static_cast<std::int64_t>(baskets.size())) +
                         " (member, day) baskets with " + withThousands(lineCount) + " lines; " +
                         withThousands(repeats) +
                         " rows repeat an item already bought that day and raise its quantity");
  report.notes.push_back("no prices in the data: amounts are 0");
  report.transactionLinesWritten = freshLines;
  report.seconds = total.seconds();
  return report;
}

}  // namespace

Result<LoadReport> loadGroceries(pqxx::connection& conn, const std::string& file,
                                 const LoadOptions& options) {
  try {
    return run(conn, file, options);
  } catch (const InputError& e) {
    return fail(e.what());
  }
}

}  // namespace aisle::engine
