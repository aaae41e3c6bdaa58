// JSON forms of what the loci commands print with --json (nlohmann::ordered_json values, keys
// in the order shown; the caller dumps them). Times are RFC 3339 strings (see time_format.h),
// open ends (kForever) are null.

#ifndef LOCI_TOOLS_LOCI_JSON_OUTPUT_H_
#define LOCI_TOOLS_LOCI_JSON_OUTPUT_H_

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loci/cube.h"
#include "loci/db.h"
#include "loci/search.h"
#include "loci/trace.h"

namespace loci::cli {

// One cube version: id, version, space, kind, state, text (if the payload is valid UTF-8) or
// payload_base64, payload_size, valid_from/valid_to/tx_from/tx_to, attrs (typed values),
// source, agent, episode ("" when none), parents, importance, trust, expires_at, vectors
// ({field: [floats]}).
nlohmann::ordered_json CubeToJson(const MemCube& cube);

// Versions oldest first, as an array of CubeToJson objects.
nlohmann::ordered_json HistoryToJson(const std::vector<MemCube>& versions);

// Cubes in the order given (episode, events, changes, list), as an array of CubeToJson objects.
nlohmann::ordered_json CubesToJson(const std::vector<MemCube>& cubes);

// Trace steps in the order given, as an array of {id, version, hop, type, from, to, weight}:
// the cube reached, its visible version, its hop, and the edge that reached it (type by its
// EdgeTypeName, from/to as stored).
nlohmann::ordered_json TraceToJson(const std::vector<TraceStep>& steps);

// Search hits best first, as an array of {id, version, score, space, hop, via}: via is null
// for a direct hit (hop 0), else the edge of the last hop {type, from, to, weight}.
nlohmann::ordered_json SearchHitsToJson(const std::vector<SearchHit>& hits);

// A provenance tree as nested {id, version, relation ("" for the root), cycle, truncated,
// sources: [...]}.
nlohmann::ordered_json ProvenanceToJson(const ProvenanceNode& node);

// Every DbStats field, times as RFC 3339 and vector fields as an array of objects.
nlohmann::ordered_json StatsToJson(const DbStats& stats);
// {"spaces": [{"name","cubes","versions","blob_bytes"}], "files": [{"kind","files","bytes",
// "live_bytes","dead_bytes"}]}
nlohmann::ordered_json UsageToJson(const UsageReport& usage);

// The JSON text of `value`, indented, with any invalid UTF-8 in strings replaced by U+FFFD
// (attribute values and sources are arbitrary bytes).
std::string DumpJson(const nlohmann::ordered_json& value);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_JSON_OUTPUT_H_
