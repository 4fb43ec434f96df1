#pragma once
// Replenishment: when will a member buy a product (or anything of a category) again?
//
// Consumption is modelled per unit: a purchase of q units lasts q times the member's per-unit
// interval, so two tubes last about twice as long as one. The per-unit interval is estimated in
// log space (intervals are skewed: one long holiday gap must not double the estimate): the
// member's mean log per-unit interval over their consecutive purchases (days between them / units
// bought at the first of each pair), shrunk toward the log of the population's median per-unit
// interval for the product (else its category, else all products) with `priorWeight`
// pseudo-observations. That weight is Buhlmann's credibility constant k = within-member variance /
// between-member variance, estimated from the population (PopulationIntervals::credibility()): a
// member with n intervals gets weight n / (n + k). Empirical Bayes: the data say how much a
// member's own history is worth.
//
// Consumption scales with quantity as units^quantityElasticity (0.5, chosen on the validation split:
// two packs last longer than one, but not twice as long, in both real data sets).
//
// The date that matters is not "last purchase + interval" but the next purchase *given that none
// happened up to today*: most pairs are already past their usual interval when they are scored,
// and a member who has not rebought by then is on the long tail of their gaps. So the predicted
// day is last + the median of the population's gaps (scaled to the member and the quantity) among
// those longer than the time already elapsed: the conditional median, which is what minimizes the
// absolute error of a date. See OFFERS.md for why this, not the interval itself, beats the baselines.
//
// Days are plain integers (any monotone day count, e.g. days since 1970-01-01); quantities are
// normalized units (quantity / the product's usual quantity per purchase, so weighed goods work).
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace aisle::engine {

struct PurchaseEvent {
  std::int32_t day = 0;
  double units = 1.0;  // normalized quantity bought that day (> 0)
};

struct IntervalPrior {
  double perUnitDays = 0;  // population per-unit interval; 0: unknown
  double cv = 1.0;         // population coefficient of variation of per-unit intervals
  std::size_t gaps = 0;    // consecutive purchase pairs observed
  // The shape of the gaps: sorted per-unit gaps (all of them up to 1,025, else 1,025 evenly spaced
  // order statistics); null when unknown.
  std::shared_ptr<const std::vector<float>> sortedGaps;
};

struct ReplenishmentParams {
  double priorWeight = 2.0;    // pseudo-observations of the population interval (k)
  double fallbackDays = 30.0;  // per-unit interval when neither member nor population knows one
  double minDays = 1.0, maxDays = 365.0;
  double minUnits = 0.25, maxUnits = 8.0;  // clamp of normalized units (outliers, bulk buys)
  // A purchase of u units lasts u^elasticity times one unit (1: proportional; 0: quantity-blind).
  double quantityElasticity = 0.5;
  // A key needs this many observed gaps for its own gap distribution in the conditional date;
  // fewer: its category's, else all products' (a noisy small sample did worse on validation).
  std::size_t minGapsForShape = 100;
};

struct ReplenishmentEstimate {
  int purchases = 0;
  std::int32_t lastDay = 0;
  double lastUnits = 1.0;
  double perUnitDays = 0;      // shrunk per-unit interval
  double intervalDays = 0;     // expected days until the next purchase after the last one
  double expectedNextDay = 0;  // lastDay + intervalDays
  double confidence = 0;       // 0..1: personal evidence x regularity
  double personalWeight = 0;   // n / (n + k): how much of the interval is the member's own
  // The member's rhythm relative to the prior: perUnitDays / prior.perUnitDays (1 with no history).
  double memberScale = 1.0;
};

// `events` oldest first, one per day (merge same-day purchases before: units add up).
ReplenishmentEstimate estimateReplenishment(std::span<const PurchaseEvent> events,
                                            const IntervalPrior& prior,
                                            const ReplenishmentParams& params = {});

// The predicted day of the next purchase given none before `asOfDay` (>= asOfDay): lastDay + the
// median of {g x scale : g in shape's gaps, g x scale >= asOfDay - lastDay}, scale = the member's
// scale x lastUnits^elasticity. Without a shape, max(expectedNextDay, asOfDay); when every gap is
// shorter than the time elapsed (far overdue), asOfDay.
double nextPurchaseDayGiven(const ReplenishmentEstimate& e, const IntervalPrior& shape,
                            std::int32_t asOfDay, const ReplenishmentParams& params = {});
// The core of it: lastDay + conditional median of scale x gaps beyond asOfDay.
double conditionalMedianDay(std::int32_t lastDay, double scale, const std::vector<float>& sortedGaps,
                            std::int32_t asOfDay);

// "you buy this about every 14 days; last bought 12 days ago" (today = the day of the run). When
// the interval is mostly the population's (personal weight under a half) it says so instead:
// "shoppers usually buy this again after about 30 days; ...".
std::string replenishmentExplanation(const ReplenishmentEstimate& e, std::int32_t today);

// Population per-unit intervals of many keys (products or categories), fitted from every
// member's event series: the median per-unit interval and its coefficient of variation, over all
// consecutive purchase pairs of all members.
class PopulationIntervals {
 public:
  void addSeries(std::int64_t key, std::span<const PurchaseEvent> events,
                 const ReplenishmentParams& params = {});
  void finish();  // computes medians; addSeries() after finish() is not allowed
  IntervalPrior prior(std::int64_t key) const;           // perUnitDays 0 when the key has no pairs
  IntervalPrior globalPrior() const { return global_; }  // over every key
  // The key's prior when it has at least `minGaps` gaps (its shape is then its own), else an
  // empty prior (perUnitDays 0).
  IntervalPrior shape(std::int64_t key, std::size_t minGaps) const;
  // Buhlmann's k over log per-unit intervals, relative to each key's median; `fallback` when the
  // population has too few members with two or more intervals to tell.
  double credibility(double fallback = 2.0) const;
  std::size_t keys() const { return priors_.size(); }

 private:
  struct SeriesStats {
    std::int64_t key;
    std::uint32_t n;       // intervals
    float meanLog, ssLog;  // mean and sum of squared deviations of log per-unit intervals
  };
  std::unordered_map<std::int64_t, std::vector<float>> samples_;
  std::unordered_map<std::int64_t, IntervalPrior> priors_;
  std::vector<SeriesStats> series_;
  IntervalPrior global_;
  double k_ = 0;  // 0: unknown
};

// Median of a sample (the mean of the two middle values for even sizes); 0 when empty.
double medianOf(std::vector<double> values);

}  // namespace aisle::engine

