// Db: an open Loci database. The entry point of the library.
//
//   loci::Options options;
//   options.create_if_missing = true;
//   std::unique_ptr<loci::Db> db;
//   loci::Status s = loci::Db::Open(options, "/path/to/db", &db);
//
// One process writes a database at a time (a lock on its directory, see Env::LockDir); inside
// it, any number of threads may call any method concurrently. A read-only open takes no lock.
// Reads never block on writes. Every method validates its input and reports problems through
// Status; nothing a caller passes may crash the engine or corrupt the database.

#ifndef LOCI_DB_H_
#define LOCI_DB_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "loci/cube.h"
#include "loci/options.h"
#include "loci/salvage.h"
#include "loci/search.h"
#include "loci/space.h"
#include "loci/status.h"
#include "loci/trace.h"
#include "loci/write_batch.h"

namespace loci {

// A consistent read point. Reads through it see exactly what was committed when it was taken,
// however long it is kept — except cubes purged since (Db::Purge): erasure overrides history.
// While it lives, retention prunes no version committed at or before its time.
// Obtained from Db::GetSnapshot; released by destroying the handle.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
  // The transaction time this snapshot reads at.
  virtual Timestamp time() const = 0;
};

// A vector field of a space: its name, dimension and metric, fixed at creation.
struct VectorFieldInfo {
  std::string space;
  std::string name;
  uint32_t dim = 0;
  std::string metric;        // "cosine", "ip" or "l2"
  uint64_t vectors = 0;      // distinct vectors indexed (every version's, current or not)
  uint64_t index_lists = 0;  // posting lists (1 while the field's partition is flat)
  // Principal directions of the residuals the scan ranks by first (0: it ranks by the INT8
  // codes' high nibbles; see design.md §6).
  uint32_t index_prefix_width = 0;
};

struct DbStats {
  uint64_t cubes = 0;     // ids ever assigned and not purged
  uint64_t versions = 0;  // committed versions held
  uint64_t spaces = 0;
  uint64_t last_lsn = 0;        // last committed WAL record
  uint64_t checkpoint_lsn = 0;  // LSN covered by the latest checkpoint
  uint64_t wal_segments = 0;
  uint64_t wal_bytes = 0;  // WAL bytes after the latest checkpoint
  uint64_t arena_generations = 0;
  uint64_t arena_bytes = 0;
  // Arena generations holding a writable file descriptor (the active one, and sealed ones
  // until the next checkpoint releases them), and the address space their mappings reserve
  // (a sealed generation keeps only its length; the active one, arena_generation_bytes).
  uint64_t arena_open_files = 0;
  uint64_t arena_reserved_bytes = 0;
  uint64_t checkpoint_files = 0;
  uint64_t group_commits = 0;  // WAL writes since open (each may carry several batches)
  uint64_t batches_committed = 0;
  Timestamp clock_high_water = 0;  // highest commit time issued
  bool io_uring = false;           // WAL submissions go through io_uring
  bool poisoned = false;           // an fsync failed: the instance refuses writes
  bool read_only = false;
  std::string recovery;  // what the last recovery dropped (a torn tail) or stopped at
  std::vector<VectorFieldInfo> vector_fields;
  uint64_t index_bytes = 0;             // memory of the vector index (pages, entries, centroids)
  uint64_t index_vectors = 0;           // vectors it holds, replicas included
  uint64_t searches = 0;                // Search calls that succeeded, since open
  uint64_t search_vectors_scanned = 0;  // quantized vectors they scanned
  uint64_t search_bytes_scanned = 0;    // bytes they read (centroids, pages, re-ranked vectors)
  // How the last open built the vector index: entries restored from the index snapshot written
  // with the last base checkpoint (no clustering, routing or encoding), and entries indexed
  // from their versions (written after that snapshot, or all of them without a usable one).
  uint64_t index_restored_vectors = 0;
  uint64_t index_rebuilt_vectors = 0;
  // Index snapshots this instance failed to write (I/O errors, a full disk): each costs the
  // next open a rebuild of what it would have restored, never the checkpoint it went with.
  uint64_t index_snapshots_failed = 0;
  // Versions and field drops published but not yet absorbed by the vector index (a search
  // scans those versions exactly; see Options::max_index_backlog).
  uint64_t index_backlog = 0;
  // Versions retention pruned (Options::retention) since open, and the arena bytes given back
  // to the file system for their blobs (hole-punched: the files keep their size).
  uint64_t versions_pruned = 0;
  uint64_t arena_discarded_bytes = 0;
  // Blob-arena compaction (Db::Compact, Options::arena_compaction_live_fraction) since open:
  // passes that moved something, the blob bytes they copied, the generation files removed.
  uint64_t arena_compactions = 0;
  uint64_t arena_bytes_copied = 0;
  uint64_t arena_generations_removed = 0;
};

