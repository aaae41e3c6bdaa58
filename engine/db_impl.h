// DbImpl: the Db implementation. Its methods are split by concern over db_open.cc (create,
// recovery, close), db_write.cc (group commit), db_read.cc (Get, History, snapshots, stats),
// db_checkpoint.cc and db_verify.cc.

#ifndef LOCI_ENGINE_DB_IMPL_H_
#define LOCI_ENGINE_DB_IMPL_H_

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "blob/arena.h"
#include "common/file_names.h"
#include "common/mutex.h"
#include "engine/access_times.h"
#include "engine/batch_resolver.h"
#include "engine/catalog.h"
#include "engine/checkpoint.h"
#include "engine/hybrid_clock.h"
#include "engine/index_queue.h"
#include "engine/pinned_files_env.h"
#include "engine/record_table.h"
#include "engine/snapshot_list.h"
#include "engine/superblock.h"
#include "gc/arena_compaction.h"
#include "gc/epoch.h"
#include "gc/expiry_queue.h"
#include "gc/retention.h"
#include "index/atlas.h"
#include "index/event_index.h"
#include "index/trace_graph.h"
#include "loci/db.h"
#include "loci/env.h"
#include "query/temporal.h"
#include "query/trace_query.h"
#include "wal/commit_queue.h"
#include "wal/log_writer.h"
#include "wal/replay.h"

namespace loci::engine {

class DbImpl final : public Db {
 public:
  DbImpl(const Options& options, std::string dir);
  ~DbImpl() override;

  // Locks the directory (unless read-only), creates the database if asked, and recovers it.
  Status Open();
  // Appends `note` to what Stats().recovery reports ("; " between notes). Before the instance
  // is shared (recovery, Db::Open).
  void AddRecoveryNote(const std::string& note);

  Result<CubeId> Put(const WriteOptions& options, const CubeDraft& draft) override;
  Result<uint32_t> Update(const WriteOptions& options, CubeId id, const CubePatch& patch) override;
  Status Retire(const WriteOptions& options, CubeId id, std::optional<Timestamp> valid_to) override;
  Status Write(const WriteOptions& options, const WriteBatch& batch, WriteResult* result) override;
  Status Get(const ReadOptions& options, CubeId id, MemCube* cube) override;
  Status History(const ReadOptions& options, CubeId id, std::vector<MemCube>* versions) override;
  Status Search(const SearchRequest& request, std::vector<SearchHit>* hits) override;
  Status Trace(const TraceRequest& request, std::vector<TraceStep>* steps) override;
  Status Episode(const EpisodeRequest& request, std::vector<MemCube>* events) override;
  Status Events(const EventsRequest& request, std::vector<MemCube>* events) override;
  Status Changes(const ChangesRequest& request, std::vector<MemCube>* versions) override;
  Status List(const ListRequest& request, std::vector<MemCube>* cubes) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override;
  Status Checkpoint() override;
  Status Compact(const CompactOptions& options, CompactResult* result) override;
  DbStats Stats() override;
  Timestamp Now() override { return clock_.Now(); }
  Status Verify(IntegrityReport* report) override;
  Status Usage(UsageReport* report) override;

 private:
  // A batch on its way through the commit queue.
  struct PendingBatch {
    const WriteBatch* batch;
    std::vector<OpBlobs> blobs;    // appended by the writer before queueing
    std::vector<BlobCopy> copies;  // those blobs small enough to log with the record
    WriteResult* result;
  };

  // A group between its prepare (ids, LSNs and place in the WAL assigned) and its publication.
  struct GroupInFlight {
    uint64_t seq = 0;                                  // publication order
    std::vector<wal::CommitQueue::Writer*> committed;  // the members that resolved
    std::vector<ResolvedBatch> resolved;
    std::unique_ptr<Catalog> catalog;  // to publish, if the group changed it
    wal::PreparedGroup wal;
    IoQueue* io = nullptr;
  };

