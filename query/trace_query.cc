// Walks over the trace graph and scans of the event index.

#include "query/trace_query.h"

#include <algorithm>
#include <unordered_set>

namespace loci::query {

namespace {

VersionTimes EdgeTimes(const index::EdgeVersion& e) {
  return {e.tx_from, e.valid_from, e.valid_to, INT64_MAX};
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

// The cubes a walk has reached: a short vector scanned linearly while the walk is small (most
// are: a hop or two from one cube), a hash set once it grows.
class Seen {
 public:
  explicit Seen(uint64_t start) { few_.push_back(start); }
  bool Contains(uint64_t id) const {
    return many_.empty() ? std::find(few_.begin(), few_.end(), id) != few_.end()
                         : many_.count(id) != 0;
  }
  // Adds `id`; false if it was there.
  bool Insert(uint64_t id) {
    if (!many_.empty()) return many_.insert(id).second;
    if (std::find(few_.begin(), few_.end(), id) != few_.end()) return false;
    few_.push_back(id);
    if (few_.size() > kFew) many_.insert(few_.begin(), few_.end());
    return true;
  }

 private:
  static constexpr size_t kFew = 32;
  std::vector<uint64_t> few_;
  std::unordered_set<uint64_t> many_;
};

// The edges of one cube a walk steps over, taken a batch at a time: the batch's edge chains
// and the chains of the cubes at their far ends are looked up together, so that those cache
// misses (four or so per edge at a million cubes) overlap instead of following one another.
class EdgeSteps {
 public:
  EdgeSteps(const TraceScope& scope, const Version& from, uint32_t hop, const WalkSpec& spec,
            Seen* seen, std::vector<Reached>* out)
      : scope_(scope), from_(from), hop_(hop), spec_(spec), seen_(seen), out_(out) {}

  // Queues the edge `inc` (an out-edge of the cube if `outgoing`, else an in-edge); false once
  // the walk has spec.limit cubes, when the caller should stop scanning.
  bool Add(const index::TraceGraph::Incidence& inc, bool outgoing) {
    if (full_) return false;
    batch_[n_++] = Pending{inc, outgoing};
    return n_ < kBatch || Flush();
  }

  // Steps over the queued edges in order; false once the walk has spec.limit cubes.
  bool Flush() {
    const index::EdgeVersion* edges[kBatch];
    const Version* heads[kBatch];
    for (size_t i = 0; i < n_; ++i) {
      edges[i] = batch_[i].inc.head();
      heads[i] = scope_.versions->Head(batch_[i].inc.other);
      __builtin_prefetch(edges[i]);
      __builtin_prefetch(heads[i]);
    }
    for (size_t i = 0; i < n_ && !full_; ++i) {
      full_ = out_->size() >= spec_.limit;
      if (!full_) Step(batch_[i], edges[i], heads[i]);
    }
    n_ = 0;
    return !full_;
  }

 private:
  static constexpr size_t kBatch = 16;
  struct Pending {
    index::TraceGraph::Incidence inc;
    bool outgoing;
  };

  void Step(const Pending& p, const index::EdgeVersion* edge_head, const Version* head) {
    const uint64_t other = p.inc.other;
    if (seen_->Contains(other)) return;
    const index::EdgeVersion* e = VisibleEdge(edge_head, scope_.point);
    if (e == nullptr || (spec_.positive_weight_only && !(e->weight > 0))) return;
    const Version* w = VisibleAt(head, scope_.point, scope_.read_time);
    if (w == nullptr || w->space_id != scope_.space_id) return;
    seen_->Insert(other);
    out_->push_back(
        Reached{w, hop_, e, p.outgoing ? from_.id : other, p.outgoing ? other : from_.id});
  }

  const TraceScope& scope_;
  const Version& from_;
  const uint32_t hop_;
  const WalkSpec& spec_;
  Seen* const seen_;
  std::vector<Reached>* const out_;
  Pending batch_[kBatch];
  size_t n_ = 0;
  bool full_ = false;
};

// Appends the cubes one hop from `v` that the walk has not seen.
void Expand(const TraceScope& scope, const Version& v, uint32_t hop, const WalkSpec& spec,
            Seen* seen, std::vector<Reached>* out) {
  EdgeSteps steps(scope, v, hop, spec, seen, out);
  // One type at a time when few are asked for: a seek each instead of a scan of every type.
  auto each = [&](index::TraceGraph::Direction dir, bool outgoing) {
    auto add = [&](const index::TraceGraph::Incidence& inc) { return steps.Add(inc, outgoing); };
    if (spec.types.empty()) {
      scope.graph->ForEachEdge(v.id, dir, 0, add);
      return;
    }
    for (uint32_t type : spec.types) {  // sorted and unique (Walk)
      scope.graph->ForEachEdge(v.id, dir, type, add);
    }
  };
  if (spec.edges && spec.out) each(index::TraceGraph::kOut, true);
  if (spec.edges && spec.in) each(index::TraceGraph::kIn, false);
  steps.Flush();
  if (!spec.episode_order || v.episode.empty()) return;
  std::vector<const Version*> near;
  if (spec.out) EpisodeSide(scope, v, /*forward=*/true, 1, &near);
  const size_t next_events = near.size();
  if (spec.in) EpisodeSide(scope, v, /*forward=*/false, 1, &near);
  for (size_t i = 0; i < near.size() && out->size() < spec.limit; ++i) {
    const Version* w = near[i];
    if (!seen->Insert(w->id)) continue;
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
  Seen seen(start);
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

// Events are looked up a batch of index keys at a time: the keys' chains are found together,
// so that their cache misses overlap instead of following one another (at a million cubes
// they are most of an Events call).
constexpr size_t kEventBatch = 16;

struct EventKey {
  uint64_t id;
  int64_t valid_from;
};

// Appends the event of each key, if there is one, until *out holds `limit`: the version a
// read at (as_of, valid_at = the key's valid_from) returns, when it starts then (a key may be
// an older version's) and is in `episode` (if given).
void AppendEvents(const TraceScope& scope, const EventKey* keys, size_t n,
                  std::optional<std::string_view> episode, uint32_t limit,
                  std::vector<const Version*>* out) {
  const Version* heads[kEventBatch];
  for (size_t i = 0; i < n; ++i) {
    heads[i] = scope.versions->Head(keys[i].id);
    if (heads[i] != nullptr) __builtin_prefetch(heads[i]);
  }
  for (size_t i = 0; i < n && out->size() < limit; ++i) {
    const int64_t valid_from = keys[i].valid_from;
    const Version* v =
        VisibleAt(heads[i], ReadPoint{scope.point.as_of, valid_from}, scope.read_time);
    if (v == nullptr || v->valid_from != valid_from || v->space_id != scope.space_id) continue;
    if (episode && v->episode != *episode) continue;
    out->push_back(v);
  }
}

// Scans `list` from `first` while `key_of` maps its keys to events of the window (nullopt
// ends the scan), appending them by batches until *out holds `limit`.
template <class List, class KeyOf>
void ScanEvents(const TraceScope& scope, const List& list, const typename List::key_type& first,
                KeyOf key_of, std::optional<std::string_view> episode, uint32_t limit,
                std::vector<const Version*>* out) {
  typename List::Iterator it(&list);
  it.Seek(first);
  EventKey batch[kEventBatch];
  while (out->size() < limit) {
    // No more keys than events still wanted: a full page stops the scan where it ends.
    const size_t want = std::min<size_t>(kEventBatch, limit - out->size());
    size_t n = 0;
    for (; n < want && it.Valid(); it.Next()) {
      const std::optional<EventKey> k = key_of(it.key());
      if (!k) break;
      batch[n++] = *k;
    }
    AppendEvents(scope, batch, n, episode, limit, out);
    if (n < want) return;  // the window or the list ended
  }
}

}  // namespace

void EventsIn(const TraceScope& scope, std::optional<std::string_view> episode, int64_t from,
              int64_t to, uint32_t limit, std::vector<const Version*>* out) {
  out->clear();
  if (episode) {
    auto key_of = [&](const index::EpisodeKey& k) -> std::optional<EventKey> {
      if (k.space_id != scope.space_id || k.episode != *episode || k.valid_from >= to) {
        return std::nullopt;
      }
      return EventKey{k.id, k.valid_from};
    };
    ScanEvents(scope, scope.events->episodes(),
               index::EpisodeKey{scope.space_id, *episode, from, 0}, key_of, episode, limit, out);
    return;
  }
  auto key_of = [&](const index::TimeKey& k) -> std::optional<EventKey> {
    if (k.space_id != scope.space_id || k.time >= to) return std::nullopt;
    return EventKey{k.id, k.time};
  };
  ScanEvents(scope, scope.events->valid_times(), index::TimeKey{scope.space_id, from, 0, 0}, key_of,
             std::nullopt, limit, out);
}

void ChangesIn(const TraceScope& scope, int64_t from, int64_t to, uint32_t limit,
               std::vector<const Version*>* out) {
  out->clear();
  index::EventIndex::CommitTimes::Iterator it(&scope.events->commit_times());
  for (it.Seek(index::TimeKey{scope.space_id, from, 0, 0}); it.Valid() && out->size() < limit;
       it.Next()) {
    const index::TimeKey& k = it.key();
    if (k.space_id != scope.space_id || k.time >= to || k.time > scope.point.as_of) break;
    const Version* head = scope.versions->Head(k.id);
    if (head == nullptr || CubeExpired(*head, scope.read_time)) continue;
    const Version* v = head;
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
