// Partition: flat and clustered posting lists, routing, the filtered INT8 scan and the exact
// re-rank.

#include "index/partition.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "index/kmeans.h"

namespace loci::index {

// The lists of a partition and, when clustered, their quantized centroids side by side (so
// routing streams one array). Immutable once published (so an index snapshot can copy all of
// it); a change publishes a new Layout and retires the old one through EBR.
struct Partition::Approx {
  float distance;
  uint32_t entry;  // an entry, a list or a group, depending on what is being ranked
  bool operator<(const Approx& o) const { return distance < o.distance; }
};

// A page slot the scan keeps for refinement.
struct Partition::Candidate {
  float distance;
  uint32_t entry;
  uint32_t slot;
  const Page* page;
  bool operator<(const Candidate& o) const { return distance < o.distance; }
};

struct Partition::Layout {
  std::vector<PostingList*> lists;  // shared with older and newer layouts
  AlignedVector<int8_t> codes;      // lists.size() rows of stride (clustered only)
  std::vector<EncodedVector> encoded;
  std::vector<uint32_t> split_at;  // a list is split past this size

  // Hierarchical routing, once a partition has many lists: the lists are grouped by k-means
  // over their centroids, and a search scores the groups' centroids first and then only the
  // lists of the nearest groups. Empty while every list is scored.
  AlignedVector<int8_t> group_codes;
  std::vector<EncodedVector> group_encoded;
  std::vector<std::vector<uint32_t>> group_members;
  std::vector<uint32_t> group_of;  // the writer's: each list's group
  size_t grouped_lists = 0;        // lists when the groups were built

  bool flat() const { return encoded.empty(); }
};

namespace {

// Entries already considered by one scan (replicas appear in several lists): open addressing,
// grown when half full.
class SeenSet {
 public:
  SeenSet() : slots_(1024, kEmpty) {}
  // True if `e` was not in the set (and adds it).
  bool Insert(uint32_t e) {
    if ((used_ + 1) * 2 > slots_.size()) Grow();
    const size_t mask = slots_.size() - 1;
    for (size_t i = Hash(e) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == e) return false;
      if (slots_[i] == kEmpty) {
        slots_[i] = e;
        ++used_;
        return true;
      }
    }
  }

 private:
  static constexpr uint32_t kEmpty = std::numeric_limits<uint32_t>::max();
  static size_t Hash(uint32_t e) { return (e * 0x9E3779B1u) >> 7; }
  void Grow() {
    std::vector<uint32_t> old(slots_.size() * 2, kEmpty);
    old.swap(slots_);
    used_ = 0;
    for (uint32_t e : old) {
      if (e != kEmpty) Insert(e);
    }
  }
  std::vector<uint32_t> slots_;
  size_t used_ = 0;
};

float NormSq(const Kernels& k, const float* x, size_t n) { return k.dot_f32(x, x, n); }

// INT8 estimate of the distance bias - 2 q.c from q's quantized codes and c's dot product with
// them (see quantizer.h).
float ApproxDistance(const EncodedVector& c, const QuantizedQuery& q, int32_t dot) {
  return c.bias - 2 * q.scale * c.scale * static_cast<float>(dot - 128 * c.sum);
}

}  // namespace

void PreparedQuery::Prepare(const float* q, uint32_t dim, Metric metric) {
  vector.assign(q, q + dim);
  if (metric == Metric::kCosine) {
    double norm = 0;
    for (uint32_t i = 0; i < dim; ++i) norm += double{q[i]} * q[i];
    const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (float& v : vector) v *= inv;
  }
  quantized.Quantize(vector.data(), dim, CodeStride(dim));
  quantized.SplitForNibbles();
}

Partition::Partition(Metric metric, uint32_t dim, const PartitionOptions& options,
                     gc::EpochDomain* epochs)
    : metric_(metric),
      dim_(dim),
      stride_(static_cast<uint32_t>(CodeStride(dim))),
      plane_stride_(static_cast<uint32_t>(NibbleStride(dim))),
      page_capacity_(PageCapacity(dim, options)),
      options_(options),
      kernels_(BestKernels()),
      epochs_(epochs) {
  auto* flat = new Layout;
  flat->lists.push_back(NewList({}));
  flat->split_at.push_back(std::numeric_limits<uint32_t>::max());
  layout_.store(flat, std::memory_order_release);
}