  // --- open (db_open.cc)
  Status CreateDatabase();
  Status Recover();
  // Opens the checkpoint files `sb` names and the WAL segments from its first on (read-only
  // opens: see PinnedFilesEnv); one already gone is skipped (loading then reports it).
  Status PinFilesNamedBy(const Superblock& sb, PinnedFilesEnv* pinned);
  // Loads the checkpoints `sb` names, reading them through `env`.
  Status LoadCheckpoints(const Superblock& sb, Env* env);
  Status ApplyLoggedBatch(wal::Lsn lsn, std::string_view payload);
  // Recovery, for a WAL record no later record certifies as durable: whether every blob it
  // refers to is intact (a non-sync write can reach the disk without its blobs).
  bool BlobsSurvived(wal::Lsn lsn, std::string_view payload);
  // A checkpoint's chain-start entry: drops the versions of `id` below `first`, and lets the
  // chain begin at `first` (recovery_chain_starts_).
  Status ApplyChainStart(CubeId id, uint32_t first);
  // Adds a version found by recovery (checkpoint or WAL) to the record table after checking it
  // against `catalog`; *applied (if not null) points to it afterwards.
  Status ApplyRecoveredVersion(std::unique_ptr<Version> v, const Catalog& catalog,
                               const Version** applied);
  // The same for an edge version: its space must be known and both its ends exist there.
  Status ApplyRecoveredEdge(std::unique_ptr<index::EdgeVersion> e, const Catalog& catalog,
                            const index::EdgeVersion** applied);
  Status PrepareForWrites(const wal::ReplayResult& replay);
  // Recovery after a crash, read-write: erases every arena frame no recovered version refers
  // to (BlobArena::EraseAllBut).
  Status EraseUnreferencedBlobs();
  // Recovery, after replay: where id assignment resumes. A log that ends with this writer's
  // seal lost nothing, so the next id follows the last one found; otherwise acknowledged
  // writes may have been lost with their ids, and assignment resumes at the superblock's
  // cube_id_limit, above every id ever handed out.
  void ResumeIdAssignment(const wal::ReplayResult& replay, const Superblock& sb);

  // A queue for the WAL's durable writes, of the kind Options::wal_submission asks for.
  std::unique_ptr<IoQueue> NewWalIoQueue();

  // --- superblock (db_open.cc)
  // A copy of the installed superblock.
  Superblock CurrentSuperblock() const EXCLUDES(superblock_mu_);
  // Applies `change` to a copy of the installed superblock and installs it durably (both
  // copies, WriteSuperblockCopies). On failure poisons the instance and returns the error.
  Status InstallSuperblock(const std::function<void(Superblock*)>& change) EXCLUDES(superblock_mu_);
  // Leader: makes every id below `next_id` assignable by raising cube_id_limit durably (with
  // room for more) before any of them is handed out.
  Status ReserveIds(CubeId next_id);
  // --- write (db_write.cc)
  Status CheckWritable() const EXCLUDES(poison_mu_);
  void Poison(const Status& cause) EXCLUDES(poison_mu_);
  // Appends the batch's payloads and vectors to the arena; *copies gets those small enough to
  // be logged in its WAL record (Options::max_logged_blob_bytes), as views into `batch`. The
  // generation appended to is *pinned (BlobArena::Append) until the caller unpins it.
  Status AppendBlobs(const WriteBatch& batch, std::vector<OpBlobs>* blobs,
                     std::vector<BlobCopy>* copies, uint32_t* pinned);
  // Leader, serialized: resolves the group's batches and places their records in the WAL.
  void PrepareGroup(std::span<wal::CommitQueue::Writer* const> group, GroupInFlight* flight)
      EXCLUDES(pipeline_mu_, pending_mu_);
  // Leader: resolves the group's batches in order against *state and encodes the records of
  // those that resolve (their writers and batches go to *flight, their payloads to
  // *payloads); a member that fails gets its status. Returns the records' WAL bytes.
  size_t ResolveGroup(std::span<wal::CommitQueue::Writer* const> group, GroupState* state,
                      GroupInFlight* flight, std::vector<std::string>* payloads);
  // Leader: reserves the ids below `next_id`, rotates the WAL if the group does not fit, and
  // places the group's records in it. A failure must poison the instance.
  Status PlaceGroup(CubeId next_id, const std::vector<std::string>& payloads, size_t bytes,
                    bool sync, const std::vector<WritableFile*>& sync_first, GroupInFlight* flight);
  // Runs the group's I/O (overlapping other groups'), then publishes it in LSN order.
  void FinishGroup(GroupInFlight* flight) EXCLUDES(pipeline_mu_);
  // The newest version of `id`, including versions of groups prepared but not yet published.
  const Version* LatestIncludingPending(CubeId id) EXCLUDES(pending_mu_);
  const index::EdgeVersion* LatestEdgeIncludingPending(const index::EdgeKey& key)
      EXCLUDES(pending_mu_);
  // Enters `v` in the event index (List, Events, Changes, Episode). The index's single writer:
  // the leader as it publishes, recovery before.
  void IndexEvents(const Version& v);
  // The bytes of blob `ref` of such a version (or a published one), unverified; nullptr if
  // they cannot be read. For comparing an update with its predecessor (GroupState::BlobFn).
  const char* UnpublishedBlob(const blob::BlobRef& ref);
  void Publish(GroupInFlight* flight) EXCLUDES(dirty_mu_, pending_mu_);
  // Blocks until every prepared group is published. Called with the leadership held.
  void DrainPipeline() EXCLUDES(pipeline_mu_);
  void MaybeCheckpoint();

