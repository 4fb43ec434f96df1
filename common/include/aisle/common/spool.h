#pragma once
// Durable spool: an on-disk FIFO that keeps records while their destination is unreachable (the
// gateway's zone events while the engine is away, the pos-adapter's transactions while PostgreSQL
// is down). One producer thread appends, one consumer thread peeks, delivers and acknowledges.
//
// Layout of the directory (see common/SPOOL.md):
//   seg-<first seq, 20 digits>.log   append-only segments: 16-byte header, then framed records
//   state                           acknowledged sequence number and cumulative counters
//   LOCK                            flock()ed while open, so two processes never share a spool
// Record frame (little-endian): crc32c u32 | length u32 | seq u64 | payload; the CRC covers
// length, seq and payload. Sequence numbers start at 1, go up by one per record (skipping a few
// after a torn tail is cut off) and are never reused, not even once everything was acknowledged
// and the segments deleted: a consumer may have seen a number whose record was later lost.
//
// Guarantees: an append that returned under FsyncMode::Always survives power loss; any append that
// returned survives a crash of the process (SIGKILL) under every policy. After reopening, delivery
// resumes after the last acknowledged record, in order. A torn or corrupt record is truncated away
// and counted, and is never delivered. When the size bound is reached, whole oldest segments are
// dropped and counted: the producer never waits for the consumer.
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "aisle/common/result.h"

namespace aisle {

// CRC-32C (Castagnoli), the checksum of iSCSI, ext4 metadata and LevelDB; `crc` chains calls.
// Uses the CPU's instruction where there is one (x86-64 SSE4.2), else a table.
std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc = 0);
namespace detail {
std::uint32_t crc32cSoftware(std::string_view bytes, std::uint32_t crc);  // the table, for tests
}

enum class FsyncMode {
  Always,  // fdatasync before append() returns: no returned append is lost on power failure
  Batch,   // fdatasync after everyRecords records or everyBytes bytes, whichever comes first
  Never,   // leave it to the kernel: survives process crashes, not power loss
};

struct FsyncPolicy {
  FsyncMode mode = FsyncMode::Always;
  std::uint64_t everyRecords = 64;      // Batch only; 0 = no record threshold
  std::uint64_t everyBytes = 1u << 20;  // Batch only; 0 = no byte threshold
};

// "always" | "never" | "batch" | "batch:<n>[,<size>]" where <n> is a record count and <size> a byte
// count with a unit (B, KiB, MiB), in either order: "batch:100", "batch:256KiB", "batch:100,1MiB".
Result<FsyncPolicy> parseFsyncPolicy(std::string_view text);
std::string toString(const FsyncPolicy& policy);

struct SpoolOptions {
  std::string dir;                          // created if missing
  std::uint64_t segmentBytes = 8u << 20;    // roll to a new segment past this size
  std::uint64_t maxBytes = 256u << 20;      // bound on all segments; at least 2 segments
  std::uint32_t maxRecordBytes = 1u << 20;  // larger payloads are refused
  FsyncPolicy fsync;
};

struct SpoolRecord {
  std::uint64_t seq = 0;
  std::string payload;
};

struct SpoolStats {
  std::uint64_t depthRecords = 0;  // appended and not yet acknowledged (nor dropped)
  std::uint64_t depthBytes = 0;    // bytes of segment files on disk: what maxBytes bounds
  std::uint64_t segments = 0;
  std::uint64_t nextSeq = 1;   // the sequence number the next append gets
  std::uint64_t ackedSeq = 0;  // everything up to here is acknowledged (or dropped)
  // Cumulative over the spool's life (kept in the state file across restarts):
  std::uint64_t dropped = 0;             // unacknowledged records dropped by the size bound
  std::uint64_t corruptTruncations = 0;  // torn/corrupt regions cut off (tail, middle or state)
  std::uint64_t corruptBytes = 0;        // bytes cut off by those truncations
  // Since open:
  std::uint64_t appended = 0;
  std::uint64_t syncs = 0;  // fdatasync calls on segments
};

// Exposed so tests can aim damage at exact bytes; code outside tests has no reason to read them.
struct SpoolFormat {
  static constexpr std::size_t kSegmentHeaderBytes = 16;       // "AISPOOL1" | first seq u64
  static constexpr std::size_t kRecordHeaderBytes = 16;        // crc u32 | length u32 | seq u64
  static constexpr std::uint32_t kMaxRecordBytes = 64u << 20;  // any larger length is corruption
  static std::string segmentFileName(std::uint64_t firstSeq);
};

