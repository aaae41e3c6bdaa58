// Db::Usage: what each space holds and what each kind of file occupies, live and dead.

#include <algorithm>
#include <unordered_map>

#include "engine/db_impl.h"

namespace loci::engine {

namespace {

uint64_t FrameBytes(const blob::BlobRef& ref) {
  return ref.empty() ? 0 : blob::BlobRef::FrameSpan(ref.length);
}

// The arena bytes `v` adds to its chain: the blobs it does not share with its predecessor (a
// version keeps its predecessor's blobs by reference when an update leaves them unchanged, and
// only its predecessor's: a blob is never shared further back without being shared by every
// version between). Vectors of dropped fields are dead: nothing reads them again.
uint64_t OwnBlobBytes(const Version& v, const SpaceDef* space) {
  const Version* prev = v.prev;
  uint64_t bytes = prev != nullptr && prev->payload == v.payload ? 0 : FrameBytes(v.payload);
  for (const VectorRef& r : v.vectors) {
    if (space == nullptr || space->LiveFieldById(r.field_id) == nullptr) continue;
    const bool shared =
        prev != nullptr && std::any_of(prev->vectors.begin(), prev->vectors.end(),
                                       [&](const VectorRef& p) { return p.blob == r.blob; });
    if (!shared) bytes += FrameBytes(r.blob);
  }
  return bytes;
}

// Which FileUsage a data file's name counts under; nullptr for files Loci does not write.
const char* KindOf(const std::string& name) {
  uint64_t number;
  uint32_t generation;
  if (ParseWalSegmentFileName(name, &number) || ParseWalSegmentTempFileName(name, &number)) {
    return "wal";
  }
  if (ParseCheckpointFileName(name, &number)) return "checkpoint";
  if (ParseIndexSnapshotFileName(name, &number)) return "index-snapshot";
  if (ParseArenaGenerationFileName(name, &generation)) return "arena";
  if (name == kSuperblockFileName || name == kSuperblockTempFileName) return "superblock";
  return nullptr;
}

}  // namespace

Status DbImpl::Usage(UsageReport* report) {
  *report = UsageReport();
  std::unordered_map<uint32_t, SpaceUsage> by_space;
  uint64_t live_blob_bytes = 0;
  const CubeId end = table_.end_id();
  for (CubeId id = 1; id < end; ++id) {
    gc::EpochDomain::Guard guard = epochs_.Pin();  // per cube: a purge may free its chain
    const Version* head = table_.Head(id);
    if (head == nullptr) continue;
    const SpaceDef* def = LoadCatalog()->SpaceById(head->space_id);
    SpaceUsage& space = by_space[head->space_id];
    ++space.cubes;
    for (const Version* v = head; v != nullptr; v = v->prev) {
      ++space.versions;
      const uint64_t bytes = OwnBlobBytes(*v, def);
      space.blob_bytes += bytes;
      live_blob_bytes += bytes;
    }
  }
  {
    gc::EpochDomain::Guard guard = epochs_.Pin();
    for (const SpaceDef& def : LoadCatalog()->spaces()) {
      SpaceUsage usage = by_space[def.id];
      usage.name = def.name;
      report->spaces.push_back(std::move(usage));
    }
  }

  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  for (const char* kind : {"wal", "checkpoint", "index-snapshot", "arena", "superblock"}) {
    report->files.push_back(FileUsage{kind});
  }
  for (const std::string& name : names) {
    const char* kind = KindOf(name);
    if (kind == nullptr) continue;
    uint64_t size = 0;
    if (!env_->GetFileSize(paths_.file(name), &size).ok()) continue;  // removed meanwhile
    for (FileUsage& f : report->files) {
      if (f.kind != kind) continue;
      ++f.files;
      f.bytes += size;
    }
  }
  for (FileUsage& f : report->files) {
    if (f.kind == "wal") {
      f.live_bytes = std::min(f.bytes, wal_bytes_.load());
    } else if (f.kind == "arena") {
      // The generation headers are live too: a file with one live blob needs its header.
      const uint64_t headers = f.files * blob::kGenerationHeaderBlock;
      f.live_bytes = std::min(f.bytes, live_blob_bytes + headers);
    } else {
      f.live_bytes = f.bytes;
    }
  }
  return Status::OK();
}

}  // namespace loci::engine
