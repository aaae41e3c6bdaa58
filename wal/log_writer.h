// LogWriter: appends groups of records to the WAL, one linked write (+ fdatasync) per group,
// rotating to a new segment when the current one is full.
//
// Not thread-safe: one group-commit leader at a time calls it (see CommitQueue). After any I/O
// error the writer refuses further appends: what reached the disk is unknown and only recovery
// may decide (an fsync is never retried).

#ifndef LOCI_WAL_LOG_WRITER_H_
#define LOCI_WAL_LOG_WRITER_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "loci/env.h"
#include "loci/status.h"
#include "wal/format.h"

namespace loci::wal {

struct LogWriterOptions {
  DbUuid db_uuid{};
  // A segment is closed once a group would take it past this size.
  uint64_t segment_bytes = 64ull << 20;
  // The segment file is extended with zeros this far ahead of the write position, so that a
  // group's fdatasync need not also commit a file-size change (half the cost on ext4).
  // 0 disables preallocation.
  uint64_t preallocate_bytes = 4ull << 20;
};

class LogWriter {
 public:
  // `io` must outlive the writer and come from `env`.
  LogWriter(Env* env, std::string dir, LogWriterOptions options, IoQueue* io);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  // Creates segment `segment_no` whose first record will have LSN `next_lsn` and chain to
  // `prev_checksum`; its header is durable (file and directory synced) on return.
  // REQUIRES: no segment is open, or the open one is fully synced.
  Status StartSegment(uint64_t segment_no, Lsn next_lsn, uint64_t prev_checksum);

  // Continues segment `segment_no`, whose intact records end at `end_offset` (recovery found
  // them and truncated anything torn after them), with `next_lsn` chained to `prev_checksum`.
  // Syncs the segment first, so every record it holds is durable before later records claim so.
  Status ResumeSegment(uint64_t segment_no, uint64_t end_offset, Lsn next_lsn,
                       uint64_t prev_checksum);

  // Appends one batch record per payload, in order. With `sync`, the files in `sync_first`
  // (the blob arena) are made durable first, then the records are written and made durable in
  // the same linked submission, padded to a 4 KiB boundary. On success *first_lsn is the LSN of
  // the first payload's record.
  Status AppendGroup(std::span<const std::string_view> payloads, bool sync,
                     std::span<WritableFile* const> sync_first, Lsn* first_lsn);

  // Makes everything appended so far durable.
  Status Sync();

  // Syncs the current segment and starts the next one. Returns the new segment's number.
  Result<uint64_t> Rotate();

  Lsn last_lsn() const { return next_lsn_ - 1; }
  Lsn synced_lsn() const { return synced_lsn_; }
  uint64_t last_checksum() const { return prev_checksum_; }
  uint64_t segment_no() const { return segment_no_; }
  // Bytes of records written into the current segment (header block excluded).
  uint64_t segment_used_bytes() const { return offset_ - kSegmentHeaderBlock; }
  bool uses_io_uring() const { return io_->uses_io_uring(); }

 private:
  Status Fail(Status s);
  // Encodes the group into group_buf_; returns the padded size.
  void EncodeGroup(std::span<const std::string_view> payloads, bool sync);

  Env* const env_;
  const std::string dir_;
  const LogWriterOptions options_;
  IoQueue* const io_;

  std::unique_ptr<WritableFile> file_;
  SegmentHeader header_;
  uint64_t segment_no_ = 0;
  uint64_t offset_ = 0;           // where the next record goes
  uint64_t preallocated_to_ = 0;  // the file holds zeros up to here
  Lsn next_lsn_ = 1;
  Lsn synced_lsn_ = 0;
  uint64_t prev_checksum_ = 0;
  std::string group_buf_;
  std::string zeros_;
  Status failed_;
};

}  // namespace loci::wal

#endif  // LOCI_WAL_LOG_WRITER_H_
