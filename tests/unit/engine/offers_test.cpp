#include <gtest/gtest.h>

#include <set>

#include "aisle/engine/batch.h"
#include "aisle/engine/offers.h"

namespace aisle::engine {
namespace {

constexpr std::int32_t kToday = 17500;
constexpr std::int64_t kNowMs = std::int64_t{kToday} * 86'400'000;
constexpr std::int64_t kCoffee = 10, kMilk = 20, kTea = 30;

Catalog catalog() {
  return {{1, {kCoffee, "ground coffee", "Acme", 899}},
          {2, {kCoffee, "coffee beans", "Bean Co", 1299}},
          {3, {kMilk, "whole milk", "Dairy", 249}},
          {4, {kTea, "green tea", "Acme", 399}}};
}

Campaign percentOff(std::int64_t id, std::int64_t category, std::int32_t hundredths) {
  Campaign c;
  c.id = id;
  c.name = "c" + std::to_string(id);
  c.type = OfferType::PercentOff;
  c.targetKind = TargetKind::Category;
  c.targetRef = std::to_string(category);
  c.percentOffHundredths = hundredths;
  c.validFromMs = kNowMs - 86'400'000;
  c.validToMs = kNowMs + 30 * 86'400'000LL;
  return c;
}

ProductSignal bought(std::int64_t product, double affinity, double expectedNext,
                     double confidence) {
  ProductSignal s;
  s.productId = product;
  s.affinity = affinity;
  s.replenishment = true;
  s.expectedNextDay = expectedNext;
  s.intervalDays = 14;
  s.confidence = confidence;
  s.explanation = "you buy this about every 14 days; last bought 12 days ago";
  return s;
}

MemberOfferInput member() {
  MemberOfferInput m;
  m.memberId = 42;
  m.segment = Segment::Loyal;
  m.products = {bought(1, 0.10, kToday + 2, 0.8), bought(2, 0.05, kToday + 40, 0.8),
                bought(3, 0.30, kToday + 1, 0.9), bought(4, 0.02, kToday + 60, 0.2)};
  return m;
}

TEST(Offers, ValuesEachOfferTypeOnTheProductPrice) {
  OfferParams p;
  auto c = percentOff(1, kCoffee, 2000);
  EXPECT_EQ(offerValueMinor(c, 450, p), 90);
  c.type = OfferType::AmountOff;
  c.amountOffMinor = 100;
  EXPECT_EQ(offerValueMinor(c, 80, p), 80);  // never more than the product costs
  c.type = OfferType::BuyXGetY;
  c.buyQty = 2;
  c.getQty = 1;
  EXPECT_EQ(offerValueMinor(c, 300, p), 300);
  c.type = OfferType::Points;
  c.points = 50;
  EXPECT_EQ(offerValueMinor(c, 300, p), 50);
}

TEST(Offers, PicksTheProductWithTheBestPurchaseProbabilityTimesValue) {
  // Coffee 1: due in 2 days -> P = 1 - 0.9 x 0.2 = 0.82, value 179 -> 147. Coffee 2: not due
  // within the coupon's 14 days -> P = 0.05, value 259 -> 13.
  const auto offers =
      chooseOffers(member(), {percentOff(7, kCoffee, 2000)}, catalog(), kToday, kNowMs);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].productId, 1);
  EXPECT_EQ(offers[0].categoryId, kCoffee);
  EXPECT_EQ(offers[0].valueMinor, 179);
  EXPECT_NEAR(offers[0].probability, 0.82, 1e-9);
  EXPECT_EQ(offers[0].reason,
            "20% off ground coffee: you buy this about every 14 days; last bought 12 days ago");
  EXPECT_EQ(offers[0].validFromMs, kNowMs);
  EXPECT_EQ(offers[0].validToMs, kNowMs + 14 * 86'400'000LL);
}

TEST(Offers, SpreadsAcrossCategoriesAndCapsActiveCoupons) {
  const std::vector<Campaign> campaigns{percentOff(1, kCoffee, 2000), percentOff(2, kCoffee, 1000),
                                        percentOff(3, kMilk, 5000), percentOff(4, kTea, 5000)};
  OfferParams p;
  p.maxActivePerMember = 3;
  auto offers = chooseOffers(member(), campaigns, catalog(), kToday, kNowMs, p);
  std::set<std::int64_t> cats;
  for (const auto& o : offers) cats.insert(*o.categoryId);
  EXPECT_EQ(offers.size(), cats.size());  // one per category: campaign 2 (coffee again) left out
  EXPECT_EQ(offers.size(), 3u);

  auto m = member();
  m.activeCoupons = 2;  // already holds two: one slot left, for the best offer
  offers = chooseOffers(m, campaigns, catalog(), kToday, kNowMs, p);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].campaignId, 1);  // coffee: 147 beats milk's 0.93 x 124 = 116
}

