#pragma once
// Running from a signed fleet bundle (`aisleone-gateway run --config LOCAL --bundle FILE --pubkey
// KEY.pem [--state-dir DIR]`). The bundle (aisle::fwconfig, see firmware-config/FWCONFIG.md) owns
// everything the fleet decides; the local file only what belongs to this Pi (config.h,
// parseLocalGatewayConfig).
//
// Rollback protection: the version of the last accepted bundle is the floor for every later one,
// and it is persisted, with a copy of that bundle, in the state directory (each file written to a
// temporary, fsynced and renamed over the old one, then the directory fsynced). A refused bundle,
// at start or on SIGHUP, leaves the gateway on its last good configuration.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "aisle/common/result.h"
#include "aisle/fwconfig/bundle.h"
#include "aisle/fwconfig/signing.h"
#include "aisle/gateway/config.h"

namespace aisle::gateway {

// The fleet's settings for this gateway laid over its local config; pure. Fails for a slice the
// gateway cannot run (a `hub`-only role: scanner summaries over the LAN are not implemented; batch
// limits beyond the gateway's own).
//   thresholds.dwell -> zones.dwell_after; hysteresis_db -> switch_margin_db; hysteresis_time ->
//   switch_after; exit_timeout -> exit_max (exit_min is lowered to it when larger);
//   store -> gateway.store_id; self -> gateway.id/scanner, bluez.adapter, uplink.key_id;
//   every scanning gateway of the store -> a scanner (zone, rssi_offset_db);
//   fixed iBeacon/AltBeacon beacons -> beacons (measured power; forwarded); Eddystone fixed beacons
//   have no stable id a gateway can see (UID frames are not forwarded, EIDs rotate) and are
//   skipped; `fobs` plans -> iBeacon ranges of interest; uplink -> engine_url, batch limits, spool
//   size.
Result<GatewayConfig> configFromBundle(const fwconfig::GatewaySlice& slice,
                                       const GatewayConfig& local);

// The two files in the state directory: `accepted-version` (decimal) and `last-good.bundle`.
class BundleStore {
 public:
  explicit BundleStore(std::filesystem::path dir) : dir_(std::move(dir)) {}
  // 0 when no bundle was ever accepted; an error when the file exists but is unreadable or garbled
  // (the floor must never silently drop to 0).
  Result<std::int64_t> acceptedVersion() const;
  // The last accepted bundle's bytes, or an error saying why there is none.
  Result<std::string> lastGood() const;
  // The bundle first, then its version: a crash in between leaves a floor at most as new as the
  // copy, so the copy still loads.
  Status commit(std::string_view bundleBytes, std::int64_t version) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

struct AcceptedBundle {
  GatewayConfig config;
  std::int64_t version = 0;
  std::string fleetSha256;
  bool fromLastGood = false;  // the new bundle was refused; this is the state directory's copy
  std::string refusal;        // why the new bundle was refused (fromLastGood only)
};

// Decides which bundles the gateway runs: signature by the fleet key, for this gateway, not older
// than the floor, mappable onto the local config and runnable (checkDaemonConfig).
class BundleGate {
 public:
  static Result<BundleGate> open(fwconfig::PublicKey key, std::string gatewayId, BundleStore store);

  // A new bundle (start or SIGHUP). With persist, an accepted bundle becomes the floor and the last
  // good copy before this returns; if that write fails the bundle is refused (what runs is always
  // what a restart would run). Without persist (--check-config) nothing is written.
  Result<AcceptedBundle> accept(std::string_view bytes, const GatewayConfig& local,
                                bool persist = true);
  // At start: the new bundle, else (refused or unreadable) the state directory's last good copy,
  // re-verified. `bytes` is the bundle file's content or why it could not be read.
  Result<AcceptedBundle> start(const Result<std::string>& bytes, const GatewayConfig& local);

  std::int64_t floor() const { return floor_; }

 private:
  BundleGate(fwconfig::PublicKey key, std::string gatewayId, BundleStore store, std::int64_t floor)
      : key_(std::move(key)),
        gatewayId_(std::move(gatewayId)),
        store_(std::move(store)),
        floor_(floor) {}
  Result<AcceptedBundle> check(std::string_view bytes, const GatewayConfig& local) const;

  fwconfig::PublicKey key_;
  std::string gatewayId_;
  BundleStore store_;
  std::int64_t floor_ = 0;
};

// $STATE_DIRECTORY (systemd's StateDirectory=; the first entry if several) or
// /var/lib/aisleone-gateway.
std::string defaultStateDir();

}  // namespace aisle::gateway
