// Tests of wal::LogWriter on MemEnv behind a recording Env: what a new segment's header holds
// and the order in which it is made durable; the byte layout of sync and non-sync groups (LSNs,
// hash chain, synced_lsn, 4 KiB padding with its edge cases); the order of the linked I/O (blob
// files synced first, space reserved before the records, the segment synced last);
// rotation at segment_bytes; Sync; ResumeSegment; and that after any I/O error the writer
// refuses every further operation rather than retrying.

#include "wal/log_writer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "loci/env.h"
#include "tests/testutil.h"
#include "wal/format.h"

namespace loci::wal {
namespace {

const std::string kDir = "/db";

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

class RecordingEnv;

// Logs every write and sync, and fails them on demand.
class RecordingFile final : public WritableFile {
 public:
  RecordingFile(RecordingEnv* env, std::unique_ptr<WritableFile> target)
      : env_(env), target_(std::move(target)) {}
  Status Write(uint64_t offset, std::string_view data) override;
  Status Sync() override;
  Status Truncate(uint64_t size) override { return target_->Truncate(size); }
  Status Allocate(uint64_t offset, uint64_t len) override;
  Result<uint64_t> Size() override { return target_->Size(); }
  const std::string& path() const override { return target_->path(); }

 private:
  RecordingEnv* const env_;
  std::unique_ptr<WritableFile> target_;
};

class RecordingEnv final : public EnvWrapper {
 public:
  explicit RecordingEnv(Env* target) : EnvWrapper(target) {}

  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    std::unique_ptr<WritableFile> f;
    LOCI_RETURN_IF_ERROR(target()->NewWritableFile(path, mode, &f));
    *result = std::make_unique<RecordingFile>(this, std::move(f));
    return Status::OK();
  }
  Status SyncDir(const std::string& dir) override {
    Log("syncdir " + dir);
    return target()->SyncDir(dir);
  }
  Status RenameFile(const std::string& from, const std::string& to) override {
    Log("rename " + Basename(from) + " " + Basename(to));
    return target()->RenameFile(from, to);
  }

  void Log(const std::string& entry) {
    std::lock_guard<std::mutex> lock(mu_);
    log_.push_back(entry);
  }
  std::vector<std::string> TakeLog() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(log_);
  }

  bool fail_sync = false;
  bool fail_write = false;

 private:
  std::mutex mu_;
  std::vector<std::string> log_;
};

Status RecordingFile::Write(uint64_t offset, std::string_view data) {
  const bool zeros =
      !data.empty() && std::all_of(data.begin(), data.end(), [](char c) { return c == 0; });
  env_->Log("write " + Basename(path()) + " " + std::to_string(offset) + " " +
            std::to_string(data.size()) + (zeros ? " zeros" : ""));
  if (env_->fail_write) return Status::IOError(path() + ": injected write error");
  return target_->Write(offset, data);
}

Status RecordingFile::Allocate(uint64_t offset, uint64_t len) {
  env_->Log("allocate " + Basename(path()) + " " + std::to_string(offset) + " " +
            std::to_string(len));
  return target_->Allocate(offset, len);
}

Status RecordingFile::Sync() {
  env_->Log("sync " + Basename(path()));
  if (env_->fail_sync) return Status::IOError(path() + ": injected sync error");
  return target_->Sync();
}

struct ParsedRecord {
  uint64_t offset;
  RecordHeader header;
  std::string payload;
};

struct ParsedSegment {
  SegmentHeader header;
  std::vector<ParsedRecord> records;
  uint64_t end = 0;  // just past the last record
  uint64_t file_size = 0;
  bool zeros_after = true;  // everything after the last record is zero
};

class LogWriterTest : public ::testing::Test {
 protected:
  LogWriterTest() : mem_(NewMemEnv()), env_(mem_.get()), io_(env_.NewIoQueue()) {
    EXPECT_TRUE(env_.CreateDir(kDir).ok());
  }

