// Search request checks, filters and effort.

#include "query/search_plan.h"

#include <algorithm>
#include <string>

#include "loci/trace.h"

namespace loci::query {

// Candidates a search ranks by INT8 distance, at least (and at least 2k): the hits' recall
// comes from here; the exact re-rank only orders the best few of them.
constexpr uint32_t kMinSearchCandidates = 20;

namespace {

Status CheckExpansionAndWeights(const SearchRequest& r) {
  auto invalid = [](const std::string& what) { return Status::InvalidArgument(what); };
  if (r.expand_hops > kMaxTraceHops) {
    return invalid("expand_hops must be at most " + std::to_string(kMaxTraceHops));
  }
  if (!(r.expand_decay > 0 && r.expand_decay <= 1))
    return invalid("expand_decay must be in (0, 1]");
  if (r.expand_limit > kMaxSearchK) {
    return invalid("expand_limit must be at most " + std::to_string(kMaxSearchK));
  }
  if (r.expand_episode_only && !r.expand_episode) {
    return invalid("expand_episode_only needs expand_episode");
  }
  for (EdgeType t : r.expand_types) {
    if (!IsValidEdgeType(t)) {
      return invalid("unknown edge type " + std::to_string(static_cast<uint32_t>(t)));
    }
  }
  if (!(r.recency_weight >= 0 && r.recency_weight <= 1)) {
    return invalid("recency_weight must be in [0, 1]");
  }
  if (!(r.importance_weight >= 0 && r.importance_weight <= 100)) {
    return invalid("importance_weight must be in [0, 100]");
  }
  if (r.recency_half_life <= 0) return invalid("recency_half_life must be positive");
  return Status::OK();
}

}  // namespace

Status CheckSearchRequest(const SearchRequest& r) {
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
  if (r.window_from || r.window_to) {
    if (r.valid_at) return invalid("a valid-time window replaces valid_at: set one of them");
    if (r.window_from.value_or(kBeginningOfTime) >= r.window_to.value_or(kForever)) {
      return invalid("empty valid-time window (from is not before to)");
    }
  }
  return CheckExpansionAndWeights(r);
}

bool PassesFilters(const SearchRequest& request, const Version& v) {
  if (!request.states.empty() &&
      std::find(request.states.begin(), request.states.end(), v.state) == request.states.end()) {
    return false;
  }
  if (!request.kinds.empty() &&
      std::find(request.kinds.begin(), request.kinds.end(), v.kind) == request.kinds.end()) {
    return false;
  }
  for (const Attr& want : request.attrs) {
    auto it = std::lower_bound(v.attrs.begin(), v.attrs.end(), want.key,
                               [](const Attr& a, const std::string& k) { return a.key < k; });
    if (it == v.attrs.end() || it->key != want.key || !(it->value == want.value)) return false;
  }
  return true;
}

index::ScanParams ScanParamsFor(const SearchRequest& request, const ReadPoint& point,
                                const VectorIndexOptions& defaults) {
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
  // A window selects versions by their intervals, and weighting reads every candidate's
  // version: both need the filter.
  const bool windowed = request.window_from || request.window_to;
  params.fast_accept = request.kinds.empty() && request.attrs.empty() && all_states &&
                       point.valid_at >= point.as_of && !windowed && request.recency_weight == 0 &&
                       request.importance_weight == 0;
  return params;
}

}  // namespace loci::query
