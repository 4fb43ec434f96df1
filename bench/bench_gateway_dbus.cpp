// Benchmark (b) of the gateway issue: the real `aisleone-gateway` binary on a real (private)
// dbus-daemon, fed by a fast fake BlueZ emitting Device1 PropertiesChanged (RSSI +
// ManufacturerData, iBeacons of interest) for N devices at a target rate. Measures what the gateway
// actually processed (its own aisle_gateway_device_reports_total), its CPU share of one core
// (/proc/<pid>/stat utime+stime over the window) and its peak RSS (VmHWM).
// Goal: >= 15,000 adverts/s at <= 50 % of one core and <= 16 MB RSS.
//
//   bench_gateway_dbus [--devices N] [--seconds S] [--rates 5000,10000,15000,20000,40000] [--engine http|https]
// --engine https: the uplink goes to an `openssl s_server` on 127.0.0.1 with a certificate made for
// the run (trusted through SSL_CERT_FILE), so the resident figures include the TLS client's
// handshakes as a store gateway's https uplink does. s_server does not answer POSTs, so batches stay
// spooled and are retried every few seconds — each retry a full handshake.
// Default run: 5 rates x (2 s warm-up + 10 s window), about a minute.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aisle/common/http_client.h"
#include "bench_gateway_fake_bluez.h"
#include "bench_result.h"

extern char** environ;

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string readFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// utime + stime in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
long cpuTicks(pid_t pid) {
  const std::string s = readFile("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

long statusKb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  }
  return -1;
}

double metric(std::uint16_t port, const std::string& name) {
  auto r = aisle::http::request("GET", "http://127.0.0.1:" + std::to_string(port) + "/metrics", {}, "", 5s);
  if (!r) return -1;
  std::istringstream in(r->body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

// RSS split into what the gateway owns (anonymous: heap, stacks) and the file-backed pages of its
// shared libraries (libstdc++, Poco, OpenSSL…), which the Pi shares with other processes.
std::map<std::string, double> smapsRollupMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps_rollup");
  std::map<std::string, double> out;
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : {"Rss", "Pss", "Anonymous"}) {
      if (line.rfind(std::string(key) + ":", 0) == 0) out[key] = std::stod(line.substr(std::strlen(key) + 1)) / 1024.0;
    }
  }
  return out;
}

// Rss per mapping name from /proc/<pid>/smaps, libraries by file name ("libcrypto.so.3"), anonymous
// mappings as "[anon]" (thread stacks and malloc arenas other than the main heap), plus "[heap]",
// "[stack]"... This is what the RSS goal is spent on, so the bench prints it instead of guessing.
std::map<std::string, long> smapsRssKbByMapping(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/smaps");
  std::map<std::string, long> out;
  std::string line, current = "[anon]";
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    // A mapping header starts with "start-end perms"; field lines start with "Key:".
    const auto colon = line.find(':');
    const auto space = line.find(' ');
    if (colon == std::string::npos || (space != std::string::npos && space < colon)) {
      std::istringstream h(line);
      std::string range, perms, offset, dev, inode, name;
      h >> range >> perms >> offset >> dev >> inode;
      std::getline(h >> std::ws, name);
      if (name.empty()) current = "[anon]";
      else if (name[0] == '[') current = name;
      else current = fs::path(name).filename().string();
      continue;
    }
    if (line.rfind("Rss:", 0) == 0) out[current] += std::stol(line.substr(4));
  }
  return out;
}

std::string loadAvg() {
  std::string s = readFile("/proc/loadavg");
  return s.substr(0, s.find(' ', s.find(' ', s.find(' ') + 1) + 1));
}

}  // namespace

