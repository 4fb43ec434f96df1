// The personalization batch (orchestration): read every member's purchases once, fit population
// statistics on a sample, then per chunk of members with new purchases compute models, choose
// offers and write everything in one transaction. SQL lives in BatchRepository.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "aisle/engine/batch.h"
#include "aisle/engine/history.h"
#include "aisle/engine/next_basket.h"
#include "aisle/engine/replenishment.h"
#include "aisle/engine/segments.h"
#include "db/batch_repository.h"

namespace aisle::engine {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;
using Steady = std::chrono::steady_clock;

double since(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}

// Every member's purchase lines, CSR by member (members in id order), lines oldest first.
struct Purchases {
  std::vector<std::int64_t> memberIds;
  std::vector<std::uint32_t> first{0};  // lines of member i: [first[i], first[i+1])
  std::vector<std::int64_t> maxTransaction;
  std::vector<std::vector<std::int64_t>> stores;  // distinct stores per member
  // Per line:
  std::vector<ItemIndex> product;
  std::vector<std::int32_t> day;
  std::vector<float> quantity;
  std::vector<std::int32_t> amount, discount;
  std::vector<std::uint32_t> basket;  // global basket (transaction) number, increasing

  std::size_t members() const { return memberIds.size(); }
};

struct ProductStats {
  double amount = 0, quantity = 0;
  std::uint32_t lines = 0;
};

// Everything the per-member models need from the population.
struct Population {
  ItemDictionary items;                  // product id <-> dense index (the next-basket indexing)
  std::vector<double> unitsPerLine;      // usual quantity per purchase of each product
  std::vector<std::int64_t> categoryOf;  // by dense index; 0: none
  PopulationIntervals productIntervals, categoryIntervals;
  ReplenishmentParams productParams, categoryParams;  // priorWeight: the estimated credibility
  SegmentThresholds thresholds;
  std::unique_ptr<NextBasketModel> model;
  std::vector<double> affinityByRank;
  double affinityTail = 0;
};

struct Event {
  std::int64_t key;
  std::int32_t day;
  double units;
};

// Per-product (or per-category) event series of one member, same-day purchases merged.
void seriesOf(std::vector<Event>& ev, std::vector<PurchaseEvent>& out,
              const std::function<void(std::int64_t, std::span<const PurchaseEvent>)>& each) {
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) {
    return a.key != b.key ? a.key < b.key : a.day < b.day;
  });
  std::size_t i = 0;
  while (i < ev.size()) {
    out.clear();
    const auto key = ev[i].key;
    for (; i < ev.size() && ev[i].key == key; ++i) {
      if (!out.empty() && out.back().day == ev[i].day)
        out.back().units += ev[i].units;
      else
        out.push_back({ev[i].day, ev[i].units});
    }
    each(key, out);
  }
}

void productEvents(const Purchases& p, const Population& pop, std::size_t m,
                   std::vector<Event>& out) {
  out.clear();
  for (auto l = p.first[m]; l < p.first[m + 1]; ++l) {
    const auto item = p.product[l];
    const double usual = pop.unitsPerLine[item] > 0 ? pop.unitsPerLine[item] : 1.0;
    out.push_back({static_cast<std::int64_t>(item), p.day[l], p.quantity[l] / usual});
  }
}

void categoryEvents(const std::vector<Event>& productEv, const Population& pop,
                    std::vector<Event>& out) {
  out.clear();
  for (const auto& e : productEv) {
    const auto cat = pop.categoryOf[static_cast<std::size_t>(e.key)];
    if (cat != 0) out.push_back({cat, e.day, e.units});
  }
}

