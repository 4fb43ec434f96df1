#include "aisle/engine/offers.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

namespace aisle::engine {
namespace {

constexpr std::array<const char*, 5> kTypes = {"percent_off", "amount_off", "buy_x_get_y", "points",
                                               "external"};
constexpr std::array<const char*, 5> kTargets = {"product", "brand", "category", "products",
                                                 "basket"};
constexpr std::int64_t kDayMs = 86'400'000;

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool matches(const Campaign& c, std::int64_t productId, const CatalogItem& item) {
  switch (c.targetKind) {
    case TargetKind::Product:
      return c.targetRef == std::to_string(productId);
    case TargetKind::Brand:
      return !item.brand.empty() && c.targetRef == item.brand;
    case TargetKind::Category:
      return item.categoryId != 0 && c.targetRef == std::to_string(item.categoryId);
    case TargetKind::Products:
      return c.products.count(productId) > 0;
    case TargetKind::Basket:
      return false;
  }
  return false;
}

bool eligible(const Campaign& c, const MemberOfferInput& m, std::int64_t nowMs) {
  if (c.type == OfferType::External) return false;  // manufacturer coupons: not ours to issue
  if (nowMs < c.validFromMs || nowMs >= c.validToMs) return false;
  if (!c.segments.empty() &&
      std::find(c.segments.begin(), c.segments.end(), m.segment) == c.segments.end())
    return false;
  for (const auto& purpose : c.consents)
    if (!m.consents.count(purpose)) return false;
  if (m.ltvMinor < c.minLtvMinor) return false;
  if (!c.stores.empty()) {
    bool any = false;
    for (auto s : m.stores)
      any = any || std::find(c.stores.begin(), c.stores.end(), s) != c.stores.end();
    if (!any) return false;
  }
  return true;
}

double dueProbability(const ProductSignal& s, std::int32_t today, int couponDays) {
  if (!s.replenishment || s.intervalDays <= 0) return 0;
  if (s.expectedNextDay > today + couponDays) return 0;  // not due while the coupon is valid
  const double overdue = today - s.expectedNextDay;
  // More than one interval overdue: the habit may have moved elsewhere; fade out.
  const double fade =
      overdue > s.intervalDays ? std::exp(-(overdue - s.intervalDays) / s.intervalDays) : 1.0;
  return s.confidence * fade;
}

std::string money(std::int64_t minor) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(minor / 100),
                static_cast<long long>(minor % 100));
  return buf;
}

std::string describeOffer(const Campaign& c) {
  switch (c.type) {
    case OfferType::PercentOff: {
      const int whole = c.percentOffHundredths / 100, frac = c.percentOffHundredths % 100;
      return std::to_string(whole) +
             (frac ? "." + std::to_string(frac / 10) + std::to_string(frac % 10) : "") + "% off";
    }
    case OfferType::AmountOff: {
      const auto cents = c.amountOffMinor % 100;
      return std::to_string(c.amountOffMinor / 100) + "." + (cents < 10 ? "0" : "") +
             std::to_string(cents) + " off";
    }
    case OfferType::BuyXGetY:
      return "buy " + std::to_string(c.buyQty) + " get " + std::to_string(c.getQty) + " free";
    case OfferType::Points:
      return std::to_string(c.points) + " bonus points";
    case OfferType::External:
      return "offer";
  }
  return "offer";
}

}  // namespace

const char* offerTypeName(OfferType t) {
  return kTypes[static_cast<std::size_t>(t)];
}
const char* targetKindName(TargetKind t) {
  return kTargets[static_cast<std::size_t>(t)];
}

bool offerTypeByName(const std::string& name, OfferType& out) {
  for (std::size_t i = 0; i < kTypes.size(); ++i)
    if (name == kTypes[i]) return out = static_cast<OfferType>(i), true;
  return false;
}
bool targetKindByName(const std::string& name, TargetKind& out) {
  for (std::size_t i = 0; i < kTargets.size(); ++i)
    if (name == kTargets[i]) return out = static_cast<TargetKind>(i), true;
  return false;
}

bool isHoldout(std::int64_t campaignId, std::int64_t memberId, std::int32_t holdoutHundredths) {
  if (holdoutHundredths <= 0) return false;
  // Two rounds of SplitMix64: consecutive member ids land far apart, so a range of members does
  // not fall into the holdout together.
  const auto h = splitmix(splitmix(static_cast<std::uint64_t>(campaignId)) ^
                          static_cast<std::uint64_t>(memberId));
  return static_cast<std::int32_t>(h % 10000) < holdoutHundredths;
}

std::int64_t offerValueMinor(const Campaign& c, std::int64_t unitPriceMinor, const OfferParams& p) {
  switch (c.type) {
    case OfferType::PercentOff:
      return unitPriceMinor * c.percentOffHundredths / 10000;
    case OfferType::AmountOff:
      // An amount off a cheaper product is worth at most the product.
      return c.targetKind == TargetKind::Basket ? c.amountOffMinor
                                                : std::min(c.amountOffMinor, unitPriceMinor);
    case OfferType::BuyXGetY:
      return unitPriceMinor * c.getQty;
    case OfferType::Points:
      return c.points * p.pointValueMinor;
    case OfferType::External:
      return 0;
  }
  return 0;
}

