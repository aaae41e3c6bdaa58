// Checkpoint: cut the WAL between commit groups, write what changed since the previous
// checkpoint (or, when the deltas outgrow the base, a new base), switch the superblock, then
// delete the WAL segments and checkpoint files it no longer needs.

#include <algorithm>

#include "engine/checkpoint.h"
#include "engine/db_impl.h"
#include "index/partition_snapshot.h"
#include "wal/format.h"

namespace loci::engine {

namespace {
// Deltas are merged into a new base once they hold as many bytes as the base, or once there are
// this many of them; either way a version is rewritten O(1) times on average.
constexpr size_t kMaxDeltaFiles = 48;
}  // namespace

Status DbImpl::Checkpoint() {
  LOCI_RETURN_IF_ERROR(CheckWritable());
  // Expired cubes first: their purge writes a base checkpoint of its own when there are any.
  // A failure there does not keep the checkpoint from being written (nor hide it).
  const Status reclaimed = ReclaimExpired();
  LOCI_RETURN_IF_ERROR(CheckWritable());
  MutexLock lock(&checkpoint_mu_);
  Status s = WriteCheckpoint();
  if (!s.ok() && !s.IsInvalidArgument()) Poison(s);
  return s.ok() ? reclaimed : s;
}

void DbImpl::AddEverything(wal::Lsn lsn, CubeId next_id, CheckpointWriter* writer) {
  // Versions are freed (by purges and retention cuts) only under checkpoint_mu_, which the
  // caller holds: no epoch is needed for the walk.
  std::vector<const Version*> chain;
  for (CubeId id = 1; id < next_id; ++id) {
    chain.clear();
    for (const Version* v = table_.Head(id); v != nullptr; v = v->prev) {
      if (v->lsn <= lsn) chain.push_back(v);
    }
    if (chain.empty()) continue;
    if (chain.back()->number > 1) writer->AddChainStart(id, chain.back()->number);
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) writer->AddVersion(**it);
  }
  // Edges after every version, so that recovery finds both of their ends.
  std::vector<const index::EdgeVersion*> edge_chain;
  graph_.ForEachChain([&](const index::EdgeVersion* head) {
    edge_chain.clear();
    for (const index::EdgeVersion* e = head; e != nullptr; e = e->prev) {
      if (e->lsn <= lsn) edge_chain.push_back(e);
    }
    for (auto it = edge_chain.rbegin(); it != edge_chain.rend(); ++it) writer->AddEdge(**it);
  });
}

void DbImpl::AddDirty(size_t versions, size_t edges, const RetentionCut& cut,
                      CheckpointWriter* writer) {
  for (const Version* newest_pruned : cut.chains) {
    writer->AddChainStart(newest_pruned->id, newest_pruned->number + 1);
  }
  std::vector<const Version*> changed;
  std::vector<const index::EdgeVersion*> changed_edges;
  {
    MutexLock lock(&dirty_mu_);
    changed.assign(dirty_.begin(), dirty_.begin() + static_cast<ptrdiff_t>(versions));
    changed_edges.assign(dirty_edges_.begin(),
                         dirty_edges_.begin() + static_cast<ptrdiff_t>(edges));
  }
  // A purged cube's versions and edges stay listed (db_purge.cc): the table no longer has it.
  auto gone = [&](uint64_t id) { return table_.Head(id) == nullptr; };
  for (const Version* v : changed) {
    if (!gone(v->id) && cut.pruned.count(v) == 0) writer->AddVersion(*v);
  }
  for (const index::EdgeVersion* e : changed_edges) {
    if (!gone(e->key.from) && !gone(e->key.to)) writer->AddEdge(*e);
  }
}

Status DbImpl::WriteCheckpoint(bool purge) {
  // What retention cuts now joins what an earlier checkpoint cut but could not record; what
  // this one does not record is the next one's.
  RetentionCut cut = std::move(unrecorded_cut_);
  unrecorded_cut_ = RetentionCut();
  Status s = WriteCheckpointFiles(purge, &cut);
  if (!cut.empty()) unrecorded_cut_ = std::move(cut);
  // A compaction whose checkpoint failed: its old chains are freed, its old files kept (the
  // durable state still names them).
  FinishCompaction(&pending_compaction_, /*installed=*/false).PermitUncheckedError();
  return s;
}

