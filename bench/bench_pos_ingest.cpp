// Sustained HTTP ingest: several terminal clients post POSLog sales (about 10 lines each, built from
// the real NCR sample, see bench_pos_workload.h) to the real pos-adapter HTTP service, HMAC-signed,
// over loopback, against real PostgreSQL (AISLE_DB; a scratch database is created beside it and
// dropped afterwards). Closed loop: each client sends its next sale when the previous one is answered.
// Afterwards the database is counted: every sale and line exactly once, none lost or duplicated;
// then a sample is resent and must come back as duplicates with the counts unchanged.
//
// Client, service and PostgreSQL share the machine: the JSON reports the CPU each one used. The tills
// are kept to what a till must do per sale (sign it, send it, read the answer, on a raw keep-alive
// socket); their sales' XML is built before the run, 256 per till, and each post sets its own sequence
// number in one (a till does not spend CPU on the service's machine building XML).
//
// With --per-request N > 1 each POST carries N sales in one POSLog document, as a store controller
// forwarding its tills sends them; the JSON then goes to pos_ingest_N_a_post.json.
//
//   bench_pos_ingest [--seconds 20] [--clients 16] [--pool 4] [--threads 32] [--lines 10] [--group 256]
//                    [--group-wait-us 200] [--writers 2] [--per-request 1]
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "aisle/common/hmac.h"
#include "aisle/common/pg.h"
#include "aisle/pos/service.h"
#include "bench_db.h"
#include "bench_pos_workload.h"
#include "bench_result.h"

namespace {

using namespace aisle;
constexpr std::int64_t kMembers = 100'000;
constexpr int kProducts = 2'000;
constexpr std::int64_t kHistory = 50'000;  // earlier sales already in the database
const std::string kSecretHex = "00112233445566778899aabbccddeeff";

double threadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}
double processCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
// Busy CPU seconds of the whole machine (all processes: this one, PostgreSQL, anything else).
double machineCpuSeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> sys >> idle >> iowait >> irq >> softirq >> steal;
  return static_cast<double>(user + nice + sys + irq + softirq + steal) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// CPU seconds of the PostgreSQL backends serving database `db` (the service's connections), by pid:
// the database's own share, apart from whatever else the machine runs.
std::map<int, double> backendCpu(const std::string& url, const std::string& db) {
  std::map<int, double> out;
  pqxx::connection c(url);
  pqxx::nontransaction tx(c);
  const int self = c.backendpid();
  for (const auto& row : tx.exec_params("SELECT pid FROM pg_stat_activity WHERE datname = $1", db)) {
    const int pid = row[0].as<int>();
    if (pid == self) continue;
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string f;
    long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> f; ++i) {
      if (i == 14) utime = std::stoll(f);
      if (i == 15) stime = std::stoll(f);
    }
    out[pid] = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  return out;
}

int argInt(int argc, char** argv, const std::string& name, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name) return std::atoi(argv[i + 1]);
  return def;
}

struct Post {
  int status = 0;
  std::string body;
};

// One till's HTTP/1.1 keep-alive connection: a request is one writev (head + body), the answer is read
// whole (status line, Content-Length, body). Throws on an I/O error.
class TillConnection {
 public:
  explicit TillConnection(std::uint16_t port) : port_(port) { open(); }
  ~TillConnection() { close(); }
  TillConnection(const TillConnection&) = delete;
  TillConnection& operator=(const TillConnection&) = delete;