// Db::Compact's request.
struct CompactOptions {
  // Empties every generation of the blob arena in which at most this fraction of the frame
  // bytes is live; 1.0 (the default) empties every generation holding a dead byte.
  double max_live_fraction = 1.0;
  // Called as live blobs are copied: bytes copied so far and in all (may be empty).
  std::function<void(uint64_t copied, uint64_t total)> progress;
};

// What one Db::Compact did.
struct CompactResult {
  uint64_t generations_removed = 0;
  uint64_t blobs_copied = 0;
  uint64_t bytes_copied = 0;        // blob payload bytes
  uint64_t arena_bytes_before = 0;  // of the generation files (their length)
  uint64_t arena_bytes_after = 0;
};

// What Db::Verify checked and found.
struct IntegrityReport {
  uint64_t cubes = 0;
  uint64_t versions = 0;
  uint64_t blobs = 0;  // payload and vector blobs read and checksummed
  uint64_t blob_bytes = 0;
  std::vector<std::string> problems;  // one line each, naming file and offset
};

// What the database's data occupies (Db::Usage).
struct SpaceUsage {
  std::string name;
  uint64_t cubes = 0;     // not purged
  uint64_t versions = 0;  // held in memory and in the checkpoints
  // Arena bytes of the blobs (payloads and vectors) its versions refer to, frames included,
  // each blob once however many versions share it.
  uint64_t blob_bytes = 0;
};

struct FileUsage {
  std::string kind;  // "wal", "checkpoint", "index-snapshot", "arena", "superblock"
  uint64_t files = 0;
  uint64_t bytes = 0;  // their sizes
  // What recovery or a read still needs. WAL: the bytes after the latest checkpoint (after an
  // open, the whole segments replay read, preallocated tails included). Arena:
  // the frames of the blobs some version refers to (the rest is dead: blobs of purged cubes,
  // of dropped fields, of writes that failed, and the zeros preallocated past the last blob).
  // Other kinds: every byte.
  uint64_t live_bytes = 0;
  uint64_t dead_bytes() const { return bytes > live_bytes ? bytes - live_bytes : 0; }
};

struct UsageReport {
  std::vector<SpaceUsage> spaces;  // in catalog order
  std::vector<FileUsage> files;    // one per kind, in the order of FileUsage::kind
};

class Db {
 public:
  // Opens (or, with create_if_missing, creates) the database in directory `path`.
  // On success stores the database in *db and returns OK. On failure stores nullptr and returns:
  // Busy if another writer holds the directory's lock (naming its process; a read-only open
  // takes no lock, so it is never Busy), NotFound if there is no database
  // and create_if_missing is false, Corruption naming file and offset if the files are damaged
  // beyond a torn WAL tail, IOError for file system failures.
  static Status Open(const Options& options, const std::string& path, std::unique_ptr<Db>* db);

