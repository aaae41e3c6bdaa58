// Options that shape a database (Options), a read (ReadOptions) and a write (WriteOptions).

#ifndef LOCI_OPTIONS_H_
#define LOCI_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "loci/cube.h"

namespace loci {

class Env;
class Snapshot;

// What Open does when the write-ahead log is damaged.
enum class RecoveryMode {
  // A torn tail in the unsynced end of the last segment is truncated; any damage before a
  // record that was already durable, or before the checkpoint's LSN, fails Open with
  // Corruption naming the file and offset.
  kStrictTail,
  // Like kStrictTail, but mid-log damage stops replay there instead of failing: the database
  // opens at the last consistent point. Only allowed read-only (see Db::Salvage to keep it).
  kPointInTime,
};

// Tuning of Atlas, the vector index (design.md §6). Each (space, vector field) is a partition:
// flat (scanned exhaustively) while small, then clustered into posting lists.
struct VectorIndexOptions {
  // A partition is clustered once it holds this many vectors.
  // Default: 2048
  uint32_t flat_limit = 2048;
  // Vectors per posting list when clustered; a list is split in two past twice this.
  // Default: 64
  uint32_t list_target = 64;
  // A vector is stored in its nearest list and, up to this many lists in all, in the next
  // nearest ones whose centroid is at most (1 + replica_slack) times as far (squared distance;
  // L2 and cosine fields only). Replicas raise recall per probe but cost memory and scan time;
  // on the datasets measured so far (bigann10k, Fashion-MNIST) one copy gave more recall per
  // byte scanned, hence the default.
  // Default: 1 list (no replication), slack 0.1
  uint32_t max_replicas = 1;
  float replica_slack = 0.1f;
  // Search effort when the request leaves it at 0: lists probed, and candidates re-ranked
  // exactly from the full-precision vectors (at least k + k/5, rounded up). The search ranks
  // max(2k, 20, rerank) candidates by their INT8 distance, which is close enough to the exact
  // one that re-ranking only the best 12 of 20 for k = 10 kept recall@10 on Fashion-MNIST
  // (0.958 at probes 12) and lost 0.002 on bigann10k, at 60% of the scattered 3 KB reads.
  // Default: 24 probes, 12 re-ranked
  uint32_t probes = 24;
  uint32_t rerank = 12;
  // Skip probing lists whose centroid is more than (1 + probe_slack) times as far as the
  // nearest one's (0: probe all `probes`).
  // Default: 0
  float probe_slack = 0.0f;
  // Size of a posting-list page. Smaller pages waste less in each list's last, partly filled
  // page; larger ones make a scan follow fewer page links. On Fashion-MNIST 12 KiB cost no
  // measurable QPS against 16 KiB and saved ~45 bytes per vector.
  // Default: 12 KiB
  uint32_t page_bytes = 12288;
};

// How much of each cube's history a space keeps (design.md §8). Versions a policy does not keep
// are pruned at checkpoints (Db::Checkpoint and the automatic ones): they leave memory, the
// next checkpoint no longer holds them, and their blobs become dead space in the arena. A
// version is kept while either rule keeps it; a policy with neither keeps everything.
//  - keep_versions: the newest N versions of every cube (0: no count rule).
//  - keep_for: the versions superseded (a later version of the cube committed) less than this
//    long ago (0: no age rule). Ages are measured at the checkpoint.
// The newest version of a cube is always kept, and so is every version committed at or before
// the time of a live Snapshot, and, while a snapshot lives, every version of a cube that still
// has its version 1 (so reads through a snapshot stay exactly as they were: a long-lived
// snapshot holds retention back). Only the oldest versions
// go, so the retained history of a cube is a run of its newest versions: reads the retained
// versions can answer are answered as before, and Get and History at a read point only the
// pruned versions could answer return Status::Pruned instead of guessing. Search, List,
// Events, Changes, Episode and Trace answer from the retained versions (a cube whose retained
// versions are not visible at the read point is left out).
struct RetentionPolicy {
  uint32_t keep_versions = 0;
  std::chrono::microseconds keep_for{0};
  bool keeps_everything() const { return keep_versions == 0 && keep_for.count() == 0; }
};

struct Options {
  // The file system, clock and I/O submission. nullptr means Env::Default().
  // Default: nullptr
  Env* env = nullptr;

