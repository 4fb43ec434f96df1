#include "aisle/pos/config.h"

#include "aisle/common/config.h"

namespace aisle::pos {
namespace {

Result<PosConfig> read(const ConfigFile& file) {
  PosConfig c;
  ConfigReader r(file);
  r.string("database.url", c.databaseUrl);
  r.string("ingest.org", c.ingest.org);
  r.string("ingest.default_currency", c.ingest.defaultCurrency);
  std::string check = "none", unknownCard = "anonymous", unknownStore = "reject";
  r.choice("ingest.card_check_digit", check, {"none", "luhn", "gs1"});
  r.choice("ingest.unknown_card", unknownCard, {"anonymous", "anonymous-without-card"});
  r.choice("ingest.unknown_store", unknownStore, {"reject", "create"});
  r.string("ingest.new_store_time_zone", c.ingest.newStoreTimeZone);
  std::int64_t maxBytes = static_cast<std::int64_t>(c.ingest.limits.maxBytes);
  r.integer("ingest.max_document_bytes", maxBytes, 1024, 256LL << 20);
  c.ingest.limits.maxBytes = static_cast<std::size_t>(maxBytes);
  c.ingest.cardCheck = check == "luhn" ? CardCheckDigit::Luhn : check == "gs1" ? CardCheckDigit::Gs1Mod10 : CardCheckDigit::None;
  c.ingest.unknownCard = unknownCard == "anonymous" ? UnknownCardPolicy::AnonymousKeepCard : UnknownCardPolicy::AnonymousDropCard;
  c.ingest.unknownStore = unknownStore == "create" ? UnknownStorePolicy::Create : UnknownStorePolicy::Reject;
  if (c.ingest.org.empty()) r.problem("ingest.org", "must not be empty");
  if (c.ingest.defaultCurrency.size() != 3) r.problem("ingest.default_currency", "must be an ISO 4217 code");
  TimeZoneDatabase zones;
  if (auto z = zones.get(c.ingest.newStoreTimeZone); !z) r.problem("ingest.new_store_time_zone", z.message());
  if (auto s = r.finish(); !s) return s.error();
  return c;
}

}  // namespace

Result<PosConfig> parsePosConfig(std::string_view text, const std::string& fileName) {
  auto f = ConfigFile::parse(text, fileName);
  if (!f) return f.error();
  return read(*f);
}

Result<PosConfig> loadPosConfig(const std::string& path) {
  auto f = ConfigFile::load(path);
  if (!f) return f.error();
  return read(*f);
}

}  // namespace aisle::pos
