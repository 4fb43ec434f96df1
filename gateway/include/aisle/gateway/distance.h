#pragma once
// Log-distance path loss: rssi = P1m - 10 n log10(d). P1m is the beacon's measured power (RSSI at
// 1 m, what iBeacon's tx_power byte carries), n the path-loss exponent (2 in free space, 2.5-4
// indoors). Each scanner's radio and antenna read differently, so a per-scanner offset is added
// to its RSSI before the model: a scanner that reads 5 dB low gets +5 dB.
#include <cmath>

#include "aisle/gateway/units.h"

namespace aisle::gateway {

struct PathLossModel {
  double exponent = 2.0;
};

// The scanner-corrected RSSI: what a reference scanner would have read.
constexpr Dbm calibrated(Dbm rssi, Db scannerOffset) { return rssi + scannerOffset; }

inline Meters estimateDistance(Dbm calibratedRssi, Dbm measuredPower, const PathLossModel& m) {
  return Meters{std::pow(10.0, (measuredPower.value - calibratedRssi.value) / (10.0 * m.exponent))};
}

// The RSSI difference equivalent to a distance ratio (e.g. "twice as close" = 6 dB for n = 2).
inline Db dbForDistanceRatio(double ratio, const PathLossModel& m) {
  return Db{10.0 * m.exponent * std::log10(ratio)};
}

}  // namespace aisle::gateway
