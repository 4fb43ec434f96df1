#include "aisle/engine/next_basket.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace aisle::engine {

Result<ModelKind> modelKindByName(std::string_view name) {
  if (name == "g-topfreq") return ModelKind::GTopFreq;
  if (name == "p-topfreq") return ModelKind::PTopFreq;
  if (name == "gp-topfreq") return ModelKind::GpTopFreq;
  if (name == "blend") return ModelKind::Blend;
  return fail("unknown model '" + std::string(name) +
              "' (g-topfreq, p-topfreq, gp-topfreq, blend)");
}

const char* modelName(ModelKind kind) {
  switch (kind) {
    case ModelKind::GTopFreq:
      return "g-topfreq";
    case ModelKind::PTopFreq:
      return "p-topfreq";
    case ModelKind::GpTopFreq:
      return "gp-topfreq";
    case ModelKind::Blend:
      return "blend";
  }
  return "?";
}

void ScoringWorkspace::reset(std::size_t items) {
  if (repeat_.size() != items) {
    repeat_.assign(items, 0.0f);
    explore_.assign(items, 0.0f);
    seen_.assign(items, 0);
  }
}

NextBasketModel::NextBasketModel(ModelKind kind, BlendParams params)
    : kind_(kind), params_(params) {}

namespace {

// Each member's baskets as one sequence: the history, then the future basket when it may be learned
// from. Spans point into the data set.
struct Sequences {
  std::vector<std::uint32_t> first{0};
  std::vector<std::span<const ItemIndex>> baskets;
};

Sequences sequencesOf(const BasketDataset& data, std::span<const MemberIndex> futureOf) {
  std::vector<std::uint8_t> withFuture(data.members.size(), 0);
  for (MemberIndex m : futureOf)
    if (m < withFuture.size()) withFuture[m] = 1;
  Sequences s;
  s.baskets.reserve(data.history.basketCount() + futureOf.size());
  for (MemberIndex m = 0; m < data.members.size(); ++m) {
    if (m < data.history.memberCount())
      for (auto b = data.history.firstBasket(m); b < data.history.endBasket(m); ++b)
        s.baskets.push_back(data.history.basket(b));
    if (withFuture[m] && !data.target(m).empty()) s.baskets.push_back(data.target(m));
    s.first.push_back(static_cast<std::uint32_t>(s.baskets.size()));
  }
  return s;
}

// For every source item j, the items i of the baskets listed for j (the next basket for
// transitions, the same basket for co-occurrence), as P(i | j) = count(j, i) / (count(j) + prior),
// top `keep` only. Dense accumulation per source item: the pair count is a few million, a hash map
// of pairs would dominate the fit time.
void buildConditional(std::size_t items, const std::vector<std::vector<std::uint32_t>>& listed,
                      const std::vector<std::span<const ItemIndex>>& baskets, bool skipSelf,
                      double prior, std::uint32_t keep, std::vector<std::uint32_t>& first,
                      std::vector<std::pair<ItemIndex, float>>& out) {
  first.assign(items + 1, 0);
  out.clear();
  std::vector<float> acc(items, 0.0f);
  std::vector<ItemIndex> touched;
  std::vector<std::pair<ItemIndex, float>> row;
  for (ItemIndex j = 0; j < items; ++j) {
    touched.clear();
    for (std::uint32_t b : listed[j]) {
      for (ItemIndex i : baskets[b]) {
        if (skipSelf && i == j) continue;
        if (acc[i] == 0.0f) touched.push_back(i);
        acc[i] += 1.0f;
      }
    }
    const double denom = static_cast<double>(listed[j].size()) + prior;
    row.clear();
    for (ItemIndex i : touched) {
      row.emplace_back(i, static_cast<float>(acc[i] / denom));
      acc[i] = 0.0f;
    }
    if (row.size() > keep) {
      std::nth_element(row.begin(), row.begin() + keep, row.end(),
                       [](const auto& a, const auto& b) { return a.second > b.second; });
      row.resize(keep);
    }
    out.insert(out.end(), row.begin(), row.end());
    first[j + 1] = static_cast<std::uint32_t>(out.size());
  }
}

void rankByScore(std::vector<std::pair<float, ItemIndex>>& ranked, std::size_t k,
                 std::vector<ItemIndex>& out) {
  // Ties go to the smaller dense index so rankings are deterministic.
  auto better = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  const std::size_t n = std::min(k, ranked.size());
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(n), ranked.end(),
                    better);
  out.clear();
  for (std::size_t i = 0; i < n; ++i) out.push_back(ranked[i].second);
}

}  // namespace

