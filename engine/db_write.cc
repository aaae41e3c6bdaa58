// The write path: validation, blob appends by the writer, then group commit by the leader
// (resolve, log, sync, publish).

#include <algorithm>
#include <cstring>
#include <set>

#include "engine/db_impl.h"
#include "engine/record_codec.h"
#include "engine/validation.h"

namespace loci::engine {

namespace {

// Rough WAL bytes of a batch, for the group-size cap.
size_t EstimateBytes(const WriteBatch& batch) {
  size_t bytes = 16;
  for (const WriteBatch::Op& op : batch.ops()) {
    bytes += 96;
    if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
      const CubeDraft& d = put->draft;
      bytes += d.source.size() + d.agent.size() + d.episode.size() + 24 * d.vectors.size() +
               10 * d.parents.size();
      for (const Attr& a : d.attrs) bytes += a.key.size() + 16;
    } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
      const CubePatch& p = update->patch;
      bytes += 24 * p.set_vectors.size() + 32 * p.set_attrs.size();
      if (p.source) bytes += p.source->size();
    }
  }
  return bytes;
}

std::string_view FloatBytes(const std::vector<float>& values) {
  return std::string_view(reinterpret_cast<const char*>(values.data()),
                          values.size() * sizeof(float));
}

// The copies among `copies` of blobs that `versions` refer to (an operation refused by the
// resolver leaves blobs no version names: they are not logged).
std::vector<BlobCopy> CopiesOfVersions(const std::vector<BlobCopy>& copies,
                                       const std::vector<std::unique_ptr<Version>>& versions) {
  std::vector<BlobCopy> used;
  if (copies.empty()) return used;
  std::set<std::pair<uint32_t, uint64_t>> referred;
  for (const auto& v : versions) {
    referred.emplace(v->payload.generation, v->payload.offset);
    for (const VectorRef& r : v->vectors) referred.emplace(r.blob.generation, r.blob.offset);
  }
  for (const BlobCopy& c : copies) {
    if (referred.count({c.ref.generation, c.ref.offset}) != 0) used.push_back(c);
  }
  return used;
}

}  // namespace

Status DbImpl::CheckWritable() const {
  if (options_.read_only) return Status::NotSupported(paths_.dir() + ": database opened read-only");
  if (poisoned_.load(std::memory_order_acquire)) {
    MutexLock lock(&poison_mu_);
    return poison_status_;
  }
  return Status::OK();
}

void DbImpl::Poison(const Status& cause) {
  MutexLock lock(&poison_mu_);
  if (poisoned_.load()) return;
  poison_status_ =
      Status::Poisoned(paths_.dir() + ": writes refused after a failed write or sync (" +
                       cause.ToString() + "); reopen the database to recover");
  poisoned_.store(true, std::memory_order_release);
}

Result<CubeId> DbImpl::Put(const WriteOptions& options, const CubeDraft& draft) {
  WriteBatch batch;
  batch.Put(draft);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(Write(options, batch, &result));
  return result.ops[0].id;
}

Result<uint32_t> DbImpl::Update(const WriteOptions& options, CubeId id, const CubePatch& patch) {
  WriteBatch batch;
  batch.Update(id, patch);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(Write(options, batch, &result));
  return result.ops[0].version;
}

Status DbImpl::Retire(const WriteOptions& options, CubeId id, std::optional<Timestamp> valid_to) {
  WriteBatch batch;
  batch.Retire(id, valid_to);
  return Write(options, batch, nullptr);
}

