// Group placement, padding, preallocation and segment rotation for the WAL.

#include "wal/log_writer.h"

#include <algorithm>
#include <vector>

#include "common/hash.h"

namespace loci::wal {

std::vector<IoOp> PreparedGroup::Ops() const {
  std::vector<IoOp> ops;
  ops.reserve(sync_first.size() + 2);
  if (sync) {
    for (WritableFile* f : sync_first) ops.push_back(IoOp{IoOp::Kind::kSync, f});
  }
  ops.push_back(IoOp{IoOp::Kind::kWrite, file, offset, records});
  if (sync) ops.push_back(IoOp{IoOp::Kind::kSync, file});
  return ops;
}

LogWriter::LogWriter(Env* env, std::string dir, LogWriterOptions options, IoQueue* io)
    : env_(env),
      paths_(std::move(dir)),
      options_(options),
      io_(io),
      filler_(options.preallocate_bytes, options.segment_bytes, !options.preallocate_inline) {}

LogWriter::~LogWriter() = default;

Status LogWriter::Fail(Status s) {
  MutexLock lock(&failed_mu_);
  if (failed_.ok()) failed_ = s;
  return s;
}

Status LogWriter::failed() const {
  MutexLock lock(&failed_mu_);
  return failed_;
}

Status LogWriter::StartSegment(uint64_t segment_no, Lsn next_lsn, uint64_t prev_checksum) {
  LOCI_RETURN_IF_ERROR(failed());
  if (file_ && synced_lsn() != last_lsn()) {
    return Status::InvalidArgument("StartSegment with unsynced records in the open segment");
  }
  // Created under a temporary name and renamed once the header (and the guard) are durable:
  // a segment under its real name always has a whole header, so recovery can tell one cut
  // short from one whose creation a crash interrupted.
  const std::string temp = paths_.wal_segment_temp(segment_no);
  const std::string path = paths_.wal_segment(segment_no);
  if (env_->FileExists(path)) {
    return Fail(Status::IOError(path + ": WAL segment already exists; refusing to replace it"));
  }
  Status s;
  if (env_->FileExists(temp)) s = env_->RemoveFile(temp);  // a crash's leftover
  std::unique_ptr<WritableFile> file;
  if (s.ok()) s = env_->NewWritableFile(temp, Env::OpenMode::kCreateNew, &file);
  if (!s.ok()) return Fail(s);

  SegmentHeader header;
  header.flags = options_.preallocate_bytes > 0 ? uint32_t{kGuardedTailFlag} : 0;
  header.db_uuid = options_.db_uuid;
  header.segment_no = segment_no;
  header.salt = RandomU64();
  header.first_lsn = next_lsn;
  header.prev_checksum = prev_checksum;
  const bool guarded = (header.flags & kGuardedTailFlag) != 0;
  s = file->Write(0, EncodeSegmentHeader(header));
  if (s.ok() && guarded) s = file->Allocate(kSegmentHeaderBlock, kTailGuard);
  if (s.ok()) s = file->Sync();
  file.reset();  // reopened under its real name
  if (s.ok()) s = env_->RenameFile(temp, path);
  if (s.ok()) s = env_->SyncDir(paths_.dir());
  if (s.ok()) s = env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &file);
  if (!s.ok()) return Fail(s.WithContext("creating WAL segment " + path));

  filler_.Reset(file.get(), kSegmentHeaderBlock, kSegmentHeaderBlock + (guarded ? kTailGuard : 0));
  file_ = std::move(file);
  header_ = header;
  guarded_ = guarded;
  segment_no_ = segment_no;
  offset_ = kSegmentHeaderBlock;
  next_lsn_ = next_lsn;
  synced_lsn_.store(next_lsn - 1, std::memory_order_release);
  prev_checksum_ = prev_checksum;
  return Status::OK();
}

Status LogWriter::ResumeSegment(uint64_t segment_no, uint64_t end_offset, Lsn next_lsn,
                                uint64_t prev_checksum) {
  LOCI_RETURN_IF_ERROR(failed());
  const std::string path = paths_.wal_segment(segment_no);
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
  filler_.Reset(file.get(), end_offset, *size);
  file_ = std::move(file);
  header_ = header;
  guarded_ = (header.flags & kGuardedTailFlag) != 0;
  segment_no_ = segment_no;
  offset_ = end_offset;
  next_lsn_ = next_lsn;
  synced_lsn_.store(next_lsn - 1, std::memory_order_release);
  prev_checksum_ = prev_checksum;
  return Status::OK();
}

bool LogWriter::NeedsRotation(size_t bytes) const {
  return offset_ > kSegmentHeaderBlock && offset_ + bytes > options_.segment_bytes;
}