Partition::~Partition() {
  Layout* layout = layout_.load(std::memory_order_acquire);
  for (PostingList* list : layout->lists) delete list;
  delete layout;
}

uint32_t Partition::PageCapacity(uint32_t dim, const PartitionOptions& options) {
  return std::max<uint32_t>(
      8, static_cast<uint32_t>(options.page_bytes / (CodeStride(dim) + kSlotOverhead)));
}

void Partition::Prepared(uint32_t e, float* out) const {
  const EntryInfo& info = entries_.at(e);
  if (metric_ == Metric::kCosine) {
    for (uint32_t i = 0; i < dim_; ++i) out[i] = info.vector[i] * info.inv_norm;
  } else {
    std::memcpy(out, info.vector, dim_ * sizeof(float));
  }
}

uint32_t Partition::AddEntry(uint64_t cube, const float* vector) {
  uint32_t e = 0;
  EntryInfo* info = entries_.Add(&e);
  info->cube = cube;
  info->vector = vector;
  if (metric_ == Metric::kCosine) {
    const float norm = std::sqrt(NormSq(kernels_, vector, dim_));
    info->inv_norm = norm > 0 ? 1.0f / norm : 0.0f;
  }
  const uint64_t entry_bytes = entries_.bytes();
  bytes_.fetch_add(entry_bytes - entry_bytes_, std::memory_order_relaxed);
  entry_bytes_ = entry_bytes;
  return e;
}

PostingList* Partition::NewList(std::vector<float> centroid) const {
  return new PostingList(page_capacity_, plane_stride_, std::move(centroid));
}

EncodedVector Partition::EncodeCentroid(const float* c, int8_t* codes) const {
  EncodedVector enc = EncodeResidual(c, nullptr, dim_, stride_, codes);
  enc.bias = metric_ == Metric::kInnerProduct ? 0 : NormSq(kernels_, c, dim_);
  return enc;
}

float Partition::CentroidDistance(const float* x, const float* c) const {
  return metric_ == Metric::kInnerProduct ? -kernels_.dot_f32(x, c, dim_)
                                          : kernels_.l2sq_f32(x, c, dim_);
}

void Partition::AppendTo(const Layout& layout, uint32_t list, uint32_t e, const float* x) {
  PostingList* l = layout.lists[list];
  AlignedVector<int8_t> codes(stride_);
  EncodedVector enc = EncodeResidual(x, l->center(), dim_, stride_, codes.data());
  if (metric_ == Metric::kL2) enc.bias = NormSq(kernels_, x, dim_);
  AlignedVector<uint8_t> planes(stride_);
  SplitNibbles(codes.data(), stride_, planes.data(), planes.data() + plane_stride_);
  const size_t before = l->bytes();
  const auto [page, slot] = l->Append(e, planes.data(), planes.data() + plane_stride_, enc,
                                      entries_.at(e).live_from.load(std::memory_order_relaxed));
  if (locations_.size() <= e) locations_.resize(e + 1);
  locations_[e].push_back({l, page, slot});
  stored_vectors_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(l->bytes() - before, std::memory_order_relaxed);
}

// Approximate distance from q to the centroid of every list worth considering for the `want`
// nearest: all of them, or with groups, the members of the nearest groups (enough of them to
// leave a margin for the groups' coarseness).
void Partition::ScoreLists(const Layout& layout, const QuantizedQuery& q, size_t want,
                           std::vector<Approx>* out) const {
  out->clear();
  if (layout.group_members.empty()) {
    const size_t n = layout.lists.size();
    std::vector<int32_t> dots(n);
    kernels_.dot_u8s8_batch(q.codes.data(), layout.codes.data(), stride_, stride_, n, dots.data());
    out->resize(n);
    for (size_t j = 0; j < n; ++j) {
      (*out)[j] = {ApproxDistance(layout.encoded[j], q, dots[j]), static_cast<uint32_t>(j)};
    }
    return;
  }
  const size_t groups = layout.group_members.size();
  std::vector<int32_t> dots(groups);
  kernels_.dot_u8s8_batch(q.codes.data(), layout.group_codes.data(), stride_, stride_, groups,
                          dots.data());
  std::vector<Approx> order(groups);
  for (size_t g = 0; g < groups; ++g) {
    order[g] = {ApproxDistance(layout.group_encoded[g], q, dots[g]), static_cast<uint32_t>(g)};
  }
  std::sort(order.begin(), order.end());
  const size_t need = 4 * want + 32;
  for (size_t i = 0; i < groups && (out->size() < need || i < 2); ++i) {
    for (uint32_t j : layout.group_members[order[i].entry]) {
      const int32_t dot = kernels_.dot_u8s8(q.codes.data(), &layout.codes[j * stride_], stride_);
      out->push_back({ApproxDistance(layout.encoded[j], q, dot), j});
    }
  }
}

