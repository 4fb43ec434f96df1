#include "aisle/pos/repository.h"

#include <algorithm>
#include <unordered_map>
#include <vector>

namespace aisle::pos {
namespace {

constexpr const char* kParkedPostVoid = "parked post-void";

// Statements are prepared once per connection (PgSession replays this after a reconnect).
void prepare(pqxx::connection& c) {
  // Generic plans only. The batch statements take arrays whose length changes with every batch, and
  // PostgreSQL's default plans each execution afresh (a custom plan) for as long as that looks cheaper
  // than the generic plan, which it does for small batches: 0.5 ms of planning per batch, more than
  // writing the batch's rows. Every statement here finds its rows by index probes whatever the
  // parameters, so the one generic plan is the right plan for all of them.
  c.set_variable("plan_cache_mode", "force_generic_plan");
  c.prepare("pos_store", "SELECT store_id, time_zone FROM stores WHERE org_id = $1 AND external_ref = $2");
  c.prepare("pos_store_lock", "SELECT pg_advisory_xact_lock(hashtextextended('stores', 0))");
  c.prepare("pos_store_create",
            "INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) "
            "SELECT COALESCE(max(store_id), 0) + 1, $1, $2, 'store ' || $2, $3 FROM stores "
            "ON CONFLICT (org_id, external_ref) DO NOTHING RETURNING store_id");
  c.prepare("pos_store_all", "SELECT external_ref, store_id, time_zone FROM stores WHERE org_id = $1 AND external_ref IS NOT NULL");
  // The swipe lookup in one round trip: the card's member, how many of our coupons they redeemed in
  // the store's day, and their usable coupons (cards_number, then coupons_active by member) of
  // campaigns whose per-member limit they have not used up (accepted redemptions of the campaign,
  // read through the member's own rows: redemptions' primary key starts with member_id).
  c.prepare("pos_swipe",
            "WITH m AS (SELECT member_id FROM cards WHERE number = $1 AND status = 'active' "
            "  ORDER BY issued_at DESC, member_id LIMIT 1), "
            "used AS (SELECT r.campaign_id, count(*) AS n FROM redemptions r, m WHERE r.member_id = m.member_id "
            "  AND r.status = 'accepted' AND r.campaign_id IS NOT NULL GROUP BY r.campaign_id), "
            "u AS (SELECT count(*) AS n FROM redemptions r, m WHERE r.member_id = m.member_id AND r.status = 'accepted' "
            "  AND r.coupon_id IS NOT NULL AND r.redeemed_at >= to_timestamp($4::bigint / 1000.0) "
            "  AND r.redeemed_at < to_timestamp($5::bigint / 1000.0)) "
            "SELECT m.member_id, u.n, c.code, c.campaign_id, c.value_minor, c.product_id, c.reason, "
            "  (extract(epoch FROM c.valid_to) * 1000)::bigint "
            "FROM m CROSS JOIN u LEFT JOIN LATERAL ("
            "  SELECT c.* FROM coupons c JOIN campaigns g ON g.campaign_id = c.campaign_id "
            "  WHERE c.member_id = m.member_id AND c.state IN ('issued', 'delivered') "
            "  AND c.valid_from <= to_timestamp($3::bigint / 1000.0) AND c.valid_to > to_timestamp($3::bigint / 1000.0) "
            "  AND (c.store_id IS NULL OR c.store_id = $2) AND g.status = 'active' "
            "  AND g.per_member_limit > coalesce((SELECT n FROM used WHERE used.campaign_id = c.campaign_id), 0) "
            "  AND g.valid_from <= to_timestamp($3::bigint / 1000.0) AND g.valid_to > to_timestamp($3::bigint / 1000.0) "
            "  ORDER BY c.valid_to, c.coupon_id LIMIT $6) c ON true");
  // Our coupons the member redeemed in the store's calendar day of the sale (the daily limit).
  c.prepare("pos_member_day_count",
            "SELECT count(*) FROM redemptions WHERE member_id = $1 AND status = 'accepted' AND coupon_id IS NOT NULL "
            "AND redeemed_at >= (date_trunc('day', to_timestamp($2::bigint / 1000.0) AT TIME ZONE $3) AT TIME ZONE $3) "
            "AND redeemed_at < ((date_trunc('day', to_timestamp($2::bigint / 1000.0) AT TIME ZONE $3) "
            "  + interval '1 day') AT TIME ZONE $3)");
  c.prepare("pos_card_member",
            "SELECT member_id FROM cards WHERE number = $1 AND status = 'active' "
            "ORDER BY issued_at DESC, member_id LIMIT 1");
  c.prepare("pos_lock_key", "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");
  // The write path in three statements (plus BEGIN and COMMIT) whatever the number of lines: round
  // trips, not rows, bound the ingest rate. First the key's lock and the card's member together
  // (cards are not guarded by the lock, so reading them in the same statement changes nothing).
  c.prepare("pos_lock_key_card",
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0)), "
            "(SELECT member_id FROM cards WHERE number = $2 AND status = 'active' "
            " ORDER BY issued_at DESC, member_id LIMIT 1)");
  // Then, under the lock (a new statement, so a new snapshot): the stored sale with this key, if any,
  // and only when there is none, the parked post-void of this sale taken ($7: not a post-void itself).
  c.prepare("pos_find_or_unpark",
            "WITH e AS (SELECT member_id, transaction_id, encode(content_hash, 'hex') AS h FROM transactions "
            "  WHERE org_id = $1 AND store_id = $2 AND workstation_id = $3 AND business_day = $4::date "
            "  AND sequence_no = $5), "
            "p AS (UPDATE quarantined_transactions SET reason = 'post-void applied' "
            "  WHERE $7 AND org_id = $1 AND store_id = $2 AND workstation_id = $3 AND business_day = $4::date "
            "  AND sequence_no = $5 AND reason = $6 AND NOT EXISTS (SELECT 1 FROM e) RETURNING 1) "
            "SELECT e.member_id, e.transaction_id, e.h, (SELECT count(*) FROM p) FROM (SELECT 1) one "
            "LEFT JOIN e ON true LIMIT 1");
  // Then the header, every line and the redemptions that need no coupon of ours, as arrays in one
  // statement.
  c.prepare("pos_insert_sale",
            "WITH t AS (INSERT INTO transactions (member_id, org_id, store_id, workstation_id, business_day, "
            "  sequence_no, occurred_at, card_number, content_hash, is_training, is_cancelled, is_suspended, "
            "  is_post_voided, total_minor, currency, source, raw_payload) "
            "  VALUES ($1, $2, $3, $4, $5::date, $6, to_timestamp($7::bigint / 1000.0), $8, decode($9, 'hex'), "
            "  $10, $11, $12, $13, $14, $15, $16, $17) RETURNING transaction_id), "
            "l AS (INSERT INTO transaction_lines (member_id, transaction_id, line_no, product_id, gtin, item_code, "
            "  quantity, unit_price_minor, amount_minor, discount_minor, is_return) "
            "  SELECT $1, t.transaction_id, x.n, (SELECT product_id FROM products WHERE gtin = x.g), x.g, x.code, "
            "  x.q::numeric / 1000, x.u, x.a, x.d, x.r "
            "  FROM t CROSS JOIN unnest($18::int[], $19::char(14)[], $20::text[], $21::bigint[], $22::bigint[], "
            "    $23::bigint[], $24::bigint[], $25::boolean[]) AS x(n, g, code, q, u, a, d, r) RETURNING 1), "
            "r AS (INSERT INTO redemptions (member_id, campaign_id, coupon_upc, transaction_id, store_id, redeemed_at, "
            "  amount_minor, status, note, promotion_id) "
            "  SELECT $1, (SELECT campaign_id FROM campaigns WHERE external_ref = y.o), y.c, t.transaction_id, $3, "
            "  to_timestamp($7::bigint / 1000.0), y.a, 'accepted', y.note, y.p "
            "  FROM t CROSS JOIN unnest($26::text[], $27::text[], $28::bigint[], $29::text[], $30::text[]) "
            "    WITH ORDINALITY AS y(o, c, a, note, p, i) ORDER BY y.i RETURNING 1) "
            "SELECT transaction_id, (SELECT count(*) FROM l), (SELECT count(*) FROM r) FROM t");
  // The batch in two statements and two COPYs. First every key's lock, in sorted order like every
  // writer, then the products of the batch's GTINs and the campaigns of its offer ids (one probe per
  // distinct value; neither is guarded by the locks, so reading them here changes nothing). UNION
  // ALL runs its branches in order: the locks are taken whatever else comes back.
  c.prepare("pos_batch_lock",
            "SELECT 0, NULL::text, count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM "
            "(SELECT k FROM unnest($1::text[]) k ORDER BY k) s "
            "UNION ALL SELECT 1, gtin::text, product_id FROM products WHERE gtin = ANY($2::char(14)[]) "
            "UNION ALL SELECT 2, external_ref, campaign_id FROM campaigns WHERE external_ref = ANY($3::text[])");
  // Then, under the locks (a new statement, so a new snapshot), everything else at once: each sale's
  // member by its card (k), the stored sale with its key, one index probe per key (e), the parked
  // post-voids of the new sales taken (p), the new sales' ids (n: nextval is volatile, so PostgreSQL
  // computes it after the ORDER BY and the ids follow the batch's order), and their headers. One row
  // per sale comes back: stored already (same hash or not, the card's member for a quarantine row) or
  // new (voided or not). Fewer statements matter more than their size: each one costs the database a
  // fixed start-up. The lines and rewards of the new sales, ten and more rows a sale, then go in by
  // COPY, which stores rows in multi-row inserts without a query per row. With the foreign keys'
  // per-row checks that saves the database little (POS.md, Figures), but the import gains a little
  // and the statement stays small.
  c.prepare("pos_batch_write",
            "WITH k AS MATERIALIZED (SELECT k.*, (SELECT member_id FROM cards WHERE number = k.card AND status = 'active' "
            "  ORDER BY issued_at DESC, member_id LIMIT 1) AS cm "
            "  FROM unnest($1::text[], $2::bigint[], $3::text[], $4::date[], $5::text[], $6::text[], $7::bigint[], "
            "    $8::bytea[], $9::bigint[], $10::char(3)[], $11::text[]) WITH ORDINALITY "
            "    AS k(org, store, ws, day, seq, card, at, hash, total, cur, src, i)), "
            "e AS MATERIALIZED (SELECT k.i, t.member_id, t.transaction_id, t.content_hash = k.hash AS same FROM k "
            "  CROSS JOIN LATERAL (SELECT member_id, transaction_id, content_hash FROM transactions "
            "  WHERE org_id = k.org AND store_id = k.store AND workstation_id = k.ws AND business_day = k.day "
            "  AND sequence_no = k.seq LIMIT 1) t), "
            "p AS (UPDATE quarantined_transactions q SET reason = 'post-void applied' FROM k "
            "  WHERE q.org_id = k.org AND q.store_id = k.store AND q.workstation_id = k.ws AND q.business_day = k.day "
            "  AND q.sequence_no = k.seq AND q.reason = $12 AND NOT EXISTS (SELECT 1 FROM e WHERE e.i = k.i) "
            "  RETURNING k.i), "
            "n AS MATERIALIZED (SELECT k.*, coalesce(k.cm, 0) AS m, nextval('transactions_transaction_id_seq') AS id, "
            "  EXISTS (SELECT 1 FROM p WHERE p.i = k.i) AS v FROM k WHERE NOT EXISTS (SELECT 1 FROM e WHERE e.i = k.i) "
            "  ORDER BY k.i), "
            "t AS (INSERT INTO transactions (member_id, transaction_id, org_id, store_id, workstation_id, "
            "  business_day, sequence_no, occurred_at, card_number, content_hash, is_post_voided, total_minor, "
            "  currency, source) "
            "  SELECT n.m, n.id, n.org, n.store, n.ws, n.day, n.seq, to_timestamp(n.at / 1000.0), "
            "  CASE WHEN n.cm IS NULL AND $13 THEN NULL ELSE n.card END, n.hash, n.v, n.total, n.cur, n.src FROM n) "
            "SELECT e.i, false, e.member_id, e.transaction_id, e.same, false, coalesce(k.cm, 0) FROM e JOIN k ON k.i = e.i "
            "UNION ALL SELECT n.i, true, n.m, n.id, false, n.v, n.m FROM n");
  c.prepare("pos_find_tx",
            "SELECT member_id, transaction_id, encode(content_hash, 'hex') FROM transactions "
            "WHERE org_id = $1 AND store_id = $2 AND workstation_id = $3 AND business_day = $4::date "
            "AND sequence_no = $5");
  c.prepare("pos_find_quarantine",
            "SELECT 1 FROM quarantined_transactions WHERE org_id = $1 AND store_id = $2 AND workstation_id = $3 "
            "AND business_day = $4::date AND sequence_no = $5 AND content_hash = decode($6, 'hex') AND reason = $7");
  c.prepare("pos_quarantine",
            "INSERT INTO quarantined_transactions (member_id, org_id, store_id, workstation_id, business_day, "
            "sequence_no, content_hash, reason, raw_payload) "
            "VALUES ($1, $2, $3, $4, $5::date, $6, decode($7, 'hex'), $8, $9)");
  // Single use in one statement: the coupon flips to redeemed only if still redeemable, and the
  // redemption row exists only if it flipped. Two lanes racing: one UPDATE waits for the other's row
  // lock, then finds the state changed and redeems nothing.
  c.prepare("pos_redeem_coupon",
            "WITH c AS (UPDATE coupons SET state = 'redeemed', redeemed_at = to_timestamp($3::bigint / 1000.0) "
            "  WHERE member_id = $1 AND code = $2 AND state IN ('issued', 'delivered') "
            "  AND valid_from <= to_timestamp($3::bigint / 1000.0) AND valid_to > to_timestamp($3::bigint / 1000.0) "
            "  AND (store_id IS NULL OR store_id = $5) RETURNING coupon_id, campaign_id) "
            "INSERT INTO redemptions (member_id, coupon_id, campaign_id, transaction_id, store_id, redeemed_at, "
            "amount_minor, status) SELECT $1, coupon_id, campaign_id, $4, $5, to_timestamp($3::bigint / 1000.0), $6, "
            "'accepted' FROM c RETURNING redemption_id");
  // Our coupon for this member, if it is one, and whether its campaign's per-member limit is used up
  // (counted under the member's lock, so two lanes cannot both take the last use).
  c.prepare("pos_coupon_campaign_used_up",
            "SELECT g.per_member_limit <= (SELECT count(*) FROM redemptions r WHERE r.member_id = $1 "
            "  AND r.campaign_id = g.campaign_id AND r.status = 'accepted') "
            "FROM coupons c JOIN campaigns g ON g.campaign_id = c.campaign_id WHERE c.member_id = $1 AND c.code = $2");
  c.prepare("pos_insert_redemption",
            "INSERT INTO redemptions (member_id, campaign_id, coupon_upc, transaction_id, store_id, redeemed_at, "
            "amount_minor, status, note, promotion_id) VALUES ($1, (SELECT campaign_id FROM campaigns WHERE external_ref = $2), "
            "$3, $4, $5, to_timestamp($6::bigint / 1000.0), $7, $8, $9, $10)");
  c.prepare("pos_void_tx",
            "UPDATE transactions SET is_post_voided = true WHERE member_id = $1 AND transaction_id = $2");
  c.prepare("pos_void_coupons",
            "UPDATE coupons c SET state = CASE WHEN c.delivered_at IS NULL THEN 'issued' ELSE 'delivered' END, "
            "redeemed_at = NULL FROM redemptions r WHERE r.member_id = $1 AND r.transaction_id = $2 "
            "AND r.status = 'accepted' AND r.coupon_id IS NOT NULL AND c.member_id = r.member_id "
            "AND c.coupon_id = r.coupon_id AND c.state = 'redeemed'");
  c.prepare("pos_void_redemptions",
            "UPDATE redemptions SET status = 'reversed', note = coalesce(note || '; ', '') || 'post-voided' "
            "WHERE member_id = $1 AND transaction_id = $2 AND status = 'accepted'");
}

