#pragma once
// Time as an injected interface: pure logic takes a Clock and never calls now() itself.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace aisle {

using WallTime = std::chrono::system_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual WallTime now() const = 0;
  // Monotonic time for timeouts and rates; never jumps when NTP corrects the wall clock.
  virtual std::chrono::steady_clock::time_point monotonic() const = 0;
  std::int64_t nowUnixMs() const {
    return std::chrono::duration_cast<Millis>(now().time_since_epoch()).count();
  }
};

class SystemClock final : public Clock {
 public:
  WallTime now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::now();
  }
};

// Tests move time by hand: both wall and monotonic time advance together.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t unixMs = 1'700'000'000'000) : ms_(unixMs) {}
  WallTime now() const override { return WallTime(Millis(ms_.load())); }
  std::chrono::steady_clock::time_point monotonic() const override {
    return std::chrono::steady_clock::time_point(Millis(ms_.load()));
  }
  void advance(Millis d) { ms_ += d.count(); }
  void set(std::int64_t unixMs) { ms_ = unixMs; }

 private:
  std::atomic<std::int64_t> ms_;
};

}  // namespace aisle
