#pragma once
// Next-basket recommendation: for a member's purchase history, a ranked list of the items most
// likely in their next basket. One class serves the model and the baselines of "A Next Basket
// Recommendation Reality Check" (G-TopFreq, P-TopFreq, GP-TopFreq), so `evaluate --model` compares
// them through the same code path.
//
// The blend model ("blend") scores two kinds of items:
//  - repeat items (bought before): time-decayed personal frequency, scaled by how often the item is
//    bought again at all in the population (milk comes back, a rice cooker does not);
//  - explore items: first-order transitions from the member's last baskets (what people buy in the
//    basket after one holding item j), item co-occurrence, and recent popularity.
// All statistics come from the history baskets of every member plus the future baskets of the
// training members only; nothing is learned from the members being evaluated.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"
#include "aisle/engine/history.h"

namespace aisle::engine {

enum class ModelKind { GTopFreq, PTopFreq, GpTopFreq, Blend };

Result<ModelKind> modelKindByName(std::string_view name);
const char* modelName(ModelKind kind);

// Defaults chosen by coordinate search on the validation members of tafeng-nbr keysets 0..4 (mean
// of Recall@10 + NDCG@10), never on test members; see coupon-engine/NBR.md.
struct BlendParams {
  // Repeat part: weight of a basket `a` baskets before the last one is repeatDecay^a.
  double repeatDecay = 0.93;
  // Exponent on the item's smoothed population repurchase rate relative to the mean (0 = ignore).
  double repeatRateExponent = 0.75;
  double repeatRatePrior = 5;  // pseudo-count pulling rare items toward the mean repurchase rate
  double repeatWeight = 1.0;
  // Explore part: transitions out of the last `transitionBaskets` baskets, each weighted
  // transitionDecay^a; successors per item kept after fitting.
  double transitionWeight = 3.0;
  double transitionDecay = 0.3;
  std::uint32_t transitionBaskets = 1;
  std::uint32_t successorsPerItem = 50;
  double transitionPrior = 40;  // pseudo-count in P(i in next | j in this): rare sources count less
  // Co-occurrence in the same basket as items of the last baskets (0 = off: it did not help).
  double cooccurrenceWeight = 0.0;
  // Popularity: share of recent baskets holding the item; a member's basket `a` baskets before
  // their last counts popularityDecay^a, training members' future baskets count futureWeight.
  // Future baskets are the same period as the baskets to predict, hence their large weight.
  double popularityWeight = 7.0;
  double popularityDecay = 0.1;
  double futureWeight = 100.0;
  std::uint32_t popularCandidates = 200;
  // Items already in the member's history get the explore part too, weighted by this factor.
  double exploreOnRepeat = 0.5;
};

// Scratch space of one scoring thread (dense score arrays reused across members).
class ScoringWorkspace {
 public:
  void reset(std::size_t items);

 private:
  friend class NextBasketModel;
  std::vector<float> repeat_, explore_;
  std::vector<std::uint8_t> seen_;
  std::vector<ItemIndex> touched_;
  std::vector<std::pair<float, ItemIndex>> ranked_;
};

class NextBasketModel {
 public:
  explicit NextBasketModel(ModelKind kind, BlendParams params = {});

  // `futureOf` lists members whose future basket may be learned from (the training split).
  void fit(const BasketDataset& data, std::span<const MemberIndex> futureOf);

  // The top `k` items for member `m` (history in `data.history`), best first, into `out`. P-TopFreq
  // returns fewer than k when the member bought fewer distinct items; the others always return k
  // (when the catalogue has k items).
  void recommend(const BasketLog& history, MemberIndex m, std::size_t k,
                 std::vector<ItemIndex>& out, ScoringWorkspace& ws) const;

  ModelKind kind() const { return kind_; }
  const BlendParams& params() const { return params_; }

 private:
  void personalTopFreq(const BasketLog& history, MemberIndex m, std::size_t k,
                       std::vector<ItemIndex>& out, ScoringWorkspace& ws, bool fill) const;
  void blend(const BasketLog& history, MemberIndex m, std::size_t k, std::vector<ItemIndex>& out,
             ScoringWorkspace& ws) const;

  ModelKind kind_;
  BlendParams params_;
  std::size_t itemCount_ = 0;
  std::vector<ItemIndex> byPopularity_;  // all items, most frequent in history baskets first
  std::vector<float> popularity_;        // recent basket share, for the blend
  std::vector<ItemIndex> byRecentPopularity_;
  std::vector<float> repeatRate_;  // smoothed P(bought again later | bought)
  // CSR successor lists: item j -> (item i, P(i in next basket | j in this basket)).
  std::vector<std::uint32_t> successorFirst_;
  std::vector<std::pair<ItemIndex, float>> successors_;
  std::vector<std::uint32_t> neighbourFirst_;
  std::vector<std::pair<ItemIndex, float>> neighbours_;
};

}  // namespace aisle::engine
