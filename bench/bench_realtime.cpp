// Accepted proximity event -> push handed to its provider, with 1M members in the database (issue 6:
// p99 <= 50 ms at 1,000 events/s sustained). The engine's real HTTP server and real-time path run
// in process on 127.0.0.1:0 against a scratch database; the provider is an in-process fake FCM that
// records when each push is handed to it; a load generator sends HMAC-signed gateway batches over
// loopback at a fixed rate. Latency is measured from the moment the batch carrying the event is
// sent, so it includes the HTTP round trip, ingest, the trigger and the dispatcher's wake-up.
//   bench_realtime [members=1000000] [seconds=45] [events_per_s=1000]   (AISLE_DB: the base conninfo)
#include <pqxx/pqxx>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include <unistd.h>

#include "aisle/common/crypto.h"
#include "aisle/common/hmac.h"
#include "aisle/common/http.h"
#include "aisle/common/http_client.h"
#include "aisle/common/migrate.h"
#include "aisle/common/rate_limit.h"
#include "aisle/engine/api.h"
#include "aisle/engine/delivery.h"
#include "aisle/engine/eid.h"
#include "aisle/engine/realtime.h"
#include "aisle/common/pg.h"
#include "bench_result.h"

namespace {

using namespace aisle;
using namespace aisle::engine;
using Steady = std::chrono::steady_clock;

const std::string kMaster(32, 'B');


IdentityKey keyOf(std::int64_t member) {
  IdentityKey k{};
  std::mt19937_64 r(static_cast<std::uint64_t>(member) * 0x9e3779b97f4a7c15ULL);
  for (auto& b : k) b = static_cast<std::uint8_t>(r());
  return k;
}

// The database a chain with a million loyalty members would have: every member with consents, a
// phone (FCM token) and two active coupons; `eidMembers` of them also carry a phone that
// advertises Eddystone-EID (sealed identity key).
void populate(const std::string& url, std::int64_t members, std::int64_t eidMembers) {
  pqxx::connection c(url);
  const auto t0 = Steady::now();
  {
    pqxx::work tx(c);
    tx.exec("INSERT INTO stores VALUES (1, 'default', 's1', 'Store 1', 'UTC', now())");
    tx.exec("INSERT INTO categories (category_id, name) SELECT g, 'cat ' || g FROM generate_series(1, 20) g");
    tx.exec("INSERT INTO products (product_id, name, category_id) SELECT g, 'product ' || g, 1 + g % 20 "
            "FROM generate_series(1, 400) g");
    tx.exec("INSERT INTO zones SELECT g, 1, 'zone' || g, 'aisle' FROM generate_series(1, 10) g");
    tx.exec("INSERT INTO zone_categories SELECT z, c FROM generate_series(1, 10) z, generate_series(1, 20) c "
            "WHERE c % 10 = z % 10");
    tx.exec("INSERT INTO campaigns (campaign_id, name, type, target_kind, valid_from, valid_to, amount_off_minor) "
            "VALUES (1, 'bench', 'amount_off', 'product', now() - interval '1 day', now() + interval '30 days', 100)");
    tx.exec_params("INSERT INTO members (member_id) SELECT g FROM generate_series(1, $1::bigint) g", members);
    tx.exec_params("INSERT INTO consents (member_id, purpose, granted) SELECT g, p, true "
                   "FROM generate_series(1, $1::bigint) g, (VALUES ('proximity'), ('push'), ('marketing')) v(p)", members);
    tx.exec_params("INSERT INTO coupons (member_id, campaign_id, code, product_id, value_minor, reason, valid_from, valid_to) "
                   "SELECT g, 1, 'BENCH' || lpad(g::text, 9, '0') || i, 1 + (g * 7 + i * 13) % 400, 50 + (g % 5) * 25, "
                   "'An offer for you', now() - interval '1 day', now() + interval '30 days' "
                   "FROM generate_series(1, $1::bigint) g, generate_series(1, 2) i", members);
    tx.exec_params("INSERT INTO devices (member_id, kind, push_provider, push_token) "
                   "SELECT g, 'android', 'fcm', 'fcm-token-' || g FROM generate_series($1::bigint + 1, $2::bigint) g",
                   eidMembers, members);
    tx.commit();
  }
  {
    // Sealed keys are bound to (member, device): ids are fixed here, so COPY can carry them.
    pqxx::work tx(c);
    pqxx::stream_to s(tx, "devices", std::vector<std::string>{"member_id", "device_id", "kind", "push_provider",
                                                               "push_token", "eid_key_enc", "eid_k", "eid_time_offset_s"});
    const std::int64_t base = 10'000'000;
    for (std::int64_t m = 1; m <= eidMembers; ++m) {
      const auto k = keyOf(m);
      const std::string sealed = *sealAesGcm(kMaster, std::string(k.begin(), k.end()),
                                             "device:" + std::to_string(m) + ":" + std::to_string(base + m));
      s << std::make_tuple(m, base + m, std::string("android"), std::string("fcm"), "fcm-token-" + std::to_string(m),
                           "\\x" + toHex(sealed), 10, 0);
    }
    s.complete();
    const std::string secret = *sealAesGcm(kMaster, "bench-secret", "gateway:gw-1");
    tx.exec_params("INSERT INTO gateways VALUES ('gw-1', 1, 'both', 'key-1', $1, NULL, NULL)", pqxx::binarystring(secret));
    tx.commit();
  }
  pqxx::nontransaction nt(c);
  nt.exec("VACUUM ANALYZE");
  // Steady state, not the aftermath of the bulk load: populating writes ~2 GB of WAL and data, and
  // the checkpoint plus the kernel's write-back of it would otherwise run during the measurement
  // (a backend evicting a dirty buffer then waits on write-back throttling). A store's database at
  // 1M members is not one that was bulk-written a minute ago.
  nt.exec("CHECKPOINT");
  ::sync();
  std::cerr << "populated " << members << " members (" << eidMembers << " EID phones) in "
            << std::chrono::duration<double>(Steady::now() - t0).count() << " s\n";
}

// In-process fake FCM: records when each push (by its dedupe key "event:<id>") is handed over.
class RecordingProvider final : public PushProvider {
 public:
  SendResult send(const PushMessage& m) override {
    const auto now = Steady::now();
    std::lock_guard lock(mu_);
    handed_.emplace(m.dedupeKey, now);
    return SendResult::sent();
  }
  std::unordered_map<std::string, Steady::time_point> handed() {
    std::lock_guard lock(mu_);
    return handed_;
  }
  std::size_t count() {
    std::lock_guard lock(mu_);
    return handed_.size();
  }