// A nullable text parameter (libpqxx 6 passes a null char pointer as SQL NULL).
const char* orNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

// A PostgreSQL array literal built by hand: libpqxx 6 has no array parameters. Elements are quoted
// (any text is safe: backslash and double quote escaped); std::nullopt is NULL.
class ArrayLiteral {
 public:
  void add(const std::optional<std::string>& v) {
    out_ += out_.size() > 1 ? "," : "";
    if (!v) {
      out_ += "NULL";
      return;
    }
    out_ += '"';
    for (char ch : *v) {
      if (ch == '"' || ch == '\\') out_ += '\\';
      out_ += ch;
    }
    out_ += '"';
  }
  void add(std::int64_t v) { add(std::optional<std::string>(std::to_string(v))); }
  void add(bool v) { add(std::optional<std::string>(v ? "t" : "f")); }
  std::string str() const { return out_ + "}"; }

 private:
  std::string out_ = "{";
};

std::optional<std::string> optional(const std::string& s) {
  return s.empty() ? std::nullopt : std::optional<std::string>(s);
}


std::string lockKey(const NaturalKey& k, std::int64_t storeId) {
  return "pos-tx/" + k.org + "/" + std::to_string(storeId) + "/" + k.workstation + "/" + k.businessDay + "/" +
         k.sequence;
}