  // Copies every version that verifies out of the database in `src` — one Open refuses, or
  // any other — into a new database in `dst`, and fills *report with what it copied and what
  // it could not (file, offset and the versions lost, where known). `src` is only read: it
  // takes no lock, and nothing in it is written, truncated, renamed or created.
  //
  // Every superblock copy, checkpoint file and WAL segment in `src` is read, skipping what
  // fails its checksum and resuming at the next piece that verifies; a version is copied only
  // if every blob it refers to verifies. Copied versions keep their cube ids, version numbers,
  // commit and valid times; new cube ids in `dst` start above every id `src` may have issued.
  // When a version of a cube is lost but later ones are not, the later ones are copied with
  // their numbers: they are whole versions, and renumbering would make `dst` contradict every
  // id and version number an application kept. `dst` then records that its version numbers
  // may skip (report->version_gaps), and a build without salvage support refuses to open it.
  // `dst` opens with a plain Open and passes Verify.
  //
  // Uses options.env, and options' file sizes for `dst`; the rest of `options` is ignored.
  // REQUIRES: report != nullptr.
  // On success (whatever was lost) returns OK. Errors: InvalidArgument if `dst` exists and is
  // not an empty directory, or lies inside `src`; NotFound if `src` holds no Loci file at all;
  // Corruption if nothing in it could be read (then `dst` is not created); NotSupported if a
  // newer Loci wrote `src`; IOError for file system failures (`dst` may then hold a partial
  // copy, and no SUPERBLOCK).
  static Status Salvage(const Options& options, const std::string& src, const std::string& dst,
                        SalvageReport* report);

  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  // Closes the database. Writes already acknowledged stay durable; nothing is lost by
  // destroying a Db without a checkpoint (the WAL is replayed at the next Open).
  virtual ~Db() = default;

  // A handle whose every call is confined to space `name` (loci/space.h): what an application
  // acting for one user of many should use, so that it cannot read or change another user's
  // cubes by leaving a space out. Never fails; a space that does not exist yet is created by
  // the handle's first Put. REQUIRES: this Db outlives the handle.
  SpaceHandle Space(std::string name) { return SpaceHandle(this, std::move(name)); }

  // Stores a new cube and returns its id (stable forever). Its version is 1.
  // InvalidArgument names what is wrong with the draft (empty space, a vector whose dimension
  // differs from its field's, NaN/Inf, payload over the maximum, inverted valid interval, a
  // parent that does not exist in the draft's space...).
  // A vector field the space does not have yet is created by this put with this dimension and
  // metric cosine, unless the name was dropped (WriteBatch::DropVectorField): that is
  // InvalidArgument until DefineVectorField defines it again.
  virtual Result<CubeId> Put(const WriteOptions& options, const CubeDraft& draft) = 0;

  // Writes a new version of cube `id`, applying `patch` to its latest version, and returns the
  // new version number. NotFound if `id` does not exist; InvalidArgument if it is retired or the
  // patch is invalid: it sets nothing, names the cube itself or a cube that does not exist in
  // the cube's space as a parent, or would change nothing — a patch that sets neither
  // valid_from nor valid_to and leaves every field (payload and vector bytes included) as the
  // latest version has it, over valid times that version covers already, carries no
  // information, and is refused ("nothing to change") rather than recorded as a version. Not
  // confined to a space: use Space(name).Update, or WriteBatch::Update with a space, to act for
  // one tenant.
  virtual Result<uint32_t> Update(const WriteOptions& options, CubeId id,
                                  const CubePatch& patch) = 0;

  // Ends the validity of cube `id` at `valid_to` (default: the commit time): reads at valid times
  // from then on do not find it; reads of earlier valid times still see the past. Creates a new
  // version. NotFound if `id` does not exist; InvalidArgument if already retired. Not confined
  // to a space, like Update.
  virtual Status Retire(const WriteOptions& options, CubeId id,
                        std::optional<Timestamp> valid_to = std::nullopt) = 0;

