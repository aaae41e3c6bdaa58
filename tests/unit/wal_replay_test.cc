// Tests of WAL recovery (wal/replay, wal/segment_scan) over logs written by the real LogWriter on
// MemEnv: payloads come back exactly and in LSN order across rotated segments and resumed
// segments; checkpoint-style replay starts after the checkpoint and lists obsolete segments;
// missing, foreign and misnamed segments are Corruption; and the torn-tail vs mid-log-corruption
// policy of research/storage_reliability.md §1.8(d), case by case in the spirit of LevelDB's
// log_test catalogue.
//
// The corruption sweep (WalCorruptionSweep) builds a two-segment log and, for every byte offset of
// every segment file, flips a bit, truncates the file there, and zeroes 16 and 512 bytes from
// there, replaying each damaged copy. An exact model of the policy predicts each outcome:
//   - OK with exactly the records before the damage (byte-identical, in order), with torn_tail
//     set when something non-zero follows the intact records of the last segment;
//   - Corruption when the damage is in a non-last segment, in a segment header, or in a record
//     that an intact later record's synced_lsn declares durable;
// and never a modified payload, a record after a gap, or a crash.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "loci/env.h"
#include "tests/testutil.h"
#include "wal/format.h"
#include "wal/log_writer.h"
#include "wal/replay.h"
#include "wal/segment_scan.h"

namespace loci::wal {
namespace {

using test::Contains;

const std::string kDir = "/db";

std::string Payload(size_t n, uint32_t seed) {
  return test::RandomBytes(n, seed * 7919 + static_cast<uint32_t>(n));
}

std::string SegPath(uint64_t segment_no) { return kDir + "/" + WalSegmentFileName(segment_no); }

// memcmp-based, so the sweep stays fast in unoptimised builds.
bool AllZero(std::string_view s) {
  static const char kZeros[4096] = {};
  while (!s.empty()) {
    const size_t n = std::min(s.size(), sizeof(kZeros));
    if (std::memcmp(s.data(), kZeros, n) != 0) return false;
    s.remove_prefix(n);
  }
  return true;
}

// The index of the first byte where `a` and `b` differ, or min(a.size(), b.size()).
size_t FirstDifference(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  constexpr size_t kChunk = 64;
  size_t i = 0;
  while (i + kChunk <= n && std::memcmp(a.data() + i, b.data() + i, kChunk) == 0) i += kChunk;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

struct Written {
  Lsn lsn;
  std::string payload;
  bool operator==(const Written&) const = default;
};
void PrintTo(const Written& w, std::ostream* os) {
  *os << "{LSN " << w.lsn << ", " << w.payload.size() << " bytes}";
}

struct ReplayRun {
  Status status;
  ReplayResult result;
  std::vector<Written> got;
};

ReplayRun RunReplay(Env* env, const DbUuid& uuid, const ReplayOptions& options = {}) {
  ReplayRun run;
  run.status = ReplayWal(
      env, kDir, uuid, options,
      [&](Lsn lsn, std::string_view p) {
        run.got.push_back(Written{lsn, std::string(p)});
        return Status::OK();
      },
      &run.result);
  return run;
}

std::string ReadAll(Env* env, const std::string& path) {
  std::unique_ptr<RandomAccessFile> f;
  Status s = env->NewRandomAccessFile(path, &f);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return "";
  Result<uint64_t> size = f->Size();
  std::string out;
  EXPECT_TRUE(f->Read(0, *size, &out).ok());
  return out;
}

void WriteAll(Env* env, const std::string& path, std::string_view contents) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &f).ok());
  ASSERT_TRUE(f->Truncate(0).ok());
  ASSERT_TRUE(f->Write(0, contents).ok());
}

// Where the record with a given LSN lies, found by parsing the pristine files.
struct RecordLocation {
  uint64_t segment_no = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint8_t type = 0;
  Lsn synced_lsn = 0;
};

class WalReplayTest : public ::testing::Test {
 protected:
  WalReplayTest() : env_(NewMemEnv()), io_(env_->NewIoQueue()), uuid_(test::TestUuid(1)) {
    EXPECT_TRUE(env_->CreateDir(kDir).ok());
  }

  std::unique_ptr<LogWriter> NewWriter(uint64_t segment_bytes = 1 << 20,
                                       uint64_t preallocate_bytes = 0,
                                       std::optional<DbUuid> uuid = std::nullopt) {
    LogWriterOptions o;
    o.db_uuid = uuid.value_or(uuid_);
    o.segment_bytes = segment_bytes;
    o.preallocate_bytes = preallocate_bytes;
    return std::make_unique<LogWriter>(env_.get(), kDir, o, io_.get());
  }

  // Starts segment 1 of a fresh log.
  std::unique_ptr<LogWriter> StartLog(uint64_t segment_bytes = 1 << 20,
                                      uint64_t preallocate_bytes = 0) {
    auto w = NewWriter(segment_bytes, preallocate_bytes);
    Status s = w->StartSegment(1, 1, 0);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return w;
  }

  // Appends one group and remembers its payloads with their LSNs.
  void Append(LogWriter* w, const std::vector<std::string>& payloads, bool sync) {
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    Lsn first = 0;
    Status s = w->AppendGroup(views, sync, {}, &first);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (size_t i = 0; i < payloads.size(); ++i) expected_.push_back({first + i, payloads[i]});
  }

  // A group of `n` payloads of assorted sizes.
  void AppendSome(LogWriter* w, size_t n, bool sync) {
    std::vector<std::string> p;
    for (size_t i = 0; i < n; ++i) {
      p.push_back(Payload((counter_ * 37) % 300, counter_));
      ++counter_;
    }
    Append(w, p, sync);
  }

  ReplayRun Replay(const ReplayOptions& options = {}) {
    return RunReplay(env_.get(), uuid_, options);
  }

  std::optional<RecordLocation> Locate(Lsn lsn) {
    std::vector<uint64_t> segments;
    EXPECT_TRUE(ListSegments(env_.get(), kDir, &segments).ok());
    for (uint64_t n : segments) {
      const std::string image = ReadAll(env_.get(), SegPath(n));
      SegmentScan scan;
      if (!ScanSegment(image, SegPath(n), &scan).ok()) continue;
      for (const ScannedRecord& r : scan.records) {
        if (r.lsn != lsn) continue;
        RecordHeader h;
        std::string_view p;
        ParseRecord(std::string_view(image).substr(r.offset), RecordSeed(scan.header), &h, &p);
        return RecordLocation{n, r.offset, h.length, r.type, h.synced_lsn};
      }
    }
    return std::nullopt;
  }

  void FlipByte(const std::string& path, uint64_t offset, uint8_t mask = 0x10) {
    std::string image = ReadAll(env_.get(), path);
    ASSERT_LT(offset, image.size());
    image[offset] ^= static_cast<char>(mask);
    WriteAll(env_.get(), path, image);
  }

  void TruncateFile(const std::string& path, uint64_t size) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &f).ok());
    ASSERT_TRUE(f->Truncate(size).ok());
  }

  uint64_t FileSize(const std::string& path) {
    uint64_t size = 0;
    EXPECT_TRUE(env_->GetFileSize(path, &size).ok());
    return size;
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<IoQueue> io_;
  DbUuid uuid_;
  std::vector<Written> expected_;
  uint32_t counter_ = 1;
};

TEST_F(WalReplayTest, EmptyLogReplaysNothing) {
  auto w = StartLog();
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_TRUE(run.got.empty());
  EXPECT_EQ(run.result.batches, 0u);
  EXPECT_EQ(run.result.last_lsn, 0u);
  EXPECT_EQ(run.result.last_checksum, 0u);
  EXPECT_EQ(run.result.end_offset, kSegmentHeaderBlock);
  EXPECT_EQ(run.result.live_segments, std::vector<uint64_t>{1});
  EXPECT_EQ(run.result.last_segment_no, 1u);
  EXPECT_FALSE(run.result.torn_tail);
}