 private:
  std::mutex mu_;
  std::unordered_map<std::string, Steady::time_point> handed_;
};

// The machine's 1-minute load average: other work shares the cores, so every result carries it.
double loadAverage() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

// The q-quantile of a Prometheus-style histogram, interpolated linearly inside its bucket, in ms.
double histogramQuantileMs(const Histogram::Snapshot& h, double q) {
  if (h.count == 0) return 0;
  const double rank = q * static_cast<double>(h.count);
  double lower = 0;
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < h.bounds.size(); ++i) {
    if (static_cast<double>(h.cumulative[i]) >= rank) {
      const double inBucket = static_cast<double>(h.cumulative[i] - below);
      const double f = inBucket > 0 ? (rank - static_cast<double>(below)) / inBucket : 1;
      return 1000 * (lower + f * (h.bounds[i] - lower));
    }
    lower = h.bounds[i];
    below = h.cumulative[i];
  }
  return 1000 * lower;  // in the +Inf bucket: at least the last bound
}

const std::string kRoute = "route=\"/v1/proximity/events\"";

}  // namespace

int main(int argc, char** argv) {
  const std::int64_t members = argc > 1 ? std::stoll(argv[1]) : 1'000'000;
  const int seconds = argc > 2 ? std::stoi(argv[2]) : 45;
  const int rate = argc > 3 ? std::stoi(argv[3]) : 1000;
  const std::int64_t eidMembers = std::min<std::int64_t>(members, 200'000);
  const char* baseUrl = std::getenv("AISLE_DB");
  if (!baseUrl || !*baseUrl) {
    std::cerr << "bench_realtime: set AISLE_DB to a PostgreSQL conninfo (a scratch database is created there)\n";
    return 2;
  }
  const std::string dbName = "bench_realtime_" + std::to_string(getpid());
  {
    pqxx::connection admin(baseUrl);
    pqxx::nontransaction nt(admin);
    nt.exec("CREATE DATABASE " + admin.quote_name(dbName));
  }
  const std::string url = withDatabase(baseUrl, dbName);
  struct Dropper {
    std::string base, name;
    ~Dropper() {
      try {
        pqxx::connection admin(base);
        pqxx::nontransaction nt(admin);
        nt.exec("DROP DATABASE IF EXISTS " + admin.quote_name(name) + " WITH (FORCE)");
      } catch (...) {  // leaving a scratch database behind is not worth a crash at exit
      }
    }
  } dropper{baseUrl, dbName};
  {
    pqxx::connection c(url);
    if (auto m = migrate(c, embeddedMigrations(), Logger("bench", nullptr)); !m) {
      std::cerr << m.message() << "\n";
      return 1;
    }
    pqxx::nontransaction nt(c);
    nt.exec("SELECT ensure_proximity_partitions((now() AT TIME ZONE 'UTC')::date - 1, 3)");
  }
  populate(url, members, eidMembers);

  SystemClock clock;
  auto metrics = std::make_shared<MetricsRegistry>();
  Logger log = stderrLogger("bench");
  PgPool pool(url, 8, log);
  auto fcm = std::make_shared<RecordingProvider>();
  DispatcherOptions dopt;
  Dispatcher dispatcher(pool, {{"fcm", fcm}}, clock, log, metrics, dopt);
  RealtimeOptions ro;
  ro.masterKey = kMaster;
  ro.policy.quietStartMinute = ro.policy.quietEndMinute = 0;  // the bench runs at any hour
  // When each push was committed to the outbox (the end of its event's ingest): splits the latency
  // into the HTTP/ingest part and the dispatcher part.
  std::mutex queuedMu;
  std::unordered_map<std::string, Steady::time_point> queuedAt;
  RealtimeService realtime(pool, clock, ro, log, metrics, [&](const std::string& key) {
    {
      const auto now = Steady::now();
      std::lock_guard lock(queuedMu);
      queuedAt.emplace(key, now);
    }
    dispatcher.wake();
  });
  const auto r0 = Steady::now();
  auto loaded = realtime.rebuildEidResolver();
  std::cerr << "resolver: " << *loaded << " devices in " << std::chrono::duration<double>(Steady::now() - r0).count() << " s\n";
  SseHub sse;
  AppTokens tokens("bench-app-token-secret-0123", clock);
  RateLimiter limiter(clock, 1e6, 1e6);
  auto verifier = std::make_shared<RequestVerifier>([&](const std::string& k) { return realtime.gatewaySecret(k); }, clock);
  http::Router router;
  addRealtimeRoutes(router, ApiDeps{realtime, sse, tokens, limiter, verifier, clock});
  http::Server server(std::move(router), http::ServerOptions{}, metrics, log);
  dispatcher.start();
  server.start();
  const std::string target = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/proximity/events";

  // Load: batches of `perBatch` events every 10 ms (a store's hub flushing), split over several
  // sender threads so one slow answer does not hold back the schedule (an open-loop load).
  const int perBatch = std::max(1, rate / 100);
  const int batches = seconds * 100;
  constexpr int kLanes = 6;
  std::mutex sentMu;
  std::unordered_map<std::string, Steady::time_point> sentAt;
  std::vector<double> answered;  // per batch: sent -> HTTP answer (ingest, decisions, outbox), ms
  std::atomic<long> accepted{0}, failed{0};
  const auto start = Steady::now();
  const double loadAtStart = loadAverage();
  auto sender = [&](int lane) {
    std::mt19937_64 rng(static_cast<std::uint64_t>(lane) + 1);
    EidComputer eid;
    RequestSigner signer("key-1", "bench-secret", clock);
    for (int b = lane; b < batches; b += kLanes) {
      std::this_thread::sleep_until(start + std::chrono::milliseconds(10 * b));
      std::string body = "{\"gateway_id\":\"gw-1\",\"store_id\":1,\"events\":[";
      std::vector<std::string> ids;
      const std::int64_t nowMs = clock.nowUnixMs();
      for (int i = 0; i < perBatch; ++i) {
        const std::int64_t m = 1 + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(eidMembers));
        const std::string id = "b" + std::to_string(b) + "-" + std::to_string(i);
        const bool dwell = rng() % 2;
        const std::string beacon = eidHex(eidToU64(eid.compute(keyOf(m), 10, static_cast<std::uint32_t>(nowMs / 1000))));
        body += std::string(i ? "," : "") + "{\"event_id\":\"" + id + "\",\"type\":\"" + (dwell ? "dwell" : "enter") +
                "\",\"zone\":\"" + (dwell ? "zone" + std::to_string(1 + rng() % 10) : std::string()) +
                "\",\"beacon\":\"eid:" + beacon + "\",\"t_ms\":" + std::to_string(nowMs) + ",\"confidence\":0.9}";
        ids.push_back("event:" + id);
      }
      body += "]}";
      const auto t = Steady::now();
      {
        std::lock_guard lock(sentMu);
        for (const auto& id : ids) sentAt.emplace(id, t);
      }
      auto r = http::request("POST", target, {{"Authorization", signer.sign("POST", "/v1/proximity/events", body)}}, body,
                             std::chrono::seconds(10));
      const double ms = std::chrono::duration<double, std::milli>(Steady::now() - t).count();
      if (r && r->status == 200) {
        accepted += perBatch;
        std::lock_guard lock(sentMu);
        answered.push_back(ms);
      } else {
        ++failed;
        if (failed < 5) std::cerr << "batch " << b << ": " << (r ? r->body : r.message()) << "\n";
      }
    }
  };
  std::vector<std::thread> lanes;
  for (int l = 0; l < kLanes; ++l) lanes.emplace_back(sender, l);
  for (auto& t : lanes) t.join();
  const double elapsed = std::chrono::duration<double>(Steady::now() - start).count();
  const double loadAtEnd = loadAverage();
  // Pushes queued by the last batches: give the dispatcher a moment, then stop waiting.
  const long pushes = static_cast<long>(metrics->counter("aisle_engine_trigger_decisions_total", "trigger decisions",
                                                         "action=\"push\"").value());
  for (int i = 0; i < 500 && static_cast<long>(fcm->count()) < pushes; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  server.stop();
  dispatcher.stop();

  std::vector<double> lat, toQueued, toHanded;
  for (const auto& [key, t] : fcm->handed()) {
    auto it = sentAt.find(key);
    if (it == sentAt.end()) continue;
    lat.push_back(std::chrono::duration<double, std::milli>(t - it->second).count());
    if (auto q = queuedAt.find(key); q != queuedAt.end()) {
      toQueued.push_back(std::chrono::duration<double, std::milli>(q->second - it->second).count());
      toHanded.push_back(std::chrono::duration<double, std::milli>(t - q->second).count());
    }
  }
  std::cerr << "events " << accepted << " in " << elapsed << " s, failed batches " << failed << ", pushes queued " << pushes
            << ", handed over " << lat.size() << "\n";
  // Stage figures from the engine's own histograms (bucket-interpolated, so approximate).
  auto stage = [&](const std::string& name, const std::string& labels, double q) {
    return histogramQuantileMs(metrics->histogram(name, "", labels).snapshot(), q);
  };
  const std::string ev = "aisle_engine_event_stage_seconds", ds = "aisle_engine_dispatch_stage_seconds";
  aisle::bench::writeResult("realtime", {{"members_count", static_cast<double>(members)},
                                         {"eid_devices_count", static_cast<double>(eidMembers)},
                                         {"events_per_s", static_cast<double>(accepted) / elapsed},
                                         {"pushes_count", static_cast<double>(lat.size())},
                                         {"p50_ms", percentile(lat, 0.50)},
                                         {"p99_ms", percentile(lat, 0.99)},
                                         {"max_ms", percentile(lat, 1.0)},
                                         {"http_answer_p50_ms", percentile(answered, 0.50)},
                                         {"http_answer_p99_ms", percentile(answered, 0.99)},
                                         // sent -> the event's push committed to the outbox (HTTP, queueing, ingest)
                                         {"stage_sent_to_queued_p50_ms", percentile(toQueued, 0.50)},
                                         {"stage_sent_to_queued_p99_ms", percentile(toQueued, 0.99)},
                                         // committed -> handed to the provider (wake-up, claim, send)
                                         {"stage_queued_to_handed_p50_ms", percentile(toHanded, 0.50)},
                                         {"stage_queued_to_handed_p99_ms", percentile(toHanded, 0.99)},
                                         {"stage_http_handler_p50_ms", stage("aisle_http_http_request_seconds", kRoute, 0.50)},
                                         {"stage_http_handler_p99_ms", stage("aisle_http_http_request_seconds", kRoute, 0.99)},
                                         {"stage_event_resolve_p99_ms", stage(ev, "stage=\"resolve\"", 0.99)},
                                         {"stage_event_read_p50_ms", stage(ev, "stage=\"read\"", 0.50)},
                                         {"stage_event_read_p99_ms", stage(ev, "stage=\"read\"", 0.99)},
                                         {"stage_event_write_p50_ms", stage(ev, "stage=\"write\"", 0.50)},
                                         {"stage_event_write_p99_ms", stage(ev, "stage=\"write\"", 0.99)},
                                         {"stage_dispatch_claim_p50_ms", stage(ds, "stage=\"claim\"", 0.50)},
                                         {"stage_dispatch_claim_p99_ms", stage(ds, "stage=\"claim\"", 0.99)},
                                         {"stage_dispatch_mark_sent_p50_ms", stage(ds, "stage=\"mark_sent\"", 0.50)},
                                         {"stage_dispatch_mark_sent_p99_ms", stage(ds, "stage=\"mark_sent\"", 0.99)},
                                         {"loadavg_1m_start", loadAtStart},
                                         {"loadavg_1m_end", loadAtEnd}});
  return failed == 0 && !lat.empty() ? 0 : 1;
}
