// The spool's crash test: a child process appends and reports every append that returned through a
// pipe; the parent SIGKILLs it at random moments, consumes and acknowledges some records between
// rounds, sometimes tears or garbles the newest record on disk, and after every round checks that
// each reported, unacknowledged record is there exactly once, in order, with its exact payload, and
// that nothing else is delivered except possibly the one append the kill cut off from its report.
//
// Reproduce a failure with AISLE_SPOOL_CRASH_SEED=<seed printed in the failure>.
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "temp_dir.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "aisle/common/spool.h"

namespace aisle {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

// Sizes from 5 to ~3 KB, so records end segments at every possible point, and
// contents that depend on the id, so a record from the wrong place (or a damaged one) cannot pass.
std::string payloadFor(std::uint64_t id) {
  const std::size_t len = (id * 2654435761u) % 3001;
  std::string p = "id=" + std::to_string(id) + ";";
  std::uint64_t x = id * 0x9E3779B97F4A7C15ull;
  while (p.size() < len) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p.push_back(static_cast<char>(x & 0xFF));
  }
  return p;
}

struct Report {
  std::uint64_t seq;
  std::uint64_t id;
};

SpoolOptions crashOptions(const std::string& dir, FsyncMode mode, std::uint64_t segmentBytes) {
  SpoolOptions o;
  o.dir = dir;
  o.segmentBytes = segmentBytes;
  o.maxRecordBytes = 4096;
  o.maxBytes = 64u << 20;  // never reached: every record must survive
  o.fsync.mode = mode;
  o.fsync.everyRecords = 8;
  return o;
}

[[noreturn]] void runWriter(const SpoolOptions& o, std::uint64_t firstId, int out) {
  auto spool = Spool::open(o);
  if (!spool) {
    std::fprintf(stderr, "writer: %s\n", spool.message().c_str());
    ::_exit(2);
  }
  for (std::uint64_t id = firstId;; ++id) {
    auto seq = (*spool)->append(payloadFor(id));
    if (!seq) {
      std::fprintf(stderr, "writer: %s\n", seq.message().c_str());
      ::_exit(3);
    }
    const Report r{*seq, id};
    // 16 bytes is below PIPE_BUF: the report arrives whole or not at all.
    if (::write(out, &r, sizeof r) != static_cast<ssize_t>(sizeof r)) ::_exit(4);
  }
}

std::uint64_t seedFromEnv() {
  // Read before any thread exists (gtest starts none).
  if (const char* s = std::getenv("AISLE_SPOOL_CRASH_SEED"))  // NOLINT(concurrency-mt-unsafe)
    return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

std::string newestNonEmptySegment(const std::string& dir) {
  std::string best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("seg-", 0) == 0 && e.file_size() > SpoolFormat::kSegmentHeaderBytes &&
        name > fs::path(best).filename().string())
      best = e.path().string();
  }
  return best;
}

std::string newestSegment(const std::string& dir) {
  std::string best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("seg-", 0) == 0 && name > fs::path(best).filename().string())
      best = e.path().string();
  }
  return best;
}

struct Totals {
  int rounds = 0;
  int damaged = 0;
  int extras = 0;  // appends that returned but whose report the kill swallowed
  std::uint64_t reported = 0;
  std::uint64_t acked = 0;
  std::uint64_t naturalTears = 0;  // truncations the kills caused on their own
};

