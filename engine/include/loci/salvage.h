// What Db::Salvage (loci/db.h) copied out of a damaged database, and what it could not.

#ifndef LOCI_SALVAGE_H_
#define LOCI_SALVAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loci/cube.h"

namespace loci {

// One version salvage could not copy.
struct LostVersion {
  CubeId id = 0;
  uint32_t version = 0;
  std::optional<Timestamp> committed;  // its commit time, when known
  // True when the database itself says this version existed and is lost: a blob of it that
  // fails its checksum, a copy that contradicts another, a number missing between recovered
  // versions of its cube. False when only damaged bytes name it (what a record or checkpoint
  // entry that failed its checksum still decodes to): then it was probably this version, but
  // the damage may have changed the very bytes that name it.
  bool certain = true;
  bool operator==(const LostVersion&) const = default;
};

// Damage that cost data: where it is and, where known, which versions it took.
struct SalvageLoss {
  // The damaged file (a path under the source directory), or empty when no file can be
  // blamed (a version missing between two recovered ones whose every copy is gone).
  std::string file;
  uint64_t offset = 0;  // where the damage starts in `file`
  uint64_t length = 0;  // bytes unreadable from there (0: not known)
  std::string what;     // the damage, in words
  // The versions lost to it, oldest cube first. Empty when nothing in the damaged bytes can
  // be read (a run of garbage, a missing file): what it held is unknown.
  std::vector<LostVersion> versions;
};

struct SalvageReport {
  // What the new database holds.
  uint64_t spaces = 0;
  uint64_t cubes = 0;
  uint64_t versions = 0;
  uint64_t blobs = 0;  // payload and vector blobs copied (a blob versions share, once)
  uint64_t blob_bytes = 0;
  // Some cube's version numbers skip versions that were lost (see Db::Salvage).
  bool version_gaps = false;
  // What could not be recovered, ordered by file and offset (unattributed losses last).
  std::vector<SalvageLoss> losses;
  // Damage that cost nothing (one superblock copy, a segment header whose records still
  // verified, a damaged record whose versions another copy held...), one line each.
  std::vector<std::string> notes;
};

}  // namespace loci

#endif  // LOCI_SALVAGE_H_
