#include "aisle/engine/replenishment.h"

#include <algorithm>
#include <cmath>

namespace aisle::engine {
namespace {

double clampUnits(double u, const ReplenishmentParams& p) {
  return std::clamp(u, p.minUnits, p.maxUnits);
}

// How many days' worth of consumption `units` are, relative to one unit.
double unitFactor(double units, const ReplenishmentParams& p) {
  return std::pow(clampUnits(units, p), p.quantityElasticity);
}

// The sorted gaps, thinned to at most 1,025 evenly spaced order statistics (bounded memory per key
// at any population size; the conditional median needs the shape, not every value).
std::shared_ptr<const std::vector<float>> shapeOf(std::vector<double> gaps) {
  std::sort(gaps.begin(), gaps.end());
  constexpr std::size_t kKeep = 1025;
  auto out = std::make_shared<std::vector<float>>();
  if (gaps.size() <= kKeep) {
    out->assign(gaps.begin(), gaps.end());
  } else {
    out->reserve(kKeep);
    for (std::size_t i = 0; i < kKeep; ++i)
      out->push_back(static_cast<float>(gaps[i * (gaps.size() - 1) / (kKeep - 1)]));
  }
  return out;
}

// Coefficient of variation of a sample (0 for fewer than two values).
double cvOf(std::span<const double> v) {
  if (v.size() < 2) return 0;
  double mean = 0;
  for (double x : v) mean += x;
  mean /= static_cast<double>(v.size());
  if (mean <= 0) return 0;
  double var = 0;
  for (double x : v) var += (x - mean) * (x - mean);
  var /= static_cast<double>(v.size() - 1);
  return std::sqrt(var) / mean;
}

}  // namespace

double medianOf(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  const double upper = values[mid];
  if (values.size() % 2 == 1) return upper;
  const double lower =
      *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid));
  return (lower + upper) / 2;
}

ReplenishmentEstimate estimateReplenishment(std::span<const PurchaseEvent> events,
                                            const IntervalPrior& prior,
                                            const ReplenishmentParams& p) {
  ReplenishmentEstimate e;
  if (events.empty()) return e;
  e.purchases = static_cast<int>(events.size());
  e.lastDay = events.back().day;
  e.lastUnits = clampUnits(events.back().units, p);

  std::vector<double> perUnit;
  perUnit.reserve(events.size());
  double sumLog = 0;
  for (std::size_t i = 1; i < events.size(); ++i) {
    const double gap = events[i].day - events[i - 1].day;
    if (gap <= 0) continue;  // same-day events should be merged; ignore rather than divide by 0
    const double r = std::max(gap / unitFactor(events[i - 1].units, p), p.minDays);
    perUnit.push_back(r);
    sumLog += std::log(r);
  }
  const double n = static_cast<double>(perUnit.size());
  const bool priorKnown = prior.perUnitDays > 0;
  const double priorDays = priorKnown ? prior.perUnitDays : p.fallbackDays;
  // Credibility-weighted mean of logs: n own intervals against k pseudo-intervals of the prior.
  const double logDays = (sumLog + p.priorWeight * std::log(priorDays)) / (n + p.priorWeight);
  e.perUnitDays = std::clamp(std::exp(logDays), p.minDays, p.maxDays);
  e.memberScale = e.perUnitDays / priorDays;
  e.intervalDays = std::clamp(e.perUnitDays * unitFactor(e.lastUnits, p), p.minDays, p.maxDays);
  e.expectedNextDay = e.lastDay + e.intervalDays;

  // Confidence: how much of the estimate is the member's own (n / (n + k)), times how regular the
  // rhythm is (1 / (1 + cv), the member's cv from 3 intervals on, else the population's). A
  // single purchase keeps 30 % of the population's regularity: the category rhythm still says
  // something; an unknown product says little.
  const double w = n / (n + p.priorWeight);
  e.personalWeight = w;
  const double cv = perUnit.size() >= 3 ? cvOf(perUnit) : (priorKnown ? prior.cv : 1.5);
  const double regularity = 1.0 / (1.0 + cv);
  e.confidence = std::clamp(regularity * (0.3 + 0.7 * w), 0.0, 1.0);
  return e;
}

double conditionalMedianDay(std::int32_t lastDay, double scale, const std::vector<float>& sortedGaps,
                            std::int32_t asOfDay) {
  const double elapsed = asOfDay - lastDay;
  if (sortedGaps.empty() || scale <= 0) return std::max<double>(asOfDay, lastDay);
  // Gaps g with g x scale >= elapsed: a suffix of the sorted sample.
  const auto first = std::lower_bound(sortedGaps.begin(), sortedGaps.end(), elapsed / scale,
                                      [](float g, double v) { return g < v; });
  const auto n = static_cast<std::size_t>(sortedGaps.end() - first);
  if (n == 0) return asOfDay;  // longer overdue than any observed gap: any day now
  const auto mid = static_cast<std::ptrdiff_t>(n / 2);
  const double median = n % 2 == 1 ? first[mid] : (first[mid - 1] + first[mid]) / 2.0;
  return std::max<double>(asOfDay, lastDay + median * scale);
}