struct Existing {
  std::int64_t memberId = 0;
  std::int64_t transactionId = 0;
  std::string hash;
};

std::optional<Existing> find(pqxx::work& tx, const NaturalKey& k, std::int64_t storeId) {
  const auto r = tx.exec_prepared("pos_find_tx", k.org, storeId, k.workstation, k.businessDay, k.sequence);
  if (r.empty()) return std::nullopt;
  return Existing{r[0][0].as<std::int64_t>(), r[0][1].as<std::int64_t>(), r[0][2].as<std::string>()};
}

}  // namespace

std::optional<StoreInfo> StoreCache::find(const std::string& org, const std::string& ref) const {
  std::lock_guard lock(mu_);
  if (auto it = stores_.find({org, ref}); it != stores_.end()) return it->second;
  return std::nullopt;
}

void StoreCache::put(const std::string& org, const std::string& ref, StoreInfo info) {
  std::lock_guard lock(mu_);
  stores_[{org, ref}] = std::move(info);
}

bool isDatabaseUnavailable(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) || dynamic_cast<const pqxx::in_doubt_error*>(&e)) return true;
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    // Class 08: connection exception; 57P01-57P03: admin shutdown, crash shutdown, cannot connect now.
    const std::string state = sql->sqlstate();
    return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
  }
  return false;
}

