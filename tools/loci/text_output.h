// The readable (non --json) forms of what the loci commands print: "label: value" lines.

#ifndef LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_
#define LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_

#include <ostream>
#include <vector>

#include "loci/cube.h"
#include "loci/db.h"

namespace loci::cli {

// One cube version, one field per line. A payload that is valid UTF-8 is shown as text
// (control characters escaped), any other payload as its size and base64.
void PrintCube(const MemCube& cube, std::ostream& out);

// Versions oldest first, separated by blank lines.
void PrintHistory(const std::vector<MemCube>& versions, std::ostream& out);

void PrintStats(const DbStats& stats, std::ostream& out);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TEXT_OUTPUT_H_