void LogWriter::EncodeGroup(uint8_t type, std::span<const std::string_view> payloads, bool sync,
                            std::string* records) {
  records->clear();
  const uint64_t seed = RecordSeed(header_);
  RecordHeader h;
  h.synced_lsn = synced_lsn();
  h.flags = sync ? kSyncGroupFlag : 0;
  auto append = [&](uint8_t record_type, std::string_view payload) {
    h.type = record_type;
    h.lsn = next_lsn_++;
    h.prev_checksum = prev_checksum_;
    prev_checksum_ = AppendRecord(records, h, payload, seed);
  };
  for (std::string_view p : payloads) append(type, p);
  const uint64_t unit = options_.sync_alignment;
  if (sync && unit != 0) {
    // Pad to a sync boundary so the next group never rewrites a sector holding durable bytes.
    uint64_t end = offset_ + records->size();
    uint64_t gap = (unit - end % unit) % unit;
    if (gap != 0) {
      if (gap < kRecordHeaderSize) gap += unit;
      if (zeros_.size() < gap) zeros_.resize(gap, '\0');
      append(kPaddingRecord, std::string_view(zeros_).substr(0, gap - kRecordHeaderSize));
    }
  }
}

Status LogWriter::PrepareGroup(std::span<const std::string_view> payloads, bool sync,
                               std::span<WritableFile* const> sync_first, PreparedGroup* out) {
  return PrepareRecords(kBatchRecord, payloads, sync, sync_first, out);
}

Status LogWriter::PrepareRecords(uint8_t type, std::span<const std::string_view> payloads,
                                 bool sync, std::span<WritableFile* const> sync_first,
                                 PreparedGroup* out) {
  LOCI_RETURN_IF_ERROR(failed());
  if (!file_) return Status::InvalidArgument("LogWriter has no open segment");
  out->first_lsn = next_lsn_;
  EncodeGroup(type, payloads, sync, &out->records);
  out->last_lsn = next_lsn_ - 1;
  out->file = file_.get();
  out->offset = offset_;
  out->sync = sync;
  out->sync_first.assign(sync_first.begin(), sync_first.end());
  Status s = filler_.Reserve(offset_ + out->records.size() + guard());
  if (!s.ok()) return Fail(s);
  offset_ += out->records.size();
  return Status::OK();
}

void LogWriter::CompleteGroup(const PreparedGroup& group, const Status& io_status) {
  if (!io_status.ok()) {
    Fail(io_status.WithContext("appending to WAL segment " + group.file->path()))
        .PermitUncheckedError();
    return;
  }
  if (group.sync && group.last_lsn > synced_lsn()) {
    synced_lsn_.store(group.last_lsn, std::memory_order_release);
  }
}

Status LogWriter::AppendGroup(std::span<const std::string_view> payloads, bool sync,
                              std::span<WritableFile* const> sync_first, Lsn* first_lsn) {
  size_t estimate = 0;
  for (std::string_view p : payloads) estimate += RecordSpan(p.size());
  if (NeedsRotation(estimate)) {
    Result<uint64_t> rotated = Rotate();
    if (!rotated.ok()) return rotated.status();
  }
  PreparedGroup group;
  LOCI_RETURN_IF_ERROR(PrepareGroup(payloads, sync, sync_first, &group));
  Status s = io_->SubmitLinked(group.Ops());
  CompleteGroup(group, s);
  LOCI_RETURN_IF_ERROR(failed());
  *first_lsn = group.first_lsn;
  return Status::OK();
}

Status LogWriter::Sync() {
  LOCI_RETURN_IF_ERROR(failed());
  if (!file_ || synced_lsn() == last_lsn()) return Status::OK();
  Status s = file_->Sync();
  if (!s.ok()) return Fail(s.WithContext("syncing WAL segment " + WalSegmentFileName(segment_no_)));
  synced_lsn_.store(last_lsn(), std::memory_order_release);
  return Status::OK();
}

Status LogWriter::Seal(std::string_view payload) {
  LOCI_RETURN_IF_ERROR(Sync());  // the seal's synced_lsn then certifies every earlier record
  const std::string_view payloads[] = {payload};
  PreparedGroup group;
  LOCI_RETURN_IF_ERROR(PrepareRecords(kSealRecord, payloads, /*sync=*/true, {}, &group));
  Status s = io_->SubmitLinked(group.Ops());
  CompleteGroup(group, s);
  return failed();
}

Result<uint64_t> LogWriter::Rotate() {
  LOCI_RETURN_IF_ERROR(Sync());
  const uint64_t next = segment_no_ + 1;
  LOCI_RETURN_IF_ERROR(StartSegment(next, next_lsn_, prev_checksum_));
  return next;
}

}  // namespace loci::wal
