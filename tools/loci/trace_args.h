// Argument parsing the trace-graph commands share (link, trace, episode, events, search's
// expansion, provenance, fuse): times, read points, cube ids, edge types and ranges, each
// failing with InvalidArgument that names the option or argument.

#ifndef LOCI_TOOLS_LOCI_TRACE_ARGS_H_
#define LOCI_TOOLS_LOCI_TRACE_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "loci/cube.h"
#include "loci/options.h"
#include "loci/status.h"
#include "loci/trace.h"

namespace loci::cli {

// The forms an edge type may take, for help texts and errors.
inline constexpr char kEdgeTypeForms[] =
    "next, caused, refers, derived_from, contradicts, supersedes, or an application code >= 1000";

// Parses `text` (the value of `option`) as a time into *out; leaves *out alone if `text` is
// unset. InvalidArgument naming the option if it is malformed.
Status ParseTimeOption(const std::optional<std::string>& text, std::string_view option,
                       std::optional<Timestamp>* out);

// Parses --as-of and --valid-at into *point.
Status ParseReadPoint(const std::optional<std::string>& as_of,
                      const std::optional<std::string>& valid_at, ReadPoint* point);

// A cube id given as the positional argument or option `what` (ID, FROM, TO, --after).
Status ParseIdArg(const std::string& text, std::string_view what, CubeId* id);

// An edge type by name or application code, given to `option`.
Status ParseEdgeTypeArg(const std::string& text, std::string_view option, EdgeType* type);

// InvalidArgument "<option> <value> is out of range (<min> to <max>)" unless
// min <= value <= max.
Status CheckRange(std::string_view option, uint32_t value, uint32_t min, uint32_t max);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TRACE_ARGS_H_
