#pragma once
// Offline next-basket evaluation in the protocol of "A Next Basket Recommendation Reality Check"
// (Li et al., TOIS 2023): fit on every member's history plus the training members' future baskets,
// rank items for the members of one split, compare with their future basket.
#include <cstddef>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "aisle/engine/history.h"
#include "aisle/engine/next_basket.h"

namespace aisle::engine {

// Metrics of one ranked list against one target (a set of items), cut at k.
double recallAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
                std::size_t k);
// Standard NDCG@k: the ideal gain counts min(k, |target|) hits.
double ndcgAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked, std::size_t k);
// The paper repository's NDCG@k: the ideal gain counts all |target| hits, so a basket larger than k
// can never reach 1.
double ndcgWholeBasketAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
                         std::size_t k);
// PHR@k (personal hit ratio): 1 when at least one of the top k is in the target.
double hitAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked, std::size_t k);

struct MetricMeans {
  std::size_t users = 0;
  std::map<std::size_t, double> recall, ndcg, ndcgWholeBasket, phr;
};

struct EvaluationReport {
  std::string model;
  std::string split;
  std::vector<std::size_t> ks;
  MetricMeans all;
  // The target split into items the member bought before (repeat) and new ones (explore); means
  // over the members whose target has such items, ranking unchanged (as the paper's repository
  // does).
  MetricMeans repeat, explore;
  // Share of the top-k that the member bought before, the rest is explore.
  std::map<std::size_t, double> repeatShare;
  std::size_t missing = 0;  // split members without history or future basket, skipped
  double fitSeconds = 0, rankSeconds = 0, wallSeconds = 0;
  std::string toJson() const;
};

struct EvaluationOptions {
  std::vector<std::size_t> ks{10, 20};
  std::size_t predictionLength = 20;  // length of the stored ranked lists (at least max k)
  bool keepPredictions = false;
  unsigned threads = 0;  // 0: hardware concurrency
};

struct Evaluation {
  EvaluationReport report;
  // Members evaluated, in split order, and their ranked lists (when keepPredictions).
  std::vector<MemberIndex> members;
  std::vector<std::vector<ItemIndex>> predictions;
};

// Members of a split by external id; unknown ids are counted, not fatal (keysets may list members
// the files lack).
std::vector<MemberIndex> membersOf(const BasketDataset& data, const std::vector<std::string>& ids,
                                   std::size_t* unknown = nullptr);

// Fits `model` (future baskets of `trainMembers` allowed) and evaluates it on `evalMembers`.
Evaluation evaluateModel(const BasketDataset& data, NextBasketModel& model,
                         std::span<const MemberIndex> trainMembers,
                         std::span<const MemberIndex> evalMembers, const EvaluationOptions& options,
                         const std::string& splitName);

// `{"member": [item, ...], ...}` with external ids.
std::string predictionsJson(const BasketDataset& data, const Evaluation& evaluation);

}  // namespace aisle::engine
