#include "aisle/common/spool.h"

#include <gtest/gtest.h>

#include "temp_dir.h"
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace aisle {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();
constexpr std::size_t kHdr = SpoolFormat::kSegmentHeaderBytes;
constexpr std::size_t kRec = SpoolFormat::kRecordHeaderBytes;

using testing::TempDir;

// Small segments so a handful of records crosses several; no fsync, since a process that is not
// killed loses nothing either way (the crash test covers the synced path).
SpoolOptions smallOptions(const std::string& dir) {
  SpoolOptions o;
  o.dir = dir;
  o.segmentBytes = 1024;
  o.maxRecordBytes = 200;
  o.maxBytes = 64 << 10;
  o.fsync.mode = FsyncMode::Never;
  return o;
}

std::unique_ptr<Spool> openOk(const SpoolOptions& o) {
  auto r = Spool::open(o);
  if (!r) ADD_FAILURE() << r.message();
  return r ? std::move(*r) : nullptr;
}

std::uint64_t appendOk(Spool& s, const std::string& payload) {
  auto r = s.append(payload);
  if (!r) ADD_FAILURE() << r.message();
  return r.valueOr(0);
}

std::vector<SpoolRecord> peekAll(Spool& s) {
  auto r = s.peek(kAll);
  if (!r) ADD_FAILURE() << r.message();
  return r ? *r : std::vector<SpoolRecord>{};
}

std::vector<std::uint64_t> seqs(const std::vector<SpoolRecord>& rs) {
  std::vector<std::uint64_t> out;
  out.reserve(rs.size());
  for (const auto& r : rs) out.push_back(r.seq);
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t i = from; i <= to; ++i) out.push_back(i);
  return out;
}

std::vector<std::string> segmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().filename().string().rfind("seg-", 0) == 0) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

// A 100-byte payload that names its record, so a reader can tell a wrong or damaged one.
std::string payloadFor(std::uint64_t i) {
  std::string p = "record-" + std::to_string(i) + "-";
  while (p.size() < 100) p.push_back(static_cast<char>('a' + (p.size() + i) % 26));
  return p;
}
constexpr std::size_t kFrame = kRec + 100;

void xorByte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f) << path;
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

// ------------------------------------------------------------------ checksum and policy
TEST(Crc32c, MatchesTheStandardCheckValues) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c("56789", crc32c("1234")), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  // RFC 3720, B.4.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
}