TransactionRepository::TransactionRepository(PgSession& session, std::shared_ptr<StoreCache> stores)
    : session_(session), stores_(std::move(stores)) {
  session_.onConnect(prepare);
}

std::size_t TransactionRepository::loadStores(const std::string& org) {
  return session_.run([&](pqxx::connection& c) {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_prepared("pos_store_all", org);
    for (const auto& row : r)
      stores_->put(org, row[0].as<std::string>(), StoreInfo{row[1].as<std::int64_t>(), row[2].as<std::string>()});
    return static_cast<std::size_t>(r.size());
  });
}

MemberCoupons TransactionRepository::activeCoupons(const CouponQuery& q) {
  return session_.run([&](pqxx::connection& c) {
    MemberCoupons out;
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_prepared("pos_swipe", q.card, q.storeId, q.nowMs, q.dayStartMs, q.dayEndMs, q.maxCoupons);
    for (const auto& row : r) {
      out.memberId = row[0].as<std::int64_t>();
      out.redeemedToday = row[1].as<std::int64_t>();
      if (row[2].is_null()) continue;  // a member without usable coupons
      ActiveCoupon a;
      a.code = row[2].as<std::string>();
      a.campaignId = row[3].as<std::int64_t>();
      if (!row[4].is_null()) a.valueMinor = row[4].as<std::int64_t>();
      if (!row[5].is_null()) a.productId = row[5].as<std::int64_t>();
      a.reason = row[6].as<std::string>();
      a.validToMs = row[7].as<std::int64_t>();
      out.coupons.push_back(std::move(a));
    }
    return out;
  });
}

