#include "aisle/engine/generator.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>

#include "aisle/engine/dataset_mapping.h"

namespace aisle::engine {

bool PurchaseDistributions::usable() const {
  const auto positive = [](const std::vector<std::uint64_t>& v) {
    return std::any_of(v.begin(), v.end(), [](std::uint64_t w) { return w > 0; });
  };
  return !products.empty() && !stores.empty() && positive(basketSizes) && positive(gapDays);
}

BuiltInCatalog builtInCatalog(int products) {
  BuiltInCatalog c;
  for (int s = 1; s <= 10; ++s) {
    c.stores.push_back(
        {kSyntheticStoreOffset + s, static_cast<std::uint64_t>(110 - 10 * s), "America/New_York"});
  }
  char buf[64];
  // A large catalogue gets more categories too (20,000 products: 250), so category models stay
  // about as specific as in a real store; up to 2,000 products the original 25.
  const int categories = std::max(25, products / 80);
  for (int k = 1; k <= categories; ++k) {
    std::snprintf(buf, sizeof buf, "Synthetic category %02d", k);
    c.categories.emplace_back(buf);
  }
  for (int k = 1; k <= products; ++k) {
    std::snprintf(buf, sizeof buf, "Synthetic product %03d", k);
    c.products.push_back({kSyntheticProductOffset + k, buf,
                          c.categories[static_cast<std::size_t>((k - 1) % categories)],
                          99 + (k * 37) % 1900});
  }
  return c;
}

PurchaseDistributions builtInDistributions(int products) {
  PurchaseDistributions d;
  d.origin = "built-in";
  const auto catalog = builtInCatalog(products);
  d.stores = catalog.stores;
  std::int64_t rank = 0;
  // Zipf-like popularity: the k-th product sells about 1/k as often as the first.
  for (const auto& p : catalog.products)
    d.products.push_back(
        {p.productId, 1'000'000u / static_cast<std::uint64_t>(++rank), p.priceMinor});
  // Literal tables (not formulas) so no libm difference can change a generated row.
  d.basketSizes = {0,  240, 340, 360, 330, 280, 230, 180, 140, 100, 75,
                   55, 40,  28,  20,  14,  10,  7,   5,   3,   2};
  d.gapDays = {0,  30, 40, 50, 60, 80, 110, 200, 90, 60, 50, 40, 35, 60, 30,
               20, 15, 12, 10, 8,  8,  15,  6,   5,  4,  3,  3,  3,  6};
  return d;
}

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::below(std::uint64_t n) {
  // Rejection sampling: no modulo bias, still deterministic.
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n);
  for (;;) {
    const std::uint64_t r = next();
    if (r < limit) return r % n;
  }
}

WeightedSampler::WeightedSampler(const std::vector<std::uint64_t>& weights) {
  cumulative_.reserve(weights.size());
  for (auto w : weights) {
    total_ += w;
    cumulative_.push_back(total_);
  }
}

std::size_t WeightedSampler::draw(SplitMix64& rng) const {
  if (total_ == 0) throw std::logic_error("drawing from an empty distribution");
  const std::uint64_t r = rng.below(total_);
  return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), r) -
                                  cumulative_.begin());
}

namespace {

template <typename T, typename F>
std::vector<std::uint64_t> weightsOf(const std::vector<T>& v, F f) {
  std::vector<std::uint64_t> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(f(x));
  return out;
}

}  // namespace

SyntheticGenerator::SyntheticGenerator(PurchaseDistributions dist, GeneratorParams params)
    : dist_(std::move(dist)),
      params_(std::move(params)),
      products_(weightsOf(dist_.products, [](const ProductPopularity& p) { return p.weight; })),
      sizes_(dist_.basketSizes),
      gaps_(dist_.gapDays),
      stores_(weightsOf(dist_.stores, [](const StorePopularity& s) { return s.weight; })) {
  if (!dist_.usable()) throw std::invalid_argument("purchase distributions are empty");
  if (params_.days <= 0) throw std::invalid_argument("days must be positive");
  endDay_ = daysFromIsoDate(params_.endDate);
}

SyntheticMember SyntheticGenerator::member(std::int64_t index) const {
  // One independent stream per member, so member i is the same whatever N or chunking is used.
  SplitMix64 rng(params_.seed * 0xD1342543DE82EF95ull +
                 static_cast<std::uint64_t>(index) * 0x9E3779B97F4A7C15ull + 1);
  rng.next();

  SyntheticMember m;
  m.memberId = params_.firstMemberId + index;
  m.cardNumber = loyaltyCardNumber(m.memberId);
  const auto& home = dist_.stores[stores_.draw(rng)];
  m.homeStoreId = home.storeId;

  // A personal repertoire: people rebuy the same things, which is what replenishment models learn.
  std::vector<std::size_t> favorites(8 + rng.below(17));
  for (auto& f : favorites) f = products_.draw(rng);

  const auto drawGap = [&] {
    return static_cast<std::int64_t>(std::max<std::size_t>(1, gaps_.draw(rng)));
  };
  std::int64_t day = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(drawGap())));
  while (day < params_.days) {
    SyntheticTrip trip;
    const auto& store = rng.below(100) < 80 ? home : dist_.stores[stores_.draw(rng)];
    trip.storeId = store.storeId;
    trip.timeZone = &store.timeZone;
    trip.businessDay = isoDateFromDays(endDay_ - params_.days + day);
    trip.secondOfDay = 8 * 3600 + static_cast<int>(rng.below(13 * 3600));
    const std::size_t size = std::max<std::size_t>(1, sizes_.draw(rng));
    std::map<std::size_t, std::int64_t> quantities;  // product index -> units; ordered output
    for (std::size_t i = 0; i < size; ++i) {
      const std::size_t p =
          rng.below(100) < 60 ? favorites[rng.below(favorites.size())] : products_.draw(rng);
      const std::uint64_t q = rng.below(100);
      quantities[p] += q < 85 ? 1 : q < 96 ? 2 : 3;
    }
    for (const auto& [p, q] : quantities) {
      const auto& prod = dist_.products[p];
      trip.lines.push_back({prod.productId, q, prod.unitPriceMinor * q});
    }
    std::sort(
        trip.lines.begin(), trip.lines.end(),
        [](const SyntheticLine& a, const SyntheticLine& b) { return a.productId < b.productId; });
    m.trips.push_back(std::move(trip));
    day += drawGap();
  }
  return m;
}

}  // namespace aisle::engine