  // Erases cube `id` for good (WriteBatch::Purge): every version, its payload, vectors,
  // attributes and edges. Returns once no file in the database directory holds those bytes:
  // the purge is committed durably (whatever options.sync says), the cube's blobs are
  // overwritten with zeros and a base checkpoint replaces every WAL segment, checkpoint and
  // index snapshot that held it — costs that grow with the database, so purge many cubes in one
  // batch. From the commit on, every read at every read point (snapshots and as_of reads of
  // the past included) finds no such cube, and its id is never assigned again. A crash during
  // a purge leaves the cube whole (the purge was not committed) or gone, its bytes erased by the
  // next read-write open. NotFound if the cube does not exist (or was purged). Not confined to
  // a space, like Update.
  Status Purge(const WriteOptions& options, CubeId id);

  // Erases every cube of `space` as Purge erases one (WriteBatch::PurgeSpace), in one batch and
  // one checkpoint, and returns their number. The space and its vector fields remain, empty.
  // NotFound if the space does not exist.
  Result<uint64_t> PurgeSpace(const WriteOptions& options, const std::string& space);

  // Commits every operation of `batch` atomically, or none (the first invalid operation's
  // error is returned). On success fills *result (may be nullptr). A batch with a Purge returns
  // once the purged cubes' bytes are erased (see Purge).
  virtual Status Write(const WriteOptions& options, const WriteBatch& batch,
                       WriteResult* result) = 0;

  // Reads the version of `id` visible at the read point of `options` into *cube.
  // NotFound if the cube does not exist, is not visible then (not yet committed, not valid at
  // that valid time, retired) or belongs to another space than options.space (then, as when no
  // such space exists, with the message of an id never assigned: "cube <id> does not exist").
  // Pruned if no retained version is visible there and the cube's retained history does not
  // start at version 1 (Options::retention): the pruned versions may have answered.
  virtual Status Get(const ReadOptions& options, CubeId id, MemCube* cube) = 0;

  // Every retained version of `id` committed at or before the read point (as_of / snapshot),
  // oldest first, with tx_to as seen at that point; the first one's number says whether
  // retention pruned older ones (it is then above 1). NotFound if there is none, or if the cube
  // is not in options.space (as for Get); Pruned if there is none but older versions were
  // pruned.
  virtual Status History(const ReadOptions& options, CubeId id, std::vector<MemCube>* versions) = 0;

  // The k cubes nearest to request.query by vector field request.field, among the versions
  // visible at the request's read point in request.spaces that pass its filters, best first
  // (see loci/search.h). Fills *hits (cleared first). InvalidArgument names what is wrong: no
  // space, an unknown space or field, a query of the wrong dimension or with NaN/Inf, k = 0 or
  // above kMaxSearchK, a retired state asked for.
  virtual Status Search(const SearchRequest& request, std::vector<SearchHit>* hits) = 0;

  // --- the trace graph and temporal queries (loci/trace.h)

  // Db::Write of a batch holding one WriteBatch::Link (not confined to a space: the edge is in
  // the space of `from`). Returns the edge's new version number.
  Result<uint32_t> Link(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                        float weight = 1.0f, std::optional<Timestamp> valid_from = std::nullopt);
  // Db::Write of a batch holding one WriteBatch::Unlink.
  Status Unlink(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                std::optional<Timestamp> valid_to = std::nullopt);

  // MemOS fusion: writes `draft` as a new cube whose parents are `ids` and with a
  // derived_from edge from it to each of them, in one atomic batch, and returns its id. An
  // empty draft.space takes the space of the ids, which must all be in one space (another
  // space's cube, or a missing one, is InvalidArgument "parent cube <id> does not exist");
  // draft.parents must be empty (the ids are the parents). InvalidArgument for no ids or a
  // repeated id; otherwise as Put and Link.
  Result<CubeId> Fuse(const WriteOptions& options, const std::vector<CubeId>& ids, CubeDraft draft);

  // The provenance tree of cube `id` at the read point of `options` (ReadOptions::space
  // confines it as for Get): its parents and derived_from sources, visible at that point,
  // and theirs, down to `depth` levels (1..kMaxProvenanceDepth), at most kMaxProvenanceNodes
  // nodes in all; a cube already on the path is reported with cycle set and not expanded, so
  // cycles end. NotFound as for Get; InvalidArgument for a depth out of range. Parents or
  // sources no longer visible (retired, not yet valid) are left out.
  Status Provenance(const ReadOptions& options, CubeId id, uint32_t depth, ProvenanceNode* root);