std::optional<StoreInfo> TransactionRepository::findStore(const std::string& org, const std::string& ref) {
  if (auto s = stores_->find(org, ref)) return s;
  auto found = session_.run([&](pqxx::connection& c) -> std::optional<StoreInfo> {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_prepared("pos_store", org, ref);
    if (r.empty()) return std::nullopt;
    return StoreInfo{r[0][0].as<std::int64_t>(), r[0][1].as<std::string>()};
  });
  if (found) stores_->put(org, ref, *found);
  return found;
}

StoreInfo TransactionRepository::createStore(const std::string& org, const std::string& ref, const std::string& tz) {
  session_.run([&](pqxx::connection& c) {
    pqxx::work tx(c);
    tx.exec_prepared("pos_store_lock");  // max()+1 needs writers of stores serialized
    tx.exec_prepared("pos_store_create", org, ref, tz);
    tx.commit();
  });
  auto s = findStore(org, ref);
  if (!s) throw std::runtime_error("store " + org + "/" + ref + " vanished right after it was created");
  return *s;
}

std::optional<std::int64_t> TransactionRepository::memberForCard(const std::string& number) {
  return session_.run([&](pqxx::connection& c) -> std::optional<std::int64_t> {
    pqxx::read_transaction tx(c);
    const auto r = tx.exec_prepared("pos_card_member", number);
    if (r.empty()) return std::nullopt;
    return r[0][0].as<std::int64_t>();
  });
}

