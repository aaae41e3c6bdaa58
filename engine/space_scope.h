// Space scoping: whether a cube belongs to the space an operation names, and the one error for
// a cube that is not there. A cube of another space, or of a space that does not exist, gets
// exactly the status and message of an id never assigned, so that no error tells a caller
// confined to one space anything about what another space holds (design.md §2).

#ifndef LOCI_ENGINE_SPACE_SCOPE_H_
#define LOCI_ENGINE_SPACE_SCOPE_H_

#include <string>

#include "engine/catalog.h"
#include "loci/cube.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// NotFound "cube <id> does not exist".
Status CubeNotFound(CubeId id);

// Whether `v` belongs to the space named `space` in `catalog` (false if there is no such space).
bool InSpace(const Version& v, const std::string& space, const Catalog& catalog);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SPACE_SCOPE_H_