double nextPurchaseDayGiven(const ReplenishmentEstimate& e, const IntervalPrior& shape,
                            std::int32_t asOfDay, const ReplenishmentParams& p) {
  if (e.purchases == 0) return asOfDay;
  if (!shape.sortedGaps || shape.sortedGaps->empty())
    return std::max<double>(e.expectedNextDay, asOfDay);
  return conditionalMedianDay(e.lastDay, e.memberScale * unitFactor(e.lastUnits, p),
                              *shape.sortedGaps, asOfDay);
}

std::string replenishmentExplanation(const ReplenishmentEstimate& e, std::int32_t today) {
  const long every = std::lround(e.intervalDays);
  const long ago = today - e.lastDay;
  std::string s;
  if (e.purchases >= 2 && e.personalWeight >= 0.5)
    s = "you buy this about every " + std::to_string(every) + (every == 1 ? " day" : " days");
  else
    s = "shoppers usually buy this again after about " + std::to_string(every) +
        (every == 1 ? " day" : " days");
  s += "; last bought ";
  if (ago <= 0)
    s += "today";
  else if (ago == 1)
    s += "yesterday";
  else
    s += std::to_string(ago) + " days ago";
  return s;
}

void PopulationIntervals::addSeries(std::int64_t key, std::span<const PurchaseEvent> events,
                                    const ReplenishmentParams& p) {
  if (events.size() < 2) return;
  auto& v = samples_[key];
  double sum = 0, sumSq = 0;
  std::uint32_t n = 0;
  for (std::size_t i = 1; i < events.size(); ++i) {
    const double gap = events[i].day - events[i - 1].day;
    if (gap <= 0) continue;
    const double r = std::max(gap / unitFactor(events[i - 1].units, p), p.minDays);
    v.push_back(static_cast<float>(r));
    sum += std::log(r);
    sumSq += std::log(r) * std::log(r);
    ++n;
  }
  if (n == 0) return;
  const double mean = sum / n;
  series_.push_back({key, n, static_cast<float>(mean),
                     static_cast<float>(std::max(0.0, sumSq - n * mean * mean))});
}

void PopulationIntervals::finish() {
  std::vector<double> all;
  for (auto& [key, v] : samples_) {
    if (v.empty()) continue;
    std::vector<double> d(v.begin(), v.end());
    all.insert(all.end(), d.begin(), d.end());
    IntervalPrior pr;
    // The median resists the long gaps of members who stopped and came back months later.
    pr.perUnitDays = medianOf(d);
    pr.cv = d.size() >= 3 ? cvOf(d) : 1.0;
    pr.gaps = d.size();
    pr.sortedGaps = shapeOf(std::move(d));
    priors_[key] = pr;
    std::vector<float>().swap(v);
  }
  samples_.clear();
  if (!all.empty()) {
    global_.cv = cvOf(all);
    global_.gaps = all.size();
    global_.perUnitDays = medianOf(all);
    global_.sortedGaps = shapeOf(std::move(all));
  }
  // Buhlmann: EPV = pooled within-series variance of log intervals; VHM = variance of the series
  // means around their key's mean of series means, minus the part EPV explains (EPV / n each).
  std::unordered_map<std::int64_t, std::pair<double, double>> centre;  // sum of means, series
  for (const auto& s : series_) {
    auto& c = centre[s.key];
    c.first += s.meanLog;
    c.second += 1;
  }
  double ss = 0, dof = 0, dev = 0, invN = 0, groups = 0;
  for (const auto& s : series_) {
    const auto& c = centre[s.key];
    if (c.second < 2) continue;  // a key with one member says nothing about differences
    ss += s.ssLog;
    dof += s.n - 1;
    const double d = s.meanLog - c.first / c.second;
    dev += d * d * c.second / (c.second - 1);  // unbiased within each key
    invN += 1.0 / s.n;
    groups += 1;
  }
  if (dof >= 30 && groups >= 30) {
    const double epv = ss / dof;
    const double vhm = dev / groups - epv * invN / groups;
    // No discernible difference between members: trust the population almost entirely.
    k_ = vhm > 0 ? std::clamp(epv / vhm, 0.25, 100.0) : 100.0;
  }
  std::vector<SeriesStats>().swap(series_);
}

double PopulationIntervals::credibility(double fallback) const {
  return k_ > 0 ? k_ : fallback;
}

IntervalPrior PopulationIntervals::shape(std::int64_t key, std::size_t minGaps) const {
  const auto it = priors_.find(key);
  return it == priors_.end() || it->second.gaps < minGaps ? IntervalPrior{} : it->second;
}

IntervalPrior PopulationIntervals::prior(std::int64_t key) const {
  const auto it = priors_.find(key);
  return it == priors_.end() ? IntervalPrior{} : it->second;
}

}  // namespace aisle::engine
