// Space membership and the missing-cube error.

#include "engine/space_scope.h"

namespace loci::engine {

Status CubeNotFound(CubeId id) {
  return Status::NotFound("cube " + std::to_string(id) + " does not exist");
}

bool InSpace(const Version& v, const std::string& space, const Catalog& catalog) {
  const SpaceDef* s = catalog.FindSpace(space);
  return s != nullptr && v.space_id == s->id;
}

}  // namespace loci::engine
