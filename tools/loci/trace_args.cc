// Argument parsing shared by the trace-graph commands.

#include "tools/loci/trace_args.h"

#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

Status ParseTimeOption(const std::optional<std::string>& text, std::string_view option,
                       std::optional<Timestamp>* out) {
  if (!text) return Status::OK();
  Result<Timestamp> t = ParseTime(*text);
  if (!t.ok()) return t.status().WithContext(option);
  *out = *t;
  return Status::OK();
}

Status ParseReadPoint(const std::optional<std::string>& as_of,
                      const std::optional<std::string>& valid_at, ReadPoint* point) {
  LOCI_RETURN_IF_ERROR(ParseTimeOption(as_of, "--as-of", &point->as_of));
  return ParseTimeOption(valid_at, "--valid-at", &point->valid_at);
}

Status ParseIdArg(const std::string& text, std::string_view what, CubeId* id) {
  Result<CubeId> parsed = ParseCubeId(text);
  if (!parsed.ok()) return parsed.status().WithContext(what);
  *id = *parsed;
  return Status::OK();
}

Status ParseEdgeTypeArg(const std::string& text, std::string_view option, EdgeType* type) {
  if (ParseEdgeType(text, type)) return Status::OK();
  return Status::InvalidArgument(std::string(option) + ": unknown edge type '" + text +
                                 "' (expected " + kEdgeTypeForms + ")");
}

Status CheckRange(std::string_view option, uint32_t value, uint32_t min, uint32_t max) {
  if (value >= min && value <= max) return Status::OK();
  return Status::InvalidArgument(std::string(option) + " " + std::to_string(value) +
                                 " is out of range (" + std::to_string(min) + " to " +
                                 std::to_string(max) + ")");
}

}  // namespace loci::cli
