// Salvage's account of what was lost, completed once the versions copied are known.

#ifndef LOCI_ENGINE_SALVAGE_LOSSES_H_
#define LOCI_ENGINE_SALVAGE_LOSSES_H_

#include <map>
#include <string>
#include <vector>

#include "loci/cube.h"
#include "loci/salvage.h"

namespace loci::engine {

// `copied` holds, per cube, the version numbers copied, ascending. Completes *losses (the
// damage found, naming what it appears to have held, and the versions left out) against it:
//  - a version damaged bytes appear to hold that was copied from another copy is struck from
//    their loss (named in its text only: the damage may be in the very bytes that named it,
//    so the loss stays, as one whose content is not known);
//  - a version number missing below a copied one of its cube is lost for certain: it is
//    marked so in the loss of the damage that appears to hold it, or else listed in a loss of
//    its own, without a file (one per cube);
// and orders the losses by file and offset, those without a file last.
void AccountLosses(const std::map<CubeId, std::vector<uint32_t>>& copied,
                   std::vector<SalvageLoss>* losses);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_LOSSES_H_
