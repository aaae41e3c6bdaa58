// Edge types by name (loci/trace.h).

#include <charconv>
#include <string>

#include "loci/trace.h"

namespace loci {

namespace {

struct NamedType {
  EdgeType type;
  const char* name;
};

constexpr NamedType kBuiltInTypes[] = {
    {EdgeType::kNext, "next"},
    {EdgeType::kCaused, "caused"},
    {EdgeType::kRefers, "refers"},
    {EdgeType::kDerivedFrom, "derived_from"},
    {EdgeType::kContradicts, "contradicts"},
    {EdgeType::kSupersedes, "supersedes"},
};

}  // namespace

std::string EdgeTypeName(EdgeType type) {
  for (const NamedType& t : kBuiltInTypes) {
    if (t.type == type) return t.name;
  }
  return std::to_string(static_cast<uint32_t>(type));
}

bool ParseEdgeType(std::string_view name, EdgeType* type) {
  for (const NamedType& t : kBuiltInTypes) {
    if (name == t.name) {
      *type = t.type;
      return true;
    }
  }
  uint32_t code;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), code);
  if (ec != std::errc() || end != name.data() + name.size() || name.empty() || name[0] == '+') {
    return false;
  }
  if (!IsValidEdgeType(static_cast<EdgeType>(code)) ||
      code < static_cast<uint32_t>(EdgeType::kFirstApplicationEdge)) {
    return false;  // built-in types go by name
  }
  *type = static_cast<EdgeType>(code);
  return true;
}

bool IsValidEdgeType(EdgeType type) {
  const auto code = static_cast<uint32_t>(type);
  return (code >= static_cast<uint32_t>(EdgeType::kNext) &&
          code <= static_cast<uint32_t>(EdgeType::kSupersedes)) ||
         code >= static_cast<uint32_t>(EdgeType::kFirstApplicationEdge);
}

}  // namespace loci