// The seal: reported while it is the log's last record, forgotten once a batch follows, and a
// certificate for every record before it (a damaged one is then Corruption, not a torn tail).
TEST_F(WalReplayTest, ASealEndsTheLogCleanlyAndCertifiesWhatPrecedesIt) {
  auto w = StartLog();
  AppendSome(w.get(), 3, /*sync=*/false);
  ASSERT_TRUE(w->Seal("seal one").ok());
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, expected_);  // the seal is not a batch
  ASSERT_TRUE(run.result.seal.has_value());
  EXPECT_EQ(*run.result.seal, "seal one");
  const std::optional<RecordLocation> seal = Locate(w->last_lsn() - 1);  // before its padding
  ASSERT_TRUE(seal.has_value());
  EXPECT_EQ(seal->type, kSealRecord);
  EXPECT_EQ(seal->synced_lsn, seal->segment_no == 1 ? w->last_lsn() - 2 : 0);

  // Non-sync records right before the seal would be a torn tail without it.
  const std::optional<RecordLocation> last_batch = Locate(expected_.back().lsn);
  ASSERT_TRUE(last_batch.has_value());
  const std::string pristine = ReadAll(env_.get(), SegPath(1));
  FlipByte(SegPath(1), last_batch->offset + kRecordHeaderSize + 1);
  run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  WriteAll(env_.get(), SegPath(1), pristine);

  AppendSome(w.get(), 1, /*sync=*/false);
  run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_FALSE(run.result.seal.has_value()) << "a batch after the seal: the log goes on";
  ASSERT_TRUE(w->Seal("seal two").ok());
  run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.result.seal, std::optional<std::string>("seal two"));
  EXPECT_EQ(run.got, expected_);
}

// A segment created with preallocation carries the tail guard from its first durable moment:
// the header block's write holds the guard's zeros too.
TEST_F(WalReplayTest, AGuardedSegmentIsBornWithItsGuard) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/1 << 16);
  SegmentHeader h;
  ASSERT_TRUE(DecodeSegmentHeader(ReadAll(env_.get(), SegPath(1)), SegPath(1), &h).ok());
  EXPECT_EQ(h.flags & kGuardedTailFlag, kGuardedTailFlag);
  EXPECT_GE(FileSize(SegPath(1)), kSegmentHeaderBlock + kTailGuard);
  ASSERT_TRUE(Replay().status.ok());
  auto unguarded = NewWriter(1 << 20, /*preallocate_bytes=*/0);
  ASSERT_TRUE(unguarded->StartSegment(2, 1, 0).ok());
  ASSERT_TRUE(DecodeSegmentHeader(ReadAll(env_.get(), SegPath(2)), SegPath(2), &h).ok());
  EXPECT_EQ(h.flags & kGuardedTailFlag, 0u);
}

// Truncation of a guarded last segment loses records: every cut that does is Corruption naming
// the file, while a segment without the guard keeps the old behaviour (a clean, shorter log).
TEST_F(WalReplayTest, CuttingAGuardedLastSegmentShortIsCorruption) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/1 << 16);
  for (int i = 0; i < 6; ++i) AppendSome(w.get(), 2, /*sync=*/i % 2 == 0);
  const std::string pristine = ReadAll(env_.get(), SegPath(1));
  const uint64_t log_end = kSegmentHeaderBlock + w->segment_used_bytes();
  ASSERT_GE(pristine.size(), log_end + kTailGuard);
  const std::optional<RecordLocation> third = Locate(3);
  ASSERT_TRUE(third.has_value());
  for (uint64_t size : {uint64_t{kSegmentHeaderBlock}, third->offset, third->offset + 50, log_end,
                        log_end + kTailGuard - 1}) {
    WriteAll(env_.get(), SegPath(1), pristine.substr(0, size));
    ReplayRun run = Replay();
    EXPECT_TRUE(run.status.IsCorruption()) << size << ": " << run.status.ToString();
    EXPECT_TRUE(Contains(run.status.message(), "cut short")) << run.status.ToString();
    EXPECT_TRUE(Contains(run.status.message(), SegPath(1))) << run.status.ToString();
  }
  WriteAll(env_.get(), SegPath(1), pristine.substr(0, log_end + kTailGuard));
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, expected_);
}

// Repairing a torn tail overwrites it with zeros in place: the file keeps its size (and the
// guard), a second replay finds a clean log, and repairing again changes nothing.
TEST_F(WalReplayTest, RepairTornTailZeroesInPlace) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/1 << 16);
  AppendSome(w.get(), 3, /*sync=*/true);
  AppendSome(w.get(), 2, /*sync=*/false);
  const std::optional<RecordLocation> torn = Locate(expected_.back().lsn);
  ASSERT_TRUE(torn.has_value());
  FlipByte(SegPath(1), torn->offset + kRecordHeaderSize + 2);
  const uint64_t size = FileSize(SegPath(1));
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_TRUE(run.result.torn_tail.has_value());
  EXPECT_EQ(run.result.torn_tail->offset, torn->offset);
  for (int repair = 0; repair < 2; ++repair) {
    ASSERT_TRUE(RepairTornTail(env_.get(), *run.result.torn_tail).ok());
    EXPECT_EQ(FileSize(SegPath(1)), size);
    ReplayRun again = Replay();
    ASSERT_TRUE(again.status.ok()) << again.status.ToString();
    EXPECT_FALSE(again.result.torn_tail.has_value());
    EXPECT_EQ(again.got, std::vector<Written>(expected_.begin(), expected_.end() - 1));
    EXPECT_TRUE(AllZero(std::string_view(ReadAll(env_.get(), SegPath(1))).substr(torn->offset)));
  }
}

TEST_F(WalReplayTest, EmptyDirectoryIsCorruption) {
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000001.log")) << run.status.ToString();
}

TEST_F(WalReplayTest, ReplayDeliversEveryPayloadInOrderWithItsLsn) {
  auto w = StartLog();
  std::vector<std::string> sizes_0_to_70;
  for (size_t n = 0; n <= 70; ++n) sizes_0_to_70.push_back(Payload(n, 100));
  Append(w.get(), sizes_0_to_70, /*sync=*/false);
  Append(w.get(), {Payload(3000, 1), Payload(4096, 2)}, /*sync=*/true);
  Append(w.get(), {Payload(1, 3)}, /*sync=*/true);
  Append(w.get(), {Payload(8, 4), Payload(9, 5)}, /*sync=*/false);
  Append(w.get(), {Payload(5000, 6)}, /*sync=*/false);
  Append(w.get(), {std::string()}, /*sync=*/true);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, expected_);
  EXPECT_EQ(run.result.batches, expected_.size());
  EXPECT_EQ(run.result.last_lsn, w->last_lsn());
  EXPECT_EQ(run.result.last_checksum, w->last_checksum());
  EXPECT_EQ(run.result.end_offset, kSegmentHeaderBlock + w->segment_used_bytes());
  EXPECT_EQ(run.result.live_segments, std::vector<uint64_t>{1});
  EXPECT_TRUE(run.result.obsolete_segments.empty());
  EXPECT_FALSE(run.result.torn_tail);
  EXPECT_EQ(run.result.live_bytes, FileSize(SegPath(1)));
  // Padding records take LSNs but are never delivered: the delivered LSNs increase with gaps
  // exactly where a sync group was padded.
  for (size_t i = 1; i < run.got.size(); ++i) EXPECT_LT(run.got[i - 1].lsn, run.got[i].lsn);
}

TEST_F(WalReplayTest, RotationAcrossSeveralSmallSegments) {
  auto w = StartLog(/*segment_bytes=*/8192, /*preallocate_bytes=*/2048);
  for (int g = 0; g < 40; ++g) AppendSome(w.get(), 1 + g % 3, /*sync=*/g % 4 == 1);
  ASSERT_GE(w->segment_no(), 4u);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, expected_);
  std::vector<uint64_t> all;
  for (uint64_t n = 1; n <= w->segment_no(); ++n) all.push_back(n);
  EXPECT_EQ(run.result.live_segments, all);
  EXPECT_EQ(run.result.last_segment_no, w->segment_no());
  EXPECT_EQ(run.result.last_lsn, w->last_lsn());
  EXPECT_FALSE(run.result.torn_tail);

  // Each segment header continues the chain of the one before it.
  Lsn next = 1;
  uint64_t prev = 0;
  for (uint64_t n : all) {
    SegmentScan scan;
    const std::string image = ReadAll(env_.get(), SegPath(n));
    ASSERT_TRUE(ScanSegment(image, SegPath(n), &scan).ok());
    EXPECT_EQ(scan.header.segment_no, n);
    EXPECT_EQ(scan.header.first_lsn, next);
    EXPECT_EQ(scan.header.prev_checksum, prev);
    EXPECT_EQ(scan.header.db_uuid, uuid_);
    EXPECT_FALSE(scan.damaged) << n;
    next = scan.last_lsn + 1;
    prev = scan.last_checksum;
  }
}

