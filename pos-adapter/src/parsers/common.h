#pragma once
// Helpers shared by the POSLog and JSON parsers: both must normalize identically, or the same sale
// sent as XML and as JSON would hash differently.
#include <string>
#include <string_view>

#include "aisle/common/money.h"
#include "aisle/common/result.h"
#include "aisle/pos/transaction.h"

namespace aisle::pos::detail {

int currencyDigits(std::string_view currency);
Result<Money> parseAmount(std::string_view text, std::string_view what, const std::string& currency,
                          const ParseLimits& limits);
Result<Quantity> parseQuantity(std::string_view text, std::string_view what, const ParseLimits& limits);
// An item, promotion, offer or coupon code: trimmed, at most 64 bytes (never truncated: a cut code
// would silently name another item). Empty stays empty.
Result<std::string> code(std::string_view text, std::string_view what);
// An identifier field of the natural key: non-empty, at most 64 printable ASCII characters.
Status checkIdentifier(std::string_view value, std::string_view what);
// The instant of a POS timestamp and the business day: zone-less times go through the resolver; a
// timestamp far from the business day (a POS clock reset to 1970) yields to the business day.
Status resolveTimes(Transaction& t, std::string_view endTime, const ParseOptions& options);
// Loyalty id as sent by a POS: payment cards and unreadable ids are dropped with a warning (a sale is
// never rejected for its loyalty id).
void assignCard(Transaction& t, std::string_view raw, const ParseOptions& options);
// Common final checks (limits, line numbers).
Status finish(Transaction& t, const ParseOptions& options);

}  // namespace aisle::pos::detail