MemberActivity activityOf(const Purchases& p, const Population& pop, std::size_t m,
                          std::int32_t today, std::unordered_map<std::int64_t, int>& catCount) {
  MemberActivity a;
  const auto b = p.first[m], e = p.first[m + 1];
  if (b == e) return a;
  a.firstDay = p.day[b];
  a.lastDay = p.day[e - 1];
  catCount.clear();
  std::uint32_t lastBasket = UINT32_MAX;
  for (auto l = b; l < e; ++l) {
    const bool recent = today - p.day[l] < 90;
    if (p.basket[l] != lastBasket) {
      lastBasket = p.basket[l];
      ++a.visits;
      if (recent) ++a.visits90;
    }
    a.spendMinor += p.amount[l];
    if (recent) a.spend90Minor += p.amount[l];
    a.discountMinor += p.discount[l];
    const auto cat = pop.categoryOf[p.product[l]];
    if (cat != 0) ++catCount[cat];
  }
  int top = 0, total = 0;
  for (const auto& [cat, n] : catCount) {
    top = std::max(top, n);
    total += n;
  }
  a.distinctCategories = static_cast<int>(catCount.size());
  a.topCategoryShare = total > 0 ? static_cast<double>(top) / total : 0;
  return a;
}

// Adds member m's baskets to a basket log (items deduplicated by BasketLog::add).
void addBaskets(const Purchases& p, std::size_t m, MemberIndex as, BasketLog& log,
                std::size_t dropLast, std::vector<ItemIndex>& scratch) {
  const auto b = p.first[m], e = p.first[m + 1];
  std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges;  // basket line ranges
  for (auto l = b; l < e;) {
    auto k = l;
    while (k < e && p.basket[k] == p.basket[l]) ++k;
    ranges.emplace_back(l, k);
    l = k;
  }
  const std::size_t keep = ranges.size() > dropLast ? ranges.size() - dropLast : 0;
  for (std::size_t r = 0; r < keep; ++r) {
    scratch.assign(p.product.begin() + ranges[r].first, p.product.begin() + ranges[r].second);
    log.add(as, scratch);
  }
}

Purchases readPurchases(BatchRepository& repo, std::int32_t today, Population& pop,
                        std::vector<ProductStats>& stats, Progress* progress,
                        std::int64_t& lineCount) {
  Purchases p;
  p.memberIds = repo.memberIds();
  const std::size_t n = p.memberIds.size();
  p.first.assign(n + 1, 0);
  p.maxTransaction.assign(n, 0);
  p.stores.assign(n, {});
  if (progress) progress->phase("read purchases (members)", static_cast<std::int64_t>(n));
  // Ranges of members small enough that one result set stays a few hundred MB at most.
  constexpr std::size_t kRange = 2000;
  std::int64_t lastTx = -1;
  std::uint32_t basketNo = 0;
  for (std::size_t start = 0; start < n; start += kRange) {
    const std::size_t end = std::min(n, start + kRange);
    std::size_t cur = start;
    repo.linesOf(p.memberIds[start], p.memberIds[end - 1], [&](const BatchLine& l) {
      // Lines after the run's day are ignored: an --as-of run sees the past only.
      if (l.day > today) return;
      while (p.memberIds[cur] != l.memberId) {
        ++cur;
        p.first[cur] = static_cast<std::uint32_t>(p.product.size());
      }
      if (l.transactionId != lastTx) {
        lastTx = l.transactionId;
        ++basketNo;
        auto& st = p.stores[cur];
        if (std::find(st.begin(), st.end(), l.storeId) == st.end()) st.push_back(l.storeId);
      }
      p.maxTransaction[cur] = std::max(p.maxTransaction[cur], l.transactionId);
      const auto item = pop.items.intern(l.productId);
      if (item >= stats.size()) stats.resize(item + 1);
      stats[item].amount += static_cast<double>(l.amountMinor);
      stats[item].quantity += l.quantity;
      ++stats[item].lines;
      p.product.push_back(item);
      p.day.push_back(l.day);
      p.quantity.push_back(static_cast<float>(l.quantity));
      p.amount.push_back(static_cast<std::int32_t>(l.amountMinor));
      p.discount.push_back(static_cast<std::int32_t>(l.discountMinor));
      p.basket.push_back(basketNo);
    });
    // Members after the last one with lines in this range have none: close their ranges.
    while (cur + 1 < end) {
      ++cur;
      p.first[cur] = static_cast<std::uint32_t>(p.product.size());
    }
    p.first[end] = static_cast<std::uint32_t>(p.product.size());
    if (progress) progress->advance(static_cast<std::int64_t>(end - start));
  }
  lineCount = static_cast<std::int64_t>(p.product.size());
  if (progress) progress->finish();
  return p;
}

