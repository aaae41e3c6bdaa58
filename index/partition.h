// Partition: the Atlas index of one vector field of one space (design.md §6).
//
// It starts flat: one posting list scanned exhaustively. Once it holds `flat_limit` vectors it
// is clustered by k-means into lists of about `list_target` vectors each; a vector goes to its
// nearest list and, SPANN-style, is replicated into the next nearest when that one is almost as
// near (boundary replication). A list that grows past twice the target is split in two by
// 2-means over its members, so inserts never require a rebuild. A search routes the query to
// the nearest centroids (INT8, then exact for the few kept), prunes probes much farther than
// the nearest, and scans the chosen lists' pages while applying the caller's filter to every
// candidate that would enter the candidate heap (so filters act inside the scan). Pages hold
// each INT8 code as two 4-bit planes (quantizer.h). Narrow vectors are scanned with both planes
// at once. Wide ones are ranked first by fewer bytes, then their best candidates are refined to
// the exact INT8 distance: by a 4-bit prefix of the residual's coordinates on its principal
// directions (projection.h), learned when the partition is first clustered, if a few of them
// hold most of the variance; otherwise by the hi plane, a 4-bit code at half the bytes. The
// best candidates are then re-ranked exactly from the full-precision vectors.
//
// Threading: one writer (Apply), any number of readers (Search), lock-free. Readers must hold
// an epoch of the EpochDomain given at construction: replaced layouts and lists are retired
// through it.

#ifndef LOCI_INDEX_PARTITION_H_
#define LOCI_INDEX_PARTITION_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gc/epoch.h"
#include "index/entry_table.h"
#include "index/kernels.h"
#include "index/partition_snapshot.h"
#include "index/posting_list.h"
#include "index/quantizer.h"
#include "loci/metric.h"

namespace loci::index {

struct PartitionOptions {
  uint32_t flat_limit = 2048;   // vectors before the partition is clustered
  uint32_t list_target = 64;    // vectors per posting list after clustering; split at twice
  uint32_t page_bytes = 12288;  // a page holds as many vectors as fit (at least 8)
  uint32_t max_replicas = 1;    // lists a vector is stored in, at most
  float replica_slack = 0.1f;   // replicate into lists within (1 + slack) x the nearest distance
  float probe_slack = 0.0f;     // skip probes beyond (1 + slack) x the nearest; 0: no pruning
  // A split also moves vectors between the new halves and this many lists around them, to the
  // nearest centroid (single-copy partitions only; 0: no reassignment).
  uint32_t reassign_lists = 8;
  uint64_t seed = 0x4c6f6369;  // k-means seeds
};

// Decides whether an entry that may enter the results is visible to the search and passes its
// filters. Called inside the scan, from the searching thread; it must not itself search a
// Partition (the thread's search buffers are in use).
class EntryFilter {
 public:
  virtual ~EntryFilter() = default;
  virtual bool Accept(const EntryInfo& entry) = 0;
};

// A query prepared for one field: normalised for cosine, quantized once.
struct PreparedQuery {
  std::vector<float> vector;
  QuantizedQuery quantized;
  void Prepare(const float* q, uint32_t dim, Metric metric);
};

// The exact distance a partition's re-rank gives the full-precision `vector` for `query`
// (lower is better; see ScanHit), computed with the same kernels and cosine normalisation, so a
// vector scored outside the index (one not indexed yet) ranks exactly as it would inside.
// +infinity where a NaN would come out (vectors stored before the norm bounds).
float ExactDistance(const PreparedQuery& query, const float* vector, uint32_t dim, Metric metric);

struct ScanParams {
  uint32_t probes = 24;  // lists probed at most (clustered partitions)
  // Candidates ranked by their exact INT8 distance (a two-pass scan picks kRefineFactor times
  // as many by its 4-bit ranking and refines them), and how many of the best of those are
  // re-ranked exactly from the full-precision vectors. The INT8 ranking is close to the exact
  // one, so a re-rank only needs to settle the order near the k-th hit; the candidates are
  // what buys recall.
  uint32_t candidates = 40;  // at least `rerank`
  uint32_t rerank = 40;
  int64_t as_of = 0;  // transaction time of the read
  // Whether an entry whose live_from <= as_of may be accepted without the filter (no kind,
  // state or attribute filter, and a valid time >= as_of).
  bool fast_accept = false;
  EntryFilter* filter = nullptr;
};

// A result: an entry and its exact distance (lower is better: |q - x|^2 for L2, -q.x for inner
// product, -cos(q, x) for cosine).
struct ScanHit {
  float distance;  // exact; never NaN (+infinity for a vector no distance can be computed to)
  uint32_t entry;
};

struct ScanStats {
  uint64_t vectors_scanned = 0;
  uint64_t bytes_scanned = 0;  // centroids, pages and full vectors read
};

struct PartitionStats {
  uint64_t entries = 0;
  uint64_t stored_vectors = 0;  // including replicas
  uint64_t lists = 0;           // 1 while flat
  uint32_t prefix_width = 0;    // of the projection the scan ranks by (0: none)
  uint64_t bytes = 0;           // pages, entry table, centroids
};

class Partition {
 public:
  Partition(Metric metric, uint32_t dim, const PartitionOptions& options, gc::EpochDomain* epochs);
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // Writer: the newest version of `cube` now has `vector` in this field (nullptr: none), and is
  // live from `live_from` (see EntryInfo; kNotLive if not). A vector pointer equal to the one
  // already indexed for the cube means the version kept it. `vector` must stay readable (dim
  // floats) for the life of the partition. REQUIRES: a finite vector, not all zeros for cosine.
  void Apply(uint64_t cube, const float* vector, int64_t live_from);