void Partition::Regroup(Layout* layout) const {
  const size_t n = layout->lists.size();
  layout->group_codes.clear();
  layout->group_encoded.clear();
  layout->group_members.clear();
  layout->group_of.clear();
  layout->grouped_lists = n;
  if (n < kGroupingThreshold) return;
  std::vector<float> centroids(n * dim_);
  for (size_t j = 0; j < n; ++j) {
    std::copy(layout->lists[j]->centroid().begin(), layout->lists[j]->centroid().end(),
              centroids.begin() + static_cast<std::ptrdiff_t>(j * dim_));
  }
  const size_t groups = static_cast<size_t>(std::sqrt(static_cast<double>(n)));
  KMeansResult km = KMeans(centroids.data(), n, dim_, groups, 6, options_.seed ^ n, kernels_);
  layout->group_codes.resize(groups * stride_);
  layout->group_members.resize(groups);
  for (size_t g = 0; g < groups; ++g) {
    layout->group_encoded.push_back(
        EncodeCentroid(&km.centroids[g * dim_], &layout->group_codes[g * stride_]));
  }
  layout->group_of = km.assignment;
  for (size_t j = 0; j < n; ++j) {
    layout->group_members[km.assignment[j]].push_back(static_cast<uint32_t>(j));
  }
}

void Partition::Route(const Layout& layout, const float* x, std::vector<uint32_t>* lists) const {
  lists->clear();
  QuantizedQuery qx;
  qx.Quantize(x, dim_, stride_);
  // INT8 distances to the candidate centroids, then exact ones for the few nearest.
  std::vector<Approx> approx;
  ScoreLists(layout, qx, 8, &approx);
  const size_t keep = std::min<size_t>(approx.size(), 8);
  std::partial_sort(approx.begin(), approx.begin() + keep, approx.end());
  for (size_t i = 0; i < keep; ++i) {
    const float* c = layout.lists[approx[i].entry]->center();
    approx[i].distance = CentroidDistance(x, c);
  }
  std::sort(approx.begin(), approx.begin() + keep);
  lists->push_back(approx[0].entry);
  if (metric_ == Metric::kInnerProduct) return;  // the slack rule needs distances >= 0
  const float limit = approx[0].distance * (1 + options_.replica_slack);
  for (size_t i = 1; i < keep && lists->size() < options_.max_replicas; ++i) {
    if (approx[i].distance > limit) break;
    lists->push_back(approx[i].entry);
  }
}

void Partition::Apply(uint64_t cube, const float* vector, int64_t live_from) {
  auto it = current_.find(cube);
  if (it != current_.end()) {
    EntryInfo& old = entries_.at(it->second);
    if (old.vector == vector) {  // the version kept its vector
      SetLiveFrom(it->second, live_from);
      return;
    }
    SetLiveFrom(it->second, kNotLive);
    current_.erase(it);
  }
  if (vector == nullptr) return;
  uint32_t e;
  if (!Adopt(cube, vector, &e)) {
    e = AddEntry(cube, vector);
    Insert(e);
  }
  SetLiveFrom(e, live_from);
  current_.emplace(cube, e);
}

void Partition::SetLiveFrom(uint32_t e, int64_t live_from) {
  entries_.at(e).live_from.store(live_from, std::memory_order_release);
  for (const Location& at : locations_[e]) at.page->SetLiveFrom(at.slot, live_from);
}

