// Keeping Atlas in step with the record table: every published or recovered version is applied
// to the partitions of its space's vector fields, in commit order — at open by the opening
// thread (RebuildIndex), afterwards by the indexer thread, which takes the versions (and field
// drops) the commit leader queues in index_queue_.

#include <algorithm>

#include "engine/db_impl.h"

namespace loci::engine {

namespace {

// The commit time from which `v` is visible at every later valid time, if it is (see
// index::EntryInfo::live_from).
int64_t LiveFrom(const Version& v) {
  const bool open_ended = v.state != CubeState::kRetired && v.valid_to == kForever &&
                          v.valid_from <= v.tx_from && v.expires_at == kForever;
  return open_ended ? v.tx_from : index::kNotLive;
}

const VectorRef* FindVector(const Version& v, uint32_t field_id) {
  for (const VectorRef& r : v.vectors) {
    if (r.field_id == field_id) return &r;
  }
  return nullptr;
}

}  // namespace

Status DbImpl::ResolveIndexFields(const Version& v, const Catalog& catalog,
                                  std::vector<FieldToIndex>* fields) const {
  fields->clear();
  const SpaceDef* space = catalog.SpaceById(v.space_id);
  if (space == nullptr) return Status::Corruption("cube " + std::to_string(v.id) + ": no space");
  auto add = [&](uint32_t field_id) -> Status {
    const FieldDef* field = space->FieldById(field_id);
    if (field == nullptr) {
      return Status::Corruption("cube " + std::to_string(v.id) + ": unknown vector field");
    }
    if (field->dropped) return Status::OK();  // its partition is gone for good
    fields->push_back({field_id, field->name, field->dim, field->metric});
    return Status::OK();
  };
  // Fields the new version has, and fields only its predecessor had (the vector was dropped).
  for (const VectorRef& r : v.vectors) LOCI_RETURN_IF_ERROR(add(r.field_id));
  if (const Version* prev = v.prev; prev != nullptr) {  // one load (a cut may clear it)
    for (const VectorRef& r : prev->vectors) {
      if (FindVector(v, r.field_id) == nullptr) LOCI_RETURN_IF_ERROR(add(r.field_id));
    }
  }
  return Status::OK();
}

Status DbImpl::ApplyToIndex(const Version& v, const std::vector<FieldToIndex>& fields,
                            bool verify) {
  for (const FieldToIndex& field : fields) {
    index::Partition* partition = atlas_->Writable(v.space_id, field.id, field.metric, field.dim);
    const float* values = nullptr;
    if (const VectorRef* r = FindVector(v, field.id)) {
      if (r->blob.length != size_t{field.dim} * sizeof(float)) {
        return Status::Corruption("cube " + std::to_string(v.id) + ": vector blob of " +
                                  std::to_string(r->blob.length) +
                                  " bytes for a field of dimension " + std::to_string(field.dim));
      }
      const char* bytes = nullptr;
      if (verify) {
        std::string_view payload;
        Status s = arena_->View(r->blob, &payload);
        if (!s.ok()) {
          return s.WithContext("cube " + std::to_string(v.id) + " vector " + field.name);
        }
        bytes = payload.data();
      } else {
        bytes = arena_->Locate(r->blob);
        if (bytes == nullptr) {
          return Status::Corruption("cube " + std::to_string(v.id) + " vector " + field.name +
                                    ": blob outside the arena");
        }
      }
      values = reinterpret_cast<const float*>(bytes);
      // A vector kept from the previous version may be one an earlier process wrote and the
      // rebuild left out as damaged: unless the index holds it already, verify it (and leave
      // it out again if it fails).
      const Version* prev = v.prev;  // one load (a cut may clear it)
      const VectorRef* kept = prev != nullptr ? FindVector(*prev, field.id) : nullptr;
      if (!verify && kept != nullptr && kept->blob == r->blob && !partition->Holds(v.id, values)) {
        std::string_view payload;
        if (!arena_->View(r->blob, &payload).ok()) values = nullptr;
      }
    }
    partition->Apply(v.id, values, LiveFrom(v));
  }
  return Status::OK();
}

Status DbImpl::IndexVersion(const Version& v, const Catalog& catalog, bool verify) {
  std::vector<FieldToIndex> fields;
  LOCI_RETURN_IF_ERROR(ResolveIndexFields(v, catalog, &fields));
  return ApplyToIndex(v, fields, verify);
}

void DbImpl::QueueForIndex(const std::vector<FieldDropEntry>& drops,
                           std::vector<const Version*> versions) {
  for (const FieldDropEntry& drop : drops) {
    IndexEntry entry;
    entry.drop_space_id = drop.space_id;
    entry.drop_field_id = drop.field_id;
    index_queue_.Append(entry);
  }
  // In the order recovery's rebuild uses, so a reopened database has the same index.
  std::sort(versions.begin(), versions.end(), IndexOrder);
  for (const Version* v : versions) {
    if (TouchesVectors(*v)) index_queue_.Append(IndexEntry{v});
  }
}

void DbImpl::WakeIndexer() {
  // Only for work: a commit without vectors must not cost a wake-up (a futex call and two
  // context switches, a third of a non-durable put's time).
  if (index_queue_.backlog() == 0) return;
  MutexLock lock(&indexer_mu_);
  if (indexer_idle_) indexer_cv_.Signal();
}

void DbImpl::ApplyIndexEntry(const IndexEntry& entry) {
  if (entry.purge_id != 0) {
    ApplyPurgeToIndex(entry.purge_space_id, entry.purge_id);
    return;
  }
  if (entry.version == nullptr) {
    atlas_->Drop(entry.drop_space_id, entry.drop_field_id);
    return;
  }
  // The catalog is read pinned, the index written unpinned: indexing may retire index pages
  // through the same epoch domain, which must not wait for a pin of this very thread.
  std::vector<FieldToIndex> fields;
  Status s;
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    s = ResolveIndexFields(*entry.version, *LoadCatalog(), &fields);
  }
  // This process wrote the blobs: nothing to verify.
  if (s.ok()) s = ApplyToIndex(*entry.version, fields, /*verify=*/false);
  if (!s.ok()) Poison(s);
}