  // Writer: whether `vector` is what the index holds for the newest version of `cube`.
  bool Holds(uint64_t cube, const float* vector) const {
    auto it = current_.find(cube);
    return it != current_.end() && entries_.at(it->second).vector == vector;
  }

  // Writer: the blob arena moved vectors (a compaction): every entry whose vector is at a
  // pointer `moved` maps to another now reads it there. Readers may be searching: those that
  // loaded an old pointer read the old copy, which the caller keeps readable until they have
  // unpinned. `moved(p)` returns p for a vector that did not move, and nullptr for one that is
  // going away (an entry no version holds any more: a pruned or purged vector, which no search
  // accepts): such an entry then reads zeros, as an erased frame did.
  void Relocate(const std::function<const float*(const float*)>& moved);

  // Reader (epoch pinned): appends to *hits the best `params.rerank` accepted entries by exact
  // distance, best first; fills *stats if given.
  void Search(const PreparedQuery& query, const ScanParams& params, std::vector<ScanHit>* hits,
              ScanStats* stats = nullptr) const;

  const EntryTable& entries() const { return entries_; }
  // The sizes, as of about now. REQUIRES: an epoch pinned.
  PartitionStats Stats() const;

  // --- Index snapshots (partition_snapshot.h)

  // Reader (epoch pinned): a copy of what readers see now: the published layout's lists,
  // centroids and groups, and every published slot. out->entries are the entries the slots refer
  // to, in entry-number order, with cube and vector set (the source is the caller's to fill);
  // space_id and field_id are the caller's too.
  void Export(PartitionSnapshot* out) const;

  // Why `snapshot` cannot be restored into a partition of this metric, dimension and options
  // (its page shape differs, say); "" if it can.
  static std::string Unrestorable(const PartitionSnapshot& snapshot, Metric metric, uint32_t dim,
                                  const PartitionOptions& options);

  // Writer, on a partition nothing was applied to: takes the lists, centroids and groups of
  // `snapshot`, and the slots of the entries i with vectors[i] != nullptr (the verified vector
  // entry i was encoded from, where it is now); the other slots are left out. A restored entry
  // is no cube's current vector until an Apply of its cube with that very vector adopts it,
  // which sets live_from and the cube's entry as for a new vector but without routing or
  // encoding it: the caller then applies every version in commit order, as to an empty
  // partition. REQUIRES: Unrestorable(snapshot, ...) is empty, vectors.size() ==
  // snapshot.entries.size().
  void Restore(const PartitionSnapshot& snapshot, const std::vector<const float*>& vectors);
  // Writer, after the Applies that follow a Restore: the number of restored entries no Apply
  // adopted (they stay in the pages, as no cube's current vector), and frees the lookup.
  size_t EndRestore();

 private:
  struct Layout;
  struct Approx;
  struct Candidate;
  struct SearchScratch;

  // Candidates the 4-bit pass keeps for INT8 refinement, per candidate kept for the exact
  // re-rank.
  static constexpr size_t kRefineFactor = 3;
  // Dimensions from which a scan ranks by the hi plane alone and refines (below, it reads both
  // planes: narrow rows cost less to read than the refinement's scattered accesses).
  static constexpr uint32_t kTwoPassMinDim = 256;

  // Lists are grouped for hierarchical routing from this many on.
  static constexpr size_t kGroupingThreshold = 256;
  // Grouped routing ranks the lists of the nearest groups, at least this many per list wanted
  // plus the extra, by their hi planes.
  static constexpr size_t kRouteFactor = 8;
  static constexpr size_t kRouteExtra = 64;