  // Create the database if the directory holds none.
  // Default: false
  bool create_if_missing = false;

  // Fail if a database already exists.
  // Default: false
  bool error_if_exists = false;

  // Open without any lock, so it neither waits for nor blocks a writer: writes return
  // NotSupported, nothing on disk is modified (a torn WAL tail is ignored in memory, not
  // truncated).
  // Default: false
  bool read_only = false;

  // Default: RecoveryMode::kStrictTail
  RecoveryMode recovery_mode = RecoveryMode::kStrictTail;

  // Largest payload a cube version may carry.
  // Default: 64 MiB
  uint64_t max_payload_bytes = 64ull << 20;

  // Largest vector dimension a field may declare, at most 65536.
  // Default: 65536
  uint32_t max_vector_dim = 65536;

  // Limits on the small fields, so that one cube stays small.
  // Default: 256 bytes for space, field and attribute names; 64 KiB for an attribute value,
  // source or agent; 256 attributes; 1024 parents.
  size_t max_name_bytes = 256;
  size_t max_text_field_bytes = 64 << 10;
  size_t max_attrs = 256;
  size_t max_parents = 1024;

  // A WAL segment is closed and a new one started past this size.
  // Default: 64 MiB
  uint64_t wal_segment_bytes = 64ull << 20;

  // A blob-arena generation file is closed and a new one started past this size; it is also
  // the address range reserved for its read-only mapping.
  // Default: 4 GiB
  uint64_t arena_generation_bytes = 4ull << 30;

  // Automatic compaction of the blob arena (Db::Compact): once a checkpoint finds this many
  // frame bytes erased (by purges and retention) since the last compaction, it copies the live
  // blobs of every generation in which at most arena_compaction_live_fraction of the bytes are
  // live to the active generation, and removes those files. 0 disables automatic compaction
  // (Db::Compact still runs it). Erased frames already give their whole blocks back to the file
  // system; compaction gives back the rest: the files' length, their mappings, and partial
  // blocks shared with live frames.
  // Defaults: 0.5 and 64 MiB
  double arena_compaction_live_fraction = 0.5;
  uint64_t arena_compaction_min_dead_bytes = 64ull << 20;

  // Take a checkpoint automatically once the WAL after the last one holds
  // checkpoint_wal_ratio of the data the database holds (its live blob bytes, estimated), but
  // at least checkpoint_wal_min_bytes and at most checkpoint_wal_bytes (0: never). The WAL,
  // the dead blobs a checkpoint's retention erases and the zeros preallocated ahead of appends
  // (scaled alike) then stay in proportion to the data: a small database that is rewritten
  // checkpoints often and stays small on disk (loci-bench churn), a large one as rarely as
  // checkpoint_wal_bytes allows. Ratio 0: only checkpoint_wal_bytes counts.
  // Defaults: 256 MiB, 0.125 and 1 MiB
  uint64_t checkpoint_wal_bytes = 256ull << 20;
  double checkpoint_wal_ratio = 0.125;
  uint64_t checkpoint_wal_min_bytes = 1ull << 20;

  // Do every file operation on the calling threads (no background zero-filling ahead of
  // appends), so that a seeded simulation of the file system replays exactly. For tests.
  // Default: false
  bool deterministic_io = false;

  // Largest group-commit batch, in WAL bytes. A small leading batch caps the group at its own
  // size plus 128 KiB, so small writes are not slowed by large ones.
  // Default: 1 MiB
  size_t max_group_bytes = 1 << 20;