  std::unique_ptr<LogWriter> NewWriter(uint64_t segment_bytes = 1 << 20,
                                       uint64_t preallocate_bytes = 0) {
    LogWriterOptions o;
    o.db_uuid = test::TestUuid(4);
    o.segment_bytes = segment_bytes;
    o.preallocate_bytes = preallocate_bytes;
    return std::make_unique<LogWriter>(&env_, kDir, o, io_.get());
  }

  std::unique_ptr<LogWriter> StartLog(uint64_t segment_bytes = 1 << 20,
                                      uint64_t preallocate_bytes = 0) {
    auto w = NewWriter(segment_bytes, preallocate_bytes);
    Status s = w->StartSegment(1, 1, 0);
    EXPECT_TRUE(s.ok()) << s.ToString();
    env_.TakeLog();
    return w;
  }

  Status Append(LogWriter* w, const std::vector<std::string>& payloads, bool sync,
                Lsn* first = nullptr, std::vector<WritableFile*> sync_first = {}) {
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    Lsn dummy;
    return w->AppendGroup(views, sync, sync_first, first ? first : &dummy);
  }

  ParsedSegment Parse(uint64_t segment_no) {
    ParsedSegment out;
    const std::string path = kDir + "/" + WalSegmentFileName(segment_no);
    std::unique_ptr<RandomAccessFile> f;
    EXPECT_TRUE(mem_->NewRandomAccessFile(path, &f).ok());
    if (!f) return out;
    out.file_size = *f->Size();
    std::string image;
    EXPECT_TRUE(f->Read(0, out.file_size, &image).ok());
    EXPECT_TRUE(DecodeSegmentHeader(image, path, &out.header).ok());
    uint64_t pos = kSegmentHeaderBlock;
    while (pos < image.size()) {
      RecordHeader h;
      std::string_view payload;
      if (ParseRecord(std::string_view(image).substr(pos), RecordSeed(out.header), &h, &payload) !=
          ParseResult::kOk) {
        break;
      }
      out.records.push_back({pos, h, std::string(payload)});
      pos += RecordSpan(h.length);
    }
    out.end = pos;
    for (uint64_t i = pos; i < image.size(); ++i) {
      if (image[i] != 0) out.zeros_after = false;
    }
    return out;
  }

  std::unique_ptr<Env> mem_;
  RecordingEnv env_;
  std::unique_ptr<IoQueue> io_;
};

// The header is written and synced under a temporary name, then renamed: a segment under its
// real name always has a durable header.
TEST_F(LogWriterTest, StartSegmentWritesADurableHeaderBeforeAnyRecord) {
  auto w = NewWriter();
  ASSERT_TRUE(w->StartSegment(5, 100, 0xabcdef).ok());
  EXPECT_EQ(env_.TakeLog(),
            (std::vector<std::string>{"write wal-00000005.new 0 4096", "sync wal-00000005.new",
                                      "rename wal-00000005.new wal-00000005.log", "syncdir /db"}));
  ParsedSegment seg = Parse(5);
  EXPECT_EQ(seg.header.db_uuid, test::TestUuid(4));
  EXPECT_EQ(seg.header.segment_no, 5u);
  EXPECT_EQ(seg.header.first_lsn, 100u);
  EXPECT_EQ(seg.header.prev_checksum, 0xabcdefu);
  EXPECT_EQ(seg.file_size, kSegmentHeaderBlock);
  EXPECT_TRUE(seg.records.empty());
  EXPECT_EQ(w->segment_no(), 5u);
  EXPECT_EQ(w->last_lsn(), 99u);
  EXPECT_EQ(w->synced_lsn(), 99u);
  EXPECT_EQ(w->last_checksum(), 0xabcdefu);
  EXPECT_EQ(w->segment_used_bytes(), 0u);
}

