#include "aisle/pos/ingest.h"

namespace aisle::pos {

IngestSummary& IngestSummary::operator+=(const IngestSummary& o) {
  transactions += o.transactions;
  duplicates += o.duplicates;
  rejected += o.rejected;
  conflicts += o.conflicts;
  skipped += o.skipped;
  lines += o.lines;
  redemptions += o.redemptions;
  errors.insert(errors.end(), o.errors.begin(), o.errors.end());
  return *this;
}

std::string IngestSummary::json() const {
  return "{\"transactions\":" + std::to_string(transactions) + ",\"duplicates\":" + std::to_string(duplicates) +
         ",\"rejected\":" + std::to_string(rejected) + ",\"lines\":" + std::to_string(lines) +
         ",\"redemptions\":" + std::to_string(redemptions) + "}";
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

IngestSummary IngestService::ingest(std::string_view bytes, const std::string& origin) {
  IngestSummary sum;
  ParseOptions o;
  o.org = config_.org;
  o.defaultCurrency = config_.defaultCurrency;
  o.cardCheck = config_.cardCheck;
  o.limits = config_.limits;
  o.localTime = [this](const NaturalKey& key, std::int64_t localMs) -> Result<std::int64_t> {
    auto s = store(key.store);
    if (!s) return s.error();
    auto zone = zones_.get(s->timeZone);
    if (!zone) return fail("store " + key.store + ": " + zone.message());
    const std::int64_t seconds = localMs >= 0 ? localMs / 1000 : (localMs - 999) / 1000;
    return (*zone)->localToUtc(seconds) * 1000 + (localMs - seconds * 1000);
  };
  auto doc = parseAny(bytes, o);
  if (!doc) {
    ++sum.rejected;
    sum.errors.push_back(origin + ": " + doc.message());
    log_.with("source", origin).warn("document rejected: " + doc.message());
    return sum;
  }
  for (const auto& item : doc->items) {
    const std::string where = origin + " #" + std::to_string(item.index) + " (" + item.reference + ")";
    if (item.kind == TransactionOutcome::Kind::Skipped) {
      ++sum.skipped;
      continue;
    }
    if (item.kind == TransactionOutcome::Kind::Rejected) {
      ++sum.rejected;
      sum.errors.push_back(where + ": " + item.reason);
      log_.with("tx", item.reference).warn("transaction rejected: " + item.reason);
      continue;
    }
    const Transaction& t = *item.transaction;
    for (const auto& w : t.warnings) log_.with("tx", t.key.str()).info(w);
    auto s = store(t.key.store);
    if (!s) {
      ++sum.rejected;
      sum.errors.push_back(where + ": " + s.message());
      log_.with("tx", t.key.str()).warn(s.message());
      continue;
    }
    const WriteResult w = repository_.write(t, s->storeId, WriteOptions{config_.unknownCard});
    switch (w.status) {
      case WriteResult::Status::Inserted:
        ++sum.transactions;
        sum.lines += w.lines;
        sum.redemptions += w.redemptions;
        if (w.parked) log_.with("tx", t.key.str()).info("post-void parked until its original arrives");
        if (w.redemptionExceptions > 0) {
          log_.with("tx", t.key.str()).warn(std::to_string(w.redemptionExceptions) +
                                            " coupon(s) not redeemable; recorded as exceptions");
        }
        break;
      case WriteResult::Status::Duplicate:
        ++sum.duplicates;
        break;
      case WriteResult::Status::Conflict:
        ++sum.rejected;
        ++sum.conflicts;
        sum.errors.push_back(where + ": already stored with different content (quarantined)");
        log_.with("tx", t.key.str()).warn("same key, different content: quarantined");
        break;
    }
  }
  return sum;
}

}  // namespace aisle::pos