// Bit by bit, straight from the definition, to check both the fast paths against.
std::uint32_t crc32cReference(std::string_view bytes, std::uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

TEST(Crc32c, AgreesWithTheBitwiseDefinitionAtEveryLengthAndAlignment) {
  std::string data;
  std::uint32_t x = 12345;
  for (int i = 0; i < 600; ++i) {
    x = x * 1664525u + 1013904223u;
    data.push_back(static_cast<char>(x >> 24));
  }
  for (std::size_t start = 0; start < 9; ++start) {
    for (std::size_t len = 0; start + len <= data.size(); len += (len < 40 ? 1 : 37)) {
      const std::string_view piece = std::string_view(data).substr(start, len);
      const std::uint32_t want = crc32cReference(piece, 0x1234u);
      ASSERT_EQ(crc32c(piece, 0x1234u), want) << start << "+" << len;
      ASSERT_EQ(detail::crc32cSoftware(piece, 0x1234u), want) << start << "+" << len;
    }
  }
}

TEST(FsyncPolicy, ParsesAlwaysNeverAndBatchForms) {
  EXPECT_EQ(parseFsyncPolicy("always")->mode, FsyncMode::Always);
  EXPECT_EQ(parseFsyncPolicy(" never ")->mode, FsyncMode::Never);
  auto batch = parseFsyncPolicy("batch");
  ASSERT_TRUE(batch) << batch.message();
  EXPECT_EQ(batch->mode, FsyncMode::Batch);
  EXPECT_EQ(batch->everyRecords, 64u);
  EXPECT_EQ(batch->everyBytes, 1u << 20);

  auto records = parseFsyncPolicy("batch:100");
  ASSERT_TRUE(records) << records.message();
  EXPECT_EQ(records->everyRecords, 100u);
  EXPECT_EQ(records->everyBytes, 0u);

  auto bytes = parseFsyncPolicy("batch:256KiB");
  ASSERT_TRUE(bytes) << bytes.message();
  EXPECT_EQ(bytes->everyRecords, 0u);
  EXPECT_EQ(bytes->everyBytes, 256u * 1024);

  auto both = parseFsyncPolicy("batch: 2MiB , 10");
  ASSERT_TRUE(both) << both.message();
  EXPECT_EQ(both->everyRecords, 10u);
  EXPECT_EQ(both->everyBytes, 2u << 20);
  EXPECT_EQ(parseFsyncPolicy("batch:512B")->everyBytes, 512u);
}

TEST(FsyncPolicy, RejectsUnknownOrMalformedPoliciesWithTheReason) {
  for (const char* bad : {"", "sometimes", "Always", "batch:", "batch:0", "batch:-1", "batch:10,20",
                          "batch:1KiB,2KiB", "batch:10KB", "batch:x", "batch:1,,2"}) {
    auto r = parseFsyncPolicy(bad);
    EXPECT_FALSE(r) << "'" << bad << "' was accepted";
    if (!r) {
      EXPECT_NE(r.message().find(std::string("'") + bad + "'"), std::string::npos) << r.message();
      EXPECT_NE(r.message().find("expected always, never, batch"), std::string::npos)
          << r.message();
    }
  }
}

TEST(FsyncPolicy, RoundTripsThroughItsText) {
  for (const char* text :
       {"always", "never", "batch:64,1MiB", "batch:100", "batch:300B", "batch:3GiB"}) {
    auto p = parseFsyncPolicy(text);
    ASSERT_TRUE(p) << p.message();
    EXPECT_EQ(toString(*p), text);
  }
}

// ------------------------------------------------------------------ append, peek, ack
TEST(Spool, AppendsAndPeeksRecordsInOrderWithIncreasingSequenceNumbers) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(appendOk(*spool, "alpha"), 1u);
  EXPECT_EQ(appendOk(*spool, ""), 2u);
  EXPECT_EQ(appendOk(*spool, std::string("bin\0ary", 7)), 3u);
  const auto got = peekAll(*spool);
  ASSERT_EQ(seqs(got), range(1, 3));
  EXPECT_EQ(got[0].payload, "alpha");
  EXPECT_EQ(got[1].payload, "");
  EXPECT_EQ(got[2].payload, std::string("bin\0ary", 7));
  const auto st = spool->stats();
  EXPECT_EQ(st.depthRecords, 3u);
  EXPECT_EQ(st.depthBytes, kHdr + 3 * kRec + 5 + 0 + 7);
  EXPECT_EQ(st.nextSeq, 4u);
  EXPECT_EQ(st.appended, 3u);
}

TEST(Spool, PeekReturnsTheSameRecordsUntilTheyAreAcknowledged) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 1; i <= 5; ++i) appendOk(*spool, payloadFor(i));
  EXPECT_EQ(seqs(*spool->peek(2)), range(1, 2));
  EXPECT_EQ(seqs(*spool->peek(2)), range(1, 2));
  ASSERT_TRUE(spool->ack(2));
  EXPECT_EQ(seqs(*spool->peek(2)), range(3, 4));
  // Acknowledging less than was peeked leaves the rest to be delivered again.
  ASSERT_TRUE(spool->ack(3));
  const auto rest = peekAll(*spool);
  ASSERT_EQ(seqs(rest), range(4, 5));
  EXPECT_EQ(rest[1].payload, payloadFor(5));
  ASSERT_TRUE(spool->ack(5));
  EXPECT_TRUE(peekAll(*spool).empty());
  EXPECT_EQ(spool->stats().depthRecords, 0u);
  EXPECT_EQ(spool->stats().ackedSeq, 5u);
}