  // --- read (db_read.cc)
  // Pinned catalog: valid while the caller holds an epoch guard.
  const Catalog* LoadCatalog() const { return catalog_.load(std::memory_order_acquire); }
  // The newest version of `id` if it exists and, when options.space is set, belongs to that
  // space; otherwise NotFound, the same for a missing cube, another space's and any cube of a
  // space that does not exist (space_scope.h). REQUIRES: an epoch pinned, `catalog` loaded
  // under it.
  Status FindChain(const ReadOptions& options, CubeId id, const Catalog* catalog,
                   const Version** head) const;
  // The read point of `options`, and the time expiry is judged at (*read_time).
  query::ReadPoint ReadPointFor(const ReadPoint& options, Timestamp* read_time) const;
  Status FillCube(const Version& v, Timestamp tx_to, const Catalog& catalog,
                  const ReadOptions& options, MemCube* cube) const;

  // --- trace queries (db_trace.cc). REQUIRES of each: an epoch pinned, `catalog` loaded under
  // it.
  // A scope over space `space` (InvalidArgument if it does not exist) at `read`'s point.
  Status ScopeOfSpace(const ReadPoint& read, const std::string& space, const Catalog* catalog,
                      query::TraceScope* scope) const;
  // A scope over cube `id`'s space, and its visible version; NotFound as for Get.
  Status ScopeOfCube(const ReadPoint& read, const std::optional<std::string>& space, CubeId id,
                     const Catalog* catalog, query::TraceScope* scope,
                     const Version** visible) const;
  // A scope at `read`'s point (space_id 0: set it).
  query::TraceScope ScopeFor(const ReadPoint& read) const;
  // A scope over the engine's structures at a resolved read point (space_id 0: set it).
  query::TraceScope ScopeAt(const query::ReadPoint& point, Timestamp read_time) const;
  // The cubes of `versions`, tx_to as of `as_of`, without vectors; all or nothing.
  Status FillVersions(const std::vector<const Version*>& versions, const Catalog& catalog,
                      Timestamp as_of, bool fill_payload, std::vector<MemCube>* out) const;

  // --- vector index (db_index.cc)
  // A field a version is applied to, as the catalog defined it when looked up.
  struct FieldToIndex {
    uint32_t id;
    std::string name;
    uint32_t dim;
    Metric metric;
  };
  // The live fields `v` or its predecessor has a vector of (`catalog`'s dropped fields are
  // skipped): where IndexVersion applies it. Corruption if the catalog does not know one.
  Status ResolveIndexFields(const Version& v, const Catalog& catalog,
                            std::vector<FieldToIndex>* fields) const;
  // Applies `v` to the partitions of `fields`. Called by the index's single writer: recovery,
  // then the indexer thread. With `verify`, each vector blob is checksummed first (blobs of an
  // earlier process); fails if one does not verify or does not fit its field.
  Status ApplyToIndex(const Version& v, const std::vector<FieldToIndex>& fields, bool verify);
  // ResolveIndexFields, then ApplyToIndex. REQUIRES: `catalog` outlives the call.
  Status IndexVersion(const Version& v, const Catalog& catalog, bool verify);

  // Leader, as a batch is published: queues its field drops and those of its `versions` that
  // touch vectors for the indexer, in the order recovery's rebuild applies them.
  void QueueForIndex(const std::vector<FieldDropEntry>& drops,
                     std::vector<const Version*> versions);
  // Leader, after a group is queued: wakes the indexer if it sleeps.
  void WakeIndexer() EXCLUDES(indexer_mu_);
  // Indexer: applies one queued entry to Atlas; a failure poisons the instance.
  void ApplyIndexEntry(const IndexEntry& entry);
  // The indexer thread's body: applies queued entries in order until StopIndexer.
  void RunIndexer() EXCLUDES(indexer_mu_);
  void StartIndexer();
  // Stops the indexer (what it has not applied stays queued: the next open rebuilds it).
  void StopIndexer() EXCLUDES(indexer_mu_);
  // Writers: waits while the backlog is at Options::max_index_backlog.
  void WaitForIndexBacklog() EXCLUDES(indexer_mu_);
  // Waits until the index holds every entry queued before the call (or the indexer stopped).
  void WaitForIndexer() EXCLUDES(indexer_mu_);
  // Recovery: indexes every version in commit order, so the index has the same shape as the
  // one the previous instance built. Vectors that do not verify are left out (noted).
  void RebuildIndex(const Catalog& catalog);

