#include "aisle/common/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "aisle/common/parse.h"

namespace aisle {

namespace {

// ------------------------------------------------------------------ CRC-32C, slicing-by-8
// Software is plenty: even fsync=never appends are bound by syscalls, not by ~1.5 GB/s of CRC.
constexpr std::uint32_t kCastagnoli = 0x82F63B78u;  // reflected polynomial

using CrcTables = std::array<std::array<std::uint32_t, 256>, 8>;

constexpr CrcTables makeCrcTables() {
  CrcTables t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (kCastagnoli & (0u - (c & 1u)));
    t[0][i] = c;
  }
  for (std::size_t i = 0; i < 256; ++i)
    for (std::size_t k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xFFu];
  return t;
}
constexpr CrcTables kCrc = makeCrcTables();

// ------------------------------------------------------------------ little-endian fields
// Written byte by byte so a spool moved between an x86 server and an arm64 gateway reads the same.
void put32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
void put64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}
std::uint32_t get32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
std::uint64_t get64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

constexpr char kSegmentMagic[8] = {'A', 'I', 'S', 'P', 'O', 'O', 'L', '1'};
constexpr char kStateMagic[8] = {'A', 'I', 'S', 'T', 'A', 'T', 'E', '1'};
constexpr std::size_t kStateBytes = 8 + 4 * 8 + 4;
constexpr std::size_t kSegHdr = SpoolFormat::kSegmentHeaderBytes;
constexpr std::size_t kRecHdr = SpoolFormat::kRecordHeaderBytes;
constexpr std::size_t kReadAhead = std::size_t{256} * 1024;

std::string sysError(const std::string& what, const std::string& path, int err = errno) {
  return "spool: " + what + " " + path + ": " + std::generic_category().message(err);
}

Status writeAll(int fd, const char* data, std::size_t size, std::uint64_t offset,
                const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sysError("write", path));
    }
    data += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return okStatus();
}

// Reads up to size bytes; fewer only at end of file.
Result<std::size_t> readAll(int fd, char* data, std::size_t size, std::uint64_t offset,
                            const std::string& path) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(sysError("read", path));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

Status syncFd(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return fail(sysError("fdatasync", path));
  return okStatus();
}

bool parseSegmentName(const std::string& name, std::uint64_t& base) {
  // "seg-" + 20 digits + ".log": anything else in the directory is not ours to interpret.
  if (name.size() != 28 || name.rfind("seg-", 0) != 0 || name.substr(24) != ".log") return false;
  const std::string digits = name.substr(4, 20);
  if (!isAllDigits(digits)) return false;
  auto n = parseNumber<std::uint64_t>(digits);
  if (!n || *n == 0) return false;
  base = *n;
  return true;
}

std::uint64_t frameBytes(std::size_t payload) {
  return kRecHdr + payload;
}

}  // namespace

namespace detail {
std::uint32_t crc32cSoftware(std::string_view bytes, std::uint32_t crc) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t size = bytes.size();
  crc = ~crc;
  while (size >= 8) {
    const std::uint32_t one = (std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 |
                               std::uint32_t{p[2]} << 16 | std::uint32_t{p[3]} << 24) ^
                              crc;
    const std::uint32_t two = std::uint32_t{p[4]} | std::uint32_t{p[5]} << 8 |
                              std::uint32_t{p[6]} << 16 | std::uint32_t{p[7]} << 24;
    crc = kCrc[7][one & 0xFFu] ^ kCrc[6][(one >> 8) & 0xFFu] ^ kCrc[5][(one >> 16) & 0xFFu] ^
          kCrc[4][one >> 24] ^ kCrc[3][two & 0xFFu] ^ kCrc[2][(two >> 8) & 0xFFu] ^
          kCrc[1][(two >> 16) & 0xFFu] ^ kCrc[0][two >> 24];
    p += 8;
    size -= 8;
  }
  while (size-- > 0) crc = (crc >> 8) ^ kCrc[0][(crc ^ *p++) & 0xFFu];
  return ~crc;
}
}  // namespace detail