WriteResult TransactionRepository::write(const Transaction& t, std::int64_t storeId, const WriteOptions& options) {
  const std::string hash = contentHashHex(t);
  const std::string card = t.card ? t.card->str() : std::string();
  // The masked JSON is needed only for quarantine rows and header-only records: built on demand.
  std::optional<std::string> maskedJson;
  auto masked = [&]() -> const std::string& {
    if (!maskedJson) maskedJson = toJson(t, /*maskCard=*/true);
    return *maskedJson;
  };
  return session_.run([&](pqxx::connection& c) {
    WriteResult out;
    pqxx::work tx(c);
    // Lock the own key and, for a post-void, its original's key, always in the same order so a
    // post-void and its original arriving together cannot deadlock. The last lock comes with the
    // card's member in one statement.
    std::vector<std::string> keys{lockKey(t.key, storeId)};
    if (t.postVoidOf) keys.push_back(lockKey(*t.postVoidOf, storeId));
    std::sort(keys.begin(), keys.end());
    for (std::size_t i = 0; i + 1 < keys.size(); ++i) tx.exec_prepared("pos_lock_key", keys[i]);
    const auto locked = tx.exec_prepared1("pos_lock_key_card", keys.back(), orNull(card));

    std::int64_t member = 0;
    std::string storedCard = card;
    if (t.card) {
      if (!locked[1].is_null()) {
        member = locked[1].as<std::int64_t>();
      } else if (options.unknownCard == UnknownCardPolicy::AnonymousDropCard) {
        storedCard.clear();
      }
    }
    out.memberId = member;

    const auto found = tx.exec_prepared1("pos_find_or_unpark", t.key.org, storeId, t.key.workstation,
                                         t.key.businessDay, t.key.sequence, kParkedPostVoid, !t.postVoidOf);
    if (!found[0].is_null()) {
      out.transactionId = found[1].as<std::int64_t>();
      out.memberId = found[0].as<std::int64_t>();
      if (found[2].as<std::string>() == hash) {
        out.status = WriteResult::Status::Duplicate;
        return out;  // nothing to write; the work rolls back
      }
      out.status = WriteResult::Status::Conflict;
      const std::string reason = "same natural key, different content";
      if (tx.exec_prepared("pos_find_quarantine", t.key.org, storeId, t.key.workstation, t.key.businessDay,
                           t.key.sequence, hash, reason)
              .empty()) {
        tx.exec_prepared("pos_quarantine", member, t.key.org, storeId, t.key.workstation, t.key.businessDay,
                         t.key.sequence, hash, reason, masked());
      }
      tx.commit();
      return out;
    }

    // An original whose post-void came first arrives already voided: stored, never counted.
    const bool voided = found[3].as<std::int64_t>() > 0;
    out.arrivedVoided = voided;
    const bool counts = t.counts() && !voided;

    ArrayLiteral lineNo, gtin, code, qty, price, amount, discount, isReturn;
    if (counts || voided) {
      for (const auto& l : t.lines) {
        lineNo.add(std::int64_t{l.lineNo});
        gtin.add(l.gtin ? std::optional<std::string>(l.gtin->str()) : std::nullopt);
        // A PLU or in-house SKU is kept as the POS sent it; a GTIN's text adds nothing to the gtin column.
        code.add(l.gtin ? std::nullopt : optional(l.itemCode));
        qty.add(l.quantity.milli());
        price.add(l.unitPrice ? std::optional<std::string>(std::to_string(l.unitPrice->minor())) : std::nullopt);
        amount.add(l.amount.minor());
        discount.add(l.discount.minor());
        isReturn.add(l.isReturn);
      }
    }
    // Coupons that may be ours (a code, a known member) go one by one below: each is a single-use
    // redemption. Everything else the till granted is recorded as accepted, in the same statement.
    auto maybeOurs = [&](const Redemption& r) {
      return r.kind == Redemption::Kind::Coupon && !r.couponCode.empty() && member != 0;
    };
    ArrayLiteral offer, upc, value, note, promotion;
    int plain = 0;
    if (counts) {
      for (const auto& r : t.redemptions) {
        if (maybeOurs(r)) continue;
        offer.add(optional(r.offerId));
        upc.add(optional(r.couponCode));
        value.add(r.amount.minor());
        note.add(std::optional<std::string>(r.kind == Redemption::Kind::LoyaltyReward ? "loyalty reward"
                                                                                       : "external coupon"));
        promotion.add(optional(r.promotionId));
        ++plain;
      }
    }
    // Training, suspended, cancelled and post-void records keep their content only as masked JSON:
    // with no line or redemption rows, nothing downstream can count them by mistake.
    const auto txr = tx.exec_prepared1(
        "pos_insert_sale", member, t.key.org, storeId, t.key.workstation, t.key.businessDay, t.key.sequence,
        t.occurredAtMs, orNull(storedCard), hash, t.training, t.cancelled, t.suspended, voided,
        t.postVoidOf ? std::int64_t{0} : t.total.minor(), t.currency, t.source,
        counts ? nullptr : masked().c_str(), lineNo.str(), gtin.str(), code.str(), qty.str(), price.str(),
        amount.str(), discount.str(), isReturn.str(), offer.str(), upc.str(), value.str(), note.str(),
        promotion.str());
    out.transactionId = txr[0].as<std::int64_t>();
    out.lines = static_cast<int>(txr[1].as<std::int64_t>());
    out.redemptions = plain;

    if (counts) {
      bool memberLocked = false;
      for (const auto& r : t.redemptions) {
        if (!maybeOurs(r)) continue;
        // Two lanes redeeming different coupons of one member at once must not both pass a limit
        // (the campaign's per member, the daily one): the member's lock serializes them (taken after
        // the key locks, always last).
        if (!memberLocked) {
          tx.exec_prepared("pos_lock_key", "pos-member/" + std::to_string(member));
          memberLocked = true;
        }
        const auto ours = tx.exec_prepared("pos_coupon_campaign_used_up", member, r.couponCode);
        if (ours.empty()) {
          tx.exec_prepared("pos_insert_redemption", member, orNull(r.offerId), r.couponCode, out.transactionId,
                           storeId, t.occurredAtMs, r.amount.minor(), "accepted", "external coupon",
                           orNull(r.promotionId));
          ++out.redemptions;
          continue;
        }
        if (ours[0][0].as<bool>()) {
          // The till granted it; the coupon stays as it was (the swipe no longer offers it).
          tx.exec_prepared("pos_insert_redemption", member, orNull(r.offerId), r.couponCode, out.transactionId,
                           storeId, t.occurredAtMs, r.amount.minor(), "exception",
                           "campaign limit per member reached", orNull(r.promotionId));
          ++out.redemptionExceptions;
          continue;
        }
        if (options.redemptionsPerMemberPerDay > 0) {
          const auto used = tx.exec_prepared1("pos_member_day_count", member, t.occurredAtMs, options.storeTimeZone);
          if (used[0].as<std::int64_t>() >= options.redemptionsPerMemberPerDay) {
            tx.exec_prepared("pos_insert_redemption", member, orNull(r.offerId), r.couponCode, out.transactionId,
                             storeId, t.occurredAtMs, r.amount.minor(), "exception",
                             "daily redemption limit reached", orNull(r.promotionId));
            ++out.redemptionExceptions;
            continue;
          }
        }
        const auto red = tx.exec_prepared("pos_redeem_coupon", member, r.couponCode, t.occurredAtMs,
                                          out.transactionId, storeId, r.amount.minor());
        if (!red.empty()) {
          ++out.redemptions;
          continue;
        }
        // Already redeemed, expired or for another store: the sale stands, settlement looks at it.
        tx.exec_prepared("pos_insert_redemption", member, orNull(r.offerId), r.couponCode, out.transactionId,
                         storeId, t.occurredAtMs, r.amount.minor(), "exception",
                         "coupon not redeemable (used, expired or other store)", orNull(r.promotionId));
        ++out.redemptionExceptions;
      }
    }

    if (t.postVoidOf) {
      if (auto original = find(tx, *t.postVoidOf, storeId)) {
        tx.exec_prepared("pos_void_tx", original->memberId, original->transactionId);
        tx.exec_prepared("pos_void_coupons", original->memberId, original->transactionId);
        tx.exec_prepared("pos_void_redemptions", original->memberId, original->transactionId);
        out.originalReversed = true;
      } else {
        const auto& k = *t.postVoidOf;
        tx.exec_prepared("pos_quarantine", member, k.org, storeId, k.workstation, k.businessDay, k.sequence, hash,
                         kParkedPostVoid, masked());
        out.parked = true;
      }
    }
    tx.commit();
    return out;
  });
}

