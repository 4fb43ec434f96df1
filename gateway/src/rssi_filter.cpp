#include "aisle/gateway/rssi_filter.h"

#include <algorithm>
#include <cmath>

namespace aisle::gateway {

std::string_view filterKindName(FilterKind kind) {
  switch (kind) {
    case FilterKind::Raw: return "raw";
    case FilterKind::Median: return "median";
    case FilterKind::MedianEma: return "median-ema";
    case FilterKind::HuberEma: return "huber-ema";
  }
  return "?";
}

bool parseFilterKind(std::string_view text, FilterKind& out) {
  for (const FilterKind k :
       {FilterKind::Raw, FilterKind::Median, FilterKind::MedianEma, FilterKind::HuberEma}) {
    if (text == filterKindName(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

double RssiFilter::medianOfWindow(std::int64_t nowMs, const FilterParams& p) const {
  // Gather the newest `window` samples that are still young enough; the newest always counts.
  std::array<std::int16_t, kMaxWindow> v{};
  int n = 0;
  const int want = std::clamp(p.window, 1, kMaxWindow);
  for (int i = 0; i < count_ && n < want; ++i) {
    const int slot = (head_ + kMaxWindow - 1 - i) % kMaxWindow;
    if (i > 0 && nowMs - times_[static_cast<std::size_t>(slot)] > p.maxAgeMs) break;
    v[static_cast<std::size_t>(n++)] = ring_[static_cast<std::size_t>(slot)];
  }
  // Insertion sort: n <= 15 and nearly sorted in steady state.
  for (int i = 1; i < n; ++i) {
    const std::int16_t x = v[static_cast<std::size_t>(i)];
    int j = i - 1;
    while (j >= 0 && v[static_cast<std::size_t>(j)] > x) {
      v[static_cast<std::size_t>(j + 1)] = v[static_cast<std::size_t>(j)];
      --j;
    }
    v[static_cast<std::size_t>(j + 1)] = x;
  }
  const auto mid = static_cast<std::size_t>(n / 2);
  return (n % 2 == 1) ? v[mid] : (v[mid - 1] + v[mid]) / 2.0;
}

void RssiFilter::add(Dbm rssi, std::int64_t tMs, const FilterParams& p) {
  const auto sample = static_cast<std::int16_t>(std::clamp(std::lround(rssi.value), -200L, 50L));
  const bool first = total_ == 0;
  ring_[head_] = sample;
  times_[head_] = tMs;
  head_ = static_cast<std::uint8_t>((head_ + 1) % kMaxWindow);
  if (count_ < kMaxWindow) ++count_;
  ++total_;
  const double dt = first ? 0.0 : static_cast<double>(std::max<std::int64_t>(0, tMs - lastMs_));
  lastMs_ = tMs;
  switch (p.kind) {
    case FilterKind::Raw:
      value_ = sample;
      break;
    case FilterKind::Median:
      value_ = medianOfWindow(tMs, p);
      break;
    case FilterKind::MedianEma: {
      const double m = medianOfWindow(tMs, p);
      // alpha = dt / (tau + dt): a first-order low-pass for irregular sampling, without exp().
      value_ = first ? m : value_ + (dt / (p.tauMs + dt)) * (m - value_);
      break;
    }
    case FilterKind::HuberEma: {
      if (first) {
        value_ = sample;
        break;
      }
      const double innovation = std::clamp(sample - value_, -p.huberDb, p.huberDb);
      value_ += (dt / (p.tauMs + dt)) * innovation;
      break;
    }
  }
}

}  // namespace aisle::gateway
