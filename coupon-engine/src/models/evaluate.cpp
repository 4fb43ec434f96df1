#include "aisle/engine/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>
#include <thread>

namespace aisle::engine {
namespace {

bool contains(std::span<const ItemIndex> sortedSet, ItemIndex i) {
  return std::binary_search(sortedSet.begin(), sortedSet.end(), i);
}

double discountedGain(std::size_t hits) {
  double g = 0;
  for (std::size_t r = 0; r < hits; ++r) g += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  return g;
}

double dcgAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked, std::size_t k) {
  double dcg = 0;
  const std::size_t n = std::min(k, ranked.size());
  for (std::size_t r = 0; r < n; ++r)
    if (contains(target, ranked[r])) dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
  return dcg;
}

std::size_t hitsAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
                   std::size_t k) {
  std::size_t hits = 0;
  const std::size_t n = std::min(k, ranked.size());
  for (std::size_t r = 0; r < n; ++r) hits += contains(target, ranked[r]) ? 1 : 0;
  return hits;
}

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Sums {
  std::size_t users = 0;
  std::map<std::size_t, double> recall, ndcg, ndcgWholeBasket, phr;
  void add(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
           const std::vector<std::size_t>& ks) {
    ++users;
    for (std::size_t k : ks) {
      recall[k] += recallAt(target, ranked, k);
      ndcg[k] += ndcgAt(target, ranked, k);
      ndcgWholeBasket[k] += ndcgWholeBasketAt(target, ranked, k);
      phr[k] += hitAt(target, ranked, k);
    }
  }
  void merge(const Sums& o) {
    users += o.users;
    for (const auto& [k, v] : o.recall) recall[k] += v;
    for (const auto& [k, v] : o.ndcg) ndcg[k] += v;
    for (const auto& [k, v] : o.ndcgWholeBasket) ndcgWholeBasket[k] += v;
    for (const auto& [k, v] : o.phr) phr[k] += v;
  }
  MetricMeans means() const {
    MetricMeans m;
    m.users = users;
    const double n = users > 0 ? static_cast<double>(users) : 1.0;
    for (const auto& [k, v] : recall) m.recall[k] = v / n;
    for (const auto& [k, v] : ndcg) m.ndcg[k] = v / n;
    for (const auto& [k, v] : ndcgWholeBasket) m.ndcgWholeBasket[k] = v / n;
    for (const auto& [k, v] : phr) m.phr[k] = v / n;
    return m;
  }
};

struct Partial {
  Sums all, repeat, explore;
  std::map<std::size_t, double> repeatShare;
};

void writeMeans(std::ostringstream& js, const MetricMeans& m, const std::vector<std::size_t>& ks) {
  js << "\"users\":" << m.users;
  auto put = [&](const char* name, const std::map<std::size_t, double>& values) {
    for (std::size_t k : ks) {
      auto it = values.find(k);
      js << ",\"" << name << "@" << k << "\":" << (it == values.end() ? 0.0 : it->second);
    }
  };
  put("recall", m.recall);
  put("ndcg", m.ndcg);
  put("ndcg_whole_basket", m.ndcgWholeBasket);
  put("phr", m.phr);
}

}  // namespace

double recallAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
                std::size_t k) {
  if (target.empty()) return 0.0;
  return static_cast<double>(hitsAt(target, ranked, k)) / static_cast<double>(target.size());
}

double ndcgAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked, std::size_t k) {
  if (target.empty()) return 0.0;
  return dcgAt(target, ranked, k) / discountedGain(std::min(k, target.size()));
}

double ndcgWholeBasketAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked,
                         std::size_t k) {
  if (target.empty()) return 0.0;
  return dcgAt(target, ranked, k) / discountedGain(target.size());
}

double hitAt(std::span<const ItemIndex> target, std::span<const ItemIndex> ranked, std::size_t k) {
  return hitsAt(target, ranked, k) > 0 ? 1.0 : 0.0;
}

std::vector<MemberIndex> membersOf(const BasketDataset& data, const std::vector<std::string>& ids,
                                   std::size_t* unknown) {
  std::vector<MemberIndex> out;
  out.reserve(ids.size());
  std::size_t missing = 0;
  for (const auto& id : ids) {
    const MemberIndex m = data.members.find(id);
    if (m == data.members.size()) {
      ++missing;
    } else {
      out.push_back(m);
    }
  }
  if (unknown) *unknown = missing;
  return out;
}