  // A durable group's WAL write is padded to end on a multiple of this many bytes, so that the
  // next write never shares a disk sector with acknowledged data: were that write torn by a
  // power loss, a device that does not write sectors atomically could damage the whole sector.
  // 4096 covers every disk; on a device whose physical sectors are 512 bytes
  // (/sys/block/*/queue/physical_block_size), 512 keeps the guarantee and pads less; 0 assumes
  // the device never changes bytes a write does not cover (powersafe overwrite, which SQLite
  // assumes by default) and pads nothing. The padding costs log space, not flushes: a 100-byte
  // durable put takes 4 KiB of WAL with 4096, about 200 bytes with 0. 0 or a power of two from
  // 512 to 65536.
  // Default: 4096
  uint64_t wal_sync_alignment = 4096;

  // Blobs (payloads and vectors) up to this size also travel inside the WAL record of the commit
  // that stores them. The record is then their durable copy, so a durable commit makes one flush
  // (the record's) instead of two (the blob arena's, then the record's); the arena copy becomes
  // durable at the next checkpoint, and recovery rewrites any arena copy that does not verify
  // from the record. Larger blobs are made durable in the arena before their record is written.
  // 0: every blob takes the two-flush path.
  // Default: 64 KiB
  uint64_t max_logged_blob_bytes = 64 << 10;

  // How a durable group's WAL write and fdatasync are submitted: with pwrite and fdatasync on
  // the committing thread, or as one linked io_uring submission (falls back to pwrite where
  // io_uring is unavailable). Groups that are not durable are always written with a plain
  // pwrite: io_uring hands buffered writes to a kernel worker thread, which cost a put about
  // four times its time (loci-bench write, see the README).
  // Default: WalSubmission::kPwrite
  enum class WalSubmission { kPwrite, kIoUring };
  WalSubmission wal_submission = WalSubmission::kPwrite;

  // Versions published but not yet absorbed by the vector index, at most. Indexing runs on a
  // background thread, off the commit path; a search scans what it has not absorbed yet exactly
  // (every such vector of the searched field is scored in full precision), so this bounds that
  // extra work. A write waits while the backlog is full.
  // Default: 16384
  uint64_t max_index_backlog = 16384;

  // Default: see VectorIndexOptions.
  VectorIndexOptions vector_index;

  // The retention policy of every space space_retention does not name, and those it names.
  // Not stored in the database: each open applies the policies it is given (an open that
  // gives none prunes nothing). Ignored by read-only opens.
  // Default: keep everything
  RetentionPolicy retention;
  std::map<std::string, RetentionPolicy> space_retention;
};

// Where in (transaction time, valid time) a read looks. A read sees, among the versions
// committed at or before as_of whose valid interval contains valid_at, the one committed last.
// Where a read looks, on both time axes (design.md §1). Shared by every read: ReadOptions,
// SearchRequest and the trace requests (loci/trace.h) all are ReadPoints.
struct ReadPoint {
  // Transaction time: what the database held then. Default: now (everything committed).
  std::optional<Timestamp> as_of;
  // Valid time: when in the world the fact should hold. Default: as_of if set, else now.
  std::optional<Timestamp> valid_at;
  // Read as of this snapshot's point (overrides as_of). Default: none.
  const Snapshot* snapshot = nullptr;
};

struct ReadOptions : ReadPoint {
  // Restrict the read to this space: a cube of another space, or any cube when no space of this
  // name exists, is NotFound with exactly the message of an id never assigned ("cube <id> does
  // not exist"). Db::Space(name) sets it on every read. Default: any space.
  std::optional<std::string> space;
  // Copy the payload bytes / the vectors into the result. Default: true.
  bool fill_payload = true;
  bool fill_vectors = true;
  // Get: note that the cube was used, now (without writing a version), so that searches
  // ranking with SearchRequest::recency_from_access find it fresh. Kept in memory only.
  // Default: false.
  bool record_access = false;
};

struct WriteOptions {
  // Acknowledge only once the write is durable (blob arena and WAL synced). When false, the
  // write survives a process crash but not a power loss or kernel crash.
  // Default: true
  bool sync = true;
};

}  // namespace loci

#endif  // LOCI_OPTIONS_H_
