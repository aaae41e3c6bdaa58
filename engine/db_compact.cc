// Blob-arena compaction (gc/arena_compaction.h): between commit groups, a checkpoint copies the
// live blobs of mostly dead generations forward and moves every reference to them; the base
// checkpoint it then writes is the only durable state that names the copies, and once it is
// installed and every reader that could hold an old reference has unpinned, the emptied files
// are removed.
//
// What refers to a blob: the versions of the record table (payload and vector refs) and the
// vector index's entries (pointers into the arena's mapping). Versions are immutable once
// published, so a cube whose blobs move gets a new chain of copies with the new refs, swapped
// in whole (RecordTable::Replace); the index entries are repointed (Partition::Relocate). A
// reader that started before the swap may see the old chain and a repointed entry, or the new
// chain and an entry not yet repointed: Search's identity check (does this version hold the
// entry's vector?) then consults the move's forwarding map (relocation_), published before the
// first swap and withdrawn after the grace period.
//
// Crash safety: the copies are synced before the WAL is rotated and the checkpoint written;
// until that checkpoint is installed, recovery reads the old checkpoint and WAL, whose refs
// name the old files, still present. Once it is installed, nothing durable names the old
// files: a crash before their removal leaves them to the next open (RemoveUnreferenced). The
// WAL records after the checkpoint refer only to blobs appended after the move (the pinned
// generations, which hold blobs of records not yet committed, are never moved).

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "engine/db_impl.h"

namespace loci::engine {

namespace {

using BlobKey = std::pair<uint32_t, uint64_t>;  // generation, offset
struct BlobKeyHash {
  size_t operator()(const BlobKey& k) const {
    return std::hash<uint64_t>()(k.second * 0x9E3779B97F4A7C15ull ^ k.first);
  }
};
BlobKey KeyOf(const blob::BlobRef& r) { return {r.generation, r.offset}; }

}  // namespace

bool DbImpl::BlobRelocation::Same(const char* a, const char* b) const {
  auto it = forward.find(a);
  if (it != forward.end() && it->second == b) return true;
  it = forward.find(b);
  return it != forward.end() && it->second == a;
}

std::unordered_map<uint32_t, uint64_t> DbImpl::LiveBytesByGeneration() const {
  std::unordered_map<uint32_t, uint64_t> live;
  for (CubeId id = 1; id < table_.end_id(); ++id) {
    ForEachBlobOfChain(table_.Head(id), [&](const blob::BlobRef& r) {
      live[r.generation] += blob::BlobRef::FrameSpan(r.length);
    });
  }
  return live;
}

std::vector<uint32_t> DbImpl::PlanArenaCompaction(const gc::CompactionPolicy& policy) {
  const std::unordered_map<uint32_t, uint64_t> live = LiveBytesByGeneration();
  auto plan = [&](bool with_active) {
    std::vector<gc::GenerationLiveness> generations;
    for (const blob::GenerationUse& g : arena_->Generations()) {
      if (g.active && !with_active) continue;
      auto it = live.find(g.number);
      generations.push_back({g.number,
                             g.end - std::min<uint64_t>(g.end, blob::kGenerationHeaderBlock),
                             it == live.end() ? 0 : it->second, g.active, g.pinned});
    }
    return gc::PlanCompaction(generations, policy);
  };
  std::vector<uint32_t> victims = plan(/*with_active=*/true);
  // The active generation qualifies: close it to appends (if that fails, it stays out).
  const std::vector<blob::GenerationUse> before = arena_->Generations();
  for (const blob::GenerationUse& g : before) {
    if (!g.active || std::count(victims.begin(), victims.end(), g.number) == 0) continue;
    if (!arena_->Seal().ok()) std::erase(victims, g.number);
  }
  // The last word is a listing taken now: writers may have sealed the active generation
  // meanwhile (a rotation) and pinned it with appends not committed yet. A generation neither
  // active nor pinned now gains no pin later, and no blob the table does not hold.
  const std::vector<blob::GenerationUse> now = arena_->Generations();
  std::erase_if(victims, [&](uint32_t n) {
    auto it = std::find_if(now.begin(), now.end(), [n](const auto& g) { return g.number == n; });
    return it == now.end() || it->active || it->pinned;
  });
  return victims;
}

Status DbImpl::CompactArena(const gc::CompactionPolicy& policy, const CompactProgress& progress,
                            ArenaCompaction* out) {
  const std::vector<uint32_t> victims = PlanArenaCompaction(policy);
  if (victims.empty()) return Status::OK();
  const std::unordered_set<uint32_t> victim_set(victims.begin(), victims.end());

  // The cubes with a blob in a victim, and those blobs.
  std::vector<CubeId> cubes;
  std::vector<blob::BlobRef> from;
  for (CubeId id = 1; id < table_.end_id(); ++id) {
    const size_t before = from.size();
    ForEachBlobOfChain(table_.Head(id), [&](const blob::BlobRef& r) {
      if (victim_set.count(r.generation) != 0) from.push_back(r);
    });
    if (from.size() > before) cubes.push_back(id);
  }

  // Nothing refers to the copies until every one is made.
  std::vector<blob::BlobRef> to(from.size());
  uint64_t copied = 0;
  LOCI_RETURN_IF_ERROR(gc::CopyLiveBlobs(arena_.get(), from, to, progress, &copied));

  // Publish the forwarding map, then move the references.
  auto relocation = std::make_unique<BlobRelocation>();
  std::unordered_map<BlobKey, blob::BlobRef, BlobKeyHash> moved;
  moved.reserve(from.size());
  for (size_t i = 0; i < from.size(); ++i) {
    moved.emplace(KeyOf(from[i]), to[i]);
    relocation->forward.emplace(arena_->Locate(from[i]), arena_->Locate(to[i]));
  }
  relocation_.store(relocation.get(), std::memory_order_release);
  out->relocation = std::move(relocation);

  std::unordered_map<const Version*, const Version*> replaced;  // old version -> its copy
  auto remap = [&](blob::BlobRef* r) {
    auto it = moved.find(KeyOf(*r));
    if (!r->empty() && it != moved.end()) *r = it->second;
  };
  std::vector<const Version*> chain;
  for (CubeId id : cubes) {
    chain.clear();
    for (const Version* v = table_.Head(id); v != nullptr; v = v->prev) chain.push_back(v);
    Version* newer = nullptr;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      auto* copy = new Version(**it);
      copy->prev = newer;
      remap(&copy->payload);
      for (VectorRef& r : copy->vectors) remap(&r.blob);
      replaced.emplace(*it, copy);
      newer = copy;
    }
    out->old_chains.push_back(table_.Replace(newer));
  }
  {
    MutexLock lock(&dirty_mu_);
    for (const Version*& v : dirty_) {
      if (auto it = replaced.find(v); it != replaced.end()) v = it->second;
    }
  }
  // Index entries: a moved vector is read where it went; one in a victim that no version holds
  // (pruned or purged: never accepted, still scanned when a list is split) reads zeros.
  const BlobRelocation& forward = *out->relocation;
  atlas_->ForEachWritable([&](index::Partition* p) {
    p->Relocate([&](const float* at) -> const float* {
      const char* bytes = reinterpret_cast<const char*>(at);
      if (auto it = forward.forward.find(bytes); it != forward.forward.end()) {
        return reinterpret_cast<const float*>(it->second);
      }
      for (uint32_t n : victims) {
        if (arena_->MapsInto(n, bytes)) return nullptr;
      }
      return at;
    });
  });
  out->victims = victims;
  out->blobs_copied = from.size();
  out->bytes_copied = copied;
  return Status::OK();
}