  Post post(const std::string& authorization, const std::string& body) {
    if (fd_ < 0) open();
    const std::string head = "POST /v1/poslog HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/xml\r\n"
                             "Authorization: " + authorization + "\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\n\r\n";
    iovec io[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(body.data()), body.size()}};
    std::size_t left = head.size() + body.size();
    while (left > 0) {
      const ssize_t n = ::writev(fd_, io, 2);
      if (n <= 0) fail("send");
      left -= static_cast<std::size_t>(n);
      if (left > 0) advance(io, static_cast<std::size_t>(n));  // a short write: send the rest
    }
    std::size_t headEnd;
    while ((headEnd = in_.find("\r\n\r\n")) == std::string::npos) receive();
    Post p;
    p.status = std::atoi(in_.c_str() + in_.find(' ') + 1);
    std::string lowerHead = in_.substr(0, headEnd);
    for (auto& c : lowerHead) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto cl = lowerHead.find("content-length:");
    const std::size_t length = cl == std::string::npos ? 0 : std::strtoull(lowerHead.c_str() + cl + 15, nullptr, 10);
    while (in_.size() < headEnd + 4 + length) receive();
    p.body = in_.substr(headEnd + 4, length);
    const bool closing = lowerHead.find("connection: close") != std::string::npos;
    in_.erase(0, headEnd + 4 + length);
    if (closing) close();
    return p;
  }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    in_.clear();
  }

 private:
  void open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) fail("socket");
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port_);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fail("connect");
  }
  static void advance(iovec* io, std::size_t n) {
    for (int i = 0; i < 2; ++i) {
      const std::size_t step = std::min(n, io[i].iov_len);
      io[i].iov_base = static_cast<char*>(io[i].iov_base) + step;
      io[i].iov_len -= step;
      n -= step;
    }
  }
  void receive() {
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) fail("receive");
    in_.append(buf, static_cast<std::size_t>(n));
  }
  [[noreturn]] void fail(const char* what) {
    const std::string why = std::string(what) + ": " + std::strerror(errno);
    close();
    throw std::runtime_error(why);
  }

  std::uint16_t port_;
  int fd_ = -1;
  std::string in_;
};