TEST_F(WalReplayTest, ResumeSegmentContinuesTheLog) {
  for (uint64_t prealloc : {uint64_t{0}, uint64_t{16384}}) {
    SCOPED_TRACE("preallocate_bytes " + std::to_string(prealloc));
    env_ = NewMemEnv();
    io_ = env_->NewIoQueue();
    ASSERT_TRUE(env_->CreateDir(kDir).ok());
    expected_.clear();
    {
      auto w = StartLog(1 << 20, prealloc);
      AppendSome(w.get(), 3, true);
      AppendSome(w.get(), 2, false);
    }
    ReplayRun first = Replay();
    ASSERT_TRUE(first.status.ok()) << first.status.ToString();
    ASSERT_EQ(first.got, expected_);

    auto w = NewWriter(1 << 20, prealloc);
    Status s = w->ResumeSegment(first.result.live_segments.back(), first.result.end_offset,
                                first.result.last_lsn + 1, first.result.last_checksum);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(w->last_lsn(), first.result.last_lsn);
    EXPECT_EQ(w->synced_lsn(), first.result.last_lsn);
    AppendSome(w.get(), 2, false);
    AppendSome(w.get(), 1, true);
    ASSERT_TRUE(w->Rotate().ok());
    AppendSome(w.get(), 2, false);

    ReplayRun second = Replay();
    ASSERT_TRUE(second.status.ok()) << second.status.ToString();
    EXPECT_EQ(second.got, expected_);
    EXPECT_EQ(second.result.live_segments, (std::vector<uint64_t>{1, 2}));
    EXPECT_FALSE(second.result.torn_tail);
  }
}

TEST_F(WalReplayTest, ResumeSegmentPastTheEndOfTheFileIsRejected) {
  { auto w = StartLog(); }
  auto w = NewWriter();
  EXPECT_TRUE(w->ResumeSegment(1, FileSize(SegPath(1)) + 8, 1, 0).IsInvalidArgument());
  auto w2 = NewWriter();
  EXPECT_TRUE(w2->ResumeSegment(1, 100, 1, 0).IsInvalidArgument());
}

TEST_F(WalReplayTest, ResumeAfterTruncatingATornTail) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
    AppendSome(w.get(), 3, false);
  }
  const Lsn last = expected_.back().lsn;
  std::optional<RecordLocation> loc = Locate(last);
  ASSERT_TRUE(loc);
  TruncateFile(SegPath(1), loc->offset + 20);  // mid-header of the last record

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_TRUE(run.result.torn_tail);
  EXPECT_EQ(run.result.torn_tail->offset, loc->offset);
  expected_.pop_back();
  EXPECT_EQ(run.got, expected_);

  TruncateFile(SegPath(1), run.result.torn_tail->offset);
  auto w = NewWriter();
  ASSERT_TRUE(w->ResumeSegment(1, run.result.torn_tail->offset, run.result.last_lsn + 1,
                               run.result.last_checksum)
                  .ok());
  AppendSome(w.get(), 2, false);
  ReplayRun again = Replay();
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_FALSE(again.result.torn_tail);
  EXPECT_EQ(again.got, expected_);
}

// A checkpoint rotates the log and records (first segment, LSN, checksum) in the superblock;
// replay then starts at that segment and lists the older ones as obsolete.
TEST_F(WalReplayTest, CheckpointStyleReplayStartsAfterTheCheckpoint) {
  auto w = StartLog();
  AppendSome(w.get(), 3, true);
  AppendSome(w.get(), 2, false);
  Result<uint64_t> seg2 = w->Rotate();
  ASSERT_TRUE(seg2.ok());
  ASSERT_EQ(*seg2, 2u);
  const Lsn ckpt1_lsn = w->last_lsn();
  const uint64_t ckpt1_checksum = w->last_checksum();
  const size_t ckpt1_count = expected_.size();
  AppendSome(w.get(), 2, false);
  AppendSome(w.get(), 1, true);
  ASSERT_EQ(*w->Rotate(), 3u);
  const Lsn ckpt2_lsn = w->last_lsn();
  const uint64_t ckpt2_checksum = w->last_checksum();
  const size_t ckpt2_count = expected_.size();
  AppendSome(w.get(), 4, false);

  ReplayOptions o;
  o.first_segment_no = 2;
  o.after_lsn = ckpt1_lsn;
  o.after_checksum = ckpt1_checksum;
  ReplayRun run = Replay(o);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin() + ckpt1_count, expected_.end()));
  EXPECT_EQ(run.result.obsolete_segments, std::vector<uint64_t>{1});
  EXPECT_EQ(run.result.live_segments, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(run.result.last_lsn, w->last_lsn());

  o.first_segment_no = 3;
  o.after_lsn = ckpt2_lsn;
  o.after_checksum = ckpt2_checksum;
  run = Replay(o);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin() + ckpt2_count, expected_.end()));
  EXPECT_EQ(run.result.obsolete_segments, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(run.result.live_segments, std::vector<uint64_t>{3});

  // Obsolete segments may already be gone.
  ASSERT_TRUE(env_->RemoveFile(SegPath(1)).ok());
  run = Replay(o);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.result.obsolete_segments, std::vector<uint64_t>{2});
}

TEST_F(WalReplayTest, CheckpointThatDoesNotMatchTheLogIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 3, true);
  ASSERT_TRUE(w->Rotate().ok());
  const Lsn lsn = w->last_lsn();
  const uint64_t checksum = w->last_checksum();
  AppendSome(w.get(), 2, false);

  ReplayOptions o;
  o.first_segment_no = 2;
  o.after_lsn = lsn;
  o.after_checksum = checksum ^ 1;
  ReplayRun run = Replay(o);
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000002.log")) << run.status.ToString();
  EXPECT_TRUE(run.got.empty());

  o.after_checksum = checksum;
  o.after_lsn = lsn - 1;
  run = Replay(o);
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(run.got.empty());

  // A superblock naming segment 1 while the log's first segment file is segment 2.
  ASSERT_TRUE(env_->RemoveFile(SegPath(1)).ok());
  o = ReplayOptions();
  run = Replay(o);
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000001.log")) << run.status.ToString();
}

TEST_F(WalReplayTest, MissingFirstLiveSegmentIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  ReplayOptions o;
  o.first_segment_no = 2;
  o.after_lsn = w->last_lsn();
  o.after_checksum = w->last_checksum();
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(env_->RemoveFile(SegPath(2)).ok());
  ReplayRun run = Replay(o);
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000002.log")) << run.status.ToString();
}

TEST_F(WalReplayTest, MissingMiddleSegmentIsCorruption) {
  auto w = StartLog(/*segment_bytes=*/8192);
  for (int g = 0; g < 12; ++g) AppendSome(w.get(), 2, g % 2 == 0);
  ASSERT_GE(w->segment_no(), 3u);
  ASSERT_TRUE(env_->RemoveFile(SegPath(2)).ok());
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000002.log")) << run.status.ToString();
  // What was delivered before the gap is a true prefix.
  ASSERT_LE(run.got.size(), expected_.size());
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.begin() + run.got.size()));
}

TEST_F(WalReplayTest, SegmentOfAnotherDatabaseIsCorruption) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
  }
  ReplayRun run = RunReplay(env_.get(), test::TestUuid(9));
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000001.log")) << run.status.ToString();
  EXPECT_TRUE(run.got.empty());
}

TEST_F(WalReplayTest, ForeignSegmentInTheMiddleIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 2, true);
  const Lsn next = w->last_lsn() + 1;
  const uint64_t chain = w->last_checksum();
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);

  // Another database's segment 2, continuing the same LSN and checksum chain.
  ASSERT_TRUE(env_->RemoveFile(SegPath(2)).ok());
  auto foreign = NewWriter(1 << 20, 0, test::TestUuid(7));
  ASSERT_TRUE(foreign->StartSegment(2, next, chain).ok());
  std::vector<std::string_view> p = {"intruder"};
  Lsn first;
  ASSERT_TRUE(foreign->AppendGroup(p, true, {}, &first).ok());

  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000002.log")) << run.status.ToString();
  for (const Written& g : run.got) EXPECT_NE(g.payload, "intruder");
}