Status DbImpl::FinishCompaction(ArenaCompaction* c, bool installed) {
  if (c->victims.empty()) return Status::OK();
  // Readers that could hold an old chain or an old entry pointer (and need the map to match
  // them with the new ones) unpin first; then those that loaded the map.
  epochs_.Synchronize();
  relocation_.store(nullptr, std::memory_order_release);
  PurgedChains chains;
  chains.versions = std::move(c->old_chains);
  FreeChains(chains);
  epochs_.Synchronize();
  c->relocation.reset();
  Status s;
  if (installed) {
    for (uint32_t n : c->victims) {
      Status removed = arena_->RemoveGeneration(n);
      if (s.ok()) s = removed;  // a file left behind is removed by the next open
    }
    arena_compactions_.fetch_add(1, std::memory_order_relaxed);
    arena_bytes_copied_.fetch_add(c->bytes_copied, std::memory_order_relaxed);
  }
  *c = ArenaCompaction();
  return s;
}

void DbImpl::MaybeCompactArena() {
  gc::CompactionPolicy policy;
  CompactProgress progress;
  if (compaction_request_) {
    policy = compaction_request_->policy;
    progress = compaction_request_->progress;
  } else if (ArenaCompactionDue()) {
    policy = {options_.arena_compaction_live_fraction, options_.arena_compaction_min_dead_bytes};
  } else {
    return;
  }
  discarded_at_last_compaction_ = arena_->Stats().discarded_bytes;
  // The indexer holds versions it has not applied, and writes the entries a move repoints.
  WaitForIndexer();
  Status s = CompactArena(policy, progress, &pending_compaction_);
  // A copy that failed moved nothing: the checkpoint goes on without it (Compact reports it).
  if (compaction_request_) compaction_request_->status = s;
}

bool DbImpl::ArenaCompactionDue() {
  const gc::CompactionPolicy policy{options_.arena_compaction_live_fraction,
                                    options_.arena_compaction_min_dead_bytes};
  return gc::CompactionDue(arena_->Stats().discarded_bytes - discarded_at_last_compaction_, policy);
}

Status DbImpl::Compact(const CompactOptions& options, CompactResult* result) {
  LOCI_RETURN_IF_ERROR(CheckWritable());
  if (!(options.max_live_fraction >= 0 && options.max_live_fraction <= 1)) {
    return Status::InvalidArgument("max_live_fraction must lie in [0, 1]");
  }
  CompactResult local;
  local.arena_bytes_before = arena_->Stats().bytes;
  MutexLock lock(&checkpoint_mu_);
  compaction_request_ = CompactionRequest{{options.max_live_fraction, 0}, options.progress};
  Status s = WriteCheckpoint();
  const CompactionRequest done = std::move(*compaction_request_);
  compaction_request_.reset();
  if (!s.ok() && !s.IsInvalidArgument()) Poison(s);
  if (s.ok()) s = done.status;
  local.generations_removed = done.generations_removed;
  local.blobs_copied = done.blobs_copied;
  local.bytes_copied = done.bytes_copied;
  local.arena_bytes_after = arena_->Stats().bytes;
  if (result != nullptr) *result = local;
  return s;
}

}  // namespace loci::engine