// A till's sales: 256 built up front (members and products vary), each post putting its own sequence
// number into one of them. A document holds `perRequest` consecutive sales (1: a till posting each
// sale as it ends; more: a store controller forwarding a batch).
class TillSales {
 public:
  static constexpr std::int64_t kMark = 987654321987;  // stands for the sequence number while building
  TillSales(const bench::SaleGenerator& gen, int client, std::int64_t members)
      : root_(gen.document("")), lane_(std::to_string(100 + client)) {
    root_.resize(root_.size() - std::string_view("</POSLog>").size());
    for (std::int64_t k = 0; k < 256; ++k) {
      const std::int64_t member = (k * 7919 + client * 104'729) % members + 1;
      const std::string sale = gen.sale(lane_, kMark, member, k);
      const std::string mark = ">" + std::to_string(kMark) + "<";
      const auto at = sale.find(mark);
      parts_.push_back({sale.substr(0, at + 1), sale.substr(at + mark.size() - 1)});
    }
  }
  // Sales first .. first + count - 1 in one document.
  std::string body(std::int64_t first, int count = 1) const {
    std::string out = root_;
    out.reserve(root_.size() + static_cast<std::size_t>(count) * (parts_[0].first.size() + parts_[0].second.size() + 20) + 9);
    for (std::int64_t sequence = first; sequence < first + count; ++sequence) {
      const auto& [head, tail] = parts_[static_cast<std::size_t>(sequence % static_cast<std::int64_t>(parts_.size()))];
      out.append(head).append(std::to_string(sequence)).append(tail);
    }
    return out.append("</POSLog>");
  }

 private:
  std::string root_;
  std::string lane_;
  std::vector<std::pair<std::string, std::string>> parts_;
};

std::size_t occurrences(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  const char* base = std::getenv("AISLE_DB");
  if (!base || !*base) {
    std::cerr << "bench_pos_ingest: set AISLE_DB (a scratch database is created next to it)\n";
    return 2;
  }
  const int seconds = argInt(argc, argv, "--seconds", 20);
  const int nClients = argInt(argc, argv, "--clients", 16);
  const int pool = argInt(argc, argv, "--pool", 4);
  const int threads = argInt(argc, argv, "--threads", 32);
  const int lines = argInt(argc, argv, "--lines", 10);
  const int perRequest = std::max(1, argInt(argc, argv, "--per-request", 1));  // sales in one document
  const int groupMax = argInt(argc, argv, "--group", 256);  // group commit: sales per transaction (1: off)
  const int groupWaitUs = argInt(argc, argv, "--group-wait-us", 200);
  const int writers = argInt(argc, argv, "--writers", 2);  // group-commit writer threads

  const bench::ScratchDatabase db(base, "bench_pos_ingest");
  const std::string& url = db.url();
  const std::string& dbName = db.name();
  int rc = 0;
  try {
    {
      pqxx::connection c(url);
      db.migrate(c);
      bench::seedCatalogAndMembers(c, kMembers, kProducts);
      bench::seedHistory(c, kHistory, kMembers, kProducts);
    }
    const bench::SaleGenerator gen(bench::datasetsDir(), lines, kProducts);
    std::cerr << "bench_pos_ingest: sales built from "
              << (gen.fromDataset() ? "the NCR sample in the data set" : "the built-in sale (data set absent)") << ", "
              << lines << " lines each, " << perRequest << " a request; " << nClients << " clients, pool " << pool << ", " << threads
              << " HTTP threads, " << seconds << " s\n";

    pos::PosConfig cfg;
    cfg.listenPort = 0;
    cfg.dbPoolSize = pool;
    cfg.httpThreads = threads;
    cfg.groupCommitMaxSales = groupMax;
    cfg.groupCommitWaitUs = groupWaitUs;
    cfg.groupCommitWriters = writers;
    for (int c = 0; c < nClients; ++c) {
      const std::string key = "lane-9-" + std::to_string(c + 1);
      cfg.terminals[key] = pos::TerminalKey{key, *fromHex(kSecretHex), "9"};
    }
    SystemClock clock;
    auto svc = pos::PosService::create(cfg, url, clock, Logger("pos", nullptr), std::make_shared<MetricsRegistry>());
    if (!svc) throw std::runtime_error(svc.message());
    (*svc)->start();
    const std::uint16_t port = (*svc)->port();

    std::atomic<bool> stop{false};
    std::atomic<std::int64_t> errors{0};
    std::vector<std::vector<double>> lat(static_cast<std::size_t>(nClients));
    std::vector<std::int64_t> sent(static_cast<std::size_t>(nClients), 0);
    std::vector<double> clientCpu(static_cast<std::size_t>(nClients), 0);
    std::string firstError;
    std::mutex errMu;
    std::vector<TillSales> tills;
    for (int c = 0; c < nClients; ++c) tills.emplace_back(gen, c, kMembers);

    const auto backends0 = backendCpu(url, dbName);
    const double cpu0 = processCpuSeconds(), machine0 = machineCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> clients;
    for (int c = 0; c < nClients; ++c) {
      clients.emplace_back([&, c] {
        const double cpuStart = threadCpuSeconds();
        const auto ci = static_cast<std::size_t>(c);
        RequestSigner signer("lane-9-" + std::to_string(c + 1), *fromHex(kSecretHex), clock);
        TillConnection s(port);
        lat[ci].reserve(200'000);
        for (std::int64_t seq = 1; !stop.load(std::memory_order_relaxed); seq += perRequest) {
          const std::string body = tills[ci].body(seq, perRequest);
          const auto a = std::chrono::steady_clock::now();
          try {
            const Post p = s.post(signer.sign("POST", "/v1/poslog", body), body);
            if (p.status != 200 || occurrences(p.body, "\"status\":\"stored\"") != static_cast<std::size_t>(perRequest)) {
              ++errors;
              std::lock_guard lock(errMu);
              if (firstError.empty()) firstError = std::to_string(p.status) + " " + p.body.substr(0, 300);
            }
          } catch (const std::exception& e) {
            ++errors;
            s.close();
            std::lock_guard lock(errMu);
            if (firstError.empty()) firstError = e.what();
          }
          lat[ci].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
          sent[ci] = seq + perRequest - 1;
        }
        clientCpu[ci] = threadCpuSeconds() - cpuStart;
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : clients) t.join();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double processCpu = processCpuSeconds() - cpu0, machineCpu = machineCpuSeconds() - machine0;
    double dbCpu = 0;  // backends that connected during the run (the group writer's) started from 0
    for (const auto& [pid, cpu] : backendCpu(url, dbName)) dbCpu += cpu - (backends0.count(pid) ? backends0.at(pid) : 0.0);
    const auto group = (*svc)->groupCommitStats();
    double load = 0;
    std::ifstream("/proc/loadavg") >> load;

    // Resend a sample: each must be a duplicate (200, nothing written).
    std::int64_t resent = 0, resentDuplicates = 0;
    {
      RequestSigner signer("lane-9-1", *fromHex(kSecretHex), clock);
      TillConnection s(port);
      for (std::int64_t seq = 1; seq <= std::min<std::int64_t>(sent[0], 500); ++seq) {
        const std::string body = tills[0].body(seq);
        const Post p = s.post(signer.sign("POST", "/v1/poslog", body), body);
        ++resent;
        if (p.status == 200 && p.body.find("\"duplicates\":1") != std::string::npos) ++resentDuplicates;
      }
    }
    (*svc)->stop();

    std::int64_t posted = 0;
    for (auto n : sent) posted += n;
    pqxx::connection c(url);
    pqxx::read_transaction tx(c);
    const auto counts = tx.exec1(
        "SELECT (SELECT count(*) FROM transactions WHERE source <> 'history'), "
        "(SELECT count(DISTINCT (org_id, store_id, workstation_id, business_day, sequence_no)) FROM transactions "
        "  WHERE source <> 'history'), "
        "(SELECT count(*) FROM transactions WHERE member_id = 0), "
        "(SELECT count(*) FROM transaction_lines l JOIN transactions t USING (member_id, transaction_id) "
        "  WHERE t.source <> 'history'), "
        "(SELECT count(*) FROM transaction_lines WHERE product_id IS NULL), "
        "(SELECT count(*) FROM quarantined_transactions)");
    const auto txRows = counts[0].as<std::int64_t>(), keys = counts[1].as<std::int64_t>(),
               anonymous = counts[2].as<std::int64_t>(), lineRows = counts[3].as<std::int64_t>(),
               unmatched = counts[4].as<std::int64_t>(), quarantined = counts[5].as<std::int64_t>();
    const bool exact = txRows == posted && keys == posted && lineRows == posted * lines && anonymous == 0 &&
                       unmatched == 0 && quarantined == 0 && errors == 0 && resentDuplicates == resent;

    std::vector<double> all;
    for (const auto& v : lat) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end());
    auto pct = [&](double p) { return all[std::min(all.size() - 1, static_cast<std::size_t>(p * static_cast<double>(all.size())))]; };
    double clientCpuTotal = 0;
    for (double v : clientCpu) clientCpuTotal += v;
    std::cerr << "bench_pos_ingest: posted " << posted << " sales in " << elapsed << " s, " << errors
              << " errors" << (firstError.empty() ? "" : " (first: " + firstError + ")") << "; database: " << txRows
              << " transactions (" << keys << " distinct keys, " << anonymous << " anonymous), " << lineRows
              << " lines (" << unmatched << " without product), " << quarantined << " quarantined; resent "
              << resent << " -> " << resentDuplicates << " duplicates; " << (exact ? "EXACT" : "MISMATCH") << "\n"
              << "  cpu: clients " << clientCpuTotal / elapsed << " cores, service " << (processCpu - clientCpuTotal) / elapsed
              << " cores, PostgreSQL backends of this database " << dbCpu / elapsed
              << " cores, rest of machine (other PostgreSQL work + others) " << (machineCpu - processCpu - dbCpu) / elapsed
              << " cores\n  cpu per sale: clients " << 1000 * clientCpuTotal / static_cast<double>(posted) << " ms, service "
              << 1000 * (processCpu - clientCpuTotal) / static_cast<double>(posted) << " ms, backends "
              << 1000 * dbCpu / static_cast<double>(posted) << " ms; group commit: " << group.sales << " sales in "
              << group.batches << " database transactions\n";
    bench::writeResult(perRequest == 1 ? "pos_ingest" : "pos_ingest_" + std::to_string(perRequest) + "_a_post",
                       {{"transactions_per_s", static_cast<double>(posted) / elapsed},
                        {"lines_per_s", static_cast<double>(posted * lines) / elapsed},
                        {"p50_ms", pct(0.50)},
                        {"p99_ms", pct(0.99)},
                        {"p999_ms", pct(0.999)},
                        {"transactions", static_cast<double>(posted)},
                        {"rows_transactions", static_cast<double>(txRows)},
                        {"rows_lines", static_cast<double>(lineRows)},
                        {"rows_exact", exact ? 1.0 : 0.0},
                        {"errors", static_cast<double>(errors)},
                        {"clients", nClients},
                        {"db_pool", pool},
                        {"group_commit_max_sales", groupMax},
                        {"group_commit_writers", writers},
                        {"lines_per_transaction", lines},
                        {"sales_per_request", perRequest},
                        {"client_cpu_core_fraction", clientCpuTotal / elapsed},
                        {"service_cpu_core_fraction", (processCpu - clientCpuTotal) / elapsed},
                        {"db_backend_cpu_core_fraction", dbCpu / elapsed},
                        {"rest_cpu_core_fraction", (machineCpu - processCpu - dbCpu) / elapsed},
                        {"group_commit_sales_per_batch",
                         group.batches ? static_cast<double>(group.sales) / static_cast<double>(group.batches) : 0.0},
                        {"load_avg_1m", load}});
    if (!exact) rc = 1;
  } catch (const std::exception& e) {
    std::cerr << "bench_pos_ingest: " << e.what() << "\n";
    rc = 1;
  }
  return rc;
}