void fitPopulation(const Purchases& p, Population& pop, Catalog& catalog,
                   const std::vector<ProductStats>& stats, const BatchOptions& o,
                   std::int32_t today, BatchReport& report) {
  const std::size_t items = pop.items.size();
  pop.unitsPerLine.assign(items, 1.0);
  pop.categoryOf.assign(items, 0);
  for (ItemIndex i = 0; i < items; ++i) {
    const auto& s = stats[i];
    auto it = catalog.find(pop.items.external(i));
    if (it == catalog.end()) continue;
    pop.categoryOf[i] = it->second.categoryId;
    // Products without a list price are valued at what shoppers paid per unit on average.
    if (it->second.priceMinor < 0)
      it->second.priceMinor = s.quantity > 0 ? std::llround(s.amount / s.quantity) : 0;
  }

  // Population sample: every stride-th member, so the sample spans the whole id range.
  const std::size_t n = p.members();
  const std::size_t stride = std::max<std::size_t>(
      1, (n + o.populationMembers - 1) / std::max<std::size_t>(1, o.populationMembers));
  std::vector<std::size_t> sample;
  for (std::size_t m = 0; m < n; m += stride)
    if (p.first[m + 1] > p.first[m]) sample.push_back(m);

  // The usual quantity per purchase is the median over the sample (a few bulk buys must not make
  // every ordinary purchase look like a fraction of a unit).
  {
    std::vector<std::vector<float>> qty(items);
    for (auto m : sample)
      for (auto l = p.first[m]; l < p.first[m + 1]; ++l) qty[p.product[l]].push_back(p.quantity[l]);
    for (ItemIndex i = 0; i < items; ++i) {
      if (qty[i].empty()) continue;
      pop.unitsPerLine[i] = medianOf(std::vector<double>(qty[i].begin(), qty[i].end()));
      if (pop.unitsPerLine[i] <= 0) pop.unitsPerLine[i] = 1.0;
    }
  }
  std::vector<Event> ev, cev;
  std::vector<PurchaseEvent> series;
  for (auto m : sample) {
    productEvents(p, pop, m, ev);
    categoryEvents(ev, pop, cev);
    seriesOf(ev, series, [&](std::int64_t key, std::span<const PurchaseEvent> s) {
      pop.productIntervals.addSeries(pop.items.external(static_cast<ItemIndex>(key)), s);
    });
    seriesOf(cev, series, [&](std::int64_t key, std::span<const PurchaseEvent> s) {
      pop.categoryIntervals.addSeries(key, s);
    });
  }
  pop.productIntervals.finish();
  pop.categoryIntervals.finish();
  pop.productParams.priorWeight = pop.productIntervals.credibility(pop.productParams.priorWeight);
  pop.categoryParams.priorWeight =
      pop.categoryIntervals.credibility(pop.categoryParams.priorWeight);
  report.credibility = pop.productParams.priorWeight;

  // Segment thresholds over every member (cheap: one pass over the lines).
  {
    std::vector<MemberActivity> acts;
    acts.reserve(n);
    std::unordered_map<std::int64_t, int> catCount;
    for (std::size_t m = 0; m < n; ++m) acts.push_back(activityOf(p, pop, m, today, catCount));
    pop.thresholds = segmentThresholds(acts, today);
  }

  // Next-basket model on the sample. The calibration members' last baskets are held out (not fitted
  // on) and become the targets that turn a rank into a probability: affinity = the share of
  // members whose next basket held their rank-r item.
  BasketDataset data;
  for (ItemIndex i = 0; i < items; ++i) data.items.intern(pop.items.external(i));
  std::vector<std::size_t> calibration;
  {
    std::size_t eligible = 0;
    for (auto m : sample) eligible += p.basket[p.first[m + 1] - 1] != p.basket[p.first[m]];
    const std::size_t calStride = std::max<std::size_t>(
        1, (eligible + o.calibrationMembers - 1) / std::max<std::size_t>(1, o.calibrationMembers));
    std::size_t k = 0;
    for (auto m : sample)
      if (p.basket[p.first[m + 1] - 1] != p.basket[p.first[m]] && k++ % calStride == 0)
        calibration.push_back(m);
  }
  std::vector<ItemIndex> scratch;
  {
    std::size_t c = 0;
    for (std::size_t s = 0; s < sample.size(); ++s) {
      const auto m = sample[s];
      const bool held = c < calibration.size() && calibration[c] == m;
      const auto idx = data.members.intern(std::to_string(p.memberIds[m]));
      addBaskets(p, m, idx, data.history, held ? 1 : 0, scratch);
      if (held) {
        // The last basket alone, as the future.
        const auto e = p.first[m + 1];
        auto b = e - 1;
        while (b > p.first[m] && p.basket[b - 1] == p.basket[e - 1]) --b;
        scratch.assign(p.product.begin() + b, p.product.begin() + e);
        data.future.add(idx, scratch);
        ++c;
      }
    }
    data.history.finish(data.members.size());
    data.future.finish(data.members.size());
  }
  pop.model = std::make_unique<NextBasketModel>(ModelKind::Blend);
  pop.model->fit(data, {});

  const std::size_t depth = o.affinityDepth;
  std::vector<double> hits(depth, 0);
  double tailItems = 0, tailHits = 0, evaluated = 0;
  ScoringWorkspace ws;
  std::vector<ItemIndex> ranked;
  std::vector<std::uint8_t> inTop(items, 0);
  for (MemberIndex mi = 0; mi < data.members.size(); ++mi) {
    const auto target = data.target(mi);
    if (target.empty() || data.history.basketsOf(mi) == 0) continue;
    pop.model->recommend(data.history, mi, depth, ranked, ws);
    evaluated += 1;
    for (std::size_t r = 0; r < ranked.size() && r < depth; ++r) {
      inTop[ranked[r]] = 1;
      if (std::binary_search(target.begin(), target.end(), ranked[r])) hits[r] += 1;
    }
    // Items the member bought before but ranked below the list: their hit rate is the floor.
    std::set<ItemIndex> bought;
    for (auto b = data.history.firstBasket(mi); b < data.history.endBasket(mi); ++b)
      for (auto it : data.history.basket(b)) bought.insert(it);
    for (auto it : bought) {
      if (inTop[it]) continue;
      tailItems += 1;
      if (std::binary_search(target.begin(), target.end(), it)) tailHits += 1;
    }
    for (auto it : ranked) inTop[it] = 0;
  }
  pop.affinityByRank.assign(depth, 0);
  // Hit rates per rank, made non-increasing (a lower rank is never more likely): a running
  // minimum over a noisy estimate from a few thousand baskets.
  double floor = 1.0;
  for (std::size_t r = 0; r < depth; ++r) {
    const double rate = evaluated > 0 ? (hits[r] + 0.5) / (evaluated + 1) : 0;
    floor = std::min(floor, rate);
    pop.affinityByRank[r] = floor;
  }
  pop.affinityTail = tailItems > 0 ? std::min(floor, tailHits / tailItems) : 0;
  report.affinityByRank = pop.affinityByRank;
  report.affinityTail = pop.affinityTail;
}