TEST_F(LogWriterTest, SegmentsGetFreshSalts) {
  auto w = StartLog();
  ASSERT_TRUE(w->Rotate().ok());
  EXPECT_NE(Parse(1).header.salt, Parse(2).header.salt);
}

TEST_F(LogWriterTest, StartSegmentRefusesAnExistingFile) {
  { auto w = StartLog(); }
  auto w = NewWriter();
  EXPECT_FALSE(w->StartSegment(1, 1, 0).ok());
}

TEST_F(LogWriterTest, AppendWithoutASegmentIsInvalidArgument) {
  auto w = NewWriter();
  EXPECT_TRUE(Append(w.get(), {"x"}, false).IsInvalidArgument());
}

TEST_F(LogWriterTest, NonSyncGroupIsOneUnpaddedWriteWithoutSync) {
  auto w = StartLog();
  Lsn first = 0;
  ASSERT_TRUE(Append(w.get(), {"hello", "", std::string(17, 'z')}, false, &first).ok());
  EXPECT_EQ(first, 1u);
  const uint64_t bytes = RecordSpan(5) + RecordSpan(0) + RecordSpan(17);
  EXPECT_EQ(env_.TakeLog(),
            std::vector<std::string>{"write wal-00000001.log 4096 " + std::to_string(bytes)});
  EXPECT_EQ(w->segment_used_bytes(), bytes);
  EXPECT_EQ(w->last_lsn(), 3u);
  EXPECT_EQ(w->synced_lsn(), 0u);

  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 3u);
  EXPECT_EQ(seg.records[0].payload, "hello");
  EXPECT_EQ(seg.records[1].payload, "");
  EXPECT_EQ(seg.records[2].payload, std::string(17, 'z'));
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(seg.records[i].header.type, kBatchRecord);
    EXPECT_EQ(seg.records[i].header.lsn, i + 1);
    EXPECT_EQ(seg.records[i].header.synced_lsn, 0u);
    EXPECT_EQ(seg.records[i].offset % kRecordAlignment, 0u);
  }
  EXPECT_EQ(seg.end, kSegmentHeaderBlock + bytes);
  EXPECT_EQ(seg.file_size, seg.end);
}

TEST_F(LogWriterTest, EveryRecordChainsToItsPredecessor) {
  auto w = NewWriter();
  ASSERT_TRUE(w->StartSegment(1, 1, 0x77).ok());
  ASSERT_TRUE(Append(w.get(), {"a", "b"}, false).ok());
  ASSERT_TRUE(Append(w.get(), {"c"}, true).ok());
  ASSERT_TRUE(Append(w.get(), {"d", "e", "f"}, false).ok());
  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 7u);  // six batches and one padding record
  uint64_t prev = 0x77;
  for (const ParsedRecord& r : seg.records) {
    EXPECT_EQ(r.header.prev_checksum, prev) << "LSN " << r.header.lsn;
    prev = r.header.checksum;
  }
  EXPECT_EQ(w->last_checksum(), prev);
}

TEST_F(LogWriterTest, SyncGroupSyncsBlobFilesFirstThenWritesPaddedAndSyncs) {
  auto w = StartLog();
  std::unique_ptr<WritableFile> blob_a, blob_b;
  ASSERT_TRUE(env_.NewWritableFile(kDir + "/arena-1", Env::OpenMode::kCreateNew, &blob_a).ok());
  ASSERT_TRUE(env_.NewWritableFile(kDir + "/arena-2", Env::OpenMode::kCreateNew, &blob_b).ok());
  env_.TakeLog();

  Lsn first = 0;
  ASSERT_TRUE(Append(w.get(), {"one", "two"}, true, &first, {blob_a.get(), blob_b.get()}).ok());
  EXPECT_EQ(env_.TakeLog(), (std::vector<std::string>{"sync arena-1", "sync arena-2",
                                                      "write wal-00000001.log 4096 4096",
                                                      "sync wal-00000001.log"}));
  EXPECT_EQ(first, 1u);
  EXPECT_EQ(w->segment_used_bytes(), 4096u);
  EXPECT_EQ(w->last_lsn(), 3u);  // two batches and the padding record
  EXPECT_EQ(w->synced_lsn(), 3u);

  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 3u);
  const ParsedRecord& pad = seg.records[2];
  EXPECT_EQ(pad.header.type, kPaddingRecord);
  EXPECT_EQ(pad.header.lsn, 3u);
  EXPECT_EQ(pad.payload, std::string(pad.payload.size(), '\0'));
  EXPECT_EQ(seg.end, 2 * kSegmentHeaderBlock);
}

