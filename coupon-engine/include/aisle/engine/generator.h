#pragma once
// Synthetic members and purchase histories for scale tests, drawn from purchase distributions
// (product popularity, basket sizes, gaps between visits, store popularity). Pure and
// reproducible: member i depends only on (seed, i, distributions, days, end date), never on the
// platform (own PRNG and integer sampling, no std::*_distribution whose output varies by library)
// and never on how many members are generated or in which chunk.
#include <cstdint>
#include <string>
#include <vector>

namespace aisle::engine {

struct ProductPopularity {
  std::int64_t productId = 0;
  std::uint64_t weight = 0;         // how often it was bought
  std::int64_t unitPriceMinor = 0;  // typical price of one unit
};

struct StorePopularity {
  std::int64_t storeId = 0;
  std::uint64_t weight = 0;
  std::string timeZone;
};

struct PurchaseDistributions {
  std::vector<ProductPopularity> products;
  std::vector<std::uint64_t> basketSizes;  // [n]: baskets with n lines (index 0 unused)
  std::vector<std::uint64_t> gapDays;      // [d]: repeat visits d days after the previous one
  std::vector<StorePopularity> stores;
  std::string origin;  // "loaded data" or "built-in"
  // Enough to draw from: at least one product, store, basket size and gap.
  bool usable() const;
};

// The built-in catalogue used when nothing is loaded (the demo without the data sets): 10 stores,
// 500 products (or `products`; the scale bench uses 20,000) with Zipf-like popularity in 25
// categories (one per 80 products beyond 2,000), baskets around 8 lines, weekly visits.
struct BuiltInProduct {
  std::int64_t productId = 0;
  std::string name;
  std::string category;
  std::int64_t priceMinor = 0;
};
struct BuiltInCatalog {
  std::vector<StorePopularity> stores;
  std::vector<std::string> categories;
  std::vector<BuiltInProduct> products;
};
BuiltInCatalog builtInCatalog(int products = 500);
PurchaseDistributions builtInDistributions(int products = 500);

// SplitMix64: 64-bit state, good statistical quality, identical everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::uint64_t below(std::uint64_t n);  // uniform in [0, n), n > 0

 private:
  std::uint64_t state_;
};

// Draws index i with probability weight[i] / sum(weights), by binary search on integer sums.
class WeightedSampler {
 public:
  explicit WeightedSampler(const std::vector<std::uint64_t>& weights);
  std::size_t draw(SplitMix64& rng) const;
  bool empty() const { return total_ == 0; }

 private:
  std::vector<std::uint64_t> cumulative_;
  std::uint64_t total_ = 0;
};

struct GeneratorParams {
  std::uint64_t seed = 1;
  int days = 90;                       // history length
  std::string endDate = "2018-01-01";  // exclusive: the last generated day is the day before
  std::int64_t firstMemberId = 1'000'000'000;
};

struct SyntheticLine {
  std::int64_t productId = 0;
  std::int64_t quantity = 1;
  std::int64_t amountMinor = 0;
};
struct SyntheticTrip {
  std::int64_t storeId = 0;
  const std::string* timeZone = nullptr;  // points into the generator's distributions
  std::string businessDay;                // local date
  int secondOfDay = 0;                    // local time the sale ended
  std::vector<SyntheticLine> lines;       // sorted by product id, one line per product
};
struct SyntheticMember {
  std::int64_t memberId = 0;
  std::string cardNumber;
  std::int64_t homeStoreId = 0;
  std::vector<SyntheticTrip> trips;  // in time order
};

class SyntheticGenerator {
 public:
  SyntheticGenerator(PurchaseDistributions dist, GeneratorParams params);
  SyntheticMember member(std::int64_t index) const;
  const GeneratorParams& params() const { return params_; }
  const PurchaseDistributions& distributions() const { return dist_; }

 private:
  PurchaseDistributions dist_;
  GeneratorParams params_;
  WeightedSampler products_, sizes_, gaps_, stores_;
  std::int64_t endDay_ = 0;
};

}  // namespace aisle::engine
