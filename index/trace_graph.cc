// The edge chains and their adjacency list.

#include "index/trace_graph.h"

#include <cassert>
#include <string>

namespace loci::index {

bool EdgeVersion::SameContent(const EdgeVersion& o) const {
  return key == o.key && space_id == o.space_id && number == o.number && weight == o.weight &&
         unlinked == o.unlinked && valid_from == o.valid_from && valid_to == o.valid_to &&
         tx_from == o.tx_from && lsn == o.lsn;
}

TraceGraph::~TraceGraph() {
  for (Chain& chain : chain_storage_) {
    const EdgeVersion* v = chain.head.load(std::memory_order_relaxed);
    while (v != nullptr) {
      const EdgeVersion* prev = v->prev;
      delete v;
      v = prev;
    }
  }
}

const EdgeVersion* TraceGraph::Head(const EdgeKey& key) const {
  Adjacency::Iterator it(&adjacency_);
  const AdjKey target{key.from, kOut, key.type, key.to, nullptr};
  it.Seek(target);
  if (!it.Valid() || AdjCompare()(it.key(), target) != 0) return nullptr;
  return it.key().chain->head.load(std::memory_order_acquire);
}

const EdgeVersion* TraceGraph::Latest(const EdgeKey& key) const {
  auto it = chains_.find(key);
  return it == chains_.end() ? nullptr : it->second->head.load(std::memory_order_relaxed);
}

void TraceGraph::SeekEdges(uint64_t node, Direction dir, uint32_t type,
                           Adjacency::Iterator* it) const {
  const AdjKey target{node, dir, type, 0, nullptr};
  const FirstEdges* slot = first_edges_.Find(node);
  if (slot == nullptr) {  // no edge in this id's chunk (or beyond it): search to be sure
    it->Seek(target);
    return;
  }
  const Adjacency::Position first = slot->first[dir].load(std::memory_order_acquire);
  if (first.null()) {
    *it = Adjacency::Iterator(&adjacency_);  // not Valid: no edge that way
    return;
  }
  it->SeekTo(first);
  for (int step = 0; step < kShortScan; ++step) {
    if (!it->Valid() || AdjCompare()(it->key(), target) >= 0) return;
    it->Next();
  }
  it->Seek(target);
}

void TraceGraph::EnterAdjacency(const AdjKey& key) {
  bool inserted;
  const Adjacency::Position at = adjacency_.InsertOrFind(key, &inserted);
  FirstEdges* slot = first_edges_.Mutable(key.node);
  if (!inserted || slot == nullptr) return;
  std::atomic<Adjacency::Position>& first = slot->first[key.dir];
  Adjacency::Iterator current(&adjacency_);
  current.SeekTo(first.load(std::memory_order_relaxed));
  // Published after the key is linked (InsertOrFind returned): a reader that starts from it
  // finds every later entry of the cube by following the list.
  if (!current.Valid() || AdjCompare()(key, current.key()) < 0) {
    first.store(at, std::memory_order_release);
  }
}

TraceGraph::Chain* TraceGraph::ChainFor(const EdgeKey& key) {
  auto [it, inserted] = chains_.try_emplace(key, nullptr);
  if (!inserted) return it->second;
  Chain* chain = &chain_storage_.emplace_back();
  it->second = chain;
  // Entered in the adjacency list with no version yet: a reader that finds it sees a null
  // head and skips it, until Publish stores one.
  EnterAdjacency(AdjKey{key.from, kOut, key.type, key.to, chain});
  EnterAdjacency(AdjKey{key.to, kIn, key.type, key.from, chain});
  edges_.fetch_add(1, std::memory_order_relaxed);
  return chain;
}

void TraceGraph::Publish(EdgeVersion* v) {
  Chain* chain = ChainFor(v->key);
  assert(chain->head.load(std::memory_order_relaxed) == v->prev);
  versions_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(sizeof(EdgeVersion), std::memory_order_relaxed);
  chain->head.store(v, std::memory_order_release);
}

void TraceGraph::PurgeEdgesOf(uint64_t node, std::vector<const EdgeVersion*>* removed) {
  for (Direction dir : {kOut, kIn}) {
    Adjacency::Iterator it(&adjacency_);
    SeekEdges(node, dir, 0, &it);
    for (; it.Valid() && it.key().node == node && it.key().dir == dir; it.Next()) {
      Chain* chain = it.key().chain;
      const EdgeVersion* head = chain->head.load(std::memory_order_relaxed);
      if (head == nullptr) continue;  // purged from its other end already, or never published
      chain->head.store(nullptr, std::memory_order_release);
      uint64_t n = 0;
      for (const EdgeVersion* e = head; e != nullptr; e = e->prev) ++n;
      edges_.fetch_sub(1, std::memory_order_relaxed);
      versions_.fetch_sub(n, std::memory_order_relaxed);
      bytes_.fetch_sub(n * sizeof(EdgeVersion), std::memory_order_relaxed);
      removed->push_back(head);
    }
  }
}

Status TraceGraph::Insert(std::unique_ptr<EdgeVersion> v) {
  Chain* chain = ChainFor(v->key);
  const EdgeVersion* head = chain->head.load(std::memory_order_relaxed);
  if (head != nullptr && head->space_id != v->space_id) {
    return Status::Corruption("edge " + std::to_string(v->key.from) + "->" +
                              std::to_string(v->key.to) + " has versions in two spaces");
  }
  // Find the link after which v belongs: versions are kept newest (highest number) first.
  const EdgeVersion* newer = nullptr;
  const EdgeVersion* older = head;
  while (older != nullptr && older->number > v->number) {
    newer = older;
    older = older->prev;
  }
  if (older != nullptr && older->number == v->number) {
    return Status::Corruption("edge " + std::to_string(v->key.from) + "->" +
                              std::to_string(v->key.to) + " has two versions " +
                              std::to_string(v->number));
  }
  v->prev = older;
  EdgeVersion* raw = v.release();
  if (newer == nullptr) {
    chain->head.store(raw, std::memory_order_release);
  } else {
    const_cast<EdgeVersion*>(newer)->prev = raw;
  }
  versions_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(sizeof(EdgeVersion), std::memory_order_relaxed);
  return Status::OK();
}

}  // namespace loci::index
