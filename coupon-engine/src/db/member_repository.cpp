#include "db/member_repository.h"

namespace aisle::engine {

std::map<std::string, std::int64_t> MemberRepository::erase(pqxx::transaction_base& tx, std::int64_t memberId) {
  std::map<std::string, std::int64_t> n;
  if (memberId == 0) return n;  // the anonymous member holds everyone's anonymized sales
  // Serialize with a concurrent erase or insert for the same member.
  tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('member'), hashtext($1::text))", memberId);
  n["transactions (anonymized)"] = tx.exec_params(
      "WITH moved AS (DELETE FROM transactions WHERE member_id = $1 RETURNING *), "
      "lines AS (DELETE FROM transaction_lines WHERE member_id = $1 RETURNING *), "
      "t AS (INSERT INTO transactions (member_id, transaction_id, org_id, store_id, workstation_id, business_day, "
      " sequence_no, occurred_at, card_number, content_hash, is_training, is_cancelled, is_suspended, is_post_voided, "
      " total_minor, currency, source, raw_payload, received_at) "
      " SELECT 0, transaction_id, org_id, store_id, workstation_id, business_day, sequence_no, occurred_at, NULL, "
      " content_hash, is_training, is_cancelled, is_suspended, is_post_voided, total_minor, currency, source, NULL, "
      " received_at FROM moved ON CONFLICT DO NOTHING RETURNING 1), "
      "l AS (INSERT INTO transaction_lines SELECT 0, transaction_id, line_no, product_id, gtin, item_code, quantity, "
      " unit_price_minor, amount_minor, discount_minor, coupon_discount_minor, is_voided, is_return FROM lines "
      " WHERE EXISTS (SELECT 1 FROM t) ON CONFLICT DO NOTHING RETURNING 1) "
      "SELECT (SELECT count(*) FROM moved) + 0 * (SELECT count(*) FROM l)", memberId)[0][0].as<std::int64_t>();
  // Children before parents; the list is every member-owned table of the schema (a pg test checks it).
  static const char* const kTables[] = {
      "proximity_events", "trigger_decisions", "outbox", "redemptions", "coupons", "campaign_members",
      "member_product_models", "member_category_models", "member_profiles", "quarantined_transactions",
      "consents", "devices", "cards", "members"};
  for (const char* t : kTables) {
    n[t] = static_cast<std::int64_t>(
        tx.exec_params(std::string("DELETE FROM ") + t + " WHERE member_id = $1", memberId).affected_rows());
  }
  return n;
}

}  // namespace aisle::engine
