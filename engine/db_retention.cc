// Retention (Options::retention, gc/retention.h): each checkpoint cuts from their chains the
// versions the space's policy no longer keeps, and records the cuts.
//
// The cut happens between commit groups, with the pipeline drained, so every pruned version
// is covered by the checkpoint being written (its LSN is at most the checkpoint's). That
// checkpoint records it: a base holds only the retained versions (a chain-start entry before
// a cube whose first version is not 1), a delta holds a chain-start entry for every cube cut
// and skips the pruned versions on the dirty list. Until the superblock names that checkpoint
// a crash recovers the pruned versions, which the next checkpoint prunes again: retention is
// not an erasure (Purge is). A cut the checkpoint could not record is kept for the next.
//
// Pruned versions are freed once nothing can reach them: the checkpoint took them off the
// dirty list, the indexer is past every queued version (it holds some unpinned), and readers
// that may have reached them through an old link have unpinned (a grace period). Their own
// blobs (those no retained version shares) are then erased and the arena synced
// (BlobArena::Discard, as a purge erases: whole blocks punched, the rest zeroed): the checkpoint
// that no longer holds them is installed, so no recovery reads them again, and a later Purge of the
// cube leaves none of their bytes. (A crash between the install and that sync can leave them in the
// arena, unknown to anything: the gap issue 15 still has.)

#include <algorithm>
#include <set>
#include <unordered_map>
#include <utility>

#include "engine/db_impl.h"

namespace loci::engine {

bool DbImpl::RetentionConfigured() const {
  if (!options_.retention.keeps_everything()) return true;
  return std::any_of(options_.space_retention.begin(), options_.space_retention.end(),
                     [](const auto& entry) { return !entry.second.keeps_everything(); });
}

gc::RetentionRule DbImpl::RetentionRuleFor(uint32_t space_id, const Catalog& catalog) const {
  const RetentionPolicy* policy = &options_.retention;
  if (const SpaceDef* space = catalog.SpaceById(space_id)) {
    auto it = options_.space_retention.find(space->name);
    if (it != options_.space_retention.end()) policy = &it->second;
  }
  return gc::RetentionRule{policy->keep_versions, policy->keep_for.count()};
}

std::vector<CubeId> DbImpl::RetentionCandidates(size_t dirty_count) {
  std::vector<CubeId> ids;
  if (retention_full_scan_) {
    retention_full_scan_ = false;
    for (CubeId id = 1; id < table_.end_id(); ++id) ids.push_back(id);
    return ids;
  }
  ids.assign(retention_pending_.begin(), retention_pending_.end());
  {
    MutexLock lock(&dirty_mu_);
    for (size_t i = 0; i < dirty_count; ++i) ids.push_back(dirty_[i]->id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void DbImpl::PruneHistory(size_t dirty_count, const Catalog& catalog, RetentionCut* cut) {
  if (!RetentionConfigured()) return;
  const std::vector<CubeId> candidates = RetentionCandidates(dirty_count);
  const Timestamp now = clock_.Now();
  std::vector<const Version*> chain;
  std::vector<int64_t> commit_times;
  std::unordered_map<uint32_t, gc::RetentionRule> rules;  // by space id
  // No snapshot is taken during the cut (snapshot_list.h).
  MutexLock lock(snapshots_->mu());
  const Timestamp pinned_until = snapshots_->Newest(gc::kNothingPinned);
  for (CubeId id : candidates) {
    // No epoch needed: chains are freed (purges, earlier cuts) only under checkpoint_mu_.
    const Version* head = table_.Head(id);
    if (head == nullptr) {  // purged
      retention_pending_.erase(id);
      continue;
    }
    // One lookup per space, not per cube.
    auto [at, fresh] = rules.try_emplace(head->space_id);
    if (fresh) at->second = RetentionRuleFor(head->space_id, catalog);
    const gc::RetentionRule rule = at->second;
    chain.clear();
    commit_times.clear();
    for (const Version* v = head; v != nullptr; v = v->prev) {
      chain.push_back(v);
      commit_times.push_back(v->tx_from);
    }
    size_t kept = gc::VersionsKept(rule, commit_times, now, pinned_until);
    // A snapshot reads "no such cube" for one created after it: version 1 stays while a
    // snapshot lives, or that read would turn into Pruned.
    if (pinned_until != gc::kNothingPinned && chain.back()->number == 1) kept = chain.size();
    if (kept < chain.size()) {
      const Version* oldest_kept = chain[kept - 1];
      cut->chains.push_back(table_.CutBelow(oldest_kept));
      cut->pruned.insert(chain.begin() + static_cast<ptrdiff_t>(kept), chain.end());
    }
    // Versions beyond the count stay only for an age rule or a snapshot: look again later.
    if (kept > std::max<size_t>(rule.keep_versions, 1)) {
      retention_pending_.insert(id);
    } else {
      retention_pending_.erase(id);
    }
  }
  if (!cut->empty()) history_pruned_.store(true);
}

std::vector<blob::BlobRef> DbImpl::DeadBlobsOf(const RetentionCut& cut) const {
  std::vector<blob::BlobRef> dead;
  std::set<std::pair<uint32_t, uint64_t>> retained;
  auto where = [](const blob::BlobRef& r) { return std::make_pair(r.generation, r.offset); };
  for (const Version* pruned : cut.chains) {
    // An update that kept a payload or vector shares its predecessor's blob: what a retained
    // version of the cube still refers to stays. (Blobs are never shared between cubes.)
    retained.clear();
    ForEachBlobOfChain(table_.Head(pruned->id),
                       [&](const blob::BlobRef& r) { retained.insert(where(r)); });
    for (const Version* v = pruned; v != nullptr; v = v->prev) {
      if (retained.count(where(v->payload)) == 0) dead.push_back(v->payload);
      for (const VectorRef& r : v->vectors) {
        if (retained.count(where(r.blob)) == 0) dead.push_back(r.blob);
      }
    }
  }
  return dead;
}

void DbImpl::FreeCut(RetentionCut cut) {
  if (cut.empty()) return;
  versions_pruned_.fetch_add(cut.pruned.size(), std::memory_order_relaxed);
  WaitForIndexer();
  epochs_.Synchronize();
  // Nothing reads the pruned versions' own blobs any more: erase them and give their space
  // back, durably (a later Purge of the cube could no longer find them).
  Result<uint64_t> discarded = arena_->Discard(DeadBlobsOf(cut));
  Status s = discarded.ok() ? arena_->SyncUnsynced() : discarded.status();
  if (s.ok()) {
    arena_discarded_bytes_.fetch_add(*discarded, std::memory_order_relaxed);
  } else {
    Poison(s);  // what the arena holds is unknown
  }
  PurgedChains chains;
  chains.versions = std::move(cut.chains);
  FreeChains(chains);
}

Status DbImpl::ApplyChainStart(CubeId id, uint32_t first) {
  if (id >= recovery_id_bound_) {
    return Status::Corruption("chain start of cube " + std::to_string(id) +
                              ", beyond any id issued");
  }
  table_.DropBelow(id, first);
  uint32_t& start = recovery_chain_starts_[id];
  start = std::max(start, first);
  history_pruned_.store(true);
  return Status::OK();
}

}  // namespace loci::engine
