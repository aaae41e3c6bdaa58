// WAL recovery policy over all segments of a database.

#include "wal/replay.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/file_names.h"
#include "wal/segment_scan.h"

namespace loci::wal {

namespace {

// The largest segment file replay will read: a full segment plus one maximal record.
constexpr uint64_t kMaxSegmentFileBytes = (4ull << 30) + kMaxRecordPayload;

}  // namespace

Status ReadSegmentFile(Env* env, const std::string& path, std::string* contents) {
  std::unique_ptr<RandomAccessFile> file;
  LOCI_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  Result<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  if (*size > kMaxSegmentFileBytes) {
    return Status::Corruption(path + ": WAL segment of " + std::to_string(*size) +
                              " bytes exceeds the largest possible segment");
  }
  LOCI_RETURN_IF_ERROR(file->Read(0, *size, contents));
  if (contents->size() != *size) {
    return Status::IOError(path + ": short read of WAL segment");
  }
  return Status::OK();
}

namespace {

std::string At(const std::string& file, uint64_t offset) {
  return file + " at offset " + std::to_string(offset);
}

// A segment whose header never became durable (crash while creating it) holds nothing but
// zeros past where its header would be; anything else there is corruption. Only a segment
// created before segments were created by rename can be in that state (see
// LogWriter::StartSegment): one that follows a guarded segment was created by this build.
bool NeverWritten(std::string_view image) {
  if (image.size() <= kSegmentHeaderBlock) return true;
  std::string_view body = image.substr(kSegmentHeaderBlock);
  return std::all_of(body.begin(), body.end(), [](char c) { return c == 0; });
}

// For the last segment of a log, if it has the tail guard: why its file must have been cut
// short after the fact (see kGuardedTailFlag), or nothing if it was not.
std::optional<std::string> CutShort(const SegmentScan& scan, uint64_t file_size,
                                    const std::string& file) {
  if (scan.damaged && scan.damage_runs_past_end) {
    return At(file, scan.damage_offset) + " (LSN " + std::to_string(scan.last_lsn + 1) +
           "): the record runs past the end of the file (" + std::to_string(file_size) +
           " bytes): the segment was cut short";
  }
  const uint64_t log_end = scan.damaged ? scan.damage_offset : scan.end_offset;
  if (file_size < log_end + kTailGuard) {
    return file + ": WAL segment of " + std::to_string(file_size) + " bytes ends " +
           std::to_string(file_size - log_end) + " bytes after its last record (offset " +
           std::to_string(log_end) + "), but a segment always keeps " + std::to_string(kTailGuard) +
           " zero bytes after it: the segment was cut short";
  }
  return std::nullopt;
}

}  // namespace

Status RepairTornTail(Env* env, const TornTail& tail) {
  std::unique_ptr<WritableFile> file;
  LOCI_RETURN_IF_ERROR(env->NewWritableFile(tail.file, Env::OpenMode::kOpenExisting, &file));
  Result<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  // Overwritten, not truncated: the file keeps its size, so the tail guard of a guarded
  // segment still holds, and a crash part-way leaves the same torn tail to find again.
  static const std::string kZeros(1 << 20, '\0');
  for (uint64_t at = tail.offset; at < *size; at += kZeros.size()) {
    const uint64_t n = std::min<uint64_t>(kZeros.size(), *size - at);
    LOCI_RETURN_IF_ERROR(file->Write(at, std::string_view(kZeros).substr(0, n)));
  }
  return file->Sync();
}

Status ListSegments(Env* env, const std::string& dir, std::vector<uint64_t>* segments) {
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env->GetChildren(dir, &names));
  segments->clear();
  for (const std::string& name : names) {
    uint64_t n;
    if (ParseWalSegmentFileName(name, &n)) segments->push_back(n);
  }
  std::sort(segments->begin(), segments->end());
  return Status::OK();
}

