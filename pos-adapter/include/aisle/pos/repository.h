#pragma once
// The pos-adapter's only SQL: stores, card -> member, and the idempotent write of a normalized
// transaction with its lines, redemptions and post-void effects, in one database transaction.
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

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
  // Our coupons a member may redeem per calendar day of the store (0: no limit). One more is an
  // `exception` redemption for settlement: the sale and its other lines stand.
  int redemptionsPerMemberPerDay = 0;
  std::string storeTimeZone = "UTC";  // whose calendar day the limit counts
};

// Stores are reference data shared by every repository of a process (the HTTP service has one per
// pooled connection): loaded once, so parsing a sale's zone-less time needs no database round trip,
// and keeps working from memory while PostgreSQL is away.
class StoreCache {
 public:
  std::optional<StoreInfo> find(const std::string& org, const std::string& externalRef) const;
  void put(const std::string& org, const std::string& externalRef, StoreInfo info);

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, StoreInfo> stores_;
};

// One coupon a member can use at the till now (what GET /v1/cards/{card}/coupons returns).
struct ActiveCoupon {
  std::string code;
  std::int64_t campaignId = 0;
  std::optional<std::int64_t> valueMinor;
  std::optional<std::int64_t> productId;
  std::string reason;
  std::int64_t validToMs = 0;
};

struct CouponQuery {
  std::string card;             // normalized loyalty card number
  std::int64_t storeId = 0;
  std::int64_t nowMs = 0;
  std::int64_t dayStartMs = 0;  // the store's calendar day containing nowMs: [start, end)
  std::int64_t dayEndMs = 0;
  int maxCoupons = 50;
};

struct MemberCoupons {
  std::optional<std::int64_t> memberId;  // empty: no member holds this card
  std::int64_t redeemedToday = 0;        // accepted redemptions of our coupons in the store's day
  std::vector<ActiveCoupon> coupons;     // valid now, in this store, unredeemed, within campaign limits
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
  explicit TransactionRepository(PgSession& session,
                                 std::shared_ptr<StoreCache> stores = std::make_shared<StoreCache>());

  // By the POS's store reference within an organization; cached (stores are reference data).
  std::optional<StoreInfo> findStore(const std::string& org, const std::string& externalRef);
  // For deployments that let the POS introduce stores (import of history): a new store row.
  StoreInfo createStore(const std::string& org, const std::string& externalRef, const std::string& timeZone);
  // Every store of the organization into the cache (at startup, and again when the database returns).
  std::size_t loadStores(const std::string& org);
  // The member holding an active card with this number, if any.
  std::optional<std::int64_t> memberForCard(const std::string& number);
  // The swipe lookup: one round trip (card -> member -> active coupons and today's redemptions).
  MemberCoupons activeCoupons(const CouponQuery& q);

  // Idempotent under concurrency: an advisory lock on the natural key serializes writers of the
  // same transaction across connections, so two posts of one sale store it exactly once.
  WriteResult write(const Transaction& t, std::int64_t storeId, const WriteOptions& options);

  // Many plain sales (batchable()) in one database transaction and a fixed number of statements,
  // for imports: the same outcome per sale as write() (key locks, duplicate = nothing written,
  // conflict = quarantined, a parked post-void applied), one result per sale in order. The keys of
  // one batch must differ. Throws what the database throws; nothing of the batch is then written.
  struct BatchItem {
    const Transaction* transaction = nullptr;
    std::int64_t storeId = 0;
  };
  std::vector<WriteResult> writeBatch(const std::vector<BatchItem>& items, const WriteOptions& options);
  // A sale writeBatch() takes: one that counts, is no post-void and carries no scanned coupon (which
  // may be one of ours: single use, limits, locks per member, so write() takes those one by one).
  static bool batchable(const Transaction& t);

 private:
  PgSession& session_;
  std::shared_ptr<StoreCache> stores_;
  // GTIN -> product_id of products writeBatch() has seen. Safe to keep: products are only ever
  // inserted (ON CONFLICT DO NOTHING), never updated or deleted, so a GTIN's product never changes;
  // a GTIN not found is looked up again next time (the catalog may have grown). Looking a batch's
  // GTINs up was a third of the database's work per imported sale (one index probe each).
  std::unordered_map<std::string, std::int64_t> productOfGtin_;
};

// True when the exception says PostgreSQL is unreachable or went away (connection refused or broken,
// server shutting down, backend terminated), as opposed to an error in the request itself: the
// caller spools and retries the first kind, and reports the second.
bool isDatabaseUnavailable(const std::exception& e);

}  // namespace aisle::pos
