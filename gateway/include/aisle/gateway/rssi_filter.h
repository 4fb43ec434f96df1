#pragma once
// Per (beacon x scanner) RSSI smoothing. RSSI from a phone or tag is noisy (multipath, body
// shadowing, antenna orientation) with heavy one-sided outliers: single adverts read 10-20 dB low
// when a body is in the way. The filters here are fixed-size (no allocation: one exists per beacon
// and scanner on a Raspberry Pi) and take event timestamps, never the wall clock.
//
// Kinds (compared on the real scanner runs in gateway/GATEWAY.md):
//   raw        the last sample (the naive baseline)
//   median     median of the last `window` samples no older than `maxAge`
//   median-ema median of the last `window` samples (rejects outliers), then an exponential moving
//              average with time constant `tau` (smooths the median's steps); time-aware, so a
//              sparse beacon is not smoothed more than a chatty one
//   huber-ema  an EMA whose innovation is clipped to +-`huberDb` (Huber-style): no buffer at all
#include <array>
#include <cstdint>
#include <string_view>

#include "aisle/gateway/units.h"

namespace aisle::gateway {

enum class FilterKind : std::uint8_t { Raw, Median, MedianEma, HuberEma };
std::string_view filterKindName(FilterKind kind);
bool parseFilterKind(std::string_view text, FilterKind& out);

struct FilterParams {
  FilterKind kind = FilterKind::MedianEma;
  int window = 5;                 // samples in the median (1..kMaxWindow)
  std::int64_t maxAgeMs = 5000;   // samples older than this leave the median
  double tauMs = 2000;            // EMA time constant
  double huberDb = 4;             // innovation clip of huber-ema
};

class RssiFilter {
 public:
  static constexpr int kMaxWindow = 15;

  void add(Dbm rssi, std::int64_t tMs, const FilterParams& p);
  // The filtered value; only meaningful once a sample has been added.
  Dbm value() const { return Dbm{value_}; }
  bool empty() const { return count_ == 0; }
  std::uint32_t samples() const { return total_; }

 private:
  double medianOfWindow(std::int64_t nowMs, const FilterParams& p) const;
  std::array<std::int16_t, kMaxWindow> ring_{};  // dBm, whole numbers as BlueZ reports them
  std::array<std::int64_t, kMaxWindow> times_{};
  std::uint8_t head_ = 0;   // next slot to write
  std::uint8_t count_ = 0;  // valid slots
  std::uint32_t total_ = 0;
  std::int64_t lastMs_ = 0;
  double value_ = 0;
};

}  // namespace aisle::gateway
