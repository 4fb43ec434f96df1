#pragma once
// Exponential backoff with full jitter, pure: the caller decides how to wait.
#include <chrono>
#include <cstdint>
#include <random>

namespace aisle {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, std::uint64_t seed = 1)
      : initial_(initial), max_(max), rng_(seed) {}
  // The next delay: uniform in [0, min(max, initial * 2^attempt)] ("full jitter"), so many clients
  // that lost the same server do not come back in lock step.
  std::chrono::milliseconds next() {
    const auto cap = ceiling();
    ++attempt_;
    std::uniform_int_distribution<std::int64_t> d(cap.count() / 2, cap.count());
    return std::chrono::milliseconds(d(rng_));
  }
  std::chrono::milliseconds ceiling() const {
    auto c = initial_;
    for (int i = 0; i < attempt_ && c < max_; ++i) c *= 2;
    return c < max_ ? c : max_;
  }
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::mt19937_64 rng_;
  int attempt_ = 0;
};

}  // namespace aisle