TEST_F(LogWriterTest, NonSyncGroupIgnoresSyncFirst) {
  auto w = StartLog();
  std::unique_ptr<WritableFile> blob;
  ASSERT_TRUE(env_.NewWritableFile(kDir + "/arena-1", Env::OpenMode::kCreateNew, &blob).ok());
  env_.TakeLog();
  ASSERT_TRUE(Append(w.get(), {"x"}, false, nullptr, {blob.get()}).ok());
  for (const std::string& e : env_.TakeLog()) EXPECT_EQ(e.rfind("sync", 0), std::string::npos) << e;
}

TEST_F(LogWriterTest, RecordsCarryTheSyncedLsnKnownWhenTheyWereWritten) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"n1"}, false).ok());       // LSN 1
  ASSERT_TRUE(Append(w.get(), {"s1", "s2"}, true).ok());  // LSN 2, 3, padding 4
  ASSERT_TRUE(Append(w.get(), {"n2"}, false).ok());       // LSN 5
  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 5u);
  EXPECT_EQ(seg.records[0].header.synced_lsn, 0u);
  EXPECT_EQ(seg.records[1].header.synced_lsn, 0u);
  EXPECT_EQ(seg.records[2].header.synced_lsn, 0u);
  EXPECT_EQ(seg.records[3].header.synced_lsn, 0u);
  EXPECT_EQ(seg.records[4].header.lsn, 5u);
  EXPECT_EQ(seg.records[4].header.synced_lsn, 4u);
}

// When the bytes left to the boundary cannot hold a record header, padding runs to the next
// boundary after it.
TEST_F(LogWriterTest, PaddingSkipsAWholeBlockWhenTheGapIsSmallerThanAHeader) {
  auto w = StartLog();
  ASSERT_EQ(RecordSpan(4040), 4080u);  // leaves 16 bytes to the boundary
  ASSERT_TRUE(Append(w.get(), {std::string(4040, 'p')}, true).ok());
  EXPECT_EQ(w->segment_used_bytes(), 8192u);
  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 2u);
  EXPECT_EQ(seg.records[1].header.type, kPaddingRecord);
  EXPECT_EQ(seg.records[1].payload.size(), 16u + 4096u - kRecordHeaderSize);
  EXPECT_EQ(seg.end, 3 * kSegmentHeaderBlock);
}

TEST_F(LogWriterTest, NoPaddingWhenAGroupEndsOnTheBoundary) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {std::string(4056, 'p')}, true).ok());
  EXPECT_EQ(w->segment_used_bytes(), 4096u);
  EXPECT_EQ(w->last_lsn(), 1u);
  ASSERT_EQ(Parse(1).records.size(), 1u);
}

TEST_F(LogWriterTest, PaddingAfterAnUnalignedNonSyncGroup) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {std::string(100, 'a')}, false).ok());
  ASSERT_TRUE(Append(w.get(), {std::string(3000, 'b')}, true).ok());
  EXPECT_EQ(w->segment_used_bytes() % kSyncAlignment, 0u);
  ParsedSegment seg = Parse(1);
  EXPECT_EQ(seg.end, kSegmentHeaderBlock + w->segment_used_bytes());
  EXPECT_EQ(seg.records.back().header.type, kPaddingRecord);
}

