#!/usr/bin/env bash
# ctest arm64_qemu (label arm64): the cross-built arm64 gateway and fwconfig, run under qemu-aarch64
# with the sysroot's libraries, must behave exactly like the host build.
#   1. `aisleone-fwconfig check firmware-config/examples/chain.toml` succeeds, same output as the host's;
#   2. `aisleone-gateway replay` on tests/arm64/sightings.jsonl emits enter, dwell and exit events,
#      byte-identical to the host gateway's output for the same input;
#   3. when the gateway has its daemon mode (`run`), the arm64 daemon on a fake BlueZ (private
#      dbus-daemon + dbusmock bluez5) turns an advert into a spooled zone event and exits 0 on
#      SIGTERM (bluez_daemon_check.py; a note, not a failure, when dbusmock is missing).
# Skips (exit 77) with the reason when there is no configured arm64 build (`./aisle build --arm64`
# makes it) or no qemu-aarch64. A configured arm64 build is brought up to date first, so a stale
# arm64 binary never makes a false failure.
# usage: arm64_qemu_test.sh HOST_GATEWAY HOST_FWCONFIG SOURCE_DIR
set -uo pipefail

host_gw="$1" host_fw="$2" src="$3"
arm_build="${AISLE_ARM64_BUILD_DIR:-$src/build-arm64}"
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

[ -f "$arm_build/CMakeCache.txt" ] || skip "no arm64 build in $arm_build (run ./aisle build --arm64)"
command -v qemu-aarch64 >/dev/null || skip "qemu-aarch64 not installed (Debian package qemu-user; ./aisle build --arm64 installs it)"
sysroot="$(sed -n 's/^AISLE_ARM64_SYSROOT:[A-Z]*=//p' "$arm_build/CMakeCache.txt")"
[ -n "$sysroot" ] && [ -d "$sysroot/usr/lib/aarch64-linux-gnu" ] ||
  skip "the arm64 build in $arm_build names no usable sysroot ('$sysroot'); run ./aisle build --arm64"

echo "== bringing $arm_build up to date"
cmake --build "$arm_build" --target aisleone-gateway aisleone-fwconfig >/dev/null 2>"${TMPDIR:-/tmp}/arm64-build.$$.err" ||
  { cat "${TMPDIR:-/tmp}/arm64-build.$$.err"; rm -f "${TMPDIR:-/tmp}/arm64-build.$$.err"; fail "arm64 build failed"; }
rm -f "${TMPDIR:-/tmp}/arm64-build.$$.err"
arm_gw="$arm_build/gateway/aisleone-gateway"
arm_fw="$arm_build/firmware-config/aisleone-fwconfig"
for b in "$arm_gw" "$arm_fw"; do
  readelf -h "$b" 2>/dev/null | grep -q 'Machine: *AArch64' || fail "$b is not an arm64 executable"
done
qemu=(qemu-aarch64 -L "$sysroot")

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== fwconfig check (arm64 under qemu vs host)"
chain="$src/firmware-config/examples/chain.toml"
"${qemu[@]}" "$arm_fw" check "$chain" >"$work/fw.arm64" 2>&1 || { cat "$work/fw.arm64"; fail "arm64 fwconfig check $chain failed"; }
"$host_fw" check "$chain" >"$work/fw.host" 2>&1 || { cat "$work/fw.host"; fail "host fwconfig check $chain failed"; }
cat "$work/fw.arm64"
diff -u "$work/fw.host" "$work/fw.arm64" || fail "fwconfig check output differs between host and arm64"

echo "== gateway replay (arm64 under qemu vs host)"
sightings="$src/tests/arm64/sightings.jsonl"
"${qemu[@]}" "$arm_gw" replay --input "$sightings" >"$work/ev.arm64" 2>"$work/err.arm64" ||
  { cat "$work/err.arm64"; fail "arm64 gateway replay failed"; }
"$host_gw" replay --input "$sightings" >"$work/ev.host" 2>"$work/err.host" ||
  { cat "$work/err.host"; fail "host gateway replay failed"; }
cat "$work/ev.arm64"
for type in enter dwell exit; do
  grep -q "\"type\":\"$type\"" "$work/ev.arm64" || fail "no $type event from the arm64 gateway"
done
diff -u "$work/ev.host" "$work/ev.arm64" || fail "zone events differ between host and arm64"
diff -u "$work/err.host" "$work/err.arm64" || fail "gateway diagnostics differ between host and arm64"

bluez="not checked"
if "${qemu[@]}" "$arm_gw" --help 2>&1 | grep -q ' run --config'; then
  echo "== gateway daemon (arm64 under qemu) on a fake BlueZ (dbusmock)"
  /usr/bin/python3 "$src/tests/arm64/bluez_daemon_check.py" "${qemu[@]}" "$arm_gw"
  case $? in
    0) bluez="advert -> spooled zone event on dbusmock BlueZ" ;;
    77) bluez="skipped (no dbus-daemon/dbusmock)" ;;
    *) fail "the arm64 gateway daemon on a fake BlueZ" ;;
  esac
fi
echo "arm64: $(wc -l <"$work/ev.arm64") replay events identical to the host's; fwconfig check identical; daemon: $bluez"
