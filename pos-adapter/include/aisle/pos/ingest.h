#pragma once
// Ingest: bytes from a till or a file -> parsed transactions -> idempotent writes, with the counts
// the import command prints and the HTTP service answers. Knows stores and time zones through the
// repository and the zone database; no SQL here.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/pos/poslog.h"
#include "aisle/pos/repository.h"
#include "aisle/pos/time_zone.h"

namespace aisle::pos {

enum class UnknownStorePolicy { Reject, Create };

struct IngestConfig {
  std::string org = "default";
  std::string defaultCurrency = "USD";
  CardCheckDigit cardCheck = CardCheckDigit::None;
  UnknownCardPolicy unknownCard = UnknownCardPolicy::AnonymousKeepCard;
  UnknownStorePolicy unknownStore = UnknownStorePolicy::Reject;
  std::string newStoreTimeZone = "UTC";  // for UnknownStorePolicy::Create
  ParseLimits limits;
};

struct IngestSummary {
  std::int64_t transactions = 0;  // newly stored
  std::int64_t duplicates = 0;    // same key and content as stored before
  std::int64_t rejected = 0;      // unreadable, unknown store, or a conflicting resend
  std::int64_t conflicts = 0;     // of the rejected: same key, other content (quarantined)
  std::int64_t skipped = 0;       // not sales (sign-on, till float...)
  std::int64_t lines = 0;
  std::int64_t redemptions = 0;
  std::vector<std::string> errors;  // one line per rejection, for stderr / the HTTP body

  IngestSummary& operator+=(const IngestSummary& o);
  // The import summary of DESIGN.md: {"transactions":N,"duplicates":N,"rejected":N,"lines":N,"redemptions":N}
  std::string json() const;
};

class IngestService {
 public:
  IngestService(TransactionRepository& repository, TimeZoneDatabase& zones, IngestConfig config, Logger log);
  // One document (POSLog XML or the JSON form); `origin` names it in errors and logs.
  IngestSummary ingest(std::string_view bytes, const std::string& origin);

 private:
  Result<StoreInfo> store(const std::string& ref);
  TransactionRepository& repository_;
  TimeZoneDatabase& zones_;
  IngestConfig config_;
  Logger log_;
};

}  // namespace aisle::pos
