// The readable (non --json) forms of what the loci commands print: "label: value" lines.

#ifndef LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_
#define LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_

#include <ostream>
#include <string_view>
#include <vector>

#include "loci/cube.h"
#include "loci/db.h"
#include "loci/search.h"
#include "loci/trace.h"

namespace loci::cli {

// One cube version, one field per line. A payload that is valid UTF-8 is shown as text
// (control characters escaped), any other payload as its size and base64.
void PrintCube(const MemCube& cube, std::ostream& out);

// Versions oldest first, separated by blank lines.
void PrintHistory(const std::vector<MemCube>& versions, std::ostream& out);

void PrintStats(const DbStats& stats, std::ostream& out);
// One line per space (cubes, versions, blob bytes) and per kind of file (live and dead bytes).
void PrintUsage(const UsageReport& usage, std::ostream& out);

// One cube version on one line, after `mark`:
//   id 42 v1 active valid FROM..TO tx FROM..TO [episode "E"] text "..." | binary N bytes
// Names and text are escaped (EscapeText), so the line cannot break.
void PrintCubeLine(const MemCube& cube, std::string_view mark, std::ostream& out);

// One line per step, nearest hop first as given:
//   hop 1 id 42 version 1 via 41 -caused-> 42 weight 0.5
void PrintTrace(const std::vector<TraceStep>& steps, std::ostream& out);

// A header line, then one line per hit: id, version, score and space in columns; an expanded
// hit (hop >= 1) continues with "hop N via FROM -TYPE-> TO weight W".
void PrintSearchHits(const std::vector<SearchHit>& hits, std::ostream& out);

// The tree, one node per line, each level indented two spaces more than its parent:
//   id 42 v1
//     id 40 v2 parent+derived_from
//       id 42 v1 parent (cycle)
//     id 41 v1 derived_from (more...)
// "(cycle)": already on the path, not expanded again; "(more...)": sources left out at the
// depth or node limit.
void PrintProvenance(const ProvenanceNode& root, std::ostream& out);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_
