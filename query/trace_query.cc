// Walks over the trace graph and scans of the event index.

#include "query/trace_query.h"

#include <algorithm>
#include <unordered_set>

namespace loci::query {

namespace {

VersionTimes EdgeTimes(const index::EdgeVersion& e) {
  return {e.tx_from, e.valid_from, e.valid_to, INT64_MAX};
}

bool WantsType(const WalkSpec& spec, uint32_t type) {
  return spec.types.empty() ||
         std::find(spec.types.begin(), spec.types.end(), type) != spec.types.end();
}

// Whether `v`, the visible version of its cube, is the one the episode key (valid_from, id)
// stands for: the key may be an older version's.
bool KeyIsCurrent(const Version* v, std::string_view episode, int64_t valid_from) {
  return v != nullptr && v->episode == episode && v->valid_from == valid_from;
}

// The visible neighbours of `center` in its episode: up to `count` after it (forward) or
// before it (backward), nearest first.
void EpisodeSide(const TraceScope& scope, const Version& center, bool forward, uint32_t count,
                 std::vector<const Version*>* out) {
  if (count == 0) return;
  const index::EpisodeKey at{center.space_id, center.episode, center.valid_from, center.id};
  index::EventIndex::Episodes::Iterator it(&scope.events->episodes());
  if (forward) {
    it.Seek(at);
    if (it.Valid() && it.key().id == center.id && it.key().valid_from == center.valid_from)
      it.Next();
  } else {
    it.SeekBefore(at);
  }
  uint32_t found = 0;
  for (; it.Valid() && found < count; forward ? it.Next() : it.Prev()) {
    const index::EpisodeKey& k = it.key();
    if (k.space_id != center.space_id || k.episode != center.episode) break;
    const Version* v = VisibleIn(scope, k.id);
    if (!KeyIsCurrent(v, center.episode, k.valid_from) || v->id == center.id) continue;
    out->push_back(v);
    ++found;
  }
}

// Appends the cubes one hop from `v` that the walk has not seen.
void Expand(const TraceScope& scope, const Version& v, uint32_t hop, const WalkSpec& spec,
            std::unordered_set<uint64_t>* seen, std::vector<Reached>* out) {
  auto step = [&](const index::TraceGraph::Incidence& inc, bool outgoing) {
    if (out->size() >= spec.limit) return false;
    if (!WantsType(spec, inc.type) || seen->count(inc.other) != 0) return true;
    const index::EdgeVersion* e = VisibleEdge(inc.head, scope.point);
    if (e == nullptr || (spec.positive_weight_only && !(e->weight > 0))) return true;
    const Version* w = VisibleIn(scope, inc.other);
    if (w == nullptr) return true;
    seen->insert(inc.other);
    out->push_back(Reached{w, hop, e, outgoing ? v.id : inc.other, outgoing ? inc.other : v.id});
    return true;
  };
  // One type at a time when few are asked for: a seek each instead of a scan of every type.
  auto each = [&](index::TraceGraph::Direction dir, bool outgoing) {
    if (spec.types.empty()) {
      scope.graph->ForEachEdge(v.id, dir, 0, [&](const auto& inc) { return step(inc, outgoing); });
      return;
    }
    for (uint32_t type : spec.types) {  // sorted and unique (Walk)
      scope.graph->ForEachEdge(v.id, dir, type,
                               [&](const auto& inc) { return step(inc, outgoing); });
    }
  };
  if (spec.out) each(index::TraceGraph::kOut, true);
  if (spec.in) each(index::TraceGraph::kIn, false);
  if (!spec.episode_order || v.episode.empty()) return;
  std::vector<const Version*> near;
  if (spec.out) EpisodeSide(scope, v, /*forward=*/true, 1, &near);
  const size_t next_events = near.size();
  if (spec.in) EpisodeSide(scope, v, /*forward=*/false, 1, &near);
  for (size_t i = 0; i < near.size() && out->size() < spec.limit; ++i) {
    const Version* w = near[i];
    if (!seen->insert(w->id).second) continue;
    const bool forward = i < next_events;
    out->push_back(Reached{w, hop, nullptr, forward ? v.id : w->id, forward ? w->id : v.id});
  }
}

}  // namespace

const Version* VisibleIn(const TraceScope& scope, uint64_t id) {
  const Version* v = VisibleAt(scope.versions->Head(id), scope.point, scope.read_time);
  return v != nullptr && v->space_id == scope.space_id ? v : nullptr;
}

const index::EdgeVersion* VisibleEdge(const index::EdgeVersion* head, const ReadPoint& p) {
  const index::EdgeVersion* e = head;
  while (e != nullptr && !Candidate(EdgeTimes(*e), p)) e = e->prev;
  return e != nullptr && !e->unlinked ? e : nullptr;
}

Edge EdgeOf(const Reached& r) {
  Edge edge;
  edge.from = r.from;
  edge.to = r.to;
  if (r.edge == nullptr) {  // a step along the episode order
    edge.type = EdgeType::kNext;
    return edge;
  }
  edge.type = static_cast<EdgeType>(r.edge->key.type);
  edge.weight = r.edge->weight;
  edge.version = r.edge->number;
  edge.valid_from = r.edge->valid_from;
  edge.valid_to = r.edge->valid_to;
  edge.tx_from = r.edge->tx_from;
  return edge;
}

void Walk(const TraceScope& scope, uint64_t start, const WalkSpec& spec,
          std::vector<Reached>* out) {
  // The types in order, once: Expand seeks each in turn, for every cube it steps from.
  WalkSpec sorted = spec;
  std::sort(sorted.types.begin(), sorted.types.end());
  sorted.types.erase(std::unique(sorted.types.begin(), sorted.types.end()), sorted.types.end());
  out->clear();
  const Version* origin = VisibleIn(scope, start);
  if (origin == nullptr) return;
  std::unordered_set<uint64_t> seen{start};
  size_t frontier_begin = 0;
  std::vector<const Version*> frontier{origin};
  for (uint32_t hop = 1; hop <= sorted.hops && !frontier.empty(); ++hop) {
    frontier_begin = out->size();
    for (const Version* v : frontier) {
      if (out->size() >= sorted.limit) return;
      Expand(scope, *v, hop, sorted, &seen, out);
    }
    frontier.clear();
    for (size_t i = frontier_begin; i < out->size(); ++i) frontier.push_back((*out)[i].version);
  }
}

void EpisodeAround(const TraceScope& scope, const Version& center, uint32_t before, uint32_t after,
                   std::vector<const Version*>* out) {
  out->clear();
  EpisodeSide(scope, center, /*forward=*/false, before, out);
  std::reverse(out->begin(), out->end());
  out->push_back(&center);
  EpisodeSide(scope, center, /*forward=*/true, after, out);
}

namespace {

// Appends the event of cube `id` at `valid_from`, if there is one: the version a read at
// (as_of, valid_at = valid_from) returns, when it starts then (an index key may be an older
// version's) and is in `episode` (if given).
void AppendEvent(const TraceScope& scope, uint64_t id, int64_t valid_from,
                 std::optional<std::string_view> episode, std::vector<const Version*>* out) {
  const Version* v = VisibleAt(scope.versions->Head(id), ReadPoint{scope.point.as_of, valid_from},
                               scope.read_time);
  if (v == nullptr || v->valid_from != valid_from || v->space_id != scope.space_id) return;
  if (episode && v->episode != *episode) return;
  out->push_back(v);
}

}  // namespace

void EventsIn(const TraceScope& scope, std::optional<std::string_view> episode, int64_t from,
              int64_t to, uint32_t limit, std::vector<const Version*>* out) {
  out->clear();
  if (episode) {
    index::EventIndex::Episodes::Iterator it(&scope.events->episodes());
    for (it.Seek(index::EpisodeKey{scope.space_id, *episode, from, 0});
         it.Valid() && out->size() < limit; it.Next()) {
      const index::EpisodeKey& k = it.key();
      if (k.space_id != scope.space_id || k.episode != *episode || k.valid_from >= to) break;
      AppendEvent(scope, k.id, k.valid_from, episode, out);
    }
    return;
  }
  index::EventIndex::ValidTimes::Iterator it(&scope.events->valid_times());
  for (it.Seek(index::TimeKey{scope.space_id, from, 0, 0}); it.Valid() && out->size() < limit;
       it.Next()) {
    const index::TimeKey& k = it.key();
    if (k.space_id != scope.space_id || k.time >= to) break;
    AppendEvent(scope, k.id, k.time, std::nullopt, out);
  }
}

void ChangesIn(const TraceScope& scope, int64_t from, int64_t to, uint32_t limit,
               std::vector<const Version*>* out) {
  out->clear();
  index::EventIndex::CommitTimes::Iterator it(&scope.events->commit_times());
  for (it.Seek(index::TimeKey{scope.space_id, from, 0, 0}); it.Valid() && out->size() < limit;
       it.Next()) {
    const index::TimeKey& k = it.key();
    if (k.space_id != scope.space_id || k.time >= to || k.time > scope.point.as_of) break;
    const Version* v = scope.versions->Head(k.id);
    while (v != nullptr && v->number > k.number) v = v->prev;
    if (v != nullptr && v->number == k.number && v->space_id == scope.space_id) out->push_back(v);
  }
}

void ListPage(const TraceScope& scope, uint64_t after, uint32_t limit,
              std::vector<const Version*>* out) {
  out->clear();
  if (after == UINT64_MAX) return;
  index::EventIndex::Members::Iterator it(&scope.events->members());
  for (it.Seek(index::MemberKey{scope.space_id, after + 1}); it.Valid() && out->size() < limit;
       it.Next()) {
    if (it.key().space_id != scope.space_id) break;
    if (const Version* v = VisibleIn(scope, it.key().id)) out->push_back(v);
  }
}

}  // namespace loci::query
