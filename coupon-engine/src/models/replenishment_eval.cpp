#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>
#include <unordered_map>

#include "aisle/engine/replenishment.h"

namespace aisle::engine {
namespace {

struct Errors {
  double model, product, personal, conditional;
};

void add(ReplenishmentEvalBucket& b, const Errors& e) {
  ++b.pairs;
  b.modelMae += e.model;
  b.productMedianMae += e.product;
  b.personalMedianMae += e.personal;
  b.conditionalMedianMae += e.conditional;
  b.modelWithin7 += e.model <= 7;
  b.productMedianWithin7 += e.product <= 7;
  b.personalMedianWithin7 += e.personal <= 7;
  b.conditionalMedianWithin7 += e.conditional <= 7;
}

void finish(ReplenishmentEvalBucket& b) {
  if (b.pairs == 0) return;
  const auto n = static_cast<double>(b.pairs);
  for (double* v : {&b.modelMae, &b.productMedianMae, &b.personalMedianMae, &b.conditionalMedianMae,
                    &b.modelWithin7, &b.productMedianWithin7, &b.personalMedianWithin7,
                    &b.conditionalMedianWithin7})
    *v /= n;
}

std::string bucketJson(const ReplenishmentEvalBucket& b) {
  std::ostringstream js;
  js.precision(4);
  js << "{\"pairs\": " << b.pairs << ", \"model_mae_days\": " << b.modelMae
     << ", \"product_median_mae_days\": " << b.productMedianMae
     << ", \"personal_median_mae_days\": " << b.personalMedianMae
     << ", \"conditional_median_mae_days\": " << b.conditionalMedianMae
     << ", \"model_within_7d\": " << b.modelWithin7
     << ", \"product_median_within_7d\": " << b.productMedianWithin7
     << ", \"personal_median_within_7d\": " << b.personalMedianWithin7
     << ", \"conditional_median_within_7d\": " << b.conditionalMedianWithin7 << "}";
  return js.str();
}

}  // namespace

std::string ReplenishmentEvalReport::toJson() const {
  return "{\"cutoff_day\": " + std::to_string(cutoffDay) +
         ", \"credibility_k\": " + std::to_string(credibility) +
         ", \"members\": " + std::to_string(members) + ", \"items\": " + std::to_string(items) +
         ", \"all\": " + bucketJson(all) + ", \"history_1\": " + bucketJson(oneBefore) +
         ", \"history_2_3\": " + bucketJson(twoToThreeBefore) +
         ", \"history_4_plus\": " + bucketJson(fourPlusBefore) + "}";
}

ReplenishmentEvalReport evaluateReplenishment(const std::vector<DatedPurchase>& purchases,
                                              std::int32_t cutoffDay,
                                              const ReplenishmentParams& params) {
  ReplenishmentEvalReport report;
  report.cutoffDay = cutoffDay;
  // (member, item) -> days with quantities, history and future apart.
  std::map<std::pair<std::int64_t, std::int64_t>, std::map<std::int32_t, double>> byPair;
  std::unordered_map<std::int64_t, std::vector<double>> itemQty;  // quantities bought (history)
  for (const auto& p : purchases) {
    byPair[{p.member, p.item}][p.day] += p.quantity;
    if (p.day < cutoffDay) itemQty[p.item].push_back(p.quantity);
  }
  // The usual quantity is the median, not the mean: a few bulk buys must not make every ordinary
  // purchase look like a fraction of a unit.
  std::unordered_map<std::int64_t, double> usualQty;
  for (auto& [item, q] : itemQty) usualQty[item] = medianOf(std::move(q));
  const auto usual = [&](std::int64_t item) {
    const auto it = usualQty.find(item);
    return it == usualQty.end() || it->second <= 0 ? 1.0 : it->second;
  };
  // Population priors from the history only.
  PopulationIntervals quantityAware, quantityBlind;
  ReplenishmentParams blindParams = params;
  blindParams.quantityElasticity = 0;
  std::unordered_map<std::int64_t, std::vector<double>> plainGaps;
  std::vector<double> allGaps;
  std::vector<PurchaseEvent> ev;
  for (const auto& [key, days] : byPair) {
    ev.clear();
    for (const auto& [day, q] : days)
      if (day < cutoffDay) ev.push_back({day, q / usual(key.second)});
    quantityAware.addSeries(key.second, ev, params);
    quantityBlind.addSeries(key.second, ev, blindParams);
    for (std::size_t i = 1; i < ev.size(); ++i) {
      plainGaps[key.second].push_back(ev[i].day - ev[i - 1].day);
      allGaps.push_back(ev[i].day - ev[i - 1].day);
    }
  }
  quantityAware.finish();
  quantityBlind.finish();
  const double globalMedian = medianOf(allGaps);
  // Shrinkage strength estimated from the history (empirical Bayes), never from the targets.
  ReplenishmentParams modelParams = params;
  modelParams.priorWeight = quantityAware.credibility(params.priorWeight);
  report.credibility = modelParams.priorWeight;
  std::unordered_map<std::int64_t, double> productMedian;
  for (auto& [item, gaps] : plainGaps) productMedian[item] = medianOf(gaps);

  std::map<std::int64_t, bool> members;
  std::map<std::int64_t, bool> items;
  for (const auto& [key, days] : byPair) {
    ev.clear();
    std::int32_t target = -1;
    std::vector<double> ownGaps;
    for (const auto& [day, q] : days) {
      if (day < cutoffDay) {
        if (!ev.empty()) ownGaps.push_back(day - ev.back().day);
        ev.push_back({day, q / usual(key.second)});
      } else if (target < 0) {
        target = day;
      }
    }
    if (ev.empty() || target < 0) continue;
    members[key.first] = true;
    items[key.second] = true;
    const auto pm = productMedian.find(key.second);
    const double productDays =
        pm != productMedian.end() && pm->second > 0 ? pm->second : globalMedian;
    IntervalPrior prior = quantityAware.prior(key.second);
    if (prior.perUnitDays <= 0) prior = quantityAware.globalPrior();  // the baseline's fallback too
    const auto est = estimateReplenishment(ev, prior, modelParams);
    // The gap distribution: the product's own when it has enough gaps, else every product's.
    IntervalPrior shape = quantityAware.shape(key.second, params.minGapsForShape);
    if (!shape.sortedGaps) shape = quantityAware.globalPrior();
    IntervalPrior blindShape = quantityBlind.shape(key.second, params.minGapsForShape);
    if (!blindShape.sortedGaps) blindShape = quantityBlind.globalPrior();
    const double last = ev.back().day;
    const auto clampErr = [&](double predicted) {
      return std::abs(std::max(predicted, static_cast<double>(cutoffDay)) - target);
    };
    Errors e;
    e.model = clampErr(nextPurchaseDayGiven(est, shape, cutoffDay, modelParams));
    e.product = clampErr(last + productDays);
    e.personal = clampErr(last + (ownGaps.empty() ? productDays : medianOf(ownGaps)));
    e.conditional = blindShape.sortedGaps
                        ? clampErr(conditionalMedianDay(ev.back().day, 1.0, *blindShape.sortedGaps,
                                                        cutoffDay))
                        : e.product;
    add(report.all, e);
    add(ev.size() == 1   ? report.oneBefore
        : ev.size() <= 3 ? report.twoToThreeBefore
                         : report.fourPlusBefore,
        e);
  }
  for (auto* b : {&report.all, &report.oneBefore, &report.twoToThreeBefore, &report.fourPlusBefore})
    finish(*b);
  report.members = members.size();
  report.items = items.size();
  return report;
}

}  // namespace aisle::engine
