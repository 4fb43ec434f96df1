// Durable spool throughput: appends under each fsync policy, the cost of a durable ack, reopening
// (every record's CRC is checked) and replay (peek + ack in batches of 1000, as an uplink would;
// on the fsync=never spool, so acks are not synced and this is the read path's speed).
// 256-byte payloads, about a zone event or a small POS transaction.
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "aisle/common/spool.h"
#include "bench_result.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kPayload = 256;

double seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "bench_spool: %s\n", what.c_str());
  std::exit(1);  // NOLINT(concurrency-mt-unsafe): the bench is single-threaded
}

std::unique_ptr<aisle::Spool> openSpool(const std::string& dir, const char* policy) {
  aisle::SpoolOptions o;
  o.dir = dir;
  o.segmentBytes = 8u << 20;
  o.maxBytes = 1u << 30;
  o.fsync = *aisle::parseFsyncPolicy(policy);
  auto s = aisle::Spool::open(o);
  if (!s) die(s.message());
  return std::move(*s);
}

// Appends `n` records and returns appends per second.
double appendRate(const std::string& dir, const char* policy, int n) {
  auto spool = openSpool(dir, policy);
  std::string payload(kPayload, 'x');
  const auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    payload[i % kPayload] = static_cast<char>('a' + i % 26);
    if (auto r = spool->append(payload); !r) die(r.message());
  }
  if (auto r = spool->sync(); !r) die(r.message());
  return n / seconds(t0);
}

}  // namespace

int main() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "aisle-bench-spool-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) die("mkdtemp failed");
  const std::string root = tmpl;
  std::map<std::string, double> figures;

  figures["append_per_s_fsync_always"] = appendRate(root + "/always", "always", 500);
  {
    // What a durable acknowledgement costs (state file: write temp, fsync, rename, fsync dir).
    auto spool = openSpool(root + "/always", "always");
    const auto t = Clock::now();
    int acks = 0;
    for (;;) {
      auto batch = spool->peek(50);
      if (!batch) die(batch.message());
      if (batch->empty()) break;
      if (auto r = spool->ack(batch->back().seq); !r) die(r.message());
      ++acks;
    }
    figures["ack_ms_fsync_always"] = seconds(t) * 1000 / acks;
  }
  figures["append_per_s_fsync_batch"] =
      appendRate(root + "/batch", "batch", 50'000);  // 64 rec / 1 MiB
  constexpr int kReplay = 300'000;
  figures["append_per_s_fsync_never"] = appendRate(root + "/never", "never", kReplay);

  // Reopen: the directory is scanned and every frame's checksum verified before the first peek.
  const auto t0 = Clock::now();
  auto spool = openSpool(root + "/never", "never");
  const double openS = seconds(t0);
  const double mib = static_cast<double>(spool->stats().depthBytes) / (1 << 20);
  figures["reopen_scan_mib_per_s"] = mib / openS;
  figures["reopen_ms_for_300k_records"] = openS * 1000;

  const auto t1 = Clock::now();
  std::size_t replayed = 0;
  for (;;) {
    auto batch = spool->peek(1000);
    if (!batch) die(batch.message());
    if (batch->empty()) break;
    replayed += batch->size();
    if (auto r = spool->ack(batch->back().seq); !r) die(r.message());
  }
  figures["replay_per_s"] = replayed / seconds(t1);
  if (replayed != kReplay)
    die("replayed " + std::to_string(replayed) + " of " + std::to_string(kReplay));

  const std::string block(1 << 20, 'z');
  const auto t2 = Clock::now();
  std::uint32_t crc = 0;
  for (int i = 0; i < 256; ++i) crc = aisle::crc32c(block, crc);
  figures["crc32c_mib_per_s"] = 256 / seconds(t2);
  if (crc == 0) std::puts("");  // keeps the loop from being optimised away

  figures["payload_bytes"] = kPayload;
  spool.reset();
  std::filesystem::remove_all(root);
  aisle::bench::writeResult("spool", figures);
}
