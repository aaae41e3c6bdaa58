// LogWriter: places groups of records in the WAL, rotating to a new segment when the current
// one is full.
//
// A group is first prepared (encoded, given its LSNs and its place in the segment) and then
// written by running its linked I/O — the blob-arena syncs, the record write, the segment sync
// — after which it is completed. Preparing is serialized by the caller (the group-commit
// leader); the I/O of several prepared groups may run at once, each on its own IoQueue, so the
// next group's syncs overlap the previous group's; completions must come in preparation order.
//
// With preallocation on, every segment it creates keeps the tail guard (wal/format.h): the
// synced zeros stay at least kTailGuard bytes ahead of the records, so recovery can tell a
// segment cut short after the fact from a torn write. Seal ends the writer's use of the log
// cleanly.
//
// After any I/O error the writer refuses further appends: what reached the disk is unknown and
// only recovery may decide (an fsync is never retried).

#ifndef LOCI_WAL_LOG_WRITER_H_
#define LOCI_WAL_LOG_WRITER_H_

#include <atomic>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/file_names.h"
#include "common/mutex.h"
#include "common/zero_filler.h"
#include "loci/env.h"
#include "loci/status.h"
#include "wal/format.h"

namespace loci::wal {

struct LogWriterOptions {
  DbUuid db_uuid{};
  // A segment is closed once a group would take it past this size.
  uint64_t segment_bytes = 64ull << 20;
  // A background thread keeps synced zeros ahead of the write position, in steps that grow
  // with the file up to this size, so that a group's fdatasync writes only its records (no
  // size change, no extent conversion). 0 disables preallocation, and with it the tail guard.
  uint64_t preallocate_bytes = 4ull << 20;
  // Preallocate on the calling thread instead of a background one (deterministic I/O).
  bool preallocate_inline = false;
  // A sync group is padded to end on a multiple of this (0: not padded). See
  // Options::wal_sync_alignment.
  uint64_t sync_alignment = kSyncAlignment;
};

// A prepared group: its records, where they go, and the files to sync before them.
struct PreparedGroup {
  std::string records;           // the encoded records, padding included
  WritableFile* file = nullptr;  // the segment they go to
  uint64_t offset = 0;
  std::vector<WritableFile*> sync_first;
  bool sync = false;
  Lsn first_lsn = 0;  // of the first payload's record
  Lsn last_lsn = 0;   // of the group's last record (padding included)

  // The linked I/O that writes the group: syncs of sync_first, the write, the segment's sync.
  // The ops point into this object, which must outlive their submission.
  std::vector<IoOp> Ops() const;
};

class LogWriter {
 public:
  // `io` must outlive the writer and come from `env`; it serves Sync, AppendGroup and segment
  // creation.
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

  // True if a group of about `bytes` would not fit the current segment: the caller must let
  // every prepared group complete, then Rotate.
  bool NeedsRotation(size_t bytes) const;

  // Encodes one batch record per payload and places them after the previous group, reserving
  // file space as needed. With `sync` the group is padded to a 4 KiB boundary and its ops sync
  // `sync_first` (the blob arena) and then the segment. The caller runs out->Ops() and then
  // calls CompleteGroup. Serialized by the caller.
  Status PrepareGroup(std::span<const std::string_view> payloads, bool sync,
                      std::span<WritableFile* const> sync_first, PreparedGroup* out);

  // Records the outcome of a prepared group's I/O. REQUIRES: called in preparation order.
  // A failure makes the writer refuse everything afterwards.
  void CompleteGroup(const PreparedGroup& group, const Status& io_status);

  // Prepare, run on this writer's IoQueue, complete: one group, synchronously.
  Status AppendGroup(std::span<const std::string_view> payloads, bool sync,
                     std::span<WritableFile* const> sync_first, Lsn* first_lsn);

  // Makes everything appended so far durable. REQUIRES: every prepared group completed.
  Status Sync();

  // Closes the log cleanly: syncs everything appended so far, then appends one seal record
  // carrying `payload` (kSealRecord, certifying every earlier record as durable) in a sync
  // group of its own. The writer may go on appending after it (the seal is then no longer the
  // last record). REQUIRES: every prepared group completed.
  Status Seal(std::string_view payload);

  // Syncs the current segment and starts the next one. Returns the new segment's number.
  // REQUIRES: every prepared group completed.
  Result<uint64_t> Rotate();

  // Caps the zeros kept preallocated ahead of appends (LogWriterOptions::preallocate_bytes) at
  // `bytes` from now on (the engine scales them to the data it holds). Thread-safe.
  void SetPreallocationCap(uint64_t bytes) { filler_.SetStepCap(bytes); }

  Lsn last_lsn() const { return next_lsn_ - 1; }  // prepared, not necessarily written
  Lsn synced_lsn() const { return synced_lsn_.load(std::memory_order_acquire); }
  uint64_t last_checksum() const { return prev_checksum_; }
  uint64_t segment_no() const { return segment_no_; }
  // Bytes of records placed in the current segment (header block excluded).
  uint64_t segment_used_bytes() const { return offset_ - kSegmentHeaderBlock; }
  bool uses_io_uring() const { return io_->uses_io_uring(); }

 private:
  Status Fail(Status s) EXCLUDES(failed_mu_);
  Status failed() const EXCLUDES(failed_mu_);
  // Encodes one record of `type` per payload into *records, padding a sync group to the next
  // 4 KiB boundary.
  void EncodeGroup(uint8_t type, std::span<const std::string_view> payloads, bool sync,
                   std::string* records);
  // PrepareGroup for records of any type.
  Status PrepareRecords(uint8_t type, std::span<const std::string_view> payloads, bool sync,
                        std::span<WritableFile* const> sync_first, PreparedGroup* out);
  // Bytes the zero filler must keep ready past the records: the tail guard if the open
  // segment has one.
  uint64_t guard() const { return guarded_ ? kTailGuard : 0; }

  Env* const env_;
  const DbPaths paths_;
  const LogWriterOptions options_;
  IoQueue* const io_;

  // Touched only by the (serialized) preparing thread, or with no group in flight.
  std::unique_ptr<WritableFile> file_;
  SegmentHeader header_;
  uint64_t segment_no_ = 0;
  uint64_t offset_ = 0;   // where the next group goes
  bool guarded_ = false;  // the open segment keeps the tail guard
  Lsn next_lsn_ = 1;
  uint64_t prev_checksum_ = 0;
  std::string zeros_;
  // Declared after file_: destroyed (and its thread stopped) before the file it fills.
  ZeroFiller filler_;

  // Advanced by CompleteGroup, read when encoding.
  std::atomic<Lsn> synced_lsn_{0};
  mutable Mutex failed_mu_;
  Status failed_ GUARDED_BY(failed_mu_);
};

}  // namespace loci::wal

#endif  // LOCI_WAL_LOG_WRITER_H_