Evaluation evaluateModel(const BasketDataset& data, NextBasketModel& model,
                         std::span<const MemberIndex> trainMembers,
                         std::span<const MemberIndex> evalMembers, const EvaluationOptions& options,
                         const std::string& splitName) {
  const auto start = Clock::now();
  Evaluation ev;
  ev.report.model = modelName(model.kind());
  ev.report.split = splitName;
  ev.report.ks = options.ks;
  std::size_t maxK = options.predictionLength;
  for (std::size_t k : options.ks) maxK = std::max(maxK, k);

  model.fit(data, trainMembers);
  ev.report.fitSeconds = secondsSince(start);
  const auto rankStart = Clock::now();

  for (MemberIndex m : evalMembers) {
    if (data.target(m).empty() || m >= data.history.memberCount() ||
        data.history.basketsOf(m) == 0) {
      ++ev.report.missing;
    } else {
      ev.members.push_back(m);
    }
  }
  if (options.keepPredictions) ev.predictions.resize(ev.members.size());

  unsigned threads =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(
      std::min<std::size_t>(threads, std::max<std::size_t>(1, ev.members.size() / 256)));
  std::vector<Partial> partials(threads);
  auto work = [&](unsigned t) {
    ScoringWorkspace ws;
    std::vector<ItemIndex> ranked, historyItems, truthRepeat, truthExplore;
    Partial& p = partials[t];
    for (std::size_t n = t; n < ev.members.size(); n += threads) {
      const MemberIndex m = ev.members[n];
      model.recommend(data.history, m, maxK, ranked, ws);
      const auto target = data.target(m);
      historyItems.clear();
      for (auto b = data.history.firstBasket(m); b < data.history.endBasket(m); ++b) {
        const auto basket = data.history.basket(b);
        historyItems.insert(historyItems.end(), basket.begin(), basket.end());
      }
      std::sort(historyItems.begin(), historyItems.end());
      historyItems.erase(std::unique(historyItems.begin(), historyItems.end()), historyItems.end());
      truthRepeat.clear();
      truthExplore.clear();
      for (ItemIndex i : target)
        (contains(historyItems, i) ? truthRepeat : truthExplore).push_back(i);
      p.all.add(target, ranked, options.ks);
      if (!truthRepeat.empty()) p.repeat.add(truthRepeat, ranked, options.ks);
      if (!truthExplore.empty()) p.explore.add(truthExplore, ranked, options.ks);
      for (std::size_t k : options.ks) {
        const std::size_t top = std::min(k, ranked.size());
        std::size_t rep = 0;
        for (std::size_t r = 0; r < top; ++r) rep += contains(historyItems, ranked[r]) ? 1 : 0;
        p.repeatShare[k] += top > 0 ? static_cast<double>(rep) / static_cast<double>(top) : 0.0;
      }
      if (options.keepPredictions) ev.predictions[n] = ranked;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();

  Partial total;
  for (const auto& p : partials) {
    total.all.merge(p.all);
    total.repeat.merge(p.repeat);
    total.explore.merge(p.explore);
    for (const auto& [k, v] : p.repeatShare) total.repeatShare[k] += v;
  }
  ev.report.all = total.all.means();
  ev.report.repeat = total.repeat.means();
  ev.report.explore = total.explore.means();
  for (const auto& [k, v] : total.repeatShare)
    ev.report.repeatShare[k] = total.all.users ? v / static_cast<double>(total.all.users) : 0.0;
  ev.report.rankSeconds = secondsSince(rankStart);
  ev.report.wallSeconds = secondsSince(start);
  return ev;
}

std::string EvaluationReport::toJson() const {
  std::ostringstream js;
  js << std::setprecision(6);
  js << "{\"model\":\"" << model << "\",\"split\":\"" << split << "\",";
  writeMeans(js, all, ks);
  js << ",\"repeat\":{";
  writeMeans(js, repeat, ks);
  js << "},\"explore\":{";
  writeMeans(js, explore, ks);
  js << "}";
  for (std::size_t k : ks) {
    auto it = repeatShare.find(k);
    js << ",\"repeat_share@" << k << "\":" << (it == repeatShare.end() ? 0.0 : it->second);
  }
  js << ",\"skipped_users\":" << missing << ",\"fit_s\":" << fitSeconds
     << ",\"rank_s\":" << rankSeconds << ",\"wall_s\":" << wallSeconds << "}";
  return js.str();
}

std::string predictionsJson(const BasketDataset& data, const Evaluation& evaluation) {
  std::string out = "{";
  for (std::size_t n = 0; n < evaluation.predictions.size(); ++n) {
    if (n) out += ", ";
    out += '"';
    for (char c : data.members.external(evaluation.members[n])) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\": [";
    const auto& list = evaluation.predictions[n];
    for (std::size_t r = 0; r < list.size(); ++r) {
      if (r) out += ", ";
      out += std::to_string(data.items.external(list[r]));
    }
    out += ']';
  }
  out += "}\n";
  return out;
}

}  // namespace aisle::engine