bool TransactionRepository::batchable(const Transaction& t) {
  if (!t.counts()) return false;
  for (const auto& r : t.redemptions)
    if (r.kind == Redemption::Kind::Coupon && !r.couponCode.empty()) return false;
  return true;
}

namespace {

// Bounds the GTIN cache of a repository (a big store sells tens of thousands of products).
constexpr std::size_t kMaxCachedProducts = 1'000'000;

// What the lock statement of a batch looked up: products by GTIN, campaigns by offer id.
struct BatchReferences {
  std::unordered_map<std::string, std::int64_t> productOf;
  std::unordered_map<std::string, std::int64_t> campaignOf;
};

std::string distinctArray(std::vector<std::string>& values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  ArrayLiteral a;
  for (const auto& v : values) a.add(std::optional<std::string>(v));
  return a.str();
}

// The lines of the batch's new sales, by COPY (see pos_batch_write). Text format: a null pointer
// is NULL; every other field is digits, a GTIN, or the POS's item code, which COPY escapes.
void copyLines(pqxx::work& tx, const std::vector<TransactionRepository::BatchItem>& items,
               const std::vector<WriteResult>& out, const std::vector<std::size_t>& inserted,
               const BatchReferences& refs) {
  pqxx::stream_to s(tx, "transaction_lines",
                    std::vector<std::string>{"member_id", "transaction_id", "line_no", "product_id", "gtin",
                                             "item_code", "quantity", "unit_price_minor", "amount_minor",
                                             "discount_minor", "is_return"});
  std::string gtin, product, unitPrice, quantity;
  for (const std::size_t i : inserted) {
    for (const auto& l : items[i].transaction->lines) {
      const char* productField = nullptr;
      const char* gtinField = nullptr;
      const char* itemCode = nullptr;
      if (l.gtin) {
        gtin = l.gtin->str();
        gtinField = gtin.c_str();
        if (auto p = refs.productOf.find(gtin); p != refs.productOf.end()) {
          product = std::to_string(p->second);
          productField = product.c_str();
        }
      } else {
        itemCode = orNull(l.itemCode);
      }
      const char* unitPriceField = nullptr;
      if (l.unitPrice) {
        unitPrice = std::to_string(l.unitPrice->minor());
        unitPriceField = unitPrice.c_str();
      }
      quantity = l.quantity.str();
      s << std::make_tuple(out[i].memberId, out[i].transactionId, l.lineNo, productField, gtinField, itemCode,
                           quantity.c_str(), unitPriceField, l.amount.minor(), l.discount.minor(),
                           l.isReturn ? "t" : "f");
    }
  }
  s.complete();
}

// The rewards and external coupons of the batch's new sales, by COPY, in the batch's order (the
// redemption ids follow it). An original whose post-void came first gets none.
void copyRewards(pqxx::work& tx, const std::vector<TransactionRepository::BatchItem>& items,
                 const std::vector<WriteResult>& out, const std::vector<std::size_t>& inserted,
                 const BatchReferences& refs) {
  bool any = false;
  for (const std::size_t i : inserted) any = any || (!out[i].arrivedVoided && !items[i].transaction->redemptions.empty());
  if (!any) return;
  pqxx::stream_to s(tx, "redemptions",
                    std::vector<std::string>{"member_id", "campaign_id", "coupon_upc", "transaction_id", "store_id",
                                             "redeemed_at", "amount_minor", "status", "note", "promotion_id"});
  std::string campaign;
  for (const std::size_t i : inserted) {
    if (out[i].arrivedVoided) continue;
    const Transaction& t = *items[i].transaction;
    const std::string at = pgTimestampUtc(t.occurredAtMs);
    for (const auto& r : t.redemptions) {
      const char* campaignField = nullptr;
      if (auto c = refs.campaignOf.find(r.offerId); !r.offerId.empty() && c != refs.campaignOf.end()) {
        campaign = std::to_string(c->second);
        campaignField = campaign.c_str();
      }
      s << std::make_tuple(out[i].memberId, campaignField, orNull(r.couponCode), out[i].transactionId,
                           items[i].storeId, at.c_str(), r.amount.minor(), "accepted",
                           r.kind == Redemption::Kind::LoyaltyReward ? "loyalty reward" : "external coupon",
                           orNull(r.promotionId));
    }
  }
  s.complete();
}

}  // namespace