// The background filler writes (and syncs) zeros ahead of the records: every record write lands
// in space the filler (or, for the tail guard's first zeros, StartSegment with the header) wrote
// earlier, and the file always extends kTailGuard bytes past the last record.
TEST_F(LogWriterTest, PreallocationFillsZerosAheadOfTheRecords) {
  auto w = StartLog(1 << 20, /*preallocate_bytes=*/16384);
  env_.TakeLog();
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(
        Append(w.get(), {std::string(1000 + 97 * i, static_cast<char>('a' + i % 26))}, i % 3 == 0)
            .ok());
  }
  // [from, to) written with zeros so far: the header block's write carried the first guard.
  std::vector<std::pair<uint64_t, uint64_t>> zeroed = {
      {kSegmentHeaderBlock, kSegmentHeaderBlock + kTailGuard}};
  int record_writes = 0;
  for (const std::string& entry : env_.TakeLog()) {
    char file[64];
    unsigned long long off = 0, len = 0;
    char zeros[8] = "";
    if (std::sscanf(entry.c_str(), "write %63s %llu %llu %7s", file, &off, &len, zeros) < 3) {
      continue;
    }
    if (std::string(zeros) == "zeros") {
      zeroed.emplace_back(off, off + len);
      continue;
    }
    ++record_writes;
    uint64_t covered_to = off;  // walk the zeroed ranges to see [off, off + len) covered
    for (bool progress = true; progress && covered_to < off + len;) {
      progress = false;
      for (const auto& [from, to] : zeroed) {
        if (from <= covered_to && to > covered_to) {
          covered_to = to;
          progress = true;
        }
      }
    }
    EXPECT_GE(covered_to, off + len) << entry << " was not preceded by zeros";
  }
  EXPECT_EQ(record_writes, 40);
  ParsedSegment seg = Parse(1);
  EXPECT_EQ(seg.records.size(), 40u + 14u);  // 14 sync groups add a padding record each
  EXPECT_TRUE(seg.zeros_after);
  EXPECT_GE(seg.file_size, seg.end + kTailGuard);
}

TEST_F(LogWriterTest, PreallocationStopsAtTheSegmentSize) {
  auto w = StartLog(/*segment_bytes=*/12288, /*preallocate_bytes=*/1 << 20);
  ASSERT_TRUE(Append(w.get(), {"abc"}, false).ok());
  EXPECT_EQ(Parse(1).file_size, 12288u);
}

TEST_F(LogWriterTest, WithoutPreallocationTheFileEndsAtTheLastRecord) {
  auto w = StartLog(1 << 20, 0);
  ASSERT_TRUE(Append(w.get(), {"abc", "defgh"}, false).ok());
  ParsedSegment seg = Parse(1);
  EXPECT_EQ(seg.file_size, seg.end);
}

TEST_F(LogWriterTest, RotatesWhenAGroupWouldPassSegmentBytes) {
  auto w = StartLog(/*segment_bytes=*/8192, /*preallocate_bytes=*/2048);
  std::vector<uint64_t> segment_of_group;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Append(w.get(), {std::string(1000, static_cast<char>('a' + i))}, false).ok());
    segment_of_group.push_back(w->segment_no());
  }
  ASSERT_GE(w->segment_no(), 5u);
  Lsn next_lsn = 1;
  uint64_t prev = 0;
  for (uint64_t n = 1; n <= w->segment_no(); ++n) {
    ParsedSegment seg = Parse(n);
    EXPECT_EQ(seg.header.first_lsn, next_lsn) << n;
    EXPECT_EQ(seg.header.prev_checksum, prev) << n;
    EXPECT_FALSE(seg.records.empty()) << n;
    if (n < w->segment_no()) {
      EXPECT_LE(seg.end, 8192u) << n;
      // It was closed because the next 1040-byte record did not fit.
      EXPECT_GT(seg.end + RecordSpan(1000), 8192u) << n;
    }
    if (!seg.records.empty()) {
      next_lsn = seg.records.back().header.lsn + 1;
      prev = seg.records.back().header.checksum;
    }
  }
  for (size_t i = 1; i < segment_of_group.size(); ++i) {
    EXPECT_LE(segment_of_group[i] - segment_of_group[i - 1], 1u);
  }
}