  // --- index snapshots (db_index_snapshot.cc)
  // Writes the index snapshot that goes with checkpoint file `file_number` (fields of `catalog`
  // only), synced. Runs while writers go on, reading the index as a reader does.
  Status WriteIndexSnapshot(uint64_t file_number, const Catalog& catalog) REQUIRES(checkpoint_mu_);
  // Removes every index snapshot file but `keep`'s (the caller syncs the directory).
  Status RemoveIndexSnapshotsExcept(uint64_t keep);
  // Recovery, before `versions` (every version that touches vectors, in index order) are
  // indexed: restores the partitions of the newest usable index snapshot with the entries whose
  // vectors the versions still have and that verify (into restoring_). (*verified)[i] tells
  // whether every vector blob IndexVersion would read for versions[i] was verified here. An
  // unusable snapshot is noted in recovery_notes_ and changes nothing.
  void RestoreIndex(const Catalog& catalog, const std::vector<const Version*>& versions,
                    std::vector<bool>* verified);

  // --- search (db_search.cc)
  class SearchFilter;
  struct SearchTarget;     // a space and its field, as one search covers it
  struct SearchCandidate;  // a hit before its visibility is checked again
  // The spaces and field of `request` in `catalog`, partitions not yet found. InvalidArgument
  // names an unknown space or field, or fields that differ. REQUIRES: an epoch pinned,
  // `catalog` loaded under it.
  Status ResolveSearchTargets(const SearchRequest& request, const query::ReadPoint& point,
                              Timestamp read_time, const Catalog& catalog,
                              std::vector<SearchTarget>* targets) const;
  // Finds each target's partition; false if one is missing and the published catalog is no
  // longer `catalog` (the field may have been dropped: resolve again). REQUIRES: an epoch pinned.
  bool FindPartitions(const Catalog* catalog, std::vector<SearchTarget>* targets) const;
  // Scores, exactly, the queued versions the index has not absorbed that are visible at the
  // read point in one of `targets` with a vector of the field; returns how many.
  // REQUIRES: an epoch pinned.
  uint64_t ScorePending(const index::PreparedQuery& query, const FieldDef& field,
                        const std::vector<SearchTarget>& targets,
                        std::vector<SearchCandidate>* found) const;
  // The index's effort and filters for `request` at `point`.
  index::ScanParams ScanParamsFor(const SearchRequest& request,
                                  const query::ReadPoint& point) const;
  // The best request.k of `found` (sorted best first) that are still visible, one per cube.
  Status EmitHits(const SearchRequest& request, const query::ReadPoint& point, Timestamp read_time,
                  const Catalog& catalog, const FieldDef& field,
                  const std::vector<SearchTarget>& targets,
                  const std::vector<SearchCandidate>& found, std::vector<SearchHit>* hits) const;

  // Fills hit->cube if the request asks for cubes.
  Status FillHit(const SearchRequest& request, const Version& v, const query::ReadPoint& point,
                 const Catalog& catalog, SearchHit* hit) const;
  // Appends the trace expansion of the direct *hits (SearchRequest::expand_hops > 0).
  // REQUIRES: an epoch pinned, `catalog` loaded under it.
  Status ExpandSearchHits(const SearchRequest& request, const query::ReadPoint& point,
                          Timestamp read_time, const Catalog& catalog, const FieldDef& field,
                          std::vector<SearchHit>* hits) const;

