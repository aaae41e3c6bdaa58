// The queries loci-demo shows, each printed as a section: search with trace expansion, the
// episode around a cube, events in a window of valid time, changes in a window of transaction
// time, as-of reads and history, and a trace from a cube to its sources. Both stories (the
// built-in conversation and LoCoMo) call these on their own space.

#ifndef LOCI_TOOLS_DEMO_DEMO_SECTIONS_H_
#define LOCI_TOOLS_DEMO_DEMO_SECTIONS_H_

#include <set>
#include <string>
#include <vector>

#include "loci/db.h"

namespace loci::demo {

// A search of kField for `query` (k direct hits) that adds the cubes one edge away from each
// hit, over every edge type, in both directions: up to k of them.
SearchRequest ExpandedSearch(const std::vector<float>& query, uint32_t k);

// Runs `request` in `space` and prints its hits: the direct ones (hop 0) best first, then the
// expanded ones with their hop and the edge that reached them. `marks` as in CubeLine.
std::vector<SearchHit> ShowSearch(SpaceHandle space, SearchRequest request,
                                  const std::set<CubeId>* marks = nullptr);

// The first hit (in the order given) that is a conversation turn, or 0.
CubeId FirstTurn(const std::vector<SearchHit>& hits);

// Db::Episode of `id`, 2 events before and 2 after; the cube itself marked "*".
void ShowEpisode(SpaceHandle space, CubeId id, const std::set<CubeId>* marks = nullptr);

// Db::Events in valid time [from, to): at most `max_lines` lines, then how many more there are.
void ShowEvents(SpaceHandle space, Timestamp from, Timestamp to, size_t max_lines,
                const std::set<CubeId>* marks = nullptr);

// Db::Changes in transaction time [from, to), each version as "put", "update" or "retire".
void ShowChanges(SpaceHandle space, Timestamp from, Timestamp to, size_t max_lines);

// Db::Get of `id` at `at`, one line after `what` (or why there is no such cube there).
void ShowGet(SpaceHandle space, const char* what, CubeId id, const ReadOptions& at);

// Db::History of `id`: each version with its valid and transaction intervals.
void ShowHistory(SpaceHandle space, CubeId id);

// Db::Trace from `start` along its out-edges, `hops` deep.
void ShowTrace(SpaceHandle space, CubeId start, uint32_t hops,
               const std::set<CubeId>* marks = nullptr);

}  // namespace loci::demo

#endif  // LOCI_TOOLS_DEMO_DEMO_SECTIONS_H_
