// Write-input validation.

#include "engine/validation.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>

#include "common/time_format.h"
#include "index/vector_field.h"

namespace loci::engine {

namespace {

Status Invalid(const std::string& what) { return Status::InvalidArgument(what); }

Status CheckName(const char* what, const std::string& name, const Options& o) {
  if (name.empty()) return Invalid(std::string(what) + " is empty");
  if (name.size() > o.max_name_bytes) {
    return Invalid(std::string(what) + " is " + std::to_string(name.size()) + " bytes (maximum " +
                   std::to_string(o.max_name_bytes) + ")");
  }
  return Status::OK();
}

Status CheckText(const char* what, const std::string& text, const Options& o) {
  if (text.size() > o.max_text_field_bytes) {
    return Invalid(std::string(what) + " is " + std::to_string(text.size()) + " bytes (maximum " +
                   std::to_string(o.max_text_field_bytes) + ")");
  }
  return Status::OK();
}

Status CheckPayload(const std::string& payload, const Options& o) {
  if (payload.size() > o.max_payload_bytes) {
    return Invalid("payload is " + std::to_string(payload.size()) + " bytes (maximum " +
                   std::to_string(o.max_payload_bytes) + ")");
  }
  return Status::OK();
}

Status CheckScore(const char* what, float v) {
  if (!std::isfinite(v)) return Invalid(std::string(what) + " is NaN or infinite");
  return Status::OK();
}

// Names unique and valid; values well-formed. Dimension against the field is checked by the
// commit leader, which knows the catalog.
Status CheckVectors(const std::vector<NamedVector>& vectors, const Options& o) {
  std::set<std::string> seen;
  for (const NamedVector& v : vectors) {
    LOCI_RETURN_IF_ERROR(CheckName("vector field name", v.field, o));
    if (!seen.insert(v.field).second) return Invalid("vector field '" + v.field + "' given twice");
    if (v.values.empty() || v.values.size() > o.max_vector_dim) {
      return Invalid("vector field '" + v.field + "' has " + std::to_string(v.values.size()) +
                     " components (allowed 1.." + std::to_string(o.max_vector_dim) + ")");
    }
    LOCI_RETURN_IF_ERROR(index::ValidateVector(
        v.field, v.values, static_cast<uint32_t>(v.values.size()), Metric::kInnerProduct));
  }
  return Status::OK();
}

Status CheckAttrs(const std::vector<Attr>& attrs, const Options& o) {
  if (attrs.size() > o.max_attrs) {
    return Invalid(std::to_string(attrs.size()) + " attributes (maximum " +
                   std::to_string(o.max_attrs) + ")");
  }
  std::set<std::string> seen;
  for (const Attr& a : attrs) {
    LOCI_RETURN_IF_ERROR(CheckName("attribute key", a.key, o));
    if (!seen.insert(a.key).second) return Invalid("attribute '" + a.key + "' given twice");
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      LOCI_RETURN_IF_ERROR(CheckText(("attribute '" + a.key + "'").c_str(), *s, o));
    }
    if (const auto* d = std::get_if<double>(&a.value); d && !std::isfinite(*d)) {
      return Invalid("attribute '" + a.key + "' is NaN or infinite");
    }
  }
  return Status::OK();
}

Status CheckParents(const std::vector<CubeId>& parents, const Options& o) {
  if (parents.size() > o.max_parents) {
    return Invalid(std::to_string(parents.size()) + " parents (maximum " +
                   std::to_string(o.max_parents) + ")");
  }
  for (CubeId p : parents) {
    if (p == 0) return Invalid("parent id 0 does not exist");
  }
  return Status::OK();
}

// An episode may be empty (none); otherwise a name.
Status CheckEpisode(const std::string& episode, const Options& o) {
  return episode.empty() ? Status::OK() : CheckName("episode", episode, o);
}

Status CheckEdgeEnds(const std::optional<std::string>& space, CubeId from, CubeId to, EdgeType type,
                     const Options& o) {
  if (space) LOCI_RETURN_IF_ERROR(CheckName("space", *space, o));
  if (from == 0 || to == 0) return Invalid("edge end id 0 does not exist");
  if (from == to) return Invalid("an edge from cube " + std::to_string(from) + " to itself");
  if (!IsValidEdgeType(type)) {
    return Invalid("unknown edge type " + std::to_string(static_cast<uint32_t>(type)) +
                   " (built-in types are 1 to 6, application types 1000 and up)");
  }
  return Status::OK();
}

Status ValidateLink(const WriteBatch::LinkOp& op, const Options& o) {
  LOCI_RETURN_IF_ERROR(CheckEdgeEnds(op.space, op.from, op.to, op.type, o));
  LOCI_RETURN_IF_ERROR(CheckScore("edge weight", op.weight));
  if (op.valid_from && *op.valid_from == kForever) return Invalid("link at the end of time");
  return Status::OK();
}

Status ValidateUnlink(const WriteBatch::UnlinkOp& op, const Options& o) {
  LOCI_RETURN_IF_ERROR(CheckEdgeEnds(op.space, op.from, op.to, op.type, o));
  if (op.valid_to && *op.valid_to == kForever) return Invalid("unlink at the end of time");
  return Status::OK();
}

Status CheckInterval(const std::optional<Timestamp>& from, const std::optional<Timestamp>& to) {
  if (from && to && *from >= *to) {
    return Invalid("valid interval is empty or inverted (valid_from " + FormatRfc3339(*from) +
                   " >= valid_to " + FormatRfc3339(*to) + ")");
  }
  if (to && *to == kBeginningOfTime) return Invalid("valid_to is the beginning of time");
  if (from && *from == kForever) return Invalid("valid_from is the end of time");
  return Status::OK();
}

// A patch that sets nothing would only repeat the latest version.
bool SetsNothing(const CubePatch& p) {
  return !p.kind && !p.state && !p.payload && p.set_vectors.empty() && p.remove_vectors.empty() &&
         p.set_attrs.empty() && p.remove_attrs.empty() && !p.source && !p.parents && !p.agent &&
         !p.importance && !p.trust && !p.valid_from && !p.valid_to && !p.expires_at && !p.episode;
}

Status CheckState(CubeState state) {
  if (state == CubeState::kActive || state == CubeState::kArchived) return Status::OK();
  if (state == CubeState::kRetired)
    return Invalid("state retired is set by Retire, not by a write");
  return Invalid("unknown state " + std::to_string(static_cast<int>(state)));
}

}  // namespace