TEST_F(LogWriterTest, RotationSyncsTheOldSegmentBeforeCreatingTheNext) {
  auto w = StartLog(/*segment_bytes=*/8192);
  ASSERT_TRUE(Append(w.get(), {std::string(2000, 'a')}, false).ok());  // 4096 -> 6136
  ASSERT_TRUE(Append(w.get(), {std::string(2000, 'b')}, false).ok());  // -> 8176
  env_.TakeLog();
  ASSERT_TRUE(Append(w.get(), {std::string(2000, 'c')}, false).ok());  // rotates
  std::vector<std::string> log = env_.TakeLog();
  const auto sync_old = std::find(log.begin(), log.end(), "sync wal-00000001.log");
  const auto create_new = std::find(log.begin(), log.end(), "write wal-00000002.new 0 4096");
  ASSERT_NE(sync_old, log.end());
  ASSERT_NE(create_new, log.end());
  EXPECT_LT(sync_old, create_new);
  EXPECT_EQ(w->segment_no(), 2u);
  // The records written before rotation are durable now.
  EXPECT_EQ(w->synced_lsn(), 2u);
}

TEST_F(LogWriterTest, OversizedGroupFillsAnEmptySegmentRatherThanRotatingForever) {
  auto w = StartLog(/*segment_bytes=*/8192);
  ASSERT_TRUE(Append(w.get(), {std::string(20000, 'x'), std::string(5000, 'y')}, false).ok());
  EXPECT_EQ(w->segment_no(), 1u);
  ASSERT_TRUE(Append(w.get(), {"next"}, false).ok());
  EXPECT_EQ(w->segment_no(), 2u);
  EXPECT_EQ(Parse(1).records.size(), 2u);
  EXPECT_EQ(Parse(2).records.size(), 1u);
}

TEST_F(LogWriterTest, ExplicitRotateReturnsTheNextSegmentNumber) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"a"}, false).ok());
  Result<uint64_t> next = w->Rotate();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 2u);
  EXPECT_EQ(w->segment_no(), 2u);
  EXPECT_EQ(w->segment_used_bytes(), 0u);
  EXPECT_EQ(w->synced_lsn(), 1u);
  ParsedSegment seg2 = Parse(2);
  EXPECT_EQ(seg2.header.first_lsn, 2u);
  EXPECT_EQ(seg2.header.prev_checksum, Parse(1).records.back().header.checksum);
}

TEST_F(LogWriterTest, SyncMakesEverythingDurableAndIsANoOpWhenNothingIsNew) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"a", "b"}, false).ok());
  env_.TakeLog();
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_EQ(env_.TakeLog(), std::vector<std::string>{"sync wal-00000001.log"});
  EXPECT_EQ(w->synced_lsn(), 2u);
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_TRUE(env_.TakeLog().empty());
}

TEST_F(LogWriterTest, StartSegmentWithUnsyncedRecordsIsInvalidArgument) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"a"}, false).ok());
  EXPECT_TRUE(w->StartSegment(2, 2, w->last_checksum()).IsInvalidArgument());
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_TRUE(w->StartSegment(2, 2, w->last_checksum()).ok());
}