TEST(Spool, LimitsAPeekByPayloadBytesButAlwaysReturnsAtLeastOneRecord) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 1; i <= 4; ++i) appendOk(*spool, payloadFor(i));
  EXPECT_EQ(spool->peek(10, 10)->size(), 1u);
  EXPECT_EQ(spool->peek(10, 150)->size(), 1u);
  EXPECT_EQ(spool->peek(10, 200)->size(), 2u);
  EXPECT_EQ(spool->peek(3, 1000)->size(), 3u);
}

TEST(Spool, AcknowledgingAgainOrBackwardsIsANoOpButBeyondTheLastRecordIsAnError) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  appendOk(*spool, "a");
  appendOk(*spool, "b");
  EXPECT_TRUE(spool->ack(0));
  EXPECT_TRUE(spool->ack(2));
  EXPECT_TRUE(spool->ack(1));
  EXPECT_EQ(spool->stats().ackedSeq, 2u);
  auto r = spool->ack(3);
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("cannot acknowledge record 3"), std::string::npos) << r.message();
  EXPECT_NE(r.message().find(dir.path()), std::string::npos) << r.message();
}

TEST(Spool, RefusesARecordOverTheSizeLimitAndKeepsWorking) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  auto r = spool->append(std::string(201, 'x'));
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find("exceeds maxRecordBytes (200)"), std::string::npos) << r.message();
  EXPECT_EQ(appendOk(*spool, std::string(200, 'y')), 1u);
  EXPECT_EQ(peekAll(*spool).size(), 1u);
}

// ------------------------------------------------------------------ restart
TEST(Spool, ReplaysUnacknowledgedRecordsInOrderAfterReopen) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 30; ++i) appendOk(*spool, payloadFor(i));
    ASSERT_EQ(spool->peek(12)->size(), 12u);
    ASSERT_TRUE(spool->ack(12));
  }
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  const auto got = peekAll(*spool);
  ASSERT_EQ(seqs(got), range(13, 30));
  for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
  const auto st = spool->stats();
  EXPECT_EQ(st.ackedSeq, 12u);
  EXPECT_EQ(st.depthRecords, 18u);
  EXPECT_EQ(st.corruptTruncations, 0u);
  EXPECT_EQ(appendOk(*spool, payloadFor(31)), 31u);
}

TEST(Spool, NeverReusesSequenceNumbersEvenAfterEverythingWasAcknowledgedAndDeleted) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 20; ++i) appendOk(*spool, payloadFor(i));
    ASSERT_TRUE(spool->ack(20));
  }
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_TRUE(peekAll(*spool).empty());
  EXPECT_EQ(appendOk(*spool, "next"), 21u);
}

TEST(Spool, RefusesASecondOpenOfTheSameDirectory) {
  TempDir dir;
  auto first = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(first);
  auto second = Spool::open(smallOptions(dir.path()));
  ASSERT_FALSE(second);
  EXPECT_NE(second.message().find("already open"), std::string::npos) << second.message();
  EXPECT_NE(second.message().find(dir.sub("LOCK")), std::string::npos) << second.message();
  first.reset();
  EXPECT_TRUE(Spool::open(smallOptions(dir.path())));
}

TEST(Spool, ReportsAnUnusableDirectoryWithItsPath) {
  TempDir dir;
  std::ofstream(dir.sub("file")) << "not a directory";
  auto r = Spool::open(smallOptions(dir.sub("file/spool")));
  ASSERT_FALSE(r);
  EXPECT_NE(r.message().find(dir.sub("file/spool")), std::string::npos) << r.message();
}

TEST(Spool, RejectsInconsistentOptions) {
  TempDir dir;
  auto o = smallOptions(dir.path());
  o.maxBytes = o.segmentBytes;
  EXPECT_NE(Spool::open(o).message().find("at least twice segmentBytes"), std::string::npos);
  o = smallOptions(dir.path());
  o.maxRecordBytes = 2000;
  EXPECT_NE(Spool::open(o).message().find("must hold at least one record"), std::string::npos);
  o = smallOptions(dir.path());
  o.fsync.mode = FsyncMode::Batch;
  o.fsync.everyRecords = 0;
  o.fsync.everyBytes = 0;
  EXPECT_NE(Spool::open(o).message().find("needs a record or byte threshold"), std::string::npos);
  o = smallOptions("");
  EXPECT_FALSE(Spool::open(o));
}

