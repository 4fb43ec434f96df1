#include "db/batch_repository.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <pqxx/stream_from>
#include <stdexcept>

namespace aisle::engine {
namespace {

std::int64_t toI64(const pqxx::field& f) {
  std::int64_t v = 0;
  const char* s = f.c_str();
  std::from_chars(s, s + f.size(), v);
  return v;
}

// COPY text format has no NULL for an empty string, so "no value" travels as a null pointer.
const char* orNull(const std::string& s) {
  return s.empty() ? nullptr : s.c_str();
}

std::string optNum(const std::optional<double>& v) {
  if (!v) return {};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", *v);
  return buf;
}

std::string arrayLiteral(const std::vector<std::int64_t>& v) {
  std::string s = "{";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(v[i]);
  }
  return s + "}";
}

// A comma-separated list from SQL (array_to_string) -> items; empty text: no items.
std::vector<std::string> splitCsv(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    const auto end = s.find(',', start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

std::string jsonString(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o.push_back('\\');
    o.push_back(c);
  }
  return o + "\"";
}

std::string eligibilityJson(const Campaign& c) {
  std::string j = "{\"segments\": [";
  for (std::size_t i = 0; i < c.segments.size(); ++i)
    j += (i ? ", " : "") + jsonString(segmentName(c.segments[i]));
  j += "], \"stores\": [";
  for (std::size_t i = 0; i < c.stores.size(); ++i)
    j += (i ? ", " : "") + std::to_string(c.stores[i]);
  j += "], \"consents\": [";
  for (std::size_t i = 0; i < c.consents.size(); ++i)
    j += (i ? ", " : "") + jsonString(c.consents[i]);
  j += "], \"min_ltv_minor\": " + std::to_string(c.minLtvMinor) + "}";
  return j;
}

std::string hundredths(std::int32_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%d.%02d", v / 100, v % 100);
  return buf;
}

}  // namespace

std::string dayTimestamp(std::int32_t day) {
  return pgTimestampUtc(static_cast<std::int64_t>(day) * 86'400'000);
}


BatchRepository::BatchRepository(pqxx::connection& c) : c_(c) {
  c_.prepare("batch_category_by_name", "SELECT category_id FROM categories WHERE name = $1");
  c_.prepare(
      "batch_upsert_campaign",
      "INSERT INTO campaigns (campaign_id, external_ref, name, type, target_kind, target_ref, "
      " percent_off, amount_off_minor, buy_qty, get_qty, points, valid_from, valid_to, "
      "budget_minor, "
      " budget_count, per_member_limit, holdout_pct, eligibility, status) "
      "VALUES ($1, $2, $3, $4, $5, $6, $7::numeric, $8, $9, $10, $11, to_timestamp($12::bigint / "
      "1000.0), "
      " to_timestamp($13::bigint / 1000.0), $14, $15, $16, $17::numeric, $18::jsonb, $19) "
      "ON CONFLICT (campaign_id) DO UPDATE SET external_ref = EXCLUDED.external_ref, name = "
      "EXCLUDED.name, "
      " type = EXCLUDED.type, target_kind = EXCLUDED.target_kind, target_ref = "
      "EXCLUDED.target_ref, "
      " percent_off = EXCLUDED.percent_off, amount_off_minor = EXCLUDED.amount_off_minor, "
      " buy_qty = EXCLUDED.buy_qty, get_qty = EXCLUDED.get_qty, points = EXCLUDED.points, "
      " valid_from = EXCLUDED.valid_from, valid_to = EXCLUDED.valid_to, budget_minor = "
      "EXCLUDED.budget_minor, "
      " budget_count = EXCLUDED.budget_count, per_member_limit = EXCLUDED.per_member_limit, "
      " holdout_pct = EXCLUDED.holdout_pct, eligibility = EXCLUDED.eligibility, status = "
      "EXCLUDED.status");
  c_.prepare("batch_campaigns",
             "SELECT campaign_id, name, type, target_kind, coalesce(target_ref, ''), "
             " coalesce(round(percent_off * 100), 0)::int, coalesce(amount_off_minor, 0), "
             "coalesce(buy_qty, 0), "
             " coalesce(get_qty, 0), coalesce(points, 0), (extract(epoch FROM valid_from) * "
             "1000)::bigint, "
             " (extract(epoch FROM valid_to) * 1000)::bigint, budget_minor, budget_count, "
             "per_member_limit, "
             " round(holdout_pct * 100)::int, "
             " array_to_string(ARRAY(SELECT "
             "jsonb_array_elements_text(coalesce(eligibility->'segments', '[]'))), ','), "
             " array_to_string(ARRAY(SELECT "
             "jsonb_array_elements_text(coalesce(eligibility->'stores', '[]'))), ','), "
             " array_to_string(ARRAY(SELECT "
             "jsonb_array_elements_text(coalesce(eligibility->'consents', '[]'))), ','), "
             " coalesce((eligibility->>'min_ltv_minor')::bigint, 0) "
             "FROM campaigns WHERE status = 'active' AND type <> 'external' "
             " AND valid_from <= to_timestamp($1::bigint / 1000.0) AND valid_to > "
             "to_timestamp($1::bigint / 1000.0) "
             "ORDER BY campaign_id");
  c_.prepare("batch_campaign_products",
             "SELECT DISTINCT product_id FROM campaign_products WHERE campaign_id = $1");
  c_.prepare("batch_catalog",
             "SELECT product_id, coalesce(category_id, 0), name, coalesce(brand, ''), "
             "coalesce(price_minor, -1) "
             "FROM products");
  c_.prepare("batch_members",
             "SELECT member_id FROM members WHERE member_id <> 0 ORDER BY member_id");
  c_.prepare("batch_modeled",
             "SELECT member_id, coalesce(modeled_through, 0) FROM member_profiles");
  // Member buckets (64 consecutive ids each) locked in ascending order (the ordered subquery fixes
  // the order of the calls). Consecutive buckets keep one run's parallel chunks apart while two
  // runs reaching the same members still meet; a chunk takes at most one lock per member.
  c_.prepare("batch_lock_members",
             "SELECT count(pg_advisory_xact_lock(hashtextextended('aisle.batch.members', b))) FROM "
             "(SELECT DISTINCT m >> 6 AS b FROM unnest($1::bigint[]) m ORDER BY b) x");
  c_.prepare("batch_existing_coupons",
             "SELECT member_id, campaign_id, coalesce(product_id, 0), "
             " (state IN ('issued', 'delivered') AND valid_to > to_timestamp($2::bigint / 1000.0)) "
             "FROM coupons WHERE member_id = ANY($1::bigint[]) AND state <> 'reversed'");
  c_.prepare("batch_holdouts",
             "SELECT member_id, campaign_id FROM campaign_members WHERE member_id = "
             "ANY($1::bigint[]) AND is_holdout");
  c_.prepare("batch_consents",
             "SELECT member_id, purpose FROM current_consents WHERE member_id = ANY($1::bigint[]) "
             "AND granted");
  c_.prepare("batch_lock_campaign",
             "SELECT budget_minor, budget_count, committed_minor, issued_count FROM campaigns "
             "WHERE campaign_id = $1 FOR UPDATE");
  c_.prepare("batch_commit_budget",
             "UPDATE campaigns SET committed_minor = committed_minor + $2, issued_count = "
             "issued_count + $3 "
             "WHERE campaign_id = $1");
  c_.prepare("batch_delete_product_models",
             "DELETE FROM member_product_models WHERE member_id = ANY($1::bigint[])");
  c_.prepare("batch_delete_category_models",
             "DELETE FROM member_category_models WHERE member_id = ANY($1::bigint[])");
  c_.prepare("batch_delete_profiles",
             "DELETE FROM member_profiles WHERE member_id = ANY($1::bigint[])");
  c_.prepare("batch_campaign_members",
             "INSERT INTO campaign_members (member_id, campaign_id, is_holdout, added_at) "
             "SELECT m, c, h, to_timestamp($4::bigint / 1000.0) FROM unnest($1::bigint[], "
             "$2::bigint[], $3::boolean[]) AS u(m, c, h) "
             "ON CONFLICT (member_id, campaign_id) DO NOTHING");
}

void BatchRepository::upsertCampaigns(const std::vector<CampaignSpec>& specs) {
  pqxx::work tx(c_);
  for (const auto& s : specs) {
    const auto& c = s.campaign;
    std::string target = c.targetRef;
    if (!s.categoryName.empty()) {
      const auto r = tx.exec_prepared("batch_category_by_name", s.categoryName);
      if (r.empty())
        throw std::runtime_error("campaign " + std::to_string(c.id) + ": no category named '" +
                                 s.categoryName + "'");
      target = r[0][0].c_str();
    }
    // Parameters as text, a null pointer for NULL (libpqxx 6.4 without PQXX_HAVE_OPTIONAL).
    const auto num = [](auto v) { return std::to_string(v); };
    const std::string pct = hundredths(c.percentOffHundredths), amount = num(c.amountOffMinor),
                      buy = num(c.buyQty), get = num(c.getQty), points = num(c.points),
                      budget = c.budgetMinor ? num(*c.budgetMinor) : "",
                      count = c.budgetCount ? num(*c.budgetCount) : "";
    tx.exec_prepared("batch_upsert_campaign", c.id, "file:" + std::to_string(c.id), c.name,
                     offerTypeName(c.type), targetKindName(c.targetKind), orNull(target),
                     c.type == OfferType::PercentOff ? pct.c_str() : nullptr,
                     c.type == OfferType::AmountOff ? amount.c_str() : nullptr,
                     c.type == OfferType::BuyXGetY ? buy.c_str() : nullptr,
                     c.type == OfferType::BuyXGetY ? get.c_str() : nullptr,
                     c.type == OfferType::Points ? points.c_str() : nullptr, c.validFromMs,
                     c.validToMs, orNull(budget), orNull(count), c.perMemberLimit,
                     hundredths(c.holdoutHundredths), eligibilityJson(c), s.status);
  }
  tx.commit();
}

std::vector<Campaign> BatchRepository::activeCampaigns(std::int64_t nowMs) {
  pqxx::read_transaction tx(c_);
  std::vector<Campaign> out;
  for (const auto& r : tx.exec_prepared("batch_campaigns", nowMs)) {
    Campaign c;
    c.id = r[0].as<std::int64_t>();
    c.name = r[1].c_str();
    if (!offerTypeByName(r[2].c_str(), c.type) || !targetKindByName(r[3].c_str(), c.targetKind))
      continue;
    c.targetRef = r[4].c_str();
    c.percentOffHundredths = r[5].as<std::int32_t>();
    c.amountOffMinor = r[6].as<std::int64_t>();
    c.buyQty = r[7].as<int>();
    c.getQty = r[8].as<int>();
    c.points = r[9].as<int>();
    c.validFromMs = r[10].as<std::int64_t>();
    c.validToMs = r[11].as<std::int64_t>();
    if (!r[12].is_null()) c.budgetMinor = r[12].as<std::int64_t>();
    if (!r[13].is_null()) c.budgetCount = r[13].as<std::int64_t>();
    c.perMemberLimit = r[14].as<int>();
    c.holdoutHundredths = r[15].as<std::int32_t>();
    for (const auto& name : splitCsv(r[16].c_str())) {
      Segment s;
      if (segmentByName(name, s)) c.segments.push_back(s);
    }
    for (const auto& store : splitCsv(r[17].c_str()))
      c.stores.push_back(std::strtoll(store.c_str(), nullptr, 10));
    c.consents = splitCsv(r[18].c_str());
    c.minLtvMinor = r[19].as<std::int64_t>();
    if (c.targetKind == TargetKind::Products)
      for (const auto& p : tx.exec_prepared("batch_campaign_products", c.id))
        c.products.insert(toI64(p[0]));
    out.push_back(std::move(c));
  }
  return out;
}

Catalog BatchRepository::catalog() {
  pqxx::read_transaction tx(c_);
  Catalog out;
  const auto rows = tx.exec_prepared("batch_catalog");
  out.reserve(rows.size());
  for (const auto& r : rows) {
    CatalogItem item;
    item.categoryId = toI64(r[1]);
    item.name = r[2].c_str();
    item.brand = r[3].c_str();
    item.priceMinor = toI64(r[4]);  // -1: unknown, filled from sales by the batch
    out.emplace(toI64(r[0]), std::move(item));
  }
  return out;
}

std::vector<std::int64_t> BatchRepository::memberIds() {
  pqxx::read_transaction tx(c_);
  std::vector<std::int64_t> out;
  const auto rows = tx.exec_prepared("batch_members");
  out.reserve(rows.size());
  for (const auto& r : rows) out.push_back(toI64(r[0]));
  return out;
}

std::unordered_map<std::int64_t, std::int64_t> BatchRepository::modeledThrough() {
  pqxx::read_transaction tx(c_);
  std::unordered_map<std::int64_t, std::int64_t> out;
  for (const auto& r : tx.exec_prepared("batch_modeled")) out[toI64(r[0])] = toI64(r[1]);
  return out;
}

void BatchRepository::linesOf(std::int64_t firstMember, std::int64_t lastMember,
                              const std::function<void(const BatchLine&)>& sink) {
  pqxx::read_transaction tx(c_);
  // COPY (query) TO STDOUT: rows arrive as tab-separated text lines, parsed in place, instead of a
  // result set held whole in memory and converted field by field (about twice as fast at 50M
  // lines). COPY takes no parameters: the bounds are integers formatted here, not text from outside.
  // libpqxx 6.4's stream_from builds "COPY <name> TO STDOUT", so a parenthesized query is accepted;
  // only get_raw_line is used (its tuple tokenizer is the broken part).
  const std::string query =
      "(SELECT t.member_id, t.transaction_id, t.store_id, "
      " (t.occurred_at AT TIME ZONE 'UTC')::date - DATE '1970-01-01', l.product_id, "
      " l.quantity::float8, l.amount_minor, l.discount_minor "
      "FROM transactions t JOIN transaction_lines l "
      " ON l.member_id = t.member_id AND l.transaction_id = t.transaction_id "
      "WHERE t.member_id BETWEEN " +
      std::to_string(firstMember) + " AND " + std::to_string(lastMember) +
      " AND t.member_id <> 0 AND NOT t.is_training "
      " AND NOT t.is_cancelled AND NOT t.is_suspended AND NOT t.is_post_voided "
      " AND l.product_id IS NOT NULL AND NOT l.is_voided AND NOT l.is_return AND l.quantity > 0 "
      "ORDER BY t.member_id, t.occurred_at, t.transaction_id, l.line_no)";
  // Sales only: cancelled, suspended, voided, training transactions and returns are no purchases.
  pqxx::stream_from copy(tx, query);
  std::string line;
  BatchLine l;
  while (copy.get_raw_line(line)) {
    const char* p = line.data();
    const char* const end = p + line.size();
    const auto next = [&](std::int64_t& v) {
      p = std::from_chars(p, end, v).ptr;
      if (p < end) ++p;  // the tab
    };
    std::int64_t day = 0;
    next(l.memberId);
    next(l.transactionId);
    next(l.storeId);
    next(day);
    l.day = static_cast<std::int32_t>(day);
    next(l.productId);
    char* after = nullptr;
    l.quantity = std::strtod(p, &after);
    p = after < end ? after + 1 : end;
    next(l.amountMinor);
    next(l.discountMinor);
    sink(l);
  }
  copy.complete();
}

BatchRepository::Chunk::Chunk(pqxx::connection& c, const std::vector<std::int64_t>& members)
    : tx_(c), members_(arrayLiteral(members)) {
  tx_.exec_prepared("batch_lock_members", members_);
}

std::vector<ExistingCoupon> BatchRepository::Chunk::coupons(std::int64_t nowMs) {
  std::vector<ExistingCoupon> out;
  for (const auto& r : tx_.exec_prepared("batch_existing_coupons", members_, nowMs))
    out.push_back({toI64(r[0]), toI64(r[1]), toI64(r[2]), r[3].as<bool>()});
  return out;
}

std::vector<std::pair<std::int64_t, std::int64_t>> BatchRepository::Chunk::holdouts() {
  std::vector<std::pair<std::int64_t, std::int64_t>> out;
  for (const auto& r : tx_.exec_prepared("batch_holdouts", members_))
    out.emplace_back(toI64(r[0]), toI64(r[1]));
  return out;
}

std::vector<std::pair<std::int64_t, std::string>> BatchRepository::Chunk::consents() {
  std::vector<std::pair<std::int64_t, std::string>> out;
  for (const auto& r : tx_.exec_prepared("batch_consents", members_))
    out.emplace_back(toI64(r[0]), r[1].c_str());
  return out;
}

std::vector<bool> BatchRepository::Chunk::reserve(std::int64_t campaignId,
                                                  const std::vector<std::int64_t>& values) {
  std::vector<bool> granted(values.size(), false);
  const auto r = tx_.exec_prepared1("batch_lock_campaign", campaignId);
  // Plain values with flags: g++ 12 misreports std::optional reads here as uninitialized.
  const bool moneyCap = !r[0].is_null(), countCap = !r[1].is_null();
  const std::int64_t budgetMinor = moneyCap ? r[0].as<std::int64_t>() : 0;
  const std::int64_t budgetCount = countCap ? r[1].as<std::int64_t>() : 0;
  const std::int64_t committed = r[2].as<std::int64_t>(), issued = r[3].as<std::int64_t>();
  std::int64_t addMinor = 0, addCount = 0;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (countCap && issued + addCount + 1 > budgetCount) break;
    // A coupon too big for what is left is skipped; a smaller one after it may still fit.
    if (moneyCap && committed + addMinor + values[i] > budgetMinor) continue;
    granted[i] = true;
    addMinor += values[i];
    ++addCount;
  }
  if (addCount > 0) tx_.exec_prepared0("batch_commit_budget", campaignId, addMinor, addCount);
  return granted;
}