TEST_F(LogWriterTest, ResumeSegmentSyncsTheFileAndAppendsAtTheGivenEnd) {
  uint64_t end = 0;
  Lsn last = 0;
  uint64_t checksum = 0;
  {
    auto w = StartLog(1 << 20, /*preallocate_bytes=*/8192);
    ASSERT_TRUE(Append(w.get(), {"a", "bb"}, false).ok());
    end = kSegmentHeaderBlock + w->segment_used_bytes();
    last = w->last_lsn();
    checksum = w->last_checksum();
  }
  env_.TakeLog();
  auto w = NewWriter(1 << 20, 8192);
  ASSERT_TRUE(w->ResumeSegment(1, end, last + 1, checksum).ok());
  EXPECT_EQ(env_.TakeLog(), std::vector<std::string>{"sync wal-00000001.log"});
  EXPECT_EQ(w->segment_no(), 1u);
  EXPECT_EQ(w->last_lsn(), last);
  EXPECT_EQ(w->synced_lsn(), last);
  EXPECT_EQ(w->segment_used_bytes(), end - kSegmentHeaderBlock);
  Lsn first = 0;
  ASSERT_TRUE(Append(w.get(), {"ccc"}, false, &first).ok());
  EXPECT_EQ(first, last + 1);
  // Inside the preallocated zeros: no new zeros, just the record at `end`.
  EXPECT_EQ(env_.TakeLog(),
            std::vector<std::string>{"write wal-00000001.log " + std::to_string(end) + " 48"});
  ParsedSegment seg = Parse(1);
  ASSERT_EQ(seg.records.size(), 3u);
  EXPECT_EQ(seg.records[2].payload, "ccc");
  EXPECT_EQ(seg.records[2].header.prev_checksum, checksum);
  EXPECT_EQ(seg.records[2].header.synced_lsn, last);
}

TEST_F(LogWriterTest, ResumeSegmentOfAMissingOrHeaderlessFileFails) {
  auto w = NewWriter();
  EXPECT_FALSE(w->ResumeSegment(3, kSegmentHeaderBlock, 1, 0).ok());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(
      mem_->NewWritableFile(kDir + "/" + WalSegmentFileName(4), Env::OpenMode::kCreateNew, &f)
          .ok());
  ASSERT_TRUE(f->Write(0, std::string(8192, '\0')).ok());
  auto w2 = NewWriter();
  EXPECT_TRUE(w2->ResumeSegment(4, kSegmentHeaderBlock, 1, 0).IsCorruption());
}

TEST_F(LogWriterTest, AfterAFailedSyncTheWriterRefusesEverything) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"a"}, false).ok());
  env_.fail_sync = true;
  Status first = Append(w.get(), {"b"}, true);
  EXPECT_TRUE(first.IsIOError()) << first.ToString();
  EXPECT_EQ(w->synced_lsn(), 0u);
  env_.fail_sync = false;
  env_.TakeLog();

  Status s = Append(w.get(), {"c"}, false);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_EQ(s.message(), first.message());
  EXPECT_TRUE(w->Sync().IsIOError());
  EXPECT_FALSE(w->Rotate().ok());
  EXPECT_TRUE(w->StartSegment(9, 9, 0).IsIOError());
  // Nothing reached the files: no retry of the sync, no new write.
  EXPECT_TRUE(env_.TakeLog().empty());
}

TEST_F(LogWriterTest, AfterAFailedWriteTheWriterRefusesEverything) {
  auto w = StartLog();
  env_.fail_write = true;
  EXPECT_TRUE(Append(w.get(), {"a"}, false).IsIOError());
  env_.fail_write = false;
  env_.TakeLog();
  EXPECT_TRUE(Append(w.get(), {"b"}, false).IsIOError());
  EXPECT_TRUE(w->Sync().IsIOError());
  EXPECT_TRUE(env_.TakeLog().empty());
}

TEST_F(LogWriterTest, FailedSegmentCreationPoisonsTheWriter) {
  auto w = StartLog();
  ASSERT_TRUE(Append(w.get(), {"a"}, true).ok());
  env_.fail_sync = true;
  EXPECT_FALSE(w->Rotate().ok());
  env_.fail_sync = false;
  EXPECT_FALSE(Append(w.get(), {"b"}, false).ok());
}

}  // namespace
}  // namespace loci::wal
