// SalvageWriter: writes the database salvage produces, as a new database of its own (a new
// uuid), in the form a checkpoint gives every database: a blob arena holding the copied blobs,
// one base checkpoint file holding the catalog and every copied version, an empty WAL that
// continues it, and the superblock naming them.
//
// A checkpoint rather than one WAL batch per original commit: it holds versions exactly as
// recovery loads them, it is written by the engine's own CheckpointWriter, and the versions
// go in (cube id, version number) order, the order of every base checkpoint, in which each
// cube's first version comes in increasing id order whatever the commit order was (recovery
// requires new ids to grow). Commit times, and each version's place in commit order (its LSN,
// renumbered densely from 1), are kept in the versions themselves.
//
// Files are synced in the order a commit syncs them — blobs, then what refers to them — and
// the superblock is installed last, by a rename: until then the directory holds no SUPERBLOCK,
// and Open does not take it for a database.

#ifndef LOCI_ENGINE_SALVAGE_WRITER_H_
#define LOCI_ENGINE_SALVAGE_WRITER_H_

#include <memory>
#include <string>
#include <vector>

#include "blob/arena.h"
#include "common/file_names.h"
#include "engine/catalog.h"
#include "index/trace_graph.h"
#include "loci/env.h"
#include "loci/options.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// What the new superblock and checkpoint record besides the versions.
struct SalvageRoot {
  int64_t created = 0;
  Timestamp clock_high_water = 0;
  CubeId next_cube_id = 1;   // above every copied id
  CubeId cube_id_limit = 1;  // above every id the source may have issued
  uint64_t flags = 0;        // SuperblockFlags
  uint64_t last_lsn = 0;     // the highest LSN a copied version carries
};

// InvalidArgument unless `dir` is absent or an empty directory (salvage never writes over
// anything, nor into what it cannot list).
Status CheckSalvageTarget(Env* env, const std::string& dir);

class SalvageWriter {
 public:
  // `options` (its file sizes) must outlive the writer.
  SalvageWriter(Env* env, const Options& options, std::string dir);
  ~SalvageWriter();
  SalvageWriter(const SalvageWriter&) = delete;
  SalvageWriter& operator=(const SalvageWriter&) = delete;

  // Creates the directory (one level) or takes it if it is empty, and opens the new arena.
  // InvalidArgument as CheckSalvageTarget; IOError.
  Status Create();

  // The new database's arena, for the copied blobs. REQUIRES: Create succeeded.
  blob::BlobArena* arena() { return arena_.get(); }

  // Syncs the arena, writes the checkpoint holding `catalog` and `versions` and the empty WAL
  // after it, then installs the superblock. REQUIRES: Create succeeded; `versions` in (id,
  // number) order, their blobs in arena(), their LSNs at most root.last_lsn, their space and
  // field ids of `catalog`. On failure the directory holds no SUPERBLOCK.
  Status Finish(const Catalog& catalog, const std::vector<const Version*>& versions,
                const std::vector<const index::EdgeVersion*>& edges, const SalvageRoot& root);

 private:
  Status WriteCheckpoint(const Catalog& catalog, const std::vector<const Version*>& versions,
                         const std::vector<const index::EdgeVersion*>& edges,
                         const SalvageRoot& root, uint64_t* bytes);
  Status WriteSuperblock(const SalvageRoot& root, uint64_t checkpoint_bytes);

  Env* const env_;
  const Options& options_;
  const DbPaths paths_;
  DbUuid uuid_{};
  std::unique_ptr<blob::BlobArena> arena_;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_WRITER_H_