TEST(Offers, RespectsPerMemberLimitsAndNeverRepeatsACampaignProduct) {
  auto m = member();
  m.issuedPerCampaign[1] = 1;
  EXPECT_TRUE(chooseOffers(m, {percentOff(1, kCoffee, 2000)}, catalog(), kToday, kNowMs).empty());
  m = member();
  m.issuedProducts.insert({1, 1});
  const auto offers = chooseOffers(m, {percentOff(1, kCoffee, 2000)}, catalog(), kToday, kNowMs);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].productId, 2);
}

TEST(Offers, HonoursEligibilityBySegmentConsentStoreAndValidity) {
  auto c = percentOff(1, kCoffee, 2000);
  c.segments = {Segment::Champions};
  EXPECT_TRUE(chooseOffers(member(), {c}, catalog(), kToday, kNowMs).empty());
  c.segments = {Segment::Loyal};
  c.consents = {"marketing"};
  EXPECT_TRUE(chooseOffers(member(), {c}, catalog(), kToday, kNowMs).empty());
  auto m = member();
  m.consents.insert("marketing");
  EXPECT_EQ(chooseOffers(m, {c}, catalog(), kToday, kNowMs).size(), 1u);
  c.stores = {5};
  m.stores = {6};
  EXPECT_TRUE(chooseOffers(m, {c}, catalog(), kToday, kNowMs).empty());
  m.stores = {6, 5};
  const auto offers = chooseOffers(m, {c}, catalog(), kToday, kNowMs);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_EQ(offers[0].storeId, 5);
  c.validToMs = kNowMs;  // ended
  EXPECT_TRUE(chooseOffers(m, {c}, catalog(), kToday, kNowMs).empty());
}

TEST(Offers, HoldoutIsStableAndNearTheConfiguredShare) {
  int held = 0;
  for (std::int64_t m = 1; m <= 100000; ++m) {
    const bool h = isHoldout(7, m, 1000);
    EXPECT_EQ(h, isHoldout(7, m, 1000));
    held += h;
  }
  EXPECT_NEAR(held / 100000.0, 0.10, 0.005);
  EXPECT_FALSE(isHoldout(7, 1, 0));
  // Another campaign holds out other members.
  int both = 0;
  for (std::int64_t m = 1; m <= 100000; ++m) both += isHoldout(7, m, 1000) && isHoldout(8, m, 1000);
  EXPECT_NEAR(both / 100000.0, 0.01, 0.002);
}

TEST(Offers, MarksAHeldOutMembersOfferInsteadOfDroppingIt) {
  auto c = percentOff(1, kCoffee, 2000);
  c.holdoutHundredths = 9999;  // everyone but 0.01 %
  auto m = member();
  while (!isHoldout(1, m.memberId, c.holdoutHundredths)) ++m.memberId;
  const auto offers = chooseOffers(m, {c}, catalog(), kToday, kNowMs);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_TRUE(offers[0].holdout);
}