TEST_F(WalReplayTest, SegmentUnderAnotherNumberIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  // Segment 3's bytes under segment 2's name.
  WriteAll(env_.get(), SegPath(2), ReadAll(env_.get(), SegPath(3)));
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "wal-00000002.log")) << run.status.ToString();
}

TEST_F(WalReplayTest, HandlerErrorStopsReplay) {
  auto w = StartLog();
  for (int g = 0; g < 4; ++g) AppendSome(w.get(), 2, g % 2 == 0);
  int calls = 0;
  ReplayResult result;
  Status s = ReplayWal(
      env_.get(), kDir, uuid_, ReplayOptions(),
      [&](Lsn, std::string_view) {
        return ++calls == 3 ? Status::IOError("handler says no") : Status::OK();
      },
      &result);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "handler says no"));
  EXPECT_EQ(calls, 3);
}

TEST_F(WalReplayTest, ListSegmentsIgnoresOtherFilesAndSorts) {
  for (const char* name : {"wal-00000010.log", "wal-00000002.log", "wal-x.log", "foo",
                           "arena-00000001.blob", "wal-00000002.log.tmp", "SUPERBLOCK"}) {
    WriteAll(env_.get(), kDir + "/" + name, "x");
  }
  std::vector<uint64_t> segments;
  ASSERT_TRUE(ListSegments(env_.get(), kDir, &segments).ok());
  EXPECT_EQ(segments, (std::vector<uint64_t>{2, 10}));
}

// ---- The torn-tail catalogue (LevelDB log_test spirit) ----

TEST_F(WalReplayTest, PartialLastRecordIsATornTail) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
    Append(w.get(), {Payload(100, 1), Payload(200, 2)}, false);
  }
  std::optional<RecordLocation> loc = Locate(expected_.back().lsn);
  ASSERT_TRUE(loc);
  for (uint64_t cut : {uint64_t{1}, uint64_t{39}, uint64_t{40}, uint64_t{41}, uint64_t{239}}) {
    SCOPED_TRACE("cut after " + std::to_string(cut) + " bytes of the last record");
    const std::string pristine = ReadAll(env_.get(), SegPath(1));
    TruncateFile(SegPath(1), loc->offset + cut);
    ReplayRun run = Replay();
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    ASSERT_TRUE(run.result.torn_tail);
    EXPECT_EQ(run.result.torn_tail->offset, loc->offset);
    EXPECT_EQ(run.result.torn_tail->file, SegPath(1));
    EXPECT_EQ(run.result.torn_tail->segment_no, 1u);
    EXPECT_EQ(run.result.torn_tail->file_size, loc->offset + cut);
    EXPECT_FALSE(run.result.torn_tail->reason.empty());
    EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.end() - 1));
    EXPECT_EQ(run.result.last_lsn, expected_.back().lsn - 1);
    WriteAll(env_.get(), SegPath(1), pristine);
  }
}

// Without the last record there is nothing to tell a lost write from one never made: a clean end.
TEST_F(WalReplayTest, MissingLastRecordIsACleanEnd) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
    Append(w.get(), {Payload(100, 1), Payload(200, 2)}, false);
  }
  std::optional<RecordLocation> loc = Locate(expected_.back().lsn);
  ASSERT_TRUE(loc);
  TruncateFile(SegPath(1), loc->offset);
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_FALSE(run.result.torn_tail);
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.end() - 1));
  EXPECT_EQ(run.result.end_offset, loc->offset);
}

TEST_F(WalReplayTest, PreallocatedZeroTailIsACleanEnd) {
  {
    auto w = StartLog(1 << 20, /*preallocate_bytes=*/65536);
    AppendSome(w.get(), 2, true);
    AppendSome(w.get(), 3, false);
  }
  ASSERT_GT(FileSize(SegPath(1)), Locate(expected_.back().lsn)->offset + 4096);
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_FALSE(run.result.torn_tail);
  EXPECT_EQ(run.got, expected_);

  // A last record zeroed through to the end of the file looks the same as one never written.
  std::optional<RecordLocation> loc = Locate(expected_.back().lsn);
  std::string image = ReadAll(env_.get(), SegPath(1));
  std::fill(image.begin() + static_cast<std::ptrdiff_t>(loc->offset), image.end(), '\0');
  WriteAll(env_.get(), SegPath(1), image);
  run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_FALSE(run.result.torn_tail);
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.end() - 1));
}

TEST_F(WalReplayTest, GarbageAfterTheLastRecordIsATornTail) {
  {
    auto w = StartLog(1 << 20, /*preallocate_bytes=*/8192);
    AppendSome(w.get(), 2, true);
    AppendSome(w.get(), 2, false);
  }
  ReplayRun clean = Replay();
  ASSERT_TRUE(clean.status.ok());
  const uint64_t end = clean.result.end_offset;
  std::string image = ReadAll(env_.get(), SegPath(1));
  ASSERT_GE(image.size(), end + 100);
  const std::string garbage = Payload(100, 77);
  image.replace(end, garbage.size(), garbage);
  WriteAll(env_.get(), SegPath(1), image);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_TRUE(run.result.torn_tail);
  EXPECT_EQ(run.result.torn_tail->offset, end);
  EXPECT_EQ(run.got, expected_);
}

// A later record that made it to disk does not make the damage mid-log corruption when its
// synced_lsn says the damaged record was never acknowledged durable: it is still a torn tail, and
// the later record is dropped with it (never delivered after a gap).
TEST_F(WalReplayTest, ValidRecordAfterATornUnsyncedRegionIsStillATornTail) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);              // durable
    Append(w.get(), {Payload(64, 1)}, false);  // damaged below, never synced
    Append(w.get(), {Payload(64, 2)}, false);  // intact, synced_lsn below the damage
  }
  const Lsn damaged = expected_[2].lsn;
  std::optional<RecordLocation> victim = Locate(damaged);
  std::optional<RecordLocation> after = Locate(expected_[3].lsn);
  ASSERT_TRUE(victim && after);
  ASSERT_LT(after->synced_lsn, damaged);
  FlipByte(SegPath(1), victim->offset + kRecordHeaderSize + 10);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_TRUE(run.result.torn_tail);
  EXPECT_EQ(run.result.torn_tail->offset, victim->offset);
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.begin() + 2));
}

TEST_F(WalReplayTest, DamageToADurableRecordBeforeAnIntactLaterRecordIsCorruption) {
  {
    auto w = StartLog();
    Append(w.get(), {Payload(64, 1)}, false);  // damaged below
    AppendSome(w.get(), 1, true);              // makes it durable
    Append(w.get(), {Payload(64, 2)}, false);  // intact: its synced_lsn covers the damage
  }
  std::optional<RecordLocation> victim = Locate(expected_[0].lsn);
  std::optional<RecordLocation> after = Locate(expected_[2].lsn);
  ASSERT_TRUE(victim && after);
  ASSERT_GE(after->synced_lsn, expected_[0].lsn);
  FlipByte(SegPath(1), victim->offset + kRecordHeaderSize + 3);

  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), SegPath(1))) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "offset " + std::to_string(victim->offset)))
      << run.status.ToString();
  EXPECT_TRUE(run.got.empty());
}

TEST_F(WalReplayTest, StopAtDamageReportsInsteadOfFailing) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
    Append(w.get(), {Payload(64, 1)}, false);
    AppendSome(w.get(), 1, true);
    AppendSome(w.get(), 1, false);
  }
  std::optional<RecordLocation> victim = Locate(expected_[2].lsn);
  ASSERT_TRUE(victim);
  FlipByte(SegPath(1), victim->offset + kRecordHeaderSize);
  ASSERT_TRUE(Replay().status.IsCorruption());

  ReplayOptions o;
  o.stop_at_damage = true;
  ReplayRun run = Replay(o);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_TRUE(run.result.stopped_at);
  EXPECT_TRUE(Contains(*run.result.stopped_at, SegPath(1))) << *run.result.stopped_at;
  EXPECT_EQ(run.got, std::vector<Written>(expected_.begin(), expected_.begin() + 2));
}

