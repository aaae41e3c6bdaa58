// Partition: flat and clustered posting lists, routing, the filtered INT8 scan and the exact
// re-rank.

#include "index/partition.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#include "index/best_k.h"
#include "index/kmeans.h"
#include "index/projection.h"

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
  float offset;  // bias + base: the distance is offset + mult * scale * q.c (see Search)
  uint32_t entry;
  uint32_t slot;
  const Page* page;
};

// The buffers of a search, kept per thread and reused from query to query (see Search). A
// search that needed more than kKeptCandidates candidates (a very large rerank) releases them
// when it ends, so that a thread holds at most a few hundred KB between searches.
struct Partition::SearchScratch {
  static constexpr size_t kKeptCandidates = size_t{1} << 14;
  // Set while a search of this thread is running: a filter must not search (see EntryFilter).
  bool busy = false;
  void ReleaseIfLarge() {
    if (candidates.capacity() > kKeptCandidates) {
      std::vector<Candidate>().swap(candidates);
      std::vector<int32_t>().swap(keys);
    }
  }
  std::vector<std::pair<float, uint32_t>> probes;
  std::vector<Approx> approx;
  std::vector<Candidate> candidates;
  std::vector<int32_t> keys;
  std::vector<int32_t> raw;
  std::vector<int32_t> raw_lo;
  std::vector<float> qc;
  std::vector<uint32_t> below;
  std::vector<float> projected;
  QuantizedQuery prefix_query;
};

struct Partition::Layout {
  PageShape shape;  // of the pages of lists created in this layout
  // The prefix directions (clustered partitions of wide vectors whose residuals have them);
  // shared with newer layouts, which keep the same ones.
  std::shared_ptr<const Projection> projection;
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
  // The hi planes (quantizer.h) of the lists' codes, group after group, which routing ranks the
  // members of the nearest groups by: rows member_begin[g] .. member_begin[g + 1] - 1 are group
  // g's, so a group's rows are read as one stream. member_list[row] is the row's list.
  AlignedVector<uint8_t> member_hi;
  std::vector<uint32_t> member_begin;
  std::vector<uint32_t> member_list;

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
    // The SIMD kernel's partial sums: a double accumulated one component at a time was a
    // dependency chain of ~4 cycles a component (in-process A/B: 0.7% of a 784-d query). Float
    // squares overflow from ~1e19 and vanish below ~1e-23: such queries take the double loop.
    double norm = NormSq(BestKernels(), q, dim);
    if (!(norm > 0 && std::isfinite(norm))) {
      norm = 0;
      for (uint32_t i = 0; i < dim; ++i) norm += double{q[i]} * q[i];
    }
    const float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
    for (float& v : vector) v *= inv;
  }
  quantized.Quantize(vector.data(), dim, CodeStride(dim));
  quantized.SplitForNibbles();
}

float ExactDistance(const PreparedQuery& query, const float* vector, uint32_t dim, Metric metric) {
  const Kernels& k = BestKernels();
  const float* q = query.vector.data();
  float d;
  switch (metric) {
    case Metric::kL2:
      d = k.l2sq_f32(q, vector, dim);
      break;
    case Metric::kInnerProduct:
      d = -k.dot_f32(q, vector, dim);
      break;
    case Metric::kCosine:
    default: {
      // As AddEntry and the re-rank compute it.
      const float norm = std::sqrt(NormSq(k, vector, dim));
      const float inv_norm = norm > 0 ? 1.0f / norm : 0.0f;
      d = -k.dot_f32(q, vector, dim) * inv_norm;
      break;
    }
  }
  return std::isnan(d) ? std::numeric_limits<float>::infinity() : d;
}

Partition::Partition(Metric metric, uint32_t dim, const PartitionOptions& options,
                     gc::EpochDomain* epochs)
    : metric_(metric),
      dim_(dim),
      stride_(static_cast<uint32_t>(CodeStride(dim))),
      plane_stride_(static_cast<uint32_t>(NibbleStride(dim))),
      options_(options),
      kernels_(BestKernels()),
      epochs_(epochs) {
  auto* flat = new Layout;
  flat->shape = ShapeFor(dim_, options_, 0);
  flat->lists.push_back(NewList(flat->shape, {}));
  flat->split_at.push_back(std::numeric_limits<uint32_t>::max());
  layout_.store(flat, std::memory_order_release);
}