void NextBasketModel::fit(const BasketDataset& data, std::span<const MemberIndex> futureOf) {
  itemCount_ = data.items.size();
  const std::size_t items = itemCount_;

  // Baselines: popularity over the history baskets of all members, as in the paper.
  {
    std::vector<std::uint32_t> count(items, 0);
    for (std::uint32_t b = 0; b < data.history.basketCount(); ++b)
      for (ItemIndex i : data.history.basket(b)) ++count[i];
    byPopularity_.resize(items);
    std::iota(byPopularity_.begin(), byPopularity_.end(), 0);
    std::stable_sort(byPopularity_.begin(), byPopularity_.end(),
                     [&](ItemIndex a, ItemIndex b) { return count[a] > count[b]; });
  }
  if (kind_ != ModelKind::Blend) return;

  const Sequences seq = sequencesOf(data, futureOf);
  const std::size_t members = seq.first.size() - 1;

  // Recent popularity: what members bought lately predicts what the next baskets hold better than
  // counts over the whole period.
  {
    std::vector<double> weight(items, 0.0);
    double total = 0;
    std::vector<std::uint8_t> withFuture(data.members.size(), 0);
    for (MemberIndex m : futureOf)
      if (m < withFuture.size() && !data.target(m).empty()) withFuture[m] = 1;
    for (std::size_t m = 0; m < members; ++m) {
      const std::uint32_t end = seq.first[m + 1];
      const std::uint32_t histEnd = end - (withFuture[m] ? 1 : 0);
      double w = 1.0;
      for (std::uint32_t b = histEnd; b-- > seq.first[m];) {
        for (ItemIndex i : seq.baskets[b]) weight[i] += w;
        total += w;
        w *= params_.popularityDecay;
      }
      if (withFuture[m]) {
        for (ItemIndex i : seq.baskets[histEnd]) weight[i] += params_.futureWeight;
        total += params_.futureWeight;
      }
    }
    popularity_.resize(items);
    for (std::size_t i = 0; i < items; ++i)
      popularity_[i] = total > 0 ? static_cast<float>(weight[i] / total) : 0.0f;
    byRecentPopularity_.resize(items);
    std::iota(byRecentPopularity_.begin(), byRecentPopularity_.end(), 0);
    std::stable_sort(byRecentPopularity_.begin(), byRecentPopularity_.end(),
                     [&](ItemIndex a, ItemIndex b) { return popularity_[a] > popularity_[b]; });
    byRecentPopularity_.resize(std::min<std::size_t>(items, params_.popularCandidates));
  }

  // Repurchase rate: of the purchases followed by at least one later basket, the share bought
  // again.
  {
    std::vector<double> again(items, 0.0), chances(items, 0.0);
    std::vector<std::uint32_t> times(items, 0);
    std::vector<ItemIndex> touched;
    for (std::size_t m = 0; m < members; ++m) {
      const std::uint32_t first = seq.first[m], end = seq.first[m + 1];
      if (end - first < 2) continue;
      touched.clear();
      for (std::uint32_t b = first; b < end; ++b)
        for (ItemIndex i : seq.baskets[b])
          if (times[i]++ == 0) touched.push_back(i);
      for (ItemIndex i : seq.baskets[end - 1]) chances[i] -= 1.0;
      for (ItemIndex i : touched) {
        again[i] += times[i] - 1.0;
        chances[i] += times[i];
        times[i] = 0;
      }
    }
    const double totalAgain = std::accumulate(again.begin(), again.end(), 0.0);
    const double totalChances = std::accumulate(chances.begin(), chances.end(), 0.0);
    const double mean = totalChances > 0 ? totalAgain / totalChances : 0.0;
    repeatRate_.resize(items);
    for (std::size_t i = 0; i < items; ++i) {
      const double rate =
          (again[i] + params_.repeatRatePrior * mean) / (chances[i] + params_.repeatRatePrior);
      // Relative to the mean so the exponent reshapes, not rescales, the repeat scores.
      repeatRate_[i] =
          mean > 0 ? static_cast<float>(std::pow(rate / mean, params_.repeatRateExponent)) : 1.0f;
    }
  }

  // First-order transitions: baskets following one that holds j.
  {
    std::vector<std::vector<std::uint32_t>> next(items);
    for (std::size_t m = 0; m < members; ++m)
      for (std::uint32_t b = seq.first[m]; b + 1 < seq.first[m + 1]; ++b)
        for (ItemIndex j : seq.baskets[b]) next[j].push_back(b + 1);
    buildConditional(items, next, seq.baskets, false, params_.transitionPrior,
                     params_.successorsPerItem, successorFirst_, successors_);
  }
  if (params_.cooccurrenceWeight > 0) {
    std::vector<std::vector<std::uint32_t>> same(items);
    for (std::uint32_t b = 0; b < seq.baskets.size(); ++b)
      for (ItemIndex j : seq.baskets[b]) same[j].push_back(b);
    buildConditional(items, same, seq.baskets, true, params_.transitionPrior,
                     params_.successorsPerItem, neighbourFirst_, neighbours_);
  } else {
    neighbourFirst_.assign(items + 1, 0);
    neighbours_.clear();
  }
}

