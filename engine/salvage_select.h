// Salvage's choice of the versions to copy, among those whose entries and records verified.
//
// The same version is usually found more than once (a checkpoint and the WAL it covers, a
// base and an old segment not yet deleted): copies are merged when they agree. Two verified
// copies that disagree, or a version that breaks what the engine guarantees of every cube
// (one space, commit times that never go back), can only come from a bug or a forged file:
// such a version is not copied, since no checksum can say which copy is right, and the loss
// says why.

#ifndef LOCI_ENGINE_SALVAGE_SELECT_H_
#define LOCI_ENGINE_SALVAGE_SELECT_H_

#include <memory>
#include <string>
#include <vector>

#include "engine/salvage_catalog.h"
#include "engine/salvage_scan.h"
#include "loci/salvage.h"
#include "query/version.h"

namespace loci::engine {

// Chooses, among `found` (the source's ids), the versions to copy, mapped through `map` to the
// new catalog's ids, in the order the new checkpoint holds them: by cube id, then version
// number. Every version left out is added to *losses with the reason: an id at or above
// `id_bound` (one the source could not have issued); its space or a field unknown, a vector
// that does not fit its field (CatalogMap::Map); copies that disagree; a space other than its
// cube's first copied version's, or a commit time before the one of the version it would
// follow.
std::vector<FoundVersion> SelectVersions(std::vector<FoundVersion> found, const CatalogMap& map,
                                         CubeId id_bound, std::vector<SalvageLoss>* losses);

// Chooses, among `found`, the edge versions to copy, mapped through `map`: one copy per
// (edge, version number) when every verified copy agrees, whose two ends are cubes of
// `kept` (the versions copied, mapped) in the edge's space. What is left out is counted in a
// line of *notes (edges have no place in a SalvageLoss, which names cube versions). Sorted by
// edge and version number.
std::vector<std::unique_ptr<index::EdgeVersion>> SelectEdges(
    std::vector<FoundEdge> found, const CatalogMap& map,
    const std::vector<std::unique_ptr<Version>>& kept, std::vector<std::string>* notes);

// The loss of version `v`, found at `file` and `offset`, for the reason `why`.
SalvageLoss LostCopy(const Version& v, const std::string& file, uint64_t offset,
                     const std::string& why);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_SELECT_H_
