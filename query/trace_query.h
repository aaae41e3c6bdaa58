// The trace queries' execution (design.md §7): walks over the trace graph and scans of the
// event index, each deciding visibility by the same rules as Get (query/version.h) at one read
// point. The engine (engine/db_trace.cc) validates requests, pins an epoch and resolves names;
// these functions only read lock-free structures and return versions.

#ifndef LOCI_QUERY_TRACE_QUERY_H_
#define LOCI_QUERY_TRACE_QUERY_H_

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "index/event_index.h"
#include "index/trace_graph.h"
#include "loci/trace.h"
#include "query/temporal.h"
#include "query/version.h"

namespace loci::query {

// Where version chains are found: the engine's record table.
class VersionSource {
 public:
  virtual ~VersionSource() = default;
  // The newest version of cube `id`, or nullptr. Lock-free.
  virtual const Version* Head(uint64_t id) const = 0;
};

// One read over one space. REQUIRES: the structures outlive the read, and an epoch is pinned
// while it runs.
struct TraceScope {
  const VersionSource* versions;
  const index::TraceGraph* graph;
  const index::EventIndex* events;
  ReadPoint point;
  int64_t read_time;  // when expiry is judged
  uint32_t space_id;
};

// The version of cube `id` the read returns (design.md §1: selected at the read point, not
// retired, not expired), if it is in the scope's space; nullptr otherwise.
const Version* VisibleIn(const TraceScope& scope, uint64_t id);

// The version of an edge chain a read at `p` sees — among those committed by p.as_of and valid
// at p.valid_at, the one committed last — if it is a link; nullptr if none or an unlink.
const index::EdgeVersion* VisibleEdge(const index::EdgeVersion* head, const ReadPoint& p);

// What a walk follows.
struct WalkSpec {
  bool edges = true;            // follow edges (false: only the episode order, if asked)
  std::vector<uint32_t> types;  // edge types; empty: every type
  bool out = true;              // follow edges from a cube
  bool in = false;              // follow edges to a cube
  bool episode_order = false;   // step to the next event (out) and the previous one (in)
  // Follow only edges of weight > 0 (search expansion: loci/search.h). The episode order's
  // steps, of weight 1, are followed regardless.
  bool positive_weight_only = false;
  uint32_t hops = 1;
  uint32_t limit = 100;
};

// A cube a walk reached, and how.
struct Reached {
  const Version* version;
  uint32_t hop;
  // The edge of the last hop: an edge version, or (episode order) none, with from/to set.
  const index::EdgeVersion* edge;  // nullptr for an episode step
  uint64_t from;
  uint64_t to;
};

// The edge that reached `r`, as the public API reports it: the edge version's fields, or for
// an episode step an edge of type kNext, weight 1, version 0.
Edge EdgeOf(const Reached& r);

// Breadth first from `start` (not reported), each visible cube once at its first hop, up to
// spec.limit cubes. Within a hop, by the cube stepped from (in the order it was reached), then
// out-edges before in-edges, each by (type, other end), then the episode steps.
void Walk(const TraceScope& scope, uint64_t start, const WalkSpec& spec, std::vector<Reached>* out);

// The events of `center`'s episode around it, in episode order (valid_from, then id): up to
// `before` visible events before it, then `center`, then up to `after` after it.
// REQUIRES: `center` is the version of its cube visible in the scope, with an episode.
void EpisodeAround(const TraceScope& scope, const Version& center, uint32_t before, uint32_t after,
                   std::vector<const Version*>* out);

// Events (loci/trace.h EventsRequest): for each cube of the scope's space and each valid_from
// in [from, to), the version a read at (point.as_of, valid_at = that valid_from) returns, if
// it starts then (and is in `episode`, if given); by (valid_from, id), at most `limit`.
void EventsIn(const TraceScope& scope, std::optional<std::string_view> episode, int64_t from,
              int64_t to, uint32_t limit, std::vector<const Version*>* out);

// The versions of the scope's space committed in [from, to) (and by point.as_of), by
// (tx_from, id, version), at most `limit`.
void ChangesIn(const TraceScope& scope, int64_t from, int64_t to, uint32_t limit,
               std::vector<const Version*>* out);

// The cubes of the scope's space visible at its read point with ids above `after`, by id, at
// most `limit`.
void ListPage(const TraceScope& scope, uint64_t after, uint32_t limit,
              std::vector<const Version*>* out);

}  // namespace loci::query

#endif  // LOCI_QUERY_TRACE_QUERY_H_