Status DbImpl::WriteCheckpointFiles(bool purge, RetentionCut* cut) {
  // 1. Between two commit groups, close the current WAL segment: every record up to `lsn` is
  //    then in segments the checkpoint makes obsolete.
  bool nothing_new = false;
  uint64_t new_segment = 0, chain_checksum = 0;
  wal::Lsn lsn = 0;
  size_t dirty_count = 0;
  size_t dirty_edge_count = 0;
  Catalog catalog;
  CubeId next_id = 0;
  Timestamp clock_high_water = 0;
  const Superblock previous = CurrentSuperblock();  // only checkpoints change what we read
  bool rewrite_superblock;  // a copy was found damaged: rewrite both even with nothing new
  {
    MutexLock lock(&superblock_mu_);
    rewrite_superblock = superblock_damaged_;
  }
  const wal::Lsn previous_lsn = previous.checkpoint_lsn;
  const CubeId previous_next_id = previous.next_cube_id;
  uint64_t covered_wal_bytes = 0;  // counted up to the rotation: what the checkpoint retires
  LOCI_RETURN_IF_ERROR(commit_queue_.RunExclusive([&]() -> Status {
    DrainPipeline();  // every prepared group published: the dirty list is complete up to `lsn`
    LOCI_RETURN_IF_ERROR(CheckWritable());
    covered_wal_bytes = wal_bytes_.load();
    {
      MutexLock lock(&dirty_mu_);
      dirty_count = dirty_.size();
      dirty_edge_count = dirty_edges_.size();
    }
    checkpoint_mu_.AssertHeld();  // held by this function, around this lambda
    if (RetentionConfigured()) {
      // The indexer reads a version's predecessor (for the fields it dropped): it must be past
      // every version whose link a cut may clear.
      WaitForIndexer();
      PruneHistory(dirty_count, *LoadCatalog(), cut);
    }
    MaybeCompactArena();
    // A purge's checkpoint is written whatever changed: a checkpoint that came between the
    // purge and its completion covered the purge's record, but the base before it still holds
    // the cube. So is one that pruned versions.
    if (!purge && cut->empty() && pending_compaction_.victims.empty() && dirty_count == 0 &&
        dirty_edge_count == 0 && log_->last_lsn() == previous_lsn && previous_next_id == next_id_) {
      nothing_new = true;
      return Status::OK();
    }
    // The checkpoint makes every version up to `lsn` durable, non-sync ones included, and the
    // rotation certifies every record before it: their blobs must be on disk first — logged
    // ones too, since the records holding their copies are about to be deleted.
    LOCI_RETURN_IF_ERROR(arena_->SyncUnsynced());
    // Sealed generations synced by now give back their descriptors and reservations: here,
    // where no commit group holds a file to sync (a failure only keeps them, for the next).
    arena_->ReleaseSealed().status().PermitUncheckedError();
    Result<uint64_t> rotated = log_->Rotate();
    if (!rotated.ok()) return rotated.status();
    new_segment = *rotated;
    lsn = log_->last_lsn();
    chain_checksum = log_->last_checksum();
    catalog = *LoadCatalog();  // only the leader changes it, and we hold the queue
    next_id = next_id_;
    clock_high_water = clock_.high_water();
    return Status::OK();
  }));
  if (nothing_new) {
    return rewrite_superblock ? InstallSuperblock([](Superblock*) {}) : Status::OK();
  }

  // 2. Write the checkpoint file while writers go on.
  uint64_t delta_bytes = 0;
  for (size_t i = 1; i < previous.checkpoints.size(); ++i) {
    delta_bytes += previous.checkpoints[i].bytes;
  }
  // A compaction's moves are recorded by a base: a delta holds only what changed.
  const bool base = purge || !pending_compaction_.victims.empty() || previous.checkpoints.empty() ||
                    delta_bytes >= checkpoint_base_bytes_ ||
                    previous.checkpoints.size() > kMaxDeltaFiles;
  const uint64_t file_number = previous.next_file_number;
  const std::string path = paths_.checkpoint(file_number);
  CheckpointWriter writer(env_, path, db_uuid_, file_number, lsn);
  LOCI_RETURN_IF_ERROR(writer.Open(catalog));
  if (base) {
    AddEverything(lsn, next_id, &writer);
  } else {
    AddDirty(dirty_count, dirty_edge_count, *cut, &writer);
  }
  uint64_t bytes = 0;
  LOCI_RETURN_IF_ERROR(writer.Finish(next_id, clock_high_water, &bytes));
  // With a base, the vector index too, so that an open restores it instead of rebuilding it (a
  // cache recovery validates, so it may run ahead of `lsn`). Deltas leave it alone: their cost
  // stays proportional to what changed. The snapshot is derived data: failing to write it
  // costs the next open a rebuild, not this checkpoint (nor the instance: the error concerns
  // the snapshot file only), and the previous snapshot, still a valid cache, is kept.
  bool snapshot_written = false;
  if (base) {
    // The snapshot is to hold what was published by now: let the indexer catch up. (It is a
    // cache: an entry it lacks only costs the next open that entry's indexing.)
    WaitForIndexer();
    snapshot_written = WriteIndexSnapshot(file_number, catalog).ok();
    if (!snapshot_written) {
      index_snapshots_failed_.fetch_add(1, std::memory_order_relaxed);
      env_->RemoveFile(paths_.index_snapshot(file_number)).PermitUncheckedError();
    }
  }
  LOCI_RETURN_IF_ERROR(env_->SyncDir(paths_.dir()));

  // 3. Switch the superblock: from here on, recovery starts from this checkpoint. Both copies
  //    name it before anything the previous one named is deleted.
  LOCI_RETURN_IF_ERROR(InstallSuperblock([&](Superblock* next) {
    if (base) next->checkpoints.clear();
    next->checkpoints.push_back(CheckpointFile{file_number, bytes});
    next->checkpoint_lsn = lsn;
    next->checkpoint_checksum = chain_checksum;
    next->wal_first_segment = new_segment;
    next->next_file_number = file_number + 1;
    next->clock_high_water = clock_high_water;
    next->next_cube_id = next_id;  // below cube_id_limit, which id reservations keep current
  }));
  if (base) checkpoint_base_bytes_ = bytes;
  {
    MutexLock lock(&dirty_mu_);
    dirty_.erase(dirty_.begin(), dirty_.begin() + static_cast<ptrdiff_t>(dirty_count));
    dirty_edges_.erase(dirty_edges_.begin(),
                       dirty_edges_.begin() + static_cast<ptrdiff_t>(dirty_edge_count));
  }
  checkpoint_lsn_.store(lsn);
  checkpoint_files_.store(base ? 1 : previous.checkpoints.size() + 1);
  checkpoint_first_segment_.store(new_segment);
  FreeCut(std::move(*cut));
  *cut = RetentionCut();
  if (compaction_request_) {
    compaction_request_->generations_removed = pending_compaction_.victims.size();
    compaction_request_->blobs_copied = pending_compaction_.blobs_copied;
    compaction_request_->bytes_copied = pending_compaction_.bytes_copied;
  }
  Status removed = FinishCompaction(&pending_compaction_, /*installed=*/true);
  if (compaction_request_ && compaction_request_->status.ok()) {
    compaction_request_->status = removed;
  } else {
    removed.PermitUncheckedError();  // the next open removes what is left
  }

  // 4. Delete what the new superblock no longer references. A crash before this is harmless:
  //    recovery removes obsolete segments; stray checkpoint files are ignored (and removed by
  //    the next read-write open, with index snapshots other than the base's).
  std::vector<uint64_t> segments;
  LOCI_RETURN_IF_ERROR(wal::ListSegments(env_, paths_.dir(), &segments));
  for (uint64_t n : segments) {
    if (n >= new_segment) continue;
    // The seal the log ended with at open may be in this segment: close must seal again, or the
    // next open would find no seal and resume ids at the reserved limit.
    sealed_at_open_.store(false);
    LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.wal_segment(n)));
  }
  if (base) {
    for (const CheckpointFile& old : previous.checkpoints) {
      LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.checkpoint(old.file_number)));
    }
    if (snapshot_written || purge) LOCI_RETURN_IF_ERROR(RemoveIndexSnapshotsExcept(file_number));
  }
  LOCI_RETURN_IF_ERROR(env_->SyncDir(paths_.dir()));
  // Exactly what was counted before the rotation: writes published since stay counted.
  wal_bytes_.fetch_sub(covered_wal_bytes);
  ScaleToData();
  return Status::OK();
}

void DbImpl::ScaleToData() {
  const uint64_t data = arena_->Stats().live_bytes_estimate;
  const uint64_t cap = options_.checkpoint_wal_bytes;
  uint64_t trigger = cap;
  if (cap != 0 && options_.checkpoint_wal_ratio > 0) {
    const double scaled = options_.checkpoint_wal_ratio * static_cast<double>(data);
    trigger = std::min<uint64_t>(
        cap, std::max<uint64_t>(options_.checkpoint_wal_min_bytes, static_cast<uint64_t>(scaled)));
  }
  checkpoint_trigger_bytes_.store(trigger, std::memory_order_relaxed);
  // Zeros ahead of the appends: a sixteenth of the data, from 64 KiB up to what the options
  // allow (the WAL's and the arena's together then stay within an eighth of it).
  const uint64_t preallocation = std::max<uint64_t>(data / 16, 64 << 10);
  arena_->SetPreallocationCap(preallocation);
  log_->SetPreallocationCap(preallocation);
}

}  // namespace loci::engine