#if defined(__x86_64__)
namespace {
// SSE4.2 has a CRC-32C instruction (the reason this checksum was chosen): ~10x the table's speed,
// which is what reopening a full spool spends its time on.
__attribute__((target("sse4.2"))) std::uint32_t crc32cSse42(std::string_view bytes,
                                                            std::uint32_t crc) {
  const char* p = bytes.data();
  std::size_t size = bytes.size();
  std::uint64_t c = ~crc;
  while (size >= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    size -= 8;
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (size-- > 0) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p++));
  return ~c32;
}
bool haveSse42() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") != 0;
  }();
  return have;
}
}  // namespace
#endif

std::uint32_t crc32c(std::string_view bytes, std::uint32_t crc) {
#if defined(__x86_64__)
  if (haveSse42()) return crc32cSse42(bytes, crc);
#endif
  return detail::crc32cSoftware(bytes, crc);
}

// ------------------------------------------------------------------ fsync policy
Result<FsyncPolicy> parseFsyncPolicy(std::string_view text) {
  const std::string_view t = trim(text);
  const auto bad = [&](const std::string& why) {
    return fail(
        "fsync policy '" + std::string(text) + "': " + why +
        " (expected always, never, batch or batch:<records>[,<size>], e.g. batch:100,1MiB)");
  };
  FsyncPolicy p;
  if (t == "always") return p;
  if (t == "never") {
    p.mode = FsyncMode::Never;
    return p;
  }
  p.mode = FsyncMode::Batch;
  if (t == "batch") return p;
  if (t.rfind("batch:", 0) != 0) return bad("unknown policy");
  p.everyRecords = 0;
  p.everyBytes = 0;
  std::string_view rest = t.substr(6);
  bool sawRecords = false, sawBytes = false;
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view term = trim(rest.substr(0, comma));
    struct Unit {
      std::string_view suffix;
      std::uint64_t scale;
    };
    static constexpr Unit kUnits[] = {
        {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1}};
    const Unit* unit = nullptr;
    for (const auto& u : kUnits) {
      if (term.size() > u.suffix.size() && term.substr(term.size() - u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit) {
      auto n = parseNumber<std::uint64_t>(term.substr(0, term.size() - unit->suffix.size()), 1,
                                          (1ull << 40) / unit->scale);
      if (!n) return bad(n.message());
      if (sawBytes) return bad("byte threshold given twice");
      sawBytes = true;
      p.everyBytes = *n * unit->scale;
    } else {
      auto n = parseNumber<std::uint64_t>(term, 1, 1'000'000'000);
      if (!n) return bad(n.message());
      if (sawRecords) return bad("record threshold given twice");
      sawRecords = true;
      p.everyRecords = *n;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return p;
}

std::string toString(const FsyncPolicy& policy) {
  switch (policy.mode) {
    case FsyncMode::Always:
      return "always";
    case FsyncMode::Never:
      return "never";
    case FsyncMode::Batch:
      break;
  }
  std::string out = "batch:";
  if (policy.everyRecords > 0) out += std::to_string(policy.everyRecords);
  if (policy.everyBytes > 0) {
    if (policy.everyRecords > 0) out += ",";
    std::uint64_t b = policy.everyBytes;
    const char* unit = "B";
    for (const char* u : {"KiB", "MiB", "GiB"}) {
      if (b % 1024 != 0) break;
      b /= 1024;
      unit = u;
    }
    out += std::to_string(b) + unit;
  }
  return out;
}

std::string SpoolFormat::segmentFileName(std::uint64_t firstSeq) {
  std::string digits = std::to_string(firstSeq);
  return "seg-" + std::string(20 - digits.size(), '0') + digits + ".log";
}

// ------------------------------------------------------------------ Spool
struct Spool::File {
  File(int f, std::string p) : fd(f), path(std::move(p)) {}
  ~File() {
    if (fd >= 0) ::close(fd);
  }
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  int fd;
  std::string path;
};

Spool::Spool(SpoolOptions options)
    : options_(std::move(options)), statePath_(options_.dir + "/state") {}

Spool::~Spool() {
  // A clean shutdown makes the batch policy's pending records durable; "never" means never.
  if (options_.fsync.mode == FsyncMode::Batch && !segments_.empty() &&
      (unsyncedRecords_ > 0 || unsyncedBytes_ > 0)) {
    ::fdatasync(segments_.back().file->fd);
  }
  segments_.clear();
  if (lockFd_ >= 0) ::close(lockFd_);
}

Result<std::unique_ptr<Spool>> Spool::open(SpoolOptions options) {
  const std::string where = "spool " + options.dir + ": ";
  if (options.dir.empty()) return fail("spool: options.dir is empty");
  if (options.maxRecordBytes == 0 || options.maxRecordBytes > SpoolFormat::kMaxRecordBytes)
    return fail(where + "maxRecordBytes must be in [1, " +
                std::to_string(SpoolFormat::kMaxRecordBytes) + "]");
  if (options.segmentBytes < kSegHdr + frameBytes(options.maxRecordBytes))
    return fail(where + "segmentBytes (" + std::to_string(options.segmentBytes) +
                ") must hold at least one record of maxRecordBytes (" +
                std::to_string(kSegHdr + frameBytes(options.maxRecordBytes)) + ")");
  // Two segments at least: the bound drops whole old segments and must never drop the one being
  // written, so a full active segment plus the incoming record must fit.
  if (options.maxBytes < 2 * options.segmentBytes)
    return fail(where + "maxBytes (" + std::to_string(options.maxBytes) +
                ") must be at least twice segmentBytes (" + std::to_string(options.segmentBytes) +
                ")");
  if (options.fsync.mode == FsyncMode::Batch && options.fsync.everyRecords == 0 &&
      options.fsync.everyBytes == 0)
    return fail(where + "batch fsync policy needs a record or byte threshold");

  std::unique_ptr<Spool> spool(new Spool(std::move(options)));
  if (auto st = spool->load(); !st) return st.error();
  return spool;
}

Status Spool::load() {
  const std::string& dir = options_.dir;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fail("spool: cannot create directory " + dir + ": " + ec.message());

  const std::string lockPath = dir + "/LOCK";
  lockFd_ = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lockFd_ < 0) return fail(sysError("open", lockPath));
  if (::flock(lockFd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return fail("spool: " + dir + " is already open (" + lockPath +
                  " is locked by another owner)");
    return fail(sysError("lock", lockPath));
  }

  // The state file: a missing one is a fresh spool; a damaged one cannot have come from our atomic
  // rename, so the disk is lying: redeliver everything that is left (at-least-once beats loss).
  PersistedState st;
  bool stateTrusted = true;
  bool stateDirty = false;
  {
    const int fd = ::open(statePath_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) return fail(sysError("open", statePath_));
    if (fd >= 0) {
      File f(fd, statePath_);
      char buf[kStateBytes + 1];
      auto n = readAll(fd, buf, sizeof buf, 0, statePath_);
      if (!n) return n.error();
      if (*n == kStateBytes && std::memcmp(buf, kStateMagic, 8) == 0 &&
          crc32c({buf, kStateBytes - 4}) == get32(buf + kStateBytes - 4)) {
        st.acked = get64(buf + 8);
        st.dropped = get64(buf + 16);
        st.corruptTruncations = get64(buf + 24);
        st.corruptBytes = get64(buf + 32);
      } else {
        stateTrusted = false;
        stateDirty = true;
        st.corruptTruncations += 1;
        st.corruptBytes += *n;
      }
    }
    ::unlink((dir + "/state.tmp").c_str());  // a rename that never happened
  }
  counters_.corruptTruncations = st.corruptTruncations;
  counters_.corruptBytes = st.corruptBytes;

  std::vector<std::uint64_t> bases;
  std::uint64_t lastCutBytes = 0;  // cut off the newest segment
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::uint64_t base = 0;
    if (entry.is_regular_file() && parseSegmentName(entry.path().filename().string(), base))
      bases.push_back(base);
  }
  if (ec) return fail("spool: cannot list " + dir + ": " + ec.message());
  std::sort(bases.begin(), bases.end());

  for (std::uint64_t base : bases) {
    Segment seg;
    seg.base = base;
    seg.path = dir + "/" + SpoolFormat::segmentFileName(base);
    const int fd = ::open(seg.path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return fail(sysError("open", seg.path));
    seg.file = std::make_shared<File>(fd, seg.path);
    if (auto s = scanSegment(seg, lastCutBytes); !s) return s;
    if (!segments_.empty() && segments_.back().base + segments_.back().count > seg.base)
      return fail("spool: " + seg.path + " overlaps " + segments_.back().path +
                  " (sequence numbers out of order): refusing to guess which is right");
    segments_.push_back(std::move(seg));
  }

  if (!segments_.empty()) {
    const std::uint64_t first = segments_.front().base;
    if (!stateTrusted) {
      st.acked = first - 1;
    } else if (first > st.acked + 1) {
      // Segments before the first one left were dropped by the bound, and the process died before
      // the state file said so.
      st.dropped += first - st.acked - 1;
      st.acked = first - 1;
      stateDirty = true;
    }
  }
  if (counters_.corruptTruncations != st.corruptTruncations) stateDirty = true;
  acked_ = st.acked;
  counters_.dropped = st.dropped;
  st.corruptTruncations = counters_.corruptTruncations;
  st.corruptBytes = counters_.corruptBytes;

  const std::uint64_t endSeq =
      segments_.empty() ? 1 : segments_.back().base + segments_.back().count;
  // Never reuse a sequence number the consumer may have seen: records that were peeked from the
  // page cache and then lost to a power cut (fsync batch/never), or acknowledged and then lost.
  // A cut-off tail of N bytes held at most ceil(N / header) records, so skip that many.
  nextSeq_ = std::max(endSeq + (lastCutBytes + kRecHdr - 1) / kRecHdr, acked_ + 1);
  if (segments_.empty()) {
    auto seg = createSegment(nextSeq_);
    if (!seg) return seg.error();
    segments_.push_back(std::move(*seg));
  } else if (endSeq != nextSeq_) {
    if (auto s = rollLocked(); !s) return s;
  }
  if (auto s = deleteAckedSegmentsLocked(); !s) return s;

  if (stateDirty) {
    std::lock_guard sl(stateMu_);
    if (auto s = writeStateFile(st); !s) return s;
  }
  persisted_ = st;
  return okStatus();
}

// Checks every frame of one segment; cuts the file at the first bad one. Contiguous sequence
// numbers from the file name on are part of the check: a stale but well-formed frame (say, from a
// recycled disk block) is as wrong as a bad checksum.
Status Spool::scanSegment(Segment& seg, std::uint64_t& cutBytes) {
  struct stat sb {};
  if (::fstat(seg.file->fd, &sb) != 0) return fail(sysError("stat", seg.path));
  const auto size = static_cast<std::uint64_t>(sb.st_size);
  std::string buf(size, '\0');
  auto n = readAll(seg.file->fd, buf.data(), buf.size(), 0, seg.path);
  if (!n) return n.error();
  buf.resize(*n);

  std::uint64_t good = 0;
  std::uint64_t count = 0;
  const bool headerOk = buf.size() >= kSegHdr && std::memcmp(buf.data(), kSegmentMagic, 8) == 0 &&
                        get64(buf.data() + 8) == seg.base;
  if (headerOk) {
    good = kSegHdr;
    std::uint64_t expect = seg.base;
    while (buf.size() - good >= kRecHdr) {
      const char* h = buf.data() + good;
      const std::uint32_t len = get32(h + 4);
      if (get64(h + 8) != expect || len > SpoolFormat::kMaxRecordBytes ||
          buf.size() - good - kRecHdr < len || crc32c({h + 4, 12 + std::size_t{len}}) != get32(h))
        break;
      good += frameBytes(len);
      ++expect;
      ++count;
    }
  }
  seg.count = count;
  seg.bytes = good;
  cutBytes = buf.size() - good;
  if (headerOk && good == buf.size()) return okStatus();

  // A header shorter than 16 bytes (even an empty file) is a creation cut short: torn, so counted.
  counters_.corruptTruncations += 1;
  counters_.corruptBytes += buf.size() - good;
  if (::ftruncate(seg.file->fd, static_cast<off_t>(good)) != 0)
    return fail(sysError("truncate", seg.path));
  if (!headerOk) {
    // A segment torn while being created: its name still carries the sequence high-water mark.
    char hdr[kSegHdr];
    std::memcpy(hdr, kSegmentMagic, 8);
    put64(hdr + 8, seg.base);
    if (auto s = writeAll(seg.file->fd, hdr, kSegHdr, 0, seg.path); !s) return s;
    seg.bytes = kSegHdr;
  }
  return syncFd(seg.file->fd, seg.path);
}

Result<Spool::Segment> Spool::createSegment(std::uint64_t base) {
  Segment seg;
  seg.base = base;
  seg.path = options_.dir + "/" + SpoolFormat::segmentFileName(base);
  const int fd = ::open(seg.path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return fail(sysError("create", seg.path));
  seg.file = std::make_shared<File>(fd, seg.path);
  char hdr[kSegHdr];
  std::memcpy(hdr, kSegmentMagic, 8);
  put64(hdr + 8, base);
  auto st = writeAll(fd, hdr, kSegHdr, 0, seg.path);
  // The directory entry must be durable too, or a power cut could lose a whole segment whose
  // records were each reported as synced.
  if (st && options_.fsync.mode != FsyncMode::Never) st = syncFd(fd, seg.path);
  if (st && options_.fsync.mode != FsyncMode::Never) st = syncDir();
  if (!st) {
    seg.file.reset();
    ::unlink(seg.path.c_str());
    return st.error();
  }
  seg.bytes = kSegHdr;
  return seg;
}

Status Spool::rollLocked() {
  Segment& old = segments_.back();
  if (options_.fsync.mode == FsyncMode::Batch && unsyncedRecords_ > 0) {
    if (auto s = syncFd(old.file->fd, old.path); !s) return s;
    ++counters_.syncs;
  }
  unsyncedRecords_ = 0;
  unsyncedBytes_ = 0;
  auto seg = createSegment(nextSeq_);
  if (!seg) return seg.error();
  const bool oldEmpty = old.count == 0;
  segments_.push_back(std::move(*seg));
  rollPending_ = false;
  if (oldEmpty) {
    // Holds no record, and the new segment's name now carries the high-water mark.
    const std::string path = segments_[segments_.size() - 2].path;
    segments_.erase(segments_.end() - 2);
    ::unlink(path.c_str());
  }
  return okStatus();
}

void Spool::dropOldestLocked() {
  const Segment victim = std::move(segments_.front());
  segments_.pop_front();
  const std::uint64_t through = segments_.front().base - 1;
  std::uint64_t lost = 0;
  if (victim.count > 0 && victim.last() > acked_)
    lost = victim.last() - std::max(victim.base, acked_ + 1) + 1;
  // Unlink before recording: on a full disk the state file may only be writable once space is
  // freed. A crash in between is repaired on open (a gap before the first segment is a drop).
  ::unlink(victim.path.c_str());
  acked_ = std::max(acked_, through);
  counters_.dropped += lost;
  (void)updateState([&](PersistedState& s) {
    s.acked = std::max(s.acked, through);
    s.dropped += lost;
  });
}

Status Spool::deleteAckedSegmentsLocked() {
  for (std::size_t i = 0; i + 1 < segments_.size();) {
    Segment& s = segments_[i];
    if (s.count == 0 || s.last() <= acked_) {
      if (::unlink(s.path.c_str()) != 0 && errno != ENOENT) return fail(sysError("delete", s.path));
      segments_.erase(segments_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return okStatus();
}

void Spool::noteCorruptionLocked(Segment& seg, std::uint64_t offset, std::uint64_t goodRecords) {
  const std::uint64_t lostBytes = seg.bytes - offset;
  // Cut on disk too, so a restart does not find (and count) the same damage again.
  if (::ftruncate(seg.file->fd, static_cast<off_t>(offset)) == 0) ::fdatasync(seg.file->fd);
  seg.bytes = offset;
  seg.count = goodRecords;
  if (readBufBase_ == seg.base) readBuf_.clear();
  // The producer must not continue this segment: its next sequence number would leave a gap.
  if (&seg == &segments_.back()) rollPending_ = true;
  counters_.corruptTruncations += 1;
  counters_.corruptBytes += lostBytes;
  (void)updateState([&](PersistedState& s) {
    s.corruptTruncations += 1;
    s.corruptBytes += lostBytes;
  });
}

Status Spool::updateState(const std::function<void(PersistedState&)>& change) {
  std::lock_guard sl(stateMu_);
  PersistedState next = persisted_;
  change(next);
  if (auto s = writeStateFile(next); !s) return s;
  persisted_ = next;
  return okStatus();
}

Status Spool::writeStateFile(const PersistedState& state) {
  char buf[kStateBytes];
  std::memcpy(buf, kStateMagic, 8);
  put64(buf + 8, state.acked);
  put64(buf + 16, state.dropped);
  put64(buf + 24, state.corruptTruncations);
  put64(buf + 32, state.corruptBytes);
  put32(buf + kStateBytes - 4, crc32c({buf, kStateBytes - 4}));
  // Write a temporary, make it durable, then rename over the old one: a crash leaves either the
  // old or the new state, never half of each.
  const std::string tmp = statePath_ + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail(sysError("create", tmp));
  File f(fd, tmp);
  // Under "never" the rename alone is atomic against a process crash, which is all that policy
  // promises; the two syncs are most of an acknowledgement's cost.
  const bool durable = options_.fsync.mode != FsyncMode::Never;
  if (auto s = writeAll(fd, buf, sizeof buf, 0, tmp); !s) return s;
  if (durable && ::fsync(fd) != 0) return fail(sysError("fsync", tmp));
  if (::rename(tmp.c_str(), statePath_.c_str()) != 0)
    return fail(sysError("rename to", statePath_));
  return durable ? syncDir() : okStatus();
}

Status Spool::syncDir() {
  const int fd = ::open(options_.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(sysError("open directory", options_.dir));
  File f(fd, options_.dir);
  if (::fsync(fd) != 0) return fail(sysError("fsync directory", options_.dir));
  return okStatus();
}

std::uint64_t Spool::unackedLocked() const {
  std::uint64_t n = 0;
  for (const auto& s : segments_)
    if (s.count > 0 && s.last() > acked_) n += s.last() - std::max(s.base, acked_ + 1) + 1;
  return n;
}

// ------------------------------------------------------------------ producer
Result<std::uint64_t> Spool::append(std::string_view payload) {
  if (payload.size() > options_.maxRecordBytes)
    return fail("spool " + options_.dir + ": record of " + std::to_string(payload.size()) +
                " bytes exceeds maxRecordBytes (" + std::to_string(options_.maxRecordBytes) + ")");
  const std::uint64_t frame = frameBytes(payload.size());
  std::shared_ptr<File> toSync;
  std::uint64_t seq = 0;
  {
    std::lock_guard lk(mu_);
    if (rollPending_ ||
        (segments_.back().count > 0 && segments_.back().bytes + frame > options_.segmentBytes)) {
      if (auto s = rollLocked(); !s) return s.error();
    }
    std::uint64_t total = 0;
    for (const auto& s : segments_) total += s.bytes;
    while (total + frame > options_.maxBytes && segments_.size() > 1) {
      total -= segments_.front().bytes;
      dropOldestLocked();
    }

    Segment& seg = segments_.back();
    seq = nextSeq_;
    writeBuf_.resize(frame);
    char* h = writeBuf_.data();
    put32(h + 4, static_cast<std::uint32_t>(payload.size()));
    put64(h + 8, seq);
    if (!payload.empty()) std::memcpy(h + kRecHdr, payload.data(), payload.size());
    put32(h, crc32c({h + 4, frame - 4}));
    if (auto s = writeAll(seg.file->fd, h, frame, seg.bytes, seg.path); !s) {
      // Leave no half frame behind for the consumer or the next open to trip over.
      if (::ftruncate(seg.file->fd, static_cast<off_t>(seg.bytes)) != 0) rollPending_ = true;
      return s.error();
    }
    seg.bytes += frame;
    seg.count += 1;
    nextSeq_ += 1;
    counters_.appended += 1;

    switch (options_.fsync.mode) {
      case FsyncMode::Always:
        toSync = seg.file;
        break;
      case FsyncMode::Batch:
        unsyncedRecords_ += 1;
        unsyncedBytes_ += frame;
        if ((options_.fsync.everyRecords > 0 && unsyncedRecords_ >= options_.fsync.everyRecords) ||
            (options_.fsync.everyBytes > 0 && unsyncedBytes_ >= options_.fsync.everyBytes)) {
          toSync = seg.file;
          unsyncedRecords_ = 0;
          unsyncedBytes_ = 0;
        }
        break;
      case FsyncMode::Never:
        break;
    }
    if (toSync) counters_.syncs += 1;
  }
  hasRecords_.notify_all();
  // Outside the lock: the consumer keeps reading and acknowledging while the disk flushes. Only
  // this (producer) thread ever retires the active segment, and the shared_ptr keeps its fd open.
  if (toSync && ::fdatasync(toSync->fd) != 0)
    return fail(sysError("fdatasync", toSync->path) + " (record " + std::to_string(seq) +
                " was written but may not be durable)");
  return seq;
}

Status Spool::sync() {
  std::shared_ptr<File> toSync;
  {
    std::lock_guard lk(mu_);
    if (unsyncedRecords_ == 0 && unsyncedBytes_ == 0) return okStatus();
    toSync = segments_.back().file;
    unsyncedRecords_ = 0;
    unsyncedBytes_ = 0;
    counters_.syncs += 1;
  }
  return syncFd(toSync->fd, toSync->path);
}

// ------------------------------------------------------------------ consumer
std::size_t Spool::indexOfLocked(std::uint64_t base) const {
  for (std::size_t i = 0; i < segments_.size(); ++i)
    if (segments_[i].base == base) return i;
  return segments_.size();
}

Result<std::string_view> Spool::bytesAtLocked(const Segment& seg, std::uint64_t offset,
                                              std::size_t len) {
  const bool cached = readBufBase_ == seg.base && offset >= readBufOffset_ &&
                      offset + len <= readBufOffset_ + readBuf_.size();
  if (!cached) {
    const std::uint64_t avail = seg.bytes > offset ? seg.bytes - offset : 0;
    const std::size_t want = static_cast<std::size_t>(
        std::max<std::uint64_t>(len, std::min<std::uint64_t>(avail, kReadAhead)));
    readBuf_.resize(want);
    auto n = readAll(seg.file->fd, readBuf_.data(), want, offset, seg.path);
    if (!n) {
      readBuf_.clear();
      return n.error();
    }
    readBuf_.resize(*n);
    readBufBase_ = seg.base;
    readBufOffset_ = offset;
  }
  const std::size_t at = static_cast<std::size_t>(offset - readBufOffset_);
  return std::string_view(readBuf_).substr(at, len);
}

Result<bool> Spool::readNextLocked(Position& pos, SpoolRecord* out) {
  for (;;) {
    const std::size_t i = indexOfLocked(pos.base);
    if (i == segments_.size()) {
      // Its segment went away (acknowledged or dropped): carry on with the next newer one.
      auto next = std::find_if(segments_.begin(), segments_.end(),
                               [&](const Segment& s) { return s.base > pos.base; });
      if (next == segments_.end()) return false;
      pos = {next->base, next->base, kSegHdr};
      continue;
    }
    Segment* seg = &segments_[i];
    if (pos.offset >= seg->bytes) {
      if (i + 1 == segments_.size()) return false;
      pos = {segments_[i + 1].base, segments_[i + 1].base, kSegHdr};
      continue;
    }
    auto hdr = bytesAtLocked(*seg, pos.offset, kRecHdr);
    if (!hdr) return hdr.error();
    bool good = hdr->size() == kRecHdr;
    std::uint32_t len = 0;
    if (good) {
      len = get32(hdr->data() + 4);
      good = get64(hdr->data() + 8) == pos.seq && len <= SpoolFormat::kMaxRecordBytes &&
             pos.offset + frameBytes(len) <= seg->bytes;
    }
    if (good && out) {
      const std::uint32_t crc = get32(hdr->data());
      auto whole = bytesAtLocked(*seg, pos.offset, frameBytes(len));
      if (!whole) return whole.error();
      good = whole->size() == frameBytes(len) && crc32c(whole->substr(4)) == crc;
      if (good) {
        out->seq = pos.seq;
        out->payload.assign(whole->data() + kRecHdr, len);
      }
    }
    if (!good) {
      // Damaged since open (the disk, or someone else writing): never hand it out.
      noteCorruptionLocked(*seg, pos.offset, pos.seq - seg->base);
      continue;
    }
    pos.offset += frameBytes(len);
    pos.seq += 1;
    return true;
  }
}

Status Spool::seekLocked() {
  const std::uint64_t target = acked_ + 1;
  if (cursorValid_ && cursor_.seq == target) return okStatus();
  if (peekEndValid_ && peekEnd_.seq == target) {
    cursor_ = peekEnd_;
    cursorValid_ = true;
    return okStatus();
  }
  for (const auto& seg : segments_) {
    if (seg.count == 0 || seg.last() < target) continue;
    Position pos{seg.base, seg.base, kSegHdr};
    if (cursorValid_ && cursor_.base == seg.base && cursor_.seq <= target) pos = cursor_;
    while (pos.seq < target) {
      auto r = readNextLocked(pos, nullptr);
      if (!r) return r.error();
      if (!*r) break;
    }
    cursor_ = pos;
    cursorValid_ = true;
    return okStatus();
  }
  // Nothing unacknowledged: wait where the next append will land.
  const Segment& back = segments_.back();
  cursor_ = {back.base + back.count, back.base, back.bytes};
  cursorValid_ = true;
  return okStatus();
}

Result<std::vector<SpoolRecord>> Spool::peek(std::size_t maxRecords, std::size_t maxBytes) {
  std::lock_guard lk(mu_);
  std::vector<SpoolRecord> out;
  if (auto s = seekLocked(); !s) return s.error();
  Position pos = cursor_;
  std::size_t bytes = 0;
  while (out.size() < maxRecords) {
    const Position before = pos;
    SpoolRecord r;
    auto got = readNextLocked(pos, &r);
    if (!got) return got.error();
    if (!*got) break;
    if (!out.empty() && (bytes >= maxBytes || r.payload.size() > maxBytes - bytes)) {
      pos = before;
      break;
    }
    bytes += r.payload.size();
    out.push_back(std::move(r));
  }
  // The first record may have turned out corrupt and been skipped: start the next look there.
  if (!out.empty() && out.front().seq != cursor_.seq) cursorValid_ = false;
  peekEnd_ = pos;
  peekEndValid_ = true;
  return out;
}

Status Spool::ack(std::uint64_t seq) {
  {
    std::lock_guard lk(mu_);
    if (seq <= acked_) return okStatus();
    if (seq >= nextSeq_)
      return fail("spool " + options_.dir + ": cannot acknowledge record " + std::to_string(seq) +
                  ": the last appended record is " + std::to_string(nextSeq_ - 1));
  }
  // The file write (three syncs) happens without mu_, so the producer is not held up by it.
  if (auto s = updateState([&](PersistedState& st) { st.acked = std::max(st.acked, seq); }); !s)
    return s;
  std::lock_guard lk(mu_);
  acked_ = std::max(acked_, seq);
  return deleteAckedSegmentsLocked();
}

bool Spool::waitForRecords(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return hasRecords_.wait_for(lk, timeout, [&] { return unackedLocked() > 0; });
}

SpoolStats Spool::stats() const {
  std::lock_guard lk(mu_);
  SpoolStats s = counters_;
  s.depthRecords = unackedLocked();
  s.depthBytes = 0;
  for (const auto& seg : segments_) s.depthBytes += seg.bytes;
  s.segments = segments_.size();
  s.nextSeq = nextSeq_;
  s.ackedSeq = acked_;
  return s;
}

}  // namespace aisle