TEST_F(WalReplayTest, DamageInANonLastSegmentIsCorruptionNotATornTail) {
  auto w = StartLog();
  AppendSome(w.get(), 2, false);
  Append(w.get(), {Payload(64, 1)}, false);  // the last record of segment 1, never synced...
  ASSERT_TRUE(w->Rotate().ok());             // ...until rotation made it durable
  AppendSome(w.get(), 2, false);
  std::optional<RecordLocation> victim = Locate(expected_[2].lsn);
  ASSERT_TRUE(victim);
  ASSERT_EQ(victim->segment_no, 1u);
  FlipByte(SegPath(1), victim->offset + kRecordHeaderSize + 63);

  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), SegPath(1))) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "offset " + std::to_string(victim->offset)))
      << run.status.ToString();
}

TEST_F(WalReplayTest, TruncatedNonLastSegmentIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 3, true);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  std::optional<RecordLocation> last1 = Locate(expected_[2].lsn);
  ASSERT_TRUE(last1);
  TruncateFile(SegPath(1), last1->offset + 30);
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), SegPath(1))) << run.status.ToString();
}

// Segment 1 lost its last records at a record boundary: the remaining chain ends cleanly, but
// segment 2 does not continue it. The error must point at the segment that lost data and where.
TEST_F(WalReplayTest, NonLastSegmentCutAtARecordBoundaryNamesThatSegmentAndOffset) {
  auto w = StartLog();
  AppendSome(w.get(), 3, false);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  std::optional<RecordLocation> cut = Locate(expected_[2].lsn);
  ASSERT_TRUE(cut);
  TruncateFile(SegPath(1), cut->offset);
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), SegPath(1))) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), "offset")) << run.status.ToString();
}

TEST_F(WalReplayTest, HeaderlessLastSegmentIsSetAside) {
  auto w = StartLog();
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  w.reset();
  // A crash while creating segment 2: its header never became durable (zeros, or a short file).
  for (size_t size : {size_t{0}, size_t{100}, size_t{4096}, size_t{8192}}) {
    SCOPED_TRACE("segment 2 is " + std::to_string(size) + " zero bytes");
    WriteAll(env_.get(), SegPath(2), std::string(size, '\0'));
    ReplayRun run = Replay();
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    EXPECT_EQ(run.result.headerless_segments, std::vector<uint64_t>{2});
    EXPECT_EQ(run.result.live_segments, std::vector<uint64_t>{1});
    EXPECT_EQ(run.got, expected_);
  }
}

// After a guarded segment, the next one was created by rename (LogWriter::StartSegment): under
// its real name its header was durable, so a missing header is damage, and a creation a crash
// cut short is only a temporary file replay does not read.
TEST_F(WalReplayTest, ASegmentCreatedByRenameCannotBeHeaderless) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/1 << 16);
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  w.reset();
  const std::string pristine = ReadAll(env_.get(), SegPath(2));
  WriteAll(env_.get(), kDir + "/" + WalSegmentTempFileName(3), std::string(100, 'x'));
  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.result.live_segments, (std::vector<uint64_t>{1, 2}));
  for (size_t size : {size_t{0}, size_t{100}, size_t{4096}}) {
    SCOPED_TRACE("segment 2 is " + std::to_string(size) + " zero bytes");
    WriteAll(env_.get(), SegPath(2), std::string(size, '\0'));
    run = Replay();
    EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
    EXPECT_TRUE(Contains(run.status.message(), SegPath(2))) << run.status.ToString();
  }
  WriteAll(env_.get(), SegPath(2), pristine);
  EXPECT_TRUE(Replay().status.ok());
}

TEST_F(WalReplayTest, DamagedHeaderOfALastSegmentWithRecordsIsCorruption) {
  auto w = StartLog();
  AppendSome(w.get(), 2, true);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  FlipByte(SegPath(2), 40);  // inside the header's checked part
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
  EXPECT_TRUE(Contains(run.status.message(), SegPath(2))) << run.status.ToString();
}

TEST_F(WalReplayTest, DamagedHeaderOfTheOnlySegmentIsCorruption) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
  }
  FlipByte(SegPath(1), 0);
  ReplayRun run = Replay();
  EXPECT_TRUE(run.status.IsCorruption()) << run.status.ToString();
}

// research/storage_reliability.md §1.8 and the test brief: bytes past the last record of a closed
// segment are preallocated zeros. The next segment's header chains to that segment's last intact
// record, so nothing can have been lost, and bit rot in that unused space must not make the
// database unopenable.
TEST_F(WalReplayTest, BitRotInTheZeroTailOfANonLastSegmentIsHarmless) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/8192);
  AppendSome(w.get(), 3, false);
  ASSERT_TRUE(w->Rotate().ok());
  AppendSome(w.get(), 2, true);
  w.reset();
  ReplayRun clean = Replay();
  ASSERT_TRUE(clean.status.ok());
  std::optional<RecordLocation> last1 = Locate(expected_[2].lsn);
  ASSERT_TRUE(last1);
  const uint64_t end1 = last1->offset + RecordSpan(last1->length);
  ASSERT_GT(FileSize(SegPath(1)), end1 + 100);
  FlipByte(SegPath(1), end1 + 100, 0x01);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.got, expected_);
}

// A torn write may end inside the zero padding that follows the last record's payload. The
// writer always writes the padded span, so such a record is a torn write and is dropped; either
// way recovery must resume within the file.
TEST_F(WalReplayTest, LastRecordMissingItsAlignmentPaddingCanBeResumed) {
  {
    auto w = StartLog();
    AppendSome(w.get(), 2, true);
    Append(w.get(), {Payload(13, 1)}, false);  // 3 bytes of alignment padding
  }
  std::optional<RecordLocation> last = Locate(expected_.back().lsn);
  ASSERT_TRUE(last);
  const uint64_t cut = last->offset + kRecordHeaderSize + 13;  // payload complete, padding gone
  TruncateFile(SegPath(1), cut);

  ReplayRun run = Replay();
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // Keeping the intact record or dropping it as an unsynced tail are both acceptable.
  ASSERT_TRUE(run.got == expected_ ||
              run.got == std::vector<Written>(expected_.begin(), expected_.end() - 1));
  if (run.got.size() < expected_.size()) expected_.pop_back();
  const uint64_t resume_at =
      run.result.torn_tail ? run.result.torn_tail->offset : run.result.end_offset;
  EXPECT_LE(resume_at, cut) << "recovery would resume past the end of the file";

  auto w = NewWriter();
  Status s = w->ResumeSegment(1, resume_at, run.result.last_lsn + 1, run.result.last_checksum);
  ASSERT_TRUE(s.ok()) << s.ToString();
  AppendSome(w.get(), 1, true);
  ReplayRun again = Replay();
  ASSERT_TRUE(again.status.ok()) << again.status.ToString();
  EXPECT_EQ(again.got, expected_);
}

// ---- The corruption sweep ----

enum class DamageKind { kFlip, kTruncate, kZero16, kZero512 };
const char* KindName(DamageKind k) {
  switch (k) {
    case DamageKind::kFlip:
      return "flip bit";
    case DamageKind::kTruncate:
      return "truncate";
    case DamageKind::kZero16:
      return "zero 16 B";
    case DamageKind::kZero512:
      return "zero 512 B";
  }
  return "?";
}