// One run of `rounds` kill/reopen cycles. `maxReports` bounds how many appends the parent waits
// for before it kills; 0 kills the writer while it may still be opening the spool.
Totals crashRounds(FsyncMode mode, std::uint64_t segmentBytes, int rounds, int maxReports,
                   std::uint64_t seed) {
  TempDir dir;
  const SpoolOptions o = crashOptions(dir.path(), mode, segmentBytes);
  std::mt19937_64 rng(seed);
  auto pick = [&](std::uint64_t lo, std::uint64_t hi) {
    return std::uniform_int_distribution<std::uint64_t>(lo, hi)(rng);
  };

  Totals t;
  std::deque<Report> pending;  // durable per the writer and not yet acknowledged by the consumer
  std::uint64_t nextId = 1;
  std::uint64_t lastSeq = 0;
  std::uint64_t corruptSoFar = 0;

  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      ADD_FAILURE() << "pipe: " << std::generic_category().message(errno);
      return t;
    }
    const std::uint64_t firstId = nextId;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::close(fds[0]);
      runWriter(o, firstId, fds[1]);
    }
    ::close(fds[1]);
    if (pid < 0) {
      ADD_FAILURE() << "fork: " << std::generic_category().message(errno);
      return t;
    }

    // Kill once `want` appends have returned, then (half the time) after up to 4 ms more, so the
    // kill lands anywhere in append: framing, write, fdatasync, segment roll.
    const std::uint64_t want = pick(0, static_cast<std::uint64_t>(maxReports));
    const auto jitter = std::chrono::microseconds(pick(0, 1) ? pick(0, 4000) : 0);
    std::vector<Report> reported;
    std::string buf;
    bool killed = false;
    auto killNow = [&] {
      const auto until = std::chrono::steady_clock::now() + jitter;
      while (std::chrono::steady_clock::now() < until) {
      }
      ::kill(pid, SIGKILL);
      killed = true;
    };
    if (want == 0) killNow();
    char chunk[4096];
    for (;;) {
      const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the writer is gone
      buf.append(chunk, static_cast<std::size_t>(n));
      while (buf.size() >= sizeof(Report)) {
        Report r;
        std::memcpy(&r, buf.data(), sizeof r);
        buf.erase(0, sizeof r);
        reported.push_back(r);
      }
      if (!killed && reported.size() >= want) killNow();
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      ADD_FAILURE() << "the writer ended on its own (status " << status << "): see its stderr";
      return t;
    }
    EXPECT_TRUE(buf.empty()) << "a torn report in the pipe";

    for (std::size_t i = 0; i < reported.size(); ++i) {
      EXPECT_EQ(reported[i].id, firstId + i);
      EXPECT_GT(reported[i].seq, lastSeq) << "sequence numbers must only go up";
      lastSeq = reported[i].seq;
      pending.push_back(reported[i]);
    }
    t.reported += reported.size();
    // The append after the last report may or may not have made it; its id is never reused.
    const std::uint64_t maybeExtraId = firstId + reported.size();
    nextId = maybeExtraId + 1;

    // Reopen and check: pending in order, then at most that one extra record.
    auto verify = [&](bool allowExtra) -> std::vector<SpoolRecord> {
      auto spool = Spool::open(o);
      if (!spool) {
        ADD_FAILURE() << spool.message();
        return {};
      }
      auto got = (*spool)->peek(std::numeric_limits<std::size_t>::max());
      if (!got) {
        ADD_FAILURE() << got.message();
        return {};
      }
      const auto& recs = *got;
      EXPECT_GE(recs.size(), pending.size()) << "an acknowledged record is missing";
      EXPECT_LE(recs.size(), pending.size() + (allowExtra ? 1 : 0)) << "unexpected records";
      for (std::size_t i = 0; i < recs.size() && i < pending.size(); ++i) {
        EXPECT_EQ(recs[i].seq, pending[i].seq) << "record " << i;
        EXPECT_TRUE(recs[i].payload == payloadFor(pending[i].id))
            << "record seq " << recs[i].seq << " does not hold id " << pending[i].id;
      }
      if (allowExtra && recs.size() == pending.size() + 1) {
        EXPECT_TRUE(recs.back().payload == payloadFor(maybeExtraId))
            << "extra record is not the cut-off append";
        EXPECT_GT(recs.back().seq, lastSeq);
      }
      const auto st = (*spool)->stats();
      EXPECT_EQ(st.depthRecords, recs.size());
      t.naturalTears += st.corruptTruncations - corruptSoFar;
      corruptSoFar = st.corruptTruncations;
      return recs;
    };
    auto recs = verify(true);
    if (::testing::Test::HasFailure()) return t;
    if (recs.size() == pending.size() + 1) {
      pending.push_back({recs.back().seq, maybeExtraId});
      lastSeq = recs.back().seq;
      ++t.extras;
    }

    // Every fourth round, damage the newest record the way a power cut or bad sector would.
    if (round % 4 == 3) {
      ++t.damaged;
      const int kind = pending.empty() ? 2 : static_cast<int>(pick(0, 2));
      if (kind < 2) {
        const std::string seg = newestNonEmptySegment(dir.path());
        const std::uint64_t size = fs::file_size(seg);
        const std::uint64_t frame =
            SpoolFormat::kRecordHeaderBytes + payloadFor(pending.back().id).size();
        if (kind == 0) {
          fs::resize_file(seg, size - pick(1, frame - 1));  // torn: part of the frame never landed
        } else {
          std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
          const auto at = static_cast<std::streamoff>(size - frame + pick(0, frame - 1));
          char c = 0;
          f.seekg(at);
          f.read(&c, 1);
          c = static_cast<char>(c ^ static_cast<char>(pick(1, 255)));
          f.seekp(at);
          f.write(&c, 1);
        }
        pending.pop_back();
      } else {
        std::ofstream f(newestSegment(dir.path()), std::ios::app | std::ios::binary);
        const auto n = pick(1, 40);
        for (std::uint64_t i = 0; i < n; ++i) f.put(static_cast<char>(pick(0, 255)));
      }
      const std::uint64_t before = corruptSoFar;
      recs = verify(false);
      if (::testing::Test::HasFailure()) return t;
      EXPECT_EQ(corruptSoFar, before + 1) << "damage of kind " << kind << " was not counted once";
      t.naturalTears -= 1;
    }

    // The consumer: acknowledge a random prefix of what is there.
    const std::uint64_t n = pick(0, recs.size());
    if (n > 0) {
      auto spool = Spool::open(o);
      if (!spool) {
        ADD_FAILURE() << spool.message();
        return t;
      }
      auto head = (*spool)->peek(n);
      EXPECT_TRUE(head && head->size() == n);
      EXPECT_TRUE((*spool)->ack(recs[n - 1].seq));
      for (std::uint64_t i = 0; i < n; ++i) pending.pop_front();
      t.acked += n;
    }
    ++t.rounds;
  }
  return t;
}

