#include "aisle/common/ids.h"

#include "aisle/common/parse.h"

namespace aisle {

int Gtin::checkDigit(std::string_view digits) {
  // GS1: weights 3,1,3,1... from the rightmost data digit.
  int sum = 0;
  bool three = true;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    sum += (*it - '0') * (three ? 3 : 1);
    three = !three;
  }
  return (10 - sum % 10) % 10;
}

Result<Gtin> Gtin::parse(std::string_view text) {
  const std::string_view t = trim(text);
  if (!isAllDigits(t)) return fail("GTIN '" + std::string(text) + "' must be digits only");
  if (t.size() != 8 && t.size() != 12 && t.size() != 13 && t.size() != 14) {
    return fail("GTIN '" + std::string(t) + "' has " + std::to_string(t.size()) +
                " digits; expected 8, 12, 13 or 14");
  }
  const int expected = checkDigit(t.substr(0, t.size() - 1));
  if (t.back() - '0' != expected) {
    return fail("GTIN '" + std::string(t) + "' has a wrong check digit (expected " +
                std::to_string(expected) + ")");
  }
  return Gtin(std::string(14 - t.size(), '0') + std::string(t));
}

bool luhnValid(std::string_view digits) {
  if (!isAllDigits(digits)) return false;
  int sum = 0;
  bool dbl = false;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    int d = *it - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

Result<CardNumber> CardNumber::parse(std::string_view text, CardCheckDigit check) {
  std::string digits;
  for (char c : trim(text)) {
    if (c == ' ' || c == '-') continue;
    if (c < '0' || c > '9') return fail("card number contains '" + std::string(1, c) + "'");
    digits.push_back(c);
  }
  if (digits.size() < kMinDigits || digits.size() > kMaxDigits) {
    return fail("card number has " + std::to_string(digits.size()) + " digits; expected " +
                std::to_string(kMinDigits) + " to " + std::to_string(kMaxDigits));
  }
  const bool good = check == CardCheckDigit::None ||
                    (check == CardCheckDigit::Luhn && luhnValid(digits)) ||
                    (check == CardCheckDigit::Gs1Mod10 &&
                     Gtin::checkDigit(std::string_view(digits).substr(0, digits.size() - 1)) ==
                         digits.back() - '0');
  if (!good) return fail("card number has a wrong check digit");
  return CardNumber(std::move(digits));
}

std::string CardNumber::masked() const {
  const std::size_t keep = digits_.size() > 4 ? 4 : 0;
  return std::string(digits_.size() - keep, '*') + digits_.substr(digits_.size() - keep);
}

}  // namespace aisle
