#include "common.h"

#include <cstdlib>
#include <set>

#include "aisle/common/parse.h"
#include "aisle/pos/swipe.h"
#include "aisle/pos/time_zone.h"

namespace aisle::pos::detail {

int currencyDigits(std::string_view c) {
  if (c == "JPY" || c == "KRW" || c == "ISK" || c == "CLP" || c == "VND") return 0;
  if (c == "BHD" || c == "KWD" || c == "OMR" || c == "JOD" || c == "TND") return 3;
  return 2;
}

Result<Money> parseAmount(std::string_view text, std::string_view what, const std::string& currency,
                          const ParseLimits& limits) {
  auto m = Money::parse(text, currencyDigits(currency));
  if (!m) return fail(std::string(what) + ": " + m.message());
  if (std::llabs(m->minor()) > limits.maxAbsAmountMinor) {
    return fail(std::string(what) + ": amount '" + std::string(trim(text).substr(0, 30)) + "' is out of range");
  }
  return m;
}

Result<Quantity> parseQuantity(std::string_view text, std::string_view what, const ParseLimits& limits) {
  auto q = Quantity::parse(text);
  if (!q) return fail(std::string(what) + ": " + q.message());
  if (std::llabs(q->milli()) > limits.maxAbsQuantityMilli) {
    return fail(std::string(what) + ": quantity '" + std::string(trim(text).substr(0, 30)) + "' is out of range");
  }
  return q;
}

Result<std::string> code(std::string_view text, std::string_view what) {
  const std::string_view t = trim(text);
  if (t.size() > 64) return fail(std::string(what) + " is longer than 64 characters");
  return std::string(t);
}

Status checkIdentifier(std::string_view v, std::string_view what) {
  if (v.empty()) return fail(std::string(what) + " is missing");
  if (v.size() > 64) return fail(std::string(what) + " is longer than 64 characters");
  for (char c : v) {
    if (c < 0x21 || c > 0x7E || c == '/') {
      return fail(std::string(what) + " contains a character that is not printable ASCII (or '/')");
    }
  }
  return okStatus();
}

Status resolveTimes(Transaction& t, std::string_view endTime, const ParseOptions& o) {
  std::optional<std::int64_t> day;
  if (!t.key.businessDay.empty()) {
    auto d = parseDate(t.key.businessDay);
    if (!d) return fail("BusinessDayDate: " + d.message());
    day = *d;
    t.key.businessDay = formatDate(*d);
  }
  auto toInstant = [&](std::int64_t localMs, std::optional<int> offset) -> Result<std::int64_t> {
    if (offset) return localMs - std::int64_t{*offset} * 1000;
    if (!o.localTime) return fail("timestamp has no UTC offset and the store's time zone is unknown");
    return o.localTime(t.key, localMs);
  };
  if (trim(endTime).empty()) {
    if (!day) return fail("neither a business day nor an end time is given");
    // Without a timestamp the sale happened on its business day; noon keeps it there in any zone.
    auto at = toInstant((*day * 86400 + 12 * 3600) * 1000, std::nullopt);
    if (!at) return at.error();
    t.occurredAtMs = *at;
    t.warnings.push_back("no end time; using noon of the business day");
    return okStatus();
  }
  auto ts = parseTimestamp(endTime);
  if (!ts) {
    if (!day) return ts.error();
    t.warnings.push_back("unreadable end time (" + ts.message() + "); using noon of the business day");
    return resolveTimes(t, {}, o);
  }
  const std::int64_t localDay =
      (ts->localMs >= 0 ? ts->localMs : ts->localMs - 86'399'999) / 86'400'000;
  if (!day) {
    day = localDay;
    t.key.businessDay = formatDate(localDay);
    t.warnings.push_back("no business day; using the calendar day of the end time");
  }
  if (std::llabs(localDay - *day) > 2) {
    // A till whose clock reset (1970) or drifted by years: the business day is what the store booked.
    t.warnings.push_back("end time is " + std::to_string(std::llabs(localDay - *day)) +
                         " days from the business day; using noon of the business day");
    auto at = toInstant((*day * 86400 + 12 * 3600) * 1000, std::nullopt);
    if (!at) return at.error();
    t.occurredAtMs = *at;
    return okStatus();
  }
  auto at = toInstant(ts->localMs, ts->offsetSeconds);
  if (!at) return at.error();
  t.occurredAtMs = *at;
  return okStatus();
}

void assignCard(Transaction& t, std::string_view raw, const ParseOptions& o) {
  if (trim(raw).empty()) return;
  SwipeOptions so;
  so.check = o.cardCheck;
  auto card = parseKeyed(raw, so);
  if (card) {
    if (t.card && !(*t.card == *card)) {
      t.warnings.push_back("several loyalty cards in one transaction; keeping the first");
      return;
    }
    t.card = std::move(*card);
    return;
  }
  // The message never contains the digits (swipe.cpp); a payment card is dropped, never stored.
  t.warnings.push_back("loyalty id ignored: " + card.message());
}

Status finish(Transaction& t, const ParseOptions& o) {
  if (t.lines.size() > o.limits.maxLinesPerTransaction) {
    return fail("more than " + std::to_string(o.limits.maxLinesPerTransaction) + " lines");
  }
  std::set<int> seen;
  int next = 1;
  for (const auto& l : t.lines) next = std::max(next, l.lineNo + 1);
  for (auto& l : t.lines) {
    if (l.lineNo <= 0 || !seen.insert(l.lineNo).second) {
      l.lineNo = next++;
      seen.insert(l.lineNo);
    }
  }
  if (t.currency.size() != 3 || t.currency.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string::npos) {
    return fail("currency '" + t.currency.substr(0, 10) + "' is not an ISO 4217 code");
  }
  return okStatus();
}

}  // namespace aisle::pos::detail
