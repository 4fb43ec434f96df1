#pragma once
// All SQL of the personalization batch. Purchase lines are read with COPY (query) TO STDOUT per
// member range; bulk writes (model rows, coupons) go through COPY FROM STDIN.
//
// Concurrency (two batch runs at once, or a batch and the real-time path):
//  - a chunk of members is processed in one transaction that first takes transaction-scoped
//    advisory locks on the chunk's member buckets (member_id >> 6, in ascending order), then
//    re-reads those members' coupons: a second run reaching the same members waits, then sees the
//    first run's coupons and issues no duplicate;
//  - budgets are reserved under a row lock on the campaign (SELECT ... FOR UPDATE, campaigns in
//    ascending id order after the member locks, so two runs cannot deadlock) and the campaign's
//    CHECK constraints (committed <= budget) back that up: a budget is never exceeded.
#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "aisle/common/pg.h"
#include "aisle/engine/batch.h"
#include "aisle/engine/offers.h"

namespace aisle::engine {

// One purchase line as the batch reads it (ordered by member, time, transaction).
struct BatchLine {
  std::int64_t memberId = 0, transactionId = 0, storeId = 0, productId = 0;
  std::int32_t day = 0;
  double quantity = 0;
  std::int64_t amountMinor = 0, discountMinor = 0;
};

struct ExistingCoupon {
  std::int64_t memberId = 0, campaignId = 0, productId = 0;  // productId 0: none
  bool active = false;
};

struct ProductModelRow {
  std::int64_t memberId = 0, productId = 0;
  int purchases = 0;
  std::int32_t lastDay = 0;
  std::optional<double> intervalDays, confidence, affinity;
  std::optional<std::int32_t> expectedNextDay;
  std::string explanation;
};
struct CategoryModelRow {
  std::int64_t memberId = 0, categoryId = 0;
  int purchases = 0;
  std::int32_t lastDay = 0;
  double intervalDays = 0, confidence = 0;
  std::int32_t expectedNextDay = 0;
};
struct ProfileRow {
  std::int64_t memberId = 0;
  std::string segment;
  int recencyDays = 0, frequency = 0;
  std::int64_t monetaryMinor = 0, ltvMinor = 0;
  std::int32_t lastDay = 0;
  std::int64_t modeledThrough = 0;
};
struct CouponRow {
  std::int64_t memberId = 0;
  ChosenOffer offer;
  std::string code;
};

class BatchRepository {
 public:
  explicit BatchRepository(pqxx::connection& c);

  // Campaign definitions from a file: inserted or updated by id (budget counters untouched).
  // Category targets may name the category; it is resolved to its id here.
  void upsertCampaigns(const std::vector<CampaignSpec>& specs);
  std::vector<Campaign> activeCampaigns(std::int64_t nowMs);
  Catalog catalog();
  std::vector<std::int64_t> memberIds();
  std::unordered_map<std::int64_t, std::int64_t> modeledThrough();
  // Lines of members in [firstMember, lastMember], member by member, oldest first.
  void linesOf(std::int64_t firstMember, std::int64_t lastMember,
               const std::function<void(const BatchLine&)>& sink);

  // One chunk's writes, in one transaction.
  class Chunk {
   public:
    Chunk(pqxx::connection& c, const std::vector<std::int64_t>& members);
    std::vector<ExistingCoupon> coupons(std::int64_t nowMs);
    std::vector<std::pair<std::int64_t, std::int64_t>> holdouts();  // (member, campaign)
    std::vector<std::pair<std::int64_t, std::string>> consents();   // granted purposes
    // Grants offers of one campaign in the given order while the budget lasts; returns which.
    std::vector<bool> reserve(std::int64_t campaignId, const std::vector<std::int64_t>& values);
    void writeModels(const std::vector<ProductModelRow>& products,
                     const std::vector<CategoryModelRow>& categories,
                     const std::vector<ProfileRow>& profiles);
    void writeCoupons(const std::vector<CouponRow>& coupons, const std::string& batchRun,
                      std::int64_t nowMs);
    // (member, campaign, holdout): who a campaign was addressed to, for lift measurement.
    void addCampaignMembers(const std::vector<std::tuple<std::int64_t, std::int64_t, bool>>& rows,
                            std::int64_t nowMs);
    void commit() { tx_.commit(); }

   private:
    pqxx::work tx_;
    std::string members_;  // the chunk as a bigint[] literal
  };

 private:
  pqxx::connection& c_;
};

// Days since 1970-01-01 -> timestamptz text at that day's UTC midnight (COPY text format; unix
// milliseconds: aisle::pgTimestampUtc).
std::string dayTimestamp(std::int32_t day);

}  // namespace aisle::engine