// What the recovery policy predicts for one damaged image.
enum class Category {
  kNoChange,         // the damage changed no byte (zeroing zeros, truncating at the end)
  kUncheckedBytes,   // only header-block padding, record alignment padding or zero tail
                     // bytes changed, and the tail still reads as zeros: OK, everything
  kZeroTailLast,     // non-zero bytes after the last record of the last segment: torn tail, all
  kZeroTailNonLast,  // non-zero bytes after the last record of a closed segment: harmless
  kHeaderDamage,     // a segment header no longer verifies: Corruption
  kHeaderlessLast,   // the last segment's header is gone and nothing follows: set aside
  kCleanEndLast,     // the last segment's records stop and only zeros follow: OK, prefix
  kCleanEndNonLast,  // a closed segment's chain stops cleanly: the next does not continue it
  kTornTail,         // damage in the last segment that nothing durable follows: OK, prefix
  kCoveredDamage,    // damage to a record an intact later record says was durable: Corruption
  kNonLastDamage,    // damage to a record of a closed segment: Corruption
  kCutShort,         // the last (guarded) segment ends within kTailGuard of its log's end, or
                     // inside a record whose header continues the chain: Corruption
  kCount
};
const char* CategoryName(Category c) {
  switch (c) {
    case Category::kNoChange:
      return "no byte changed";
    case Category::kUncheckedBytes:
      return "unchecked bytes only -> OK all";
    case Category::kZeroTailLast:
      return "last seg zero tail -> torn tail, all";
    case Category::kZeroTailNonLast:
      return "closed seg zero tail -> harmless";
    case Category::kHeaderDamage:
      return "segment header -> Corruption";
    case Category::kHeaderlessLast:
      return "last seg headerless -> set aside";
    case Category::kCleanEndLast:
      return "last seg clean end -> OK prefix";
    case Category::kCleanEndNonLast:
      return "closed seg clean end -> Corruption";
    case Category::kTornTail:
      return "torn tail -> OK prefix";
    case Category::kCoveredDamage:
      return "durable record -> Corruption";
    case Category::kNonLastDamage:
      return "closed seg record -> Corruption";
    case Category::kCutShort:
      return "last seg cut short -> Corruption";
    case Category::kCount:
      break;
  }
  return "?";
}

struct Prediction {
  Category category = Category::kNoChange;
  bool ok = true;
  size_t delivered = 0;          // OK: how many payloads (a prefix)
  std::optional<uint64_t> torn;  // OK: torn tail offset
  bool headerless = false;
  Lsn last_lsn = 0;            // OK: the last intact LSN
  uint64_t first_changed = 0;  // the first byte the damage changed
};

struct SweepRecord {
  uint64_t offset;
  uint64_t checked_end;  // what the parser checks: header, payload and zero padding
  uint64_t span_end;     // with alignment padding
  uint8_t type;
  Lsn lsn;
  Lsn synced_lsn;
  uint64_t prev_checksum;
};

struct SweepSegment {
  uint64_t segment_no;
  std::string path;
  std::string image;
  std::vector<SweepRecord> records;
  size_t batches_before = 0;  // batch records in earlier segments
  uint64_t records_end = kSegmentHeaderBlock;
  Lsn last_lsn = 0;
  bool guarded = false;  // the header has kGuardedTailFlag
};

// A handful of failures of one kind, with the total count.
struct Violations {
  size_t count = 0;
  std::map<std::string, size_t> by_category;
  std::map<std::string, std::string> example_by_category;
  void Add(const std::string& what, Category category) {
    ++count;
    const std::string key = CategoryName(category);
    if (by_category[key]++ == 0) example_by_category[key] = what;
  }
  std::string Report() const {
    std::string out = std::to_string(count) + " case(s); by predicted category:";
    for (const auto& [key, n] : by_category) {
      out += "\n  " + std::to_string(n) + " x [" + key + "], e.g. " + example_by_category.at(key);
    }
    return out;
  }
};

enum class Outcome {
  kSkipped,
  kOkAll,
  kOkCleanPrefix,
  kOkTornTail,
  kOkHeaderless,
  kCorruption,
  kOther,
  kCount
};
const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kSkipped:
      return "no change";
    case Outcome::kOkAll:
      return "OK all";
    case Outcome::kOkCleanPrefix:
      return "OK prefix, clean end";
    case Outcome::kOkTornTail:
      return "OK torn tail";
    case Outcome::kOkHeaderless:
      return "OK headerless";
    case Outcome::kCorruption:
      return "Corruption";
    case Outcome::kOther:
      return "other status";
    case Outcome::kCount:
      break;
  }
  return "?";
}

class WalCorruptionSweep : public ::testing::Test {
 protected:
  struct State {
    std::unique_ptr<Env> env;
    DbUuid uuid = test::TestUuid(3);
    std::vector<Written> payloads;
    std::vector<SweepSegment> segments;
    std::string setup_error;
    size_t cases = 0;
    size_t replays = 0;
    size_t outcome_counts[static_cast<int>(Outcome::kCount)] = {};
    size_t category_counts[static_cast<int>(Category::kCount)] = {};
    size_t category_outcomes[static_cast<int>(Category::kCount)]
                            [static_cast<int>(Outcome::kCount)] = {};
    Violations safety, policy, zero_tail_non_last, messages, resumable_end;
  };

  void SetUp() override {
    Build(&state_);
    ASSERT_TRUE(state_.setup_error.empty()) << state_.setup_error;
  }

  // Damages every offset of every segment with `kind`, replays each copy, checks every property
  // and prints the outcome counts. `must_occur`: policy branches this kind of damage must reach
  // in this log (so a change to the log cannot quietly stop exercising them).
  void SweepAndCheck(DamageKind kind, std::initializer_list<Category> must_occur);

  static void Build(State* st);
  static void Sweep(State* st, DamageKind kind);
  static Prediction Predict(const State& st, size_t k, std::string_view pristine,
                            std::string_view damaged);
  static void Check(State* st, DamageKind kind, size_t k, uint64_t at, const Prediction& p,
                    const ReplayRun& run, std::string_view damaged);

  State state_;
};

// Segment 1 (closed): non-sync, sync, non-sync, sync, non-sync groups, then a zero tail.
// Segment 2 (last):   sync S1, non-sync N1, sync S2, non-sync N2, non-sync N3, zero tail.
// Damage in N2 is followed by N3, whose synced_lsn (end of S2) is below it: a torn tail with a
// valid record after it. Damage in S1, N1 or S2 is covered by a later synced_lsn: Corruption.
void WalCorruptionSweep::Build(State* st) {
  st->env = NewMemEnv();
  Env* env = st->env.get();
  if (!env->CreateDir(kDir).ok()) {
    st->setup_error = "CreateDir";
    return;
  }
  std::unique_ptr<IoQueue> io = env->NewIoQueue();
  LogWriterOptions o;
  o.db_uuid = st->uuid;
  o.segment_bytes = 1 << 20;
  o.preallocate_bytes = 1024;
  LogWriter w(env, kDir, o, io.get());
  if (!w.StartSegment(1, 1, 0).ok()) {
    st->setup_error = "StartSegment";
    return;
  }
  uint32_t seed = 1;
  auto group = [&](std::vector<size_t> sizes, bool sync) {
    std::vector<std::string> p;
    for (size_t n : sizes) p.push_back(Payload(n, seed++));
    std::vector<std::string_view> v(p.begin(), p.end());
    Lsn first = 0;
    Status s = w.AppendGroup(v, sync, {}, &first);
    if (!s.ok()) st->setup_error = s.ToString();
    for (size_t i = 0; i < p.size(); ++i) st->payloads.push_back({first + i, p[i]});
  };
  group({0, 1, 13}, false);
  group({60, 7}, true);
  group({200}, false);
  group({33, 9, 64}, true);
  group({500, 3}, false);
  if (!w.Rotate().ok()) st->setup_error = "Rotate";
  group({20, 150}, true);
  group({40, 0}, false);
  group({99}, true);
  group({1, 77}, false);
  group({300, 5}, false);
  if (!st->setup_error.empty()) return;

  size_t batches = 0;
  for (uint64_t n : {1, 2}) {
    SweepSegment seg;
    seg.segment_no = n;
    seg.path = SegPath(n);
    seg.image = ReadAll(env, seg.path);
    seg.batches_before = batches;
    SegmentHeader h;
    if (!DecodeSegmentHeader(seg.image, seg.path, &h).ok()) {
      st->setup_error = "pristine header";
      return;
    }
    seg.guarded = (h.flags & kGuardedTailFlag) != 0;
    uint64_t pos = kSegmentHeaderBlock;
    seg.last_lsn = h.first_lsn - 1;
    while (pos < seg.image.size()) {
      RecordHeader rh;
      std::string_view payload;
      if (ParseRecord(std::string_view(seg.image).substr(pos), RecordSeed(h), &rh, &payload) !=
          ParseResult::kOk) {
        break;
      }
      // The parser checks the whole span: the checksum covers header and payload, and the
      // alignment padding must be zero.
      seg.records.push_back(SweepRecord{pos, pos + RecordSpan(rh.length),
                                        pos + RecordSpan(rh.length), rh.type, rh.lsn, rh.synced_lsn,
                                        rh.prev_checksum});
      if (rh.type == kBatchRecord) ++batches;
      seg.last_lsn = rh.lsn;
      pos += RecordSpan(rh.length);
    }
    seg.records_end = pos;
    if (!AllZero(std::string_view(seg.image).substr(std::min<uint64_t>(pos, seg.image.size())))) {
      st->setup_error = "pristine segment has garbage after its records";
      return;
    }
    if (seg.image.size() <= pos) {
      st->setup_error = "segment " + std::to_string(n) + " has no zero tail to damage";
      return;
    }
    st->segments.push_back(std::move(seg));
  }
  if (batches != st->payloads.size()) st->setup_error = "record count mismatch";
  ReplayRun pristine = RunReplay(env, st->uuid);
  if (!pristine.status.ok() || pristine.got != st->payloads || pristine.result.torn_tail) {
    st->setup_error = "the pristine log does not replay cleanly: " + pristine.status.ToString();
  }
}

