#pragma once
#include <pqxx/pqxx>

#include <cstdint>
#include <map>
#include <string>

namespace aisle::engine {

// Right to erasure. Purchases stay as anonymous sales (member 0, card number and raw payload
// removed) so store accounting still adds up; everything else keyed by the member is deleted:
// cards, consents, devices and their keys, events, decisions, outbox, coupons, redemptions, models.
class MemberRepository {
 public:
  // Rows removed (or anonymized) per table; an unknown member erases nothing.
  static std::map<std::string, std::int64_t> erase(pqxx::transaction_base& tx, std::int64_t memberId);
};

}  // namespace aisle::engine