struct MemberModels {
  std::vector<ProductModelRow> products;
  std::vector<CategoryModelRow> categories;
  std::vector<ProfileRow> profiles;
  std::vector<MemberOfferInput> offers;  // per member of the chunk, without coupon state yet
};

void computeChunk(const Purchases& p, const Population& pop, const Catalog& catalog,
                  const std::vector<std::size_t>& chunk, std::int32_t today, const BatchOptions& o,
                  MemberModels& out) {
  BasketLog log;
  std::vector<ItemIndex> scratch;
  for (std::size_t i = 0; i < chunk.size(); ++i)
    addBaskets(p, chunk[i], static_cast<MemberIndex>(i), log, 0, scratch);
  log.finish(chunk.size());

  ScoringWorkspace ws;
  std::vector<ItemIndex> ranked;
  std::vector<Event> ev, cev;
  std::vector<PurchaseEvent> series;
  std::unordered_map<std::int64_t, int> catCount;
  std::unordered_map<ItemIndex, std::size_t> rankOf;
  for (std::size_t i = 0; i < chunk.size(); ++i) {
    const auto m = chunk[i];
    const auto memberId = p.memberIds[m];
    const auto act = activityOf(p, pop, m, today, catCount);
    const auto seg = assignSegment(act, pop.thresholds, today);
    ProfileRow prof;
    prof.memberId = memberId;
    prof.segment = segmentName(seg);
    prof.recencyDays = today - act.lastDay;
    prof.frequency = act.visits;
    prof.monetaryMinor = act.spendMinor;
    prof.ltvMinor = lifetimeValueMinor(act, today);
    prof.lastDay = act.lastDay;
    prof.modeledThrough = p.maxTransaction[m];
    out.profiles.push_back(prof);

    pop.model->recommend(log, static_cast<MemberIndex>(i), o.affinityDepth, ranked, ws);
    rankOf.clear();
    for (std::size_t r = 0; r < ranked.size(); ++r) rankOf.emplace(ranked[r], r);

    MemberOfferInput in;
    in.memberId = memberId;
    in.segment = seg;
    in.ltvMinor = prof.ltvMinor;
    in.stores = p.stores[m];
    // Spend of the last 20 baskets: the member's typical basket for basket campaigns.
    {
      constexpr std::size_t kRecentBaskets = 20;
      const auto b = p.first[m];
      auto l = p.first[m + 1];
      while (l > b && in.basketSpendsMinor.size() < kRecentBaskets) {
        const auto basket = p.basket[l - 1];
        std::int64_t spend = 0;
        for (; l > b && p.basket[l - 1] == basket; --l) spend += p.amount[l - 1];
        in.basketSpendsMinor.push_back(spend);
      }
    }

    productEvents(p, pop, m, ev);
    categoryEvents(ev, pop, cev);
    seriesOf(ev, series, [&](std::int64_t key, std::span<const PurchaseEvent> s) {
      const auto item = static_cast<ItemIndex>(key);
      const auto productId = pop.items.external(item);
      IntervalPrior prior = pop.productIntervals.prior(productId);
      // A product too rare for its own population interval borrows its category's.
      if (prior.perUnitDays <= 0 && pop.categoryOf[item] != 0)
        prior = pop.categoryIntervals.prior(pop.categoryOf[item]);
      if (prior.perUnitDays <= 0) prior = pop.productIntervals.globalPrior();
      const auto est = estimateReplenishment(s, prior, pop.productParams);
      // expected_next_at: the next purchase given none up to today (the conditional median of
      // the gap distribution: the product's own with enough gaps, else its category's, else all).
      IntervalPrior shape = pop.productIntervals.shape(productId, pop.productParams.minGapsForShape);
      if (!shape.sortedGaps && pop.categoryOf[item] != 0)
        shape = pop.categoryIntervals.shape(pop.categoryOf[item], pop.productParams.minGapsForShape);
      if (!shape.sortedGaps) shape = pop.productIntervals.globalPrior();
      const double nextDay = nextPurchaseDayGiven(est, shape, today, pop.productParams);
      const auto r = rankOf.find(item);
      const double affinity = r != rankOf.end() ? pop.affinityByRank[r->second] : pop.affinityTail;
      ProductModelRow row;
      row.memberId = memberId;
      row.productId = productId;
      row.purchases = est.purchases;
      row.lastDay = est.lastDay;
      row.intervalDays = est.intervalDays;
      row.expectedNextDay = static_cast<std::int32_t>(std::lround(nextDay));
      row.confidence = est.confidence;
      row.affinity = affinity;
      row.explanation = replenishmentExplanation(est, today);
      ProductSignal sig;
      sig.productId = productId;
      sig.affinity = affinity;
      sig.replenishment = true;
      sig.expectedNextDay = est.expectedNextDay;
      sig.intervalDays = est.intervalDays;
      sig.confidence = est.confidence;
      sig.explanation = row.explanation;
      in.products.push_back(std::move(sig));
      out.products.push_back(std::move(row));
    });
    seriesOf(cev, series, [&](std::int64_t key, std::span<const PurchaseEvent> s) {
      IntervalPrior prior = pop.categoryIntervals.prior(key);
      if (prior.perUnitDays <= 0) prior = pop.categoryIntervals.globalPrior();
      const auto est = estimateReplenishment(s, prior, pop.categoryParams);
      IntervalPrior shape = pop.categoryIntervals.shape(key, pop.categoryParams.minGapsForShape);
      if (!shape.sortedGaps) shape = pop.categoryIntervals.globalPrior();
      CategoryModelRow row;
      row.memberId = memberId;
      row.categoryId = key;
      row.purchases = est.purchases;
      row.lastDay = est.lastDay;
      row.intervalDays = est.intervalDays;
      row.confidence = est.confidence;
      row.expectedNextDay = static_cast<std::int32_t>(
          std::lround(nextPurchaseDayGiven(est, shape, today, pop.categoryParams)));
      out.categories.push_back(row);
    });
    // Explore items of the next-basket list (never bought): affinity only.
    for (std::size_t r = 0; r < ranked.size(); ++r) {
      const auto productId = pop.items.external(ranked[r]);
      bool bought = false;
      for (const auto& s : in.products) bought = bought || s.productId == productId;
      if (bought || !catalog.count(productId)) continue;
      ProductSignal sig;
      sig.productId = productId;
      sig.affinity = pop.affinityByRank[r];
      in.products.push_back(std::move(sig));
    }
    out.offers.push_back(std::move(in));
  }
}