TEST(SpoolCrash, KeepsEveryAcknowledgedRecordExactlyOnceAcrossSigkillsWithFsyncAlways) {
  const std::uint64_t seed = seedFromEnv();
  SCOPED_TRACE("AISLE_SPOOL_CRASH_SEED=" + std::to_string(seed));
  const auto start = std::chrono::steady_clock::now();
  const Totals t = crashRounds(FsyncMode::Always, 16 << 10, 60, 30, seed);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_EQ(t.rounds, 60);
  EXPECT_GE(t.damaged, 15);
  EXPECT_GT(t.reported, 200u);
  std::printf(
      "fsync=always: %d rounds, %llu appends reported, %llu acked, %d cut-off appends found, "
      "%llu tears from kills, %d damaged tails, %lld ms\n",
      t.rounds, static_cast<unsigned long long>(t.reported),
      static_cast<unsigned long long>(t.acked), t.extras,
      static_cast<unsigned long long>(t.naturalTears), t.damaged,
      static_cast<long long>(ms.count()));
}

// A kill loses nothing from the page cache, so every policy must pass; without fsync the writer
// runs hundreds of appends per round and the kill lands in write() and segment rolls far more
// often. Bigger segments here: ext4 gets slow at creating files amid thousands of fresh deletions.
TEST(SpoolCrash, KeepsEveryReturnedRecordExactlyOnceAcrossSigkillsWithoutFsync) {
  const std::uint64_t seed = seedFromEnv();
  SCOPED_TRACE("AISLE_SPOOL_CRASH_SEED=" + std::to_string(seed));
  const auto start = std::chrono::steady_clock::now();
  const Totals t = crashRounds(FsyncMode::Never, 128 << 10, 60, 1000, seed);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_EQ(t.rounds, 60);
  std::printf(
      "fsync=never: %d rounds, %llu appends reported, %llu acked, %d cut-off appends found, "
      "%llu tears from kills, %d damaged tails, %lld ms\n",
      t.rounds, static_cast<unsigned long long>(t.reported),
      static_cast<unsigned long long>(t.acked), t.extras,
      static_cast<unsigned long long>(t.naturalTears), t.damaged,
      static_cast<long long>(ms.count()));
}

}  // namespace
}  // namespace aisle