Status DbImpl::AppendBlobs(const WriteBatch& batch, std::vector<OpBlobs>* blobs,
                           std::vector<BlobCopy>* copies, uint32_t* pinned) {
  std::vector<std::string_view> payloads;
  // Where each op's blobs start in `payloads`: payload first (if the op sets one), then vectors.
  std::vector<size_t> starts;
  blobs->assign(batch.size(), OpBlobs());
  for (const WriteBatch::Op& op : batch.ops()) {
    starts.push_back(payloads.size());
    if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
      payloads.push_back(put->draft.payload);
      for (const NamedVector& v : put->draft.vectors) payloads.push_back(FloatBytes(v.values));
    } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
      payloads.push_back(update->patch.payload ? std::string_view(*update->patch.payload)
                                               : std::string_view());
      for (const NamedVector& v : update->patch.set_vectors) {
        payloads.push_back(FloatBytes(v.values));
      }
    }
  }
  std::vector<blob::BlobRef> refs(payloads.size());
  LOCI_RETURN_IF_ERROR(arena_->Append(payloads, refs, pinned));
  // The small ones are logged with the batch's record too (its single flush makes them durable).
  copies->clear();
  for (size_t i = 0; i < refs.size(); ++i) {
    if (!refs[i].empty() && payloads[i].size() <= options_.max_logged_blob_bytes) {
      copies->push_back(BlobCopy{refs[i], payloads[i]});
    }
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const WriteBatch::Op& op = batch.ops()[i];
    size_t vectors = 0;
    if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
      vectors = put->draft.vectors.size();
    } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
      vectors = update->patch.set_vectors.size();
    } else {
      continue;
    }
    (*blobs)[i].payload = refs[starts[i]];
    (*blobs)[i].vectors.assign(refs.begin() + starts[i] + 1,
                               refs.begin() + starts[i] + 1 + vectors);
  }
  return Status::OK();
}

Status DbImpl::Write(const WriteOptions& options, const WriteBatch& batch, WriteResult* result) {
  LOCI_RETURN_IF_ERROR(CheckWritable());
  LOCI_RETURN_IF_ERROR(ValidateBatch(batch, options_));
  WaitForIndexBacklog();
  WriteResult local;
  PendingBatch pending{&batch, {}, {}, result != nullptr ? result : &local};
  // The generation the blobs went to is pinned until the batch commits or fails: compaction
  // must not move blobs no version refers to yet.
  uint32_t pinned = 0;
  LOCI_RETURN_IF_ERROR(AppendBlobs(batch, &pending.blobs, &pending.copies, &pinned));

  wal::CommitQueue::Writer writer;
  // A purge is durable before its blobs are scrubbed: a crash must not find its cube's bytes
  // zeroed with the purge lost.
  const bool purges = HasPurge(batch);
  writer.sync = options.sync || purges;
  writer.bytes = EstimateBytes(batch);
  for (const BlobCopy& c : pending.copies) writer.bytes += c.bytes.size();
  writer.request = &pending;
  GroupInFlight flight;  // used only if this writer leads its group
  Status s = commit_queue_.Commit(
      &writer,
      [&](std::span<wal::CommitQueue::Writer* const> group) { PrepareGroup(group, &flight); },
      [&](std::span<wal::CommitQueue::Writer* const>) { FinishGroup(&flight); });
  arena_->Unpin(pinned);  // published, or failed: nothing will refer to the blobs then
  if (s.ok() && purges) return CompletePurges();
  if (s.ok()) MaybeCheckpoint();
  return s;
}

const Version* DbImpl::LatestIncludingPending(CubeId id) {
  {
    MutexLock lock(&pending_mu_);
    auto it = pending_heads_.find(id);
    if (it != pending_heads_.end()) return it->second;
  }
  return table_.Head(id);
}

const index::EdgeVersion* DbImpl::LatestEdgeIncludingPending(const index::EdgeKey& key) {
  {
    MutexLock lock(&pending_mu_);
    auto it = pending_edges_.find(key);
    if (it != pending_edges_.end()) return it->second;
  }
  return graph_.Latest(key);
}

const char* DbImpl::UnpublishedBlob(const blob::BlobRef& ref) {
  // The blob of a version not yet published is in its file but may lie past the readable part
  // of the mapping: extend it first (harmless if the version's group fails: nothing refers to
  // the bytes then).
  if (!arena_->MakeReadable(ref).ok()) return nullptr;
  return arena_->Locate(ref);
}

