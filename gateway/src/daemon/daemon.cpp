// The gateway daemon's composition root. Startup is a short linear script; the comments say why
// each step comes where it does.
#include "aisle/gateway/daemon.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <istream>
#include <cmath>
#include <memory>
#include <mutex>
#include <ostream>
#include <set>
#include <sstream>

#include "aisle/common/cli.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/common/parse.h"
#include "aisle/common/spool.h"
#include "aisle/gateway/bluez_source.h"
#include "aisle/gateway/bundle.h"
#include "aisle/gateway/cli.h"
#include "aisle/gateway/config.h"
#include "aisle/gateway/json.h"
#include "aisle/gateway/lan.h"
#include "aisle/gateway/pipeline.h"
#include "aisle/gateway/replay.h"
#include "aisle/gateway/uplink.h"
#include "uplink_http.h"

namespace aisle::gateway {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

constexpr milliseconds kTick{250};

struct DaemonConfig {
  GatewayConfig cfg;
  std::string secret;
  std::string lanKey;   // the store's LAN key; empty: no LAN (a one-Pi store)
  std::string origin;   // where the running configuration came from, for the log
  std::string warning;  // at start: why the new bundle was refused (the last good one runs)
};

using Reloader = std::function<Result<DaemonConfig>()>;

// A key from a file, or from systemd's credentials directory (LoadCredential=).
Result<std::string> readKey(const std::string& file, const std::string& credential, const std::string& what,
                            const std::string& credentialKey) {
  std::string path = file;
  if (!credential.empty()) {
    const char* dir = std::getenv("CREDENTIALS_DIRECTORY");
    if (!dir || !*dir) {
      return fail(credentialKey + ": $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)");
    }
    path = std::string(dir) + "/" + credential;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(what + ": cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string secret(trim(ss.str()));
  if (secret.size() < 16) return fail(what + " in " + path + " is shorter than 16 characters");
  return secret;
}

Result<std::string> readSecret(const DaemonSettings& d) {
  return readKey(d.secretFile, d.secretCredential, "uplink secret", "uplink.secret_credential");
}

// Empty when no LAN key is configured (a one-Pi store needs none).
Result<std::string> readLanKey(const DaemonSettings& d) {
  if (d.lanKeyFile.empty() && d.lanKeyCredential.empty()) return std::string();
  return readKey(d.lanKeyFile, d.lanKeyCredential, "LAN key", "lan.key_credential");
}

Result<DaemonConfig> loadDaemonConfig(const std::string& path) {
  auto cfg = loadGatewayConfig(path);
  if (!cfg) return cfg.error();
  if (auto st = checkDaemonConfig(*cfg); !st) return st.error();
  auto secret = readSecret(cfg->daemon);
  if (!secret) return secret.error();
  auto lanKey = readLanKey(cfg->daemon);
  if (!lanKey) return lanKey.error();
  return DaemonConfig{std::move(*cfg), std::move(*secret), std::move(*lanKey), path, {}};
}

Result<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The secret is a local setting, so it is read before the bundle is looked at: a missing secret
// must not cost a bundle its acceptance (and the state directory a write).
Result<std::string> readLocalSecret(const GatewayConfig& local) {
  if (local.daemon.secretFile.empty() && local.daemon.secretCredential.empty()) {
    return fail(local.fileName + ": uplink.secret_file: required to run the daemon (or uplink.secret_credential)");
  }
  return readSecret(local.daemon);
}

std::string originOf(const DaemonArgs& args, const AcceptedBundle& a) {
  return args.bundlePath + " (bundle version " + std::to_string(a.version) + ", fleet sha256 " +
         a.fleetSha256.substr(0, 12) + ")";
}

// The local file + the signed bundle: what `run --bundle` starts with and reloads.
class BundleSource {
 public:
  static Result<BundleSource> open(const DaemonArgs& args) {
    auto local = loadLocalGatewayConfig(args.configPath);
    if (!local) return local.error();
    auto pem = readWholeFile(args.pubkeyPath);
    if (!pem) return pem.error();
    auto key = fwconfig::PublicKey::fromPem(*pem);
    if (!key) return fail(args.pubkeyPath + ": " + key.message());
    auto gate = BundleGate::open(std::move(*key), local->zones.gatewayId, BundleStore(args.stateDir));
    if (!gate) return gate.error();
    return BundleSource(args, std::move(*local), std::move(*gate));
  }

  // Start: the new bundle, else the state directory's last good one.
  Result<DaemonConfig> start() {
    auto secret = readLocalSecret(local_);
    if (!secret) return secret.error();
    auto lanKey = readLanKey(local_.daemon);
    if (!lanKey) return lanKey.error();
    auto a = gate_.start(readWholeFile(args_.bundlePath), local_);
    if (!a) return a.error();
    std::string warning;
    if (a->fromLastGood) {
      warning = "bundle " + args_.bundlePath + " refused (" + a->refusal + "); running the last good bundle, version " +
                std::to_string(a->version) + ", from " + args_.stateDir;
    }
    return DaemonConfig{std::move(a->config), std::move(*secret), std::move(*lanKey), originOf(args_, *a), warning};
  }

  // SIGHUP and --check-config: the local file and the bundle are read again; nothing is kept from
  // a refused attempt.
  Result<DaemonConfig> next(bool persist) {
    auto local = loadLocalGatewayConfig(args_.configPath);
    if (!local) return local.error();
    auto secret = readLocalSecret(*local);
    if (!secret) return secret.error();
    auto lanKey = readLanKey(local->daemon);
    if (!lanKey) return lanKey.error();
    auto bytes = readWholeFile(args_.bundlePath);
    if (!bytes) return bytes.error();
    auto a = gate_.accept(*bytes, *local, persist);
    if (!a) return fail("bundle " + args_.bundlePath + " refused: " + a.message());
    local_ = std::move(*local);
    return DaemonConfig{std::move(a->config), std::move(*secret), std::move(*lanKey), originOf(args_, *a), {}};
  }

  std::int64_t floor() const { return gate_.floor(); }

 private:
  BundleSource(DaemonArgs args, GatewayConfig local, BundleGate gate)
      : args_(std::move(args)), local_(std::move(local)), gate_(std::move(gate)) {}
  DaemonArgs args_;
  GatewayConfig local_;
  BundleGate gate_;
};

PrivacyPolicy policyOf(const GatewayConfig& c) {
  PrivacyPolicy p;
  p.forwardEid = c.daemon.forwardEid;
  p.ibeaconUuids = c.daemon.ibeaconUuids;
  p.ibeaconRanges = c.daemon.ibeaconRanges;
  for (const BeaconSpec& b : c.zones.beacons) p.beaconIds.insert(b.id);
  return p;
}

UplinkOptions uplinkOptionsOf(const GatewayConfig& c) {
  UplinkOptions o;
  o.gatewayId = c.zones.gatewayId;
  o.storeId = c.daemon.storeId;
  o.batchMaxEvents = static_cast<std::size_t>(c.daemon.batchMaxEvents);
  o.batchMaxDelay = c.daemon.batchMaxDelay;
  o.requestMaxEvents = static_cast<std::size_t>(c.daemon.requestMaxEvents);
  o.retryInitial = c.daemon.retryInitial;
  o.retryMax = c.daemon.retryMax;
  return o;
}

std::string eventsUrl(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/proximity/events";
}

// The engine's route is /v1/gateways/{id}/heartbeat and checks that the key belongs to that id.
std::string heartbeatUrl(std::string base, const std::string& gatewayId) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/gateways/" + gatewayId + "/heartbeat";
}

// Settings only a restart applies (sockets, files, the bus): a reload that changes them says so.
std::vector<std::string> restartOnlyChanges(const DaemonSettings& a, const DaemonSettings& b) {
  std::vector<std::string> out;
  if (a.adapter != b.adapter) out.emplace_back("bluez.adapter");
  if (a.pruneAfter != b.pruneAfter) out.emplace_back("bluez.prune_after");
  if (a.sourceKind != b.sourceKind || a.sightingsPath != b.sightingsPath) out.emplace_back("source");
  if (a.httpHost != b.httpHost || a.httpPort != b.httpPort) out.emplace_back("http");
  if (a.engineUrl != b.engineUrl || a.keyId != b.keyId || a.timeout != b.timeout) out.emplace_back("uplink.engine_url/key_id/timeout");
  if (a.spoolDir != b.spoolDir || a.spoolMaxMb != b.spoolMaxMb) out.emplace_back("spool");
  if (a.heartbeatInterval != b.heartbeatInterval) out.emplace_back("heartbeat.interval");
  if (a.lanRole != b.lanRole || a.lanHubUrl != b.lanHubUrl || a.lanKeyFile != b.lanKeyFile ||
      a.lanKeyCredential != b.lanKeyCredential || a.lanInterval != b.lanInterval) {
    out.emplace_back("lan");
  }
  if (a.storeId != b.storeId) out.emplace_back("gateway.store_id");
  if (a.scanner != b.scanner) out.emplace_back("gateway.scanner");
  return out;
}

// source.kind = "sightings": JSON Lines sightings (the replay format) tailed from a file, with the
// input's own timestamps. For feeding a recorded run to a live engine, and for end-to-end tests of
// the uplink without a radio.
class SightingsTail {
 public:
  SightingsTail(std::string path, Logger log) : path_(std::move(path)), log_(std::move(log)) {}
  // Reads whatever complete lines were appended since the last call.
  void poll(SightingSink& tracker) {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::size_t pos = 0;
    for (std::size_t nl; (nl = chunk.find('\n', pos)) != std::string::npos; pos = nl + 1) {
      const std::string_view line(chunk.data() + pos, nl - pos);
      if (trim(line).empty()) continue;
      Sighting s;
      if (const char* err = parser_.parse(line, s)) {
        if (malformed_++ == 0) log_.warn(std::string("sightings: malformed line skipped: ") + err);
        continue;
      }
      tracker.onSighting(s.scanner, s.beacon, s.rssi, s.tMs);
      ++sightings_;
    }
    offset_ += pos;  // a partial last line is read again once it is complete
  }
  std::uint64_t sightings() const { return sightings_; }

 private:
  std::string path_;
  Logger log_;
  std::uint64_t offset_ = 0;
  SightingParser parser_;
  std::uint64_t sightings_ = 0;
  std::uint64_t malformed_ = 0;
};

class Daemon {
 public:
  Daemon(DaemonConfig dc, Reloader reloader)
      : config_(std::move(dc)),
        reloader_(std::move(reloader)),
        log_(Logger("gateway", std::make_shared<StderrSink>(), config_.cfg.daemon.logLevel)
                 .with("gw", config_.cfg.zones.gatewayId)),
        metrics_(std::make_shared<MetricsRegistry>()),
        uplinkMetrics_(*metrics_),
        reports_(metrics_->counter("aisle_gateway_device_reports_total",
                                   "Device reports from BlueZ (one per received advert)")),
        sightings_(metrics_->counter("aisle_gateway_sightings_total",
                                     "Sightings of beacons of interest fed to the zone tracker")),
        ignored_(metrics_->counter("aisle_gateway_reports_not_of_interest_total",
                                   "Reports of devices that are not beacons of interest (not forwarded)")),
        advertsPerS_(metrics_->gauge("aisle_gateway_adverts_per_second", "Device reports per second")),
        adapterUp_(metrics_->gauge("aisle_gateway_adapter_discovering", "1 while discovery runs")),
        beacons_(metrics_->gauge("aisle_gateway_beacons_tracked", "Beacons with zone state")),
        lanOk_(metrics_->counter("aisle_gateway_lan_requests_total", "Scanner summaries sent to the hub", "result=\"ok\"")),
        lanFailed_(metrics_->counter("aisle_gateway_lan_requests_total", "Scanner summaries sent to the hub", "result=\"failed\"")),
        lanReceived_(metrics_->counter("aisle_gateway_lan_sightings_received_total",
                                       "Beacon summaries received from the store's scanners")),
        lanRefused_(metrics_->counter("aisle_gateway_lan_requests_refused_total",
                                      "Signed scanner requests refused for their body")),
        signals_(io_, SIGTERM, SIGINT, SIGHUP),
        tick_(io_) {}

  int run() {
    const DaemonSettings& d = config_.cfg.daemon;
    if (!config_.warning.empty()) log_.warn(config_.warning);
    log_.info("configuration from " + config_.origin);
    // 1. The spool first: its directory lock makes a second gateway on the same state directory
    //    fail here, before it touches the bus or the port; and events left from a crash start
    //    flowing as soon as the sender runs.
    SpoolOptions so;
    so.dir = d.spoolDir;
    so.maxBytes = static_cast<std::uint64_t>(d.spoolMaxMb) << 20;
    so.segmentBytes = std::clamp<std::uint64_t>(so.maxBytes / 8, 512u << 10, 8u << 20);
    so.maxRecordBytes = 256u << 10;
    so.fsync = d.fsync;
    auto spool = Spool::open(so);
    if (!spool) {
      log_.error("cannot open the spool: " + spool.message());
      return 1;
    }
    spool_ = std::move(*spool);
    const SpoolStats st = spool_->stats();
    log_.info("spool " + d.spoolDir + ": " + std::to_string(st.depthRecords) + " batches waiting, " +
              std::to_string(st.dropped) + " dropped so far");

    // 2. The uplink sender: its own thread, so a slow engine never stalls the radio loop.
    signer_ = std::make_unique<RequestSigner>(d.keyId, config_.secret, clock_);
    const std::string url = eventsUrl(d.engineUrl);
    const milliseconds timeout = d.timeout;
    sender_ = std::make_unique<UplinkSender>(
        *spool_,
        [this, url, timeout](const std::string& body) -> Result<int> {
          const std::string auth = signer_->sign("POST", http::targetOf(url), body);
          auto r = uplinkRequest("POST", url, {{"Authorization", auth}}, body, timeout);
          if (!r) return r.error();
          return r->status;
        },
        uplinkOptionsOf(config_.cfg), log_.with("part", "uplink"), uplinkMetrics_);
    sender_->start();
    // Heartbeats on a thread and connection of their own: latest wins, never in the event queue.
    if (d.heartbeatInterval.count() > 0) {
      const std::string hbUrl = heartbeatUrl(d.engineUrl, config_.cfg.zones.gatewayId);
      heartbeat_ = std::make_unique<LatestWinsSender>(
          [this, hbUrl, timeout](const std::string& body) -> Result<int> {
            const std::string auth = signer_->sign("POST", http::targetOf(hbUrl), body);
            auto r = uplinkRequest("POST", hbUrl, {{"Authorization", auth}}, body, timeout);
            if (!r) return r.error();
            return r->status;
          },
          log_.with("part", "heartbeat"), uplinkMetrics_.heartbeatsOk, uplinkMetrics_.heartbeatsFailed);
      heartbeat_->start();
    }

    // 3. Zones -> batcher -> spool, and the pipeline that feeds the zones.
    batcher_ = std::make_unique<EventBatcher>(*spool_, uplinkOptionsOf(config_.cfg), clock_,
                                              log_.with("part", "batcher"), uplinkMetrics_);
    tracker_ = std::make_unique<ZoneTracker>(config_.cfg.zones, *batcher_);
    // A scanner-only Pi summarises for its hub instead of arbitrating (see lan.h).
    if (d.lanRole == "scanner") {
      summarizer_ = std::make_unique<LanSummarizer>(d.scanner);
      lanSigner_ = std::make_unique<RequestSigner>(d.scanner, config_.lanKey, clock_);
      std::string hub = d.lanHubUrl;
      while (!hub.empty() && hub.back() == '/') hub.pop_back();
      const std::string lanUrl = hub + std::string(kLanSightingsPath);
      const milliseconds lanTimeout = std::clamp(d.lanInterval * 2, milliseconds(1000), milliseconds(5000));
      lanSender_ = std::make_unique<LatestWinsSender>(
          [this, lanUrl, lanTimeout](const std::string& body) -> Result<int> {
            const std::string auth = lanSigner_->sign("POST", http::targetOf(lanUrl), body);
            auto r = uplinkRequest("POST", lanUrl, {{"Authorization", auth}}, body, lanTimeout, "application/x-ndjson");
            if (!r) return r.error();
            return r->status;
          },
          log_.with("part", "lan"), lanOk_, lanFailed_);
      lanSender_->start();
      log_.info("scanner role: summaries to the hub at " + lanUrl);
    }
    pipeline_ = std::make_unique<AdvertPipeline>(d.scanner, policyOf(config_.cfg), localSink(), clock_);

    // 4. Signals before anything can block: SIGTERM must always reach the flush.
    waitForSignal();

    // 5. Health and metrics on the local port (Poco threads; they read only atomics and the
    //    spool's locked stats).
    http::ServerOptions ho;
    ho.host = d.httpHost;
    ho.port = d.httpPort;
    ho.component = "gateway";
    ho.maxThreads = 2;
    try {
      server_ = std::make_unique<http::Server>(lanRouter(), ho, metrics_, log_.with("part", "http"),
                                               [this] { return health(); });
      server_->start();
    } catch (const std::exception& e) {
      log_.error(std::string("cannot serve /healthz on ") + d.httpHost + ":" + std::to_string(d.httpPort) + ": " + e.what());
      sender_->stop();
      return 1;
    }
    log_.info("health and metrics on http://" + d.httpHost + ":" + std::to_string(server_->port()));

    // 6. The source last: from here on adverts arrive.
    if (d.lanRole == "hub") {
      hubOnly_ = true;  // no radio: every sighting arrives over the LAN
      log_.info("hub role: no local scanning");
    } else if (d.sourceKind == "sightings") {
      tail_ = std::make_unique<SightingsTail>(d.sightingsPath, log_.with("part", "sightings"));
    } else {
      BluezOptions bo;
      bo.adapter = d.adapter;
      bo.pruneAfter = d.pruneAfter;
      auto src = openBluezSource(io_, bo, *pipeline_, clock_, log_.with("part", "bluez"),
                                 [this](const std::string& why) {
                                   log_.error(why + ": exiting so systemd restarts the gateway");
                                   exitCode_ = 1;
                                   shutdown();
                                 });
      if (!src) {
        log_.error(src.message());
        shutdownServices();
        return 1;
      }
      bluez_ = std::move(*src);
      bluez_->start();
    }
    if (const char* w = std::getenv("WATCHDOG_USEC")) {
      if (auto usec = parseNumber<std::int64_t>(w, 1); usec) watchdogEvery_ = milliseconds(*usec / 2000);
    }
    startedAt_ = clock_.monotonic();
    scheduleTick();
    io_.run();
    return exitCode_;
  }

 private:
  void waitForSignal() {
    signals_.async_wait([this](const boost::system::error_code& ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        waitForSignal();
        return;
      }
      log_.info(sig == SIGTERM ? "SIGTERM: flushing and stopping" : "SIGINT: flushing and stopping");
      shutdown();
    });
  }

  void scheduleTick() {
    tick_.expires_after(kTick);
    tick_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopping_) return;
      onTick();
      scheduleTick();
    });
  }

  void onTick() {
    if (tail_) {
      tail_->poll(localSink());
    } else {
      pipeline_->tick();
    }
    batcher_->flushIfDue();

    const AdapterState state = hubOnly_ ? AdapterState::NotScanning
                               : tail_  ? AdapterState::Discovering
                                        : pipeline_->adapterState();
    adapterState_.store(state);
    adapterUp_.set(state == AdapterState::Discovering ? 1 : 0);
    beacons_.set(static_cast<double>(tracker_->stats().beaconsTracked - tracker_->stats().beaconsForgotten));
    const PipelineStats& ps = pipeline_->stats();
    reports_.inc(ps.reports - lastReports_);
    sightings_.inc(ps.sightings - lastSightings_);
    ignored_.inc(ps.notOfInterest - lastIgnored_);
    lastSightings_ = ps.sightings;
    lastIgnored_ = ps.notOfInterest;
    const auto now = clock_.monotonic();
    if (now - rateSince_ >= std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - rateSince_).count();
      advertsPerS_.set(static_cast<double>(ps.reports - rateReports_) / secs);
      rateReports_ = ps.reports;
      rateSince_ = now;
    }
    lastReports_ = ps.reports;
    publishTelemetry(now);
    // Scanner role: one summary (or heartbeat) per interval; none while the radio is not
    // discovering, so the hub sees this scanner go silent.
    if (summarizer_ && now - lastLan_ >= config_.cfg.daemon.lanInterval) {
      lastLan_ = now;
      if (auto body = summarizer_->take(state == AdapterState::Discovering, clock_.nowUnixMs())) {
        lanSender_->submit(std::move(*body));
      }
    }

    // READY=1 once the source has had its first look at BlueZ (armed, or known to be absent: the
    // gateway is then up and reporting its state, it is not a failed start), or after 10 s.
    if (!ready_ && (state != AdapterState::Starting || now - startedAt_ > std::chrono::seconds(10))) {
      ready_ = true;
      notifySystemd("READY=1\nSTATUS=adapter " + std::string(adapterStateName(state)));
      log_.info("ready");
    }
    // One heartbeat as soon as the adapter's state is known (the engine sees the start), then one
    // per interval.
    if (heartbeat_ && ready_ && (!heartbeatSent_ || now - lastHeartbeat_ >= config_.cfg.daemon.heartbeatInterval)) {
      heartbeat_->submit(healthJson());
      heartbeatSent_ = true;
      lastHeartbeat_ = now;
    }
    // The watchdog ping comes from the loop itself: a wedged loop stops pinging and systemd
    // restarts the gateway.
    if (watchdogEvery_.count() > 0 && now - lastWatchdog_ >= watchdogEvery_) {
      notifySystemd("WATCHDOG=1");
      lastWatchdog_ = now;
    }
  }

  void reload() {
    auto next = reloader_();
    if (!next) {
      // Parsed into scratch: the running configuration stays untouched.
      log_.error("reload refused, keeping the running configuration: " + next.message());
      return;
    }
    for (const std::string& key : restartOnlyChanges(config_.cfg.daemon, next->cfg.daemon)) {
      log_.warn("reload: " + key + " changed; it takes effect at the next restart");
    }
    // Events so far belong to the old tracker: write them out before it goes.
    batcher_->flush();
    batcher_->setOptions(uplinkOptionsOf(next->cfg));
    auto tracker = std::make_unique<ZoneTracker>(next->cfg.zones, *batcher_);
    if (summarizer_) {
      pipeline_->reset(policyOf(next->cfg), *summarizer_);
    } else {
      pipeline_->reset(policyOf(next->cfg), *tracker);
    }
    tracker_ = std::move(tracker);
    lastReports_ = lastSightings_ = lastIgnored_ = rateReports_ = 0;
    config_.cfg.zones = next->cfg.zones;
    config_.origin = next->origin;
    log_.info("configuration reloaded from " + next->origin + " (" + std::to_string(next->cfg.zones.scanners.size()) + " scanners, " +
              std::to_string(next->cfg.zones.beacons.size()) + " beacons); zone presence starts over");
  }

  void shutdown() {
    if (stopping_) return;
    stopping_ = true;
    notifySystemd("STOPPING=1");
    tick_.cancel();
    signals_.cancel();
    if (bluez_) bluez_->stop();
    shutdownServices();
    io_.stop();
  }

  void shutdownServices() {
    // What the tracker emitted is written to disk; the engine gets it after the restart.
    if (batcher_) batcher_->flush();
    if (spool_) {
      if (auto st = spool_->sync(); !st) log_.error("spool sync at shutdown failed: " + st.message());
    }
    if (sender_) sender_->stop();
    if (heartbeat_) heartbeat_->stop();
    if (lanSender_) lanSender_->stop();
    if (server_) server_->stop();
  }

  SightingSink& localSink() { return summarizer_ ? static_cast<SightingSink&>(*summarizer_) : *tracker_; }

  // Hub (and one-Pi "both" with a LAN key): the store's scanners POST their summaries here,
  // signed with the store's LAN key under their own scanner id.
  http::Router lanRouter() {
    http::Router router;
    const DaemonSettings& d = config_.cfg.daemon;
    if (d.lanRole == "scanner" || config_.lanKey.empty()) return router;
    std::set<std::string> allowed;
    for (const ScannerSpec& s : config_.cfg.zones.scanners) allowed.insert(s.id);
    lanVerifier_ = std::make_shared<RequestVerifier>(
        [allowed, self = d.scanner, key = config_.lanKey](const std::string& id) -> std::optional<std::string> {
          // Only the store's other scanners (all ids when no [scanner.*] is configured).
          if (id == self || (!allowed.empty() && !allowed.contains(id))) return std::nullopt;
          return key;
        },
        clock_);
    router.add("POST", std::string(kLanSightingsPath), http::hmacAuthenticator(lanVerifier_), [this](const http::Request& r) {
      auto sightings = parseLanSightings(r.body, r.principal);
      if (!sightings) {
        lanRefused_.inc();
        return http::Response::error(400, sightings.message());
      }
      lanReceived_.inc(sightings->size());
      // The tracker belongs to the loop thread: hand the request over, stamped on arrival there.
      asio::post(io_, [this, scanner = r.principal, list = std::move(*sightings)] {
        if (stopping_) return;
        const std::int64_t now = clock_.nowUnixMs();
        tracker_->onScannerHeartbeat(scanner, now);
        for (const LanSighting& s : list) tracker_->onSighting(scanner, s.beacon, s.rssi, now);
      });
      return http::Response::json(200, "{\"ok\":true}");
    });
    log_.info("accepting scanner summaries on " + std::string(kLanSightingsPath));
    return router;
  }

  // The fixed beacons' latest TLM, copied for the HTTP threads and the heartbeat, and as gauges.
  void publishTelemetry(std::chrono::steady_clock::time_point now) {
    const auto& tlm = pipeline_->telemetry();
    if (now - lastTelemetry_ < std::chrono::seconds(1)) return;
    lastTelemetry_ = now;
    const std::int64_t nowMs = clock_.nowUnixMs();
    std::string json = "[";
    for (const auto& [beacon, t] : tlm) {
      if (json.size() > 1) json.push_back(',');
      JsonObjectWriter w(json);
      w.field("beacon", beacon)
          .field("battery_mv", static_cast<std::int64_t>(t.batteryMv))
          .field("temperature_c", t.hasTemperature ? t.temperatureC : std::nan(""))
          .field("age_s", static_cast<std::int64_t>(std::max<std::int64_t>(0, nowMs - t.tMs) / 1000));
      w.close();
      const std::string label = "beacon=\"" + beacon + "\"";
      metrics_->gauge("aisle_gateway_beacon_battery_mv", "Latest Eddystone-TLM battery voltage of a fixed beacon", label)
          .set(t.batteryMv);
      if (t.hasTemperature) {
        metrics_->gauge("aisle_gateway_beacon_temperature_celsius", "Latest Eddystone-TLM temperature of a fixed beacon", label)
            .set(t.temperatureC);
      }
      metrics_->gauge("aisle_gateway_beacon_telemetry_age_seconds", "Seconds since the fixed beacon's last TLM", label)
          .set(static_cast<double>(nowMs - t.tMs) / 1000.0);
    }
    json.push_back(']');
    std::lock_guard lock(telemetryMu_);
    telemetryJson_ = std::move(json);
  }

  http::Response health() const { return http::Response::json(200, healthJson()); }

  // /healthz and the heartbeat's body: one shape for the operator and the engine.
  std::string healthJson() const {
    const SpoolStats s = spool_->stats();
    const AdapterState state = adapterState_.load();
    const bool uplinkOk = sender_->healthy();
    std::string body;
    JsonObjectWriter w(body);
    const bool radioOk = state == AdapterState::Discovering || state == AdapterState::NotScanning;
    w.field("status", radioOk && uplinkOk ? "ok" : "degraded")
        .field("gateway_id", config_.cfg.zones.gatewayId)
        .field("adapter", adapterStateName(state))
        .field("adverts_per_s", advertsPerS_.value())
        .field("beacons_tracked", static_cast<std::int64_t>(beacons_.value()))
        .field("uplink", uplinkOk ? "ok" : "retrying")
        .field("uplink_failures", static_cast<std::int64_t>(sender_->consecutiveFailures()))
        .field("events_spooled", static_cast<std::int64_t>(uplinkMetrics_.eventsSpooled.value()))
        .field("events_delivered", static_cast<std::int64_t>(uplinkMetrics_.eventsDelivered.value()))
        .field("spool_depth_records", static_cast<std::int64_t>(s.depthRecords))
        .field("spool_depth_bytes", static_cast<std::int64_t>(s.depthBytes))
        .field("spool_dropped", static_cast<std::int64_t>(s.dropped))
        .field("lan_role", config_.cfg.daemon.lanRole);
    if (lanSender_) w.field("lan_hub", lanSender_->failing() ? "unreachable" : "ok");
    {
      std::lock_guard lock(telemetryMu_);
      w.raw("fixed_beacons_tlm", telemetryJson_);
    }
    w.close();
    return body;
  }

  DaemonConfig config_;
  Reloader reloader_;
  SystemClock clock_;
  Logger log_;
  std::shared_ptr<MetricsRegistry> metrics_;
  UplinkMetrics uplinkMetrics_;
  Counter& reports_;
  Counter& sightings_;
  Counter& ignored_;
  Gauge& advertsPerS_;
  Gauge& adapterUp_;
  Gauge& beacons_;
  Counter& lanOk_;
  Counter& lanFailed_;
  Counter& lanReceived_;
  Counter& lanRefused_;
  asio::io_context io_;
  asio::signal_set signals_;
  asio::steady_timer tick_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<RequestSigner> signer_;
  std::unique_ptr<UplinkSender> sender_;
  std::unique_ptr<LatestWinsSender> heartbeat_;
  std::unique_ptr<LanSummarizer> summarizer_;
  std::unique_ptr<RequestSigner> lanSigner_;
  std::unique_ptr<LatestWinsSender> lanSender_;
  std::shared_ptr<RequestVerifier> lanVerifier_;
  bool hubOnly_ = false;
  std::unique_ptr<EventBatcher> batcher_;
  std::unique_ptr<ZoneTracker> tracker_;
  std::unique_ptr<AdvertPipeline> pipeline_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<BluezSource> bluez_;
  std::unique_ptr<SightingsTail> tail_;
  std::atomic<AdapterState> adapterState_{AdapterState::Starting};
  std::uint64_t lastReports_ = 0, lastSightings_ = 0, lastIgnored_ = 0, rateReports_ = 0;
  std::chrono::steady_clock::time_point rateSince_{}, startedAt_{}, lastWatchdog_{}, lastHeartbeat_{}, lastTelemetry_{}, lastLan_{};
  bool heartbeatSent_ = false;
  mutable std::mutex telemetryMu_;
  std::string telemetryJson_ = "[]";
  milliseconds watchdogEvery_{0};
  bool ready_ = false;
  bool stopping_ = false;
  int exitCode_ = 0;
};

}  // namespace