  // Candidates the prefix pass keeps for the hi plane to rank again, per candidate ranked (the
  // prefix ranks less closely than the hi plane; kRefineFactor of them then read the lo plane).
  static constexpr size_t kPrefixRefineFactor = 5;
  // A trim of the first pass's candidate buffer keeps up to refine / kTrimSlackDivisor more than
  // the best `refine` when that saves it counting passes (see best_k.h).
  static constexpr size_t kTrimSlackDivisor = 8;
  // The vector of entry `e` as the index compares it (normalised for cosine) into out[dim].
  void Prepared(uint32_t e, float* out) const;
  uint32_t AddEntry(uint64_t cube, const float* vector);
  // Apply of a new vector: takes the restored entry of `cube` encoded from `vector`, if any.
  bool Adopt(uint64_t cube, const float* vector, uint32_t* e);
  // A new, empty posting list of this partition's page shape, encoded against `centroid`.
  PostingList* NewList(const PageShape& shape, std::vector<float> centroid) const;
  // The page shape of a partition's lists, with a prefix plane of that many bytes (0: none):
  // as many slots as fit in options.page_bytes, at least 8.
  static PageShape ShapeFor(uint32_t dim, const PartitionOptions& options, uint32_t prefix_stride);
  // Encodes centroid c as list `list`'s routing code (INT8 row and correction).
  void SetListCode(Layout* layout, size_t list, const float* c) const;
  // A list or group centroid, encoded with the bias its metric ranks by.
  EncodedVector EncodeCentroid(const float* c, int8_t* codes) const;
  // Exact distance from x to a centroid, in the metric the lists are routed by.
  float CentroidDistance(const float* x, const float* c) const;
  // Appends entry `e` (prepared vector x) to list `list` of `layout`, encoded against its
  // centroid.
  void AppendTo(const Layout& layout, uint32_t list, uint32_t e, const float* x);
  // The lists of `layout` nearest to x by INT8 distance: sorts the best min(n, candidates) to
  // the front of *approx and returns how many that is.
  size_t RankLists(const Layout& layout, const float* x, size_t n,
                   std::vector<Approx>* approx) const;
  // Routes x to its lists in `layout` (nearest first, replicas after).
  void Route(const Layout& layout, const float* x, std::vector<uint32_t>* lists) const;
  // Candidate lists for the `want` nearest to q, with their INT8 distances (see the .cc);
  // returns the bytes of routing codes read. REQUIRES: q split for nibbles.
  size_t ScoreLists(const Layout& layout, const QuantizedQuery& q, size_t want,
                    std::vector<Approx>* out) const;
  // Rebuilds layout's groups (or clears them, below kGroupingThreshold lists).
  void Regroup(Layout* layout) const;
  // Rebuilds layout's member_hi rows (see Layout) from its groups and list codes: after the
  // groups or the codes of grouped lists change.
  void ArrangeMembers(Layout* layout) const;
  void Insert(uint32_t e);
  void Cluster();
  void Split(uint32_t list);
  // The `n` lists of `layout` nearest to centroid c, but `except`, nearest first.
  std::vector<uint32_t> NearestLists(const Layout& layout, const float* c, size_t n,
                                     uint32_t except) const;
  // A split victim's member bound for a list around it: entry and prepared vector.
  struct Incoming {
    uint32_t entry;
    const float* x;
  };
  // Split's reassignment: moves the members of list `list` of `next` that are nearer to one of
  // the two lists `halves` than to their own centroid into the nearer half, and adds
  // `incoming`. If anything moves or comes in, the list is replaced in `next` by a new one (a
  // published list only ever gains slots by the writer's appends of new vectors) and the old
  // list is returned, for the caller to retire once `next` is published; else nullptr.
  PostingList* Reassign(Layout* next, uint32_t list, const uint32_t halves[2],
                        const std::vector<Incoming>& incoming);
  void Publish(Layout* next, std::vector<PostingList*> retired);

  const Metric metric_;
  const uint32_t dim_;
  const uint32_t stride_;        // bytes of a row of INT8 codes (routing's centroids)
  const uint32_t plane_stride_;  // bytes of a row of one 4-bit plane (the pages')
  const PartitionOptions options_;
  const Kernels& kernels_;
  gc::EpochDomain* const epochs_;

  EntryTable entries_;
  std::atomic<Layout*> layout_;
  // The pages of clustered lists (a flat partition's few pages come from operator new, so that
  // many small partitions do not each hold a chunk). The writer's; null until clustered.
  std::shared_ptr<PageArena> arena_;
  // Sets an entry's live_from and the copies in the page slots that hold it.
  void SetLiveFrom(uint32_t e, int64_t live_from);

  // Where an entry's replicas are: the writer's, to keep their live_from copies current.
  struct Location {
    const PostingList* list;
    Page* page;
    uint32_t slot;
  };
  std::vector<std::vector<Location>> locations_;  // by entry
  // The writer's: each cube's entry for its newest version's vector.
  std::unordered_map<uint64_t, uint32_t> current_;
  // The writer's, from Restore to EndRestore: restored entries not yet adopted, by vector.
  std::unordered_map<const float*, uint32_t> restored_;
  // dim_ zeros: the vector of the entries whose vector Relocate was told is gone.
  std::unique_ptr<float[]> zeros_;
  std::atomic<uint64_t> stored_vectors_{0};
  std::atomic<uint64_t> bytes_{0};
  uint64_t entry_bytes_ = 0;  // the writer's: entries_.bytes() as counted in bytes_
  // Seeds each split's k-means; atomic only so that an index snapshot may read it.
  std::atomic<uint64_t> split_attempts_{0};
  uint64_t SplitAttempt() { return split_attempts_.fetch_add(1, std::memory_order_relaxed) + 1; }
};

}  // namespace loci::index

#endif  // LOCI_INDEX_PARTITION_H_