static int runBench(int argc, char** argv) {
  int devices = 1000;
  int seconds = 10;
  std::string engine = "http";
  std::vector<double> rates{5000, 10000, 15000, 20000, 40000};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--devices") devices = std::atoi(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atoi(argv[i + 1]);
    else if (a == "--engine") engine = argv[i + 1];
    else if (a == "--rates") {
      rates.clear();
      std::istringstream in(argv[i + 1]);
      for (std::string r; std::getline(in, r, ',');) rates.push_back(std::stod(r));
    }
  }
  const std::string binary = std::string(AISLE_BINARY_DIR) + "/gateway/aisleone-gateway";
  if (!fs::exists(binary)) {
    std::cerr << "build aisleone-gateway first (" << binary << ")\n";
    return 1;
  }
  aisle::bench::PrivateDbusDaemon bus;
  if (!bus.ok()) {
    std::cerr << "cannot start dbus-daemon\n";
    return 1;
  }
  setenv("DBUS_SYSTEM_BUS_ADDRESS", bus.address().c_str(), 1);
  aisle::bench::FastFakeBluez bluez;

  const fs::path dir = fs::temp_directory_path() / ("aisle-bench-gw-dbus-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "key") << "0123456789abcdef0123456789abcdef";
  pid_t tlsServer = -1;
  struct TlsServerGuard {
    pid_t& pid;
    ~TlsServerGuard() {
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        waitpid(pid, nullptr, 0);
      }
    }
  } tlsGuard{tlsServer};
  std::string engineUrl = "http://127.0.0.1:9";
  if (engine == "https") {
    const std::string cert = (dir / "engine-cert.pem").string(), key = (dir / "engine-key.pem").string();
    const std::string gen = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
                            "-subj /CN=bench-engine -addext subjectAltName=IP:127.0.0.1 -keyout " +
                            key + " -out " + cert + " 2>/dev/null";
    if (std::system(gen.c_str()) != 0) {
      std::cerr << "--engine https needs the openssl command\n";
      return 1;
    }
    const std::string accept = "127.0.0.1:18443";
    const char* sargs[] = {"openssl", "s_server", "-quiet", "-www", "-accept", accept.c_str(), "-cert", cert.c_str(),
                           "-key", key.c_str(), nullptr};
    posix_spawnp(&tlsServer, "openssl", nullptr, nullptr, const_cast<char**>(sargs), environ);
    setenv("SSL_CERT_FILE", cert.c_str(), 1);
    engineUrl = "https://" + accept;
  }
  // Events go to the spool (nothing listens on the engine port): the uplink's retries stay off the
  // measured loop thread, as in a store whose engine is away.
  std::ofstream(dir / "gw.conf") << "[gateway]\nid = \"gw-bench\"\nstore_id = 1\n[http]\nport = 0\n"
                                 << "[privacy]\nibeacon_uuids = [\"" << aisle::bench::kBenchIBeaconUuid << "\"]\n"
                                 << "[uplink]\nengine_url = \"" << engineUrl << "\"\nkey_id = \"k\"\nsecret_file = \""
                                 << (dir / "key").string() << "\"\nretry_initial = \"1s\"\nretry_max = \"5s\"\n"
                                 << "[heartbeat]\ninterval = \"0s\"\n"
                                 << "[spool]\ndir = \"" << (dir / "spool").string() << "\"\nfsync = \"never\"\n";
  const std::string cfg = (dir / "gw.conf").string();
  const std::string log = (dir / "gw.log").string();
  const char* args[] = {binary.c_str(), "run", "--config", cfg.c_str(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  posix_spawn(&pid, args[0], &actions, nullptr, const_cast<char**>(args), environ);
  posix_spawn_file_actions_destroy(&actions);
  // Whatever happens below, the gateway does not outlive the bench.
  struct ChildGuard {
    pid_t& pid;
    ~ChildGuard() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
      }
    }
  } guard{pid};

  // Wait for the gateway to arm discovery (the fake answers its calls meanwhile) and name its port.
  std::uint16_t port = 0;
  const auto armBy = Clock::now() + 20s;
  while (Clock::now() < armBy && (port == 0 || !bluez.discovering())) {
    bluez.step(5ms);
    const std::string text = readFile(log);
    const std::string marker = "health and metrics on http://127.0.0.1:";
    if (auto p = text.find(marker); p != std::string::npos) port = static_cast<std::uint16_t>(std::stoi(text.substr(p + marker.size())));
  }
  if (port == 0 || !bluez.discovering()) {
    std::cerr << "gateway did not arm:\n" << readFile(log);
    ::kill(pid, SIGKILL);
    return 1;
  }

  std::vector<std::string> paths;
  std::vector<sdbus::Variant> payloads;
  for (int d = 0; d < devices; ++d) {
    paths.push_back(aisle::bench::FastFakeBluez::devicePath(static_cast<std::uint64_t>(d) + 1));
    payloads.push_back(aisle::bench::ibeaconData(1, static_cast<std::uint16_t>(d)));
  }
  const long hz = sysconf(_SC_CLK_TCK);
  std::map<std::string, double> figures;
  double best = 0, bestCpu = 0;
  std::size_t next = 0;
  // Idle: armed, nothing advertised yet.
  const long idleRssKb = statusKb(pid, "VmRSS");
  std::cout << "gateway pid " << pid << ", " << devices << " devices, load " << loadAvg() << "\n";
  for (double rate : rates) {
    // Emit at `rate` for warm-up + window, pacing in 1 ms slices; the fake also answers calls.
    auto run = [&](std::chrono::milliseconds length) {
      const auto start = Clock::now();
      double owed = 0;
      auto last = start;
      while (Clock::now() - start < length) {
        const auto now = Clock::now();
        owed += rate * std::chrono::duration<double>(now - last).count();
        last = now;
        for (; owed >= 1; owed -= 1) {
          const std::size_t d = next++ % paths.size();
          const auto rssi = static_cast<std::int16_t>(-50 - static_cast<int>(next % 30));
          bluez.advert(paths[d], {{"RSSI", sdbus::Variant(rssi)}, {"ManufacturerData", payloads[d]}});
        }
        bluez.step(1ms);
      }
    };
    run(2s);
    const double r0 = metric(port, "aisle_gateway_device_reports_total");
    const std::uint64_t e0 = bluez.emitted();
    const long c0 = cpuTicks(pid);
    const auto t0 = Clock::now();
    run(std::chrono::seconds(seconds));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const long c1 = cpuTicks(pid);
    const double r1 = metric(port, "aisle_gateway_device_reports_total");
    const double processed = (r1 - r0) / secs;
    const double emitted = static_cast<double>(bluez.emitted() - e0) / secs;
    const double cpu = 100.0 * static_cast<double>(c1 - c0) / static_cast<double>(hz) / secs;
    std::cout << "target " << rate << "/s: emitted " << emitted << "/s, gateway processed " << processed
              << "/s at " << cpu << " % of one core (" << (processed > 0 ? cpu / (processed / 1000) : 0)
              << " % per 1000/s), VmRSS " << statusKb(pid, "VmRSS") << " kB, load " << loadAvg() << "\n";
    const std::string k = "target_" + std::to_string(static_cast<int>(rate));
    figures[k + "_emitted_per_s"] = emitted;
    figures[k + "_processed_per_s"] = processed;
    figures[k + "_cpu_pct_of_one_core"] = cpu;
    // The best sustained rate: processed keeps up with what was emitted (within 2 %).
    if (processed >= 0.98 * emitted && processed > best) {
      best = processed;
      bestCpu = cpu;
    }
    // Drain what is still queued before the next rate, so windows do not overlap.
    for (int i = 0; i < 200; ++i) bluez.step(5ms);
  }
  figures["sustained_adverts_per_s"] = best;
  figures["cpu_pct_of_one_core_at_sustained"] = bestCpu;
  figures["cpu_pct_per_1000_adverts_per_s"] = best > 0 ? bestCpu / (best / 1000) : 0;
  figures["peak_rss_mb"] = static_cast<double>(statusKb(pid, "VmHWM")) / 1024.0;
  const auto mem = smapsRollupMb(pid);
  figures["rss_mb_at_end"] = mem.count("Rss") ? mem.at("Rss") : -1;
  figures["rss_anonymous_mb_at_end"] = mem.count("Anonymous") ? mem.at("Anonymous") : -1;
  figures["pss_mb_at_end"] = mem.count("Pss") ? mem.at("Pss") : -1;
  std::cout << "memory: VmHWM " << figures["peak_rss_mb"] << " MB; now Rss " << figures["rss_mb_at_end"]
            << " MB of which anonymous " << figures["rss_anonymous_mb_at_end"] << " MB, Pss " << figures["pss_mb_at_end"]
            << " MB\n";
  figures["rss_mb_idle"] = static_cast<double>(idleRssKb) / 1024.0;
  {
    const auto byMapping = smapsRssKbByMapping(pid);
    std::vector<std::pair<long, std::string>> sorted;
    for (const auto& [name, kb] : byMapping) sorted.emplace_back(kb, name);
    std::sort(sorted.rbegin(), sorted.rend());
    std::cout << "Rss by mapping (kB):";
    for (const auto& [kb, name] : sorted) {
      if (kb > 0) std::cout << " " << name << "=" << kb;
    }
    std::cout << "\n";
  }
  figures["devices"] = devices;
  figures["engine_https"] = engine == "https" ? 1 : 0;
  figures["window_s"] = seconds;
  std::string load = loadAvg();
  figures["load_1min"] = std::stod(load.substr(0, load.find(' ')));
  ::kill(pid, SIGTERM);
  int status = 0;
  const auto until = Clock::now() + 10s;
  pid_t reaped = 0;
  while ((reaped = waitpid(pid, &status, WNOHANG)) == 0 && Clock::now() < until) bluez.step(5ms);
  if (reaped == pid) pid = -1;  // exited; otherwise the guard kills it
  fs::remove_all(dir);
  aisle::bench::writeResult(engine == "https" ? "gateway_dbus_https" : "gateway_dbus", figures);
  return 0;
}

int main(int argc, char** argv) {
  // Unwinding matters: the destructors stop the private dbus-daemon (and the gateway child).
  try {
    return runBench(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    return 1;
  }
}
