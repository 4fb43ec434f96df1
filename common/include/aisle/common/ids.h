#pragma once
// Strong ids: a MemberId is not a StoreId is not a product number. Construction validates.
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "aisle/common/result.h"

namespace aisle {

// An integer id with a tag so ids of different kinds never mix silently.
template <typename Tag>
class IntId {
 public:
  constexpr IntId() = default;
  constexpr explicit IntId(std::int64_t v) : v_(v) {}
  constexpr std::int64_t value() const { return v_; }
  auto operator<=>(const IntId&) const = default;

 private:
  std::int64_t v_ = 0;
};

using MemberId = IntId<struct MemberIdTag>;
using StoreId = IntId<struct StoreIdTag>;
using ProductId = IntId<struct ProductIdTag>;
using CampaignId = IntId<struct CampaignIdTag>;
using CouponId = IntId<struct CouponIdTag>;
using TransactionId = IntId<struct TransactionIdTag>;

// GS1 trade item number, always held as its 14-digit form (GTIN-8/12/13 are left-padded with zeros).
class Gtin {
 public:
  // Accepts 8, 12, 13 or 14 digits (surrounding white space ignored) with a valid GS1 check digit.
  static Result<Gtin> parse(std::string_view text);
  // The GS1 mod-10 check digit for the given digits (without their check digit).
  static int checkDigit(std::string_view digitsWithoutCheck);
  const std::string& str() const { return digits_; }
  auto operator<=>(const Gtin&) const = default;

 private:
  explicit Gtin(std::string d) : digits_(std::move(d)) {}
  std::string digits_;
};

// How a chain's loyalty card numbers carry a check digit, set per deployment in configuration.
enum class CardCheckDigit { None, Luhn, Gs1Mod10 };

// A loyalty card number: digits only, leading zeros kept (it is an identifier, not a quantity).
class CardNumber {
 public:
  static constexpr std::size_t kMinDigits = 6;
  static constexpr std::size_t kMaxDigits = 20;
  // Trims white space, drops spaces and dashes people type between digit groups, checks length and
  // (when configured) the check digit.
  static Result<CardNumber> parse(std::string_view text, CardCheckDigit check = CardCheckDigit::None);
  const std::string& str() const { return digits_; }
  // For logs: all but the last four digits replaced, e.g. "**********1234".
  std::string masked() const;
  auto operator<=>(const CardNumber&) const = default;

 private:
  explicit CardNumber(std::string d) : digits_(std::move(d)) {}
  std::string digits_;
};

bool luhnValid(std::string_view digits);

}  // namespace aisle

template <typename Tag>
struct std::hash<aisle::IntId<Tag>> {
  std::size_t operator()(const aisle::IntId<Tag>& id) const noexcept {
    return std::hash<std::int64_t>{}(id.value());
  }
};
