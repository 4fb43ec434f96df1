#pragma once
// Loyalty card capture at the till: magnetic stripe (ISO 7813 track 1 and 2), EAN-13 and Code 128
// barcodes, and keyed entry, all to a CardNumber. A payment card presented on the loyalty reader is
// refused; its number is never part of an error message, a log line or anything stored.
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/ids.h"
#include "aisle/common/result.h"

namespace aisle::pos {

struct SwipeOptions {
  CardCheckDigit check = CardCheckDigit::None;
  // The chain's own loyalty prefixes: such numbers are loyalty cards even when they fall in a payment
  // brand's range (Maestro covers every 6x prefix, where many loyalty programmes live).
  std::vector<std::string> loyaltyPrefixes;
};

// The message of every refusal of a payment card starts with this (callers count it separately).
inline constexpr std::string_view kPaymentCardRefused = "payment card refused";
bool isPaymentCardRefusal(const Error& e);

// Luhn-valid, 12-19 digits and in a payment brand's IIN range (Visa, Mastercard, Amex, Discover, JCB,
// Diners, UnionPay, Maestro).
bool looksLikePaymentCard(std::string_view digits, const SwipeOptions& options = {});

Result<CardNumber> parseTrack1(std::string_view track, const SwipeOptions& options = {});
Result<CardNumber> parseTrack2(std::string_view track, const SwipeOptions& options = {});
// A scanned barcode, optionally with its AIM symbology identifier ("]E0" EAN-13, "]C0" Code 128).
Result<CardNumber> parseBarcode(std::string_view scan, const SwipeOptions& options = {});
// Typed by a person or sent by a POS as the loyalty id: white space, dashes, full-width digits and
// zero padding beyond 20 digits are tolerated.
Result<CardNumber> parseKeyed(std::string_view text, const SwipeOptions& options = {});
// Decides by shape: '%' track 1 (a combined track 1+2 read included), ';' track 2, ']' barcode,
// otherwise keyed.
Result<CardNumber> parseCardInput(std::string_view raw, const SwipeOptions& options = {});

}  // namespace aisle::pos
