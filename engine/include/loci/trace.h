// The episodic trace graph (design.md §1, §2, §7): typed, weighted, directed edges between the
// cubes of one space, the episodes cubes belong to, and the temporal queries over both.
//
//   loci::WriteBatch batch;
//   loci::CubeId turn = batch.Put(draft);                 // a placeholder for the new id
//   batch.Link("alice", summary_id, turn, loci::EdgeType::kDerivedFrom);
//   db->Write(loci::WriteOptions(), batch, &result);
//
//   loci::TraceRequest trace;
//   trace.start = summary_id;
//   trace.hops = 2;
//   std::vector<loci::TraceStep> steps;
//   db->Trace(trace, &steps);
//
// Edges are versioned exactly like cubes: an edge is identified by (from, to, type); Link
// writes a version of it valid from `valid_from` (default: when both its ends hold) with its
// weight; linking it again writes a new version (a new weight); Unlink writes a version that
// ends its validity, as Retire does for a cube. A read at (as_of, valid_at) sees an edge when,
// among its versions committed by as_of and valid at valid_at, the one committed last is not an
// unlink; and it follows it only when the cube at its other end is visible at that read point too.
//
// Episodes: a cube may name its episode (a session, a task). The cubes of one (space, episode)
// are ordered by valid_from, ties by id; a cube put later with an earlier valid_from takes its
// place in the order. The order is read at a read point like everything else: a cube's
// position is that of its version visible there.

#ifndef LOCI_TRACE_H_
#define LOCI_TRACE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "loci/cube.h"
#include "loci/options.h"

namespace loci {

// What an edge says. Values >= kFirstApplicationEdge are the application's own codes; values
// between kSupersedes and kFirstApplicationEdge are reserved (InvalidArgument).
enum class EdgeType : uint32_t {
  kNext = 1,         // the event that followed
  kCaused = 2,       // from caused to
  kRefers = 3,       // from mentions to
  kDerivedFrom = 4,  // from was derived from to (a summary from its sources)
  kContradicts = 5,
  kSupersedes = 6,  // from replaces to
  kFirstApplicationEdge = 1000,
};

// "next", "caused", ... for the built-in types, the decimal code for an application's.
std::string EdgeTypeName(EdgeType type);
// Parses a name EdgeTypeName returns (or a decimal code >= 1000). False if it is neither.
bool ParseEdgeType(std::string_view name, EdgeType* type);
// Whether `type` is a built-in type or an application code.
bool IsValidEdgeType(EdgeType type);

enum class TraceDirection : uint8_t {
  kOut = 0,  // edges from the cube
  kIn = 1,   // edges to the cube
  kBoth = 2,
};

// Documented limits of the trace queries (InvalidArgument beyond them).
inline constexpr uint32_t kMaxTraceHops = 8;
inline constexpr uint32_t kMaxTraceResults = 10000;
inline constexpr uint32_t kMaxEpisodeWindow = 1000;  // events before, and after, a cube
inline constexpr uint32_t kMaxListResults = 10000;   // per page of List, Events or Changes

// An edge as a read sees it.
struct Edge {
  CubeId from = 0;
  CubeId to = 0;
  EdgeType type = EdgeType::kRefers;
  float weight = 1.0f;
  uint32_t version = 0;
  Timestamp valid_from = 0;
  Timestamp valid_to = kForever;
  Timestamp tx_from = 0;
};

// Db::Trace: the cubes reachable from `start` by up to `hops` edges of the chosen types and
// direction, each reported once, at the hop it was first reached (breadth first).
struct TraceRequest : ReadPoint {
  // Confine the trace to this space: a start cube of another space is NotFound, as in Get.
  std::optional<std::string> space;
  CubeId start = 0;
  // Only edges of these types. Default: every type.
  std::vector<EdgeType> types;
  TraceDirection direction = TraceDirection::kOut;
  // Also step along the episode order: to the next event (out) and the previous one (in),
  // reported as edges of type kNext with weight 1 (whatever `types` says: it filters stored
  // edges only).
  bool episode_order = false;
  // 1..kMaxTraceHops.
  uint32_t hops = 1;
  // Cubes reported at most, 1..kMaxTraceResults.
  uint32_t limit = 100;
};

// One cube a trace reached, and the edge that reached it first.
struct TraceStep {
  CubeId id = 0;
  uint32_t version = 0;  // the version visible at the read point
  uint32_t hop = 0;      // 1 for a neighbour of the start
  Edge via;              // its `from`/`to` as stored (for an in-edge, to is the cube stepped from)
};

// Db::Episode: the events of the episode of cube `id` around it.
struct EpisodeRequest : ReadPoint {
  std::optional<std::string> space;  // as TraceRequest::space
  CubeId id = 0;
  uint32_t before = 5;  // events before it, at most (<= kMaxEpisodeWindow)
  uint32_t after = 5;   // events after it, at most (<= kMaxEpisodeWindow)
  bool fill_payload = true;
};

// Db::Events: the events of a space, or of one episode of it, that happened in a window of
// valid time, as the database held them at the read point's transaction time: a version is an
// event at its valid_from when a Get at (as_of, valid_at = that valid_from) returns it — so a
// later update valid from a later time adds an event and keeps the earlier one, a correction
// of the same valid time replaces it, and a retirement ends the cube's later events without
// erasing its past ones. Events whose valid_from lies in [from, to), in valid_from order (ties
// by id). The window replaces valid_at, which must be unset; `episode`, if set, is not empty.
struct EventsRequest : ReadPoint {
  std::string space;
  std::optional<std::string> episode;
  Timestamp from = kBeginningOfTime;
  Timestamp to = kForever;
  uint32_t limit = 1000;  // 1..kMaxListResults
  bool fill_payload = true;
};

// Db::Changes: what changed in a window of transaction time — every version of the space
// whose commit time (tx_from) lies in [from, to), retirements included, in commit order (ties,
// i.e. one batch, by id then version). Each with its tx_to as of now.
struct ChangesRequest {
  std::string space;
  Timestamp from = kBeginningOfTime;
  Timestamp to = kForever;
  uint32_t limit = 1000;  // 1..kMaxListResults
  bool fill_payload = true;
};

// Db::List: the cubes of a space visible at the read point, by increasing id, one page.
struct ListRequest : ReadPoint {
  std::string space;
  CubeId after = 0;      // start after this id (the last id of the previous page)
  uint32_t limit = 100;  // 1..kMaxListResults
  bool fill_payload = true;
};

// Db::Provenance: where a cube came from — its parents and the cubes it was derived from
// (derived_from edges), and theirs, as a tree.
inline constexpr uint32_t kMaxProvenanceDepth = 16;
inline constexpr uint32_t kMaxProvenanceNodes = 1000;

struct ProvenanceNode {
  CubeId id = 0;
  uint32_t version = 0;  // visible at the read point
  // How its parent in the tree names it: "parent", "derived_from" or "parent+derived_from"
  // (empty for the root).
  std::string relation;
  // Already on the path from the root (a cycle): not expanded again.
  bool cycle = false;
  // Has sources that were not expanded: the depth or node limit was reached.
  bool truncated = false;
  std::vector<ProvenanceNode> sources;  // by id
};

}  // namespace loci

#endif  // LOCI_TRACE_H_
