// `serve`: the engine's HTTP service. Startup order matters and is explained where it happens.
#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <ostream>
#include <thread>

#include "aisle/common/cli.h"
#include "aisle/common/hmac.h"
#include "aisle/common/migrate.h"
#include "aisle/engine/api.h"
#include "aisle/engine/engine_config.h"
#include "commands.h"
#include "db/member_repository.h"
#include "db/realtime_repository.h"

namespace aisle::engine {
namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int cmdServe(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"config", "port"}, {"check-config"});
  if (!cl) {
    io.err << "serve: " << cl.message() << "\n";
    return 2;
  }
  auto cfg = loadEngineConfig(cl->valueOr("config", ""));
  if (!cfg) {
    io.err << cfg.message() << "\n";
    return 1;
  }
  if (cl->has("check-config")) {
    io.out << "configuration OK\n";
    return 0;
  }
  if (auto p = cl->value("port")) cfg->listenPort = std::stoll(*p);
  // Block the stop signals before any thread starts, so only sigwait() below receives them.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  Logger log = stderrLogger("engine");
  SystemClock clock;
  auto metrics = std::make_shared<MetricsRegistry>();
  // Migrate first (under the advisory lock): a new binary may need a newer schema.
  {
    pqxx::connection c(cfg->database);
    auto m = migrate(c, embeddedMigrations(), log);
    if (!m) {
      io.err << "serve: " << m.message() << "\n";
      return 1;
    }
    pqxx::work tx(c);
    RealtimeRepository::prepare(c);
    RealtimeRepository::ensurePartitions(tx, 2);
    tx.commit();
  }
  // One reconnect attempt per call, then the error: a request must not hold its thread (and a pool
  // session) for seconds while PostgreSQL restarts. The API answers 503 and the caller retries; the
  // dispatcher retries at its next poll.
  PgPool pool(cfg->database, static_cast<std::size_t>(cfg->dbPoolSize), log, PgRetry{2, std::chrono::milliseconds(50),
                                                                                    std::chrono::milliseconds(200)});
  const std::string masterKey = *fromHex(cfg->masterKeyHex);

  auto sse = std::make_shared<SseHub>();
  std::map<std::string, std::shared_ptr<PushProvider>> providers{{"sse", sse}};
  if (!cfg->fcmServiceAccountFile.empty()) {
    auto fcm = fcmOptionsFromServiceAccount(readFile(cfg->fcmServiceAccountFile), cfg->fcmSendBase);
    if (!fcm) {
      io.err << "serve: " << cfg->fcmServiceAccountFile << ": " << fcm.message() << "\n";
      return 1;
    }
    providers["fcm"] = std::make_shared<FcmProvider>(*fcm, clock);
  }
  if (!cfg->webhookUrl.empty()) {
    providers["webhook"] = std::make_shared<WebhookProvider>(cfg->webhookUrl, cfg->webhookKeyId, cfg->webhookSecret, clock);
  }
  DispatcherOptions dopt;
  dopt.maxAttempts = static_cast<int>(cfg->maxAttempts);
  Dispatcher dispatcher(pool, providers, clock, log.with("part", "dispatcher"), metrics, dopt);

  RealtimeOptions ropt;
  ropt.policy = cfg->policy;
  ropt.visitWindowS = static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(cfg->visitWindow).count());
  ropt.masterKey = masterKey;
  RealtimeService realtime(pool, clock, ropt, log.with("part", "realtime"), metrics, [&](const std::string&) { dispatcher.wake(); });
  auto devices = realtime.rebuildEidResolver();
  log.info("EID resolver ready with " + std::to_string(devices ? *devices : 0) + " devices");

  DeviceOptions devopt;
  devopt.masterKey = masterKey;
  if (!cfg->eidResolverKeyHex.empty()) devopt.resolverPrivate = *fromHex(cfg->eidResolverKeyHex);
  DeviceService deviceService(pool, clock, devopt, log.with("part", "devices"), &realtime);

  AppTokens tokens(cfg->appTokenSecret, clock);
  RateLimiter limiter(clock, static_cast<double>(cfg->eventsPerSecondPerGateway),
                      static_cast<double>(cfg->eventsPerSecondPerGateway) * 5);
  auto verifier = std::make_shared<RequestVerifier>([&](const std::string& k) { return realtime.gatewaySecret(k); }, clock);
  http::Router router;
  addRealtimeRoutes(router, ApiDeps{realtime, *sse, tokens, limiter, verifier, clock});
  addDeviceRoutes(router, DeviceApiDeps{deviceService, tokens});
  http::ServerOptions sopt;
  sopt.host = cfg->listenHost;
  sopt.port = static_cast<std::uint16_t>(cfg->listenPort);
  sopt.component = "engine";
  http::Server server(std::move(router), sopt, metrics, log);

  // Deliver what a previous run left queued before taking new traffic.
  dispatcher.start();
  server.start();
  io.out << "{\"listening\":" << server.port() << "}" << std::endl;

  // Maintenance: EIDs rotate, so the resolver is recomputed every minute; retention runs hourly.
  std::atomic<bool> stopping{false};
  std::thread maintenance([&] {
    int minute = 0;
    while (!stopping) {
      for (int i = 0; i < 600 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (stopping) break;
      try {
        if (auto r = realtime.rebuildEidResolver(); !r) log.error("EID resolver: " + r.message());
        if (minute++ % 60 == 0) {
          auto lease = pool.lease();
          lease->run([&](pqxx::connection& c) {
            pqxx::work tx(c);
            RealtimeRepository::ensurePartitions(tx, 2);
            const int dropped = RealtimeRepository::dropEventsOlderThan(tx, static_cast<int>(cfg->retentionDays));
            tx.commit();
            if (dropped) log.info("retention: dropped " + std::to_string(dropped) + " old proximity partitions/rows");
            return 0;
          });
        }
      } catch (const std::exception& e) {
        log.error(std::string("maintenance: ") + e.what());
      }
    }
  });

  int sig = 0;
  sigwait(&stopSignals, &sig);
  log.info(std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT"));
  stopping = true;
  sse->close();  // ends the open wallet streams, so the server's workers can finish
  server.stop();
  dispatcher.stop();
  maintenance.join();
  return 0;
}

int cmdRetention(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"days"}, {});
  if (!cl) {
    io.err << "retention: " << cl.message() << "\n";
    return 2;
  }
  const int days = std::stoi(cl->valueOr("days", "30"));
  pqxx::connection c(databaseUrl());
  RealtimeRepository::prepare(c);
  pqxx::work tx(c);
  const int n = RealtimeRepository::dropEventsOlderThan(tx, days);
  tx.commit();
  io.out << "{\"dropped\":" << n << ",\"retention_days\":" << days << "}\n";
  return 0;
}

int cmdErase(const Args& args, Io io) {
  auto cl = CommandLine::parse(args, {"member"}, {});
  if (!cl || !cl->value("member")) {
    io.err << "erase: usage: erase --member ID\n";
    return 2;
  }
  pqxx::connection c(databaseUrl());
  pqxx::work tx(c);
  auto n = MemberRepository::erase(tx, std::stoll(*cl->value("member")));
  tx.commit();
  io.out << "{";
  bool first = true;
  for (const auto& [t, k] : n) {
    io.out << (first ? "" : ",") << "\"" << t << "\":" << k;
    first = false;
  }
  io.out << "}\n";
  return 0;
}

}  // namespace aisle::engine