int runDaemon(const DaemonArgs& args, std::ostream& err) {
  Result<DaemonConfig> dc = fail("");
  Reloader reloader;
  if (args.bundlePath.empty()) {
    dc = loadDaemonConfig(args.configPath);
    reloader = [path = args.configPath] { return loadDaemonConfig(path); };
  } else {
    auto source = BundleSource::open(args);
    if (!source) {
      err << "aisleone-gateway: " << source.message() << "\n";
      return 2;
    }
    dc = source->start();
    auto shared = std::make_shared<BundleSource>(std::move(*source));
    reloader = [shared] { return shared->next(/*persist=*/true); };
  }
  if (!dc) {
    err << "aisleone-gateway: " << dc.message() << "\n";
    return args.bundlePath.empty() ? 2 : 1;
  }
  // A write to a vanished peer must be an error return, not a process kill.
  std::signal(SIGPIPE, SIG_IGN);
  Daemon daemon(std::move(*dc), std::move(reloader));
  return daemon.run();
}

int runGatewayCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                      std::ostream& err) {
  // `run --config FILE [--bundle ...]`, or bare `--config FILE [--bundle ...]` (the systemd unit's
  // ExecStart). `--check-config` alone stays runCli's, unless a bundle is named.
  const bool hasRun = !args.empty() && args.front() == "run";
  bool bareConfig = !args.empty() && !hasRun;
  const bool withBundle = std::find(args.begin(), args.end(), "--bundle") != args.end();
  for (const std::string& a : args) {
    if ((a == "--check-config" && !withBundle) || a == "--help" || a == "--version" || a == "decode" ||
        a == "replay") {
      bareConfig = false;
    }
  }
  if (!hasRun && !bareConfig) return runCli(args, in, out, err);
  auto cl = CommandLine::parse(args, {"config", "bundle", "pubkey", "state-dir"}, {"check-config"});
  if (!cl) {
    err << "aisleone-gateway: " << cl.message() << "\n";
    return 2;
  }
  DaemonArgs da;
  da.configPath = cl->valueOr("config", "");
  da.bundlePath = cl->valueOr("bundle", "");
  da.pubkeyPath = cl->valueOr("pubkey", "");
  da.stateDir = cl->valueOr("state-dir", defaultStateDir());
  const bool bundleArgsOk = da.bundlePath.empty() == da.pubkeyPath.empty();
  if (da.configPath.empty() || !bundleArgsOk || cl->positional().size() > (hasRun ? 1u : 0u)) {
    err << "aisleone-gateway: usage: aisleone-gateway run --config FILE [--bundle FILE --pubkey KEY.pem "
           "[--state-dir DIR]] [--check-config]\n";
    return 2;
  }
  if (cl->has("check-config")) {
    // Everything `run` needs, the uplink secret's readability included; with a bundle also its
    // signature, gateway and version against the state directory's floor (nothing is written).
    if (da.bundlePath.empty()) {
      auto dc = loadDaemonConfig(da.configPath);
      if (!dc) {
        err << dc.message() << "\n";
        return 1;
      }
      out << da.configPath << ": ok (daemon: " << dc->cfg.zones.scanners.size() << " scanners, "
          << dc->cfg.zones.beacons.size() << " beacons, source " << dc->cfg.daemon.sourceKind << ")\n";
      return 0;
    }
    auto source = BundleSource::open(da);
    if (!source) {
      err << source.message() << "\n";
      return 1;
    }
    auto dc = source->next(/*persist=*/false);
    if (!dc) {
      err << dc.message() << "\n";
      return 1;
    }
    out << da.configPath << " + " << dc->origin << ": ok (daemon: gateway " << dc->cfg.zones.gatewayId
        << ", store " << dc->cfg.daemon.storeId << ", " << dc->cfg.zones.scanners.size() << " scanners, "
        << dc->cfg.zones.beacons.size() << " beacons, source " << dc->cfg.daemon.sourceKind
        << "; accepted version in " << da.stateDir << ": " << source->floor() << ")\n";
    return 0;
  }
  return runDaemon(da, err);
}

}  // namespace aisle::gateway
