#pragma once
// All SQL of the data loader and the synthetic generator. Bulk rows go in with COPY
// (pqxx::stream_to). Catalog-sized tables are copied into temporary staging tables and merged with
// INSERT ... SELECT ... ON CONFLICT DO NOTHING, so re-running a load inserts nothing. Transactions
// and their lines, the bulk, are copied straight into their tables: the caller first drops every
// basket whose natural key already exists (read under the same per-source advisory lock), which
// keeps the COPY at full speed and the load idempotent.
#include <pqxx/pqxx>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "aisle/engine/generator.h"

namespace aisle::engine {

struct StoreRow {
  std::int64_t id = 0;
  std::string orgId, externalRef, name, timeZone;
};
struct CategoryRow {
  std::string name, department;  // empty department: NULL
};
struct ProductRow {
  std::int64_t id = 0;
  std::string name, brand, category, department, size;  // empty: NULL
  std::optional<std::int64_t> manufacturerId, priceMinor;
};
struct MemberRow {
  std::int64_t id = 0;
  std::optional<std::int64_t> householdId;
  std::string externalRef;
  std::string demographicsJson = "{}";
  std::string cardNumber;
};
struct CampaignRow {
  std::int64_t id = 0;
  std::string externalRef, name, type, targetKind;
  std::string validFromDate, validToDate, timeZone;  // local midnights in timeZone
};
struct CampaignProductRow {
  std::int64_t campaignId = 0;
  std::string couponUpc;
  std::int64_t productId = 0;
};
struct CampaignMemberRow {
  std::int64_t memberId = 0, campaignId = 0;
};
struct ExternalRedemptionRow {  // a manufacturer coupon redeemed at the till (no coupon of ours)
  std::int64_t memberId = 0, campaignId = 0;
  std::string couponUpc, date, timeZone;
  std::int64_t ordinal = 0;  // position in the source file: keeps duplicates apart, in order
};
struct TransactionLineRow {
  std::int64_t productId = 0;
  std::int64_t quantityMilli = 0, amountMinor = 0, discountMinor = 0, couponDiscountMinor = 0;
};
struct TransactionRow {
  std::int64_t memberId = 0;
  std::string orgId;
  std::int64_t storeId = 0;
  std::string workstationId, businessDay, sequenceNo, occurredAt, cardNumber, contentHashHex;
  std::int64_t totalMinor = 0;
  std::vector<TransactionLineRow> lines;
};

class LoaderRepository {
 public:
  explicit LoaderRepository(pqxx::connection& conn) : conn_(conn) {}

  // One database transaction per load: begin() also takes a transaction-scoped advisory lock on
  // `lockKey`, so two loads of the same source serialize instead of racing on existence checks.
  void begin(const std::string& lockKey);
  void commit();
  void rollback();

  std::map<std::string, std::string> loadedFiles(const std::string& source);  // file -> sha256
  void recordFile(const std::string& source, const std::string& file, const std::string& sha256,
                  std::int64_t rows);

  // Each returns how many rows it inserted (0 on a re-run).
  std::int64_t addStores(const std::vector<StoreRow>& rows);
  std::int64_t addCategories(const std::vector<CategoryRow>& rows);  // ids: max+1.. in name order
  std::int64_t addProducts(const std::vector<ProductRow>& rows);
  std::pair<std::int64_t, std::int64_t> addMembersWithCards(const std::vector<MemberRow>& rows);
  std::int64_t addCampaigns(const std::vector<CampaignRow>& rows);
  std::int64_t addCampaignProducts(const std::vector<CampaignProductRow>& rows);
  std::int64_t addCampaignMembers(const std::vector<CampaignMemberRow>& rows);
  std::int64_t addExternalRedemptions(const std::vector<ExternalRedemptionRow>& rows,
                                      const std::string& note);

  // Natural keys "member|store|workstation|day|sequence" already present for an organisation.
  std::unordered_set<std::string> existingTransactionKeys(const std::string& orgId);
  static std::string transactionKey(std::int64_t member, std::int64_t store,
                                    const std::string& workstation, const std::string& day,
                                    const std::string& sequence);
  // Members of [first, last] that exist already (the generator skips them).
  std::set<std::int64_t> existingMembers(std::int64_t first, std::int64_t last);

  // COPYs the transactions and then their lines. Rows must be new (see existingTransactionKeys);
  // ids come from the transactions' own sequence. `onRows` reports progress in lines.
  void copyTransactions(const std::vector<TransactionRow>& rows, const std::string& source,
                        const std::function<void(std::int64_t)>& onRows = {});

  // What the loaded (non-synthetic) data looks like, for the generator.
  PurchaseDistributions readDistributions();

 private:
  pqxx::work& tx();
  std::vector<std::int64_t> allocateTransactionIds(std::size_t n);
  void createStage(const std::string& name, const std::string& columnsSql);

  pqxx::connection& conn_;
  std::unique_ptr<pqxx::work> tx_;
};

}  // namespace aisle::engine