void Partition::Insert(uint32_t e) {
  Layout* layout = layout_.load(std::memory_order_relaxed);
  std::vector<float> x(dim_);
  Prepared(e, x.data());
  if (layout->flat()) {
    AppendTo(*layout, 0, e, x.data());
    if (entries_.size() >= options_.flat_limit) Cluster();
    return;
  }
  std::vector<uint32_t> lists;
  Route(*layout, x.data(), &lists);
  for (uint32_t l : lists) AppendTo(*layout, l, e, x.data());
  for (uint32_t l : lists) {
    if (layout->lists[l]->size() > layout->split_at[l]) {
      Split(l);
      break;  // the layout changed; the other lists are checked at their next append
    }
  }
}

void Partition::Cluster() {
  const size_t n = entries_.size();
  const size_t k = std::max<size_t>(2, (n + options_.list_target - 1) / options_.list_target);
  std::vector<float> points(n * dim_);
  for (size_t e = 0; e < n; ++e) Prepared(static_cast<uint32_t>(e), &points[e * dim_]);
  KMeansResult km = KMeans(points.data(), n, dim_, std::min(k, n), 8, options_.seed, kernels_);
  auto* next = new Layout;
  const size_t lists = km.centroids.size() / dim_;
  next->codes.resize(lists * stride_);
  for (size_t j = 0; j < lists; ++j) {
    std::vector<float> c(km.centroids.begin() + j * dim_, km.centroids.begin() + (j + 1) * dim_);
    next->encoded.push_back(EncodeCentroid(c.data(), &next->codes[j * stride_]));
    next->lists.push_back(NewList(std::move(c)));
    next->split_at.push_back(2 * options_.list_target);
  }
  stored_vectors_.store(0, std::memory_order_relaxed);
  bytes_.store(entry_bytes_, std::memory_order_relaxed);
  for (auto& where : locations_) where.clear();  // the flat list is retired
  std::vector<uint32_t> route;
  for (size_t e = 0; e < n; ++e) {
    Route(*next, &points[e * dim_], &route);
    for (uint32_t l : route) AppendTo(*next, l, static_cast<uint32_t>(e), &points[e * dim_]);
  }
  Regroup(next);
  Layout* old = layout_.load(std::memory_order_relaxed);
  Publish(next, old->lists);
}

void Partition::Split(uint32_t list) {
  Layout* layout = layout_.load(std::memory_order_relaxed);
  const PostingList* victim = layout->lists[list];
  std::vector<uint32_t> members;
  for (const Page* p = victim->first(); p != nullptr; p = p->next()) {
    members.insert(members.end(), p->entries(), p->entries() + p->count());
  }
  std::vector<float> points(members.size() * dim_);
  for (size_t i = 0; i < members.size(); ++i) Prepared(members[i], &points[i * dim_]);
  KMeansResult km =
      KMeans(points.data(), members.size(), dim_, 2, 6, options_.seed + SplitAttempt(), kernels_);
  const size_t in_first =
      static_cast<size_t>(std::count(km.assignment.begin(), km.assignment.end(), 0u));
  if (in_first == 0 || in_first == members.size()) {
    // Indistinguishable vectors: splitting would not help; try again when the list doubles.
    // (A new layout, rare: published layouts stay immutable.)
    auto* next = new Layout(*layout);
    next->split_at[list] *= 2;
    Publish(next, {});
    return;
  }
  auto* next = new Layout(*layout);
  next->codes.resize((layout->lists.size() + 1) * stride_);
  next->encoded.resize(layout->lists.size() + 1);
  next->split_at.push_back(2 * options_.list_target);
  next->split_at[list] = 2 * options_.list_target;
  const uint32_t slots[2] = {list, static_cast<uint32_t>(layout->lists.size())};
  next->lists.push_back(nullptr);
  for (int half = 0; half < 2; ++half) {
    std::vector<float> c(km.centroids.begin() + half * dim_,
                         km.centroids.begin() + (half + 1) * dim_);
    const uint32_t j = slots[half];
    next->encoded[j] = EncodeCentroid(c.data(), &next->codes[j * stride_]);
    next->lists[j] = NewList(std::move(c));
  }
  const uint64_t victim_bytes = victim->bytes();
  for (uint32_t e : members) {
    std::erase_if(locations_[e], [victim](const Location& at) { return at.list == victim; });
  }
  // Each member goes to the nearer half, and to the other one too when it is almost as near.
  for (size_t i = 0; i < members.size(); ++i) {
    const float* x = &points[i * dim_];
    float d[2];
    for (int half = 0; half < 2; ++half) {
      const float* c = next->lists[slots[half]]->center();
      d[half] = CentroidDistance(x, c);
    }
    const int near = d[0] <= d[1] ? 0 : 1;
    AppendTo(*next, slots[near], members[i], x);
    if (metric_ != Metric::kInnerProduct && options_.max_replicas > 1 &&
        d[1 - near] <= d[near] * (1 + options_.replica_slack)) {
      AppendTo(*next, slots[1 - near], members[i], x);
    }
  }
  stored_vectors_.fetch_sub(victim->size(), std::memory_order_relaxed);
  bytes_.fetch_sub(victim_bytes, std::memory_order_relaxed);
  // The new list joins its sibling's group until the groups are rebuilt, which happens each
  // time the number of lists has grown by a quarter (so at O(log) cost over a partition's life).
  if (next->lists.size() >= kGroupingThreshold &&
      (next->group_members.empty() || next->lists.size() * 4 >= next->grouped_lists * 5)) {
    Regroup(next);
  } else if (!next->group_members.empty()) {
    const uint32_t g = next->group_of[list];
    next->group_of.push_back(g);
    next->group_members[g].push_back(slots[1]);
  }
  Publish(next, {layout->lists[list]});
}