// ------------------------------------------------------------------ segments and the bound
TEST(Spool, RollsOverAcrossSegmentsAndDeletesThemOnceAcknowledged) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 50; ++i) appendOk(*spool, payloadFor(i));
    // (1024 - 16) / 116 = 8 records per segment.
    EXPECT_EQ(segmentFiles(dir.path()).size(), 7u);
    EXPECT_EQ(spool->stats().segments, 7u);
    const auto got = peekAll(*spool);
    ASSERT_EQ(seqs(got), range(1, 50));
    for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
    ASSERT_TRUE(spool->ack(20));  // segments 1-8 and 9-16 are wholly acknowledged
    EXPECT_EQ(segmentFiles(dir.path()).size(), 5u);
    EXPECT_EQ(segmentFiles(dir.path()).front(), dir.sub(SpoolFormat::segmentFileName(17)));
  }
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(seqs(peekAll(*spool)), range(21, 50));
  ASSERT_TRUE(spool->ack(50));
  // The newest segment stays: its name carries the next sequence number.
  EXPECT_EQ(segmentFiles(dir.path()).size(), 1u);
}

TEST(Spool, DropsWholeOldestSegmentsWhenFullAndCountsOnlyUnacknowledgedRecords) {
  TempDir dir;
  auto o = smallOptions(dir.path());
  o.maxBytes = 4096;  // four segments of eight records
  {
    auto spool = openOk(o);
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 10; ++i) appendOk(*spool, payloadFor(i));
    ASSERT_TRUE(spool->ack(3));
    for (int i = 11; i <= 100; ++i) EXPECT_EQ(appendOk(*spool, payloadFor(i)), std::uint64_t(i));
    const auto st = spool->stats();
    EXPECT_LE(st.depthBytes, o.maxBytes);
    const auto got = peekAll(*spool);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(seqs(got), range(got.front().seq, 100));
    for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
    EXPECT_EQ(st.dropped, got.front().seq - 1 - 3);
    EXPECT_EQ(st.depthRecords, got.size());
    EXPECT_EQ(st.ackedSeq, got.front().seq - 1);
  }
  // Kept across restarts.
  auto spool = openOk(o);
  ASSERT_TRUE(spool);
  const auto got = peekAll(*spool);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(spool->stats().dropped, got.front().seq - 1 - 3);
  EXPECT_EQ(got.back().seq, 100u);
}

TEST(Spool, CountsSegmentsLostBeforeTheStateFileRecordedTheDropAsDropped) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 20; ++i) appendOk(*spool, payloadFor(i));
  }
  // As if the bound unlinked the first segment and the process died before writing the state.
  fs::remove(dir.sub(SpoolFormat::segmentFileName(1)));
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(seqs(peekAll(*spool)), range(9, 20));
  EXPECT_EQ(spool->stats().dropped, 8u);
  EXPECT_EQ(spool->stats().ackedSeq, 8u);
}

// ------------------------------------------------------------------ damage
TEST(Spool, TruncatesATornTailOnOpenAndNeverReusesItsSequenceNumber) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 5; ++i) appendOk(*spool, payloadFor(i));
  }
  const std::string seg = dir.sub(SpoolFormat::segmentFileName(1));
  fs::resize_file(seg, kHdr + 5 * kFrame - 7);
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  const auto got = peekAll(*spool);
  EXPECT_EQ(seqs(got), range(1, 4));
  const auto st = spool->stats();
  EXPECT_EQ(st.corruptTruncations, 1u);
  EXPECT_EQ(st.corruptBytes, kFrame - 7);
  EXPECT_EQ(fs::file_size(seg), kHdr + 4 * kFrame);
  // Number 5 may have been seen by a consumer before the power went: it is never handed out again.
  EXPECT_GT(appendOk(*spool, "after"), 5u);
  EXPECT_EQ(peekAll(*spool).back().payload, "after");
}

