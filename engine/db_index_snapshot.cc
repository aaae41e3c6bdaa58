// Index snapshots (index/partition_snapshot.h): written with each base checkpoint, and used at
// open to restore the vector index instead of rebuilding it, after checking every entry against
// the recovered versions. A snapshot is derived data: one that cannot be read or used costs
// only the rebuild it would have saved.

#include <algorithm>
#include <unordered_map>

#include "engine/db_impl.h"
#include "index/partition_snapshot.h"

namespace loci::engine {

namespace {

// Where the vector of `cube` encoded as `vector` (a pointer into the arena's mapping) is stored:
// the reference of the version that has it in field `field_id`; unknown (never matched at load)
// if no version does.
index::VectorSource SourceOf(const RecordTable& table, const blob::BlobArena& arena, uint64_t cube,
                             uint32_t field_id, const float* vector) {
  for (const Version* v = table.Head(cube); v != nullptr; v = v->prev) {
    for (const VectorRef& r : v->vectors) {
      if (r.field_id != field_id) continue;
      if (arena.Locate(r.blob) == reinterpret_cast<const char*>(vector)) {
        return {r.blob.generation, r.blob.offset, r.blob.length, r.blob.checksum};
      }
      break;
    }
  }
  return {};
}

// A snapshot entry's identity: its cube and where its vector is.
struct SourceKey {
  uint64_t cube;
  uint32_t generation;
  uint64_t offset;
  bool operator==(const SourceKey&) const = default;
};
struct SourceKeyHash {
  size_t operator()(const SourceKey& k) const {
    uint64_t h = k.cube * 0x9E3779B97F4A7C15ull;
    h ^= (k.offset + (uint64_t{k.generation} << 40)) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

// One partition of the snapshot that fits its field: its entries by identity, and the vectors
// of the entries claimed so far.
struct Claimable {
  const index::PartitionSnapshot* snapshot;
  const FieldDef* field;
  std::unordered_map<SourceKey, uint32_t, SourceKeyHash> by_source;
  std::vector<const float*> vectors;
  uint64_t claimed = 0;
};

// Leaves out of `p` the entries no version holds (SourceOf found none): those of purged cubes
// and of pruned versions. Their entries name no vector, and their slots' codes are zeros, so
// the file holds nothing of them. (The partition keeps them in memory, not live, until the
// next open rebuilds it without them.)
void EraseUnheld(index::PartitionSnapshot* p) {
  std::vector<bool> unheld(p->entries.size(), false);
  bool any = false;
  for (size_t i = 0; i < p->entries.size(); ++i) {
    if (p->entries[i].source.generation != 0) continue;
    unheld[i] = any = true;
  }
  if (!any) return;
  const size_t stride = p->plane_stride;
  const size_t prefix_bytes = p->prefix_width / 2;
  for (index::SnapshotList& list : p->lists) {
    for (size_t slot = 0; slot < list.slots; ++slot) {
      if (!unheld[list.entries[slot]]) continue;
      std::fill_n(list.hi.begin() + slot * stride, stride, 0);
      std::fill_n(list.lo.begin() + slot * stride, stride, 0);
      list.scales[slot] = list.biases[slot] = 0;
      if (prefix_bytes > 0) {
        std::fill_n(list.prefix.begin() + slot * prefix_bytes, prefix_bytes, 0);
        list.prefix_scales[slot] = 0;
      }
    }
  }
}

}  // namespace

Status DbImpl::WriteIndexSnapshot(uint64_t file_number, const Catalog& catalog) {
  const std::string path = paths_.index_snapshot(file_number);
  index::IndexSnapshotWriter writer(env_, path, db_uuid_, file_number);
  LOCI_RETURN_IF_ERROR(writer.Open());
  index::PartitionSnapshot p;
  for (const SpaceDef& space : catalog.spaces()) {
    for (const FieldDef& field : space.fields) {
      if (field.dropped) continue;
      {
        // Only what readers may read: a copy made under an epoch, written after unpinning (no
        // epoch is held across I/O). Writers go on; the copy may hold entries committed after
        // the checkpoint's LSN, which recovery simply does not find in the versions.
        gc::EpochDomain::Guard guard = epochs_.Pin();
        const index::Partition* partition = atlas_->Find(space.id, field.id);
        if (partition == nullptr) continue;
        partition->Export(&p);
      }
      p.space_id = space.id;
      p.field_id = field.id;
      for (index::SnapshotEntry& e : p.entries) {
        e.source = SourceOf(table_, *arena_, e.cube, field.id, e.vector);
      }
      EraseUnheld(&p);
      LOCI_RETURN_IF_ERROR(writer.AddPartition(p));
    }
  }
  uint64_t bytes = 0;
  return writer.Finish(&bytes);
}

Status DbImpl::RemoveIndexSnapshotsExcept(uint64_t keep) {
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  for (const std::string& name : names) {
    uint64_t n;
    if (!ParseIndexSnapshotFileName(name, &n) || n == keep) continue;
    LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.file(name)));
  }
  return Status::OK();
}

void DbImpl::AddRecoveryNote(const std::string& note) {
  if (!recovery_notes_.empty()) recovery_notes_ += "; ";
  recovery_notes_ += note;
}

void DbImpl::RestoreIndex(const Catalog& catalog, const std::vector<const Version*>& versions,
                          std::vector<bool>* verified) {
  verified->assign(versions.size(), false);
  std::vector<std::string> names;
  if (!env_->GetChildren(paths_.dir(), &names).ok()) return;  // the rebuild will do
  std::vector<uint64_t> numbers;
  for (const std::string& name : names) {
    uint64_t n;
    if (ParseIndexSnapshotFileName(name, &n)) numbers.push_back(n);
  }
  std::sort(numbers.rbegin(), numbers.rend());
  const DbUuid uuid = db_uuid_;
  // The newest that reads back whole (a newer one may be a crash's half-written leftover).
  index::IndexSnapshot snapshot;
  bool found = false;
  for (uint64_t n : numbers) {
    const std::string path = paths_.index_snapshot(n);
    Status s = index::ReadIndexSnapshot(env_, path, uuid, n, &snapshot);
    if (s.ok()) {
      found = true;
      break;
    }
    AddRecoveryNote("index snapshot not used (" + s.ToString() + ")");
  }
  if (!found) return;

  // The partitions that fit their fields (a dropped field's, or one of a field re-created with
  // another shape, is ignored).
  std::vector<Claimable> claimable;
  claimable.reserve(snapshot.partitions.size());
  std::unordered_map<uint64_t, Claimable*> by_key;
  for (const index::PartitionSnapshot& p : snapshot.partitions) {
    const SpaceDef* space = catalog.SpaceById(p.space_id);
    const FieldDef* field = space != nullptr ? space->FieldById(p.field_id) : nullptr;
    if (field == nullptr || field->dropped ||
        !index::Partition::Unrestorable(p, field->metric, field->dim, atlas_->options()).empty()) {
      continue;
    }
    Claimable& c = claimable.emplace_back();
    c.snapshot = &p;
    c.field = field;
    c.vectors.assign(p.entries.size(), nullptr);
    c.by_source.reserve(p.entries.size());
    for (uint32_t i = 0; i < p.entries.size(); ++i) {
      const index::SnapshotEntry& e = p.entries[i];
      if (e.source.generation != 0) {
        c.by_source.emplace(SourceKey{e.cube, e.source.generation, e.source.offset}, i);
      }
    }
    by_key[index::Atlas::Key(p.space_id, p.field_id)] = &c;
  }

  // Claim, in index order, each vector a snapshot entry was encoded from, once its blob
  // verifies. Every vector blob IndexVersion would read is verified here, claimed or not, and a
  // version stops at its first vector that fails, as IndexVersion does: so IndexVersion need
  // not verify a version again unless this did not get through it.
  for (size_t i = 0; i < versions.size(); ++i) {
    const Version& v = *versions[i];
    const SpaceDef* space = catalog.SpaceById(v.space_id);
    if (space == nullptr) continue;
    bool all = true;
    for (const VectorRef& r : v.vectors) {
      const FieldDef* field = space->FieldById(r.field_id);
      if (field == nullptr) {
        all = false;
        break;
      }
      if (field->dropped) continue;
      if (r.blob.length != size_t{field->dim} * sizeof(float)) {
        all = false;
        break;
      }
      Claimable* c = nullptr;
      uint32_t entry = 0;
      if (auto it = by_key.find(index::Atlas::Key(v.space_id, r.field_id)); it != by_key.end()) {
        c = it->second;
        auto hit = c->by_source.find(SourceKey{v.id, r.blob.generation, r.blob.offset});
        if (hit != c->by_source.end()) {
          const blob::BlobRef& b = r.blob;
          entry = hit->second;
          if (c->snapshot->entries[entry].source !=
              index::VectorSource{b.generation, b.offset, b.length, b.checksum}) {
            c = nullptr;
          } else if (c->vectors[entry] != nullptr) {
            continue;  // a vector kept from the version that claimed it
          }
        } else {
          c = nullptr;
        }
      }
      std::string_view payload;
      if (!arena_->View(r.blob, &payload).ok()) {
        all = false;
        break;
      }
      if (c != nullptr) {
        c->vectors[entry] = reinterpret_cast<const float*>(payload.data());
        ++c->claimed;
      }
    }
    (*verified)[i] = all;
  }

  for (Claimable& c : claimable) {
    if (c.claimed == 0) continue;
    index::Partition* partition =
        atlas_->Writable(c.snapshot->space_id, c.snapshot->field_id, c.field->metric, c.field->dim);
    partition->Restore(*c.snapshot, c.vectors);
    restoring_.push_back(partition);
    index_restored_vectors_ += c.claimed;
  }
}

}  // namespace loci::engine
