#pragma once
// Strong types for the radio units the gateway mixes: a received power (dBm), a power difference
// (dB) and a distance (m). Arithmetic exists only where it means something physically, so an RSSI
// can't be used as a distance or an offset added twice by accident.
#include <compare>

namespace aisle::gateway {

struct Db {
  double value = 0;
  constexpr auto operator<=>(const Db&) const = default;
};

struct Dbm {
  double value = 0;
  constexpr auto operator<=>(const Dbm&) const = default;
};
constexpr Dbm operator+(Dbm p, Db d) { return Dbm{p.value + d.value}; }
constexpr Dbm operator-(Dbm p, Db d) { return Dbm{p.value - d.value}; }
constexpr Db operator-(Dbm a, Dbm b) { return Db{a.value - b.value}; }

struct Meters {
  double value = 0;
  constexpr auto operator<=>(const Meters&) const = default;
};

}  // namespace aisle::gateway
