#pragma once
// Ingest: bytes from a till or a file -> parsed transactions -> idempotent writes, with the counts
// the import command prints and the HTTP service answers. Knows stores and time zones through the
// repository and the zone database; no SQL here.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/pos/poslog.h"
#include "aisle/pos/repository.h"
#include "aisle/pos/time_zone.h"

namespace aisle::pos {

// A document file in one read (an istreambuf_iterator copies byte by byte: 6% of an import's CPU);
// nothing when it cannot be opened or read.
std::optional<std::string> readWholeFile(const std::filesystem::path& path);

enum class UnknownStorePolicy { Reject, Create };

struct IngestConfig {
  std::string org = "default";
  std::string defaultCurrency = "USD";
  CardCheckDigit cardCheck = CardCheckDigit::None;
  UnknownCardPolicy unknownCard = UnknownCardPolicy::AnonymousKeepCard;
  UnknownStorePolicy unknownStore = UnknownStorePolicy::Reject;
  std::string newStoreTimeZone = "UTC";  // for UnknownStorePolicy::Create
  ParseLimits limits;
  int redemptionsPerMemberPerDay = 0;  // 0: no limit (see WriteOptions)
};

enum class DocumentFormat { Any, PosLog, Json };

// The outcome of one transaction of a document, for the HTTP answer (no card digits in it).
struct TransactionResult {
  enum class Status { Stored, Duplicate, Conflict, Rejected, Skipped, Spooled };
  Status status = Status::Stored;
  std::string reference;  // the natural key as far as it was read
  std::int64_t transactionId = 0;
  int couponExceptions = 0;
  std::string reason;
};
const char* statusName(TransactionResult::Status s);

struct IngestSummary {
  std::int64_t transactions = 0;  // newly stored
  std::int64_t duplicates = 0;    // same key and content as stored before
  std::int64_t rejected = 0;      // unreadable, unknown store, or a conflicting resend
  std::int64_t conflicts = 0;     // of the rejected: same key, other content (quarantined)
  std::int64_t skipped = 0;       // not sales (sign-on, till float...)
  std::int64_t lines = 0;
  std::int64_t redemptions = 0;
  std::int64_t spooled = 0;         // accepted while the database was away, stored later in order
  std::vector<std::string> errors;  // one line per rejection, for stderr / the HTTP body
  std::vector<TransactionResult> results;

  IngestSummary& operator+=(const IngestSummary& o);
  // The import summary of DESIGN.md: {"transactions":N,"duplicates":N,"rejected":N,"lines":N,"redemptions":N}
  std::string json() const;
  // The summary plus "spooled" and one result per transaction (the HTTP answer).
  std::string detailedJson() const;
};

class IngestService {
 public:
  IngestService(TransactionRepository& repository, TimeZoneDatabase& zones, IngestConfig config, Logger log);
  // One document (POSLog XML or the JSON form); `origin` names it in errors and logs.
  IngestSummary ingest(std::string_view bytes, const std::string& origin);

  // The two halves of ingest(), for callers that look at the parsed sales before storing them (the
  // HTTP service checks the terminal's store and spools while the database is away).
  // parse() needs the database only for a zone-less time in a store not cached yet.
  // With `provisional`, a zone-less time in a store whose zone cannot be looked up (the database is
  // away and the store not cached) is read as if UTC and the sale's key is added to the set: the
  // caller must spool such a sale with its time marked zone-less, never store it.
  Result<ParsedDocument> parse(std::string_view bytes, DocumentFormat format = DocumentFormat::Any,
                               std::set<std::string>* provisional = nullptr);
  // Adds the outcome of one transaction to `sum`. Throws what the database throws: a caller that
  // sees isDatabaseUnavailable() may keep the transaction and call again later (writes are idempotent).
  void store(const TransactionOutcome& item, const std::string& origin, IngestSummary& sum);

  // For writers that batch sales themselves (group commit): the store of a parsed sale that
  // TransactionRepository::writeBatch() can take (batchable, store known), else nothing (use store()).
  std::optional<StoreInfo> batchableStore(const TransactionOutcome& item);
  // The options write()/writeBatch() get for a sale of this store.
  WriteOptions writeOptions(const StoreInfo& store) const;
  // Adds a sale written elsewhere (by a batch) to `sum`, logged as store() would have.
  void recordWritten(const TransactionOutcome& item, const WriteResult& w, const std::string& origin,
                     IngestSummary& sum);

  // ingest() after parse(): stores a parsed document, plain sales in batches, results in document order.
  IngestSummary storeParsed(const ParsedDocument& doc, const std::string& origin);

 private:
  Result<StoreInfo> store(const std::string& ref);
  void record(const Transaction& t, const WriteResult& w, const std::string& where, IngestSummary& sum);
  TransactionRepository& repository_;
  TimeZoneDatabase& zones_;
  IngestConfig config_;
  Logger log_;
};

}  // namespace aisle::pos
