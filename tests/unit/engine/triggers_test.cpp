#include "aisle/engine/triggers.h"

#include <gtest/gtest.h>

namespace aisle::engine {
namespace {

MemberState consenting() {
  MemberState m;
  m.proximityConsent = true;
  m.pushConsent = true;
  m.hasPushTarget = true;
  return m;
}

TriggerEvent at(ZoneEventType type, std::optional<std::int64_t> zone = std::nullopt) {
  TriggerEvent e;
  e.eventId = "e1";
  e.type = type;
  e.memberId = 7;
  e.storeId = 1;
  e.zoneId = zone;
  e.zoneCategories = {10, 11};
  e.localMinuteOfDay = 14 * 60;
  return e;
}

CandidateOffer offer(std::int64_t coupon, double score, std::int64_t category, std::int64_t product = 0) {
  CandidateOffer c;
  c.couponId = coupon;
  c.score = score;
  c.categoryId = category;
  if (product) c.productId = product;
  return c;
}

}  // namespace

TEST(Triggers, StoreEntryPushesTheBestActiveCoupon) {
  auto d = decideTrigger(at(ZoneEventType::Enter), consenting(), {offer(1, 0.2, 99), offer(2, 0.5, 98)}, {});
  ASSERT_TRUE(d.push);
  EXPECT_EQ(d.offer->couponId, 2);
  EXPECT_EQ(d.reason, "store entry: best active coupon");
}

TEST(Triggers, NothingIsSentWithoutProximityOrPushConsent) {
  auto m = consenting();
  m.proximityConsent = false;
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Enter), m, {offer(1, 1, 10)}, {}).reason, "no proximity consent");
  m = consenting();
  m.pushConsent = false;
  auto d = decideTrigger(at(ZoneEventType::Enter), m, {offer(1, 1, 10)}, {});
  EXPECT_FALSE(d.push);
  EXPECT_EQ(d.reason, "no push consent");
}

TEST(Triggers, DwellPicksOnlyOffersForTheZonesCategories) {
  auto d = decideTrigger(at(ZoneEventType::Dwell, 5), consenting(), {offer(1, 0.9, 99), offer(2, 0.3, 11)}, {});
  ASSERT_TRUE(d.push);
  EXPECT_EQ(d.offer->couponId, 2);
  auto none = decideTrigger(at(ZoneEventType::Dwell, 5), consenting(), {offer(1, 0.9, 99)}, {});
  EXPECT_FALSE(none.push);
  EXPECT_EQ(none.reason, "no active offer for this zone's categories");
}

TEST(Triggers, DwellSkipsItemsAlreadyBoughtInThisVisit) {
  auto m = consenting();
  m.productsBoughtThisVisit = {500};
  auto d = decideTrigger(at(ZoneEventType::Dwell, 5), m, {offer(1, 0.9, 10, 500), offer(2, 0.1, 10, 501)}, {});
  ASSERT_TRUE(d.push);
  EXPECT_EQ(d.offer->couponId, 2);
  auto none = decideTrigger(at(ZoneEventType::Dwell, 5), m, {offer(1, 0.9, 10, 500)}, {});
  EXPECT_EQ(none.reason, "the zone's offers are for items already bought in this visit");
}

TEST(Triggers, FrequencyCapsStopPushesPerZoneVisitAndDay) {
  TriggerPolicy p;  // defaults: 1 per zone per visit, 3 per visit, 5 per day
  auto m = consenting();
  m.zonesPushedThisVisit = {5};
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Dwell, 5), m, {offer(1, 1, 10)}, p).reason,
            "already pushed in this zone during this visit");
  EXPECT_TRUE(decideTrigger(at(ZoneEventType::Dwell, 6), m, {offer(1, 1, 10)}, p).push);
  m.pushesThisVisit = 3;
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Dwell, 6), m, {offer(1, 1, 10)}, p).reason, "visit cap reached (3)");
  m.pushesThisVisit = 0;
  m.pushesToday = 5;
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Enter), m, {offer(1, 1, 10)}, p).reason, "daily cap reached (5)");
}

TEST(Triggers, QuietHoursWrapAroundMidnightInStoreTime) {
  TriggerPolicy p;
  EXPECT_TRUE(inQuietHours(22 * 60, p));
  EXPECT_TRUE(inQuietHours(7 * 60 + 59, p));
  EXPECT_FALSE(inQuietHours(8 * 60, p));
  auto e = at(ZoneEventType::Enter);
  e.localMinuteOfDay = 23 * 60;
  EXPECT_EQ(decideTrigger(e, consenting(), {offer(1, 1, 10)}, p).reason, "quiet hours in the store's time zone");
  p.quietStartMinute = p.quietEndMinute = 0;
  EXPECT_TRUE(decideTrigger(e, consenting(), {offer(1, 1, 10)}, p).push);
}

TEST(Triggers, ExitEventsAndMembersWithoutADeviceNeverPush) {
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Exit, 5), consenting(), {offer(1, 1, 10)}, {}).reason,
            "exit events never push");
  auto m = consenting();
  m.hasPushTarget = false;
  EXPECT_FALSE(decideTrigger(at(ZoneEventType::Enter), m, {offer(1, 1, 10)}, {}).push);
}

TEST(Triggers, ACouponJustPushedIsNotPushedAgain) {
  auto m = consenting();
  m.couponsPushedRecently = {2};
  auto d = decideTrigger(at(ZoneEventType::Enter), m, {offer(2, 0.9, 10), offer(3, 0.1, 10)}, {});
  ASSERT_TRUE(d.push);
  EXPECT_EQ(d.offer->couponId, 3);
}

TEST(Triggers, TiesPreferDueReplenishmentThenTheLowerCouponId) {
  auto a = offer(4, 0.5, 10);
  auto b = offer(3, 0.5, 10);
  auto c = offer(9, 0.5, 10);
  c.dueReplenishment = true;
  EXPECT_EQ(decideTrigger(at(ZoneEventType::Enter), consenting(), {a, b}, {}).offer->couponId, 3);
  auto d = decideTrigger(at(ZoneEventType::Enter), consenting(), {a, b, c}, {});
  EXPECT_EQ(d.offer->couponId, 9);
  EXPECT_EQ(d.reason, "store entry: best active coupon (due replenishment)");
}

}  // namespace aisle::engine
