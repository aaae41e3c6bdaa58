// Salvage's account of what was lost, completed once the versions copied are known.

#ifndef LOCI_ENGINE_SALVAGE_LOSSES_H_
#define LOCI_ENGINE_SALVAGE_LOSSES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "loci/cube.h"
#include "loci/salvage.h"

namespace loci::engine {

// A version salvage copied, as the source numbered and logged it.
struct CopiedVersion {
  uint32_t number = 0;
  uint64_t lsn = 0;  // of the record that committed it, in the source
};

// Damage (losses[loss]) to WAL records or checkpoint entries: the versions it destroyed were
// committed at LSNs strictly between `after` and `before` (between the intact records around
// the damage; up to the LSN a checkpoint covers).
struct LsnWindow {
  size_t loss = 0;
  uint64_t after = 0;
  uint64_t before = UINT64_MAX;
};

// `copied` holds, per cube, the versions copied, ascending. Completes *losses (the damage
// found, naming what it appears to have held, and the versions left out) against it:
//  - a version damaged bytes appear to hold that was copied from another copy is struck from
//    their loss (named in its text only: the damage may be in the very bytes that named it,
//    so the loss stays, as one whose content is not known);
//  - a version number missing below a copied one of its cube, and not below the cube's
//    `chain_starts` entry (retention pruned those), is lost for certain. It is
//    marked so in the loss of the damage that appears to hold it; or else added to the loss of
//    the one damage that can have held it — whose LSNs (`windows`) fall between those of the
//    copied versions around it, every loss without a window and naming no version (a missing
//    or unreadable file) counting as one that can hold anything; or else listed in a loss of
//    its own, without a file (one per cube);
// and orders the losses by file and offset, those without a file last.
void AccountLosses(const std::map<CubeId, std::vector<CopiedVersion>>& copied,
                   const std::map<CubeId, uint32_t>& chain_starts,
                   const std::vector<LsnWindow>& windows, std::vector<SalvageLoss>* losses);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_LOSSES_H_