Status ValidateDraft(const CubeDraft& d, const Options& o) {
  LOCI_RETURN_IF_ERROR(CheckName("space", d.space, o));
  LOCI_RETURN_IF_ERROR(CheckState(d.state));
  LOCI_RETURN_IF_ERROR(CheckPayload(d.payload, o));
  LOCI_RETURN_IF_ERROR(CheckVectors(d.vectors, o));
  LOCI_RETURN_IF_ERROR(CheckAttrs(d.attrs, o));
  LOCI_RETURN_IF_ERROR(CheckText("source", d.source, o));
  LOCI_RETURN_IF_ERROR(CheckText("agent", d.agent, o));
  LOCI_RETURN_IF_ERROR(CheckEpisode(d.episode, o));
  LOCI_RETURN_IF_ERROR(CheckParents(d.parents, o));
  LOCI_RETURN_IF_ERROR(CheckScore("importance", d.importance));
  LOCI_RETURN_IF_ERROR(CheckScore("trust", d.trust));
  return CheckInterval(d.valid_from, d.valid_to);
}

Status ValidatePatch(const CubePatch& p, const Options& o) {
  if (SetsNothing(p)) return Invalid("nothing to change: the patch sets no field");
  if (p.state) LOCI_RETURN_IF_ERROR(CheckState(*p.state));
  if (p.payload) LOCI_RETURN_IF_ERROR(CheckPayload(*p.payload, o));
  LOCI_RETURN_IF_ERROR(CheckVectors(p.set_vectors, o));
  for (const std::string& f : p.remove_vectors) {
    LOCI_RETURN_IF_ERROR(CheckName("removed vector field name", f, o));
    for (const NamedVector& v : p.set_vectors) {
      if (v.field == f) return Invalid("vector field '" + f + "' both set and removed");
    }
  }
  LOCI_RETURN_IF_ERROR(CheckAttrs(p.set_attrs, o));
  for (const std::string& k : p.remove_attrs) {
    LOCI_RETURN_IF_ERROR(CheckName("removed attribute key", k, o));
    for (const Attr& a : p.set_attrs) {
      if (a.key == k) return Invalid("attribute '" + k + "' both set and removed");
    }
  }
  if (p.source) LOCI_RETURN_IF_ERROR(CheckText("source", *p.source, o));
  if (p.agent) LOCI_RETURN_IF_ERROR(CheckText("agent", *p.agent, o));
  if (p.episode) LOCI_RETURN_IF_ERROR(CheckEpisode(*p.episode, o));
  if (p.parents) LOCI_RETURN_IF_ERROR(CheckParents(*p.parents, o));
  if (p.importance) LOCI_RETURN_IF_ERROR(CheckScore("importance", *p.importance));
  if (p.trust) LOCI_RETURN_IF_ERROR(CheckScore("trust", *p.trust));
  return CheckInterval(p.valid_from, p.valid_to);
}