  // The cubes reachable from request.start (see TraceRequest), nearest hop first; within a
  // hop, in the order the edges were found (by cube stepped from, then edge type, then the
  // other end's id). The start itself is not reported. NotFound if the start is not visible at
  // the read point (or not in request.space); InvalidArgument for hops or limit out of range
  // or an invalid edge type.
  virtual Status Trace(const TraceRequest& request, std::vector<TraceStep>* steps) = 0;

  // The events of request.id's episode around it, in episode order, the cube itself included:
  // up to `before` visible events before it and `after` after it. A cube without an episode
  // is its own only event. NotFound as for Get; InvalidArgument for windows over
  // kMaxEpisodeWindow.
  virtual Status Episode(const EpisodeRequest& request, std::vector<MemCube>* events) = 0;

  // See EventsRequest. InvalidArgument for an unknown space, from >= to, valid_at set, or a
  // limit out of range.
  virtual Status Events(const EventsRequest& request, std::vector<MemCube>* events) = 0;

  // See ChangesRequest. InvalidArgument for an unknown space, from >= to, or a limit out of
  // range.
  virtual Status Changes(const ChangesRequest& request, std::vector<MemCube>* versions) = 0;

  // See ListRequest. InvalidArgument for an unknown space or a limit out of range.
  virtual Status List(const ListRequest& request, std::vector<MemCube>* cubes) = 0;

  // A consistent read point at the current time.
  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;

  // Writes a checkpoint (the record table as of now) and deletes the WAL segments it covers.
  // Its cost grows with what changed since the previous checkpoint. Concurrent writes proceed.
  // First erases the cubes that have expired (CubeDraft::expires_at), as a Purge would: that
  // costs a base checkpoint when there are any. Then prunes the versions the retention
  // policies no longer keep (Options::retention), among the cubes written since the previous
  // checkpoint (every cube at the first checkpoint after an open, and, under an age rule or a
  // snapshot, those that kept more than their count): writes proceed meanwhile, but
  // GetSnapshot waits for the cut. Automatic checkpoints do the same.
  virtual Status Checkpoint() = 0;

  // Compacts the blob arena now: copies the live blobs of the generations `options` selects to
  // the active generation, writes a base checkpoint that refers to the copies, and then removes
  // the emptied generation files, once no reader can still read from them. Runs between commit
  // groups, so writers wait while the live blobs are copied; readers do not (a reader, a
  // snapshot's included, reads what it read before, from the old file or the copy). A generation
  // that an uncommitted write is appending to is left for a later pass. Fills *result (may be
  // nullptr). Corruption if a live blob does not verify (nothing is then moved), the write's
  // error if a copy or the checkpoint fails.
  virtual Status Compact(const CompactOptions& options, CompactResult* result) = 0;

  virtual DbStats Stats() = 0;

  // The current time of the database's commit clock: at least every commit time issued.
  virtual Timestamp Now() = 0;

  // Reads and verifies every blob of every version and the record table's invariants (the WAL,
  // checkpoints and superblock were verified by Open; what Open worked around, a torn WAL tail
  // or one superblock copy that did not verify, is in Stats().recovery). Fills *report;
  // returns Corruption summarising the problems if there are any.
  virtual Status Verify(IntegrityReport* report) = 0;

  // Fills *report with what each space holds and what each kind of file occupies, live and
  // dead. Walks every version of every cube (like Verify, without reading blobs) and lists
  // the directory: its cost grows with the database. IOError if the directory cannot be read.
  virtual Status Usage(UsageReport* report) = 0;
};

// Destroys the database in `path`: removes every file Loci created there, under the writer lock;
// the directory and anything else in it stay. NotFound if there is no database, Busy if a writer
// has it open.
Status DestroyDb(const std::string& path, Env* env = nullptr);

}  // namespace loci

#endif  // LOCI_DB_H_
