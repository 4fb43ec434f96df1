#include "aisle/pos/swipe.h"

#include <algorithm>

#include "aisle/common/parse.h"

namespace aisle::pos {
namespace {

constexpr std::size_t kMaxInput = 256;  // two tracks are under 120 characters; more is not a card read

Error refused(std::string_view how) {
  return fail(std::string(kPaymentCardRefused) + ": " + std::string(how) +
              " is a payment card; present the loyalty card");
}

int prefixNumber(std::string_view digits, std::size_t n) {
  int v = 0;
  for (std::size_t i = 0; i < n && i < digits.size(); ++i) v = v * 10 + (digits[i] - '0');
  return v;
}

bool inPaymentRange(std::string_view d) {
  const int p1 = prefixNumber(d, 1), p2 = prefixNumber(d, 2), p3 = prefixNumber(d, 3),
            p4 = prefixNumber(d, 4);
  if (p1 == 4) return true;                                     // Visa
  if (p2 >= 51 && p2 <= 55) return true;                        // Mastercard
  if (p4 >= 2221 && p4 <= 2720) return true;                    // Mastercard 2-series
  if (p2 == 34 || p2 == 37) return true;                        // Amex
  if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649)) return true;  // Discover
  if (p4 >= 3528 && p4 <= 3589) return true;                    // JCB
  if (p2 == 36 || p2 == 38 || (p3 >= 300 && p3 <= 305)) return true;    // Diners
  if (p2 == 62) return true;                                    // UnionPay
  if (p2 == 50 || (p2 >= 56 && p2 <= 69)) return true;          // Maestro
  return false;
}

// Digits of a keyed or POS-sent id: ASCII and full-width digits, separators dropped. Anything else
// is an error that names no digit.
Result<std::string> keyedDigits(std::string_view text) {
  std::string out;
  const std::string_view t = trim(text);
  for (std::size_t i = 0; i < t.size(); ++i) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (c >= '0' && c <= '9') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ' || c == '-' || c == '\t') {
      continue;
    } else if (c == 0xEF && i + 2 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xBC &&
               static_cast<unsigned char>(t[i + 2]) >= 0x90 &&
               static_cast<unsigned char>(t[i + 2]) <= 0x99) {
      // U+FF10..U+FF19 FULLWIDTH DIGIT: Asian keyboards and some POS fonts produce them.
      out.push_back(static_cast<char>('0' + (static_cast<unsigned char>(t[i + 2]) - 0x90)));
      i += 2;
    } else if (c == 0xC2 && i + 1 < t.size() && static_cast<unsigned char>(t[i + 1]) == 0xA0) {
      ++i;  // NO-BREAK SPACE between digit groups
    } else if (c >= 0x80) {
      return fail("card number contains a non-ASCII character");
    } else {
      return fail("card number contains a character that is not a digit");
    }
  }
  if (out.empty()) return fail("card number is empty");
  return out;
}

Result<CardNumber> toCard(std::string digits, const SwipeOptions& options, std::string_view how) {
  if (digits.size() > CardNumber::kMaxDigits) {
    // Fixed-width POS fields pad with zeros (NCR sends 25 digits); the padding is not the card.
    const auto first = digits.find_first_not_of('0');
    digits = first == std::string::npos ? std::string() : digits.substr(first);
  }
  if (looksLikePaymentCard(digits, options)) return refused(how);
  auto card = CardNumber::parse(digits, options.check);
  if (!card) {
    // CardNumber's own messages name at most one character; keep them, prefixed with the source.
    return fail(std::string(how) + ": " + card.message());
  }
  return card;
}

}  // namespace

bool isPaymentCardRefusal(const Error& e) { return e.message.rfind(kPaymentCardRefused, 0) == 0; }

bool looksLikePaymentCard(std::string_view digits, const SwipeOptions& options) {
  if (digits.size() < 12 || digits.size() > 19 || !isAllDigits(digits)) return false;
  for (const auto& p : options.loyaltyPrefixes)
    if (!p.empty() && digits.substr(0, p.size()) == p) return false;
  return luhnValid(digits) && inPaymentRange(digits);
}

