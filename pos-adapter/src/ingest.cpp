#include "aisle/pos/ingest.h"

#include <fstream>
#include <optional>
#include <set>

#include "aisle/common/http.h"

namespace aisle::pos {
namespace {
// Sales per database transaction in ingest(): large enough that round trips vanish, small enough
// that one batch's arrays stay a few megabytes.
constexpr std::size_t kBatchSize = 500;
}  // namespace

std::optional<std::string> readWholeFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return std::nullopt;
  const std::streamoff size = in.tellg();
  if (size < 0) return std::nullopt;
  std::string out(static_cast<std::size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(out.data(), static_cast<std::streamsize>(out.size()))) return std::nullopt;
  return out;
}

IngestSummary& IngestSummary::operator+=(const IngestSummary& o) {
  transactions += o.transactions;
  duplicates += o.duplicates;
  rejected += o.rejected;
  conflicts += o.conflicts;
  skipped += o.skipped;
  lines += o.lines;
  redemptions += o.redemptions;
  spooled += o.spooled;
  errors.insert(errors.end(), o.errors.begin(), o.errors.end());
  results.insert(results.end(), o.results.begin(), o.results.end());
  return *this;
}

std::string IngestSummary::json() const {
  return "{\"transactions\":" + std::to_string(transactions) + ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"rejected\":" + std::to_string(rejected) + ",\"lines\":" + std::to_string(lines) +
         ",\"redemptions\":" + std::to_string(redemptions) + "}";
}

const char* statusName(TransactionResult::Status s) {
  switch (s) {
    case TransactionResult::Status::Stored: return "stored";
    case TransactionResult::Status::Duplicate: return "duplicate";
    case TransactionResult::Status::Conflict: return "conflict";
    case TransactionResult::Status::Rejected: return "rejected";
    case TransactionResult::Status::Skipped: return "skipped";
    case TransactionResult::Status::Spooled: return "spooled";
  }
  return "unknown";
}

std::string IngestSummary::detailedJson() const {
  std::string s = json();
  s.pop_back();
  s += ",\"spooled\":" + std::to_string(spooled) + ",\"results\":[";
  for (std::size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    if (i) s += ",";
    s += "{\"ref\":\"" + http::jsonEscape(maskSensitive(r.reference)) + "\",\"status\":\"" + statusName(r.status) + "\"";
    if (r.transactionId) s += ",\"transaction_id\":" + std::to_string(r.transactionId);
    if (r.couponExceptions) s += ",\"coupon_exceptions\":" + std::to_string(r.couponExceptions);
    if (!r.reason.empty()) s += ",\"reason\":\"" + http::jsonEscape(maskSensitive(r.reason)) + "\"";
    s += "}";
  }
  return s + "]}";
}

IngestService::IngestService(TransactionRepository& repository, TimeZoneDatabase& zones, IngestConfig config,
                             Logger log)
    : repository_(repository), zones_(zones), config_(std::move(config)), log_(std::move(log)) {}

Result<StoreInfo> IngestService::store(const std::string& ref) {
  if (auto s = repository_.findStore(config_.org, ref)) return *s;
  if (config_.unknownStore == UnknownStorePolicy::Create) {
    log_.with("store", ref).info("unknown store: creating it in time zone " + config_.newStoreTimeZone);
    return repository_.createStore(config_.org, ref, config_.newStoreTimeZone);
  }
  return fail("unknown store '" + ref + "' in organization '" + config_.org + "'");
}

Result<ParsedDocument> IngestService::parse(std::string_view bytes, DocumentFormat format,
                                            std::set<std::string>* provisional) {
  ParseOptions o;
  o.org = config_.org;
  o.defaultCurrency = config_.defaultCurrency;
  o.cardCheck = config_.cardCheck;
  o.limits = config_.limits;
  o.localTime = [this, provisional](const NaturalKey& key, std::int64_t localMs) -> Result<std::int64_t> {
    Result<StoreInfo> s = fail("unresolved");
    try {
      s = store(key.store);
    } catch (const std::exception& e) {
      if (!provisional || !isDatabaseUnavailable(e)) throw;
      provisional->insert(key.str());
      return localMs;
    }
    if (!s) return s.error();
    auto zone = zones_.get(s->timeZone);
    if (!zone) return fail("store " + key.store + ": " + zone.message());
    const std::int64_t seconds = localMs >= 0 ? localMs / 1000 : (localMs - 999) / 1000;
    return (*zone)->localToUtc(seconds) * 1000 + (localMs - seconds * 1000);
  };
  switch (format) {
    case DocumentFormat::PosLog: return parsePosLog(bytes, o);
    case DocumentFormat::Json: return parseTransactionJson(bytes, o);
    case DocumentFormat::Any: break;
  }
  return parseAny(bytes, o);
}