std::int64_t basketThresholdMinor(const Campaign& c) {
  if (c.targetKind != TargetKind::Basket) return 0;
  return std::max<std::int64_t>(0, std::strtoll(c.targetRef.c_str(), nullptr, 10));
}

std::vector<ChosenOffer> chooseOffers(const MemberOfferInput& m,
                                      const std::vector<Campaign>& campaigns,
                                      const Catalog& catalog, std::int32_t today,
                                      std::int64_t nowMs, const OfferParams& p) {
  struct Candidate {
    const Campaign* c;
    const ProductSignal* s;    // null for a basket offer
    const CatalogItem* item;   // null for a basket offer
    double prob, score;
    std::int64_t value;
  };
  // The member's typical basket, for basket campaigns.
  std::int64_t medianBasket = 0;
  if (m.basketSpendsMinor.size() >= p.minBaskets) {
    auto spends = m.basketSpendsMinor;
    std::nth_element(spends.begin(), spends.begin() + static_cast<std::ptrdiff_t>(spends.size() / 2),
                     spends.end());
    medianBasket = spends[spends.size() / 2];
  }
  std::vector<Candidate> cands;
  for (const auto& c : campaigns) {
    if (!eligible(c, m, nowMs)) continue;
    const auto issued = m.issuedPerCampaign.find(c.id);
    if (issued != m.issuedPerCampaign.end() && issued->second >= c.perMemberLimit) continue;
    if (c.targetKind == TargetKind::Basket) {
      const auto threshold = basketThresholdMinor(c);
      if (threshold <= 0 || medianBasket <= 0 || m.issuedProducts.count({c.id, 0})) continue;
      if (medianBasket >= threshold ||
          static_cast<double>(medianBasket) < p.basketNearShare * static_cast<double>(threshold))
        continue;
      double hits = 0;
      for (auto s : m.basketSpendsMinor) hits += s >= threshold;
      const double prob = (hits + 0.5) / (static_cast<double>(m.basketSpendsMinor.size()) + 1);
      const auto value = offerValueMinor(c, 0, p);
      if (prob < p.minProbability || value <= 0) continue;
      cands.push_back(Candidate{&c, nullptr, nullptr, prob, prob * static_cast<double>(value), value});
      continue;
    }
    // Best product of this campaign for this member (one coupon per campaign per run).
    Candidate best{&c, nullptr, nullptr, 0, -1, 0};
    for (const auto& s : m.products) {
      const auto it = catalog.find(s.productId);
      if (it == catalog.end() || !matches(c, s.productId, it->second)) continue;
      if (m.issuedProducts.count({c.id, s.productId})) continue;
      const double prob = 1.0 - (1.0 - std::clamp(s.affinity, 0.0, 1.0)) *
                                    (1.0 - dueProbability(s, today, p.couponDays));
      const auto value = offerValueMinor(c, it->second.priceMinor, p);
      const double score = prob * static_cast<double>(value);
      if (prob < p.minProbability || value <= 0) continue;
      // Ties broken by product id: the same input always gives the same coupons.
      if (score > best.score || (score == best.score && best.s && s.productId < best.s->productId))
        best = Candidate{&c, &s, &it->second, prob, score, value};
    }
    if (best.s) cands.push_back(best);
  }
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.c->id < b.c->id;
  });

  std::vector<ChosenOffer> out;
  int slots = p.maxActivePerMember - m.activeCoupons;
  std::map<std::int64_t, int> perCategory;
  for (const auto& cand : cands) {
    if (slots <= 0) break;
    const auto cat = cand.item ? cand.item->categoryId : 0;
    if (cat != 0 && perCategory[cat] >= p.maxPerCategory) continue;
    ++perCategory[cat];
    // A held-out member takes the slot as if treated, so their other coupons match what they
    // would have received: the holdout differs from the treated group in this coupon only.
    --slots;
    ChosenOffer o;
    o.campaignId = cand.c->id;
    if (cand.s) o.productId = cand.s->productId;
    if (cat != 0) o.categoryId = cat;
    if (cand.c->stores.size() == 1) o.storeId = cand.c->stores[0];
    o.valueMinor = cand.value;
    o.probability = cand.prob;
    o.score = cand.score;
    o.holdout = isHoldout(cand.c->id, m.memberId, cand.c->holdoutHundredths);
    o.validFromMs = std::max(nowMs, cand.c->validFromMs);
    o.validToMs = std::min(cand.c->validToMs, nowMs + p.couponDays * kDayMs);
    if (!cand.s) {
      o.reason = describeOffer(*cand.c) + " on a basket of " + money(basketThresholdMinor(*cand.c)) +
                 " or more: your baskets are usually about " + money(medianBasket);
      out.push_back(std::move(o));
      continue;
    }
    const bool due = dueProbability(*cand.s, today, p.couponDays) > 0;
    std::string why;
    if (due && !cand.s->explanation.empty())
      why = cand.s->explanation;
    else if (cand.s->replenishment)
      why = "one of your regulars";
    else
      why = "picked for you from what shoppers like you buy next";
    o.reason = describeOffer(*cand.c) + " " + cand.item->name + ": " + why;
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace aisle::engine
