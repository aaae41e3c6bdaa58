// Group appends, padding, preallocation and segment rotation for the WAL.

#include "wal/log_writer.h"

#include <algorithm>
#include <vector>

#include "common/hash.h"

namespace loci::wal {

LogWriter::LogWriter(Env* env, std::string dir, LogWriterOptions options, IoQueue* io)
    : env_(env), dir_(std::move(dir)), options_(options), io_(io) {}

LogWriter::~LogWriter() = default;

Status LogWriter::Fail(Status s) {
  if (failed_.ok()) failed_ = s;
  return s;
}

Status LogWriter::StartSegment(uint64_t segment_no, Lsn next_lsn, uint64_t prev_checksum) {
  if (!failed_.ok()) return failed_;
  if (file_ && synced_lsn_ != last_lsn()) {
    return Status::InvalidArgument("StartSegment with unsynced records in the open segment");
  }
  const std::string path = dir_ + "/" + SegmentFileName(segment_no);
  std::unique_ptr<WritableFile> file;
  Status s = env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file);
  if (!s.ok()) return Fail(s);

  SegmentHeader header;
  header.db_uuid = options_.db_uuid;
  header.segment_no = segment_no;
  header.salt = RandomU64();
  header.first_lsn = next_lsn;
  header.prev_checksum = prev_checksum;
  const std::string block = EncodeSegmentHeader(header);
  s = file->Write(0, block);
  if (s.ok()) s = file->Sync();
  if (s.ok()) s = env_->SyncDir(dir_);
  if (!s.ok()) return Fail(s.WithContext("creating WAL segment " + path));

  file_ = std::move(file);
  header_ = header;
  segment_no_ = segment_no;
  offset_ = kSegmentHeaderBlock;
  preallocated_to_ = kSegmentHeaderBlock;
  next_lsn_ = next_lsn;
  synced_lsn_ = next_lsn - 1;
  prev_checksum_ = prev_checksum;
  return Status::OK();
}

Status LogWriter::ResumeSegment(uint64_t segment_no, uint64_t end_offset, Lsn next_lsn,
                               uint64_t prev_checksum) {
  if (!failed_.ok()) return failed_;
  const std::string path = dir_ + "/" + SegmentFileName(segment_no);
  std::unique_ptr<RandomAccessFile> reader;
  LOCI_RETURN_IF_ERROR(env_->NewRandomAccessFile(path, &reader));
  std::string block;
  LOCI_RETURN_IF_ERROR(reader->Read(0, kSegmentHeaderBlock, &block));
  SegmentHeader header;
  LOCI_RETURN_IF_ERROR(DecodeSegmentHeader(block, path, &header));
  Result<uint64_t> size = reader->Size();
  if (!size.ok()) return size.status();
  if (end_offset < kSegmentHeaderBlock || end_offset > *size) {
    return Status::InvalidArgument("ResumeSegment past the end of " + path);
  }
  std::unique_ptr<WritableFile> file;
  LOCI_RETURN_IF_ERROR(env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &file));
  Status s = file->Sync();
  if (!s.ok()) return Fail(s.WithContext("syncing WAL segment " + path));
  file_ = std::move(file);
  header_ = header;
  segment_no_ = segment_no;
  offset_ = end_offset;
  preallocated_to_ = *size;
  next_lsn_ = next_lsn;
  synced_lsn_ = next_lsn - 1;
  prev_checksum_ = prev_checksum;
  return Status::OK();
}

void LogWriter::EncodeGroup(std::span<const std::string_view> payloads, bool sync) {
  group_buf_.clear();
  const uint64_t seed = RecordSeed(header_);
  RecordHeader h;
  h.synced_lsn = synced_lsn_;
  auto append = [&](uint8_t type, std::string_view payload) {
    h.type = type;
    h.lsn = next_lsn_++;
    h.prev_checksum = prev_checksum_;
    prev_checksum_ = AppendRecord(&group_buf_, h, payload, seed);
  };
  for (std::string_view p : payloads) append(kBatchRecord, p);
  if (sync) {
    // Pad to a sync boundary so the next group never rewrites a sector holding durable bytes.
    uint64_t end = offset_ + group_buf_.size();
    uint64_t gap = (kSyncAlignment - end % kSyncAlignment) % kSyncAlignment;
    if (gap != 0) {
      if (gap < kRecordHeaderSize) gap += kSyncAlignment;
      if (zeros_.size() < gap) zeros_.resize(gap, '\0');
      append(kPaddingRecord, std::string_view(zeros_).substr(0, gap - kRecordHeaderSize));
    }
  }
}

Status LogWriter::AppendGroup(std::span<const std::string_view> payloads, bool sync,
                              std::span<WritableFile* const> sync_first, Lsn* first_lsn) {
  if (!failed_.ok()) return failed_;
  if (!file_) return Status::InvalidArgument("LogWriter has no open segment");
  size_t estimate = 0;
  for (std::string_view p : payloads) estimate += RecordSpan(p.size());
  if (offset_ > kSegmentHeaderBlock && offset_ + estimate > options_.segment_bytes) {
    Result<uint64_t> rotated = Rotate();
    if (!rotated.ok()) return rotated.status();
  }

  *first_lsn = next_lsn_;
  EncodeGroup(payloads, sync);

  std::vector<IoOp> ops;
  ops.reserve(sync_first.size() + 3);
  if (sync) {
    for (WritableFile* f : sync_first) ops.push_back(IoOp{IoOp::Kind::kSync, f});
  }
  const uint64_t end = offset_ + group_buf_.size();
  if (options_.preallocate_bytes > 0 && end > preallocated_to_) {
    // Zeros first, in the same chain, so they land before (never over) the records.
    // Geometric steps (as much again as the file holds, at most preallocate_bytes): a small
    // database does not pay for megabytes of zeros, a large one extends rarely.
    const uint64_t step = std::clamp<uint64_t>(preallocated_to_, 64 << 10, options_.preallocate_bytes);
    uint64_t new_end = std::min(preallocated_to_ + step,
                                std::max(options_.segment_bytes, preallocated_to_));
    new_end = std::max(new_end, end);
    if (zeros_.size() < new_end - preallocated_to_) zeros_.resize(new_end - preallocated_to_, '\0');
    ops.push_back(IoOp{IoOp::Kind::kWrite, file_.get(), preallocated_to_,
                       std::string_view(zeros_).substr(0, new_end - preallocated_to_)});
    preallocated_to_ = new_end;
  }
  ops.push_back(IoOp{IoOp::Kind::kWrite, file_.get(), offset_, group_buf_});
  if (sync) ops.push_back(IoOp{IoOp::Kind::kSync, file_.get()});

  Status s = io_->SubmitLinked(ops);
  if (!s.ok()) return Fail(s.WithContext("appending to WAL segment " + SegmentFileName(segment_no_)));
  offset_ = end;
  if (sync) synced_lsn_ = last_lsn();
  return Status::OK();
}

Status LogWriter::Sync() {
  if (!failed_.ok()) return failed_;
  if (!file_ || synced_lsn_ == last_lsn()) return Status::OK();
  Status s = file_->Sync();
  if (!s.ok()) return Fail(s.WithContext("syncing WAL segment " + SegmentFileName(segment_no_)));
  synced_lsn_ = last_lsn();
  return Status::OK();
}

Result<uint64_t> LogWriter::Rotate() {
  LOCI_RETURN_IF_ERROR(Sync());
  const uint64_t next = segment_no_ + 1;
  LOCI_RETURN_IF_ERROR(StartSegment(next, next_lsn_, prev_checksum_));
  return next;
}

}  // namespace loci::wal
