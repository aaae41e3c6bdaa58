// Batch resolution: what the group-commit leader does to turn a batch of user operations into
// the versions and catalog changes it logs and publishes. It assigns ids and version numbers,
// applies patches to the latest versions, creates spaces and vector fields on first use, drops
// vector fields (new versions never carry a dropped field's vectors) and checks everything that
// needs the catalog or the record table (dimensions, existence and space, retirement, parents,
// time intervals, updates that would change nothing).
//
// A group of batches is resolved in order against a GroupState, so a batch sees the effects of
// the batches before it in the same group; a batch that fails leaves the GroupState untouched.

#ifndef LOCI_ENGINE_BATCH_RESOLVER_H_
#define LOCI_ENGINE_BATCH_RESOLVER_H_

#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "blob/format.h"
#include "engine/catalog.h"
#include "engine/record_codec.h"
#include "engine/record_table.h"
#include "loci/options.h"
#include "loci/write_batch.h"
#include "query/version.h"

namespace loci::engine {

// The blobs a writer appended for one operation before queueing: the payload (if the op sets
// one) and one ref per vector the op sets, in the op's order.
struct OpBlobs {
  blob::BlobRef payload;
  std::vector<blob::BlobRef> vectors;
};

struct ResolvedBatch {
  Timestamp commit_time = 0;
  std::vector<SpaceEntry> spaces;     // created by this batch
  std::vector<FieldEntry> fields;     // created by this batch
  std::vector<FieldDropEntry> drops;  // dropped by this batch
  std::vector<std::unique_ptr<Version>> versions;
  std::vector<std::unique_ptr<index::EdgeVersion>> edges;  // linked and unlinked, in order
  // Cubes purged, in order, after the versions and edges above are published (a batch may
  // update or link a cube, then purge it).
  std::vector<PurgeEntry> purges;
  std::vector<WriteResult::OpResult> results;  // one per operation
  std::unique_ptr<Catalog> catalog;            // the catalog after this batch, if it changed it
  CubeId next_id = 0;                          // the id allocator after this batch
};

// What the batches resolved so far in this group changed, over what earlier groups (committed
// or still in flight) left.
class GroupState {
 public:
  // The newest version of an id, including those of earlier groups not yet published.
  using LatestFn = std::function<const Version*(CubeId)>;
  // The same for an edge.
  using LatestEdgeFn = std::function<const index::EdgeVersion*(const index::EdgeKey&)>;
  // The bytes of a non-empty blob that a version refers to (a payload or a vector), unverified,
  // or nullptr if they cannot be read; the blob may belong to a version not yet published.
  using BlobFn = std::function<const char*(const blob::BlobRef&)>;

  // `catalog` is the newest catalog (with the changes of groups still in flight).
  GroupState(const Catalog* catalog, LatestFn latest, LatestEdgeFn latest_edge, BlobFn blob,
             CubeId next_id);

  const Catalog& catalog() const { return changed_catalog_ ? *changed_catalog_ : *base_catalog_; }
  // The newest version of `id` including this group's, or nullptr (also once purged).
  const Version* Latest(CubeId id) const;
  // The newest version of edge `key` including this group's, or nullptr.
  const index::EdgeVersion* LatestEdge(const index::EdgeKey& key) const;
  // Whether blob `ref` holds exactly `bytes` (false if it cannot be read).
  bool BlobHolds(const blob::BlobRef& ref, std::string_view bytes) const;
  CubeId next_id() const { return next_id_; }
  // The catalog to publish after the group, or nullptr if unchanged.
  std::unique_ptr<Catalog> TakeChangedCatalog() { return std::move(changed_catalog_); }

  // Makes a resolved batch visible to the batches after it (a batch the caller then rejects is
  // simply not accepted). Takes batch->catalog, if any.
  void Accept(ResolvedBatch* batch);

 private:
  const Catalog* const base_catalog_;
  const LatestFn latest_;
  const LatestEdgeFn latest_edge_;
  const BlobFn blob_;
  std::unique_ptr<Catalog> changed_catalog_;
  std::unordered_map<CubeId, const Version*> pending_;  // nullptr: purged
  std::unordered_map<index::EdgeKey, const index::EdgeVersion*, index::EdgeKeyHash> pending_edges_;
  CubeId next_id_;
};

// Resolves `batch` (already validated by ValidateBatch) with commit time `commit_time` against
// `state`, which it does not change: on success fills *out, which the caller passes to
// state->Accept if it keeps the batch; on failure returns InvalidArgument or NotFound naming the
// operation. Placeholder ids (kBatchRefBit) in links and parents are replaced by the ids of
// the Puts they name; edges are checked against the cubes' spaces (an endpoint of another
// space is refused exactly like a missing one). An operation confined to a space
// (UpdateOp/RetireOp::space) on a cube of another space gets the NotFound of a missing id
// (space_scope.h). An Update that sets neither valid_from nor valid_to and would give the cube the
// content of its latest version, over valid times that version covers already, is InvalidArgument
// ("nothing to change").
Status ResolveBatch(const WriteBatch& batch, std::span<const OpBlobs> blobs, Timestamp commit_time,
                    GroupState* state, ResolvedBatch* out);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_BATCH_RESOLVER_H_