Status ValidateFieldDefinition(const WriteBatch::DefineFieldOp& op, const Options& o) {
  LOCI_RETURN_IF_ERROR(CheckName("space", op.space, o));
  LOCI_RETURN_IF_ERROR(CheckName("vector field name", op.field, o));
  if (op.dim == 0 || op.dim > o.max_vector_dim) {
    return Invalid("vector field '" + op.field + "' dimension " + std::to_string(op.dim) +
                   " (allowed 1.." + std::to_string(o.max_vector_dim) + ")");
  }
  if (op.metric != Metric::kCosine && op.metric != Metric::kInnerProduct &&
      op.metric != Metric::kL2) {
    return Invalid("unknown metric");
  }
  return Status::OK();
}

Status ValidateFieldDrop(const WriteBatch::DropFieldOp& op, const Options& o) {
  LOCI_RETURN_IF_ERROR(CheckName("space", op.space, o));
  return CheckName("vector field name", op.field, o);
}

Status ValidateBatch(const WriteBatch& batch, const Options& o) {
  if (batch.empty()) return Invalid("empty batch");
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const WriteBatch::Op& op = batch.ops()[i];
    Status s;
    if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
      s = ValidateDraft(put->draft, o);
    } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
      s = ValidatePatch(update->patch, o);
      const std::optional<std::vector<CubeId>>& parents = update->patch.parents;
      if (s.ok() && parents &&
          std::find(parents->begin(), parents->end(), update->id) != parents->end()) {
        s = Invalid("cube " + std::to_string(update->id) + " cannot be its own parent");
      }
    } else if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
      if (retire->valid_to && *retire->valid_to == kForever) {
        s = Invalid("retire at the end of time");
      }
    } else if (const auto* define = std::get_if<WriteBatch::DefineFieldOp>(&op)) {
      s = ValidateFieldDefinition(*define, o);
    } else if (const auto* drop = std::get_if<WriteBatch::DropFieldOp>(&op)) {
      s = ValidateFieldDrop(*drop, o);
    } else if (const auto* link = std::get_if<WriteBatch::LinkOp>(&op)) {
      s = ValidateLink(*link, o);
    } else if (const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op)) {
      s = ValidateUnlink(*unlink, o);
    } else if (const auto* purge_space = std::get_if<WriteBatch::PurgeSpaceOp>(&op)) {
      s = CheckName("space", purge_space->space, o);
    } else if (std::get<WriteBatch::PurgeOp>(op).id & kBatchRefBit) {
      s = Invalid("a placeholder id cannot be purged: a cube is purged once committed");
    }
    if (!s.ok()) {
      return batch.size() == 1 ? s : s.WithContext("operation " + std::to_string(i));
    }
  }
  return Status::OK();
}

bool HasPurge(const WriteBatch& batch) {
  return std::any_of(batch.ops().begin(), batch.ops().end(), [](const WriteBatch::Op& op) {
    return std::holds_alternative<WriteBatch::PurgeOp>(op) ||
           std::holds_alternative<WriteBatch::PurgeSpaceOp>(op);
  });
}

}  // namespace loci::engine
