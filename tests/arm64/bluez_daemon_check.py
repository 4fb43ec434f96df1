#!/usr/bin/python3
"""The gateway daemon (`aisleone-gateway --config FILE`) on a fake BlueZ: a private dbus-daemon with
python3-dbusmock's bluez5 template as the system bus. Once the daemon serves /healthz with discovery
armed, one Eddystone-EID advert (Device1 PropertiesChanged, as BlueZ sends it) must become a spooled
zone event, and SIGTERM must end it with status 0. The same scenario as tests/dbus/gateway_daemon_test.cpp,
driven from outside so that the daemon can be the arm64 binary under qemu.

usage: bluez_daemon_check.py GATEWAY_COMMAND...   (e.g. qemu-aarch64 -L SYSROOT build-arm64/gateway/aisleone-gateway)
exit 0 pass, 1 fail, 77 skip (no dbus-daemon or dbusmock)
"""
import json, os, re, shutil, signal, subprocess, sys, tempfile, time, urllib.request

try:
    import dbus
except ImportError:
    print("SKIP: python3-dbus is not installed"); sys.exit(77)


def eventually(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def main():
    gateway = sys.argv[1:]
    if not shutil.which("dbus-daemon"):
        print("SKIP: dbus-daemon not installed"); return 77
    if subprocess.run(["/usr/bin/python3", "-c", "import dbusmock"], capture_output=True).returncode != 0:
        print("SKIP: python3-dbusmock not installed"); return 77
    work = tempfile.mkdtemp(prefix="aisle-arm64-bluez-")
    procs = []
    try:
        out = subprocess.run(["dbus-daemon", "--session", "--fork", "--nosyslog", "--print-address=1", "--print-pid=1"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        address, bus_pid = out[0].strip(), int(out[1])
        procs.append(bus_pid)
        env = dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address, DBUS_SESSION_BUS_ADDRESS=address)
        mock = subprocess.Popen(["/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "bluez5"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(mock.pid)
        bus = dbus.bus.BusConnection(address)
        if not eventually(lambda: bus.name_has_owner("org.bluez"), 20):
            print("FAIL: dbusmock bluez5 did not come up"); return 1
        root = bus.get_object("org.bluez", "/")
        root.AddAdapter("hci0", "aisle-test", dbus_interface="org.bluez.Mock")

        with open(os.path.join(work, "key"), "w") as f:
            f.write("0123456789abcdef0123456789abcdef")
        config = ('[gateway]\nid = "gw-arm64"\nstore_id = 3\n[http]\nport = 0\n'
                  '[uplink]\nengine_url = "http://127.0.0.1:9"\nkey_id = "k"\nsecret_file = "%s"\n'
                  'batch_max_delay = "100ms"\n[spool]\ndir = "%s"\nfsync = "never"\n'
                  % (os.path.join(work, "key"), os.path.join(work, "spool")))
        with open(os.path.join(work, "gw.conf"), "w") as f:
            f.write(config)
        log_path = os.path.join(work, "gw.log")
        log = open(log_path, "w")
        gw = subprocess.Popen(gateway + ["--config", os.path.join(work, "gw.conf")],
                              env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=address),
                              stdout=subprocess.DEVNULL, stderr=log)
        procs.append(gw.pid)

        def read_log():
            with open(log_path) as f:
                return f.read()

        def port():
            m = re.search(r"health and metrics on http://127\.0\.0\.1:(\d+)", read_log())
            return int(m.group(1)) if m else 0

        p = eventually(port, 60)
        if not p:
            print("FAIL: the gateway never served /healthz\n" + read_log()); return 1

        def health():
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % p, timeout=5) as r:
                    return r.read().decode()
            except Exception as e:  # noqa: BLE001 - any failure means "not yet"
                return "unreachable: %s" % e

        if not eventually(lambda: '"adapter":"discovering"' in health(), 30):
            print("FAIL: discovery not armed: " + health() + "\n" + read_log()); return 1
        dev = root.AddDevice("hci0", "C0:FF:EE:00:00:09", "tag", dbus_interface="org.bluez.Mock")
        frame = dbus.Array([0x30, 0xE3, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x09], signature="y")
        changed = dbus.Dictionary({
            "RSSI": dbus.Int16(-50),
            "ServiceData": dbus.Dictionary({"0000feaa-0000-1000-8000-00805f9b34fb": frame}, signature="sv"),
        }, signature="sv")
        bus.get_object("org.bluez", dev).EmitSignal(
            "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
            ["org.bluez.Device1", changed, dbus.Array([], signature="s")],
            dbus_interface="org.freedesktop.DBus.Mock")
        if not eventually(lambda: '"events_spooled":1' in health(), 30):
            print("FAIL: the advert did not become a spooled zone event: " + health() + "\n" + read_log()); return 1
        hwm = "?"
        try:
            with open("/proc/%d/status" % gw.pid) as f:
                hwm = next((l.split(":", 1)[1].strip() for l in f if l.startswith("VmHWM")), "?")
        except OSError:
            pass
        print("bluez: advert -> zone event spooled; peak RSS %s (the process, qemu included if emulated); /healthz %s"
              % (hwm, health()))
        gw.send_signal(signal.SIGTERM)
        try:
            rc = gw.wait(30)
        except subprocess.TimeoutExpired:
            print("FAIL: no exit 30 s after SIGTERM\n" + read_log()); return 1
        if rc != 0:
            print("FAIL: exit status %d after SIGTERM\n%s" % (rc, read_log())); return 1
        return 0
    finally:
        for pid in reversed(procs):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
