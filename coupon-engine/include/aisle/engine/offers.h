#pragma once
// Offer choice for one member (pure): which campaigns' coupons to issue, on which product, with
// what reason. Every candidate (campaign x matching product the member might buy) is scored as
// P(purchase) x face value, then chosen greedily, best first, under the member's caps: at most
// `maxActivePerMember` active coupons (existing ones count), `maxPerCategory` per category (so a
// member does not get three coffee coupons), the campaign's per-member limit, never the same
// (campaign, product) twice. Budgets are not checked here: the batch reserves them in the
// database, where concurrent runs meet.
//
// P(purchase) = 1 - (1 - affinity) x (1 - due), with
//  - affinity: the next-basket model's calibrated probability that the product is in the next
//    basket (rank -> empirical hit rate),
//  - due: replenishment confidence when the expected next purchase falls before the coupon
//    expires, fading once the member is more than one interval overdue (they may have switched).
//
// Basket campaigns ("spend X, get Y off the basket": target_kind basket, target_ref = X in minor
// units) go to members whose typical (median) basket is near X but below it — within
// `basketNearShare` of it: the coupon is meant to stretch a basket, not to pay members who spend X
// anyway, nor those who never come close. P(purchase) = the member's share of recent baskets that
// reached X (smoothed: (hits + 0.5) / (baskets + 1)).
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "aisle/engine/segments.h"

namespace aisle::engine {

enum class OfferType { PercentOff, AmountOff, BuyXGetY, Points, External };
enum class TargetKind { Product, Brand, Category, Products, Basket };

const char* offerTypeName(OfferType t);
const char* targetKindName(TargetKind t);
bool offerTypeByName(const std::string& name, OfferType& out);
bool targetKindByName(const std::string& name, TargetKind& out);

struct Campaign {
  std::int64_t id = 0;
  std::string name;
  OfferType type = OfferType::PercentOff;
  TargetKind targetKind = TargetKind::Category;
  // Product id, brand, category id, or for a basket the minimum spend in minor units (as text, like
  // the schema).
  std::string targetRef;
  std::int32_t percentOffHundredths = 0;  // 15.5 % = 1550
  std::int64_t amountOffMinor = 0;
  int buyQty = 0, getQty = 0;
  int points = 0;
  std::int64_t validFromMs = 0, validToMs = 0;
  std::optional<std::int64_t> budgetMinor, budgetCount;
  int perMemberLimit = 1;
  std::int32_t holdoutHundredths = 0;  // 10 % = 1000
  // Eligibility (empty: everyone).
  std::vector<Segment> segments;
  std::vector<std::int64_t> stores;
  std::vector<std::string> consents;  // purposes the member must have granted
  std::int64_t minLtvMinor = 0;
  std::unordered_set<std::int64_t> products;  // TargetKind::Products: the listed products
};

struct CatalogItem {
  std::int64_t categoryId = 0;  // 0: none
  std::string name, brand;
  std::int64_t priceMinor = 0;  // typical unit price
};
using Catalog = std::unordered_map<std::int64_t, CatalogItem>;

// What the models say about one product for one member.
struct ProductSignal {
  std::int64_t productId = 0;
  double affinity = 0;         // 0..1
  bool replenishment = false;  // the fields below are set
  double expectedNextDay = 0, intervalDays = 0, confidence = 0;
  std::string explanation;  // replenishment explanation
};

struct MemberOfferInput {
  std::int64_t memberId = 0;
  Segment segment = Segment::Occasional;
  std::int64_t ltvMinor = 0;
  std::set<std::string> consents;       // granted purposes
  std::vector<std::int64_t> stores;     // stores the member shops in
  std::vector<ProductSignal> products;  // candidates: bought before or recommended
  int activeCoupons = 0;                // active coupons already held (all campaigns)
  std::unordered_map<std::int64_t, int> issuedPerCampaign;  // coupons ever issued per campaign
  std::set<std::pair<std::int64_t, std::int64_t>> issuedProducts;  // (campaign, product or 0)
  std::vector<std::int64_t> basketSpendsMinor;  // spend of the member's recent baskets
};

struct OfferParams {
  int maxActivePerMember = 3;
  int maxPerCategory = 1;
  int couponDays = 14;               // coupon validity from the run (capped by the campaign's end)
  std::int64_t pointValueMinor = 1;  // what a loyalty point is worth, for scoring
  double minProbability = 0.02;  // below this a coupon is noise to the member and cost to budget
  // A basket offer of threshold X goes to members whose median basket is in [share x X, X).
  double basketNearShare = 0.6;
  std::size_t minBaskets = 3;  // fewer baskets: no typical basket to speak of
};

struct ChosenOffer {
  std::int64_t campaignId = 0;
  std::optional<std::int64_t> productId, categoryId, storeId;
  std::int64_t valueMinor = 0;  // face value, charged to the campaign's money budget
  double probability = 0, score = 0;
  std::string reason;
  bool holdout = false;  // chosen but held out: record in campaign_members, issue nothing
  std::int64_t validFromMs = 0, validToMs = 0;
};

// Deterministic holdout: a stable hash of (campaign, member), the same on every run and machine.
bool isHoldout(std::int64_t campaignId, std::int64_t memberId, std::int32_t holdoutHundredths);

// Face value of the campaign's coupon on a product of this unit price (0: cannot be valued).
std::int64_t offerValueMinor(const Campaign& c, std::int64_t unitPriceMinor,
                             const OfferParams& params);

// A basket campaign's minimum spend (0 for other campaigns or a malformed target).
std::int64_t basketThresholdMinor(const Campaign& c);

// `today` in days (as the models), `nowMs` for validity windows.
std::vector<ChosenOffer> chooseOffers(const MemberOfferInput& member,
                                      const std::vector<Campaign>& campaigns,
                                      const Catalog& catalog, std::int32_t today,
                                      std::int64_t nowMs, const OfferParams& params = {});

}  // namespace aisle::engine