namespace aisle::engine {

// Offline evaluation of next-purchase dates on a time split.
struct DatedPurchase {
  std::int64_t member = 0, item = 0;
  std::int32_t day = 0;
  double quantity = 1.0;
};

struct ReplenishmentEvalBucket {
  std::size_t pairs = 0;
  double modelMae = 0, productMedianMae = 0, personalMedianMae = 0, conditionalMedianMae = 0;
  // Share of pairs predicted within +-7 days.
  double modelWithin7 = 0, productMedianWithin7 = 0, personalMedianWithin7 = 0,
         conditionalMedianWithin7 = 0;
};

struct ReplenishmentEvalReport {
  std::int32_t cutoffDay = 0;
  double credibility = 0;  // the k used (estimated on the history)
  std::size_t members = 0, items = 0;
  ReplenishmentEvalBucket all, oneBefore, twoToThreeBefore, fourPlusBefore;  // by purchases before
  std::string toJson() const;
};

// Protocol: days before `cutoffDay` are history, the rest the future. Every (member, item) bought
// in the history and again in the future is a target: the first future purchase day. Population
// priors come from the history only. Each method predicts a date, clamped to >= cutoffDay (the
// member did not buy it between their last purchase and the cutoff); the error is |predicted -
// actual| in days. Baselines: last purchase + the product's median interval between purchases
// (per purchase, quantity-blind, no shrinkage) and the member's own median interval (the
// product's when they bought it once), and a third, to show where the model's gain comes from: the
// population's conditional median (nextPurchaseDayGiven with no member, quantity-blind gaps, the
// product's own shape from minGapsForShape gaps, else all products'). Pairs not bought again before the data end are censored and
// left out, for every method alike.
ReplenishmentEvalReport evaluateReplenishment(const std::vector<DatedPurchase>& purchases,
                                              std::int32_t cutoffDay,
                                              const ReplenishmentParams& params = {});

}  // namespace aisle::engine