std::vector<WriteResult> TransactionRepository::writeBatch(const std::vector<BatchItem>& items,
                                                           const WriteOptions& options) {
  const std::size_t n = items.size();
  std::vector<std::string> hashes(n);
  for (std::size_t i = 0; i < n; ++i) hashes[i] = contentHashHex(*items[i].transaction);
  return session_.run([&](pqxx::connection& c) {
    std::vector<WriteResult> out(n);
    pqxx::work tx(c);
    ArrayLiteral locks, org, store, ws, day, seq, card, at, hash, total, cur, src;
    std::vector<std::string> gtins, offers;
    for (std::size_t i = 0; i < n; ++i) {
      const Transaction& t = *items[i].transaction;
      locks.add(std::optional<std::string>(lockKey(t.key, items[i].storeId)));
      org.add(std::optional<std::string>(t.key.org));
      store.add(items[i].storeId);
      ws.add(std::optional<std::string>(t.key.workstation));
      day.add(std::optional<std::string>(t.key.businessDay));
      seq.add(std::optional<std::string>(t.key.sequence));
      card.add(t.card ? std::optional<std::string>(t.card->str()) : std::nullopt);
      at.add(t.occurredAtMs);
      hash.add(std::optional<std::string>("\\x" + hashes[i]));
      total.add(t.total.minor());
      cur.add(std::optional<std::string>(t.currency));
      src.add(std::optional<std::string>(t.source));
      for (const auto& l : t.lines) {
        if (l.gtin) gtins.push_back(l.gtin->str());
      }
      for (const auto& r : t.redemptions) {
        if (!r.offerId.empty()) offers.push_back(r.offerId);
      }
    }
    BatchReferences refs;
    std::vector<std::string> unknownGtins;
    for (auto& g : gtins) {
      if (auto p = productOfGtin_.find(g); p != productOfGtin_.end()) {
        refs.productOf.emplace(g, p->second);
      } else {
        unknownGtins.push_back(std::move(g));
      }
    }
    for (const auto& row :
         tx.exec_prepared("pos_batch_lock", locks.str(), distinctArray(unknownGtins), distinctArray(offers))) {
      const int kind = row[0].as<int>();
      if (kind == 1) refs.productOf.emplace(row[1].as<std::string>(), row[2].as<std::int64_t>());
      if (kind == 2) refs.campaignOf.emplace(row[1].as<std::string>(), row[2].as<std::int64_t>());
    }
    if (productOfGtin_.size() + refs.productOf.size() > kMaxCachedProducts) productOfGtin_.clear();
    productOfGtin_.insert(refs.productOf.begin(), refs.productOf.end());
    const bool dropUnknownCard = options.unknownCard == UnknownCardPolicy::AnonymousDropCard;
    std::vector<std::int64_t> cardMember(n, 0);
    std::vector<std::size_t> inserted;
    for (const auto& row : tx.exec_prepared("pos_batch_write", org.str(), store.str(), ws.str(), day.str(), seq.str(),
                                            card.str(), at.str(), hash.str(), total.str(), cur.str(), src.str(),
                                            kParkedPostVoid, dropUnknownCard)) {
      const auto i = row[0].as<std::size_t>() - 1;
      const Transaction& t = *items[i].transaction;
      WriteResult& w = out[i];
      w.memberId = row[2].as<std::int64_t>();
      w.transactionId = row[3].as<std::int64_t>();
      cardMember[i] = row[6].as<std::int64_t>();
      if (!row[1].as<bool>()) {
        w.status = row[4].as<bool>() ? WriteResult::Status::Duplicate : WriteResult::Status::Conflict;
        continue;
      }
      inserted.push_back(i);
      w.status = WriteResult::Status::Inserted;
      w.arrivedVoided = row[5].as<bool>();
      w.lines = static_cast<int>(t.lines.size());
      // An original whose post-void came first is stored with its lines, but its rewards never count.
      if (!w.arrivedVoided) w.redemptions = static_cast<int>(t.redemptions.size());
    }
    std::sort(inserted.begin(), inserted.end());  // the batch's order, as the ids were handed out
    bool anyWrite = !inserted.empty();
    if (anyWrite) {
      copyLines(tx, items, out, inserted, refs);
      copyRewards(tx, items, out, inserted, refs);
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (out[i].status != WriteResult::Status::Conflict) continue;
      const Transaction& t = *items[i].transaction;
      const std::string reason = "same natural key, different content";
      if (tx.exec_prepared("pos_find_quarantine", t.key.org, items[i].storeId, t.key.workstation, t.key.businessDay,
                           t.key.sequence, hashes[i], reason)
              .empty()) {
        tx.exec_prepared("pos_quarantine", cardMember[i], t.key.org, items[i].storeId, t.key.workstation,
                         t.key.businessDay, t.key.sequence, hashes[i], reason, toJson(t, /*maskCard=*/true));
      }
      anyWrite = true;
    }
    if (anyWrite) tx.commit();
    return out;
  });
}

}  // namespace aisle::pos