void DbImpl::DrainPipeline() {
  MutexLock lock(&pipeline_mu_);
  while (published_groups_ != prepared_groups_) pipeline_cv_.Wait(&pipeline_mu_);
}

void DbImpl::PrepareGroup(std::span<wal::CommitQueue::Writer* const> group, GroupInFlight* flight) {
  Status writable = CheckWritable();
  if (!writable.ok()) {
    for (wal::CommitQueue::Writer* w : group) w->status = writable;
    return;
  }
  GroupState state(
      working_catalog_.get(), [this](CubeId id) { return LatestIncludingPending(id); },
      [this](const index::EdgeKey& key) { return LatestEdgeIncludingPending(key); },
      [this](const blob::BlobRef& ref) { return UnpublishedBlob(ref); }, next_id_);
  std::vector<std::string> payloads;
  const size_t bytes = ResolveGroup(group, &state, flight, &payloads);
  if (flight->committed.empty()) return;

  const bool assigns_ids = state.next_id() != next_id_;
  // After a sealed open, the first group that hands out ids is synced: were it lost, the seal
  // would still end the log and the next open would hand the same ids out again.
  const bool sync = group.front()->sync || (assigns_ids && seal_pending_);
  std::vector<WritableFile*> sync_first;
  if (sync) {
    // This group's fdatasync will be taken as covering every earlier record, so no earlier
    // group may still be writing: a non-sync group has no sync of its own to wait for.
    bool nonsync_in_flight;
    {
      MutexLock lock(&pipeline_mu_);
      nonsync_in_flight = unpublished_nonsync_groups_ > 0;
    }
    if (nonsync_in_flight) DrainPipeline();
    // It makes every earlier record durable, non-sync ones included: their blobs must reach the
    // disk first, whichever generation holds them — unless the records carry them (logged).
    arena_->TakeUnloggedFiles(&sync_first);
  }
  Status placed = PlaceGroup(state.next_id(), payloads, bytes, sync, sync_first, flight);
  if (!placed.ok()) {
    Poison(placed);
    for (wal::CommitQueue::Writer* w : flight->committed) w->status = placed;
    flight->committed.clear();
    flight->resolved.clear();
    return;
  }

  if (assigns_ids) seal_pending_ = false;
  next_id_ = state.next_id();
  if (std::unique_ptr<Catalog> changed = state.TakeChangedCatalog()) {
    flight->catalog = std::make_unique<Catalog>(*changed);
    working_catalog_ = std::move(changed);
  }
  {
    MutexLock lock(&pending_mu_);
    for (const ResolvedBatch& batch : flight->resolved) {
      for (const auto& v : batch.versions) pending_heads_[v->id] = v.get();
      for (const auto& e : batch.edges) pending_edges_[e->key] = e.get();
      for (const PurgeEntry& p : batch.purges) pending_heads_[p.id] = nullptr;
    }
  }
  MutexLock lock(&pipeline_mu_);
  while (free_io_.empty()) pipeline_cv_.Wait(&pipeline_mu_);
  flight->io = free_io_.back();
  free_io_.pop_back();
  flight->seq = prepared_groups_++;
  if (!flight->wal.sync) ++unpublished_nonsync_groups_;
}