// One chunk in one transaction: member locks, current coupon state, models, then budgets (campaign
// row locks taken last, so they are held only for the coupon COPY and the commit).
BatchReport processChunk(pqxx::connection& conn, const Purchases& p, const Population& pop,
                         const Catalog& catalog, const std::vector<Campaign>& campaigns,
                         const std::vector<std::size_t>& chunk, std::int32_t today,
                         std::int64_t nowMs, const std::string& batchRun, const BatchOptions& o,
                         CodeSource& codes) {
  BatchReport report;
  MemberModels mm;
  auto t = Steady::now();
  computeChunk(p, pop, catalog, chunk, today, o, mm);
  report.computeSeconds = since(t);
  std::vector<std::int64_t> ids;
  for (auto m : chunk) ids.push_back(p.memberIds[m]);
  std::unordered_map<std::int64_t, std::size_t> pos;
  for (std::size_t i = 0; i < ids.size(); ++i) pos[ids[i]] = i;

  // The transaction starts with the member locks: everything read after them is current.
  BatchRepository::Chunk tx(conn, ids);
  for (const auto& c : tx.coupons(nowMs)) {
    auto& in = mm.offers[pos.at(c.memberId)];
    if (c.active) ++in.activeCoupons;
    ++in.issuedPerCampaign[c.campaignId];
    in.issuedProducts.insert({c.campaignId, c.productId});
  }
  // A held-out member stays held out: their "coupon" counts as given for the per-member limit.
  for (const auto& [member, campaign] : tx.holdouts())
    ++mm.offers[pos.at(member)].issuedPerCampaign[campaign];
  for (const auto& [member, purpose] : tx.consents())
    mm.offers[pos.at(member)].consents.insert(purpose);
  t = Steady::now();
  tx.writeModels(mm.products, mm.categories, mm.profiles);
  report.modelWriteSeconds = since(t);
  t = Steady::now();
  report.productModels = static_cast<std::int64_t>(mm.products.size());
  report.categoryModels = static_cast<std::int64_t>(mm.categories.size());

  // Offers per member, then budgets per campaign (ascending id: the lock order), best first.
  std::map<std::int64_t, std::vector<std::pair<std::int64_t, ChosenOffer>>> byCampaign, heldOut;
  std::vector<std::tuple<std::int64_t, std::int64_t, bool>> addressed;
  for (const auto& in : mm.offers)
    for (auto& offer : chooseOffers(in, campaigns, catalog, today, nowMs, o.offers))
      (offer.holdout ? heldOut : byCampaign)[offer.campaignId].emplace_back(in.memberId,
                                                                            std::move(offer));
  std::vector<CouponRow> coupons;
  for (auto& [campaignId, offers] : byCampaign) {
    std::stable_sort(offers.begin(), offers.end(),
                     [](const auto& a, const auto& b) { return a.second.score > b.second.score; });
    std::vector<std::int64_t> values;
    for (const auto& [member, offer] : offers) values.push_back(offer.valueMinor);
    const auto granted = tx.reserve(campaignId, values);
    double lowestGranted = std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < offers.size(); ++i) {
      if (!granted[i]) {
        ++report.budgetRefused;
        continue;
      }
      lowestGranted = std::min(lowestGranted, offers[i].second.score);
      addressed.emplace_back(offers[i].first, campaignId, false);
      report.issuedValueMinor += offers[i].second.valueMinor;
      coupons.push_back({offers[i].first, std::move(offers[i].second), codes.next()});
    }
    // Held-out offers count only as far as the budget reached: a held-out member is one who would
    // have received the coupon, or the holdout outgrows the treated group once a budget runs out
    // and the lift comparison is biased toward the lower-scored members.
    for (const auto& [member, offer] : heldOut[campaignId]) {
      if (offer.score < lowestGranted) continue;
      addressed.emplace_back(member, campaignId, true);
      ++report.holdouts;
    }
  }
  report.couponsIssued = static_cast<std::int64_t>(coupons.size());
  tx.writeCoupons(coupons, batchRun, nowMs);
  tx.addCampaignMembers(addressed, nowMs);
  tx.commit();
  report.couponWriteSeconds = since(t);
  return report;
}

}  // namespace

