// Keeping Atlas in step with the record table: every published or recovered version is applied
// to the partitions of its space's vector fields, in commit order.

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

Status DbImpl::IndexVersion(const Version& v, const Catalog& catalog, bool verify) {
  const SpaceDef* space = catalog.SpaceById(v.space_id);
  if (space == nullptr) return Status::Corruption("cube " + std::to_string(v.id) + ": no space");
  // Fields the new version has, and fields only its predecessor had (the vector was dropped).
  auto apply = [&](uint32_t field_id) -> Status {
    const FieldDef* field = space->FieldById(field_id);
    if (field == nullptr) {
      return Status::Corruption("cube " + std::to_string(v.id) + ": unknown vector field");
    }
    if (field->dropped) return Status::OK();  // its partition is gone for good
    index::Partition* partition = atlas_->Writable(v.space_id, field_id, field->metric, field->dim);
    const float* values = nullptr;
    if (const VectorRef* r = FindVector(v, field_id)) {
      if (r->blob.length != size_t{field->dim} * sizeof(float)) {
        return Status::Corruption("cube " + std::to_string(v.id) + ": vector blob of " +
                                  std::to_string(r->blob.length) +
                                  " bytes for a field of dimension " + std::to_string(field->dim));
      }
      const char* bytes = nullptr;
      if (verify) {
        std::string_view payload;
        Status s = arena_->View(r->blob, &payload);
        if (!s.ok()) {
          return s.WithContext("cube " + std::to_string(v.id) + " vector " + field->name);
        }
        bytes = payload.data();
      } else {
        bytes = arena_->Locate(r->blob);
        if (bytes == nullptr) {
          return Status::Corruption("cube " + std::to_string(v.id) + " vector " + field->name +
                                    ": blob outside the arena");
        }
      }
      values = reinterpret_cast<const float*>(bytes);
      // A vector kept from the previous version may be one an earlier process wrote and the
      // rebuild left out as damaged: unless the index holds it already, verify it (and leave
      // it out again if it fails).
      const VectorRef* kept = v.prev != nullptr ? FindVector(*v.prev, field_id) : nullptr;
      if (!verify && kept != nullptr && kept->blob == r->blob && !partition->Holds(v.id, values)) {
        std::string_view payload;
        if (!arena_->View(r->blob, &payload).ok()) values = nullptr;
      }
    }
    partition->Apply(v.id, values, LiveFrom(v));
    return Status::OK();
  };
  for (const VectorRef& r : v.vectors) LOCI_RETURN_IF_ERROR(apply(r.field_id));
  if (v.prev != nullptr) {
    for (const VectorRef& r : v.prev->vectors) {
      if (FindVector(v, r.field_id) == nullptr) LOCI_RETURN_IF_ERROR(apply(r.field_id));
    }
  }
  return Status::OK();
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
