// TraceGraph: the edges of the episodic trace graph (design.md §7) and their versions.
//
// An edge is identified by (from, to, type) (EdgeKey). Its versions form a chain, newest first,
// like a cube's: immutable once published, reached by readers without locks through an atomic
// head. Each edge appears twice in one ordered adjacency list (a SkipList): under its `from`
// cube as an out-edge and under its `to` cube as an in-edge, ordered by (cube, direction, type,
// other end), so the edges of a cube — all of them, or those of one type — are a scan. The
// scan starts at the cube's first entry in that direction, kept per cube id (IdSlots): no
// search of the whole list, whose depth grows with every edge of the database (at a million
// cubes the search was most of a one-hop Trace). Only to skip many edges of other types does
// a scan fall back to a search.
//
// Concurrency: one writer at a time (the commit leader; recovery before readers exist);
// readers run concurrently with it and with each other, lock-free. Nothing is freed before
// the graph is destroyed (reclaiming purged edges is a rebuild, see issue 15's design).

#ifndef LOCI_INDEX_TRACE_GRAPH_H_
#define LOCI_INDEX_TRACE_GRAPH_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <unordered_map>
#include <vector>

#include "index/id_slots.h"
#include "index/skiplist.h"
#include "loci/status.h"

namespace loci::index {

struct EdgeKey {
  uint64_t from = 0;
  uint64_t to = 0;
  uint32_t type = 0;
  bool operator==(const EdgeKey&) const = default;
};

struct EdgeKeyHash {
  size_t operator()(const EdgeKey& k) const {
    uint64_t h =
        k.from * 0x9e3779b97f4a7c15ull ^ (k.to + 0x632be59bd9b4e019ull) * 0xbf58476d1ce4e5b9ull;
    return static_cast<size_t>(h ^ (h >> 31) ^ k.type);
  }
};

// One version of an edge. Times are microseconds since the Unix epoch, as the engine's.
struct EdgeVersion {
  EdgeKey key;
  uint32_t space_id = 0;
  uint32_t number = 0;  // 1, 2, 3... per Link or Unlink of the edge
  float weight = 1.0f;
  bool unlinked = false;  // an Unlink: valid from valid_from on, it hides the edge
  int64_t valid_from = 0;
  int64_t valid_to = std::numeric_limits<int64_t>::max();
  int64_t tx_from = 0;
  uint64_t lsn = 0;
  const EdgeVersion* prev = nullptr;  // the older version; set before publication

  // Field-by-field equality, chain pointer excluded.
  bool SameContent(const EdgeVersion& o) const;
};

class TraceGraph {
  struct Chain;  // an edge's versions (below)

 public:
  enum Direction : uint8_t { kOut = 0, kIn = 1 };

  // An edge as found from one of its ends.
  struct Incidence {
    uint64_t other;  // the cube at the other end
    uint32_t type;
    const Chain* chain;
    // Its newest version (read when asked: a scan need not touch the chain's memory).
    const EdgeVersion* head() const;
  };

  TraceGraph() = default;
  // Deletes every version. REQUIRES: no reader is active.
  ~TraceGraph();
  TraceGraph(const TraceGraph&) = delete;
  TraceGraph& operator=(const TraceGraph&) = delete;

  // --- readers (any thread, lock-free)

  // The newest published version of edge `key`, or nullptr.
  const EdgeVersion* Head(const EdgeKey& key) const;

  // Calls fn(const Incidence&) for each edge of cube `node` in direction `dir` — only those of
  // `type` unless it is 0 — in (type, other end) order, until fn returns false.
  template <class Fn>
  void ForEachEdge(uint64_t node, Direction dir, uint32_t type, Fn fn) const {
    Adjacency::Iterator it(&adjacency_);
    SeekEdges(node, dir, type, &it);
    for (; it.Valid(); it.Next()) {
      const AdjKey& k = it.key();
      if (k.node != node || k.dir != dir || (type != 0 && k.type != type)) break;
      if (!fn(Incidence{k.other, k.type, k.chain})) break;
    }
  }