void NextBasketModel::recommend(const BasketLog& history, MemberIndex m, std::size_t k,
                                std::vector<ItemIndex>& out, ScoringWorkspace& ws) const {
  out.clear();
  switch (kind_) {
    case ModelKind::GTopFreq:
      out.assign(
          byPopularity_.begin(),
          byPopularity_.begin() + static_cast<std::ptrdiff_t>(std::min(k, byPopularity_.size())));
      return;
    case ModelKind::PTopFreq:
      personalTopFreq(history, m, k, out, ws, false);
      return;
    case ModelKind::GpTopFreq:
      personalTopFreq(history, m, k, out, ws, true);
      return;
    case ModelKind::Blend:
      blend(history, m, k, out, ws);
      return;
  }
}

void NextBasketModel::personalTopFreq(const BasketLog& history, MemberIndex m, std::size_t k,
                                      std::vector<ItemIndex>& out, ScoringWorkspace& ws,
                                      bool fill) const {
  ws.reset(itemCount_);
  ws.touched_.clear();
  const bool known = m < history.memberCount();
  const std::uint32_t first = known ? history.firstBasket(m) : 0,
                      end = known ? history.endBasket(m) : 0;
  // Ties in frequency go to the more recent purchase: the score adds a recency fraction below 1.
  for (std::uint32_t b = first; b < end; ++b) {
    for (ItemIndex i : history.basket(b)) {
      if (ws.seen_[i] == 0) {
        ws.seen_[i] = 1;
        ws.touched_.push_back(i);
        ws.repeat_[i] = 0.0f;
      }
      ws.repeat_[i] = std::floor(ws.repeat_[i]) + 1.0f +
                      static_cast<float>(b - first + 1) / static_cast<float>(end - first + 1);
    }
  }
  ws.ranked_.clear();
  for (ItemIndex i : ws.touched_) ws.ranked_.emplace_back(ws.repeat_[i], i);
  rankByScore(ws.ranked_, k, out);
  if (fill) {
    for (std::size_t p = 0; p < byPopularity_.size() && out.size() < k; ++p)
      if (ws.seen_[byPopularity_[p]] == 0) out.push_back(byPopularity_[p]);
  }
  for (ItemIndex i : ws.touched_) {
    ws.seen_[i] = 0;
    ws.repeat_[i] = 0.0f;
  }
}

