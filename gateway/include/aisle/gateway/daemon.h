#pragma once
// `aisleone-gateway run --config FILE [--bundle FILE --pubkey KEY.pem [--state-dir DIR]]` (also
// without `run`, as the systemd unit starts it): the composition root that wires BlueZ -> pipeline -> zones -> batcher -> spool
// -> uplink, the local /healthz and /metrics, signals and systemd notification.
#include <iosfwd>
#include <string>
#include <vector>

namespace aisle::gateway {

// The whole command line, `run` included; other commands go to runCli (cli.h).
int runGatewayCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                      std::ostream& err);

struct DaemonArgs {
  std::string configPath;  // the whole config, or with a bundle only the local settings
  std::string bundlePath;  // empty: no bundle (the config file is the whole config)
  std::string pubkeyPath;  // the fleet signing key (Ed25519, PEM)
  std::string stateDir;    // accepted version + last good bundle (bundle.h)
};

// Runs the daemon until SIGTERM/SIGINT; returns the process exit status.
int runDaemon(const DaemonArgs& args, std::ostream& err);

// systemd's notification protocol (sd_notify(3)) without libsystemd: one datagram to
// $NOTIFY_SOCKET ("@name" is the abstract namespace). False when the variable is unset or the
// send failed; the daemon runs the same either way.
bool notifySystemd(const std::string& state);

}  // namespace aisle::gateway