  // Calls fn(const EdgeVersion* head) for every edge's newest version, by (from, type, to).
  template <class Fn>
  void ForEachChain(Fn fn) const {
    Adjacency::Iterator it(&adjacency_);
    for (it.SeekToFirst(); it.Valid(); it.Next()) {
      if (it.key().dir == kOut) fn(it.key().chain->head.load(std::memory_order_acquire));
    }
  }

  uint64_t edges() const { return edges_.load(std::memory_order_relaxed); }
  uint64_t versions() const { return versions_.load(std::memory_order_relaxed); }
  uint64_t memory_bytes() const {
    return adjacency_.memory_bytes() + first_edges_.memory_bytes() +
           bytes_.load(std::memory_order_relaxed);
  }

  // --- the writer (one at a time)

  // The newest version of `key` (published), or nullptr. Writer only: a hash lookup.
  const EdgeVersion* Latest(const EdgeKey& key) const;

  // Makes `v` the newest version of v->key, taking ownership.
  // REQUIRES: v->prev == Latest(v->key); from != to.
  void Publish(EdgeVersion* v);

  // Purge of cube `node`: every edge to or from it is unlinked from its chain — readers and
  // Latest find no version of it from now on. Appends the chains' heads to *removed; the caller
  // now owns them (each with its older versions) and frees them once no reader can hold them.
  void PurgeEdgesOf(uint64_t node, std::vector<const EdgeVersion*>* removed);

  // Recovery: inserts `v` (taking ownership) into its edge's chain by version number, whatever
  // order versions arrive in. Corruption if that version number is present already, or the
  // version belongs to another space than the edge's others. Before readers exist.
  Status Insert(std::unique_ptr<EdgeVersion> v);

 private:
  struct Chain {
    std::atomic<const EdgeVersion*> head{nullptr};
  };
  struct AdjKey {
    uint64_t node;
    uint8_t dir;
    uint32_t type;
    uint64_t other;
    Chain* chain;  // not compared
  };
  struct AdjCompare {
    int operator()(const AdjKey& a, const AdjKey& b) const {
      if (a.node != b.node) return a.node < b.node ? -1 : 1;
      if (a.dir != b.dir) return a.dir < b.dir ? -1 : 1;
      if (a.type != b.type) return a.type < b.type ? -1 : 1;
      if (a.other != b.other) return a.other < b.other ? -1 : 1;
      return 0;
    }
  };
  using Adjacency = SkipList<AdjKey, AdjCompare>;
  // A cube's first adjacency entry in each direction (null: no edge that way).
  struct FirstEdges {
    std::atomic<Adjacency::Position> first[2];
  };
  // Entries of other types a scan steps over before it searches instead.
  static constexpr int kShortScan = 8;

  // Positions *it at the first entry of `node` in direction `dir` of type `type` (any type if
  // 0), or where the scan finds at once that there is none.
  void SeekEdges(uint64_t node, Direction dir, uint32_t type, Adjacency::Iterator* it) const;
  // Enters `key` in the adjacency list, and as its cube's first entry if it is.
  void EnterAdjacency(const AdjKey& key);
  // The chain of `key`, created (and entered in the adjacency list) if it is new.
  Chain* ChainFor(const EdgeKey& key);

  Adjacency adjacency_;
  IdSlots<FirstEdges> first_edges_;
  std::unordered_map<EdgeKey, Chain*, EdgeKeyHash> chains_;  // writer only
  std::deque<Chain> chain_storage_;                          // writer only; stable addresses
  std::atomic<uint64_t> edges_{0};
  std::atomic<uint64_t> versions_{0};
  std::atomic<uint64_t> bytes_{0};
};

inline const EdgeVersion* TraceGraph::Incidence::head() const {
  return chain->head.load(std::memory_order_acquire);
}

}  // namespace loci::index

#endif  // LOCI_INDEX_TRACE_GRAPH_H_