// The policy model (see Category).
Prediction WalCorruptionSweep::Predict(const State& st, size_t k, std::string_view pristine,
                                       std::string_view damaged) {
  const SweepSegment& seg = st.segments[k];
  const bool last = k + 1 == st.segments.size();
  const size_t total = st.payloads.size();
  auto changed_in = [&](uint64_t lo, uint64_t hi) {
    hi = std::min<uint64_t>(hi, pristine.size());
    if (lo >= hi) return false;
    if (hi > damaged.size()) return true;
    return pristine.substr(lo, hi - lo) != damaged.substr(lo, hi - lo);
  };
  auto zero_from = [&](uint64_t off) {
    return off >= damaged.size() || AllZero(damaged.substr(off));
  };
  Prediction p;
  const uint64_t first_changed = FirstDifference(pristine, damaged);
  p.first_changed = first_changed;
  if (first_changed == pristine.size() && damaged.size() == pristine.size()) {
    p.category = Category::kNoChange;
    p.delivered = total;
    p.last_lsn = st.segments.back().last_lsn;
    return p;
  }

  if (first_changed < kSegmentHeaderSize || damaged.size() < kSegmentHeaderBlock) {
    // Only a segment created before segments were created by rename can lack its header: one
    // that follows a guarded segment cannot (LogWriter::StartSegment).
    if (last && k > 0 && !st.segments[k - 1].guarded && zero_from(kSegmentHeaderBlock)) {
      p.category = Category::kHeaderlessLast;
      p.headerless = true;
      p.delivered = seg.batches_before;
      p.last_lsn = st.segments[k - 1].last_lsn;
    } else {
      p.category = Category::kHeaderDamage;
      p.ok = false;
    }
    return p;
  }

  const SweepRecord* stop = nullptr;
  size_t batches_before_stop = 0;
  for (const SweepRecord& r : seg.records) {
    // A record is whole only with its alignment padding present (it need not be intact: the
    // checksum does not cover it).
    if (changed_in(r.offset, r.checked_end) || damaged.size() < r.span_end) {
      stop = &r;
      break;
    }
    if (r.type == kBatchRecord) ++batches_before_stop;
  }
  // The tail guard (every segment here has it): the last segment must hold kTailGuard bytes
  // past where its log ends, and cannot end inside a record whose header continues the chain
  // (a header well-formed with the expected LSN and predecessor, whatever its length says).
  if (last) {
    const uint64_t log_end = stop != nullptr ? stop->offset : seg.records_end;
    RecordHeader h;
    const bool runs_past_end = stop != nullptr && stop->offset < damaged.size() &&
                               PeekRecordHeader(damaged.substr(stop->offset), &h) &&
                               h.lsn == stop->lsn && h.prev_checksum == stop->prev_checksum &&
                               stop->offset + RecordSpan(h.length) > damaged.size();
    if (runs_past_end || damaged.size() < log_end + kTailGuard) {
      p.category = Category::kCutShort;
      p.ok = false;
      return p;
    }
  }
  if (stop != nullptr) {
    p.delivered = seg.batches_before + batches_before_stop;
    p.last_lsn = stop->lsn - 1;
    if (zero_from(stop->offset)) {
      p.category = last ? Category::kCleanEndLast : Category::kCleanEndNonLast;
      p.ok = last;
      return p;
    }
    if (!last) {
      p.category = Category::kNonLastDamage;
      p.ok = false;
      return p;
    }
    bool covered = false;
    for (const SweepRecord& r : seg.records) {
      if (r.offset > stop->offset && !changed_in(r.offset, r.checked_end) &&
          damaged.size() >= r.span_end && r.synced_lsn >= stop->lsn) {
        covered = true;
      }
    }
    if (covered) {
      p.category = Category::kCoveredDamage;
      p.ok = false;
    } else {
      p.category = Category::kTornTail;
      p.torn = stop->offset;
    }
    return p;
  }

  p.delivered = total;
  p.last_lsn = st.segments.back().last_lsn;
  if (zero_from(seg.records_end)) {
    p.category = Category::kUncheckedBytes;
  } else if (last) {
    p.category = Category::kZeroTailLast;
    p.torn = seg.records_end;
  } else {
    p.category = Category::kZeroTailNonLast;
  }
  return p;
}

void WalCorruptionSweep::Check(State* st, DamageKind kind, size_t k, uint64_t at,
                               const Prediction& p, const ReplayRun& run,
                               std::string_view damaged) {
  const SweepSegment& seg = st->segments[k];
  const std::string where =
      std::string(KindName(kind)) + " at " + seg.path + ":" + std::to_string(at) + " [" +
      CategoryName(p.category) + "] -> " + run.status.ToString() + ", " +
      std::to_string(run.got.size()) + " delivered" +
      (run.result.torn_tail ? ", torn at " + std::to_string(run.result.torn_tail->offset) : "");

  // How the engine answered.
  Outcome outcome = Outcome::kOther;
  if (run.status.ok()) {
    if (!run.result.headerless_segments.empty()) {
      outcome = Outcome::kOkHeaderless;
    } else if (run.result.torn_tail) {
      outcome = Outcome::kOkTornTail;
    } else if (run.got.size() == st->payloads.size()) {
      outcome = Outcome::kOkAll;
    } else {
      outcome = Outcome::kOkCleanPrefix;
    }
  } else if (run.status.IsCorruption()) {
    outcome = Outcome::kCorruption;
  }
  st->outcome_counts[static_cast<int>(outcome)]++;
  st->category_counts[static_cast<int>(p.category)]++;
  st->category_outcomes[static_cast<int>(p.category)][static_cast<int>(outcome)]++;

  // Safety: never wrong data, never a record after a gap, never an unexplained loss.
  bool prefix = run.got.size() <= st->payloads.size();
  for (size_t i = 0; prefix && i < run.got.size(); ++i) prefix = run.got[i] == st->payloads[i];
  if (!prefix)
    st->safety.Add(where + ": delivered something that is not a prefix of the log", p.category);
  if (outcome == Outcome::kOther) st->safety.Add(where + ": neither OK nor Corruption", p.category);
  if (run.status.ok()) {
    // Every batch record wholly before the first changed byte (its padding included, which a
    // truncation may cut) must come back.
    size_t before = seg.batches_before;
    if (p.first_changed >= kSegmentHeaderSize && damaged.size() >= kSegmentHeaderBlock) {
      for (const SweepRecord& r : seg.records) {
        if (r.checked_end > p.first_changed || r.span_end > damaged.size()) break;
        if (r.type == kBatchRecord) ++before;
      }
    }
    if (run.got.size() < before) {
      st->safety.Add(where + ": lost intact records before the damage (expected at least " +
                         std::to_string(before) + ")",
                     p.category);
    }
    // A loss goes unreported only where the damaged log simply ends in zeros, which is what an
    // unwritten tail looks like.
    if (run.got.size() < st->payloads.size() && !run.result.torn_tail &&
        run.result.headerless_segments.empty()) {
      const uint64_t end = run.result.end_offset;
      const bool clean_end = !run.result.live_segments.empty() &&
                             run.result.live_segments.back() == seg.segment_no &&
                             (end >= damaged.size() || AllZero(damaged.substr(end)));
      if (!clean_end) st->safety.Add(where + ": records lost without a torn tail", p.category);
    }
  } else if (run.status.message().empty()) {
    st->safety.Add(where + ": Corruption without a message", p.category);
  }

  // Policy: the outcome the model predicts.
  if (p.category != Category::kZeroTailNonLast) {
    bool match = p.ok == run.status.ok() && (p.ok || run.status.IsCorruption());
    if (match && p.ok) {
      match = run.got.size() == p.delivered && run.result.last_lsn == p.last_lsn &&
              run.result.torn_tail.has_value() == p.torn.has_value() &&
              (!p.torn || run.result.torn_tail->offset == *p.torn) &&
              (!p.torn || run.result.torn_tail->file == seg.path) &&
              run.result.headerless_segments.empty() != p.headerless;
    }
    if (!match) {
      std::string predicted = "Corruption";
      if (p.ok) {
        predicted = "OK with " + std::to_string(p.delivered);
        if (p.torn) predicted += ", torn at " + std::to_string(*p.torn);
      }
      st->policy.Add(where + "; predicted " + predicted, p.category);
    }
  } else if (!run.status.ok() || run.got.size() != st->payloads.size()) {
    st->zero_tail_non_last.Add(where, p.category);
  }

  // Diagnostics: a Corruption names the damaged file and a position in it (an offset, or for a
  // file cut short inside its header block, its size).
  const std::string& msg = run.status.message();
  const bool names_position =
      Contains(msg, "offset") || Contains(msg, "(" + std::to_string(damaged.size()) + " bytes)");
  if (run.status.IsCorruption() && (!Contains(msg, seg.path) || !names_position)) {
    st->messages.Add(where, p.category);
  }

  // Recovery resumes the last live segment at the torn offset or end_offset: within the file.
  if (run.status.ok() && !run.result.live_segments.empty()) {
    const uint64_t resumed = run.result.live_segments.back();
    uint64_t size = 0;
    for (const SweepSegment& s : st->segments) {
      if (s.segment_no == resumed) size = s.image.size();
    }
    if (resumed == seg.segment_no) size = damaged.size();
    const uint64_t resume_at =
        run.result.torn_tail ? run.result.torn_tail->offset : run.result.end_offset;
    if (resume_at > size || resume_at < kSegmentHeaderBlock) {
      st->resumable_end.Add(where + ": resume offset " + std::to_string(resume_at) +
                                ", file size " + std::to_string(size),
                            p.category);
    }
  }
}

