// Salvage's reading side: everything that verifies in a damaged database's files, and where
// the damage is.
//
// Unlike recovery, which stops at the first inconsistency, these scanners take every piece
// that verifies on its own and step over the rest:
//  - SUPERBLOCK: each copy alone (either may be the damaged one);
//  - a checkpoint file: entry by entry. An entry's checksum is seeded with the file number and
//    its offset, so after a damaged entry the scan tries every following offset (entries are
//    not aligned) until one verifies, and goes on from there: damage loses what it covers, not
//    the rest of the file. A damaged header costs nothing but the LSN bound it carries (the
//    file number comes from the file's name);
//  - a WAL segment: record by record, at every 8-byte aligned offset after damage (records are
//    only ever written aligned, in place); no hash chain or LSN order is required, only each
//    record's own checksum. The checksum is seeded with the segment's salt, so a segment whose
//    header fails its checksum is read with the salt as found, or with the one-bit change to it
//    under which its records verify (a repair a 64-bit checksum makes safe);
// Bytes that fail are reported with what they still decode to, unverified, which usually
// names the versions they held (see LostVersion::certain).
//
// Every scan is bounded by its input: resynchronisation hashes at most a fixed multiple of the
// file's size, after which the rest of the file is reported unread.

#ifndef LOCI_ENGINE_SALVAGE_SCAN_H_
#define LOCI_ENGINE_SALVAGE_SCAN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob/format.h"
#include "common/db_uuid.h"
#include "engine/salvage_catalog.h"
#include "engine/salvage_losses.h"
#include "engine/superblock.h"
#include "index/trace_graph.h"
#include "loci/env.h"
#include "loci/salvage.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// A version whose checkpoint entry or WAL record verified.
struct FoundVersion {
  std::unique_ptr<Version> version;  // with the source's ids; tx_from and lsn set
  std::string file;                  // where it was found
  uint64_t offset = 0;
};

// An edge version whose checkpoint entry or WAL record verified.
struct FoundEdge {
  std::unique_ptr<index::EdgeVersion> edge;  // with the source's ids; tx_from and lsn set
  std::string file;
  uint64_t offset = 0;
};

// What a source database's files yielded.
struct SourceFinds {
  std::optional<DbUuid> uuid;            // the database's, once known
  std::optional<Superblock> superblock;  // the newest valid copy
  bool read_anything = false;            // some header, entry or record verified
  // No id at or above this was ever issued: the highest cube_id_limit of the valid superblock
  // copies (0 without one).
  CubeId superblock_id_limit = 0;
  // The highest next cube id a checkpoint's end entry or a seal recorded (1 without one).
  CubeId recorded_next_id = 1;
  Timestamp clock_high_water = 0;  // the highest commit time seen or recorded
  CatalogFacts catalog;
  std::vector<FoundVersion> versions;  // in the order found
  std::vector<FoundEdge> edges;        // in the order found
  std::set<CubeId> purged;             // cubes a WAL record purged: never copied
  // Per cube, the highest first version a checkpoint's chain-start entry recorded: versions
  // below it were pruned by retention, and are not copied.
  std::map<CubeId, uint32_t> chain_starts;
  // Blob copies that verified inside WAL batches (a blob up to Options::max_logged_blob_bytes
  // travels in its batch; the arena copy may never have reached the disk).
  std::vector<std::pair<blob::BlobRef, std::string>> logged_blobs;
  std::vector<SalvageLoss> losses;     // damage; LostVersion::certain false for what it names
  std::vector<LsnWindow> lsn_windows;  // the LSNs of what damaged entries and records held
  std::vector<std::string> notes;      // damage that costs nothing by itself
};

// Scans the SUPERBLOCK file image (both copies) into *finds. NotSupported if a copy was
// written by a newer Loci (then nothing else of the database should be trusted to mean what
// this build thinks); otherwise OK, with damage noted.
Status ScanSuperblockImage(std::string_view image, const std::string& file, SourceFinds* finds);

// Scans the image of checkpoint file number `file_number` (from its name). Entries go to
// *finds; damage to finds->losses. A file whose header names another database is skipped.
void ScanCheckpointImage(std::string_view image, uint64_t file_number, const std::string& file,
                         SourceFinds* finds);

// Scans the image of WAL segment `segment_no` (from its name) likewise.
void ScanWalSegmentImage(std::string_view image, uint64_t segment_no, const std::string& file,
                         SourceFinds* finds);

// Reads every file of the database in directory `dir` through the scanners above, strictly
// read-only. A file that cannot be read is a loss, not an error. NotFound if `dir` does not
// exist or holds no Loci file at all; NotSupported as ScanSuperblockImage; IOError if `dir`
// cannot be listed.
Status GatherSource(Env* env, const std::string& dir, SourceFinds* finds);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_SCAN_H_
