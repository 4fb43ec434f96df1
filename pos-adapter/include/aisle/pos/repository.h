#pragma once
// The pos-adapter's only SQL: stores, card -> member, and the idempotent write of a normalized
// transaction with its lines, redemptions and post-void effects, in one database transaction.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "aisle/common/pg.h"
#include "aisle/common/result.h"
#include "aisle/pos/transaction.h"

namespace aisle::pos {

struct StoreInfo {
  std::int64_t storeId = 0;
  std::string timeZone;
};

// What to do with a loyalty card no member holds: the sale is always kept, under the anonymous
// member 0, with the card number (so a later enrolment can claim it) or without it.
enum class UnknownCardPolicy { AnonymousKeepCard, AnonymousDropCard };

struct WriteOptions {
  UnknownCardPolicy unknownCard = UnknownCardPolicy::AnonymousKeepCard;
};

struct WriteResult {
  enum class Status {
    Inserted,   // new transaction stored
    Duplicate,  // same key, same content: already stored, nothing written
    Conflict,   // same key, other content: quarantined, nothing else written (HTTP 409)
  };
  Status status = Status::Inserted;
  std::int64_t transactionId = 0;
  std::int64_t memberId = 0;
  int lines = 0;
  int redemptions = 0;            // accepted redemptions written
  int redemptionExceptions = 0;   // coupons that could not be redeemed (the sale still stands)
  bool originalReversed = false;  // post-void applied to its original
  bool parked = false;            // post-void kept until its original arrives
  bool arrivedVoided = false;     // an original whose post-void had been parked
};

class TransactionRepository {
 public:
  explicit TransactionRepository(PgSession& session);

  // By the POS's store reference within an organization; cached (stores are reference data).
  std::optional<StoreInfo> findStore(const std::string& org, const std::string& externalRef);
  // For deployments that let the POS introduce stores (import of history): a new store row.
  StoreInfo createStore(const std::string& org, const std::string& externalRef, const std::string& timeZone);
  // The member holding an active card with this number, if any.
  std::optional<std::int64_t> memberForCard(const std::string& number);

  // Idempotent under concurrency: an advisory lock on the natural key serializes writers of the
  // same transaction across connections, so two posts of one sale store it exactly once.
  WriteResult write(const Transaction& t, std::int64_t storeId, const WriteOptions& options);

 private:
  PgSession& session_;
  std::mutex mu_;
  std::map<std::pair<std::string, std::string>, StoreInfo> stores_;
};

}  // namespace aisle::pos