void WalCorruptionSweep::Sweep(State* st, DamageKind kind) {
  Env* env = st->env.get();
  for (size_t k = 0; k < st->segments.size(); ++k) {
    const SweepSegment& seg = st->segments[k];
    const std::string& pristine = seg.image;
    std::unique_ptr<WritableFile> file;
    if (!env->NewWritableFile(seg.path, Env::OpenMode::kOpenExisting, &file).ok()) {
      st->setup_error = "reopen " + seg.path;
      return;
    }
    std::string damaged;
    for (uint64_t at = 0; at < pristine.size(); ++at) {
      damaged = pristine;
      switch (kind) {
        case DamageKind::kFlip:
          damaged[at] ^= static_cast<char>(1 << ((at + at / 8) % 8));
          break;
        case DamageKind::kTruncate:
          damaged.resize(at);
          break;
        case DamageKind::kZero16:
        case DamageKind::kZero512: {
          const uint64_t n = kind == DamageKind::kZero16 ? 16 : 512;
          std::fill_n(damaged.begin() + static_cast<std::ptrdiff_t>(at),
                      std::min<uint64_t>(n, pristine.size() - at), '\0');
          break;
        }
      }
      ++st->cases;
      const Prediction p = Predict(*st, k, pristine, damaged);
      if (p.category == Category::kNoChange) {
        // Same bytes as the pristine log, whose replay Build verified.
        st->outcome_counts[static_cast<int>(Outcome::kSkipped)]++;
        st->category_counts[static_cast<int>(p.category)]++;
        continue;
      }
      Status s = file->Truncate(0);
      if (s.ok()) s = file->Write(0, damaged);
      if (!s.ok()) {
        st->setup_error = s.ToString();
        return;
      }
      ++st->replays;
      ReplayRun run = RunReplay(env, st->uuid);
      Check(st, kind, k, at, p, run, damaged);
    }
    Status s = file->Truncate(0);
    if (s.ok()) s = file->Write(0, pristine);
    if (!s.ok()) {
      st->setup_error = s.ToString();
      return;
    }
  }
}

void WalCorruptionSweep::SweepAndCheck(DamageKind kind,
                                       std::initializer_list<Category> must_occur) {
  State& st = state_;
  Sweep(&st, kind);
  ASSERT_TRUE(st.setup_error.empty()) << st.setup_error;

  std::printf(
      "WAL corruption sweep, %s at every offset: %zu + %zu segment bytes, %zu payloads, "
      "%zu cases, %zu replays\n",
      KindName(kind), st.segments[0].image.size(), st.segments[1].image.size(), st.payloads.size(),
      st.cases, st.replays);
  std::printf("  engine outcomes:");
  for (int o = 0; o < static_cast<int>(Outcome::kCount); ++o) {
    if (st.outcome_counts[o] != 0) {
      std::printf("  %s=%zu", OutcomeName(static_cast<Outcome>(o)), st.outcome_counts[o]);
    }
  }
  std::printf("\n  by predicted category:\n");
  for (int c = 0; c < static_cast<int>(Category::kCount); ++c) {
    if (st.category_counts[c] == 0) continue;
    std::printf("    %-40s %6zu ", CategoryName(static_cast<Category>(c)), st.category_counts[c]);
    for (int o = 1; o < static_cast<int>(Outcome::kCount); ++o) {
      if (st.category_outcomes[c][o] != 0) {
        std::printf(" %s=%zu", OutcomeName(static_cast<Outcome>(o)), st.category_outcomes[c][o]);
      }
    }
    std::printf("\n");
  }

  EXPECT_EQ(st.cases, st.segments[0].image.size() + st.segments[1].image.size());
  EXPECT_EQ(st.safety.count, 0u)
      << "wrong data, a record after a gap, a lost intact record or an unreported loss: "
      << st.safety.Report();
  EXPECT_EQ(st.policy.count, 0u) << "outcome differs from the torn-tail vs corruption policy: "
                                 << st.policy.Report();
  EXPECT_EQ(st.zero_tail_non_last.count, 0u)
      << "bit rot in a closed segment's zero tail (nothing lost: the next segment chains to the "
         "last intact record) should be harmless: "
      << st.zero_tail_non_last.Report();
  EXPECT_EQ(st.messages.count, 0u)
      << "Corruption not naming the damaged file and an offset: " << st.messages.Report();
  EXPECT_EQ(st.resumable_end.count, 0u)
      << "replay's resume point (torn offset or end_offset) lies outside the file, so "
         "LogWriter::ResumeSegment would refuse it: "
      << st.resumable_end.Report();
  for (Category c : must_occur) {
    EXPECT_GT(st.category_counts[static_cast<int>(c)], 0u)
        << "the sweep no longer exercises: " << CategoryName(c);
  }
}

TEST_F(WalCorruptionSweep, FlipABitAtEveryOffset) {
  SweepAndCheck(DamageKind::kFlip,
                {Category::kUncheckedBytes, Category::kZeroTailLast, Category::kZeroTailNonLast,
                 Category::kHeaderDamage, Category::kTornTail, Category::kCoveredDamage,
                 Category::kNonLastDamage, Category::kCutShort});
}

TEST_F(WalCorruptionSweep, TruncateAtEveryOffset) {
  // In the last segment a truncation that loses anything is never a torn tail: it is cut short
  // (or, inside the header, header damage: the segment was created by rename).
  SweepAndCheck(DamageKind::kTruncate, {Category::kHeaderDamage, Category::kCleanEndNonLast,
                                        Category::kNonLastDamage, Category::kCutShort});
}

TEST_F(WalCorruptionSweep, ZeroSixteenBytesAtEveryOffset) {
  SweepAndCheck(DamageKind::kZero16, {Category::kHeaderDamage, Category::kTornTail,
                                      Category::kCoveredDamage, Category::kNonLastDamage});
}

TEST_F(WalCorruptionSweep, ZeroFiveHundredTwelveBytesAtEveryOffset) {
  SweepAndCheck(DamageKind::kZero512,
                {Category::kHeaderDamage, Category::kCleanEndLast, Category::kTornTail,
                 Category::kCoveredDamage, Category::kNonLastDamage});
}

}  // namespace
}  // namespace loci::wal
