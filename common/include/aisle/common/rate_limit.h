#pragma once
// Token buckets keyed by caller (a gateway, a terminal): `rate` per second sustained, `burst` at once.
// Pure apart from the injected clock.
#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "aisle/common/clock.h"

namespace aisle {

class RateLimiter {
 public:
  RateLimiter(const Clock& clock, double ratePerSecond, double burst)
      : clock_(clock), rate_(ratePerSecond), burst_(burst) {}

  // Takes `cost` tokens from key's bucket if it has them.
  bool allow(const std::string& key, double cost = 1) {
    std::lock_guard lock(mu_);
    const double now = std::chrono::duration<double>(clock_.monotonic().time_since_epoch()).count();
    auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh) {
      b.tokens = std::min(burst_, b.tokens + (now - b.at) * rate_);
      b.at = now;
    }
    if (b.tokens < cost) return false;
    b.tokens -= cost;
    return true;
  }

 private:
  struct Bucket {
    double tokens;
    double at;
  };
  const Clock& clock_;
  double rate_;
  double burst_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace aisle