  // --- purge (db_purge.cc)
  // Publication or recovery: erases the cubes of `purges` from the in-memory structures and
  // queues their blobs for scrubbing (CompletePurges).
  void PurgeFromMemory(std::span<const PurgeEntry> purges) EXCLUDES(purge_mu_);
  // Publication: tells the indexer that the cubes' vectors are no longer live.
  void QueuePurgesForIndex(std::span<const PurgeEntry> purges);
  // Indexer: the purge of cube `id` of space `space_id`.
  void ApplyPurgeToIndex(uint32_t space_id, CubeId id);
  // Erases from the directory the bytes of every cube purged so far (the steps in
  // db_purge.cc): scrubs their blobs, then writes a base checkpoint that deletes every file
  // that held them. Returns at once if there is nothing to do. Failures poison the instance.
  // REQUIRES: no epoch pinned by the caller.
  Status CompletePurges() EXCLUDES(checkpoint_mu_, purge_mu_);
  // What purges unlinked from memory: the chains of versions and edge versions to free.
  struct PurgedChains {
    std::vector<const Version*> versions;
    std::vector<const index::EdgeVersion*> edges;
  };
  // CompletePurges' first step, between commit groups: takes the blobs to scrub, the chains to
  // free and whether a cube was purged since the last purge checkpoint, and if one was,
  // rotates the log.
  Status TakePurgeWork(std::vector<blob::BlobRef>* refs, PurgedChains* chains, bool* purged)
      EXCLUDES(purge_mu_);
  // Erases the frames of `refs` (BlobArena::Discard) and syncs the arena.
  Status ScrubBlobs(std::vector<blob::BlobRef> refs);
  // Notes a published or recovered version: its expiry, if it has one (ReclaimExpired's
  // hints), and its cube's slot for access times. REQUIRES: the single writer (commit leader
  // or recovery).
  void TrackVersion(const Version& v);
  // TTL reclamation: purges (WriteBatch::PurgeIfExpired, one batch) every cube whose newest
  // version has expired by now, which also erases their bytes (CompletePurges). Called by
  // Checkpoint and at the end of a read-write open. REQUIRES: no lock held, no epoch pinned.
  Status ReclaimExpired() EXCLUDES(checkpoint_mu_, purge_mu_);
  // Returns chains a purge's completion took but did not free: they are freed at close.
  void GiveBack(PurgedChains chains) REQUIRES(purge_mu_);
  // Deletes every version and edge version of `chains`. REQUIRES: nothing can reach them.
  static void FreeChains(const PurgedChains& chains);
  // Close: frees the versions and edge versions purges unlinked and no purge completed.
  void FreePurgedVersions() EXCLUDES(purge_mu_);

  // --- retention (db_retention.cc)
  // What one retention pass cut: the pruned chains (each from its newest pruned version down:
  // its cube's first kept version is the next number) and every pruned version.
  struct RetentionCut {
    std::vector<const Version*> chains;
    std::unordered_set<const Version*> pruned;
    bool empty() const { return chains.empty(); }
  };
  // Whether any space has a policy that prunes (Options::retention, space_retention).
  bool RetentionConfigured() const;
  // The policy of the space with id `space_id` in `catalog`.
  gc::RetentionRule RetentionRuleFor(uint32_t space_id, const Catalog& catalog) const;
  // Checkpoint, between commit groups (the pipeline drained): cuts from their chains the
  // versions the policies no longer keep, among the cubes of the first `dirty_count` dirty
  // versions and those still pending, into *cut (which may already hold what an earlier
  // checkpoint cut but did not record). Holds the snapshot list's mutex while it cuts.
  void PruneHistory(size_t dirty_count, const Catalog& catalog, RetentionCut* cut)
      REQUIRES(checkpoint_mu_) EXCLUDES(dirty_mu_);
  // The cubes a retention pass looks at: every cube after an open, else those of the first
  // `dirty_count` dirty versions and the pending ones.
  std::vector<CubeId> RetentionCandidates(size_t dirty_count) REQUIRES(checkpoint_mu_)
      EXCLUDES(dirty_mu_);
  // After the checkpoint that recorded `cut` took its versions off the dirty list: frees them
  // once the indexer and every reader are past them.
  void FreeCut(RetentionCut cut) REQUIRES(checkpoint_mu_);
  // The blobs of `cut`'s pruned versions that no retained version of their cube refers to.
  // REQUIRES: checkpoint_mu_ (chains are not freed meanwhile).
  std::vector<blob::BlobRef> DeadBlobsOf(const RetentionCut& cut) const REQUIRES(checkpoint_mu_);

