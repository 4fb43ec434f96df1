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
//
// The daemon (`aisleone-gateway run`) also reads (see GATEWAY.md, "Daemon"):
//   [gateway]  store_id = 12 (engine stores.store_id);  scanner = "<id>" (default gateway.id)
//   [bluez]    adapter = "hci0" (default: the first powered one);  prune_after = "60s"
//   [source]   kind = "bluez" | "sightings";  sightings = "FILE" (JSON Lines, tailed; for replays)
//   [privacy]  forward_eid = true;  ibeacon_uuids = ["f7826da6-4fa2-4e98-8024-bc5b71e0893e"]
//              (plus every [beacon.*] id written as ibeacon:/altbeacon:/eid:)
//   [http]     host = "127.0.0.1";  port = 9101 (/healthz, /metrics)
//   [uplink]   engine_url = "https://engine/";  key_id = "gw-101";  secret_file = "/etc/.../key" or
//              secret_credential = "uplink-key" ($CREDENTIALS_DIRECTORY);  batch_max_delay = "1s"
//              batch_max_events = 100;  request_max_events = 100;  timeout = "10s"
//              retry_initial = "500ms";  retry_max = "30s"
//   [heartbeat] interval = "60s" (health to POST /v1/gateways/{id}/heartbeat; "0s": none)
//   [lan]      role = "both" | "scanner" | "hub";  hub_url = "http://10.1.2.3:9101" (scanner)
//              key_file = "/etc/aisleone/lan.key" or key_credential = "lan-key";  interval = "1s"
//   [spool]    dir = "/var/lib/aisleone-gateway/spool";  max_mb = 64;  fsync = "always"
//   [log]      level = "info"
#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/log.h"
#include "aisle/common/result.h"
#include "aisle/common/spool.h"
#include "aisle/gateway/pipeline.h"
#include "aisle/gateway/zone_tracker.h"

namespace aisle::gateway {

struct DaemonSettings {
  std::int64_t storeId = 0;  // 0: not configured
  std::string scanner;       // the local scanner's id in the zone setup
  std::string adapter;       // empty: the first powered adapter
  std::chrono::milliseconds pruneAfter{60000};
  std::string sourceKind = "bluez";
  std::string sightingsPath;
  bool forwardEid = true;
  std::vector<std::array<std::uint8_t, 16>> ibeaconUuids;
  std::vector<IBeaconRange> ibeaconRanges;  // from a bundle's `fobs` plans (no config-file key)
  std::string httpHost = "127.0.0.1";
  std::uint16_t httpPort = 9101;
  std::string engineUrl;
  std::string keyId;
  std::string secretFile;
  std::string secretCredential;
  std::chrono::milliseconds batchMaxDelay{1000};
  std::int64_t batchMaxEvents = 100;
  std::int64_t requestMaxEvents = 100;
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds retryInitial{500};
  std::chrono::milliseconds retryMax{30000};
  std::chrono::milliseconds heartbeatInterval{60000};  // 0: no heartbeats to the engine
  std::string lanRole = "both";  // "both" | "scanner" | "hub"
  std::string lanHubUrl;         // scanner: the hub's http://host:port
  std::string lanKeyFile;        // the store's LAN key (scanner: signs; hub/both: verifies)
  std::string lanKeyCredential;
  std::chrono::milliseconds lanInterval{1000};
  std::string spoolDir = "/var/lib/aisleone-gateway/spool";
  std::int64_t spoolMaxMb = 64;
  FsyncPolicy fsync;
  LogLevel logLevel = LogLevel::Info;
};

struct GatewayConfig {
  std::string fileName;
  ZoneSetup zones;
  DaemonSettings daemon;
};

// What `run` needs beyond what replay needs (engine, key, store): every problem, one a line.
Status checkDaemonConfig(const GatewayConfig& config);

Result<GatewayConfig> parseGatewayConfig(std::string_view text, const std::string& fileName);
Result<GatewayConfig> loadGatewayConfig(const std::string& path);

// The local file next to a signed bundle (`run --bundle`): only what belongs to this one Pi
// (gateway.id, filter/model tuning, http, spool dir and fsync, the uplink secret, timeouts, log).
// Everything the fleet owns (store, zones, scanners, beacons, thresholds, engine URL, key id, batch
// limits, adapter) comes from the bundle; setting it here is an error (file:line), so two sources
// can never disagree silently. gateway.id is required: it is the id the bundle must be signed for.
Result<GatewayConfig> parseLocalGatewayConfig(std::string_view text, const std::string& fileName);
Result<GatewayConfig> loadLocalGatewayConfig(const std::string& path);

}  // namespace aisle::gateway
