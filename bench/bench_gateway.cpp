// Gateway hot path on one core: advert decoding, decode+filter+zone pipeline, and replay (JSON
// sightings in, JSON events out). Synthetic, deterministic input: no data set needed.
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "aisle/common/hmac.h"
#include "aisle/gateway/advert.h"
#include "aisle/gateway/replay.h"
#include "aisle/gateway/zone_tracker.h"
#include "bench_result.h"

namespace {

using namespace aisle::gateway;
using Clock = std::chrono::steady_clock;

std::vector<std::uint8_t> bytes(const char* hex) {
  const std::string s = aisle::fromHex(hex).value();
  return {s.begin(), s.end()};
}

class CountingSink final : public ZoneEventSink {
 public:
  void onZoneEvent(const ZoneEvent& e) override { n += e.tMs != 0; }
  std::uint64_t n = 0;
};

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int main() {
  // A mix like a store's air: mostly iBeacon/Eddystone tags, some phones' non-beacon adverts.
  const std::vector<std::vector<std::uint8_t>> adverts = {
      bytes("0201061aff4c0002154142434445464748494041424344454600010002f8"),
      bytes("0201060303aafe1716aafe00e3123456789012346789010000000000010000"),
      bytes("0201060303aafe1316aafe10f8036769746875620063697472757a"),
      bytes("0201060303aafe1116aafe20000b1813000000146700002ac4"),
      bytes("0201060303aafe0d16aafe30e34549445f74657374"),
      bytes("02011a1bff1801beac2f234454cf6d4a0fadf2f4911ba9ffa600010002c509"),
      bytes("02011a0aff4c0010050b1c6d7e8f0909416e6472656173"),  // a phone: not a beacon
      bytes("0201041aff4c0002150005000100001000800000805f9b013100026c66c3"),
  };

  // (1) decode only.
  std::uint64_t decoded = 0, kinds = 0;
  auto t0 = Clock::now();
  const std::uint64_t decodeN = 20'000'000;
  for (std::uint64_t i = 0; i < decodeN; ++i) {
    kinds += static_cast<std::uint64_t>(decodeAdStructures(adverts[i % adverts.size()]).kind);
    ++decoded;
  }
  auto t1 = Clock::now();
  const double decodeRate = static_cast<double>(decoded) / seconds(t0, t1);

  // (2) decode + key + filter + zone arbitration, 500 beacons x 4 scanners.
  CountingSink sink;
  ZoneTracker tracker(ZoneSetup{}, sink);
  const std::array<std::string_view, 4> scanners = {"s1", "s2", "s3", "s4"};
  std::vector<std::uint8_t> ib = adverts[0];
  std::mt19937 rng(7);
  const std::uint64_t pipeN = 5'000'000;
  std::array<char, 48> key{};
  static constexpr char kHex[] = "0123456789abcdef";
  t0 = Clock::now();
  for (std::uint64_t i = 0; i < pipeN; ++i) {
    const auto beacon = static_cast<std::uint16_t>(i % 500);
    ib[27] = static_cast<std::uint8_t>(beacon >> 8);  // minor: one id per simulated beacon
    ib[28] = static_cast<std::uint8_t>(beacon & 0xFF);
    const Advert a = decodeAdStructures(ib);
    std::size_t k = 0;
    for (const std::uint8_t b : a.uuid) key[k++] = kHex[b >> 4], key[k++] = kHex[b & 0xF];
    for (const std::uint16_t v : {a.major, a.minor}) {
      for (int s = 12; s >= 0; s -= 4) key[k++] = kHex[(v >> s) & 0xF];
    }
    const auto scanner = scanners[(i / 500) % 4];
    const double rssi = -60.0 - static_cast<double>(rng() % 20) - 5.0 * static_cast<double>((i / 500) % 4);
    tracker.onSighting(scanner, std::string_view(key.data(), k), Dbm{rssi},
                       static_cast<std::int64_t>(i / 20));  // 20 adverts per ms overall
  }
  t1 = Clock::now();
  const double pipeRate = static_cast<double>(pipeN) / seconds(t0, t1);

  // (3) replay: JSON Lines sightings -> zone events JSON Lines.
  std::string input;
  const int replayN = 1'000'000;
  input.reserve(static_cast<std::size_t>(replayN) * 90);
  for (int i = 0; i < replayN; ++i) {
    input += "{\"scanner\":\"Room20" + std::to_string(1 + (i / 200) % 4) +
             "\",\"beacon\":\"DAF246CE836311E4:0:" + std::to_string(i % 200) +
             "\",\"rssi\":" + std::to_string(-60 - static_cast<int>(rng() % 30)) +
             ",\"t_ms\":" + std::to_string(1425417360553LL + i / 10) + "}\n";
  }
  std::istringstream in(input);
  std::ostringstream out;
  t0 = Clock::now();
  const ReplayResult r = runReplay(in, out, ZoneSetup{});
  t1 = Clock::now();
  const double replayRate = static_cast<double>(r.sightings) / seconds(t0, t1);

  std::cerr << "checks: kinds=" << kinds << " pipeline events=" << sink.n
            << " replay events bytes=" << out.str().size() << "\n";
  aisle::bench::writeResult("gateway", {{"decode_adverts_per_s", decodeRate},
                                        {"pipeline_adverts_per_s", pipeRate},
                                        {"replay_sightings_per_s", replayRate}});
  return 0;
}
