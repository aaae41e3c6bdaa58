// Purge (WriteBatch::Purge): erasing a cube for good, in two halves; and TTL reclamation,
// which purges the cubes that expired.
//
// At publication (and when recovery replays a purge record) the cube leaves every in-memory
// structure: its chain is unlinked from the record table, its edges from the trace graph (delta
// checkpoints then skip them too), its vectors stop being live in the index; its blobs are
// queued for scrubbing. From then on every read finds it missing.
//
// Then, before Db::Write returns (and at the end of an open that replayed a purge),
// CompletePurges erases its bytes from the directory, in an order that a crash at any step
// cannot undo:
//   1. the log is rotated: every record up to the purge is in closed segments, certified, so a
//      replay applies the cube's puts without looking at their blobs, then the purge again;
//   2. once the indexer has absorbed the purge and no reader can hold a view of the blobs
//      (an EBR grace period), their frames are erased (BlobArena::Discard: hole-punched,
//      zeroed where a block is shared) and the arena synced;
//      a crash after this replays the purge and scrubs again;
//   3. a base checkpoint without the cube (its index snapshot without its codes) replaces
//      every checkpoint and deletes every WAL segment and index snapshot that held it.
// Versions and edge versions unlinked by a purge are freed after step 3: by then nothing can
// reach them — readers were waited out (step 2's grace period, after the unlinking), the
// indexer is past the purge (so the index queue holds none of them), and the base checkpoint
// took every dirty-list entry published before the purge off the list. If a step fails, they
// stay allocated until the database is closed.

#include "engine/db_impl.h"

namespace loci::engine {

void DbImpl::PurgeFromMemory(std::span<const PurgeEntry> purges) {
  if (purges.empty()) return;
  std::vector<const Version*> chains;
  std::vector<const index::EdgeVersion*> edge_chains;
  for (const PurgeEntry& p : purges) {
    if (const Version* head = table_.Purge(p.id)) chains.push_back(head);
    graph_.PurgeEdgesOf(p.id, &edge_chains);
  }
  // The dirty lists keep pointing to the purged versions (freed at close): a delta checkpoint
  // skips them because the record table no longer has their cubes (AddDirty).
  MutexLock lock(&purge_mu_);
  for (const Version* head : chains) {
    for (const Version* v = head; v != nullptr; v = v->prev) {
      unscrubbed_.push_back(v->payload);
      for (const VectorRef& r : v->vectors) unscrubbed_.push_back(r.blob);
    }
    purged_.versions.push_back(head);
  }
  purged_since_checkpoint_ = true;
  purged_.edges.insert(purged_.edges.end(), edge_chains.begin(), edge_chains.end());
}

void DbImpl::QueuePurgesForIndex(std::span<const PurgeEntry> purges) {
  for (const PurgeEntry& p : purges) {
    IndexEntry entry;
    entry.purge_space_id = p.space_id;
    entry.purge_id = p.id;
    index_queue_.Append(entry);
  }
}

void DbImpl::ApplyPurgeToIndex(uint32_t space_id, CubeId id) {
  std::vector<FieldDef> fields;
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    if (const SpaceDef* space = LoadCatalog()->SpaceById(space_id)) {
      for (const FieldDef& f : space->fields) {
        if (!f.dropped) fields.push_back(f);
      }
    }
  }
  // Its vectors stay in the pages (in memory only: snapshots leave their codes out), no
  // longer live, so that no scan accepts them without asking the record table. (This thread
  // is the index's writer: it may look partitions up unpinned.)
  for (const FieldDef& f : fields) {
    if (atlas_->Find(space_id, f.id) == nullptr) continue;  // none of its vectors indexed
    atlas_->Writable(space_id, f.id, f.metric, f.dim)->Apply(id, nullptr, index::kNotLive);
  }
}

Status DbImpl::TakePurgeWork(std::vector<blob::BlobRef>* refs, PurgedChains* chains, bool* purged) {
  return commit_queue_.RunExclusive([&]() -> Status {
    DrainPipeline();  // every purge prepared so far is published: its blobs are queued
    LOCI_RETURN_IF_ERROR(CheckWritable());
    {
      MutexLock lock(&purge_mu_);
      refs->swap(unscrubbed_);
      std::swap(*chains, purged_);
      *purged = purged_since_checkpoint_;
      purged_since_checkpoint_ = false;
    }
    if (!*purged) return Status::OK();
    // The rotation certifies every record before it, the purged cubes' puts among them: a
    // replay applies those without checking their blobs, which are about to be zeroed (then
    // the purge, which queues them for scrubbing again). Their blobs must be durable first, as
    // for any rotation. A purge published after this is its own writer's to complete.
    LOCI_RETURN_IF_ERROR(arena_->SyncUnsynced());
    return log_->Rotate().status();
  });
}

