// Search beyond the vector: trace expansion of a search's hits, and the recency and importance
// weighting of its candidates (loci/search.h documents both for users).

#ifndef LOCI_QUERY_SEARCH_EXPANSION_H_
#define LOCI_QUERY_SEARCH_EXPANSION_H_

#include <cstdint>
#include <vector>

#include "query/trace_query.h"
#include "query/version.h"

namespace loci::query {

struct DirectHit {
  uint64_t id;
  uint32_t space_id;
  float score;
};

struct ExpandSpec {
  WalkSpec walk;  // hops, types, episode order; out and in are both set by ExpandHits
  float decay = 0.5f;
  bool lower_is_better = false;  // l2 scores
  uint32_t limit = 10;           // expanded hits at most
};

struct ExpandedHit {
  const Version* version;
  float score;
  Reached reached;
};

// The neighbourhood of `hits` (SearchRequest's expansion rules), best first, at most
// spec.limit: every cube reached from a hit that is not itself a direct hit, once, with its
// best score. `scope` gives the read point; its space_id is set to each hit's in turn.
void ExpandHits(TraceScope scope, const std::vector<DirectHit>& hits, const ExpandSpec& spec,
                std::vector<ExpandedHit>* out);

struct RankWeights {
  float recency_weight = 0;
  int64_t recency_half_life = 1;
  float importance_weight = 0;
  bool from_access = false;  // age counts from the later of valid_from and the last access
  bool enabled() const { return recency_weight != 0 || importance_weight != 0; }
};

// A candidate's score re-weighted for `v` read at `read_time`, its cube last accessed at
// `last_access` (0: never; used only with w.from_access). See SearchRequest.
float WeightedScore(float score, const Version& v, int64_t last_access, int64_t read_time,
                    const RankWeights& w, bool lower_is_better);

}  // namespace loci::query

#endif  // LOCI_QUERY_SEARCH_EXPANSION_H_
