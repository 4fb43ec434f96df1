#pragma once
// ARTS POSLog 2.x and 6.0 XML and the documented JSON transaction form (POS.md) -> normalized
// transactions. Pure: bytes in, a document of outcomes out; the only outside knowledge (a store's time
// zone) comes through ParseOptions::localTime.
#include <string_view>

#include "aisle/common/result.h"
#include "aisle/pos/transaction.h"

namespace aisle::pos {

// A document-level error (not XML, DOCTYPE, limits, wrong root) fails the whole document; a
// transaction that cannot be read is a Rejected outcome and the others still count.
Result<ParsedDocument> parsePosLog(std::string_view xml, const ParseOptions& options);

// One transaction object, an array of them, or {"transactions": [...]}.
Result<ParsedDocument> parseTransactionJson(std::string_view json, const ParseOptions& options);

// Decides by the first non-blank byte ('<' XML, '{' or '[' JSON).
Result<ParsedDocument> parseAny(std::string_view bytes, const ParseOptions& options);

}  // namespace aisle::pos