  // --- blob-arena compaction (db_compact.cc)
  using CompactProgress = std::function<void(uint64_t copied, uint64_t total)>;
  // Where a compaction moved blobs, by payload address (old -> new), while readers may still
  // hold references from before the move.
  struct BlobRelocation {
    std::unordered_map<const char*, const char*> forward;
    // Whether `a` and `b` are the same blob, one where it was and the other where it went.
    bool Same(const char* a, const char* b) const;
  };
  // One pass's work, kept until the checkpoint that records it is installed (or failed).
  struct ArenaCompaction {
    std::vector<uint32_t> victims;               // generations emptied
    std::vector<const Version*> old_chains;      // replaced, freed after a grace period
    std::unique_ptr<BlobRelocation> relocation;  // published in relocation_
    uint64_t blobs_copied = 0;
    uint64_t bytes_copied = 0;
  };
  // Db::Compact's request to the checkpoint it writes, and what the pass did.
  struct CompactionRequest {
    gc::CompactionPolicy policy;
    CompactProgress progress;
    Status status;  // of the copy (nothing moved if not ok) or of removing the emptied files
    uint64_t generations_removed = 0;
    uint64_t blobs_copied = 0;
    uint64_t bytes_copied = 0;
  };
  // Frame bytes of the blobs the record table refers to, by generation.
  std::unordered_map<uint32_t, uint64_t> LiveBytesByGeneration() const REQUIRES(checkpoint_mu_);
  // The generations `policy` empties (sealing the active one if it qualifies).
  std::vector<uint32_t> PlanArenaCompaction(const gc::CompactionPolicy& policy)
      REQUIRES(checkpoint_mu_);
  // Checkpoint, between commit groups with the indexer idle: copies the victims' live blobs
  // and moves every reference to them (see db_compact.cc) into *out. On failure nothing moved.
  Status CompactArena(const gc::CompactionPolicy& policy, const CompactProgress& progress,
                      ArenaCompaction* out) REQUIRES(checkpoint_mu_) EXCLUDES(dirty_mu_);
  // Checkpoint, between commit groups: runs CompactArena into pending_compaction_ if Compact
  // asked for it or enough was erased since the last pass (ArenaCompactionDue).
  void MaybeCompactArena() REQUIRES(checkpoint_mu_) EXCLUDES(dirty_mu_);
  bool ArenaCompactionDue() REQUIRES(checkpoint_mu_);
  // After the checkpoint that records *c was installed (or failed, `installed` false): once
  // readers are past the old chains and pointers, frees them and, if installed, removes the
  // emptied generations. Returns the removal's error (the next open removes what is left).
  Status FinishCompaction(ArenaCompaction* c, bool installed) REQUIRES(checkpoint_mu_);

  // --- checkpoint (db_checkpoint.cc)
  // After a checkpoint and at open: scales the automatic checkpoint's trigger
  // (Options::checkpoint_wal_ratio) and the preallocation of the arena and the WAL to the
  // data the database holds.
  void ScaleToData();
  // `purge`: a base checkpoint whatever the deltas, and every index snapshot but the new one
  // deleted even if the new one could not be written (the old ones hold purged cubes' codes).
  Status WriteCheckpoint(bool purge = false) REQUIRES(checkpoint_mu_);
  // The steps of WriteCheckpoint (above). Cuts what retention prunes into *cut (PruneHistory)
  // and, once the new checkpoint records the cut, frees the pruned versions and clears *cut.
  Status WriteCheckpointFiles(bool purge, RetentionCut* cut) REQUIRES(checkpoint_mu_);
  // A base checkpoint's entries: every version and edge version up to `lsn` (ids below
  // `next_id`), each cube's and edge's oldest first, versions before edges.
  // A cube whose oldest version is above 1 gets a chain-start entry first.
  void AddEverything(wal::Lsn lsn, CubeId next_id, CheckpointWriter* writer);
  // A delta's: the chain starts of `cut`, then the first `versions` and `edges` published since
  // the previous checkpoint (but those `cut` pruned).
  void AddDirty(size_t versions, size_t edges, const RetentionCut& cut, CheckpointWriter* writer)
      EXCLUDES(dirty_mu_);

  const Options options_;
  Env* const env_;
  const DbPaths paths_;

  std::unique_ptr<FileLock> lock_;  // the writer lock (Env::LockDir); none when read-only
  std::unique_ptr<IoQueue> io_;     // recovery, rotation and other synchronous I/O
  // One IoQueue per group in flight: each durable group's linked I/O runs on its own
  // (Options::wal_submission says which kind).
  std::vector<std::unique_ptr<IoQueue>> io_pool_;
  // Plain pwrites on the calling thread, for groups that are not durable. A sequential queue
  // holds no state, so every finishing group may use it at once.
  std::unique_ptr<IoQueue> inline_io_ = NewSequentialIoQueue();
  std::unique_ptr<WritableFile> superblock_file_;
  std::unique_ptr<blob::BlobArena> arena_;
  std::unique_ptr<wal::LogWriter> log_;  // touched only by the commit leader
  wal::CommitQueue commit_queue_;
  gc::EpochDomain epochs_;
  gc::ExpiryQueue expiring_;  // cubes that may have expired by a time (ReclaimExpired)
  AccessTimes accesses_;      // last recorded reads, for decay ranking
  HybridClock clock_;
  RecordTable table_;
  // The trace graph's edges and the temporal orderings of versions (index/trace_graph.h,
  // index/event_index.h): written by the leader as it publishes, read lock-free.
  index::TraceGraph graph_;
  index::EventIndex events_;
  // The record table as the query layer reads it.
  class TableSource final : public query::VersionSource {
   public:
    explicit TableSource(const RecordTable* table) : table_(table) {}
    const Version* Head(uint64_t id) const override { return table_->Head(id); }

