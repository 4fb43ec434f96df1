#pragma once
// The one configuration of aisleone-pos-adapter, parsed and validated once (common/config.h format).
#include <string>

#include "aisle/common/result.h"
#include "aisle/pos/ingest.h"

namespace aisle::pos {

struct PosConfig {
  std::string databaseUrl;  // AISLE_DB overrides
  IngestConfig ingest;
};

// Example:
//   [database]
//   url = "host=/tmp/pg dbname=aisle"
//   [ingest]
//   org = "default"
//   default_currency = "USD"
//   card_check_digit = "none"          # none | luhn | gs1
//   unknown_card = "anonymous"         # anonymous | anonymous-without-card
//   unknown_store = "reject"           # reject | create
//   new_store_time_zone = "UTC"
//   max_document_bytes = 8388608
Result<PosConfig> loadPosConfig(const std::string& path);
Result<PosConfig> parsePosConfig(std::string_view text, const std::string& fileName);

}  // namespace aisle::pos