void DbImpl::RunIndexer() {
  // Entries taken between wake-ups of the writers waiting for room.
  constexpr int kStep = 256;
  for (;;) {
    {
      MutexLock lock(&indexer_mu_);
      while (!stop_indexer_ && index_queue_.backlog() == 0) {
        indexer_idle_ = true;
        indexer_cv_.Wait(&indexer_mu_);
      }
      indexer_idle_ = false;
      if (stop_indexer_) return;
    }
    for (int n = 0; n < kStep && index_queue_.backlog() > 0; ++n) {
      ApplyIndexEntry(index_queue_.Front());
      index_queue_.PopFront();
    }
    MutexLock lock(&indexer_mu_);
    progress_cv_.SignalAll();
  }
}

void DbImpl::StartIndexer() {
  indexer_ = std::thread([this] { RunIndexer(); });
}

void DbImpl::StopIndexer() {
  if (!indexer_.joinable()) return;
  {
    MutexLock lock(&indexer_mu_);
    stop_indexer_ = true;
    indexer_cv_.Signal();
    progress_cv_.SignalAll();
  }
  indexer_.join();
}

void DbImpl::WaitForIndexBacklog() {
  if (index_queue_.backlog() < options_.max_index_backlog) return;
  MutexLock lock(&indexer_mu_);
  while (!stop_indexer_ && index_queue_.backlog() >= options_.max_index_backlog) {
    progress_cv_.Wait(&indexer_mu_);
  }
}

void DbImpl::WaitForIndexer() {
  const uint64_t target = index_queue_.published();
  MutexLock lock(&indexer_mu_);
  while (!stop_indexer_ && indexer_.joinable() && index_queue_.indexed() < target) {
    progress_cv_.Wait(&indexer_mu_);
  }
}

void DbImpl::RebuildIndex(const Catalog& catalog) {
  std::vector<const Version*> versions;
  for (CubeId id = 1; id < table_.end_id(); ++id) {
    for (const Version* v = table_.Head(id); v != nullptr; v = v->prev) {
      if (TouchesVectors(*v)) versions.push_back(v);
    }
  }
  // Commit order, and within one batch the order Publish applies them in.
  std::sort(versions.begin(), versions.end(), IndexOrder);
  // Most entries come from the index snapshot, when there is a usable one; the versions are
  // still applied in order (cheaply for those entries), to set each cube's entry and live_from.
  std::vector<bool> verified;
  RestoreIndex(catalog, versions, &verified);
  uint64_t skipped = 0;
  std::string first_problem;
  for (size_t i = 0; i < versions.size(); ++i) {
    // The blobs were written by an earlier process: verify them before the index points at them
    // (unless RestoreIndex just did).
    Status s = IndexVersion(*versions[i], catalog, /*verify=*/!verified[i]);
    if (!s.ok()) {
      if (skipped++ == 0) first_problem = s.ToString();
    }
  }
  size_t unadopted = 0;
  for (index::Partition* p : restoring_) unadopted += p->EndRestore();
  restoring_.clear();
  if (unadopted > 0) {
    AddRecoveryNote(std::to_string(unadopted) +
                    " restored index entries matched no version's current vector");
  }
  uint64_t entries = 0;
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    for (const SpaceDef& space : catalog.spaces()) {
      for (const FieldDef& field : space.fields) {
        if (const index::Partition* p = atlas_->Find(space.id, field.id)) {
          entries += p->Stats().entries;
        }
      }
    }
  }
  index_rebuilt_vectors_ = entries - index_restored_vectors_;
  if (skipped > 0) {
    AddRecoveryNote(std::to_string(skipped) +
                    " version(s) not fully indexed (vector blobs failed verification), first: " +
                    first_problem);
  }
}

}  // namespace loci::engine
