// WAL recovery: finds the segments of a database, verifies them in order and hands every
// committed batch after a given LSN to the caller, applying the recovery policy of design.md §4:
//
//  - a torn tail (damage in the last segment with nothing durable after it) is dropped;
//  - damage anywhere else — in an earlier segment, before a record whose synced_lsn says the
//    damaged record was already durable, or where the missing record turns up intact at another
//    offset (misplaced data) — is Corruption naming the file and offset;
//  - a missing segment, an LSN gap or a broken hash chain between segments is Corruption;
//  - a last segment with the tail guard (wal/format.h) that ends too soon, or inside an intact
//    record, was cut short after the fact: Corruption naming the file.

#ifndef LOCI_WAL_REPLAY_H_
#define LOCI_WAL_REPLAY_H_

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loci/env.h"
#include "loci/status.h"
#include "wal/format.h"

namespace loci::wal {

struct ReplayOptions {
  // The first live segment, as the superblock records it: it must exist, start at LSN
  // after_lsn + 1 and chain to after_checksum. Lower-numbered segments are obsolete.
  uint64_t first_segment_no = 1;
  // The checkpoint covers every record up to this LSN.
  Lsn after_lsn = 0;
  // The checksum of record after_lsn (0 for an empty log).
  uint64_t after_checksum = 0;
  // Stop at the first damage instead of failing (read-only inspection of a damaged database).
  bool stop_at_damage = false;
  // Called, before the handler, for each batch record of a non-sync group in the last segment
  // that nothing certifies as durable (its LSN is above after_lsn, every synced_lsn of the
  // segment and every sync-group record): such a record may have reached the disk without
  // what it refers to (writeback persisted it). Records of closed segments are certified: the
  // writer syncs the blobs and the segment before it starts the next one.
  // Returning false ends the log just before it, like a torn tail. Default: none.
  std::function<bool(Lsn lsn, std::string_view payload)> uncertified_ok;
};

struct TornTail {
  uint64_t segment_no = 0;
  std::string file;
  uint64_t offset = 0;  // the WAL is valid up to here
  uint64_t file_size = 0;
  std::string reason;
};

struct ReplayResult {
  Lsn last_lsn = 0;                           // the last intact record (after_lsn if none follows)
  uint64_t last_checksum = 0;                 // its checksum, to chain the next segment to
  uint64_t last_segment_no = 0;               // highest segment number present (0: none)
  uint64_t end_offset = 0;                    // end of the intact records in the last live segment
  std::vector<uint64_t> live_segments;        // first_segment_no onwards
  std::vector<uint64_t> obsolete_segments;    // below first_segment_no: covered by the checkpoint
  std::vector<uint64_t> headerless_segments;  // last segment whose header never became durable
  std::optional<TornTail> torn_tail;
  std::optional<std::string> stopped_at;  // stop_at_damage: what stopped replay
  uint64_t batches = 0;
  uint64_t live_bytes = 0;  // size of the live segments
  // The payload of the log's last seal record, if no batch record follows it: the writer that
  // wrote it closed the log cleanly and nothing was appended after (see LogWriter::Seal).
  std::optional<std::string> seal;
};

using BatchHandler = std::function<Status(Lsn lsn, std::string_view payload)>;

// Replays the WAL in `dir`. Every segment must carry `db_uuid`. Calls `handler` for each batch
// record above options.after_lsn, in LSN order; a handler error stops replay and is returned.
// When options.uncertified_ok ends the log early, torn_tail names where it now ends. (Only the
// last segment can end so: the records of a closed segment are certified by its rotation.)
// Does not modify any file: the caller truncates the torn tail and removes obsolete or
// headerless segments as the result says.
Status ReplayWal(Env* env, const std::string& dir, const DbUuid& db_uuid,
                 const ReplayOptions& options, const BatchHandler& handler, ReplayResult* result);

// Makes the torn tail durably gone: overwrites the segment from tail.offset to its end with
// zeros and syncs it (the size is kept, see kGuardedTailFlag). Idempotent.
Status RepairTornTail(Env* env, const TornTail& tail);

// Reads a whole segment file. Corruption if it is larger than any segment can be (so garbage
// cannot make recovery allocate without bound).
Status ReadSegmentFile(Env* env, const std::string& path, std::string* contents);

// Lists the segment numbers in `dir`, ascending.
Status ListSegments(Env* env, const std::string& dir, std::vector<uint64_t>* segments);

}  // namespace loci::wal

#endif  // LOCI_WAL_REPLAY_H_
