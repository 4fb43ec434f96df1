#include "db/loader_repository.h"

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "aisle/common/money.h"
#include "aisle/engine/dataset_mapping.h"

namespace aisle::engine {
namespace {

// COPY text format has no NULL for an empty string, so "no value" travels as a null pointer.
const char* orNull(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}
std::string optText(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : std::string();
}

// Only loaded data sets shape the generator: synthetic members (and the anonymous member 0) do not.
constexpr std::int64_t kLastRealMember = kSyntheticMemberOffset - 1;
// Data sets without prices (groceries) still need a basket value for synthetic purchases.
constexpr std::int64_t kUnknownPriceMinor = 199;

}  // namespace

pqxx::work& LoaderRepository::tx() {
  if (!tx_) throw std::logic_error("LoaderRepository used outside begin()/commit()");
  return *tx_;
}

void LoaderRepository::begin(const std::string& lockKey) {
  tx_ = std::make_unique<pqxx::work>(conn_);
  tx_->exec_params("SELECT pg_advisory_xact_lock(hashtext($1))", lockKey);
}

void LoaderRepository::commit() {
  tx().commit();
  tx_.reset();
}

void LoaderRepository::rollback() {
  if (tx_) tx_->abort();
  tx_.reset();
}

void LoaderRepository::createStage(const std::string& name, const std::string& columnsSql) {
  // Fixed names and column lists from this file, never input: building the text is safe.
  tx().exec("DROP TABLE IF EXISTS pg_temp." + name);
  tx().exec("CREATE TEMP TABLE " + name + " (" + columnsSql + ") ON COMMIT DROP");
}

std::map<std::string, std::string> LoaderRepository::loadedFiles(const std::string& source) {
  std::map<std::string, std::string> out;
  for (const auto& row :
       tx().exec_params("SELECT file, sha256 FROM data_loads WHERE source = $1", source)) {
    out[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  return out;
}

void LoaderRepository::recordFile(const std::string& source, const std::string& file,
                                  const std::string& sha256, std::int64_t rows) {
  tx().exec_params(
      "INSERT INTO data_loads (source, file, sha256, rows) VALUES ($1, $2, $3, $4) "
      "ON CONFLICT (source, file) DO UPDATE SET sha256 = EXCLUDED.sha256, rows = EXCLUDED.rows, "
      "loaded_at = now() WHERE data_loads.sha256 <> EXCLUDED.sha256",
      source, file, sha256, rows);
}

std::int64_t LoaderRepository::addStores(const std::vector<StoreRow>& rows) {
  createStage("stage_stores",
              "store_id bigint, org_id text, external_ref text, name text, time_zone text");
  pqxx::stream_to s(
      tx(), "stage_stores",
      std::vector<std::string>{"store_id", "org_id", "external_ref", "name", "time_zone"});
  for (const auto& r : rows)
    s << std::forward_as_tuple(r.id, r.orgId, r.externalRef, r.name, r.timeZone);
  s.complete();
  return static_cast<std::int64_t>(
      tx().exec("INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) "
                "SELECT store_id, org_id, external_ref, name, time_zone FROM stage_stores ORDER BY "
                "store_id "
                "ON CONFLICT DO NOTHING")
          .affected_rows());
}

std::int64_t LoaderRepository::addCategories(const std::vector<CategoryRow>& rows) {
  createStage("stage_categories", "name text, department text");
  pqxx::stream_to s(tx(), "stage_categories", std::vector<std::string>{"name", "department"});
  for (const auto& r : rows) s << std::make_tuple(r.name.c_str(), orNull(r.department));
  s.complete();
  // Category ids are handed out here, after the highest existing one in name order: a fresh
  // database gets the same ids every time, and names already present keep theirs. The lock keeps
  // two loaders from computing the same max.
  tx().exec("SELECT pg_advisory_xact_lock(hashtext('aisle:categories'))");
  return static_cast<std::int64_t>(
      tx().exec("INSERT INTO categories (category_id, name, department) "
                "SELECT (SELECT coalesce(max(category_id), 0) FROM categories) + row_number() OVER "
                "(ORDER BY s.name), "
                "s.name, s.department FROM (SELECT DISTINCT ON (name) name, department FROM "
                "stage_categories "
                "ORDER BY name) s WHERE NOT EXISTS (SELECT 1 FROM categories c WHERE c.name = "
                "s.name) ORDER BY s.name")
          .affected_rows());
}

std::int64_t LoaderRepository::addProducts(const std::vector<ProductRow>& rows) {
  createStage(
      "stage_products",
      "product_id bigint, name text, brand text, category text, department text, size text, "
      "manufacturer_id bigint, price_minor bigint");
  pqxx::stream_to s(
      tx(), "stage_products",
      std::vector<std::string>{"product_id", "name", "brand", "category", "department", "size",
                               "manufacturer_id", "price_minor"});
  for (const auto& r : rows) {
    const std::string m = optText(r.manufacturerId), p = optText(r.priceMinor);
    s << std::make_tuple(r.id, r.name.c_str(), orNull(r.brand), orNull(r.category),
                         orNull(r.department), orNull(r.size), orNull(m), orNull(p));
  }
  s.complete();
  return static_cast<std::int64_t>(tx().exec("INSERT INTO products (product_id, name, brand, "
                                             "category_id, department, size, manufacturer_id, "
                                             "price_minor) SELECT s.product_id, s.name, s.brand, "
                                             "c.category_id, s.department, s.size, "
                                             "s.manufacturer_id, s.price_minor FROM stage_products "
                                             "s LEFT JOIN categories c ON c.name = s.category "
                                             "ORDER BY s.product_id ON CONFLICT DO NOTHING")
                                       .affected_rows());
}

std::pair<std::int64_t, std::int64_t> LoaderRepository::addMembersWithCards(
    const std::vector<MemberRow>& rows) {
  createStage(
      "stage_members",
      "member_id bigint, household_id bigint, external_ref text, demographics text, card text");
  pqxx::stream_to s(tx(), "stage_members",
                    std::vector<std::string>{"member_id", "household_id", "external_ref",
                                             "demographics", "card"});
  for (const auto& r : rows) {
    const std::string h = optText(r.householdId);
    s << std::make_tuple(r.id, orNull(h), orNull(r.externalRef), r.demographicsJson.c_str(),
                         r.cardNumber.c_str());
  }
  s.complete();
  const auto members =
      tx().exec(
              "INSERT INTO members (member_id, household_id, external_ref, demographics) "
              "SELECT member_id, household_id, external_ref, demographics::jsonb FROM "
              "stage_members "
              "ORDER BY member_id ON CONFLICT DO NOTHING")
          .affected_rows();
  const auto cards =
      tx().exec(
              "INSERT INTO cards (member_id, number) SELECT member_id, card FROM stage_members "
              "ORDER BY member_id ON CONFLICT DO NOTHING")
          .affected_rows();
  return {static_cast<std::int64_t>(members), static_cast<std::int64_t>(cards)};
}

std::int64_t LoaderRepository::addCampaigns(const std::vector<CampaignRow>& rows) {
  createStage("stage_campaigns",
              "campaign_id bigint, external_ref text, name text, type text, target_kind text, "
              "valid_from date, "
              "valid_to date, time_zone text");
  pqxx::stream_to s(tx(), "stage_campaigns",
                    std::vector<std::string>{"campaign_id", "external_ref", "name", "type",
                                             "target_kind", "valid_from", "valid_to", "time_zone"});
  for (const auto& r : rows) {
    s << std::forward_as_tuple(r.id, r.externalRef, r.name, r.type, r.targetKind, r.validFromDate,
                               r.validToDate, r.timeZone);
  }
  s.complete();
  return static_cast<std::int64_t>(
      tx().exec("INSERT INTO campaigns (campaign_id, external_ref, name, type, target_kind, "
                "valid_from, valid_to) "
                "SELECT campaign_id, external_ref, name, type, target_kind, valid_from::timestamp "
                "AT TIME ZONE time_zone, "
                "valid_to::timestamp AT TIME ZONE time_zone FROM stage_campaigns ORDER BY "
                "campaign_id "
                "ON CONFLICT DO NOTHING")
          .affected_rows());
}

std::int64_t LoaderRepository::addCampaignProducts(const std::vector<CampaignProductRow>& rows) {
  createStage("stage_campaign_products", "campaign_id bigint, coupon_upc text, product_id bigint");
  pqxx::stream_to s(tx(), "stage_campaign_products",
                    std::vector<std::string>{"campaign_id", "coupon_upc", "product_id"});
  for (const auto& r : rows) s << std::forward_as_tuple(r.campaignId, r.couponUpc, r.productId);
  s.complete();
  return static_cast<std::int64_t>(
      tx().exec("INSERT INTO campaign_products (campaign_id, coupon_upc, product_id) "
                "SELECT campaign_id, coupon_upc, product_id FROM stage_campaign_products "
                "ORDER BY campaign_id, coupon_upc, product_id ON CONFLICT DO NOTHING")
          .affected_rows());
}

std::int64_t LoaderRepository::addCampaignMembers(const std::vector<CampaignMemberRow>& rows) {
  createStage("stage_campaign_members", "member_id bigint, campaign_id bigint");
  pqxx::stream_to s(tx(), "stage_campaign_members",
                    std::vector<std::string>{"member_id", "campaign_id"});
  for (const auto& r : rows) s << std::forward_as_tuple(r.memberId, r.campaignId);
  s.complete();
  // added_at = the campaign's start: the list existed then, and a load stays reproducible.
  return static_cast<std::int64_t>(
      tx().exec("INSERT INTO campaign_members (member_id, campaign_id, added_at) "
                "SELECT s.member_id, s.campaign_id, c.valid_from FROM stage_campaign_members s "
                "JOIN campaigns c USING (campaign_id) ORDER BY s.member_id, s.campaign_id ON "
                "CONFLICT DO NOTHING")
          .affected_rows());
}

std::int64_t LoaderRepository::addExternalRedemptions(
    const std::vector<ExternalRedemptionRow>& rows, const std::string& note) {
  createStage("stage_redemptions",
              "member_id bigint, campaign_id bigint, coupon_upc text, redeemed_on date, time_zone "
              "text, ordinal bigint");
  pqxx::stream_to s(tx(), "stage_redemptions",
                    std::vector<std::string>{"member_id", "campaign_id", "coupon_upc",
                                             "redeemed_on", "time_zone", "ordinal"});
  for (const auto& r : rows)
    s << std::forward_as_tuple(r.memberId, r.campaignId, r.couponUpc, r.date, r.timeZone,
                               r.ordinal);
  s.complete();
  // Redemptions have no natural key and the file legitimately repeats some (the same coupon used
  // twice on one day). Merge as a multiset: the n-th copy of a row is inserted only when fewer
  // than n copies exist already, so a re-run adds nothing and no duplicate is lost.
  return static_cast<std::int64_t>(
      tx().exec_params("INSERT INTO redemptions (member_id, campaign_id, coupon_upc, redeemed_at, "
                       "status, note) "
                       "SELECT s.member_id, s.campaign_id, s.coupon_upc, s.redeemed_at, "
                       "'accepted', $1 FROM ("
                       "  SELECT member_id, campaign_id, coupon_upc, redeemed_on::timestamp AT "
                       "TIME ZONE time_zone AS redeemed_at, "
                       "         ordinal, row_number() OVER (PARTITION BY member_id, campaign_id, "
                       "coupon_upc, redeemed_on "
                       "                                     ORDER BY ordinal) AS copy_no FROM "
                       "stage_redemptions) s "
                       "LEFT JOIN (SELECT member_id, campaign_id, coupon_upc, redeemed_at, "
                       "count(*) AS n FROM redemptions "
                       "           WHERE coupon_id IS NULL GROUP BY 1, 2, 3, 4) e "
                       "  ON e.member_id = s.member_id AND e.campaign_id = s.campaign_id AND "
                       "e.coupon_upc = s.coupon_upc "
                       " AND e.redeemed_at = s.redeemed_at "
                       "WHERE s.copy_no > coalesce(e.n, 0) ORDER BY s.ordinal",
                       note)
          .affected_rows());
}

std::string LoaderRepository::transactionKey(std::int64_t member, std::int64_t store,
                                             const std::string& workstation, const std::string& day,
                                             const std::string& sequence) {
  return std::to_string(member) + "|" + std::to_string(store) + "|" + workstation + "|" + day +
         "|" + sequence;
}

std::unordered_set<std::string> LoaderRepository::existingTransactionKeys(
    const std::string& orgId) {
  std::unordered_set<std::string> out;
  for (const auto& row : tx().exec_params("SELECT member_id, store_id, workstation_id, "
                                          "business_day::text, sequence_no FROM transactions "
                                          "WHERE org_id = $1",
                                          orgId)) {
    out.insert(transactionKey(row[0].as<std::int64_t>(), row[1].as<std::int64_t>(),
                              row[2].as<std::string>(), row[3].as<std::string>(),
                              row[4].as<std::string>()));
  }
  return out;
}

std::set<std::int64_t> LoaderRepository::existingMembers(std::int64_t first, std::int64_t last) {
  std::set<std::int64_t> out;
  for (const auto& row : tx().exec_params(
           "SELECT member_id FROM members WHERE member_id BETWEEN $1 AND $2", first, last)) {
    out.insert(row[0].as<std::int64_t>());
  }
  return out;
}

std::vector<std::int64_t> LoaderRepository::allocateTransactionIds(std::size_t n) {
  std::vector<std::int64_t> ids;
  ids.reserve(n);
  if (n == 0) return ids;
  // nextval per row: the ids stay unique even while the POS adapter inserts at the same time.
  for (const auto& row : tx().exec_params("SELECT nextval(pg_get_serial_sequence('transactions', "
                                          "'transaction_id')) FROM generate_series(1, $1)",
                                          static_cast<std::int64_t>(n))) {
    ids.push_back(row[0].as<std::int64_t>());
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

void LoaderRepository::copyTransactions(const std::vector<TransactionRow>& rows,
                                        const std::string& source,
                                        const std::function<void(std::int64_t)>& onRows) {
  const auto ids = allocateTransactionIds(rows.size());
  {
    pqxx::stream_to s(
        tx(), "transactions",
        std::vector<std::string>{"member_id", "transaction_id", "org_id", "store_id",
                                 "workstation_id", "business_day", "sequence_no", "occurred_at",
                                 "card_number", "content_hash", "total_minor", "source"});
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      const std::string hash = "\\x" + r.contentHashHex;
      s << std::make_tuple(r.memberId, ids[i], r.orgId.c_str(), r.storeId, r.workstationId.c_str(),
                           r.businessDay.c_str(), r.sequenceNo.c_str(), r.occurredAt.c_str(),
                           orNull(r.cardNumber), hash.c_str(), r.totalMinor, source.c_str());
    }
    s.complete();
  }
  pqxx::stream_to s(
      tx(), "transaction_lines",
      std::vector<std::string>{"member_id", "transaction_id", "line_no", "product_id", "quantity",
                               "amount_minor", "discount_minor", "coupon_discount_minor"});
  std::int64_t sinceReport = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    int lineNo = 0;
    for (const auto& l : r.lines) {
      s << std::make_tuple(r.memberId, ids[i], ++lineNo, l.productId,
                           formatScaledDecimal(l.quantityMilli, 3, true), l.amountMinor,
                           l.discountMinor, l.couponDiscountMinor);
    }
    sinceReport += static_cast<std::int64_t>(r.lines.size());
    if (onRows && sinceReport >= 10000) {
      onRows(sinceReport);
      sinceReport = 0;
    }
  }
  s.complete();
  if (onRows && sinceReport > 0) onRows(sinceReport);
}

PurchaseDistributions LoaderRepository::readDistributions() {
  PurchaseDistributions d;
  d.origin = "loaded data";
  for (const auto& row :
       tx().exec_params("SELECT product_id, count(*), coalesce(round(sum(amount_minor) / "
                        "nullif(sum(quantity), 0))::bigint, 0) "
                        "FROM transaction_lines WHERE member_id BETWEEN 1 AND $1 AND product_id IS "
                        "NOT NULL AND quantity > 0 "
                        "GROUP BY product_id ORDER BY product_id",
                        kLastRealMember)) {
    const auto price = row[2].as<std::int64_t>();
    d.products.push_back({row[0].as<std::int64_t>(), row[1].as<std::uint64_t>(),
                          price > 0 ? price : kUnknownPriceMinor});
  }
  for (const auto& row : tx().exec_params(
           "SELECT n, count(*) FROM (SELECT count(*) AS n FROM transaction_lines WHERE member_id "
           "BETWEEN 1 AND $1 "
           "GROUP BY member_id, transaction_id) s WHERE n <= 200 GROUP BY n ORDER BY n",
           kLastRealMember)) {
    const auto n = row[0].as<std::size_t>();
    if (d.basketSizes.size() <= n) d.basketSizes.resize(n + 1, 0);
    d.basketSizes[n] = row[1].as<std::uint64_t>();
  }
  for (const auto& row : tx().exec_params("SELECT gap, count(*) FROM (SELECT business_day - "
                                          "lag(business_day) OVER (PARTITION BY member_id "
                                          "ORDER BY business_day, transaction_id) AS gap FROM "
                                          "transactions WHERE member_id BETWEEN 1 AND $1) s "
                                          "WHERE gap BETWEEN 1 AND 365 GROUP BY gap ORDER BY gap",
                                          kLastRealMember)) {
    const auto g = row[0].as<std::size_t>();
    if (d.gapDays.size() <= g) d.gapDays.resize(g + 1, 0);
    d.gapDays[g] = row[1].as<std::uint64_t>();
  }
  for (const auto& row : tx().exec_params("SELECT t.store_id, count(*), s.time_zone FROM "
                                          "transactions t JOIN stores s USING (store_id) "
                                          "WHERE t.member_id BETWEEN 1 AND $1 GROUP BY t.store_id, "
                                          "s.time_zone ORDER BY t.store_id",
                                          kLastRealMember)) {
    d.stores.push_back(
        {row[0].as<std::int64_t>(), row[1].as<std::uint64_t>(), row[2].as<std::string>()});
  }
  return d;
}

}  // namespace aisle::engine
