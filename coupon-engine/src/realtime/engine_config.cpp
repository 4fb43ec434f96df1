#include "aisle/engine/engine_config.h"

#include <cstdlib>

#include "aisle/common/config.h"
#include "aisle/common/hmac.h"

namespace aisle::engine {

Result<EngineConfig> loadEngineConfig(const std::string& path) {
  EngineConfig c;
  if (!path.empty()) {
    auto file = ConfigFile::load(path);
    if (!file) return file.error();
    ConfigReader r(*file);
    r.string("database", c.database);
    r.string("http.host", c.listenHost);
    r.integer("http.port", c.listenPort, 0, 65535);
    r.integer("database_pool", c.dbPoolSize, 1, 256);
    r.string("secrets.master_key", c.masterKeyHex);
    r.string("secrets.app_token_secret", c.appTokenSecret);
    r.string("secrets.eid_resolver_key", c.eidResolverKeyHex);
    std::int64_t perZone = c.policy.maxPerZonePerVisit, perVisit = c.policy.maxPerVisit, perDay = c.policy.maxPerDay;
    r.integer("triggers.max_per_zone_per_visit", perZone, 0, 100);
    r.integer("triggers.max_per_visit", perVisit, 0, 100);
    r.integer("triggers.max_per_day", perDay, 0, 1000);
    c.policy.maxPerZonePerVisit = static_cast<int>(perZone);
    c.policy.maxPerVisit = static_cast<int>(perVisit);
    c.policy.maxPerDay = static_cast<int>(perDay);
    std::chrono::milliseconds quietStart(std::chrono::minutes(c.policy.quietStartMinute));
    std::chrono::milliseconds quietEnd(std::chrono::minutes(c.policy.quietEndMinute));
    r.duration("triggers.quiet_start", quietStart, std::chrono::milliseconds(0), std::chrono::hours(24));
    r.duration("triggers.quiet_end", quietEnd, std::chrono::milliseconds(0), std::chrono::hours(24));
    c.policy.quietStartMinute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(quietStart).count() % 1440);
    c.policy.quietEndMinute = static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(quietEnd).count() % 1440);
    r.duration("triggers.visit_window", c.visitWindow, std::chrono::minutes(5), std::chrono::hours(24));
    r.integer("ingest.events_per_second_per_gateway", c.eventsPerSecondPerGateway, 1, 1'000'000);
    r.integer("retention.proximity_days", c.retentionDays, 1, 3650);
    r.integer("delivery.max_attempts", c.maxAttempts, 1, 100);
    r.string("delivery.fcm_service_account", c.fcmServiceAccountFile);
    r.string("delivery.fcm_endpoint", c.fcmSendBase);
    r.string("delivery.webhook_url", c.webhookUrl);
    r.string("delivery.webhook_key_id", c.webhookKeyId);
    r.string("delivery.webhook_secret", c.webhookSecret);
    if (!c.masterKeyHex.empty() && (c.masterKeyHex.size() != 64 || !fromHex(c.masterKeyHex))) {
      r.problem("secrets.master_key", "must be 64 hex digits (32 bytes)");
    }
    if (!c.eidResolverKeyHex.empty() && (c.eidResolverKeyHex.size() != 64 || !fromHex(c.eidResolverKeyHex))) {
      r.problem("secrets.eid_resolver_key", "must be 64 hex digits (an X25519 private key)");
    }
    if (!c.webhookUrl.empty() && (c.webhookKeyId.empty() || c.webhookSecret.empty())) {
      r.problem("delivery.webhook_url", "needs delivery.webhook_key_id and delivery.webhook_secret");
    }
    auto st = r.finish();
    if (!st) return st.error();
  }
  if (const char* e = std::getenv("AISLE_MASTER_KEY"); e && *e) c.masterKeyHex = e;
  if (const char* e = std::getenv("AISLE_APP_TOKEN_SECRET"); e && *e) c.appTokenSecret = e;
  if (const char* e = std::getenv("AISLE_DB"); e && *e) c.database = e;
  if (c.masterKeyHex.size() != 64 || !fromHex(c.masterKeyHex)) {
    return fail("a master key is required: secrets.master_key in the config or AISLE_MASTER_KEY (64 hex digits)");
  }
  if (c.appTokenSecret.size() < 16) {
    return fail("an app token secret of at least 16 characters is required: secrets.app_token_secret or AISLE_APP_TOKEN_SECRET");
  }
  return c;
}

}  // namespace aisle::engine
