// The lines `loci import` reads (JSON Lines): each a cube or an edge, parsed strictly (a key
// not listed, or a value of the wrong type, is an error naming it).
//
//   {"ref": "a", "space": "alice", "text": "likes tea", "vectors": {"e": [0.1, 0.2]}}
//   {"ref": "b", "space": "alice", "payload_base64": "AAE=", "parents": ["a", 17]}
//   {"edge": {"from": "b", "to": "a", "type": "derived_from", "weight": 0.5}}
//
// A cube line's keys: ref (its local name, a non-empty string, optional), space (required),
// episode, text or payload_base64 (not both), kind (name or code), state (active, archived),
// valid_from, valid_to, expires_at (times as the CLI takes them, or null for the default),
// attrs (an object of booleans, integers, decimals and strings), vectors (an object of
// arrays of numbers), metric (cosine, ip or l2: the metric of the vector fields the line
// creates), source, agent, parents (refs or ids), importance, trust. An edge line has the one
// key "edge", an object with from and to (refs or ids), type (name or code; required), weight
// and valid_from. Ids are JSON integers; refs are strings resolved by the importer.

#ifndef LOCI_TOOLS_LOCI_IMPORT_PARSE_H_
#define LOCI_TOOLS_LOCI_IMPORT_PARSE_H_

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "loci/cube.h"
#include "loci/metric.h"
#include "loci/status.h"
#include "loci/trace.h"

namespace loci::cli {

// A cube named by its id, or by the ref an earlier line gave it.
using CubeRef = std::variant<CubeId, std::string>;

struct ImportCube {
  std::optional<std::string> ref;
  CubeDraft draft;  // draft.parents empty: the parents are `parents`
  std::vector<CubeRef> parents;
  std::optional<Metric> metric;  // the metric of the fields of draft.vectors
};

struct ImportEdge {
  CubeRef from;
  CubeRef to;
  EdgeType type = EdgeType::kRefers;
  float weight = 1.0f;
  std::optional<Timestamp> valid_from;
};

using ImportLine = std::variant<ImportCube, ImportEdge>;

// Parses one line (without its newline). InvalidArgument says what is wrong, naming the key;
// the caller adds the line number. Refs are not resolved here; ids at or above kBatchRefBit
// (write_batch.h) are refused, so that no id can pass for a placeholder.
Status ParseImportLine(std::string_view text, ImportLine* line);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_IMPORT_PARSE_H_
