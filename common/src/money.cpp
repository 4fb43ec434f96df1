#include "aisle/common/money.h"

#include <cstdlib>
#include <limits>

#include "aisle/common/parse.h"

namespace aisle {

Result<std::int64_t> parseScaledDecimal(std::string_view text, int scaleDigits) {
  std::string_view t = trim(text);
  const std::string original(t);
  bool negative = false;
  if (!t.empty() && (t.front() == '-' || t.front() == '+')) {
    negative = t.front() == '-';
    t.remove_prefix(1);
  }
  const auto dot = t.find('.');
  const std::string_view whole = t.substr(0, dot);
  const std::string_view frac = dot == std::string_view::npos ? std::string_view{} : t.substr(dot + 1);
  if ((whole.empty() && frac.empty()) || (!whole.empty() && !isAllDigits(whole)) ||
      (!frac.empty() && !isAllDigits(frac)) || (dot != std::string_view::npos && frac.empty() && whole.empty())) {
    return fail("'" + original + "' is not a decimal number");
  }
  // 18 digits keep every intermediate inside int64.
  if (whole.size() + static_cast<std::size_t>(scaleDigits) > 18) return fail("'" + original + "' is too large");
  std::int64_t value = 0;
  for (char c : whole) value = value * 10 + (c - '0');
  for (int i = 0; i < scaleDigits; ++i) {
    value = value * 10 + (static_cast<std::size_t>(i) < frac.size() ? frac[static_cast<std::size_t>(i)] - '0' : 0);
  }
  if (frac.size() > static_cast<std::size_t>(scaleDigits) && frac[static_cast<std::size_t>(scaleDigits)] >= '5') {
    ++value;  // half away from zero: the sign is applied afterwards
  }
  return negative ? -value : value;
}

std::string formatScaledDecimal(std::int64_t value, int scaleDigits, bool trimZeros) {
  const bool negative = value < 0;
  // Work in unsigned so INT64_MIN does not overflow.
  std::uint64_t mag = negative ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
  std::uint64_t scale = 1;
  for (int i = 0; i < scaleDigits; ++i) scale *= 10;
  std::string out = (negative ? "-" : "") + std::to_string(mag / scale);
  if (scaleDigits > 0) {
    std::string frac = std::to_string(mag % scale);
    frac.insert(0, static_cast<std::size_t>(scaleDigits) - frac.size(), '0');
    if (trimZeros) {
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
    }
    if (!frac.empty()) out += "." + frac;
  }
  return out;
}

Result<Money> Money::parse(std::string_view text, int fractionDigits) {
  auto v = parseScaledDecimal(text, fractionDigits);
  if (!v) return v.error();
  return Money(*v);
}

std::string Money::str(int fractionDigits) const {
  return formatScaledDecimal(minor_, fractionDigits, false);
}

Result<Quantity> Quantity::parse(std::string_view text) {
  auto v = parseScaledDecimal(text, 3);
  if (!v) return v.error();
  return Quantity(*v);
}

std::string Quantity::str() const { return formatScaledDecimal(milli_, 3, true); }

}  // namespace aisle