   private:
    const RecordTable* table_;
  };
  const TableSource table_source_{&table_};
  // After arena_ and epochs_: destroyed before them, while what it points into still exists.
  std::unique_ptr<index::Atlas> atlas_;
  // Published versions and field drops Atlas has not absorbed yet, and the indexer thread that
  // absorbs them (read-write instances only; started after recovery, stopped first at close).
  IndexQueue index_queue_{&epochs_};
  Mutex indexer_mu_;
  CondVar indexer_cv_;   // on indexer_mu_: work queued, or stop
  CondVar progress_cv_;  // on indexer_mu_: entries applied, or stop
  bool stop_indexer_ GUARDED_BY(indexer_mu_) = false;
  bool indexer_idle_ GUARDED_BY(indexer_mu_) = false;  // waiting on indexer_cv_
  std::thread indexer_;

  // The published catalog; replaced by the commit leader, old ones retired through epochs_.
  std::atomic<const Catalog*> catalog_{nullptr};
  // Commit time of the last published batch: reads see nothing committed after it, so a batch
  // being applied is invisible until it is whole.
  std::atomic<Timestamp> published_ts_{0};
  // The commit leader's: next id, and the newest catalog (with unpublished changes).
  CubeId next_id_ = 1;
  std::unique_ptr<Catalog> working_catalog_;
  // The leader's copy of the superblock's cube_id_limit: ids below it may be handed out.
  CubeId cube_id_limit_ = 1;
  // Recovery: new cube ids must stay below this (a damaged or forged record cannot make the
  // engine walk an unbounded range of ids).
  CubeId recovery_id_bound_ = 1;
  // The superblock has kVersionGapsFlag (a salvaged database): a cube's version numbers need
  // only increase. Set by recovery, then constant.
  bool version_gaps_ = false;
  // The log ended with a seal at open and no group has assigned an id since: the first group
  // that does is written as a sync group, so that a crash cannot lose its ids while leaving
  // the seal last (which would make the next open resume right after the sealed ids).
  bool seal_pending_ = false;
  // At open: the log ended with a seal, and its last LSN (Close seals again only if the log
  // grew, did not end with one, or a checkpoint deleted the segment that held it). Cleared by
  // checkpoints, on whichever thread runs them; read at close.
  std::atomic<bool> sealed_at_open_{false};
  wal::Lsn lsn_at_open_ = 0;

  // The commit pipeline: groups are prepared in order by the leader, their I/O overlaps, and
  // they are published in the same order.
  Mutex pipeline_mu_;
  CondVar pipeline_cv_;  // on pipeline_mu_: signalled when a group is published
  // Counted by the leader alone, but under pipeline_mu_: DrainPipeline compares it with
  // published_groups_.
  uint64_t prepared_groups_ GUARDED_BY(pipeline_mu_) = 0;
  uint64_t published_groups_ GUARDED_BY(pipeline_mu_) = 0;
  uint64_t unpublished_nonsync_groups_ GUARDED_BY(pipeline_mu_) = 0;  // prepared, not published
  std::vector<IoQueue*> free_io_ GUARDED_BY(pipeline_mu_);
  std::vector<std::unique_ptr<Version>> abandoned_ GUARDED_BY(pipeline_mu_);  // of failed groups
  std::vector<std::unique_ptr<index::EdgeVersion>> abandoned_edges_ GUARDED_BY(pipeline_mu_);

  // Newest versions of groups prepared but not yet published, for the next groups' resolution.
  Mutex pending_mu_;
  std::unordered_map<CubeId, const Version*> pending_heads_ GUARDED_BY(pending_mu_);
  std::unordered_map<index::EdgeKey, const index::EdgeVersion*, index::EdgeKeyHash> pending_edges_
      GUARDED_BY(pending_mu_);

  std::unique_ptr<Catalog> recovery_catalog_;  // built during recovery, then published
  std::string recovery_notes_;                 // what recovery dropped or stopped at
  std::vector<index::Partition*> restoring_;   // restored partitions, until RebuildIndex ends
  uint64_t index_restored_vectors_ = 0;        // set by recovery
  uint64_t index_rebuilt_vectors_ = 0;
  std::atomic<uint64_t> index_snapshots_failed_{0};

