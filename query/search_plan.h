// Search planning (design.md §6, loci/search.h): what a request may ask, which versions its
// filters accept, and the index effort it gets. The engine (engine/db_search.cc) runs the
// plan over Atlas; the visibility rule itself is query/version.h's.

#ifndef LOCI_QUERY_SEARCH_PLAN_H_
#define LOCI_QUERY_SEARCH_PLAN_H_

#include "index/partition.h"
#include "loci/options.h"
#include "loci/search.h"
#include "loci/status.h"
#include "query/temporal.h"
#include "query/version.h"

namespace loci::query {

// OK, or InvalidArgument saying what is wrong with `request` on its own (no space or field,
// k, effort, states, window, expansion and weighting out of range). Names, dimensions and
// vectors are checked against the catalog by the engine.
Status CheckSearchRequest(const SearchRequest& request);

// Whether version `v` passes the request's kind, state and attribute filters.
bool PassesFilters(const SearchRequest& request, const Version& v);

// The index's effort and filters for `request` read at `point`, from the database's defaults.
index::ScanParams ScanParamsFor(const SearchRequest& request, const ReadPoint& point,
                                const VectorIndexOptions& defaults);

}  // namespace loci::query

#endif  // LOCI_QUERY_SEARCH_PLAN_H_