void Partition::Publish(Layout* next, std::vector<PostingList*> retired) {
  Layout* old = layout_.exchange(next, std::memory_order_acq_rel);
  epochs_->Retire([old, retired = std::move(retired)] {
    for (PostingList* l : retired) delete l;
    delete old;
  });
}

void Partition::Search(const PreparedQuery& query, const ScanParams& params,
                       std::vector<ScanHit>* hits, ScanStats* stats) const {
  const Layout* layout = layout_.load(std::memory_order_acquire);
  const float* q = query.vector.data();
  const QuantizedQuery& qq = query.quantized;
  ScanStats local;

  // Which lists, and q.c for each.
  std::vector<std::pair<float, uint32_t>> probes;  // (approximate centroid distance, list)
  if (layout->flat()) {
    probes.emplace_back(0.0f, 0u);
  } else {
    std::vector<Approx> approx;
    const size_t want =
        std::min<size_t>(layout->lists.size(), std::max<uint32_t>(1, params.probes));
    ScoreLists(*layout, qq, want, &approx);
    local.bytes_scanned += (approx.size() + layout->group_members.size()) * stride_;
    // The INT8 distances pick the lists (the routing error is small next to the gaps between
    // centroids); the scan's offset q.c is then exact for each list probed.
    const size_t keep = std::min(approx.size(), want);
    std::partial_sort(approx.begin(), approx.begin() + keep, approx.end());
    probes.reserve(keep);
    for (size_t i = 0; i < keep; ++i) {
      probes.emplace_back(approx[i].distance, approx[i].entry);
      // Each list's centroid and first page are read next: start fetching them all now.
      const PostingList* list = layout->lists[approx[i].entry];
      __builtin_prefetch(list->center());
      __builtin_prefetch(list->first());
    }
    if (options_.probe_slack > 0 && metric_ != Metric::kInnerProduct) {
      // Approximate squared distances: the INT8 distance lacks |q|^2.
      const float qq_norm = NormSq(kernels_, q, dim_);
      const float limit = (qq_norm + probes[0].first) * (1 + options_.probe_slack);
      while (probes.size() > 1 && qq_norm + probes.back().first > limit) probes.pop_back();
    }
  }

  const size_t rerank = std::max<uint32_t>(1, params.rerank);
  // The hi-plane pass ranks by 4-bit codes; its best `refine` candidates are refined to their
  // exact INT8 distance with the lo plane, and the best `rerank` of those re-ranked exactly.
  // Narrow vectors are cheap to scan in full: both planes at once, exact INT8 from the start.
  const bool two_pass = dim_ >= kTwoPassMinDim;
  const size_t refine = two_pass ? kRefineFactor * rerank : rerank;
  std::vector<Candidate> candidates;  // max-heap on the hi-plane distance
  candidates.reserve(refine + 1);
  // Replicas are the only way one entry appears twice in a scan.
  const bool may_repeat = !layout->flat() && options_.max_replicas > 1;
  std::optional<SeenSet> seen;
  if (may_repeat) seen.emplace();
  std::vector<int32_t> raw(page_capacity_);
  std::vector<int32_t> raw_lo(two_pass ? 0 : page_capacity_);
  std::vector<float> qc(page_capacity_);
  const float mult = -2 * qq.scale;
  // q.c = 16 q.hi + q.lo - 128 sum(q); the hi pass takes q.lo at its mean, 7.5 sum(q).
  const float hi_offset = -120.5f * static_cast<float>(qq.sum);
  const float lo_offset = -7.5f * static_cast<float>(qq.sum);
  for (const auto& [unused, list_no] : probes) {
    const PostingList* list = layout->lists[list_no];
    const float* c = list->center();
    const float base = c == nullptr ? 0.0f : -2 * kernels_.dot_f32(q, c, dim_);
    for (const Page* page = list->first(); page != nullptr; page = page->next()) {
      const uint32_t count = page->count();
      if (count == 0) continue;
      // The next page's header and first rows, while this one is scored.
      if (const Page* next = page->next()) {
        __builtin_prefetch(next);
        __builtin_prefetch(next->hi());
      }
      kernels_.dot_u4s8_batch(qq.nibble_lo.data(), qq.nibble_hi.data(), page->hi(), plane_stride_,
                              plane_stride_, count, raw.data());
      local.vectors_scanned += count;
      local.bytes_scanned += size_t{count} * (plane_stride_ + 12);
      if (!two_pass) {
        kernels_.dot_u4s8_batch(qq.nibble_lo.data(), qq.nibble_hi.data(), page->lo(), plane_stride_,
                                plane_stride_, count, raw_lo.data());
        local.bytes_scanned += size_t{count} * plane_stride_;
      }
      // q.c in code units: estimated from the hi plane, or exact with the lo plane too.
      for (uint32_t s = 0; s < count; ++s) {
        qc[s] = two_pass ? 16 * static_cast<float>(raw[s]) + hi_offset
                         : static_cast<float>(16 * raw[s] + raw_lo[s] - 128 * qq.sum);
      }
      const float* scales = page->scales();
      const float* biases = page->biases();
      for (uint32_t s = 0; s < count; ++s) {
        const float d = biases[s] + base + mult * scales[s] * qc[s];
        if (candidates.size() >= refine && d >= candidates.front().distance) continue;
        const uint32_t e = page->entries()[s];
        if (may_repeat && !seen->Insert(e)) continue;  // a replica already considered
        bool accept = params.fast_accept &&
                      page->live_from()[s].load(std::memory_order_acquire) <= params.as_of;
        if (!accept && params.filter != nullptr) {
          accept = params.filter->Accept(entries_.at(e));
        }
        if (!accept) continue;
        candidates.push_back({d, e, s, page});
        std::push_heap(candidates.begin(), candidates.end());
        if (candidates.size() > refine) {
          std::pop_heap(candidates.begin(), candidates.end());
          candidates.pop_back();
        }
      }
    }
  }

  // Refinement: the lo plane makes each candidate's distance the exact INT8 one.
  if (two_pass) {
    for (const Candidate& cand : candidates) {
      const uint8_t* row = cand.page->lo() + size_t{cand.slot} * plane_stride_;
      for (size_t off = 0; off < plane_stride_; off += 64) __builtin_prefetch(row + off);
    }
    local.bytes_scanned += candidates.size() * plane_stride_;
    for (Candidate& cand : candidates) {
      const int32_t lo =
          kernels_.dot_u4s8(qq.nibble_lo.data(), qq.nibble_hi.data(),
                            cand.page->lo() + size_t{cand.slot} * plane_stride_, plane_stride_);
      cand.distance += mult * cand.page->scales()[cand.slot] * (static_cast<float>(lo) + lo_offset);
    }
  }
  const size_t keep = std::min(rerank, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep),
                    candidates.end());
  candidates.resize(keep);

  // Exact re-rank of the best from the full-precision vectors, which are scattered over the
  // arena: start fetching all of them before the first is needed.
  for (const Candidate& cand : candidates) {
    const char* v = reinterpret_cast<const char*>(entries_.at(cand.entry).vector);
    for (int line = 0; line < 4; ++line) __builtin_prefetch(v + 64 * line);
  }
  local.bytes_scanned += keep * dim_ * sizeof(float);
  const size_t first = hits->size();
  for (const Candidate& cand : candidates) {
    const EntryInfo& info = entries_.at(cand.entry);
    float d;
    switch (metric_) {
      case Metric::kL2:
        d = kernels_.l2sq_f32(q, info.vector, dim_);
        break;
      case Metric::kInnerProduct:
        d = -kernels_.dot_f32(q, info.vector, dim_);
        break;
      case Metric::kCosine:
      default:
        d = -kernels_.dot_f32(q, info.vector, dim_) * info.inv_norm;
        break;
    }
    hits->push_back({d, cand.entry});
  }
  std::sort(hits->begin() + static_cast<std::ptrdiff_t>(first), hits->end(),
            [](const ScanHit& a, const ScanHit& b) {
              return a.distance != b.distance ? a.distance < b.distance : a.entry < b.entry;
            });
  if (stats != nullptr) *stats = local;
}