TEST(Spool, TruncatesAGarbledLastRecordOnOpen) {
  for (std::uint64_t where : {0u, 5u, 9u, 40u, 115u}) {  // crc, length, seq, payload, last byte
    TempDir dir;
    {
      auto spool = openOk(smallOptions(dir.path()));
      ASSERT_TRUE(spool);
      for (int i = 1; i <= 5; ++i) appendOk(*spool, payloadFor(i));
    }
    xorByte(dir.sub(SpoolFormat::segmentFileName(1)), kHdr + 4 * kFrame + where);
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    const auto got = peekAll(*spool);
    EXPECT_EQ(seqs(got), range(1, 4)) << "byte " << where;
    for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
    EXPECT_EQ(spool->stats().corruptTruncations, 1u);
  }
}

TEST(Spool, KeepsLaterSegmentsWhenARecordInTheMiddleIsCorrupt) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 20; ++i) appendOk(*spool, payloadFor(i));
  }
  xorByte(dir.sub(SpoolFormat::segmentFileName(1)), kHdr + 2 * kFrame + 50);  // record 3
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  const auto got = peekAll(*spool);
  std::vector<std::uint64_t> want = {1, 2};
  for (std::uint64_t i = 9; i <= 20; ++i) want.push_back(i);
  EXPECT_EQ(seqs(got), want);
  for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
  EXPECT_EQ(spool->stats().corruptTruncations, 1u);
  EXPECT_EQ(spool->stats().depthRecords, 14u);
  EXPECT_EQ(appendOk(*spool, "more"), 21u);
}

TEST(Spool, NeverDeliversARecordDamagedWhileOpen) {
  TempDir dir;
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  for (int i = 1; i <= 20; ++i) appendOk(*spool, payloadFor(i));
  xorByte(dir.sub(SpoolFormat::segmentFileName(9)), kHdr + 1 * kFrame + 60);   // record 10
  xorByte(dir.sub(SpoolFormat::segmentFileName(17)), kHdr + 2 * kFrame + 60);  // record 19, active
  const auto got = peekAll(*spool);
  std::vector<std::uint64_t> want = range(1, 9);
  for (std::uint64_t i = 17; i <= 18; ++i) want.push_back(i);
  EXPECT_EQ(seqs(got), want);
  for (const auto& r : got) EXPECT_EQ(r.payload, payloadFor(r.seq));
  EXPECT_EQ(spool->stats().corruptTruncations, 2u);
  // The damaged active segment is closed for appends; new records go on in order after it.
  const auto next = appendOk(*spool, payloadFor(21));
  EXPECT_GE(next, 21u);
  EXPECT_EQ(peekAll(*spool).back().seq, next);
  ASSERT_TRUE(spool->ack(next));
  EXPECT_EQ(spool->stats().depthRecords, 0u);
}

TEST(Spool, RecoversASegmentWhoseCreationWasCutShort) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 8; ++i) appendOk(*spool, payloadFor(i));
  }
  std::ofstream(dir.sub(SpoolFormat::segmentFileName(9))) << "AISPO";  // header torn after 5 bytes
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  EXPECT_EQ(seqs(peekAll(*spool)), range(1, 8));
  EXPECT_EQ(spool->stats().corruptTruncations, 1u);
  const auto next = appendOk(*spool, payloadFor(9));
  EXPECT_GE(next, 9u);
  EXPECT_EQ(peekAll(*spool).back().payload, payloadFor(9));
}

TEST(Spool, RedeliversEverythingLeftWhenTheStateFileIsDamaged) {
  TempDir dir;
  {
    auto spool = openOk(smallOptions(dir.path()));
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 20; ++i) appendOk(*spool, payloadFor(i));
    ASSERT_TRUE(spool->ack(10));
  }
  xorByte(dir.sub("state"), 9);
  auto spool = openOk(smallOptions(dir.path()));
  ASSERT_TRUE(spool);
  // Segment 1-8 is gone; 9 and 10 were acknowledged but at-least-once beats losing 11-20.
  EXPECT_EQ(seqs(peekAll(*spool)), range(9, 20));
  EXPECT_EQ(spool->stats().corruptTruncations, 1u);
  EXPECT_EQ(appendOk(*spool, "x"), 21u);
}

