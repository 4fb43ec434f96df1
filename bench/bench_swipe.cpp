// Coupons at the swipe: GET /v1/cards/{card}/coupons latency at a fixed 500 requests/s over loopback,
// signed like a terminal, with 1M members (a card and 3 coupons each) in the database.
// AISLE_DB: a scratch database (created tables are kept between runs; seeding is skipped when the
// members are already there). Open-loop load: each request has a scheduled send time and its
// latency counts from that time, so a stall is not hidden by the client waiting for it.
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <thread>
#include <vector>

#include "aisle/common/hmac.h"
#include "aisle/common/migrate.h"
#include "aisle/pos/service.h"
#include "bench_result.h"

namespace {

constexpr std::int64_t kMembers = 1'000'000;
constexpr int kRate = 500;           // requests per second, all client threads together
constexpr int kClients = 4;
constexpr int kSeconds = 20;
const std::string kSecretHex = "00112233445566778899aabbccddeeff";

void seed(const std::string& url) {
  pqxx::connection c(url);
  auto m = aisle::migrate(c, aisle::embeddedMigrations(), aisle::Logger("bench", nullptr));
  if (!m) throw std::runtime_error(m.message());
  pqxx::work probe(c);
  const auto have = probe.exec1("SELECT count(*) FROM members")[0].as<std::int64_t>();
  probe.commit();
  if (have > kMembers) {
    std::cerr << "bench_swipe: " << have << " members already seeded\n";
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  pqxx::work tx(c);
  // generate_series inside the server: no client round trips, ~4 M rows in well under a minute.
  tx.exec("INSERT INTO stores (store_id, org_id, external_ref, name, time_zone) VALUES (1, 'default', '9', 'Store 9', "
          "'America/New_York') ON CONFLICT DO NOTHING");
  tx.exec("INSERT INTO campaigns (campaign_id, external_ref, name, type, target_kind, amount_off_minor, valid_from, valid_to) "
          "VALUES (100, 'bench', 'Bench', 'amount_off', 'basket', 50, now() - interval '1 day', now() + interval '365 days') "
          "ON CONFLICT DO NOTHING");
  tx.exec("INSERT INTO members (member_id, external_ref) SELECT g, 'm' || g FROM generate_series(1, " +
          std::to_string(kMembers) + ") g");
  tx.exec("INSERT INTO cards (member_id, number) SELECT g, (10000000000 + g)::text FROM generate_series(1, " +
          std::to_string(kMembers) + ") g");
  tx.exec("INSERT INTO coupons (member_id, campaign_id, code, reason, valid_from, valid_to, value_minor, store_id) "
          "SELECT g, 100, 'B' || lpad(g::text, 12, '0') || k, 'you buy this often', now() - interval '1 day', "
          "now() + interval '30 days', 50 * k, CASE WHEN k = 3 THEN 1 END "
          "FROM generate_series(1, " + std::to_string(kMembers) + ") g, generate_series(1, 3) k");
  tx.commit();
  pqxx::nontransaction nt(c);
  // As bench_realtime does: a store's database at 1M members was not bulk-written a minute ago. Without
  // this the measurement shares the disk and the CPU with the bulk load's aftermath: the first read of
  // each fresh row sets its hint bits (dirtying the page), autovacuum's first pass over 4M new rows,
  // and the checkpoint writing them out.
  nt.exec("VACUUM ANALYZE");
  nt.exec("CHECKPOINT");
  ::sync();
  std::cerr << "bench_swipe: seeded " << kMembers << " members in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
}

}  // namespace

int main() {
  using namespace aisle;
  const char* url = std::getenv("AISLE_DB");
  if (!url || !*url) {
    std::cerr << "bench_swipe: set AISLE_DB to a scratch database\n";
    return 2;
  }
  seed(url);

  pos::PosConfig cfg;
  cfg.listenPort = 0;
  cfg.dbPoolSize = 4;
  cfg.httpThreads = 16;
  cfg.terminals["lane-9-1"] = pos::TerminalKey{"lane-9-1", *fromHex(kSecretHex), "9"};
  SystemClock clock;
  auto svc = pos::PosService::create(cfg, url, clock, Logger("pos", nullptr), std::make_shared<MetricsRegistry>());
  if (!svc) {
    std::cerr << "bench_swipe: " << svc.message() << "\n";
    return 1;
  }
  (*svc)->start();
  const std::uint16_t port = (*svc)->port();

  std::atomic<std::int64_t> errors{0}, withCoupons{0};
  std::vector<std::vector<double>> lat(kClients);
  const auto begin = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
  const auto interval = std::chrono::nanoseconds(1'000'000'000LL * kClients / kRate);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      RequestSigner signer("lane-9-1", *fromHex(kSecretHex), clock);
      Poco::Net::HTTPClientSession s("127.0.0.1", port);
      s.setKeepAlive(true);
      std::mt19937_64 rng(static_cast<std::uint64_t>(c) + 1);
      std::uniform_int_distribution<std::int64_t> member(1, kMembers);
      const int n = kRate * kSeconds / kClients;
      // Each client's schedule is offset so the four together send evenly.
      const auto first = begin + interval * c / kClients;
      lat[static_cast<std::size_t>(c)].reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        const auto due = first + interval * i;
        std::this_thread::sleep_until(due);
        const std::string target = "/v1/cards/" + std::to_string(10000000000 + member(rng)) + "/coupons?store=9";
        try {
          Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, target, Poco::Net::HTTPMessage::HTTP_1_1);
          req.set("Authorization", signer.sign("GET", target, ""));
          s.sendRequest(req);
          Poco::Net::HTTPResponse resp;
          std::istream& in = s.receiveResponse(resp);
          const std::string body(std::istreambuf_iterator<char>(in), {});
          if (resp.getStatus() != 200) ++errors;
          if (body.find("\"code\"") != std::string::npos) ++withCoupons;
        } catch (const std::exception&) {
          ++errors;
          s.reset();
        }
        lat[static_cast<std::size_t>(c)].push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - due).count());
      }
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  (*svc)->stop();

  // The run queue of the machine while measuring: on a shared 2-core box, tail latency is mostly
  // waiting for a core, so the figure is reported next to it.
  double load = 0;
  std::ifstream("/proc/loadavg") >> load;
  std::vector<double> all;
  for (const auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]; };
  std::cerr << "bench_swipe: " << all.size() << " requests, " << errors << " errors, " << withCoupons
            << " answers with coupons, max " << all.back() << " ms\n";
  bench::writeResult("swipe", {{"p50_ms", pct(0.50)},
                               {"p99_ms", pct(0.99)},
                               {"p999_ms", pct(0.999)},
                               {"requests_per_s", static_cast<double>(all.size()) / elapsed},
                               {"members", static_cast<double>(kMembers)},
                               {"errors", static_cast<double>(errors)},
                               {"load_avg_1m", load}});
  return errors == 0 ? 0 : 1;
}