PartitionStats Partition::Stats() const {
  PartitionStats s;
  s.entries = entries_.size();
  const Layout* layout = layout_.load(std::memory_order_acquire);
  s.lists = layout->lists.size();
  s.stored_vectors = stored_vectors_.load(std::memory_order_relaxed);
  // Pages and entries as counted by the writer, plus the routing data of this layout.
  s.bytes = bytes_.load(std::memory_order_relaxed) + layout->codes.size() +
            layout->group_codes.size() +
            (layout->flat() ? 0 : layout->lists.size() * size_t{dim_} * sizeof(float));
  return s;
}

// --- Index snapshots

void Partition::Export(PartitionSnapshot* out) const {
  const Layout* layout = layout_.load(std::memory_order_acquire);
  out->metric = metric_;
  out->dim = dim_;
  out->clustered = !layout->flat();
  out->page_capacity = page_capacity_;
  out->plane_stride = plane_stride_;
  out->split_attempts = split_attempts_.load(std::memory_order_relaxed);
  out->entries.clear();
  out->lists.clear();
  out->groups.clear();
  out->grouped_lists = 0;
  // The slots first, with entry numbers; then the entries they name, renumbered densely.
  std::vector<uint32_t> numbers;
  for (size_t j = 0; j < layout->lists.size(); ++j) {
    const PostingList* list = layout->lists[j];
    SnapshotList& l = out->lists.emplace_back();
    l.centroid = list->centroid();
    l.split_at = layout->split_at[j];
    for (const Page* page = list->first(); page != nullptr; page = page->next()) {
      const uint32_t count = page->count();  // the slots below it are published
      const size_t rows = size_t{count} * plane_stride_;
      l.hi.insert(l.hi.end(), page->hi(), page->hi() + rows);
      l.lo.insert(l.lo.end(), page->lo(), page->lo() + rows);
      l.scales.insert(l.scales.end(), page->scales(), page->scales() + count);
      l.biases.insert(l.biases.end(), page->biases(), page->biases() + count);
      l.entries.insert(l.entries.end(), page->entries(), page->entries() + count);
      l.slots += count;
    }
    numbers.insert(numbers.end(), l.entries.begin(), l.entries.end());
  }
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  out->entries.reserve(numbers.size());
  for (uint32_t e : numbers) {
    const EntryInfo& info = entries_.at(e);
    out->entries.push_back({info.cube, VectorSource(), info.vector});
  }
  for (SnapshotList& l : out->lists) {
    for (uint32_t& e : l.entries) {
      e = static_cast<uint32_t>(std::lower_bound(numbers.begin(), numbers.end(), e) -
                                numbers.begin());
    }
  }
  if (!layout->group_members.empty()) {
    out->grouped_lists = static_cast<uint32_t>(layout->grouped_lists);
    for (size_t g = 0; g < layout->group_members.size(); ++g) {
      SnapshotGroup& group = out->groups.emplace_back();
      const int8_t* codes = &layout->group_codes[g * stride_];
      group.codes.assign(codes, codes + stride_);
      group.scale = layout->group_encoded[g].scale;
      group.bias = layout->group_encoded[g].bias;
      group.sum = layout->group_encoded[g].sum;
      group.members = layout->group_members[g];
    }
  }
}

