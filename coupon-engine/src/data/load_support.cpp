#include "data/load_support.h"

#include "aisle/common/hmac.h"
#include "aisle/engine/dataset_mapping.h"

namespace aisle::engine::load {

std::int64_t copyNewTransactions(LoaderRepository& repo, const std::string& source,
                                 std::vector<TransactionRow> transactions, Progress& progress,
                                 LoadReport& report) {
  const auto existing = repo.existingTransactionKeys(source);
  std::vector<TransactionRow> fresh;
  std::int64_t freshLines = 0;
  for (auto& t : transactions) {
    if (existing.count(LoaderRepository::transactionKey(t.memberId, t.storeId, t.workstationId,
                                                        t.businessDay, t.sequenceNo)))
      continue;
    freshLines += static_cast<std::int64_t>(t.lines.size());
    fresh.push_back(std::move(t));
  }
  progress.phase("transaction lines", freshLines);
  repo.copyTransactions(fresh, "import:" + source, [&](std::int64_t n) { progress.advance(n); });
  progress.finish();
  report.inserted.emplace_back("transactions", static_cast<std::int64_t>(fresh.size()));
  report.inserted.emplace_back("transaction_lines", freshLines);
  return freshLines;
}

SourceFile readSource(const std::string& path, const std::string& name) {
  auto text = readDataFile(path);
  if (!text) throw InputError(text.message());
  SourceFile f;
  f.name = name;
  f.path = path;
  f.text = std::move(*text);
  f.sha256 = sha256Hex(f.text);
  return f;
}

void Row::error(std::string_view column, const std::string& why) const {
  throw InputError(std::string(where_) + ": column " + std::string(column) + ": " + why);
}

void Row::countExponent(std::size_t i) const {
  if (f_[i].find_first_of("eE") != std::string::npos) ++exponents_;
}

std::string Row::required(std::size_t i, std::string_view column) const {
  if (f_[i].empty()) error(column, "is empty");
  return f_[i];
}

std::int64_t Row::id(std::size_t i, std::string_view column) const {
  auto v = parseIdText(f_[i]);
  if (!v) error(column, v.message());
  countExponent(i);
  return *v;
}

std::int64_t Row::amountMinor(std::size_t i, std::string_view column) const {
  auto v = parseAmountText(f_[i]);
  if (!v) error(column, v.message());
  countExponent(i);
  return v->minor();
}

std::int64_t Row::quantityMilli(std::size_t i, std::string_view column) const {
  auto v = parseQuantityMilli(f_[i]);
  if (!v) error(column, v.message());
  countExponent(i);
  return *v;
}

std::string Row::isoDate(std::size_t i, std::string_view column) const {
  auto v = parseIsoDate(f_[i]);
  if (!v) error(column, v.message());
  return *v;
}

}  // namespace aisle::engine::load