class Spool {
 public:
  // Opens (or creates) the spool: takes the directory lock, reads the state, checks every record of
  // every segment, truncates torn or corrupt data (counted in stats), and deletes acknowledged
  // segments. Errors name the file and the system error.
  static Result<std::unique_ptr<Spool>> open(SpoolOptions options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Producer side. Returns the record's sequence number once it is written (and synced, per the
  // policy). Never waits for the consumer: when the bound is reached the oldest segments go.
  // An error after the bytes were written (a failed fdatasync) says so: the record may still be
  // delivered, so producers that retry must tolerate duplicates.
  Result<std::uint64_t> append(std::string_view payload);
  // Syncs what the batch policy has not yet synced, e.g. on a timer or before shutdown.
  Status sync();

  // Consumer side. Up to maxRecords records (stopping before maxBytes of payload, but always at
  // least one) following the last acknowledged one, without consuming them: calling peek again
  // returns the same records until ack() moves past them.
  Result<std::vector<SpoolRecord>> peek(
      std::size_t maxRecords = 1, std::size_t maxBytes = std::numeric_limits<std::size_t>::max());
  // Acknowledges every record up to and including seq, durably (write temp, fsync, rename, fsync
  // directory; the syncs are skipped under FsyncMode::Never) before returning; segments that are
  // fully acknowledged are deleted. An ack costs two syncs (~10 ms on a VM disk): ack per batch.
  // Acking an older seq again is a no-op; a seq that was never appended is an error.
  Status ack(std::uint64_t seq);
  // Blocks until there is at least one unacknowledged record or the timeout passes; true if there
  // is one. For the consumer thread's loop: appends wake it at once.
  bool waitForRecords(std::chrono::milliseconds timeout);

  SpoolStats stats() const;
  const SpoolOptions& options() const { return options_; }

 private:
  struct File;
  struct Segment {
    std::uint64_t base = 0;  // first seq; records are base .. base + count - 1, contiguous
    std::uint64_t count = 0;
    std::uint64_t bytes = 0;  // file size, header included
    std::string path;
    std::shared_ptr<File> file;
    std::uint64_t last() const { return base + count - 1; }  // only meaningful if count > 0
  };
  struct Position {
    std::uint64_t seq = 0;     // the record at this position
    std::uint64_t base = 0;    // its segment
    std::uint64_t offset = 0;  // its frame's offset in the segment
  };
  struct PersistedState {
    std::uint64_t acked = 0;
    std::uint64_t dropped = 0;
    std::uint64_t corruptTruncations = 0;
    std::uint64_t corruptBytes = 0;
  };

  explicit Spool(SpoolOptions options);
  Status load();
  Status scanSegment(Segment& seg, std::uint64_t& cutBytes);
  Result<Segment> createSegment(std::uint64_t base);
  Status rollLocked();
  void dropOldestLocked();
  Status deleteAckedSegmentsLocked();
  void noteCorruptionLocked(Segment& seg, std::uint64_t offset, std::uint64_t goodRecords);
  Status updateState(const std::function<void(PersistedState&)>& change);
  Status writeStateFile(const PersistedState& state);
  Status syncDir();
  std::size_t indexOfLocked(std::uint64_t base) const;
  Result<std::string_view> bytesAtLocked(const Segment& seg, std::uint64_t offset, std::size_t len);
  Result<bool> readNextLocked(Position& pos, SpoolRecord* out);
  Status seekLocked();
  std::uint64_t unackedLocked() const;

  const SpoolOptions options_;
  const std::string statePath_;
  int lockFd_ = -1;

  // Lock order: mu_ before stateMu_, never the other way round.
  mutable std::mutex mu_;
  std::condition_variable hasRecords_;
  std::deque<Segment> segments_;  // by base; the back one is where appends go
  std::uint64_t nextSeq_ = 1;
  std::uint64_t acked_ = 0;
  std::uint64_t unsyncedRecords_ = 0;
  std::uint64_t unsyncedBytes_ = 0;
  bool rollPending_ = false;  // the active segment was cut after corruption: appends go elsewhere
  bool cursorValid_ = false;  // cursor_ is the first unacknowledged record's position
  Position cursor_;
  bool peekEndValid_ = false;  // peekEnd_ follows the last record peek() returned
  Position peekEnd_;
  std::string writeBuf_;
  std::string readBuf_;  // read-ahead for peek(): [readBufOffset_, +size) of segment readBufBase_
  std::uint64_t readBufBase_ = 0, readBufOffset_ = 0;
  SpoolStats counters_;  // dropped/corrupt*/appended/syncs

  // Only the state file's writers hold this; it keeps concurrent ack() and drop() from losing
  // each other's update.
  std::mutex stateMu_;
  PersistedState persisted_;
};

}  // namespace aisle