void IngestService::store(const TransactionOutcome& item, const std::string& origin, IngestSummary& sum) {
  const std::string where = origin + " #" + std::to_string(item.index) + " (" + item.reference + ")";
  TransactionResult res;
  res.reference = item.reference;
  auto reject = [&](const std::string& reason) {
    ++sum.rejected;
    sum.errors.push_back(where + ": " + reason);
    res.status = TransactionResult::Status::Rejected;
    res.reason = reason;
    sum.results.push_back(res);
  };
  if (item.kind == TransactionOutcome::Kind::Skipped) {
    ++sum.skipped;
    res.status = TransactionResult::Status::Skipped;
    res.reason = item.reason;
    sum.results.push_back(res);
    return;
  }
  if (item.kind == TransactionOutcome::Kind::Rejected) {
    log_.with("tx", item.reference).warn("transaction rejected: " + item.reason);
    reject(item.reason);
    return;
  }
  const Transaction& t = *item.transaction;
  res.reference = t.key.str();
  for (const auto& w : t.warnings) log_.with("tx", t.key.str()).info(w);
  auto s = store(t.key.store);
  if (!s) {
    log_.with("tx", t.key.str()).warn(s.message());
    reject(s.message());
    return;
  }
  record(t, repository_.write(t, s->storeId, writeOptions(*s)), where, sum);
}

WriteOptions IngestService::writeOptions(const StoreInfo& store) const {
  WriteOptions wo;
  wo.unknownCard = config_.unknownCard;
  wo.redemptionsPerMemberPerDay = config_.redemptionsPerMemberPerDay;
  wo.storeTimeZone = store.timeZone;
  return wo;
}

std::optional<StoreInfo> IngestService::batchableStore(const TransactionOutcome& item) {
  const Transaction* t = item.transaction ? &*item.transaction : nullptr;
  if (!t || item.kind != TransactionOutcome::Kind::Parsed || !TransactionRepository::batchable(*t)) return std::nullopt;
  return repository_.findStore(config_.org, t->key.store);
}

void IngestService::recordWritten(const TransactionOutcome& item, const WriteResult& w, const std::string& origin,
                                  IngestSummary& sum) {
  const Transaction& t = *item.transaction;
  for (const auto& warning : t.warnings) log_.with("tx", t.key.str()).info(warning);
  record(t, w, origin + " #" + std::to_string(item.index) + " (" + item.reference + ")", sum);
}

void IngestService::record(const Transaction& t, const WriteResult& w, const std::string& where, IngestSummary& sum) {
  TransactionResult res;
  res.reference = t.key.str();
  res.transactionId = w.transactionId;
  res.couponExceptions = w.redemptionExceptions;
  switch (w.status) {
    case WriteResult::Status::Inserted:
      ++sum.transactions;
      sum.lines += w.lines;
      sum.redemptions += w.redemptions;
      res.status = TransactionResult::Status::Stored;
      if (w.parked) log_.with("tx", t.key.str()).info("post-void parked until its original arrives");
      if (w.redemptionExceptions > 0) {
        log_.with("tx", t.key.str()).warn(std::to_string(w.redemptionExceptions) +
                                          " coupon(s) not redeemable; recorded as exceptions");
      }
      break;
    case WriteResult::Status::Duplicate:
      ++sum.duplicates;
      res.status = TransactionResult::Status::Duplicate;
      break;
    case WriteResult::Status::Conflict:
      ++sum.rejected;
      ++sum.conflicts;
      res.status = TransactionResult::Status::Conflict;
      res.reason = "already stored with different content (quarantined)";
      sum.errors.push_back(where + ": " + res.reason);
      log_.with("tx", t.key.str()).warn("same key, different content: quarantined");
      break;
  }
  sum.results.push_back(res);
}

IngestSummary IngestService::ingest(std::string_view bytes, const std::string& origin) {
  IngestSummary sum;
  auto doc = parse(bytes);
  if (!doc) {
    ++sum.rejected;
    sum.errors.push_back(origin + ": " + doc.message());
    log_.with("source", origin).warn("document rejected: " + doc.message());
    return sum;
  }
  return storeParsed(*doc, origin);
}

IngestSummary IngestService::storeParsed(const ParsedDocument& parsed, const std::string& origin) {
  IngestSummary sum;
  const ParsedDocument* doc = &parsed;
  // Plain sales go to the database in batches (one transaction, a fixed number of statements each);
  // anything else is written alone, after the batch before it, so the results keep document order.
  std::vector<TransactionRepository::BatchItem> batch;
  std::vector<const TransactionOutcome*> batched;
  std::set<std::string> keys;
  auto flush = [&] {
    if (batched.size() == 1) {
      store(*batched.front(), origin, sum);
    } else if (!batched.empty()) {
      WriteOptions wo;
      wo.unknownCard = config_.unknownCard;
      const auto results = repository_.writeBatch(batch, wo);
      for (std::size_t i = 0; i < batched.size(); ++i) recordWritten(*batched[i], results[i], origin, sum);
    }
    batch.clear();
    batched.clear();
    keys.clear();
  };
  for (const auto& item : doc->items) {
    const Transaction* t = item.transaction ? &*item.transaction : nullptr;
    const std::optional<StoreInfo> known = batchableStore(item);
    if (!known) {
      flush();
      store(item, origin, sum);
      continue;
    }
    if (keys.count(t->key.str())) flush();  // the same key twice: the second must see the first
    keys.insert(t->key.str());
    batch.push_back({t, known->storeId});
    batched.push_back(&item);
    if (batched.size() >= kBatchSize) flush();
  }
  flush();
  return sum;
}

}  // namespace aisle::pos