  std::atomic<bool> poisoned_{false};
  mutable Mutex poison_mu_;
  Status poison_status_ GUARDED_BY(poison_mu_);

  Mutex checkpoint_mu_;  // one checkpoint at a time
  uint64_t checkpoint_base_bytes_ GUARDED_BY(checkpoint_mu_) = 0;
  DbUuid db_uuid_{};  // set by recovery, then constant

  // Held while the superblock is read or installed: by checkpoints and by the commit leader's
  // id reservations. After checkpoint_mu_ when both are held.
  mutable Mutex superblock_mu_ ACQUIRED_AFTER(checkpoint_mu_);
  Superblock superblock_ GUARDED_BY(superblock_mu_);
  // A copy was found damaged (by this instance's open, until a rewrite).
  bool superblock_damaged_ GUARDED_BY(superblock_mu_) = false;
  std::atomic<uint64_t> checkpoint_lsn_{0};
  std::atomic<uint64_t> checkpoint_files_{0};
  std::atomic<uint64_t> checkpoint_first_segment_{1};
  std::atomic<bool> checkpoint_running_{false};

  // Purges (db_purge.cc): blobs not yet scrubbed, whether a cube was purged since the last
  // purge checkpoint, and the chains purges unlinked (freed once their purge completes, or at
  // close).
  Mutex purge_mu_;
  std::vector<blob::BlobRef> unscrubbed_ GUARDED_BY(purge_mu_);
  bool purged_since_checkpoint_ GUARDED_BY(purge_mu_) = false;
  PurgedChains purged_ GUARDED_BY(purge_mu_);

  // Versions published since the last checkpoint, in LSN order: what the next delta holds
  // (a purged cube's are skipped then).
  Mutex dirty_mu_;
  std::vector<const Version*> dirty_ GUARDED_BY(dirty_mu_);
  std::vector<const index::EdgeVersion*> dirty_edges_ GUARDED_BY(dirty_mu_);
  std::atomic<uint64_t> wal_bytes_{0};  // WAL bytes after the checkpoint
  std::atomic<bool> checkpoint_wanted_{false};
  // WAL bytes after the last checkpoint that trigger the next one (ScaleToData); 0: never.
  std::atomic<uint64_t> checkpoint_trigger_bytes_{0};

  // Retention: the live snapshots' times (shared with their handles); what a checkpoint cut
  // but could not record (its write failed), for the next one; the cubes to look at again
  // (an age rule or a snapshot kept more than their count); whether the next pass looks at
  // every cube (the first after an open).
  const std::shared_ptr<SnapshotList> snapshots_ = std::make_shared<SnapshotList>();
  RetentionCut unrecorded_cut_ GUARDED_BY(checkpoint_mu_);
  std::unordered_set<CubeId> retention_pending_ GUARDED_BY(checkpoint_mu_);
  bool retention_full_scan_ GUARDED_BY(checkpoint_mu_) = false;
  // Some chain no longer starts at version 1: pruned here or recorded so in a checkpoint.
  std::atomic<bool> history_pruned_{false};
  std::atomic<uint64_t> versions_pruned_{0};
  std::atomic<uint64_t> arena_discarded_bytes_{0};  // hole-punched for pruned blobs

  // Arena compaction: the pass a checkpoint made, until it is installed; Compact's request;
  // the arena's erased bytes at the last pass; the forwarding map of a move in progress
  // (readers load it pinned); what passes did since open.
  ArenaCompaction pending_compaction_ GUARDED_BY(checkpoint_mu_);
  std::optional<CompactionRequest> compaction_request_ GUARDED_BY(checkpoint_mu_);
  uint64_t discarded_at_last_compaction_ GUARDED_BY(checkpoint_mu_) = 0;
  std::atomic<const BlobRelocation*> relocation_{nullptr};
  std::atomic<uint64_t> arena_compactions_{0};
  std::atomic<uint64_t> arena_bytes_copied_{0};
  // Recovery: the first version of each cube a chain-start entry named.
  std::unordered_map<CubeId, uint32_t> recovery_chain_starts_;

  std::atomic<uint64_t> searches_{0};
  std::atomic<uint64_t> search_vectors_scanned_{0};
  std::atomic<uint64_t> search_bytes_scanned_{0};

  std::atomic<uint64_t> last_lsn_{0};
  std::atomic<uint64_t> wal_segments_{0};
  std::atomic<uint64_t> group_commits_{0};
  std::atomic<uint64_t> batches_committed_{0};
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_DB_IMPL_H_
