#pragma once
// The gateway's one configuration struct, parsed and validated once through the common
// ConfigReader (every problem reported as file:line: key: message, unknown keys included).
//
//   [gateway]  id = "store12-pi1"
//   [filter]   kind = "median-ema" | "median" | "huber-ema" | "raw";  window = 5;  max_age = "5s"
//              tau = "2s";  huber_db = 4
//   [zones]    switch_margin_db = 6;  switch_after = "4s";  dwell_after = "30s";  missed_adverts = 20
//              exit_min = "20s";  exit_max = "2m";  scanner_silence = "10s";  silent_memory = "5m"
//              forget_after = "10m";  fade_db_per_s = 1.0
//   [model]    path_loss_exponent = 2.0;  measured_power_dbm = -59
//   [scanner.NAME]  id = "NAME" (default: the section name);  zone = "dairy" (default: the id)
//                   rssi_offset_db = 0
//   [beacon.NAME]   id = "DAF246CE836311E4:0:3" (required);  measured_power_dbm = -62
// Without any [scanner.*] section every scanner heard is its own zone, named after it.
#include <string>
#include <string_view>

#include "aisle/common/result.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

struct GatewayConfig {
  ZoneSetup zones;
};

Result<GatewayConfig> parseGatewayConfig(std::string_view text, const std::string& fileName);
Result<GatewayConfig> loadGatewayConfig(const std::string& path);

}  // namespace aisle::gateway
