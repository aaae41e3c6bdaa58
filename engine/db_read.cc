// The read path: lock-free Get and History over version chains, snapshots and stats.

#include <algorithm>
#include <cstring>

#include "common/time_format.h"
#include "engine/db_impl.h"
#include "engine/space_scope.h"
#include "index/vector_field.h"

namespace loci::engine {

namespace {

// Registered in the database's SnapshotList for as long as it lives (retention keeps what it
// may read), which may outlast the database.
class SnapshotImpl final : public Snapshot {
 public:
  SnapshotImpl(std::shared_ptr<SnapshotList> list, Timestamp time)
      : list_(std::move(list)), time_(time) {}
  ~SnapshotImpl() override { list_->Release(time_); }
  Timestamp time() const override { return time_; }

 private:
  const std::shared_ptr<SnapshotList> list_;
  const Timestamp time_;
};

std::string CubeName(CubeId id) { return "cube " + std::to_string(id); }

const Version* OldestOf(const Version* head) {
  const Version* v = head;
  for (const Version* older = v->prev; older != nullptr; older = older->prev) v = older;
  return v;
}

// For a read point none of the chain from `head` answers: Pruned if the chain no longer starts
// at version 1 (retention pruned what might have answered, or a salvage lost it), else
// `not_found`.
Status NothingVisible(const Version* head, const query::ReadPoint& p, Status not_found) {
  const Version* oldest = OldestOf(head);
  if (oldest->number == 1) return not_found;
  return Status::Pruned(
      CubeName(head->id) + " at valid time " + FormatRfc3339(p.valid_at) + " as of " +
      FormatRfc3339(p.as_of) + ": older than its retained history, which starts at version " +
      std::to_string(oldest->number) + " (committed " + FormatRfc3339(oldest->tx_from) + ")");
}

}  // namespace

query::ReadPoint DbImpl::ReadPointFor(const ReadPoint& options, Timestamp* read_time) const {
  const Timestamp published = published_ts_.load(std::memory_order_acquire);
  std::optional<Timestamp> requested;
  if (options.snapshot != nullptr) {
    requested = options.snapshot->time();
  } else if (options.as_of) {
    requested = *options.as_of;
  }
  query::ReadPoint p;
  // Never past what is published: a batch being applied is invisible until it is whole.
  p.as_of = requested ? std::min(*requested, published) : published;
  // Expiry is judged now whatever the read point: an expired cube is on its way to being
  // erased (ReclaimExpired), and a read of the past must not see what a later one will not.
  *read_time = clock_.Now();
  p.valid_at = options.valid_at ? *options.valid_at : requested ? *requested : *read_time;
  return p;
}

// Assigns every field, reusing the buffers *cube already holds: a caller that reads into the
// same MemCube again and again allocates nothing once they are large enough.
Status DbImpl::FillCube(const Version& v, Timestamp tx_to, const Catalog& catalog,
                        const ReadOptions& options, MemCube* cube) const {
  const SpaceDef* space = catalog.SpaceById(v.space_id);
  if (space == nullptr) return Status::Corruption(CubeName(v.id) + ": unknown space");
  cube->id = v.id;
  cube->version = v.number;
  cube->space.assign(space->name);
  cube->kind = v.kind;
  cube->state = v.state;
  cube->valid_from = v.valid_from;
  cube->valid_to = v.valid_to;
  cube->tx_from = v.tx_from;
  cube->tx_to = tx_to;
  cube->payload_size = v.payload.length;
  cube->payload.clear();
  if (options.fill_payload) {
    std::string_view bytes;
    Status s = arena_->View(v.payload, &bytes);
    if (!s.ok()) return s.WithContext(CubeName(v.id));
    cube->payload.assign(bytes.data(), bytes.size());
  }
  size_t filled = 0;
  for (size_t i = 0; options.fill_vectors && i < v.vectors.size(); ++i) {
    const VectorRef& r = v.vectors[i];
    const FieldDef* field = space->FieldById(r.field_id);
    // A dropped field is gone from every version, however old (the drop is not versioned).
    if (field != nullptr && field->dropped) continue;
    std::string_view bytes;
    Status s = arena_->View(r.blob, &bytes);
    if (!s.ok()) return s.WithContext(CubeName(v.id));
    if (field == nullptr || bytes.size() != size_t{field->dim} * sizeof(float)) {
      return Status::Corruption(CubeName(v.id) + ": vector blob does not match its field");
    }
    if (cube->vectors.size() <= filled) cube->vectors.emplace_back();
    NamedVector& out = cube->vectors[filled++];
    out.field.assign(field->name);
    out.values.resize(field->dim);
    std::memcpy(out.values.data(), bytes.data(), bytes.size());
  }
  cube->vectors.resize(filled);
  cube->attrs.assign(v.attrs.begin(), v.attrs.end());
  cube->source.assign(v.source);
  cube->parents.assign(v.parents.begin(), v.parents.end());
  cube->agent.assign(v.agent);
  cube->episode.assign(v.episode);
  cube->importance = v.importance;
  cube->trust = v.trust;
  cube->expires_at.reset();
  if (v.expires_at != kForever) cube->expires_at = v.expires_at;
  return Status::OK();
}

Status DbImpl::FindChain(const ReadOptions& options, CubeId id, const Catalog* catalog,
                         const Version** head) const {
  const Version* h = table_.Head(id);
  // Another space's cube is reported exactly like a missing one, and so is any cube when the
  // space does not exist: reads never cross spaces, and their errors say nothing of what
  // another space holds.
  if (options.space && h != nullptr && !InSpace(*h, *options.space, *catalog)) h = nullptr;
  if (h == nullptr) return CubeNotFound(id);
  *head = h;
  return Status::OK();
}

Status DbImpl::Get(const ReadOptions& options, CubeId id, MemCube* cube) {
  gc::EpochDomain::Guard guard = epochs_.Pin();
  // The read point first, then the catalog: a version published by then had its catalog
  // published before it, so the catalog loaded now knows its space and fields.
  Timestamp read_time;
  const query::ReadPoint p = ReadPointFor(options, &read_time);
  const Catalog* catalog = LoadCatalog();
  const Version* head;
  LOCI_RETURN_IF_ERROR(FindChain(options, id, catalog, &head));
  if (query::CubeExpired(*head, read_time)) {
    return Status::NotFound(CubeName(id) + " expired at " + FormatRfc3339(head->expires_at));
  }
  const Version* seen = query::SelectAt(head, p);
  if (seen == nullptr) {
    return NothingVisible(
        head, p,
        Status::NotFound(CubeName(id) + " has no version valid at " + FormatRfc3339(p.valid_at) +
                         " as of " + FormatRfc3339(p.as_of)));
  }
  if (seen->state == CubeState::kRetired) {
    return Status::NotFound(CubeName(id) + " is retired (from valid time " +
                            FormatRfc3339(seen->valid_from) + ")");
  }
  // The blobs are the only memory a Get touches that is likely cold: start fetching them while
  // the rest of the result is assembled.
  if (options.fill_payload) arena_->Prefetch(seen->payload);
  if (options.fill_vectors) {
    for (const VectorRef& r : seen->vectors) arena_->Prefetch(r.blob);
  }
  if (options.record_access) accesses_.Record(id, read_time);
  return FillCube(*seen, TxTo(*seen, head, p.as_of), *catalog, options, cube);
}

Status DbImpl::History(const ReadOptions& options, CubeId id, std::vector<MemCube>* versions) {
  versions->clear();
  gc::EpochDomain::Guard guard = epochs_.Pin();
  // The read point first, then the catalog: a version published by then had its catalog
  // published before it, so the catalog loaded now knows its space and fields.
  Timestamp read_time;
  const query::ReadPoint p = ReadPointFor(options, &read_time);
  const Catalog* catalog = LoadCatalog();
  const Version* head;
  LOCI_RETURN_IF_ERROR(FindChain(options, id, catalog, &head));
  if (query::CubeExpired(*head, read_time)) {
    return Status::NotFound(CubeName(id) + " expired at " + FormatRfc3339(head->expires_at));
  }
  std::vector<const Version*> chain;  // committed by the read point, newest first
  for (const Version* v = head; v != nullptr; v = v->prev) {
    if (query::CommittedBy(v->times(), p.as_of)) chain.push_back(v);
  }
  if (chain.empty()) {
    return NothingVisible(
        head, p,
        Status::NotFound(CubeName(id) + " has no version as of " + FormatRfc3339(p.as_of)));
  }
  versions->resize(chain.size());
  for (size_t i = 0; i < chain.size(); ++i) {
    const Version* v = chain[i];
    MemCube& out = (*versions)[chain.size() - 1 - i];
    Status s = FillCube(*v, TxTo(*v, head, p.as_of), *catalog, options, &out);
    if (!s.ok()) {
      versions->clear();  // all or nothing
      return s;
    }
  }
  return Status::OK();
}

std::shared_ptr<const Snapshot> DbImpl::GetSnapshot() {
  const Timestamp time =
      snapshots_->Acquire([this] { return published_ts_.load(std::memory_order_acquire); });
  return std::make_shared<SnapshotImpl>(snapshots_, time);
}

DbStats DbImpl::Stats() {
  DbStats s;
  s.cubes = table_.cubes();
  s.versions = table_.versions();
  s.last_lsn = last_lsn_.load();
  s.checkpoint_lsn = checkpoint_lsn_.load();
  s.wal_segments = wal_segments_.load();
  s.wal_bytes = wal_bytes_.load();
  const blob::ArenaStats arena = arena_->Stats();
  s.arena_generations = arena.generations;
  s.arena_bytes = arena.bytes;
  s.arena_open_files = arena.open_files;
  s.arena_reserved_bytes = arena.reserved_bytes;
  s.checkpoint_files = checkpoint_files_.load();
  s.group_commits = group_commits_.load();
  s.batches_committed = batches_committed_.load();
  s.clock_high_water = clock_.high_water();
  s.io_uring = io_ != nullptr && io_->uses_io_uring();
  s.poisoned = poisoned_.load();
  s.read_only = options_.read_only;
  s.recovery = recovery_notes_;
  s.index_restored_vectors = index_restored_vectors_;
  s.index_rebuilt_vectors = index_rebuilt_vectors_;
  s.index_snapshots_failed = index_snapshots_failed_.load(std::memory_order_relaxed);
  s.index_backlog = index_queue_.backlog();
  s.versions_pruned = versions_pruned_.load(std::memory_order_relaxed);
  s.arena_discarded_bytes = arena_discarded_bytes_.load(std::memory_order_relaxed);
  s.arena_compactions = arena_compactions_.load(std::memory_order_relaxed);
  s.arena_bytes_copied = arena_bytes_copied_.load(std::memory_order_relaxed);
  s.arena_generations_removed = arena.generations_removed;
  s.searches = searches_.load(std::memory_order_relaxed);
  s.search_vectors_scanned = search_vectors_scanned_.load(std::memory_order_relaxed);
  s.search_bytes_scanned = search_bytes_scanned_.load(std::memory_order_relaxed);
  gc::EpochDomain::Guard guard = epochs_.Pin();
  const Catalog* catalog = LoadCatalog();
  s.spaces = catalog->spaces().size();
  for (const SpaceDef& space : catalog->spaces()) {
    for (const FieldDef& f : space.fields) {
      // A dropped field's partition left the index with the drop; any still there is counted.
      const index::Partition* p = atlas_->Find(space.id, f.id);
      const index::PartitionStats ps = p != nullptr ? p->Stats() : index::PartitionStats();
      s.index_vectors += ps.stored_vectors;
      s.index_bytes += ps.bytes;
      if (f.dropped) continue;
      VectorFieldInfo info{space.name, f.name, f.dim, index::MetricName(f.metric)};
      info.vectors = ps.entries;
      info.index_lists = ps.lists;
      info.index_prefix_width = ps.prefix_width;
      s.vector_fields.push_back(std::move(info));
    }
  }
  return s;
}

}  // namespace loci::engine
