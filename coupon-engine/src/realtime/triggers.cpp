#include "aisle/engine/triggers.h"

namespace aisle::engine {

const char* zoneEventTypeName(ZoneEventType t) {
  switch (t) {
    case ZoneEventType::Enter: return "enter";
    case ZoneEventType::Dwell: return "dwell";
    case ZoneEventType::Exit: return "exit";
    case ZoneEventType::Sighting: return "sighting";
  }
  return "?";
}

bool parseZoneEventType(const std::string& s, ZoneEventType& out) {
  if (s == "enter") out = ZoneEventType::Enter;
  else if (s == "dwell") out = ZoneEventType::Dwell;
  else if (s == "exit") out = ZoneEventType::Exit;
  else if (s == "sighting") out = ZoneEventType::Sighting;
  else return false;
  return true;
}

bool inQuietHours(int minute, const TriggerPolicy& p) {
  if (p.quietStartMinute == p.quietEndMinute) return false;  // no quiet hours configured
  if (p.quietStartMinute < p.quietEndMinute) return minute >= p.quietStartMinute && minute < p.quietEndMinute;
  return minute >= p.quietStartMinute || minute < p.quietEndMinute;  // wraps midnight
}

namespace {

TriggerDecision none(std::string why) { return TriggerDecision{false, std::nullopt, std::move(why)}; }

// Higher score first; on a tie a due replenishment beats plain affinity, then the lower coupon id
// so the choice is deterministic.
bool better(const CandidateOffer& a, const CandidateOffer& b) {
  if (a.score != b.score) return a.score > b.score;
  if (a.dueReplenishment != b.dueReplenishment) return a.dueReplenishment;
  return a.couponId < b.couponId;
}

}  // namespace

TriggerDecision decideTrigger(const TriggerEvent& e, const MemberState& m,
                              const std::vector<CandidateOffer>& candidates, const TriggerPolicy& p) {
  // Consent first: without it nothing else about the member may be used.
  if (!m.proximityConsent) return none("no proximity consent");
  if (!m.pushConsent) return none("no push consent");
  if (e.type == ZoneEventType::Exit) return none("exit events never push");
  if (!m.hasPushTarget) return none("no device or wallet stream to push to");
  if (inQuietHours(e.localMinuteOfDay, p)) return none("quiet hours in the store's time zone");
  if (m.pushesToday >= p.maxPerDay) return none("daily cap reached (" + std::to_string(p.maxPerDay) + ")");
  if (m.pushesThisVisit >= p.maxPerVisit) return none("visit cap reached (" + std::to_string(p.maxPerVisit) + ")");
  const bool zoneEvent = e.type == ZoneEventType::Dwell && e.zoneId.has_value();
  if (zoneEvent && p.maxPerZonePerVisit > 0 && m.zonesPushedThisVisit.count(*e.zoneId) >= static_cast<std::size_t>(p.maxPerZonePerVisit)) {
    return none("already pushed in this zone during this visit");
  }

  const CandidateOffer* best = nullptr;
  int skippedBought = 0;
  for (const auto& c : candidates) {
    if (m.couponsPushedRecently.count(c.couponId)) continue;
    if (zoneEvent) {
      // A dwell is about this aisle: only offers for the categories shelved here.
      if (!c.categoryId || !e.zoneCategories.count(*c.categoryId)) continue;
      if (c.productId && m.productsBoughtThisVisit.count(*c.productId)) {
        ++skippedBought;
        continue;
      }
    }
    if (!best || better(c, *best)) best = &c;
  }
  if (!best) {
    if (skippedBought > 0) return none("the zone's offers are for items already bought in this visit");
    return none(zoneEvent ? "no active offer for this zone's categories" : "no active coupon to push");
  }
  std::string why = e.type == ZoneEventType::Enter ? "store entry: best active coupon"
                                                   : std::string(zoneEventTypeName(e.type)) + ": best offer for this zone";
  if (best->dueReplenishment) why += " (due replenishment)";
  return TriggerDecision{true, *best, why};
}

}  // namespace aisle::engine