size_t DbImpl::ResolveGroup(std::span<wal::CommitQueue::Writer* const> group, GroupState* state,
                            GroupInFlight* flight, std::vector<std::string>* payloads) {
  size_t bytes = 0;
  for (wal::CommitQueue::Writer* w : group) {
    auto* pending = static_cast<PendingBatch*>(w->request);
    ResolvedBatch batch;
    w->status = ResolveBatch(*pending->batch, pending->blobs, clock_.Next(), state, &batch);
    if (!w->status.ok()) continue;
    std::vector<const Version*> versions;
    for (const auto& v : batch.versions) versions.push_back(v.get());
    std::vector<const index::EdgeVersion*> edges;
    for (const auto& e : batch.edges) edges.push_back(e.get());
    std::string payload;
    EncodeBatch(batch.commit_time, batch.spaces, batch.fields, batch.drops, versions, &payload,
                CopiesOfVersions(pending->copies, batch.versions), edges, batch.purges);
    if (payload.size() > wal::kMaxRecordPayload) {
      // One batch is one WAL record, which recovery would refuse past this size.
      w->status = Status::InvalidArgument("batch of " + std::to_string(pending->batch->size()) +
                                          " operations is too large (" +
                                          std::to_string(payload.size()) + " bytes of records)");
      continue;
    }
    state->Accept(&batch);
    payloads->push_back(std::move(payload));
    bytes += wal::RecordSpan(payloads->back().size());
    flight->committed.push_back(w);
    flight->resolved.push_back(std::move(batch));
  }
  return bytes;
}

Status DbImpl::PlaceGroup(CubeId next_id, const std::vector<std::string>& payloads, size_t bytes,
                          bool sync, const std::vector<WritableFile*>& sync_first,
                          GroupInFlight* flight) {
  // The ids are reserved durably before any of them can be acknowledged.
  LOCI_RETURN_IF_ERROR(ReserveIds(next_id));
  if (log_->NeedsRotation(bytes)) {
    // A closed segment must hold only complete records: let the groups in flight finish.
    DrainPipeline();
    // Closing the segment makes its records durable, and the next segment's records say so:
    // their blobs must be durable first (logged ones are, in the records).
    LOCI_RETURN_IF_ERROR(arena_->SyncUnlogged());
    Result<uint64_t> rotated = log_->Rotate();
    if (!rotated.ok()) return rotated.status();
  }
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  return log_->PrepareGroup(views, sync, sync_first, &flight->wal);
}

void DbImpl::FinishGroup(GroupInFlight* flight) {
  if (flight->committed.empty()) return;  // every member failed in prepare
  // The I/O overlaps other groups'; publication waits for this group's turn. A group that is
  // not durable is one plain write: io_uring would hand it to a kernel worker thread.
  const Status io =
      (flight->wal.sync ? flight->io : inline_io_.get())->SubmitLinked(flight->wal.Ops());
  {
    MutexLock lock(&pipeline_mu_);
    while (published_groups_ != flight->seq) pipeline_cv_.Wait(&pipeline_mu_);
  }
  log_->CompleteGroup(flight->wal, io);
  if (!io.ok()) Poison(io);
  // A failed earlier group fails this one too: its records follow a hole in the log.
  Status writable = CheckWritable();
  if (writable.ok()) {
    Publish(flight);
  } else {
    for (wal::CommitQueue::Writer* w : flight->committed) w->status = writable;
  }
  MutexLock lock(&pipeline_mu_);
  if (!writable.ok()) {
    // The next groups' resolution may have seen these versions: keep them until close.
    for (ResolvedBatch& batch : flight->resolved) {
      for (auto& v : batch.versions) abandoned_.push_back(std::move(v));
      for (auto& e : batch.edges) abandoned_edges_.push_back(std::move(e));
    }
  }
  free_io_.push_back(flight->io);
  if (!flight->wal.sync) --unpublished_nonsync_groups_;
  ++published_groups_;
  pipeline_cv_.SignalAll();
}

