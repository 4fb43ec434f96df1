#pragma once
// Real-time proximity triggers: given one zone event and everything known about the member at that
// moment, decide whether to push an offer, and say why in every case (including why not). Pure: the
// caller loads consents, caps and candidate offers, converts the time to store-local minutes, and
// writes the decision (and the outbox row) in one transaction.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace aisle::engine {

enum class ZoneEventType { Enter, Dwell, Exit, Sighting };
const char* zoneEventTypeName(ZoneEventType t);
bool parseZoneEventType(const std::string& s, ZoneEventType& out);

struct TriggerEvent {
  std::string eventId;
  ZoneEventType type = ZoneEventType::Enter;
  std::int64_t memberId = 0;
  std::int64_t storeId = 0;
  std::optional<std::int64_t> zoneId;        // none for a store-level sighting
  std::set<std::int64_t> zoneCategories;     // product categories shelved in that zone
  int localMinuteOfDay = 0;                  // store-local time, 0..1439
};

struct MemberState {
  bool proximityConsent = false;
  bool pushConsent = false;
  bool hasPushTarget = false;                // a device token or an open wallet stream
  int pushesToday = 0;                       // store-local day
  int pushesThisVisit = 0;
  std::set<std::int64_t> zonesPushedThisVisit;
  std::set<std::int64_t> productsBoughtThisVisit;  // reported by the POS during this visit
  std::set<std::int64_t> couponsPushedRecently;    // never push the same coupon twice in a row
};

struct CandidateOffer {
  std::int64_t couponId = 0;
  std::optional<std::int64_t> productId;
  std::optional<std::int64_t> categoryId;
  double score = 0;           // probability of purchase x value, from the batch models
  bool dueReplenishment = false;
  std::string reason;         // the coupon's own reason text, shown to the shopper
  std::string code;           // the coupon's code, for the push payload
};

struct TriggerPolicy {
  int maxPerZonePerVisit = 1;
  int maxPerVisit = 3;
  int maxPerDay = 5;
  int quietStartMinute = 21 * 60;  // quiet from 21:00 ...
  int quietEndMinute = 8 * 60;     // ... to 08:00 store-local time (wraps midnight)
};

struct TriggerDecision {
  bool push = false;
  std::optional<CandidateOffer> offer;
  std::string reason;  // always set: logged with the decision
};

bool inQuietHours(int minuteOfDay, const TriggerPolicy& p);

TriggerDecision decideTrigger(const TriggerEvent& event, const MemberState& member,
                              const std::vector<CandidateOffer>& candidates, const TriggerPolicy& policy);

}  // namespace aisle::engine
