#pragma once
// Pure mapping rules from the public data sets to aisleone's schema (no I/O, unit-tested).
// Id spaces never overlap, so every data set can live in one database:
//   Complete Journey: member_id = household_id (1..), store/product/campaign ids as in the files;
//   groceries-members: member_id = 100,000,000 + Member_number, product ids 200,000,000 + hash,
//                      one store 1,000,000;
//   synthetic (generate): member ids from 1,000,000,000, built-in stores 2,000,001.., products
//                      300,000,001.. (only when no data set is loaded).
#include <cstdint>
#include <string>
#include <string_view>

#include "aisle/common/money.h"
#include "aisle/common/result.h"

namespace aisle::engine {

inline constexpr std::int64_t kGroceriesMemberOffset = 100'000'000;
inline constexpr std::int64_t kGroceriesProductOffset = 200'000'000;
inline constexpr std::int64_t kGroceriesProductSpan = 100'000'000;
inline constexpr std::int64_t kGroceriesStoreId = 1'000'000;
inline constexpr std::int64_t kSyntheticMemberOffset = 1'000'000'000;
inline constexpr std::int64_t kSyntheticStoreOffset = 2'000'000;
inline constexpr std::int64_t kSyntheticProductOffset = 300'000'000;

// A member's loyalty card: "29" + member id zero-padded to 10 digits + GS1 check digit (13 digits).
// Prefix 29 is a GS1 restricted-circulation number (in-store use), deliberately not a payment-card
// range, so the log masker and the swipe parser never confuse it with one.
std::string loyaltyCardNumber(std::int64_t memberId);

// Decimal text as R's write.csv prints it: plain ("3.86", "12") or in scientific notation when
// that is shorter ("9e+05", "4.0128e+10", "4.440892e-16"). Scientific notation is expanded
// digit by digit, never through a double, so "4.0128e+10" is exactly 40128000000.
Result<std::string> expandExponent(std::string_view text);

// An id column: digits, or scientific notation that denotes an exact non-negative integer.
Result<std::int64_t> parseIdText(std::string_view text);

// A money column in major units, exact; digits beyond the cent round half away from zero (the
// only such value in the data is floating-point residue such as 4.440892e-16, i.e. 0.00).
Result<Money> parseAmountText(std::string_view text);

// A quantity column as exact thousandths ("2", "1.5", scientific notation accepted).
Result<std::int64_t> parseQuantityMilli(std::string_view text);

// "2017-01-28T14:06:53-0500" (also "...-05:00" or "Z"): the local date, the local time of day and
// the instant in seconds since the epoch, all without consulting a time-zone database.
struct IsoTimestamp {
  std::string localDate;     // "2017-01-28": the business day, as the till saw it
  std::string postgresText;  // "2017-01-28 14:06:53-05:00": unambiguous timestamptz input
  std::int64_t epochSeconds = 0;
};
Result<IsoTimestamp> parseIsoTimestamp(std::string_view text);

// "2017-03-03" validated (real calendar date) and returned unchanged.
Result<std::string> parseIsoDate(std::string_view text);
// "27-05-2015" or "2/5/2015" (day-month-year, the groceries data set) -> "2015-05-27".
Result<std::string> parseDayMonthYear(std::string_view text);
// The day after an ISO date ("2017-12-31" -> "2018-01-01"); the input must be valid.
std::string nextDay(const std::string& isoDate);
// Days since 1970-01-01 for a valid ISO date, and back.
std::int64_t daysFromIsoDate(const std::string& isoDate);
std::string isoDateFromDays(std::int64_t days);

// products.csv has no product name: the product type is the closest thing ("BREAD:ITALIAN/FRENCH");
// without one, the category, then the department, then "product <id>".
std::string completeJourneyProductName(std::string_view productType, std::string_view category,
                                       std::string_view department, std::int64_t productId);

// A groceries item ("whole milk") -> its product id: 200,000,000 + FNV-1a(description) mod 10^8.
// A hash, not the sorted position, so a later file with more items keeps every existing id.
std::int64_t groceriesProductId(std::string_view itemDescription);

// JSON string literal with the necessary escapes ("a\"b").
std::string jsonString(std::string_view s);

}  // namespace aisle::engine
