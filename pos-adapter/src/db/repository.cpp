#include "aisle/pos/repository.h"

#include <algorithm>
#include <vector>

namespace aisle::pos {
namespace {

constexpr const char* kParkedPostVoid = "parked post-void";

// Statements are prepared once per connection (PgSession replays this after a reconnect).
void prepare(pqxx::connection& c) {
  c.prepare("pos_store", "SELECT store_id, time_zone FROM stores WHERE org_id = $1 AND external_ref = $2");
  c.prepare("pos_store_lock", "SELECT pg_advisory_xact_lock(hashtextextended('stores', 0))");
  c.prepare("pos_store_create",
            "INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) "
            "SELECT COALESCE(max(store_id), 0) + 1, $1, $2, 'store ' || $2, $3 FROM stores "
            "ON CONFLICT (org_id, external_ref) DO NOTHING RETURNING store_id");
  c.prepare("pos_store_all", "SELECT external_ref, store_id, time_zone FROM stores WHERE org_id = $1 AND external_ref IS NOT NULL");
  // The swipe lookup in one round trip: the card's member, how many of our coupons they redeemed in
  // the store's day, and their usable coupons (cards_number, then coupons_active by member).
  c.prepare("pos_swipe",
            "WITH m AS (SELECT member_id FROM cards WHERE number = $1 AND status = 'active' "
            "  ORDER BY issued_at DESC, member_id LIMIT 1), "
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
  c.prepare("pos_take_parked",
            "UPDATE quarantined_transactions SET reason = 'post-void applied' "
            "WHERE org_id = $1 AND store_id = $2 AND workstation_id = $3 AND business_day = $4::date "
            "AND sequence_no = $5 AND reason = $6 RETURNING quarantine_id");
  c.prepare("pos_insert_tx",
            "INSERT INTO transactions (member_id, org_id, store_id, workstation_id, business_day, sequence_no, "
            "occurred_at, card_number, content_hash, is_training, is_cancelled, is_suspended, is_post_voided, "
            "total_minor, currency, source, raw_payload) "
            "VALUES ($1, $2, $3, $4, $5::date, $6, to_timestamp($7::bigint / 1000.0), $8, decode($9, 'hex'), "
            "$10, $11, $12, $13, $14, $15, $16, $17) RETURNING transaction_id");
  c.prepare("pos_insert_line",
            "INSERT INTO transaction_lines (member_id, transaction_id, line_no, product_id, gtin, item_code, quantity, "
            "unit_price_minor, amount_minor, discount_minor, is_return) "
            "VALUES ($1, $2, $3, (SELECT product_id FROM products WHERE gtin = $4), $4, $10, $5::numeric / 1000, "
            "$6, $7, $8, $9)");
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
  c.prepare("pos_coupon_exists", "SELECT 1 FROM coupons WHERE member_id = $1 AND code = $2");
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
  return session_.run([&](pqxx::connection& c) {
    WriteResult out;
    pqxx::work tx(c);
    // Lock the own key and, for a post-void, its original's key, always in the same order so a
    // post-void and its original arriving together cannot deadlock.
    std::vector<std::string> keys{lockKey(t.key, storeId)};
    if (t.postVoidOf) keys.push_back(lockKey(*t.postVoidOf, storeId));
    std::sort(keys.begin(), keys.end());
    for (const auto& k : keys) tx.exec_prepared("pos_lock_key", k);

    std::int64_t member = 0;
    std::string card = t.card ? t.card->str() : std::string();
    if (t.card) {
      const auto r = tx.exec_prepared("pos_card_member", card);
      if (!r.empty()) {
        member = r[0][0].as<std::int64_t>();
      } else if (options.unknownCard == UnknownCardPolicy::AnonymousDropCard) {
        card.clear();
      }
    }
    out.memberId = member;
    const std::string masked = toJson(t, /*maskCard=*/true);

    if (auto existing = find(tx, t.key, storeId)) {
      out.transactionId = existing->transactionId;
      out.memberId = existing->memberId;
      if (existing->hash == hash) {
        out.status = WriteResult::Status::Duplicate;
        return out;  // nothing to write; the work rolls back
      }
      out.status = WriteResult::Status::Conflict;
      const std::string reason = "same natural key, different content";
      if (tx.exec_prepared("pos_find_quarantine", t.key.org, storeId, t.key.workstation, t.key.businessDay,
                           t.key.sequence, hash, reason)
              .empty()) {
        tx.exec_prepared("pos_quarantine", member, t.key.org, storeId, t.key.workstation, t.key.businessDay,
                         t.key.sequence, hash, reason, masked);
      }
      tx.commit();
      return out;
    }

    // An original whose post-void came first arrives already voided: stored, never counted.
    bool voided = false;
    if (!t.postVoidOf) {
      voided = !tx.exec_prepared("pos_take_parked", t.key.org, storeId, t.key.workstation, t.key.businessDay,
                                 t.key.sequence, kParkedPostVoid)
                    .empty();
      out.arrivedVoided = voided;
    }
    const bool counts = t.counts() && !voided;
    // Training, suspended, cancelled and post-void records keep their content only as masked JSON:
    // with no line or redemption rows, nothing downstream can count them by mistake.
    const auto txr = tx.exec_prepared1(
        "pos_insert_tx", member, t.key.org, storeId, t.key.workstation, t.key.businessDay, t.key.sequence,
        t.occurredAtMs, orNull(card), hash, t.training, t.cancelled, t.suspended, voided,
        t.postVoidOf ? std::int64_t{0} : t.total.minor(), t.currency, t.source, counts ? nullptr : masked.c_str());
    out.transactionId = txr[0].as<std::int64_t>();

    if (counts || voided) {
      for (const auto& l : t.lines) {
        const std::string gtin = l.gtin ? l.gtin->str() : std::string();
        const std::string price = l.unitPrice ? std::to_string(l.unitPrice->minor()) : std::string();
        // A PLU or in-house SKU is kept as the POS sent it; a GTIN's text adds nothing to the gtin column.
        const std::string code = l.gtin ? std::string() : l.itemCode;
        tx.exec_prepared("pos_insert_line", member, out.transactionId, l.lineNo, orNull(gtin), l.quantity.milli(),
                         orNull(price), l.amount.minor(), l.discount.minor(), l.isReturn, orNull(code));
        ++out.lines;
      }
    }
    if (counts) {
      bool memberLocked = false;
      for (const auto& r : t.redemptions) {
        if (r.kind == Redemption::Kind::Coupon && !r.couponCode.empty() && member != 0 &&
            !tx.exec_prepared("pos_coupon_exists", member, r.couponCode).empty()) {
          if (options.redemptionsPerMemberPerDay > 0) {
            // Two lanes redeeming different coupons of one member at once must not both pass the
            // count: the member's lock serializes them (taken after the key locks, always last).
            if (!memberLocked) {
              tx.exec_prepared("pos_lock_key", "pos-member/" + std::to_string(member));
              memberLocked = true;
            }
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
          continue;
        }
        const std::string note = r.kind == Redemption::Kind::LoyaltyReward ? "loyalty reward" : "external coupon";
        tx.exec_prepared("pos_insert_redemption", member, orNull(r.offerId), orNull(r.couponCode), out.transactionId,
                         storeId, t.occurredAtMs, r.amount.minor(), "accepted", note, orNull(r.promotionId));
        ++out.redemptions;
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
                         kParkedPostVoid, masked);
        out.parked = true;
      }
    }
    tx.commit();
    return out;
  });
}

}  // namespace aisle::pos