Partition::~Partition() {
  Layout* layout = layout_.load(std::memory_order_acquire);
  for (PostingList* list : layout->lists) delete list;
  delete layout;
}

void Partition::Prepared(uint32_t e, float* out) const {
  const EntryInfo& info = entries_.at(e);
  if (metric_ == Metric::kCosine) {
    const float* vector = info.vector;
    for (uint32_t i = 0; i < dim_; ++i) out[i] = vector[i] * info.inv_norm;
  } else {
    std::memcpy(out, info.vector, dim_ * sizeof(float));
  }
}

void Partition::Relocate(const std::function<const float*(const float*)>& moved) {
  const uint64_t n = entries_.size();
  for (uint64_t e = 0; e < n; ++e) {
    EntryInfo& info = entries_.at(static_cast<uint32_t>(e));
    const float* from = info.vector;
    const float* to = moved(from);
    if (to == from) continue;
    if (to == nullptr) {
      if (!zeros_) zeros_.reset(new float[dim_]());
      to = zeros_.get();
    }
    info.vector = to;
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

PageShape Partition::ShapeFor(uint32_t dim, const PartitionOptions& options,
                              uint32_t prefix_stride) {
  const uint32_t plane_stride = static_cast<uint32_t>(NibbleStride(dim));
  const uint32_t slot_bytes = 2 * plane_stride + kSlotOverhead +
                              (prefix_stride != 0 ? prefix_stride + kPrefixSlotOverhead : 0);
  return {std::max<uint32_t>(8, options.page_bytes / slot_bytes), plane_stride, prefix_stride};
}

PostingList* Partition::NewList(const PageShape& shape, std::vector<float> centroid) const {
  std::shared_ptr<PageArena> arena = centroid.empty() ? nullptr : arena_;  // flat: no arena
  return new PostingList(shape, std::move(centroid), std::move(arena));
}

EncodedVector Partition::EncodeCentroid(const float* c, int8_t* codes) const {
  EncodedVector enc = EncodeResidual(c, nullptr, dim_, stride_, codes);
  enc.bias = metric_ == Metric::kInnerProduct ? 0 : NormSq(kernels_, c, dim_);
  return enc;
}

void Partition::SetListCode(Layout* layout, size_t list, const float* c) const {
  layout->encoded[list] = EncodeCentroid(c, &layout->codes[list * stride_]);
}

void Partition::ArrangeMembers(Layout* layout) const {
  layout->member_hi.clear();
  layout->member_begin.clear();
  layout->member_list.clear();
  if (layout->group_members.empty()) return;
  layout->member_hi.resize(layout->lists.size() * plane_stride_);
  AlignedVector<uint8_t> lo(plane_stride_);
  for (const std::vector<uint32_t>& members : layout->group_members) {
    layout->member_begin.push_back(static_cast<uint32_t>(layout->member_list.size()));
    for (uint32_t j : members) {
      SplitNibbles(&layout->codes[j * stride_], stride_,
                   &layout->member_hi[layout->member_list.size() * plane_stride_], lo.data());
      layout->member_list.push_back(j);
    }
  }
  layout->member_begin.push_back(static_cast<uint32_t>(layout->member_list.size()));
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
  const uint32_t prefix_stride = l->shape().prefix_stride;
  std::vector<uint8_t> prefix(prefix_stride);
  float prefix_scale = 0;
  if (prefix_stride != 0) {
    // The residual's coordinates on the principal directions (from its INT8 code, as close
    // as the 4-bit prefix needs), as a 4-bit code.
    AlignedVector<uint8_t> unsigned_codes(stride_);
    for (uint32_t i = 0; i < stride_; ++i) {
      unsigned_codes[i] = static_cast<uint8_t>(codes[i] ^ 0x80);
    }
    std::vector<float> projected(layout.projection->width());
    layout.projection->ApplyQuantized(kernels_, unsigned_codes.data(), enc.scale, projected.data());
    prefix_scale = EncodePrefix(projected.data(), projected.size(), prefix.data());
  }
  const size_t before = l->bytes();
  const auto [page, slot] =
      l->Append(e, planes.data(), planes.data() + plane_stride_, enc, prefix.data(), prefix_scale,
                entries_.at(e).live_from.load(std::memory_order_relaxed));
  if (locations_.size() <= e) locations_.resize(e + 1);
  locations_[e].push_back({l, page, slot});
  stored_vectors_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add(l->bytes() - before, std::memory_order_relaxed);
}

// Approximate distance from q to the centroid of every list worth considering for the `want`
// nearest: all of them, or with groups, the best 2 want + 16 of the members of the nearest
// groups (enough of them to leave a margin for the groups' coarseness).
size_t Partition::ScoreLists(const Layout& layout, const QuantizedQuery& q, size_t want,
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
    return n * stride_;
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
  // The members of the nearest groups, ranked by their hi planes (4-bit codes: half the bytes
  // of INT8, so twice as many lists can be considered for the same reads; the groups are
  // coarse and the nearest lists are often in the fifth or sixth group), then the best few
  // ranked again in INT8.
  const size_t need = kRouteFactor * want + kRouteExtra;
  // q.c = 16 q.hi + q.lo - 128 sum(q), taking q.lo at its mean, 7.5 sum(q).
  const float hi_offset = -120.5f * static_cast<float>(q.sum);
  std::vector<int32_t> hi;
  for (size_t i = 0; i < groups && (out->size() < need || i < 2); ++i) {
    const uint32_t g = order[i].entry;
    const uint32_t begin = layout.member_begin[g];
    const uint32_t rows = layout.member_begin[g + 1] - begin;
    hi.resize(rows);
    kernels_.dot_u4s8_batch(q.nibble_lo.data(), q.nibble_hi.data(),
                            layout.member_hi.data() + size_t{begin} * plane_stride_, plane_stride_,
                            plane_stride_, rows, hi.data());
    for (uint32_t r = 0; r < rows; ++r) {
      const uint32_t j = layout.member_list[begin + r];
      const EncodedVector& c = layout.encoded[j];
      out->push_back(
          {c.bias - 2 * q.scale * c.scale * (16 * static_cast<float>(hi[r]) + hi_offset), j});
    }
  }
  const size_t considered = out->size();
  const size_t keep = std::min(considered, 2 * want + 16);
  std::nth_element(out->begin(), out->begin() + static_cast<std::ptrdiff_t>(keep), out->end());
  out->resize(keep);  // unordered: the callers sort what they take
  for (Approx& a : *out) {
    const int32_t dot =
        kernels_.dot_u8s8(q.codes.data(), &layout.codes[a.entry * stride_], stride_);
    a.distance = ApproxDistance(layout.encoded[a.entry], q, dot);
  }
  return (groups + keep) * stride_ + considered * plane_stride_;
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

size_t Partition::RankLists(const Layout& layout, const float* x, size_t n,
                            std::vector<Approx>* approx) const {
  QuantizedQuery qx;
  qx.Quantize(x, dim_, stride_);
  qx.SplitForNibbles();
  ScoreLists(layout, qx, n, approx);
  const size_t keep = std::min(approx->size(), n);
  std::partial_sort(approx->begin(), approx->begin() + static_cast<std::ptrdiff_t>(keep),
                    approx->end());
  return keep;
}

void Partition::Route(const Layout& layout, const float* x, std::vector<uint32_t>* lists) const {
  lists->clear();
  // INT8 distances to the candidate centroids, then exact ones for the few nearest.
  std::vector<Approx> approx;
  const size_t keep = RankLists(layout, x, 8, &approx);
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
  if (arena_ == nullptr) arena_ = std::make_shared<PageArena>();
  auto* next = new Layout;
  if (dim_ >= kTwoPassMinDim) {
    // The residuals' principal directions, if they have a few that hold most of the variance:
    // the scan then ranks by them.
    std::vector<float> residuals(points);
    for (size_t e = 0; e < n; ++e) {
      const float* c = &km.centroids[size_t{km.assignment[e]} * dim_];
      for (uint32_t i = 0; i < dim_; ++i) residuals[e * dim_ + i] -= c[i];
    }
    ProjectionOptions po;
    po.seed ^= options_.seed;
    next->projection = Projection::Learn(residuals.data(), n, dim_, po);
  }
  next->shape =
      ShapeFor(dim_, options_, next->projection != nullptr ? next->projection->width() / 2 : 0);
  const size_t lists = km.centroids.size() / dim_;
  next->codes.resize(lists * stride_);
  next->encoded.resize(lists);
  for (size_t j = 0; j < lists; ++j) {
    std::vector<float> c(km.centroids.begin() + j * dim_, km.centroids.begin() + (j + 1) * dim_);
    SetListCode(next, j, c.data());
    next->lists.push_back(NewList(next->shape, std::move(c)));
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
  ArrangeMembers(next);
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
    SetListCode(next, j, c.data());
    next->lists[j] = NewList(next->shape, std::move(c));
  }
  const uint64_t victim_bytes = victim->bytes();
  for (uint32_t e : members) {
    std::erase_if(locations_[e], [victim](const Location& at) { return at.list == victim; });
  }
  // The lists around the victim: its members may be nearer to one of them than to either half,
  // and theirs nearer to a half than to their own centroid (without this reassignment, lists
  // born of splits drift from the partition a k-means over all vectors would give, and a search
  // must probe more of them for the same recall). Single-copy partitions only: a replica's
  // other copies would have to move along.
  const std::vector<uint32_t> around =
      options_.max_replicas == 1
          ? NearestLists(*layout, victim->center(), options_.reassign_lists, list)
          : std::vector<uint32_t>{};
  // Each member goes to the nearer half, and to the other half too when that is almost as
  // near; or, if nearer still, to the nearest list around (through Reassign: those lists are
  // published, and a reader still scanning the victim must not meet its members twice).
  std::vector<std::vector<Incoming>> incoming(around.size());
  for (size_t i = 0; i < members.size(); ++i) {
    const float* x = &points[i * dim_];
    float d[2];
    for (int half = 0; half < 2; ++half) {
      const float* c = next->lists[slots[half]]->center();
      d[half] = CentroidDistance(x, c);
    }
    const int near = d[0] <= d[1] ? 0 : 1;
    size_t nearest_around = around.size();
    float nearest_d = d[near];
    for (size_t a = 0; a < around.size(); ++a) {
      const float da = CentroidDistance(x, next->lists[around[a]]->center());
      if (da < nearest_d) {
        nearest_around = a;
        nearest_d = da;
      }
    }
    if (nearest_around < around.size()) {
      incoming[nearest_around].push_back({members[i], x});
      continue;
    }
    AppendTo(*next, slots[near], members[i], x);
    if (metric_ != Metric::kInnerProduct && options_.max_replicas > 1 &&
        d[1 - near] <= d[near] * (1 + options_.replica_slack)) {
      AppendTo(*next, slots[1 - near], members[i], x);
    }
  }
  stored_vectors_.fetch_sub(victim->size(), std::memory_order_relaxed);
  bytes_.fetch_sub(victim_bytes, std::memory_order_relaxed);
  std::vector<PostingList*> retired = {layout->lists[list]};
  for (size_t a = 0; a < around.size(); ++a) {
    if (PostingList* rewritten = Reassign(next, around[a], slots, incoming[a])) {
      retired.push_back(rewritten);
    }
  }
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
  ArrangeMembers(next);  // the halves' codes, and the new list's row
  Publish(next, std::move(retired));
}

std::vector<uint32_t> Partition::NearestLists(const Layout& layout, const float* c, size_t n,
                                              uint32_t except) const {
  if (n == 0) return {};
  std::vector<Approx> approx;
  const size_t keep = RankLists(layout, c, n + 1, &approx);
  std::vector<uint32_t> out;
  for (size_t i = 0; i < keep && out.size() < n; ++i) {
    if (approx[i].entry != except) out.push_back(approx[i].entry);
  }
  return out;
}

PostingList* Partition::Reassign(Layout* next, uint32_t list, const uint32_t halves[2],
                                 const std::vector<Incoming>& incoming) {
  PostingList* old = next->lists[list];
  const float* own = old->center();
  struct Move {
    uint32_t entry;
    uint32_t half;
  };
  std::vector<Move> moves;
  std::vector<float> moved_points;  // the movers' prepared vectors, in order
  std::vector<std::pair<const Page*, uint32_t>> stays;
  std::vector<float> x(dim_);
  for (const Page* p = old->first(); p != nullptr; p = p->next()) {
    for (uint32_t s = 0; s < p->count(); ++s) {
      const uint32_t e = p->entries()[s];
      Prepared(e, x.data());
      const float d_own = CentroidDistance(x.data(), own);
      const float d0 = CentroidDistance(x.data(), next->lists[halves[0]]->center());
      const float d1 = CentroidDistance(x.data(), next->lists[halves[1]]->center());
      if (std::min(d0, d1) < d_own) {
        moves.push_back({e, d0 <= d1 ? halves[0] : halves[1]});
        moved_points.insert(moved_points.end(), x.begin(), x.end());
      } else {
        stays.emplace_back(p, s);
      }
    }
  }
  if (moves.empty() && incoming.empty()) return nullptr;
  // The list without the movers and with the incoming: a new one (readers may be scanning the
  // old one), its slots copied as they are (same centroid, so the same codes).
  PostingList* fresh = NewList(old->shape(), old->centroid());
  for (const auto& [p, s] : stays) {
    const uint32_t e = p->entries()[s];
    const auto [page, slot] = fresh->AppendCopy(*p, s);
    for (Location& at : locations_[e]) {
      if (at.list == old && at.page == p && at.slot == s) at = {fresh, page, slot};
    }
  }
  bytes_.fetch_add(fresh->bytes(), std::memory_order_relaxed);
  bytes_.fetch_sub(old->bytes(), std::memory_order_relaxed);
  next->lists[list] = fresh;
  for (const Incoming& in : incoming) AppendTo(*next, list, in.entry, in.x);
  for (size_t i = 0; i < moves.size(); ++i) {
    const Move& m = moves[i];
    std::erase_if(locations_[m.entry], [old](const Location& at) { return at.list == old; });
    stored_vectors_.fetch_sub(1, std::memory_order_relaxed);
    AppendTo(*next, m.half, m.entry, &moved_points[i * dim_]);
  }
  return old;
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
  // The buffers, reused by this thread's every search: a search's dozen vectors were as many
  // allocations, whose free-list reads missed the cache (in-process A/B: 2% of a query).
  static thread_local SearchScratch scratch;
  assert(!scratch.busy);
  scratch.busy = true;
  auto& probes = scratch.probes;  // (approximate centroid distance, list)
  probes.clear();
  if (layout->flat()) {
    probes.emplace_back(0.0f, 0u);
  } else {
    std::vector<Approx>& approx = scratch.approx;
    const size_t want =
        std::min<size_t>(layout->lists.size(), std::max<uint32_t>(1, params.probes));
    local.bytes_scanned += ScoreLists(*layout, qq, want, &approx);
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
  // Three ways to rank a page's rows before the exact re-rank of the best `rerank`:
  // - kPrefix: by the 4-bit prefix plane (clustered partitions with a projection); the best
  //   `refine` are ranked again by the hi plane, and the best of those refined with the lo
  //   plane (see the refinement below);
  // - kHi: by the hi plane, a 4-bit code (wide vectors); the best `refine` are refined to the
  //   exact INT8 distance with the lo plane;
  // - kBoth: both planes at once, exact INT8 from the start (narrow vectors are cheap to scan
  //   in full).
  enum class Pass { kPrefix, kHi, kBoth };
  const Projection* projection = layout->projection.get();
  const Pass pass = projection != nullptr    ? Pass::kPrefix
                    : dim_ >= kTwoPassMinDim ? Pass::kHi
                                             : Pass::kBoth;
  const size_t ranked = std::max<size_t>(rerank, params.candidates);
  const size_t refine = pass == Pass::kPrefix ? kPrefixRefineFactor * ranked
                        : pass == Pass::kHi   ? kRefineFactor * ranked
                                              : ranked;
  // The first pass's best `refine`, kept as a buffer of up to 2 refine - 1 that is trimmed to
  // the best `refine` and up to refine / kTrimSlackDivisor more when full (cheaper than a heap:
  // most pushes are then an append), and the distance a slot must beat to enter it (the worst kept
  // at the last trim). `keys` holds the candidates' distances as best_k.h selects by.
  std::vector<Candidate>& candidates = scratch.candidates;
  std::vector<int32_t>& keys = scratch.keys;
  candidates.clear();
  keys.clear();
  candidates.reserve(2 * refine);
  keys.reserve(2 * refine);
  float threshold = std::numeric_limits<float>::infinity();
  size_t trim_at = refine;
  const size_t trim_slack = refine / kTrimSlackDivisor;
  // Replicas are the only way one entry appears twice in a scan.
  const bool may_repeat = !layout->flat() && options_.max_replicas > 1;
  std::optional<SeenSet> seen;
  if (may_repeat) seen.emplace();
  // Per-slot scratch, sized for the largest page met so far.
  std::vector<int32_t>& raw = scratch.raw;
  std::vector<int32_t>& raw_lo = scratch.raw_lo;
  std::vector<float>& qc = scratch.qc;
  std::vector<uint32_t>& below = scratch.below;
  const float mult = -2 * qq.scale;
  // q.c = 16 q.hi + q.lo - 128 sum(q); the hi pass takes q.lo at its mean, 7.5 sum(q).
  const float hi_offset = -120.5f * static_cast<float>(qq.sum);
  const float lo_offset = -7.5f * static_cast<float>(qq.sum);
  // The prefix pass: q.r ~ (W q).(W r), with W r stored as prefix codes v + 8 (v in [-7, 7]).
  QuantizedQuery& pq = scratch.prefix_query;
  float prefix_mult = 0;
  float prefix_offset = 0;
  if (pass == Pass::kPrefix) {
    std::vector<float>& projected = scratch.projected;
    projected.resize(projection->width());
    projection->ApplyQuantized(kernels_, qq.codes.data(), qq.scale, projected.data());
    pq.Quantize(projected.data(), projected.size(), projected.size());
    pq.SplitForNibbles();
    prefix_mult = -2 * pq.scale;
    prefix_offset = -8.0f * static_cast<float>(pq.sum);
    local.bytes_scanned += projection->quantized_bytes();
  }
  for (const auto& [unused, list_no] : probes) {
    const PostingList* list = layout->lists[list_no];
    const PageShape& shape = list->shape();
    if (qc.size() < shape.capacity || (pass == Pass::kBoth && raw_lo.size() < shape.capacity)) {
      raw.resize(shape.capacity);
      raw_lo.resize(pass == Pass::kBoth ? shape.capacity : 0);
      qc.resize(shape.capacity);
      below.resize(shape.capacity);
    }
    // What the scan reads of a page: its header and scanned plane, then its columns.
    const size_t plane_end = Page::ScanPlaneEnd(shape, pass == Pass::kBoth);
    const size_t columns_offset = Page::ColumnsOffset(shape);
    const size_t columns_end = columns_offset + Page::ColumnsBytes(shape);
    auto prefetch_scanned = [&](const Page* p) {
      const char* bytes = reinterpret_cast<const char*>(p);
      for (size_t off = 0; off < plane_end; off += 64) __builtin_prefetch(bytes + off);
      for (size_t off = columns_offset; off < columns_end; off += 64) {
        __builtin_prefetch(bytes + off);
      }
    };
    const float* c = list->center();
    const float base = c == nullptr ? 0.0f : -2 * kernels_.dot_f32(q, c, dim_);
    if (const Page* first = list->first()) {
      prefetch_scanned(first);
      if (const Page* second = first->next()) prefetch_scanned(second);
    }
    for (const Page* page = list->first(); page != nullptr; page = page->next()) {
      const uint32_t count = page->count();
      if (count == 0) continue;
      // Everything the scan reads of the page after next (this page's and the next one's were
      // fetched one and two pages ago): scoring a page takes less time than fetching one, and
      // the hardware prefetcher does not follow the jump from one page to the next.
      if (const Page* after = page->after_next()) prefetch_scanned(after);
      local.vectors_scanned += count;
      const float* scales = page->scales();
      if (pass == Pass::kPrefix) {
        kernels_.dot_u4s8_batch(pq.nibble_lo.data(), pq.nibble_hi.data(), page->prefix(),
                                shape.prefix_stride, shape.prefix_stride, count, raw.data());
        local.bytes_scanned += size_t{count} * (shape.prefix_stride + 16);
        // In prefix code units, with prefix_mult in place of mult.
        for (uint32_t s = 0; s < count; ++s) {
          qc[s] = page->prefix_scales()[s] * (static_cast<float>(raw[s]) + prefix_offset);
        }
      } else {
        kernels_.dot_u4s8_batch(qq.nibble_lo.data(), qq.nibble_hi.data(), page->hi(), plane_stride_,
                                plane_stride_, count, raw.data());
        local.bytes_scanned += size_t{count} * (plane_stride_ + 12);
        if (pass == Pass::kBoth) {
          kernels_.dot_u4s8_batch(qq.nibble_lo.data(), qq.nibble_hi.data(), page->lo(),
                                  plane_stride_, plane_stride_, count, raw_lo.data());
          local.bytes_scanned += size_t{count} * plane_stride_;
        }
        // q.c in code units: estimated from the hi plane, or exact with the lo plane too.
        for (uint32_t s = 0; s < count; ++s) {
          qc[s] = scales[s] * (pass == Pass::kHi
                                   ? 16 * static_cast<float>(raw[s]) + hi_offset
                                   : static_cast<float>(16 * raw[s] + raw_lo[s] - 128 * qq.sum));
        }
      }
      // The slots the first pass ranks under the threshold, listed without a branch per slot
      // (whether a slot passes is a coin toss the branch predictor loses).
      const float first_mult = pass == Pass::kPrefix ? prefix_mult : mult;
      const float* biases = page->biases();
      uint32_t passing = 0;
      for (uint32_t s = 0; s < count; ++s) {
        qc[s] = biases[s] + base + first_mult * qc[s];  // now the first pass's distance
        below[passing] = s;
        passing += qc[s] < threshold ? 1 : 0;
      }
      for (uint32_t i = 0; i < passing; ++i) {
        const uint32_t s = below[i];
        const float d = qc[s];
        if (d >= threshold) continue;  // the threshold fell since
        const uint32_t e = page->entries()[s];
        if (may_repeat && !seen->Insert(e)) continue;  // a replica already considered
        bool accept = params.fast_accept &&
                      page->live_from()[s].load(std::memory_order_acquire) <= params.as_of;
        if (!accept && params.filter != nullptr) {
          accept = params.filter->Accept(entries_.at(e));
        }
        if (!accept) continue;
        candidates.push_back({d, biases[s] + base, e, s, page});
        keys.push_back(OrderedKey(d));
        if (candidates.size() == trim_at) {
          threshold = FromOrderedKey(KeepBest(&keys, &candidates, refine, trim_slack));
          trim_at = 2 * refine;
        }
      }
    }
  }

  if (candidates.size() > refine) KeepBest(&keys, &candidates, refine, 0);

  // Refinement to the exact INT8 distance. After the prefix pass, the hi plane first ranks the
  // candidates as the hi pass would have, and only the best kRefineFactor * ranked of them
  // read their lo plane too; after the hi pass, they all do. The rows are scattered: each step
  // starts fetching all of its rows before the first is needed.
  auto prefetch_rows = [&](auto plane) {
    for (const Candidate& cand : candidates) {
      const uint8_t* row = (cand.page->*plane)() + size_t{cand.slot} * plane_stride_;
      for (size_t off = 0; off < plane_stride_; off += 64) __builtin_prefetch(row + off);
    }
    local.bytes_scanned += candidates.size() * plane_stride_;
  };
  if (pass == Pass::kPrefix) {
    prefetch_rows(&Page::hi);
    for (size_t i = 0; i < candidates.size(); ++i) {
      Candidate& cand = candidates[i];
      const float hi = static_cast<float>(
          kernels_.dot_u4s8(qq.nibble_lo.data(), qq.nibble_hi.data(),
                            cand.page->hi() + size_t{cand.slot} * plane_stride_, plane_stride_));
      cand.distance = cand.offset + mult * cand.page->scales()[cand.slot] * (16 * hi + hi_offset);
      keys[i] = OrderedKey(cand.distance);
    }
    const size_t refined = kRefineFactor * ranked;
    if (candidates.size() > refined) KeepBest(&keys, &candidates, refined, 0);
  }
  if (pass != Pass::kBoth) {
    prefetch_rows(&Page::lo);
    for (size_t i = 0; i < candidates.size(); ++i) {
      Candidate& cand = candidates[i];
      const float lo = static_cast<float>(
          kernels_.dot_u4s8(qq.nibble_lo.data(), qq.nibble_hi.data(),
                            cand.page->lo() + size_t{cand.slot} * plane_stride_, plane_stride_));
      cand.distance += mult * cand.page->scales()[cand.slot] * (lo + lo_offset);
      keys[i] = OrderedKey(cand.distance);
    }
  }
  // The best `rerank`, in no particular order (the hits are sorted after the re-rank).
  if (candidates.size() > rerank) KeepBest(&keys, &candidates, rerank, 0);
  const size_t keep = candidates.size();

  // Exact re-rank of the best from the full-precision vectors, which are scattered over the
  // arena: start fetching all of them before the first is needed.
  for (const Candidate& cand : candidates) {
    const char* v = reinterpret_cast<const char*>(entries_.at(cand.entry).vector.get());
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
    // Vectors within loci/metric.h's norm bounds never give a NaN; one stored before they were
    // enforced might, and must neither break the sort below nor rank first: it ranks last.
    if (std::isnan(d)) d = std::numeric_limits<float>::infinity();
    hits->push_back({d, cand.entry});
  }
  std::sort(hits->begin() + static_cast<std::ptrdiff_t>(first), hits->end(),
            [](const ScanHit& a, const ScanHit& b) {
              return a.distance != b.distance ? a.distance < b.distance : a.entry < b.entry;
            });
  if (stats != nullptr) *stats = local;
  scratch.ReleaseIfLarge();
  scratch.busy = false;
}

PartitionStats Partition::Stats() const {
  PartitionStats s;
  s.entries = entries_.size();
  const Layout* layout = layout_.load(std::memory_order_acquire);
  s.lists = layout->lists.size();
  if (layout->projection != nullptr) s.prefix_width = layout->projection->width();
  s.stored_vectors = stored_vectors_.load(std::memory_order_relaxed);
  // Pages and entries as counted by the writer, plus the routing data of this layout.
  s.bytes = bytes_.load(std::memory_order_relaxed) + layout->codes.size() +
            layout->member_hi.size() + layout->group_codes.size() +
            (layout->flat() ? 0 : layout->lists.size() * size_t{dim_} * sizeof(float)) +
            (layout->projection != nullptr ? layout->projection->bytes() : 0);
  return s;
}

// --- Index snapshots

void Partition::Export(PartitionSnapshot* out) const {
  const Layout* layout = layout_.load(std::memory_order_acquire);
  out->metric = metric_;
  out->dim = dim_;
  out->clustered = !layout->flat();
  out->page_capacity = layout->shape.capacity;
  out->plane_stride = plane_stride_;
  out->prefix_width = 0;
  out->prefix_energy = 0;
  out->directions.clear();
  if (layout->projection != nullptr) {
    out->prefix_width = layout->projection->width();
    out->prefix_energy = layout->projection->energy();
    out->directions = layout->projection->directions();
  }
  const uint32_t prefix_stride = layout->shape.prefix_stride;
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
      if (prefix_stride != 0) {
        l.prefix.insert(l.prefix.end(), page->prefix(),
                        page->prefix() + size_t{count} * prefix_stride);
        l.prefix_scales.insert(l.prefix_scales.end(), page->prefix_scales(),
                               page->prefix_scales() + count);
      }
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
  const PageShape shape = ShapeFor(dim, options, snapshot.prefix_width / 2);
  if (snapshot.page_capacity != shape.capacity || snapshot.plane_stride != shape.stride ||
      (snapshot.prefix_width != 0 && dim < kTwoPassMinDim)) {
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
  if (snapshot.clustered && arena_ == nullptr) arena_ = std::make_shared<PageArena>();
  auto* next = new Layout;
  if (snapshot.prefix_width != 0) {
    next->projection = Projection::FromDirections(dim_, snapshot.prefix_width, snapshot.directions,
                                                  snapshot.prefix_energy);
  }
  next->shape = ShapeFor(dim_, options_, snapshot.prefix_width / 2);
  if (snapshot.clustered) {
    next->codes.resize(snapshot.lists.size() * stride_);
    next->encoded.resize(snapshot.lists.size());
  }
  for (size_t j = 0; j < snapshot.lists.size(); ++j) {
    const SnapshotList& l = snapshot.lists[j];
    if (snapshot.clustered) SetListCode(next, j, l.centroid.data());
    next->split_at.push_back(l.split_at);
    next->lists.push_back(NewList(next->shape, l.centroid));
  }
  const uint32_t prefix_stride = next->shape.prefix_stride;
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
      const uint8_t* prefix = prefix_stride != 0 ? &l.prefix[size_t{s} * prefix_stride] : nullptr;
      const float prefix_scale = prefix_stride != 0 ? l.prefix_scales[s] : 0.0f;
      const auto [page, slot] =
          list->Append(e, &l.hi[row], &l.lo[row], enc, prefix, prefix_scale, kNotLive);
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
  ArrangeMembers(next);
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