void BatchRepository::Chunk::writeModels(const std::vector<ProductModelRow>& products,
                                         const std::vector<CategoryModelRow>& categories,
                                         const std::vector<ProfileRow>& profiles) {
  tx_.exec_prepared0("batch_delete_product_models", members_);
  tx_.exec_prepared0("batch_delete_category_models", members_);
  tx_.exec_prepared0("batch_delete_profiles", members_);
  {
    pqxx::stream_to s(
        tx_, "member_product_models",
        std::vector<std::string>{"member_id", "product_id", "purchases", "last_purchased_at",
                                 "interval_days", "expected_next_at", "confidence", "affinity",
                                 "explanation"});
    for (const auto& p : products) {
      const std::string next = p.expectedNextDay ? dayTimestamp(*p.expectedNextDay) : std::string();
      const std::string interval = optNum(p.intervalDays), conf = optNum(p.confidence),
                        aff = optNum(p.affinity);
      s << std::make_tuple(p.memberId, p.productId, p.purchases, dayTimestamp(p.lastDay),
                           orNull(interval), orNull(next), orNull(conf), orNull(aff),
                           orNull(p.explanation));
    }
    s.complete();
  }
  {
    pqxx::stream_to s(
        tx_, "member_category_models",
        std::vector<std::string>{"member_id", "category_id", "purchases", "last_purchased_at",
                                 "interval_days", "expected_next_at", "confidence"});
    for (const auto& c : categories)
      s << std::make_tuple(c.memberId, c.categoryId, c.purchases, dayTimestamp(c.lastDay),
                           c.intervalDays, dayTimestamp(c.expectedNextDay), c.confidence);
    s.complete();
  }
  {
    pqxx::stream_to s(tx_, "member_profiles",
                      std::vector<std::string>{"member_id", "segment", "recency_days", "frequency",
                                               "monetary_minor", "ltv_minor", "last_purchase_at",
                                               "modeled_through"});
    for (const auto& p : profiles)
      s << std::make_tuple(p.memberId, p.segment, p.recencyDays, p.frequency, p.monetaryMinor,
                           p.ltvMinor, dayTimestamp(p.lastDay), p.modeledThrough);
    s.complete();
  }
}

