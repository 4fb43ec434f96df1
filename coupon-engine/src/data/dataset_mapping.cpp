#include "aisle/engine/dataset_mapping.h"

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>

#include "aisle/common/ids.h"
#include "aisle/common/json.h"
#include "aisle/common/parse.h"

namespace aisle::engine {

std::string loyaltyCardNumber(std::int64_t memberId) {
  std::string digits = std::to_string(memberId);
  // Ten digits hold every id space we use (synthetic members stay below 10^10).
  if (digits.size() < 10) digits.insert(0, 10 - digits.size(), '0');
  std::string body = "29" + digits;
  return body + static_cast<char>('0' + Gtin::checkDigit(body));
}

Result<std::string> expandExponent(std::string_view text) {
  const std::string_view t = trim(text);
  const auto e = t.find_first_of("eE");
  if (e == std::string_view::npos) return std::string(t);
  std::string_view mantissa = t.substr(0, e);
  std::string sign;
  if (!mantissa.empty() && (mantissa.front() == '-' || mantissa.front() == '+')) {
    if (mantissa.front() == '-') sign = "-";
    mantissa.remove_prefix(1);
  }
  const auto dot = mantissa.find('.');
  const std::string_view whole = mantissa.substr(0, dot);
  const std::string_view frac =
      dot == std::string_view::npos ? std::string_view{} : mantissa.substr(dot + 1);
  if (!isAllDigits(whole) || (!frac.empty() && !isAllDigits(frac))) {
    return fail("'" + std::string(text) + "' is not a number");
  }
  // Exponents of real prices and ids are small; the bound keeps a hostile "1e999999" cheap.
  auto exponent = parseNumber<int>(t.substr(e + 1), -40, 40);
  if (!exponent) return fail("'" + std::string(text) + "' has a bad exponent");
  const std::string digits = std::string(whole) + std::string(frac);
  const long point = static_cast<long>(whole.size()) + *exponent;  // position of the decimal point
  std::string out;
  if (point <= 0) {
    out = "0." + std::string(static_cast<std::size_t>(-point), '0') + digits;
  } else if (static_cast<std::size_t>(point) >= digits.size()) {
    out = digits + std::string(static_cast<std::size_t>(point) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<std::size_t>(point)) + "." +
          digits.substr(static_cast<std::size_t>(point));
  }
  // Leading zeros of the integer part carry nothing ("00.5" -> "0.5").
  std::size_t lead = 0;
  while (lead + 1 < out.size() && out[lead] == '0' && out[lead + 1] != '.') ++lead;
  return sign + out.substr(lead);
}

Result<std::int64_t> parseIdText(std::string_view text) {
  auto plain = expandExponent(text);
  if (!plain) return plain.error();
  if (!isAllDigits(*plain))
    return fail("'" + std::string(text) + "' is not a whole non-negative id");
  auto v = parseNumber<std::int64_t>(*plain, 0);
  if (!v) return fail("'" + std::string(text) + "' is not a valid id (" + v.message() + ")");
  return *v;
}

Result<Money> parseAmountText(std::string_view text) {
  auto plain = expandExponent(text);
  if (!plain) return plain.error();
  auto m = Money::parse(*plain, 2);
  if (!m) return fail("'" + std::string(text) + "' is not an amount");
  return *m;
}

Result<std::int64_t> parseQuantityMilli(std::string_view text) {
  auto plain = expandExponent(text);
  if (!plain) return plain.error();
  auto q = parseScaledDecimal(*plain, 3);
  if (!q) return fail("'" + std::string(text) + "' is not a quantity");
  return *q;
}

namespace {

bool twoDigits(std::string_view s, std::size_t at, int& out) {
  if (at + 2 > s.size() || s[at] < '0' || s[at] > '9' || s[at + 1] < '0' || s[at + 1] > '9')
    return false;
  out = (s[at] - '0') * 10 + (s[at + 1] - '0');
  return true;
}

std::optional<std::int64_t> civilDays(int y, int m, int d) {
  const std::chrono::year_month_day ymd{std::chrono::year{y},
                                        std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days(ymd).time_since_epoch().count();
}

// "YYYY-MM-DD" at the start of s.
bool isoDateParts(std::string_view s, int& y, int& m, int& d) {
  if (s.size() < 10 || s[4] != '-' || s[7] != '-' || !isAllDigits(s.substr(0, 4))) return false;
  y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  return twoDigits(s, 5, m) && twoDigits(s, 8, d) && civilDays(y, m, d).has_value();
}

std::string pad2(int v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02d", v);
  return buf;
}

}  // namespace

Result<IsoTimestamp> parseIsoTimestamp(std::string_view text) {
  const std::string_view t = trim(text);
  const auto bad = [&] {
    return fail("'" + std::string(text) + "' is not a timestamp like 2017-01-28T14:06:53-0500");
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (t.size() < 19 || !isoDateParts(t, y, mo, d) || (t[10] != 'T' && t[10] != ' ') ||
      t[13] != ':' || t[16] != ':' || !twoDigits(t, 11, h) || !twoDigits(t, 14, mi) ||
      !twoDigits(t, 17, s) || h > 23 || mi > 59 || s > 59) {
    return bad();
  }
  std::string_view zone = t.substr(19);
  int offsetMinutes = 0;
  if (zone == "Z") {
    offsetMinutes = 0;
  } else {
    if (zone.empty() || (zone[0] != '+' && zone[0] != '-')) return bad();
    const int sign = zone[0] == '-' ? -1 : 1;
    int oh = 0, om = 0;
    if (!twoDigits(zone, 1, oh)) return bad();
    if (zone.size() == 3) {
      om = 0;
    } else if (zone.size() == 5 && twoDigits(zone, 3, om)) {
    } else if (zone.size() == 6 && zone[3] == ':' && twoDigits(zone, 4, om)) {
    } else {
      return bad();
    }
    if (oh > 14 || om > 59) return bad();
    offsetMinutes = sign * (oh * 60 + om);
  }
  IsoTimestamp out;
  out.localDate = std::string(t.substr(0, 10));
  const std::int64_t days = *civilDays(y, mo, d);
  out.epochSeconds =
      days * 86400 + h * 3600 + mi * 60 + s - static_cast<std::int64_t>(offsetMinutes) * 60;
  const int absOff = offsetMinutes < 0 ? -offsetMinutes : offsetMinutes;
  out.postgresText = out.localDate + " " + pad2(h) + ":" + pad2(mi) + ":" + pad2(s) +
                     (offsetMinutes < 0 ? "-" : "+") + pad2(absOff / 60) + ":" + pad2(absOff % 60);
  return out;
}

Result<std::string> parseIsoDate(std::string_view text) {
  const std::string_view t = trim(text);
  int y = 0, m = 0, d = 0;
  if (t.size() != 10 || !isoDateParts(t, y, m, d))
    return fail("'" + std::string(text) + "' is not a date like 2017-03-03");
  return std::string(t);
}

Result<std::string> parseDayMonthYear(std::string_view text) {
  const std::string_view t = trim(text);
  const auto bad = [&] {
    return fail("'" + std::string(text) +
                "' is not a day-month-year date like 27-05-2015 or 2/5/2015");
  };
  // The groceries file mixes "27-05-2015" with "2/5/2015" (a spreadsheet rewrote the dates whose
  // day could pass for a month); both are day first, one separator throughout.
  const auto first = t.find_first_of("-/");
  if (first == std::string_view::npos) return bad();
  const char sep = t[first];
  const auto second = t.find(sep, first + 1);
  if (second == std::string_view::npos) return bad();
  const auto d = parseNumber<int>(t.substr(0, first), 1, 31);
  const auto m = parseNumber<int>(t.substr(first + 1, second - first - 1), 1, 12);
  const auto yearText = t.substr(second + 1);
  if (!d || !m || first > 2 || second - first - 1 > 2 || yearText.size() != 4 ||
      !isAllDigits(yearText))
    return bad();
  const std::string iso = std::string(yearText) + "-" + pad2(*m) + "-" + pad2(*d);
  if (!parseIsoDate(iso)) return fail("'" + std::string(text) + "' is not a real calendar date");
  return iso;
}

std::int64_t daysFromIsoDate(const std::string& isoDate) {
  int y = 0, m = 0, d = 0;
  if (!isoDateParts(isoDate, y, m, d)) throw std::invalid_argument("not an ISO date: " + isoDate);
  return *civilDays(y, m, d);
}

std::string isoDateFromDays(std::int64_t days) {
  const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::days{days}}};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string nextDay(const std::string& isoDate) {
  return isoDateFromDays(daysFromIsoDate(isoDate) + 1);
}

std::string completeJourneyProductName(std::string_view productType, std::string_view category,
                                       std::string_view department, std::int64_t productId) {
  if (!trim(productType).empty()) return std::string(trim(productType));
  if (!trim(category).empty()) return std::string(trim(category));
  if (!trim(department).empty()) return std::string(trim(department));
  return "product " + std::to_string(productId);
}

std::int64_t groceriesProductId(std::string_view itemDescription) {
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a 64: tiny, stable across platforms
  for (unsigned char c : trim(itemDescription)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return kGroceriesProductOffset +
         static_cast<std::int64_t>(h % static_cast<std::uint64_t>(kGroceriesProductSpan));
}

std::string jsonString(std::string_view s) {
  std::string out;
  appendJsonString(out, s);
  return out;
}

}  // namespace aisle::engine
