#pragma once
// The normalized form every POS input (ARTS POSLog 2.x/6.0 XML, the JSON transaction form) is parsed
// into. Everything downstream (content hash, repository, import summary) sees only this struct, so a
// new POS dialect is one more parser, not a change to storage.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/ids.h"
#include "aisle/common/money.h"
#include "aisle/common/result.h"

namespace aisle::pos {

// The POS's own identity of a transaction. The store is the POS's RetailStoreID (stores.external_ref);
// the business day is the trading day the POS booked it on, which is not the calendar day of its
// timestamp (a sale at 00:30 usually belongs to the previous day's trading).
struct NaturalKey {
  std::string org;
  std::string store;
  std::string workstation;
  std::string businessDay;  // YYYY-MM-DD
  std::string sequence;
  std::string str() const;  // "org/store/workstation/day/sequence": the advisory-lock key and log context
  bool operator==(const NaturalKey&) const = default;
};

struct Line {
  int lineNo = 0;
  std::optional<Gtin> gtin;  // when the item id is a valid GTIN (normalized to 14 digits)
  std::string itemCode;      // the POS item id as sent (PLU, internal SKU, or the GTIN's text)
  Quantity quantity = Quantity::units(1);  // negative on returns; decimal for weighed items
  std::optional<Money> unitPrice;
  Money amount;    // what was paid for the line after line discounts; negative on returns
  Money discount;  // line-level price modifiers, positive
  bool isReturn = false;
  std::optional<NaturalKey> returnOf;  // the original sale, when the POS linked it
};

struct Redemption {
  enum class Kind { LoyaltyReward, Coupon };
  Kind kind = Kind::Coupon;
  std::string promotionId;  // the POS's promotion id
  std::string offerId;      // our offer/campaign reference when the POS carries it (acs:CustomOfferID)
  std::string couponCode;   // a scanned coupon (ours or a manufacturer's UPC)
  Money amount;             // value granted, positive
  int lineNo = 0;
};

struct Transaction {
  NaturalKey key;
  std::int64_t occurredAtMs = 0;  // when the sale ended, as an instant (Unix ms)
  std::string currency = "USD";
  std::optional<CardNumber> card;  // the loyalty card; never a payment card
  bool training = false;
  bool suspended = false;
  bool cancelled = false;
  std::optional<NaturalKey> postVoidOf;  // set: this transaction voids that one after the fact
  std::vector<Line> lines;               // voided lines already excluded
  std::vector<Redemption> redemptions;
  Money total;
  std::string source = "poslog";  // poslog | json | import:...
  // Things the parser corrected or dropped without rejecting the sale (never contain card digits).
  std::vector<std::string> warnings;

  // Counts toward history and burns coupons: not training, suspended, cancelled, nor a post-void.
  bool counts() const { return !training && !suspended && !cancelled && !postVoidOf; }
};

// A canonical text of everything that defines the transaction's content (not warnings, not source):
// same natural key + same canonical content = the same transaction sent again.
std::string canonicalContent(const Transaction& t);
std::string contentHashHex(const Transaction& t);  // sha256 of canonicalContent, hex

// The normalized transaction as JSON in the documented form (POS.md): quarantine rows and tools use
// it; the card number appears masked.
std::string toJson(const Transaction& t, bool maskCard = true);

// Resolves a zone-less POS timestamp (civil time in the store's zone, as Unix ms "as if UTC") to an
// instant. Injected so parsers stay pure; production resolves the store's IANA zone from tzdata.
using LocalTimeResolver =
    std::function<Result<std::int64_t>(const NaturalKey& key, std::int64_t localMs)>;

struct ParseLimits {
  std::size_t maxBytes = 8 * 1024 * 1024;
  std::size_t maxDepth = 40;
  std::size_t maxElements = 500'000;
  std::size_t maxTransactions = 10'000;
  std::size_t maxLinesPerTransaction = 5'000;
  std::int64_t maxAbsAmountMinor = 10'000'000'000;  // 100 million currency units
  std::int64_t maxAbsQuantityMilli = 100'000'000;   // 100,000 units or kg
};

struct ParseOptions {
  std::string org = "default";
  std::string defaultCurrency = "USD";
  CardCheckDigit cardCheck = CardCheckDigit::None;
  LocalTimeResolver localTime;  // required for zone-less timestamps; without it they are rejected
  ParseLimits limits;
};

// One transaction of a document: parsed, skipped (not a sale: sign-on, till float, ...) or rejected.
struct TransactionOutcome {
  enum class Kind { Parsed, Skipped, Rejected };
  Kind kind = Kind::Parsed;
  std::size_t index = 0;           // position in the document, from 0
  std::optional<Transaction> transaction;
  std::string reason;              // why skipped or rejected
  std::string reference;           // the natural key as far as it was read, for error reports
};

struct ParsedDocument {
  std::vector<TransactionOutcome> items;
};

}  // namespace aisle::pos