TEST(CouponCodes, AreBase32OfEightyRandomBits) {
  const unsigned char foobar[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(base32(foobar, 6), "MZXW6YTBOI");  // RFC 4648 test vector, unpadded
  EXPECT_EQ(base32(foobar, 1), "MY");
  auto codes = makeOsRandomCodes();
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto code = codes->next();
    EXPECT_EQ(code.size(), 16u);
    EXPECT_EQ(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"), std::string::npos);
    seen.insert(code);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(CampaignFile, ReadsCampaignsWithMoneyAsDecimalText) {
  const auto specs = parseCampaignToml(R"(
[[campaign]]
id = 9001
name = "Coffee"
type = "percent_off"
percent_off = 15.5
target = { category = "COFFEE" }
valid_from = 2017-12-01
valid_to = 2018-03-01
budget = "250.00"
budget_count = 100
holdout_pct = 10
segments = ["loyal", "champions"]
consents = ["marketing"]
)",
                                       "c.toml");
  ASSERT_TRUE(specs.ok()) << specs.message();
  ASSERT_EQ(specs->size(), 1u);
  const auto& c = (*specs)[0].campaign;
  EXPECT_EQ(c.percentOffHundredths, 1550);
  EXPECT_EQ((*specs)[0].categoryName, "COFFEE");
  EXPECT_EQ(c.budgetMinor, 25000);
  EXPECT_EQ(c.budgetCount, 100);
  EXPECT_EQ(c.holdoutHundredths, 1000);
  EXPECT_EQ(c.segments.size(), 2u);
  EXPECT_EQ(c.validFromMs, 1512086400000);
}

TEST(CampaignFile, RejectsAMisspeltKeyWithItsLine) {
  const auto specs = parseCampaignToml(
      "[[campaign]]\nid = 1\nname = \"x\"\ntype = \"points\"\npoints = 5\n"
      "target = { brand = \"Acme\" }\nvalid_from = 2018-01-01\nvalid_to = 2018-02-01\nbudjet = "
      "\"5.00\"\n",
      "c.toml");
  ASSERT_FALSE(specs.ok());
  EXPECT_EQ(specs.message(), "c.toml:9: budjet: unknown key");
}

Campaign spendAndSave(std::int64_t id, std::int64_t thresholdMinor, std::int64_t offMinor) {
  Campaign c = percentOff(id, 0, 0);
  c.type = OfferType::AmountOff;
  c.targetKind = TargetKind::Basket;
  c.targetRef = std::to_string(thresholdMinor);
  c.amountOffMinor = offMinor;
  return c;
}

TEST(BasketOffers, GoToMembersWhoseTypicalBasketIsJustBelowTheThreshold) {
  // Spend 40.00, get 5.00 off. Baskets 30, 35, 36, 41, 38: median 36.00, in [24.00, 40.00).
  auto m = member();
  m.products.clear();
  m.basketSpendsMinor = {3000, 3500, 3600, 4100, 3800};
  const auto offers = chooseOffers(m, {spendAndSave(5, 4000, 500)}, catalog(), kToday, kNowMs);
  ASSERT_EQ(offers.size(), 1u);
  EXPECT_FALSE(offers[0].productId);
  EXPECT_FALSE(offers[0].categoryId);
  EXPECT_EQ(offers[0].valueMinor, 500);
  // One basket of five reached 40.00: P = (1 + 0.5) / (5 + 1) = 0.25.
  EXPECT_DOUBLE_EQ(offers[0].probability, 0.25);
  EXPECT_DOUBLE_EQ(offers[0].score, 125.0);
  EXPECT_EQ(offers[0].reason,
            "5.00 off on a basket of 40.00 or more: your baskets are usually about 36.00");
}

TEST(BasketOffers, SkipMembersWhoSpendTheThresholdAnywayOrNeverComeClose) {
  auto m = member();
  m.products.clear();
  const std::vector<Campaign> campaigns{spendAndSave(5, 4000, 500)};
  m.basketSpendsMinor = {4500, 5200, 3900, 6100, 4800};  // median 48.00: already above
  EXPECT_TRUE(chooseOffers(m, campaigns, catalog(), kToday, kNowMs).empty());
  m.basketSpendsMinor = {900, 1200, 1500, 800, 4200};  // median 12.00: far below 24.00
  EXPECT_TRUE(chooseOffers(m, campaigns, catalog(), kToday, kNowMs).empty());
  m.basketSpendsMinor = {3600, 3700};  // too few baskets to call one typical
  EXPECT_TRUE(chooseOffers(m, campaigns, catalog(), kToday, kNowMs).empty());
  m.basketSpendsMinor = {3600, 3700, 3800};
  m.issuedProducts.insert({5, 0});  // already has this basket coupon
  EXPECT_TRUE(chooseOffers(m, campaigns, catalog(), kToday, kNowMs).empty());
}

TEST(CampaignFile, ReadsABasketThresholdAndRejectsAPercentageOfABasket) {
  const std::string head =
      "[[campaign]]\nid = 3\nname = \"spend and save\"\nvalid_from = 2018-01-01\n"
      "valid_to = 2018-02-01\ntarget = { basket_min_spend = \"40.00\" }\n";
  const auto ok = parseCampaignToml(head + "type = \"amount_off\"\namount_off = \"5.00\"\n", "c.toml");
  ASSERT_TRUE(ok.ok()) << ok.message();
  EXPECT_EQ((*ok)[0].campaign.targetKind, TargetKind::Basket);
  EXPECT_EQ((*ok)[0].campaign.targetRef, "4000");
  EXPECT_EQ(basketThresholdMinor((*ok)[0].campaign), 4000);
  const auto bad = parseCampaignToml(head + "type = \"percent_off\"\npercent_off = 10\n", "c.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("a basket offer is amount_off or points"), std::string::npos)
      << bad.message();
}

}  // namespace
}  // namespace aisle::engine