std::string BatchReport::toJson() const {
  std::ostringstream js;
  js.precision(4);
  js << "{\"members\": " << members << ", \"recomputed\": " << recomputed
     << ", \"lines\": " << lines << ", \"campaigns\": " << campaigns
     << ", \"product_models\": " << productModels << ", \"category_models\": " << categoryModels
     << ", \"coupons_issued\": " << couponsIssued << ", \"holdouts\": " << holdouts
     << ", \"budget_refused\": " << budgetRefused
     << ", \"issued_value_minor\": " << issuedValueMinor << ", \"affinity_by_rank\": [";
  for (std::size_t r = 0; r < affinityByRank.size() && r < 10; ++r)
    js << (r ? ", " : "") << affinityByRank[r];
  js << "], \"affinity_tail\": " << affinityTail << ", \"credibility_k\": " << credibility
     << ", \"read_s\": " << readSeconds << ", \"fit_s\": " << fitSeconds
     << ", \"members_s\": " << memberSeconds << ", \"compute_s\": " << computeSeconds
     << ", \"model_write_s\": " << modelWriteSeconds << ", \"coupon_write_s\": " << couponWriteSeconds
     << ", \"seconds\": " << seconds << "}";
  return js.str();
}

Result<BatchReport> runBatch(const std::string& conninfo, const BatchOptions& o, const Clock& clock,
                             CodeSource& codes) {
  const auto started = Steady::now();
  BatchReport report;
  pqxx::connection conn(conninfo);
  BatchRepository repo(conn);
  if (!o.campaignsFile.empty()) {
    auto specs = parseCampaignFile(o.campaignsFile);
    if (!specs) return specs.error();
    repo.upsertCampaigns(*specs);
  }
  const std::int64_t nowMs = o.asOfMs ? *o.asOfMs : clock.nowUnixMs();
  const auto today = static_cast<std::int32_t>(nowMs / kDayMs);
  const std::string batchRun = o.batchRun.empty() ? "batch:" + pgTimestampUtc(nowMs) : o.batchRun;
  const auto campaigns = repo.activeCampaigns(nowMs);
  report.campaigns = static_cast<std::int64_t>(campaigns.size());
  Catalog catalog = repo.catalog();
  const auto modeled = repo.modeledThrough();

  Population pop;
  std::vector<ProductStats> stats;
  const Purchases p = readPurchases(repo, today, pop, stats, o.progress, report.lines);
  report.members = static_cast<std::int64_t>(p.members());
  report.readSeconds = since(started);

  const auto fitStart = Steady::now();
  if (o.progress) o.progress->phase("fit population models", 0);
  stats.resize(pop.items.size());
  fitPopulation(p, pop, catalog, stats, o, today, report);
  if (o.progress) o.progress->finish();
  report.fitSeconds = since(fitStart);

  // Members with purchases newer than their models (all of them with --all).
  std::vector<std::size_t> todo;
  for (std::size_t m = 0; m < p.members(); ++m) {
    if (p.first[m + 1] == p.first[m]) continue;
    const auto it = modeled.find(p.memberIds[m]);
    if (o.all || it == modeled.end() || p.maxTransaction[m] > it->second) todo.push_back(m);
  }
  report.recomputed = static_cast<std::int64_t>(todo.size());

  const auto memberStart = Steady::now();
  if (o.progress) o.progress->phase("members", static_cast<std::int64_t>(todo.size()));
  // Chunks go to `threads` workers, each with its own connection: the database's work (COPY,
  // foreign-key checks) runs on every core. Chunks hold consecutive members, so two workers of one
  // run never wait on each other's member locks; they meet only briefly on the campaign rows.
  std::mutex mu;  // guards report counters, progress and the first error
  std::atomic<std::size_t> nextChunk{0};
  std::string firstError;
  const auto worker = [&] {
    try {
      pqxx::connection wconn(conninfo);
      BatchRepository wrepo(wconn);
      for (;;) {
        const std::size_t start = nextChunk.fetch_add(o.chunkMembers);
        if (start >= todo.size()) break;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (!firstError.empty()) break;
        }
        const std::vector<std::size_t> chunk(
            todo.begin() + static_cast<std::ptrdiff_t>(start),
            todo.begin() +
                static_cast<std::ptrdiff_t>(std::min(todo.size(), start + o.chunkMembers)));
        const auto r = processChunk(wconn, p, pop, catalog, campaigns, chunk, today, nowMs,
                                    batchRun, o, codes);
        std::lock_guard<std::mutex> lock(mu);
        report.couponsIssued += r.couponsIssued;
        report.holdouts += r.holdouts;
        report.budgetRefused += r.budgetRefused;
        report.issuedValueMinor += r.issuedValueMinor;
        report.productModels += r.productModels;
        report.categoryModels += r.categoryModels;
        report.computeSeconds += r.computeSeconds;
        report.modelWriteSeconds += r.modelWriteSeconds;
        report.couponWriteSeconds += r.couponWriteSeconds;
        if (o.progress) o.progress->advance(static_cast<std::int64_t>(chunk.size()));
      }
    } catch (const std::exception& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (firstError.empty()) firstError = e.what();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < std::max(1u, o.threads); ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (o.progress) o.progress->finish();
  if (!firstError.empty()) return fail(firstError);
  report.memberSeconds = since(memberStart);
  report.seconds = since(started);
  return report;
}

}  // namespace aisle::engine
