// The search path: Db::Search over Atlas. The request is validated, the query prepared once,
// each requested space's partition scanned with a filter that decides visibility and the
// request's filters inside the scan, and the partitions' re-ranked hits merged.

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

#include "engine/db_impl.h"
#include "index/vector_field.h"

namespace loci::engine {

// Visibility and the request's filters for one partition, judged from the cube's versions: the
// entry is accepted when the version a Get at the same read point would see has this very
// vector and passes the filters.
class DbImpl::SearchFilter final : public index::EntryFilter {
 public:
  SearchFilter(const DbImpl& db, const SearchRequest& request, const query::ReadPoint& point,
               Timestamp read_time, uint32_t space_id, uint32_t field_id)
      : db_(db),
        request_(request),
        point_(point),
        read_time_(read_time),
        space_id_(space_id),
        field_id_(field_id) {}

  // The version of `cube` the read sees, or nullptr if none passes.
  const Version* Visible(uint64_t cube) const {
    const Version* v = db_.table_.Head(cube);
    while (v != nullptr && !query::Candidate(v->times(), point_)) v = v->prev;
    if (v == nullptr || v->space_id != space_id_ || v->state == CubeState::kRetired ||
        query::Expired(v->times(), read_time_)) {
      return nullptr;
    }
    if (!request_.states.empty() && std::find(request_.states.begin(), request_.states.end(),
                                              v->state) == request_.states.end()) {
      return nullptr;
    }
    if (!request_.kinds.empty() &&
        std::find(request_.kinds.begin(), request_.kinds.end(), v->kind) == request_.kinds.end()) {
      return nullptr;
    }
    for (const Attr& want : request_.attrs) {
      auto it = std::lower_bound(v->attrs.begin(), v->attrs.end(), want.key,
                                 [](const Attr& a, const std::string& k) { return a.key < k; });
      if (it == v->attrs.end() || it->key != want.key || !(it->value == want.value)) {
        return nullptr;
      }
    }
    return v;
  }

  // Whether `v` holds the vector at `vector` in this field.
  bool HasVector(const Version& v, const float* vector) const {
    for (const VectorRef& r : v.vectors) {
      if (r.field_id == field_id_) {
        return db_.arena_->Locate(r.blob) == reinterpret_cast<const char*>(vector);
      }
    }
    return false;
  }

  bool Accept(const index::EntryInfo& entry) override {
    const Version* v = Visible(entry.cube);
    return v != nullptr && HasVector(*v, entry.vector);
  }