Status DbImpl::ScrubBlobs(std::vector<blob::BlobRef> refs) {
  // Versions of a cube share the blobs they kept from their predecessors: Discard erases each
  // frame once.
  Result<uint64_t> erased = arena_->Discard(std::move(refs));
  return erased.ok() ? arena_->SyncUnsynced() : erased.status();
}

Status DbImpl::CompletePurges() {
  {
    MutexLock purge_lock(&purge_mu_);
    if (!purged_since_checkpoint_) return Status::OK();  // nothing purged (the common open)
  }
  LOCI_RETURN_IF_ERROR(CheckWritable());
  MutexLock lock(&checkpoint_mu_);
  std::vector<blob::BlobRef> refs;
  PurgedChains chains;
  bool purged = false;
  Status s = TakePurgeWork(&refs, &chains, &purged);
  if (s.ok() && !purged) {             // completed by another writer meanwhile
    MutexLock purge_lock(&purge_mu_);  // chains a failed completion gave back: freed at close
    GiveBack(std::move(chains));
    return Status::OK();
  }
  if (s.ok()) {
    // The indexer reads vector blobs without a pin: it must be past the purge first. Then no
    // reader that could still reach the cubes may hold a view of their blobs.
    WaitForIndexer();
    epochs_.Synchronize();
    s = ScrubBlobs(std::move(refs));
  }
  if (s.ok()) s = WriteCheckpoint(/*purge=*/true);
  if (s.ok()) {
    FreeChains(chains);
  } else {
    MutexLock purge_lock(&purge_mu_);  // the dirty list may still name them: freed at close
    GiveBack(std::move(chains));
  }
  if (!s.ok() && !s.IsInvalidArgument()) Poison(s);
  return s;
}

void DbImpl::TrackVersion(const Version& v) {
  if (v.expires_at != kForever) expiring_.Add(v.expires_at, v.id);
  accesses_.Track(v.id);
}

Status DbImpl::ReclaimExpired() {
  const Timestamp now = clock_.Now();
  if (!expiring_.AnyDue(now)) return Status::OK();
  // Only the cubes expired now: a hint whose cube was renewed (its update added a later hint)
  // or purged costs nothing.
  std::vector<CubeId> expired;
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    for (uint64_t id : expiring_.TakeDue(now)) {
      const Version* head = table_.Head(id);
      if (head != nullptr && query::CubeExpired(*head, now)) expired.push_back(id);
    }
  }
  if (expired.empty()) return Status::OK();
  // Each is checked again at its commit time, which is at least `now` (and an update since
  // may have moved an expiry on).
  clock_.Observe(now);
  WriteBatch batch;
  for (CubeId id : expired) batch.PurgeIfExpired(id);
  WriteResult result;
  Status s = Write(WriteOptions(), batch, &result);
  // What was not erased keeps a hint: the next attempt retries it.
  gc::EpochDomain::Guard guard = epochs_.Pin();
  for (size_t i = 0; i < expired.size(); ++i) {
    if (s.ok() && result.ops[i].id != 0) continue;
    const Version* head = table_.Head(expired[i]);
    if (head != nullptr && head->expires_at != kForever) {
      expiring_.Add(head->expires_at, expired[i]);
    }
  }
  return s;
}

void DbImpl::GiveBack(PurgedChains chains) {
  purged_.versions.insert(purged_.versions.end(), chains.versions.begin(), chains.versions.end());
  purged_.edges.insert(purged_.edges.end(), chains.edges.begin(), chains.edges.end());
}

void DbImpl::FreeChains(const PurgedChains& chains) {
  for (const Version* head : chains.versions) {
    while (head != nullptr) {
      const Version* prev = head->prev;
      delete head;
      head = prev;
    }
  }
  for (const index::EdgeVersion* head : chains.edges) {
    while (head != nullptr) {
      const index::EdgeVersion* prev = head->prev;
      delete head;
      head = prev;
    }
  }
}

void DbImpl::FreePurgedVersions() {
  MutexLock lock(&purge_mu_);
  FreeChains(purged_);
  purged_ = PurgedChains();
}

}  // namespace loci::engine