Status ReplayWal(Env* env, const std::string& dir, const DbUuid& db_uuid,
                 const ReplayOptions& options, const BatchHandler& handler, ReplayResult* result) {
  *result = ReplayResult();
  const DbPaths paths(dir);
  result->last_lsn = options.after_lsn;
  result->last_checksum = options.after_checksum;

  std::vector<uint64_t> segments;
  LOCI_RETURN_IF_ERROR(ListSegments(env, dir, &segments));
  if (!segments.empty()) result->last_segment_no = segments.back();

  std::vector<uint64_t> live;
  for (uint64_t n : segments) {
    (n < options.first_segment_no ? result->obsolete_segments : live).push_back(n);
  }
  if (live.empty() || live.front() != options.first_segment_no) {
    return Status::Corruption(paths.wal_segment(options.first_segment_no) +
                              ": WAL segment recorded in the superblock is missing");
  }

  std::string image;
  // Records up to `certified` are known durable, and with them the blobs they refer to.
  Lsn certified = options.after_lsn;
  // Damage in a closed segment with nothing intact after it is harmless only if the next
  // segment's header continues the chain from the last intact record (bit rot in the unused
  // preallocated tail); it is decided there.
  std::optional<std::string> undecided;
  std::string prev_file;
  uint64_t prev_end = 0;
  bool prev_guarded = false;  // the previous segment has the tail guard
  auto fail = [&](std::string why) {
    if (options.stop_at_damage) {
      result->stopped_at = std::move(why);
      return Status::OK();
    }
    return Status::Corruption(why);
  };
  for (size_t i = 0; i < live.size(); ++i) {
    const uint64_t segment_no = live[i];
    const bool last = i + 1 == live.size();
    const std::string file = paths.wal_segment(segment_no);
    if (segment_no != options.first_segment_no + i) {
      return Status::Corruption(paths.wal_segment(options.first_segment_no + i) +
                                ": WAL segment missing (found " + WalSegmentFileName(segment_no) +
                                " after it)");
    }
    LOCI_RETURN_IF_ERROR(ReadSegmentFile(env, file, &image));

    SegmentScan scan;
    Status header_status = ScanSegment(image, file, &scan);
    if (!header_status.ok()) {
      if (last && i > 0 && !prev_guarded && !undecided && NeverWritten(image)) {
        result->headerless_segments.push_back(segment_no);
        break;
      }
      if (undecided) return fail("mid-log corruption in " + *undecided);
      if (options.stop_at_damage) return fail(header_status.ToString());
      return header_status;
    }
    const SegmentHeader& h = scan.header;
    if (std::memcmp(h.db_uuid.data(), db_uuid.data(), db_uuid.size()) != 0) {
      return Status::Corruption(file + ": segment belongs to another database");
    }
    if (h.segment_no != segment_no) {
      return Status::Corruption(file + ": header says segment " + std::to_string(h.segment_no));
    }
    if (h.first_lsn != result->last_lsn + 1 || h.prev_checksum != result->last_checksum) {
      if (undecided) return fail("mid-log corruption in " + *undecided);
      const std::string found = "starts at LSN " + std::to_string(h.first_lsn) +
                                (h.first_lsn == result->last_lsn + 1 ? " but its hash chain "
                                                                       "does not match"
                                                                     : "");
      if (i == 0) {
        return fail(file + ": does not continue the checkpointed log (expected LSN " +
                    std::to_string(result->last_lsn + 1) + ", " + found + ")");
      }
      return fail(prev_file + " at offset " + std::to_string(prev_end) +
                  ": records missing (the log ends at LSN " + std::to_string(result->last_lsn) +
                  ", the next segment " + WalSegmentFileName(segment_no) + " " + found + ")");
    }
    undecided.reset();  // the chain continues: the damage before lost nothing
    if (!last) {
      // A segment is closed only after the blob arena and the segment itself were synced (every
      // rotation does both), so each of its records was durable with its blobs.
      certified = std::max(certified, scan.last_lsn);
    } else {
      for (const ScannedRecord& r : scan.records) {
        certified = std::max(certified, r.synced_lsn);
        // A sync group synced every unsynced blob before writing: what precedes it is whole.
        if ((r.flags & kSyncGroupFlag) != 0) certified = std::max(certified, r.lsn);
      }
      if (scan.valid_after_damage) {
        certified = std::max(certified, scan.max_synced_lsn_after_damage);
      }
    }

    uint64_t chain = h.prev_checksum;  // the checksum each record follows
    for (const ScannedRecord& r : scan.records) {
      if (r.type == kSealRecord) result->seal = std::string(r.payload);
      if (r.type == kBatchRecord) {
        result->seal.reset();  // the log goes on after the seal
        if (r.lsn > certified && (r.flags & kSyncGroupFlag) == 0 && options.uncertified_ok &&
            !options.uncertified_ok(r.lsn, r.payload)) {
          // The log ends here: this write was never acknowledged as durable and did not
          // survive whole.
          result->last_lsn = r.lsn - 1;
          result->last_checksum = chain;
          result->live_segments.push_back(segment_no);
          result->live_bytes += image.size();
          result->end_offset = r.offset;
          result->torn_tail = TornTail{segment_no, file, r.offset, image.size(),
                                       "record LSN " + std::to_string(r.lsn) +
                                           " refers to data that did not survive (it was never "
                                           "acknowledged as durable)"};
          return Status::OK();
        }
        LOCI_RETURN_IF_ERROR(handler(r.lsn, r.payload));
        ++result->batches;
      }
      chain = r.checksum;
    }
    result->last_lsn = scan.last_lsn;
    result->last_checksum = scan.last_checksum;
    result->live_segments.push_back(segment_no);
    result->live_bytes += image.size();
    result->end_offset = scan.end_offset;
    prev_file = file;
    prev_end = scan.end_offset;
    prev_guarded = (h.flags & kGuardedTailFlag) != 0;

    if (last && (h.flags & kGuardedTailFlag) != 0) {
      if (std::optional<std::string> cut = CutShort(scan, image.size(), file)) {
        return fail(std::move(*cut));
      }
    }
    if (!scan.damaged) continue;
    const Lsn damaged_lsn = scan.last_lsn + 1;
    std::string where = At(file, scan.damage_offset) + " (LSN " + std::to_string(damaged_lsn) +
                        "): " + scan.damage_reason;
    if (!last) {
      if (scan.valid_after_damage) {
        return fail("mid-log corruption in " + where +
                    "; intact records follow it in a closed segment");
      }
      undecided = where + "; the segment was closed, so this data was durable";
      continue;
    }
    if (scan.damaged_lsn_elsewhere) {
      return fail("mid-log corruption in " + where + "; record LSN " + std::to_string(damaged_lsn) +
                  " is intact at offset " + std::to_string(scan.damaged_lsn_offset) +
                  " instead (misplaced data)");
    }
    if (scan.valid_after_damage && scan.max_synced_lsn_after_damage >= damaged_lsn) {
      return fail("mid-log corruption in " + where + "; the intact record at offset " +
                  std::to_string(scan.first_valid_after_offset) + " (LSN " +
                  std::to_string(scan.first_valid_after_lsn) +
                  ") was written after it had become durable");
    }
    result->torn_tail =
        TornTail{segment_no, file, scan.damage_offset, image.size(), scan.damage_reason};
  }
  if (undecided) return fail("mid-log corruption in " + *undecided);
  return Status::OK();
}

}  // namespace loci::wal
