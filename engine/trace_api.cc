// Edge types by name, and Db's one-operation Link and Unlink.

#include <charconv>
#include <string>

#include "loci/db.h"
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

Result<uint32_t> Db::Link(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                          float weight, std::optional<Timestamp> valid_from) {
  WriteBatch batch;
  batch.Link(std::nullopt, from, to, type, weight, valid_from);
  WriteResult result;
  Status s = Write(options, batch, &result);
  if (!s.ok()) return s;
  return result.ops[0].version;
}

Status Db::Unlink(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                  std::optional<Timestamp> valid_to) {
  WriteBatch batch;
  batch.Unlink(std::nullopt, from, to, type, valid_to);
  return Write(options, batch, nullptr);
}

}  // namespace loci
