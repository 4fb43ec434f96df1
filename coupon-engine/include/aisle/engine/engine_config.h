#pragma once
// The coupon engine's one configuration struct, read once through ConfigReader (errors file:line).
#include <chrono>
#include <cstdint>
#include <string>

#include "aisle/common/result.h"
#include "aisle/engine/triggers.h"

namespace aisle::engine {

struct EngineConfig {
  std::string database;             // libpq conninfo; AISLE_DB overrides
  std::string listenHost = "127.0.0.1";
  std::int64_t listenPort = 8480;
  std::int64_t dbPoolSize = 8;
  std::string masterKeyHex;         // 64 hex digits; AISLE_MASTER_KEY overrides
  std::string appTokenSecret;       // HS256 secret for shopper app tokens; AISLE_APP_TOKEN_SECRET overrides
  std::string eidResolverKeyHex;    // 64 hex: the X25519 resolver key of the EID exchange; empty: one per device
  TriggerPolicy policy;
  std::chrono::milliseconds visitWindow{std::chrono::hours(3)};
  std::int64_t eventsPerSecondPerGateway = 200;
  std::int64_t retentionDays = 30;
  std::int64_t maxAttempts = 8;
  std::string fcmServiceAccountFile;  // empty: no FCM
  std::string fcmSendBase;            // override for tests (a local fake)
  std::string webhookUrl;             // empty: no webhook provider
  std::string webhookKeyId;
  std::string webhookSecret;
};

// From a file (or defaults when path is empty), then the environment overrides.
Result<EngineConfig> loadEngineConfig(const std::string& path);

}  // namespace aisle::engine
