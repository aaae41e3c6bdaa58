// Strict parsers for the values the loci CLI takes as arguments: cube ids, floats, vectors,
// attributes, kinds, states and metrics. Each returns InvalidArgument naming the bad text, and
// the matching *Name function prints a value back in the form its parser accepts.

#ifndef LOCI_TOOLS_LOCI_VALUE_PARSE_H_
#define LOCI_TOOLS_LOCI_VALUE_PARSE_H_

#include <string>
#include <string_view>

#include "loci/cube.h"
#include "loci/metric.h"
#include "loci/status.h"

namespace loci::cli {

// A decimal cube id ("42").
Result<CubeId> ParseCubeId(std::string_view text);

// "30d", "12h", "45m", "90s": a positive whole number of days, hours, minutes or seconds, in
// microseconds. InvalidArgument names `what` (the option) and the text otherwise.
Result<Timestamp> ParseDuration(const std::string& text, const std::string& what);

// A decimal float ("0.5", "-1e3", "+2"). "nan", "inf" and "-inf" are accepted and yield those
// values, so that the engine, not the parser, decides whether they are allowed. Text that is not
// a number, or a finite number too large for a float, is refused.
Result<float> ParseFloat(std::string_view text);

// "NAME=x1,x2,..." (at least one component; "NAME=" gives an empty vector for the engine to
// judge). Components are parsed by ParseFloat.
Result<NamedVector> ParseVectorArg(std::string_view text);

// "KEY=VALUE". Unless `as_string`, the value is typed by its form: true/false -> bool, a
// decimal integer (optional sign, digits only) -> int64, exactly, and InvalidArgument if it
// does not fit; another finite decimal number -> double; anything else -> string. With
// `as_string` it is always the string as written.
Result<Attr> ParseAttrArg(std::string_view text, bool as_string);

// "plaintext", "activation", "parametric" or an integer code 0-65535.
Result<uint16_t> ParseKind(std::string_view text);
std::string KindName(uint16_t kind);

// "active" or "archived" (retiring is its own command).
Result<CubeState> ParseWritableState(std::string_view text);

// "cosine", "ip" or "l2" (the names index::ParseMetric knows); names come from
// index::MetricName.
Result<Metric> ParseMetric(std::string_view text);

// The shortest decimal text that reads back as `value` ("0.1" for 0.1f, "nan", "inf").
std::string FormatFloat(float value);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_VALUE_PARSE_H_
