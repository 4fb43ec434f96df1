#pragma once
// Money as an integer count of minor units (cents). Never a double.
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "aisle/common/result.h"

namespace aisle {

class Money {
 public:
  constexpr Money() = default;
  static constexpr Money fromMinor(std::int64_t minor) { return Money(minor); }
  // Parses a decimal amount such as "3.86", "-0.5" or "12". POS systems send three decimals for
  // some amounts; digits beyond the currency's are rounded half away from zero.
  static Result<Money> parse(std::string_view text, int fractionDigits = 2);

  constexpr std::int64_t minor() const { return minor_; }
  std::string str(int fractionDigits = 2) const;  // "3.86", "-0.05"

  constexpr Money operator+(Money o) const { return Money(minor_ + o.minor_); }
  constexpr Money operator-(Money o) const { return Money(minor_ - o.minor_); }
  constexpr Money operator-() const { return Money(-minor_); }
  Money& operator+=(Money o) { minor_ += o.minor_; return *this; }
  Money& operator-=(Money o) { minor_ -= o.minor_; return *this; }
  auto operator<=>(const Money&) const = default;

 private:
  constexpr explicit Money(std::int64_t m) : minor_(m) {}
  std::int64_t minor_ = 0;
};

// An exact decimal quantity (weighed items: 1.235 kg) held in thousandths.
class Quantity {
 public:
  static constexpr int kScale = 1000;
  constexpr Quantity() = default;
  static constexpr Quantity fromMilli(std::int64_t milli) { return Quantity(milli); }
  static constexpr Quantity units(std::int64_t n) { return Quantity(n * kScale); }
  static Result<Quantity> parse(std::string_view text);
  constexpr std::int64_t milli() const { return milli_; }
  std::string str() const;  // "2", "1.235", "-1"
  auto operator<=>(const Quantity&) const = default;

 private:
  constexpr explicit Quantity(std::int64_t m) : milli_(m) {}
  std::int64_t milli_ = 0;
};

// Shared by Money and Quantity: "12.345" -> 12345 at scale 3, rounding extra digits half away from 0.
Result<std::int64_t> parseScaledDecimal(std::string_view text, int scaleDigits);
std::string formatScaledDecimal(std::int64_t value, int scaleDigits, bool trimZeros);

}  // namespace aisle