Result<CardNumber> parseTrack1(std::string_view t, const SwipeOptions& options) {
  // %<format code><PAN up to 19>^<name 2-26>^<YYMM><service code><discretionary>?<LRC>
  if (t.size() > kMaxInput) return fail("track 1 is too long");
  if (t.size() < 4 || t[0] != '%') return fail("track 1 must start with the '%' sentinel");
  const char format = t[1];
  if (format == 'B' || format == 'b') return refused("track 1 format B");
  if (format < 'A' || format > 'Z') return fail("track 1 has no format code");
  const auto end = t.find('?');
  if (end == std::string_view::npos) return fail("track 1 has no '?' end sentinel");
  for (std::size_t i = 0; i <= end; ++i) {
    if (t[i] < 0x20 || t[i] > 0x5F) return fail("track 1 contains a character outside its 6-bit set");
  }
  if (end + 1 < t.size()) {
    // The LRC: XOR of the 6-bit values from the start sentinel through the end sentinel.
    unsigned lrc = 0;
    for (std::size_t i = 0; i <= end; ++i) lrc ^= static_cast<unsigned>(t[i] - 0x20) & 0x3F;
    if (end + 2 == t.size()) {
      if (static_cast<unsigned>(t[end + 1] - 0x20) != lrc) return fail("track 1 LRC does not match");
    } else if (t[end + 1] != ';') {
      return fail("track 1 has data after its LRC");
    }
  }
  const auto sep = t.find('^');
  if (sep == std::string_view::npos || sep > end) return fail("track 1 has no '^' field separator");
  const std::string_view pan = t.substr(2, sep - 2);
  if (!isAllDigits(pan)) return fail("track 1 account number is not all digits");
  return toCard(std::string(pan), options, "track 1");
}

Result<CardNumber> parseTrack2(std::string_view t, const SwipeOptions& options) {
  // ;<PAN up to 19>=<YYMM><service code><discretionary>?<LRC>
  if (t.size() > kMaxInput) return fail("track 2 is too long");
  if (t.size() < 3 || t[0] != ';') return fail("track 2 must start with the ';' sentinel");
  const auto end = t.find('?');
  if (end == std::string_view::npos) return fail("track 2 has no '?' end sentinel");
  for (std::size_t i = 0; i <= end; ++i) {
    if (t[i] < 0x30 || t[i] > 0x3F) return fail("track 2 contains a character outside its 4-bit set");
  }
  if (end + 1 < t.size()) {
    if (end + 2 != t.size()) return fail("track 2 has data after its LRC");
    unsigned lrc = 0;
    for (std::size_t i = 0; i <= end; ++i) lrc ^= static_cast<unsigned>(t[i] - 0x30) & 0x0F;
    if (static_cast<unsigned>(t[end + 1] - 0x30) != lrc) return fail("track 2 LRC does not match");
  }
  auto sep = t.find('=');
  if (sep == std::string_view::npos || sep > end) sep = end;  // loyalty cards may omit the rest
  const std::string_view pan = t.substr(1, sep - 1);
  if (!isAllDigits(pan)) return fail("track 2 account number is not all digits");
  return toCard(std::string(pan), options, "track 2");
}

Result<CardNumber> parseBarcode(std::string_view scan, const SwipeOptions& options) {
  if (scan.size() > kMaxInput) return fail("barcode is too long");
  std::string_view s = trim(scan);
  std::string symbology;
  if (s.size() >= 3 && s[0] == ']') {
    symbology = std::string(s.substr(1, 2));
    s.remove_prefix(3);
  }
  if (!isAllDigits(s)) return fail("barcode is not all digits");
  const bool ean = symbology == "E0" || (symbology.empty() && s.size() == 13);
  if (ean) {
    if (s.size() != 13) return fail("EAN-13 barcode must have 13 digits");
    if (Gtin::checkDigit(s.substr(0, 12)) != s[12] - '0') return fail("EAN-13 barcode has a wrong check digit");
    if (looksLikePaymentCard(s, options)) return refused("barcode");
    auto card = CardNumber::parse(s, CardCheckDigit::None);  // the EAN check digit was the check
    if (!card) return fail("barcode: " + card.message());
    return card;
  }
  if (!symbology.empty() && symbology[0] != 'C') return fail("barcode symbology ]" + symbology + " is not EAN-13 or Code 128");
  return toCard(std::string(s), options, "barcode");
}

Result<CardNumber> parseKeyed(std::string_view text, const SwipeOptions& options) {
  if (text.size() > kMaxInput) return fail("keyed card number is too long");
  auto digits = keyedDigits(text);
  if (!digits) return digits.error();
  return toCard(std::move(*digits), options, "keyed card number");
}

Result<CardNumber> parseCardInput(std::string_view raw, const SwipeOptions& options) {
  const std::string_view s = trim(raw);
  if (s.empty()) return fail("no card input");
  if (s[0] == '%') return parseTrack1(s, options);
  if (s[0] == ';') return parseTrack2(s, options);
  if (s[0] == ']') return parseBarcode(s, options);
  return parseKeyed(s, options);
}

}  // namespace aisle::pos