void BatchRepository::Chunk::writeCoupons(const std::vector<CouponRow>& coupons,
                                          const std::string& batchRun, std::int64_t nowMs) {
  if (coupons.empty()) return;
  pqxx::stream_to s(
      tx_, "coupons",
      std::vector<std::string>{"member_id", "campaign_id", "code", "state", "product_id",
                               "category_id", "value_minor", "reason", "store_id", "valid_from",
                               "valid_to", "issued_at", "batch_run"});
  const std::string issuedAt = pgTimestampUtc(nowMs);
  for (const auto& c : coupons) {
    const auto& o = c.offer;
    const std::string product = o.productId ? std::to_string(*o.productId) : "",
                      category = o.categoryId ? std::to_string(*o.categoryId) : "",
                      store = o.storeId ? std::to_string(*o.storeId) : "";
    s << std::make_tuple(c.memberId, o.campaignId, c.code, "issued", orNull(product),
                         orNull(category), o.valueMinor, o.reason, orNull(store),
                         pgTimestampUtc(o.validFromMs), pgTimestampUtc(o.validToMs), issuedAt, batchRun);
  }
  s.complete();
}

void BatchRepository::Chunk::addCampaignMembers(
    const std::vector<std::tuple<std::int64_t, std::int64_t, bool>>& rows, std::int64_t nowMs) {
  if (rows.empty()) return;
  std::string m = "{", c = "{", h = "{";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const char* sep = i ? "," : "";
    m += sep + std::to_string(std::get<0>(rows[i]));
    c += sep + std::to_string(std::get<1>(rows[i]));
    h += std::string(sep) + (std::get<2>(rows[i]) ? "t" : "f");
  }
  tx_.exec_prepared0("batch_campaign_members", m + "}", c + "}", h + "}", nowMs);
}

}  // namespace aisle::engine
