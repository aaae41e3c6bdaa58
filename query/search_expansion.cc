// Trace expansion and rank weighting.

#include "query/search_expansion.h"

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

namespace loci::query {

namespace {

bool Better(float a, float b, bool lower_is_better) { return lower_is_better ? a < b : a > b; }

// `score` scaled by a factor m > 0 that says how much it is worth (m < 1: less): multiplied
// when higher is better and the score positive, divided otherwise, so that m < 1 always makes
// the score worse.
float Scale(float score, double m, bool lower_is_better) {
  const bool multiply = !lower_is_better && score >= 0;
  return static_cast<float>(multiply ? score * m : score / m);
}

}  // namespace

void ExpandHits(TraceScope scope, const std::vector<DirectHit>& hits, const ExpandSpec& spec,
                std::vector<ExpandedHit>* out) {
  out->clear();
  if (spec.walk.hops == 0 || spec.limit == 0) return;
  std::unordered_set<uint64_t> direct;
  for (const DirectHit& h : hits) direct.insert(h.id);
  std::unordered_map<uint64_t, size_t> where;  // cube -> its entry in *out
  WalkSpec walk = spec.walk;
  walk.out = true;
  walk.in = true;
  // An edge of weight <= 0 is not followed at all: neither reported nor walked through (nor
  // taken as the first way to a cube another edge also reaches).
  walk.positive_weight_only = true;
  std::vector<Reached> reached;
  for (const DirectHit& hit : hits) {
    scope.space_id = hit.space_id;
    Walk(scope, hit.id, walk, &reached);
    for (const Reached& r : reached) {
      if (direct.count(r.version->id) != 0) continue;
      const float weight = r.edge != nullptr ? r.edge->weight : 1.0f;
      const float factor = weight * std::pow(spec.decay, static_cast<float>(r.hop));
      if (!(factor > 0)) continue;  // a decay^hop that underflows
      const float score = Scale(hit.score, factor, spec.lower_is_better);
      auto [it, inserted] = where.try_emplace(r.version->id, out->size());
      if (inserted) {
        out->push_back(ExpandedHit{r.version, score, r});
      } else if (Better(score, (*out)[it->second].score, spec.lower_is_better)) {
        (*out)[it->second] = ExpandedHit{r.version, score, r};
      }
    }
  }
  std::stable_sort(out->begin(), out->end(), [&](const ExpandedHit& a, const ExpandedHit& b) {
    return Better(a.score, b.score, spec.lower_is_better);
  });
  if (out->size() > spec.limit) out->resize(spec.limit);
}

float WeightedScore(float score, const Version& v, int64_t last_access, int64_t read_time,
                    const RankWeights& w, bool lower_is_better) {
  if (!w.enabled()) return score;
  const int64_t fresh_from = w.from_access ? std::max(v.valid_from, last_access) : v.valid_from;
  const double age = std::max<double>(0, static_cast<double>(read_time) - fresh_from);
  const double recency = std::exp2(-age / static_cast<double>(w.recency_half_life));
  const double m = (1.0 + w.importance_weight * std::max(0.0f, v.importance)) *
                   (1.0 - w.recency_weight + w.recency_weight * recency);
  if (!(m > 0)) return lower_is_better ? INFINITY : -INFINITY;
  return Scale(score, m, lower_is_better);
}

}  // namespace loci::query