std::string Partition::Unrestorable(const PartitionSnapshot& snapshot, Metric metric, uint32_t dim,
                                    const PartitionOptions& options) {
  if (snapshot.metric != metric || snapshot.dim != dim) return "metric or dimension differs";
  if (snapshot.page_capacity != PageCapacity(dim, options) ||
      snapshot.plane_stride != NibbleStride(dim)) {
    return "page shape differs";
  }
  // The decoder checks the rest (list and group structure, entry numbers, array lengths).
  return "";
}

void Partition::Restore(const PartitionSnapshot& snapshot,
                        const std::vector<const float*>& vectors) {
  constexpr uint32_t kLeftOut = std::numeric_limits<uint32_t>::max();
  std::vector<uint32_t> number(snapshot.entries.size(), kLeftOut);
  for (size_t i = 0; i < snapshot.entries.size(); ++i) {
    if (vectors[i] == nullptr) continue;
    number[i] = AddEntry(snapshot.entries[i].cube, vectors[i]);
    restored_.emplace(vectors[i], number[i]);
  }
  split_attempts_.store(snapshot.split_attempts, std::memory_order_relaxed);
  auto* next = new Layout;
  for (const SnapshotList& l : snapshot.lists) {
    if (snapshot.clustered) {
      next->codes.resize(next->codes.size() + stride_);
      next->encoded.push_back(
          EncodeCentroid(l.centroid.data(), &next->codes[next->codes.size() - stride_]));
    }
    next->split_at.push_back(l.split_at);
    next->lists.push_back(NewList(l.centroid));
  }
  stored_vectors_.store(0, std::memory_order_relaxed);
  bytes_.store(entry_bytes_, std::memory_order_relaxed);
  for (size_t j = 0; j < snapshot.lists.size(); ++j) {
    const SnapshotList& l = snapshot.lists[j];
    PostingList* list = next->lists[j];
    for (uint32_t s = 0; s < l.slots; ++s) {
      const uint32_t e = number[l.entries[s]];
      if (e == kLeftOut) continue;
      EncodedVector enc;
      enc.scale = l.scales[s];
      enc.bias = l.biases[s];
      const size_t row = size_t{s} * plane_stride_;
      const auto [page, slot] = list->Append(e, &l.hi[row], &l.lo[row], enc, kNotLive);
      if (locations_.size() <= e) locations_.resize(e + 1);
      locations_[e].push_back({list, page, slot});
      stored_vectors_.fetch_add(1, std::memory_order_relaxed);
    }
    bytes_.fetch_add(list->bytes(), std::memory_order_relaxed);
  }
  if (!snapshot.groups.empty()) {
    next->grouped_lists = snapshot.grouped_lists;
    next->group_codes.resize(snapshot.groups.size() * stride_);
    next->group_of.resize(snapshot.lists.size());
    for (size_t g = 0; g < snapshot.groups.size(); ++g) {
      const SnapshotGroup& group = snapshot.groups[g];
      std::copy(group.codes.begin(), group.codes.end(), &next->group_codes[g * stride_]);
      EncodedVector enc;
      enc.scale = group.scale;
      enc.bias = group.bias;
      enc.sum = group.sum;
      next->group_encoded.push_back(enc);
      next->group_members.push_back(group.members);
      for (uint32_t j : group.members) next->group_of[j] = static_cast<uint32_t>(g);
    }
  }
  Layout* old = layout_.load(std::memory_order_relaxed);
  Publish(next, old->lists);
}

bool Partition::Adopt(uint64_t cube, const float* vector, uint32_t* e) {
  if (restored_.empty()) return false;
  auto it = restored_.find(vector);
  if (it == restored_.end() || entries_.at(it->second).cube != cube) return false;
  *e = it->second;
  restored_.erase(it);
  return true;
}

size_t Partition::EndRestore() {
  const size_t left = restored_.size();
  std::unordered_map<const float*, uint32_t>().swap(restored_);
  return left;
}

}  // namespace loci::index