 private:
  const DbImpl& db_;
  const SearchRequest& request_;
  const query::ReadPoint point_;
  const Timestamp read_time_;
  const uint32_t space_id_;
  const uint32_t field_id_;
};

namespace {

// Candidates a search ranks by INT8 distance, at least (and at least 2k): the hits' recall
// comes from here; the exact re-rank only orders the best few of them.
constexpr uint32_t kMinSearchCandidates = 20;

Status CheckRequest(const SearchRequest& r) {
  // The messages name what is wrong, not the operation: callers add their own context (the CLI
  // prints "loci: search: ..."), so a prefix here would be said twice.
  auto invalid = [](const std::string& what) { return Status::InvalidArgument(what); };
  if (r.spaces.empty()) return invalid("no space to search");
  if (r.field.empty()) return invalid("no vector field to search");
  if (r.k == 0 || r.k > kMaxSearchK) {
    return invalid("k must be 1.." + std::to_string(kMaxSearchK) + ", not " + std::to_string(r.k));
  }
  if (r.probes > kMaxSearchProbes) {
    return invalid("probes must be at most " + std::to_string(kMaxSearchProbes));
  }
  if (r.rerank > kMaxSearchRerank) {
    return invalid("rerank must be at most " + std::to_string(kMaxSearchRerank));
  }
  for (CubeState s : r.states) {
    if (s != CubeState::kActive && s != CubeState::kArchived) {
      return invalid("states may be active and archived only (retired cubes are never returned)");
    }
  }
  return Status::OK();
}

}  // namespace

struct DbImpl::SearchTarget {
  const SpaceDef* space;
  const FieldDef* field;
  const index::Partition* partition;  // nullptr: nothing indexed in the space yet
  std::unique_ptr<SearchFilter> filter;
};

// A candidate hit: an index entry of a target's partition, or a version the index has not
// absorbed yet (scored exactly, already checked visible).
struct DbImpl::SearchCandidate {
  float distance;
  size_t target;
  uint32_t entry;                    // the index entry, when `pending` is null
  const Version* pending = nullptr;  // the queued version
};

Status DbImpl::ResolveSearchTargets(const SearchRequest& request, const query::ReadPoint& point,
                                    Timestamp read_time, const Catalog& catalog,
                                    std::vector<SearchTarget>* targets) const {
  targets->clear();
  for (const std::string& name : request.spaces) {
    const SpaceDef* space = catalog.FindSpace(name);
    if (space == nullptr) return Status::InvalidArgument("unknown space '" + name + "'");
    const FieldDef* field = space->FindField(request.field);
    if (field == nullptr) {
      return Status::InvalidArgument("space '" + name + "' has no vector field '" + request.field +
                                     "'");
    }
    const SearchTarget* first = targets->empty() ? nullptr : &targets->front();
    if (first != nullptr &&
        (field->dim != first->field->dim || field->metric != first->field->metric)) {
      return Status::InvalidArgument("vector field '" + request.field +
                                     "' differs in dimension or metric between spaces '" +
                                     first->space->name + "' and '" + name + "'");
    }
    if (std::any_of(targets->begin(), targets->end(),
                    [&](const SearchTarget& t) { return t.space == space; })) {
      continue;
    }
    targets->push_back(
        {space, field, nullptr,
         std::make_unique<SearchFilter>(*this, request, point, read_time, space->id, field->id)});
  }
  return Status::OK();
}

bool DbImpl::FindPartitions(const Catalog* catalog, std::vector<SearchTarget>* targets) const {
  for (SearchTarget& t : *targets) {
    t.partition = atlas_->Find(t.space->id, t.field->id);
    // The field may have been dropped meanwhile (its partition leaves the index after the
    // catalog without it is published): resolve again against the newer catalog rather than
    // answer from a partition that looks empty. Catalogs change rarely: retries end.
    if (t.partition == nullptr && LoadCatalog() != catalog) return false;
  }
  return true;
}

namespace {

// Whether `r` is a vector `v` took over unchanged from its previous version.
bool KeptFromPredecessor(const Version& v, const VectorRef& r) {
  if (v.prev == nullptr) return false;
  return std::any_of(v.prev->vectors.begin(), v.prev->vectors.end(), [&](const VectorRef& p) {
    return p.field_id == r.field_id && p.blob == r.blob;
  });
}

}  // namespace

uint64_t DbImpl::ScorePending(const index::PreparedQuery& query, const FieldDef& field,
                              const std::vector<SearchTarget>& targets,
                              std::vector<SearchCandidate>* found) const {
  uint64_t scored = 0;
  index_queue_.ForEachPending([&](const IndexEntry& e) {
    const Version* v = e.version;
    if (v == nullptr) return;  // a field drop
    for (size_t t = 0; t < targets.size(); ++t) {
      if (v->space_id != targets[t].space->id) continue;
      const VectorRef* r = nullptr;
      for (const VectorRef& ref : v->vectors) {
        if (ref.field_id == targets[t].field->id) r = &ref;
      }
      if (r == nullptr || targets[t].filter->Visible(v->id) != v) continue;
      if (r->blob.length != field.dim * sizeof(float)) continue;
      const char* bytes = arena_->Locate(r->blob);
      // A vector the version kept from its predecessor may be one an earlier process wrote
      // and recovery left out of the index as damaged: verified, as indexing would.
      std::string_view verified;
      if (KeptFromPredecessor(*v, *r) && !arena_->View(r->blob, &verified).ok()) continue;
      if (bytes == nullptr) continue;
      ++scored;
      found->push_back({index::ExactDistance(query, reinterpret_cast<const float*>(bytes),
                                             field.dim, field.metric),
                        t, 0, v});
    }
  });
  return scored;
}

Status DbImpl::Search(const SearchRequest& request, std::vector<SearchHit>* hits) {
  hits->clear();
  LOCI_RETURN_IF_ERROR(CheckRequest(request));

  gc::EpochDomain::Guard guard = epochs_.Pin();
  ReadOptions read;
  read.as_of = request.as_of;
  read.valid_at = request.valid_at;
  read.snapshot = request.snapshot;
  Timestamp read_time;
  const query::ReadPoint point = ReadPointFor(read, &read_time);
  const Catalog* catalog = LoadCatalog();

  // Resolve every space and its field first: a bad name fails the whole request. Then what the
  // indexer has not absorbed yet: scored exactly, so an acknowledged write is found at once.
  // Then the partitions, found only now, since the indexer may have created them meanwhile
  // (IndexQueue::ForEachPending's contract).
  std::vector<SearchTarget> targets;
  std::vector<SearchCandidate> found;
  index::PreparedQuery query;
  uint64_t pending = 0;
  for (bool resolved = false; !resolved;) {
    LOCI_RETURN_IF_ERROR(ResolveSearchTargets(request, point, read_time, *catalog, &targets));
    const FieldDef& field = *targets[0].field;
    LOCI_RETURN_IF_ERROR(
        index::ValidateVector(request.field, request.query, field.dim, field.metric)
            .WithContext("query"));
    query.Prepare(request.query.data(), field.dim, field.metric);
    found.clear();
    pending = ScorePending(query, field, targets, &found);
    resolved = FindPartitions(catalog, &targets);
    if (!resolved) catalog = LoadCatalog();
  }
  const FieldDef& field = *targets[0].field;
  index::ScanParams params = ScanParamsFor(request, point);
  // The index lags the queue: an entry's live_from may not yet say that a newer version
  // superseded it, so nothing is accepted without the filter.
  if (pending > 0) params.fast_accept = false;
  uint64_t vectors_scanned = pending;
  uint64_t bytes_scanned = pending * field.dim * sizeof(float);
  std::vector<index::ScanHit> scan;
  for (size_t t = 0; t < targets.size(); ++t) {
    if (targets[t].partition == nullptr) continue;
    params.filter = targets[t].filter.get();
    scan.clear();
    index::ScanStats scanned;
    targets[t].partition->Search(query, params, &scan, &scanned);
    vectors_scanned += scanned.vectors_scanned;
    bytes_scanned += scanned.bytes_scanned;
    for (const index::ScanHit& h : scan) found.push_back({h.distance, t, h.entry});
  }
  searches_.fetch_add(1, std::memory_order_relaxed);
  search_vectors_scanned_.fetch_add(vectors_scanned, std::memory_order_relaxed);
  search_bytes_scanned_.fetch_add(bytes_scanned, std::memory_order_relaxed);
  std::sort(found.begin(), found.end(), [](const SearchCandidate& a, const SearchCandidate& b) {
    if (a.distance != b.distance) return a.distance < b.distance;
    if (a.target != b.target) return a.target < b.target;
    if ((a.pending == nullptr) != (b.pending == nullptr)) return a.pending == nullptr;
    return a.pending == nullptr ? a.entry < b.entry : a.pending->id < b.pending->id;
  });
  return EmitHits(request, point, *catalog, field, targets, found, hits);
}

index::ScanParams DbImpl::ScanParamsFor(const SearchRequest& request,
                                        const query::ReadPoint& point) const {
  const VectorIndexOptions& defaults = options_.vector_index;
  index::ScanParams params;
  params.probes = request.probes != 0 ? request.probes : defaults.probes;
  params.rerank = request.rerank != 0 ? std::max(request.k, request.rerank)
                                      : std::max(request.k + (request.k + 4) / 5, defaults.rerank);
  params.candidates = std::max({2 * request.k, kMinSearchCandidates, params.rerank});
  params.as_of = point.as_of;
  const bool all_states =
      request.states.empty() || (std::find(request.states.begin(), request.states.end(),
                                           CubeState::kActive) != request.states.end() &&
                                 std::find(request.states.begin(), request.states.end(),
                                           CubeState::kArchived) != request.states.end());
  params.fast_accept =
      request.kinds.empty() && request.attrs.empty() && all_states && point.valid_at >= point.as_of;
  return params;
}

Status DbImpl::EmitHits(const SearchRequest& request, const query::ReadPoint& point,
                        const Catalog& catalog, const FieldDef& field,
                        const std::vector<SearchTarget>& targets,
                        const std::vector<SearchCandidate>& found,
                        std::vector<SearchHit>* hits) const {
  // The record table is cold to the scan: the hits' head versions, and their vector lists that
  // HasVector reads, are fetched all at once (independent loads the processor overlaps) before
  // the hits are checked one by one.
  // (Measured: 4% of a query's time on Fashion-MNIST at recall 0.95.)
  {
    std::array<const Version*, 32> heads;
    const size_t checked = std::min(found.size(), heads.size());
    for (size_t i = 0; i < checked; ++i) {
      const SearchTarget& target = targets[found[i].target];
      heads[i] = found[i].pending != nullptr
                     ? found[i].pending
                     : table_.Head(target.partition->entries().at(found[i].entry).cube);
    }
    for (size_t i = 0; i < checked; ++i) {
      if (heads[i] != nullptr) __builtin_prefetch(heads[i]->vectors.data());
    }
  }

  ReadOptions fill;
  fill.fill_payload = request.fill_payload;
  fill.fill_vectors = request.fill_vectors;
  // A vector indexed while this search ran may be met twice (in the queue and in the index):
  // one hit per cube.
  std::vector<CubeId> returned;
  for (const SearchCandidate& f : found) {
    if (hits->size() == request.k) break;
    const SearchTarget& target = targets[f.target];
    const Version* v = f.pending;
    if (v == nullptr) {
      const index::EntryInfo& entry = target.partition->entries().at(f.entry);
      v = target.filter->Visible(entry.cube);
      // Accepted in the scan, so visible; checked again because a fast-accepted entry's
      // version is only found here.
      if (v == nullptr || !target.filter->HasVector(*v, entry.vector)) continue;
    }
    if (std::find(returned.begin(), returned.end(), v->id) != returned.end()) continue;
    returned.push_back(v->id);
    SearchHit& hit = hits->emplace_back();
    hit.id = v->id;
    hit.version = v->number;
    hit.space = target.space->name;
    hit.score = field.metric == Metric::kL2 ? f.distance : -f.distance;
    if (request.fill_cubes) {
      Status s = FillCube(*v, TxTo(*v, table_.Head(v->id), point.as_of), catalog, fill, &hit.cube);
      if (!s.ok()) {
        hits->clear();
        return s;
      }
    }
  }
  return Status::OK();
}

}  // namespace loci::engine
