#pragma once
// The one number parser (std::from_chars, whole string, range-checked): never atoi.
#include <charconv>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "aisle/common/result.h"

namespace aisle {

inline std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

template <typename T>
Result<T> parseNumber(std::string_view text, T min = std::numeric_limits<T>::lowest(),
                      T max = std::numeric_limits<T>::max()) {
  static_assert(std::is_arithmetic_v<T>);
  const std::string_view t = trim(text);
  T value{};
  const char* begin = t.data();
  const char* end = t.data() + t.size();
  if (!t.empty() && *begin == '+') ++begin;  // from_chars rejects a leading '+', people write it
  const auto [ptr, ec] = std::from_chars(begin, end, value);
  if (t.empty() || ec == std::errc::invalid_argument || ptr != end) {
    return fail("'" + std::string(text) + "' is not a number");
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return fail("'" + std::string(text) + "' is out of range [" + std::to_string(min) + ", " +
                std::to_string(max) + "]");
  }
  return value;
}

inline bool isAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

}  // namespace aisle
