// Eddystone-EID resolution at scale (issue: 1M registered devices, precompute per rotation < 5 s,
// lookups >= 50,000/s). Devices get random identity keys, K in 8..12 and random clock offsets.
#include <chrono>
#include <random>

#include "aisle/engine/eid.h"
#include "bench_result.h"

int main(int argc, char** argv) {
  using Clock = std::chrono::steady_clock;
  const std::size_t n = argc > 1 ? std::stoul(argv[1]) : 1'000'000;
  std::mt19937_64 rng(7);
  std::vector<aisle::engine::EidDevice> devices(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& d = devices[i];
    d.memberId = static_cast<std::int64_t>(i);
    d.deviceId = static_cast<std::int64_t>(i);
    for (auto& b : d.identityKey) b = static_cast<std::uint8_t>(rng());
    d.k = 8 + static_cast<int>(rng() % 5);
    d.clockOffsetS = -1'690'000'000 + static_cast<std::int64_t>(rng() % 10'000'000);
  }
  const std::int64_t now = 1'700'000'000;
  aisle::engine::EidResolver resolver(1);
  const auto t0 = Clock::now();
  resolver.rebuild(devices, now, std::thread::hardware_concurrency());
  const double rebuildS = std::chrono::duration<double>(Clock::now() - t0).count();

  // Lookups: half observed EIDs of registered devices, half unknown ones (other people's beacons).
  aisle::engine::EidComputer eid;
  std::vector<std::uint64_t> queries;
  for (std::size_t i = 0; i < 200'000; ++i) {
    if (i % 2) {
      queries.push_back(rng());
    } else {
      const auto& d = devices[rng() % n];
      queries.push_back(aisle::engine::eidToU64(
          eid.compute(d.identityKey, d.k, static_cast<std::uint32_t>(now + d.clockOffsetS))));
    }
  }
  std::size_t hits = 0;
  const auto t1 = Clock::now();
  for (auto q : queries) hits += resolver.resolve(q).has_value();
  const double lookupS = std::chrono::duration<double>(Clock::now() - t1).count();
  aisle::bench::writeResult("eid", {{"devices_count", static_cast<double>(n)},
                                    {"precompute_s", rebuildS},
                                    {"lookups_per_s", static_cast<double>(queries.size()) / lookupS},
                                    {"hit_fraction_ratio", static_cast<double>(hits) / static_cast<double>(queries.size())}});
  return hits == queries.size() / 2 ? 0 : 1;
}