void DbImpl::Publish(GroupInFlight* flight) {
  if (flight->catalog) {
    const Catalog* old = catalog_.exchange(flight->catalog.release(), std::memory_order_acq_rel);
    epochs_.RetireDelete(const_cast<Catalog*>(old));
  }
  // Dropped fields' partitions leave the index (the indexer drops them, in queue order) after
  // the catalog that no longer has the fields is published: a search that finds no partition
  // for a field its catalog still has can tell, by loading the catalog again, whether the field
  // was dropped meanwhile (db_search.cc). The catalog also makes indexing skip them, so nothing
  // recreates them.
  wal::Lsn lsn = flight->wal.first_lsn;
  std::vector<std::pair<CubeId, const Version*>> published;
  std::vector<const index::EdgeVersion*> published_edges;
  for (size_t i = 0; i < flight->resolved.size(); ++i) {
    ResolvedBatch& batch = flight->resolved[i];
    for (const auto& v : batch.versions) {
      // Blobs become readable before the version that refers to them is reachable.
      Status s = arena_->MakeReadable(v->payload);
      for (const VectorRef& r : v->vectors) {
        if (s.ok()) s = arena_->MakeReadable(r.blob);
      }
      if (!s.ok()) Poison(s);
    }
    std::vector<const Version*> versions;
    {
      MutexLock lock(&dirty_mu_);
      for (auto& v : batch.versions) {
        v->lsn = lsn;
        dirty_.push_back(v.get());
        published.emplace_back(v->id, v.get());
        versions.push_back(v.get());
        table_.Publish(v.release());
      }
      for (auto& e : batch.edges) {
        e->lsn = lsn;
        dirty_edges_.push_back(e.get());
        published_edges.push_back(e.get());
      }
    }
    // The trace structures' skip-list inserts, outside dirty_mu_ (a checkpoint takes it):
    // still before the commit time is published, so a read that sees the batch finds them.
    for (const Version* v : versions) {
      IndexEvents(*v);
      TrackVersion(*v);
    }
    for (auto& e : batch.edges) graph_.Publish(e.release());
    // After the batch's own versions and edges: it may have written some of them first.
    PurgeFromMemory(batch.purges);
    for (const PurgeEntry& p : batch.purges) published.emplace_back(p.id, nullptr);
    // For the vector index, before the commit time becomes readable: a search at a read point
    // that sees the batch finds its vectors in the index or in the queue.
    QueueForIndex(batch.drops, versions);
    QueuePurgesForIndex(batch.purges);
    published_ts_.store(batch.commit_time, std::memory_order_release);
    ++lsn;
    auto* pending = static_cast<PendingBatch*>(flight->committed[i]->request);
    pending->result->ops = std::move(batch.results);
    pending->result->commit_time = batch.commit_time;
    flight->committed[i]->status = Status::OK();
  }
  {
    // Now in the table: later groups find them there (unless they have newer ones pending).
    MutexLock lock(&pending_mu_);
    for (const auto& [id, v] : published) {
      auto it = pending_heads_.find(id);
      if (it != pending_heads_.end() && it->second == v) pending_heads_.erase(it);
    }
    for (const index::EdgeVersion* e : published_edges) {
      auto it = pending_edges_.find(e->key);
      if (it != pending_edges_.end() && it->second == e) pending_edges_.erase(it);
    }
  }
  WakeIndexer();
  wal_bytes_.fetch_add(flight->wal.records.size(), std::memory_order_relaxed);
  group_commits_.fetch_add(1, std::memory_order_relaxed);
  batches_committed_.fetch_add(flight->committed.size(), std::memory_order_relaxed);
  last_lsn_.store(flight->wal.last_lsn, std::memory_order_relaxed);
  wal_segments_.store(log_->segment_no() - checkpoint_first_segment_.load() + 1,
                      std::memory_order_relaxed);
}

void DbImpl::IndexEvents(const Version& v) {
  events_.Add(index::EventIndex::VersionInfo{v.space_id, v.id, v.number, v.valid_from, v.tx_from,
                                             v.episode});
}

void DbImpl::MaybeCheckpoint() {
  const uint64_t trigger = checkpoint_trigger_bytes_.load(std::memory_order_relaxed);
  if (trigger == 0 || wal_bytes_.load(std::memory_order_relaxed) < trigger) return;
  if (checkpoint_running_.exchange(true)) return;  // someone else is on it
  Checkpoint().PermitUncheckedError();             // a failure poisons the instance if it must
  checkpoint_running_.store(false);
}

}  // namespace loci::engine