void NextBasketModel::blend(const BasketLog& history, MemberIndex m, std::size_t k,
                            std::vector<ItemIndex>& out, ScoringWorkspace& ws) const {
  ws.reset(itemCount_);
  ws.touched_.clear();
  auto touch = [&](ItemIndex i) {
    if (ws.seen_[i] == 0) {
      ws.seen_[i] = 2;  // 2: candidate only; 1: in the member's history
      ws.touched_.push_back(i);
    }
  };
  const bool known = m < history.memberCount();
  const std::uint32_t first = known ? history.firstBasket(m) : 0,
                      end = known ? history.endBasket(m) : 0;

  // Repeat part: decayed frequency normalised by the total weight, so it is a share in [0, 1].
  double w = 1.0, total = 0.0;
  for (std::uint32_t b = end; b-- > first;) {
    for (ItemIndex i : history.basket(b)) {
      touch(i);
      ws.seen_[i] = 1;
      ws.repeat_[i] += static_cast<float>(w);
    }
    total += w;
    w *= params_.repeatDecay;
  }
  if (total > 0) {
    const float scale = static_cast<float>(params_.repeatWeight / total);
    for (ItemIndex i : ws.touched_) ws.repeat_[i] *= scale * repeatRate_[i];
  }

  // Explore part: transitions and co-occurrence out of the last baskets, then popularity.
  const std::uint32_t lastBaskets = std::min(end - first, params_.transitionBaskets);
  double tw = 1.0, tTotal = 0.0;
  for (std::uint32_t a = 0; a < lastBaskets; ++a) {
    tTotal += tw;
    tw *= params_.transitionDecay;
  }
  tw = 1.0;
  for (std::uint32_t a = 0; a < lastBaskets; ++a) {
    const auto basket = history.basket(end - 1 - a);
    const double per = tw / tTotal / static_cast<double>(basket.size());
    const auto tScale = static_cast<float>(per * params_.transitionWeight);
    const auto cScale = static_cast<float>(per * params_.cooccurrenceWeight);
    for (ItemIndex j : basket) {
      for (auto s = successorFirst_[j]; s < successorFirst_[j + 1]; ++s) {
        touch(successors_[s].first);
        ws.explore_[successors_[s].first] += tScale * successors_[s].second;
      }
      for (auto s = neighbourFirst_[j]; s < neighbourFirst_[j + 1]; ++s) {
        touch(neighbours_[s].first);
        ws.explore_[neighbours_[s].first] += cScale * neighbours_[s].second;
      }
    }
    tw *= params_.transitionDecay;
  }
  for (ItemIndex i : byRecentPopularity_) touch(i);

  ws.ranked_.clear();
  const auto popWeight = static_cast<float>(params_.popularityWeight);
  const auto onRepeat = static_cast<float>(params_.exploreOnRepeat);
  for (ItemIndex i : ws.touched_) {
    float explore = ws.explore_[i] + popWeight * popularity_[i];
    if (ws.seen_[i] == 1) explore *= onRepeat;
    ws.ranked_.emplace_back(ws.repeat_[i] + explore, i);
  }
  rankByScore(ws.ranked_, k, out);
  // Tiny catalogues or few popular candidates: fill up so every list has k items.
  for (std::size_t p = 0; p < byPopularity_.size() && out.size() < k; ++p)
    if (ws.seen_[byPopularity_[p]] == 0) out.push_back(byPopularity_[p]);
  for (ItemIndex i : ws.touched_) {
    ws.seen_[i] = 0;
    ws.repeat_[i] = 0.0f;
    ws.explore_[i] = 0.0f;
  }
}

}  // namespace aisle::engine