// ------------------------------------------------------------------ fsync policy in effect
TEST(Spool, SyncsAsOftenAsThePolicySays) {
  struct Case {
    const char* policy;
    std::uint64_t syncs;
  };
  // 10 appends of 116-byte frames in one 8 KiB segment.
  for (const Case c : {Case{"always", 10}, Case{"never", 0}, Case{"batch:3", 3},
                       Case{"batch:256B", 3}, Case{"batch:4,300B", 3}}) {
    TempDir dir;
    auto o = smallOptions(dir.path());
    o.segmentBytes = 8192;
    o.maxBytes = 65536;
    o.fsync = *parseFsyncPolicy(c.policy);
    auto spool = openOk(o);
    ASSERT_TRUE(spool);
    for (int i = 1; i <= 10; ++i) appendOk(*spool, payloadFor(i));
    EXPECT_EQ(spool->stats().syncs, c.syncs) << c.policy;
    ASSERT_TRUE(spool->sync());
    EXPECT_EQ(spool->stats().syncs, c.syncs + (c.syncs == 3 ? 1 : 0)) << c.policy;
  }
}

// ------------------------------------------------------------------ threads
TEST(Spool, DeliversEveryRecordOnceInOrderToAConsumerThreadWhileTheProducerAppends) {
  TempDir dir;
  auto o = smallOptions(dir.path());
  o.maxBytes = 1 << 20;  // no drops: every record must arrive
  auto spool = openOk(o);
  ASSERT_TRUE(spool);
  constexpr std::uint64_t kCount = 2000;
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= kCount; ++i) appendOk(*spool, payloadFor(i));
  });
  std::uint64_t expect = 1;
  while (expect <= kCount) {
    if (!spool->waitForRecords(std::chrono::seconds(10))) break;  // a hang, not pacing
    auto batch = spool->peek(128);
    ASSERT_TRUE(batch) << batch.message();
    for (const auto& r : *batch) {
      ASSERT_EQ(r.seq, expect);
      ASSERT_EQ(r.payload, payloadFor(expect));
      ++expect;
    }
    ASSERT_TRUE(spool->ack(batch->back().seq));
  }
  producer.join();
  EXPECT_EQ(expect, kCount + 1);
  EXPECT_EQ(spool->stats().depthRecords, 0u);
  EXPECT_EQ(spool->stats().segments, 1u);
}

TEST(Spool, NeverBlocksTheProducerWhenTheConsumerFallsBehind) {
  TempDir dir;
  auto o = smallOptions(dir.path());
  o.maxBytes = 4096;
  auto spool = openOk(o);
  ASSERT_TRUE(spool);
  constexpr std::uint64_t kCount = 500;
  std::thread producer([&] {
    for (std::uint64_t i = 1; i <= kCount; ++i) appendOk(*spool, payloadFor(i));
  });
  std::uint64_t delivered = 0, last = 0;
  while (last < kCount) {
    if (!spool->waitForRecords(std::chrono::seconds(10))) break;
    auto batch = spool->peek(10);
    ASSERT_TRUE(batch) << batch.message();
    for (const auto& r : *batch) {
      ASSERT_GT(r.seq, last);
      ASSERT_EQ(r.payload, payloadFor(r.seq));
      last = r.seq;
      ++delivered;
    }
    ASSERT_TRUE(spool->ack(last));
  }
  producer.join();
  EXPECT_EQ(last, kCount);
  // Each record was delivered (once: the sequence numbers only went up) or counted as dropped; a
  // record dropped between peek and ack is both.
  EXPECT_LE(delivered, kCount);
  EXPECT_GE(delivered + spool->stats().dropped, kCount);
  EXPECT_GT(spool->stats().dropped, 0u);
  EXPECT_LE(spool->stats().depthBytes, o.maxBytes);
}

}  // namespace
}  // namespace aisle
