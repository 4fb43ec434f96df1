#include "aisle/pos/config.h"

#include <set>

#include "aisle/common/config.h"
#include "aisle/common/hmac.h"

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
  std::int64_t perDay = 0;
  r.integer("ingest.redemptions_per_member_per_day", perDay, 0, 1000);
  c.ingest.redemptionsPerMemberPerDay = static_cast<int>(perDay);
  c.ingest.cardCheck = check == "luhn" ? CardCheckDigit::Luhn : check == "gs1" ? CardCheckDigit::Gs1Mod10 : CardCheckDigit::None;
  c.ingest.unknownCard = unknownCard == "anonymous" ? UnknownCardPolicy::AnonymousKeepCard : UnknownCardPolicy::AnonymousDropCard;
  c.ingest.unknownStore = unknownStore == "create" ? UnknownStorePolicy::Create : UnknownStorePolicy::Reject;
  if (c.ingest.org.empty()) r.problem("ingest.org", "must not be empty");
  if (c.ingest.defaultCurrency.size() != 3) r.problem("ingest.default_currency", "must be an ISO 4217 code");
  TimeZoneDatabase zones;
  if (auto z = zones.get(c.ingest.newStoreTimeZone); !z) r.problem("ingest.new_store_time_zone", z.message());

  r.string("server.host", c.listenHost);
  r.integer("server.port", c.listenPort, 0, 65535);
  r.integer("server.threads", c.httpThreads, 2, 512);
  r.integer("server.db_pool", c.dbPoolSize, 1, 64);
  r.integer("server.group_commit_max_sales", c.groupCommitMaxSales, 1, 5000);
  r.integer("server.group_commit_wait_us", c.groupCommitWaitUs, 0, 100000);
  r.integer("server.group_commit_writers", c.groupCommitWriters, 1, 16);
  r.duration("server.signature_window", c.signatureWindow, std::chrono::seconds(10), std::chrono::hours(1));
  r.stringList("swipe.loyalty_prefixes", c.swipe.loyaltyPrefixes);
  r.integer("swipe.max_coupons", c.maxCouponsPerSwipe, 1, 500);
  c.swipe.check = c.ingest.cardCheck;

  r.string("spool.dir", c.spool.dir);
  std::string fsync = "always";
  r.string("spool.fsync", fsync);
  if (auto p = parseFsyncPolicy(fsync)) {
    c.spool.fsync = *p;
  } else {
    r.problem("spool.fsync", p.message());
  }
  std::int64_t spoolMax = static_cast<std::int64_t>(c.spool.maxBytes);
  r.integer("spool.max_bytes", spoolMax, 1 << 20, 64LL << 30);
  c.spool.maxBytes = static_cast<std::uint64_t>(spoolMax);
  // A spooled record is one normalized transaction as JSON (5,000 lines fit); a segment holds several.
  c.spool.maxRecordBytes = 4u << 20;

  r.string("dropfolder.dir", c.dropDir);
  r.duration("dropfolder.poll", c.dropPoll, std::chrono::milliseconds(50), std::chrono::hours(1));

  // [terminal.<key id>] sections: the key ids are whatever the chain names its lanes.
  std::set<std::string> ids;
  for (const auto& e : file.entries()) {
    if (e.key.rfind("terminal.", 0) != 0) continue;
    const auto dot = e.key.rfind('.');
    if (dot > 9) ids.insert(e.key.substr(9, dot - 9));
  }
  for (const auto& id : ids) {
    TerminalKey t;
    t.keyId = id;
    std::string hex;
    r.string("terminal." + id + ".store", t.store, true);
    r.string("terminal." + id + ".secret_hex", hex, true);
    auto raw = fromHex(hex);
    if (!raw) {
      r.problem("terminal." + id + ".secret_hex", "not hex: " + raw.message());
    } else if (raw->size() < 16) {
      r.problem("terminal." + id + ".secret_hex", "a key needs at least 16 bytes (32 hex digits)");
    } else {
      t.secret = *raw;
    }
    c.terminals[id] = std::move(t);
  }
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
