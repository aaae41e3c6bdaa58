// Checkpoint files: the record table and catalog in a compact, checksummed form, so that the
// WAL they cover can be deleted (design.md §4).
//
// A checkpoint is a chain of files: a base holding every version up to its LSN, then deltas
// holding only the versions committed since the previous file, so a checkpoint's cost grows
// with what changed. When the deltas outgrow the base they are merged into a new base. Every
// file carries the whole catalog (small).
//
//   file:  magic[8] format:u32 db_uuid[16] file_number:u64 covers_lsn:u64 header_checksum:u64
//          entry* end_entry
//   entry: length:u32 type:u8 body[length] checksum:u64   (XXH3 of type+body, seeded with the
//                                                          file number and the entry's offset)
//   types: space (id name), field, field drop (space_id field_id, right after the field's
//          entry), version (tx_from lsn body), version in an episode (tx_from lsn body
//          episode:lp), edge (tx_from lsn edge_body, after every version), chain start
//          (cube_id:varint first_version:varint, before every version), end (entry count,
//          next_cube_id, clock_high_water)
//
// Format 1 has no field drop entries; format 2 is written when the catalog has a dropped field
// (so a database that never dropped one stays readable by a build that knows only format 1).
// Both are read. Episode-version and edge entries (the trace graph's) are written in either
// format, only by databases that use it: a build that predates them refuses them by type.
//
// Chain-start entries record retention (gc/retention.h): cube `cube_id` keeps no version older
// than `first_version` (>= 2). A base writes one for every cube whose oldest version is not
// version 1; a delta writes one for every cube pruned since the previous file, and loading it
// drops the versions below first_version that earlier files held. Written in either format,
// only by databases that prune.

#ifndef LOCI_ENGINE_CHECKPOINT_H_
#define LOCI_ENGINE_CHECKPOINT_H_

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "common/db_uuid.h"
#include "engine/catalog.h"
#include "index/trace_graph.h"
#include "loci/env.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// Streams entries into a new checkpoint file.
class CheckpointWriter {
 public:
  CheckpointWriter(Env* env, std::string path, const DbUuid& uuid, uint64_t file_number,
                   uint64_t covers_lsn);
  ~CheckpointWriter();

  // Creates the file and writes the header and `catalog` (every space and field, dropped
  // fields flagged). REQUIRES: `catalog` outlives the writer.
  Status Open(const Catalog& catalog);
  // Adds `v`, without its vectors of fields the catalog has dropped (they are never read
  // again; their blobs stay in the arena).
  void AddVersion(const Version& v);
  // Adds an edge version. REQUIRES: after every AddVersion.
  void AddEdge(const index::EdgeVersion& e);
  // Records that cube `id` keeps no version below `first_version`. REQUIRES: first_version >=
  // 2, before every AddVersion.
  void AddChainStart(uint64_t id, uint32_t first_version);
  // Writes the end entry and syncs the file. On success *bytes is the file size.
  Status Finish(uint64_t next_cube_id, int64_t clock_high_water, uint64_t* bytes);

 private:
  void AddEntry(uint8_t type, std::string_view body);
  Status Flush();

  Env* const env_;
  const std::string path_;
  const DbUuid uuid_;
  const uint64_t file_number_;
  const uint64_t covers_lsn_;
  const Catalog* catalog_ = nullptr;
  bool has_drops_ = false;  // whether catalog_ has a dropped field (format 2)
  std::unique_ptr<WritableFile> file_;
  std::string buf_;
  uint64_t offset_ = 0;  // bytes written to the file so far
  uint64_t entries_ = 0;
  Status status_;
};

struct CheckpointContents {
  uint64_t covers_lsn = 0;
  uint64_t next_cube_id = 1;
  int64_t clock_high_water = 0;
  Catalog catalog;
};

// What ReadCheckpoint hands over, entry by entry in file order.
struct CheckpointVisitor {
  std::function<Status(std::unique_ptr<Version>)> on_version;  // tx_from and lsn set
  std::function<Status(std::unique_ptr<index::EdgeVersion>)> on_edge;
  // A chain-start entry: cube `id` keeps no version below `first_version` (>= 2).
  std::function<Status(uint64_t id, uint32_t first_version)> on_chain_start;
};

// Reads and verifies the checkpoint file `path`, calling `visitor`'s functions for its
// versions, edges and chain starts in file order. Corruption naming the file and offset on any
// damage, including a size different from `expected_bytes`.
Status ReadCheckpoint(Env* env, const std::string& path, const DbUuid& uuid, uint64_t file_number,
                      uint64_t expected_bytes, const CheckpointVisitor& visitor,
                      CheckpointContents* contents);

// Entry by entry, for salvage (engine/salvage_scan.h), which takes every entry that verifies
// where ReadCheckpoint stops at the first that does not. Nothing here reads outside `image`.

enum class CheckpointEntryType : uint8_t {
  kSpace = 1,
  kField = 2,
  kVersion = 3,
  kEnd = 4,
  kFieldDrop = 5,
  kEpisodeVersion = 6,
  kEdge = 7,
  kChainStart = 8,
};

struct CheckpointHeader {
  uint32_t format = 0;
  DbUuid db_uuid{};
  uint64_t file_number = 0;
  uint64_t covers_lsn = 0;
};

struct CheckpointEntry {
  uint8_t type = 0;       // a CheckpointEntryType, unless read unverified
  std::string_view body;  // a view into the image
  uint64_t size = 0;      // bytes the entry takes: length, type, body and checksum
};

// Where the first entry starts: just past the header.
uint64_t CheckpointEntriesOffset();
// Decodes and verifies the header at the start of `image`. Corruption saying what is wrong.
Status DecodeCheckpointHeader(std::string_view image, CheckpointHeader* header);
// The bytes that verifying the entry at `offset` would hash, or 0 when its length or type
// alone rule it out (cheap: lets a caller bound its work before ParseCheckpointEntry).
uint64_t CheckpointEntryCost(std::string_view image, uint64_t offset);
// Whether the bytes at `offset` are an entry of checkpoint file `file_number` that verifies
// (its checksum is seeded with both); fills *entry if so.
bool ParseCheckpointEntry(std::string_view image, uint64_t file_number, uint64_t offset,
                          CheckpointEntry* entry);
// The entry at `offset` as its bytes claim, unverified, its body cut so that it ends by `end`
// (for naming what damaged bytes held). False if fewer than an entry's overhead remain.
bool PeekCheckpointEntry(std::string_view image, uint64_t offset, uint64_t end,
                         CheckpointEntry* entry);
// Decode the bodies of a version entry (tx_from and lsn set) and of the end entry; false if
// malformed.
bool DecodeCheckpointVersion(std::string_view body, Version* v);
bool DecodeCheckpointEpisodeVersion(std::string_view body, Version* v);
bool DecodeCheckpointEdge(std::string_view body, index::EdgeVersion* e);
bool DecodeCheckpointChainStart(std::string_view body, uint64_t* id, uint32_t* first_version);
bool DecodeCheckpointEnd(std::string_view body, uint64_t* entries, uint64_t* next_cube_id,
                         int64_t* clock_high_water);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_CHECKPOINT_H_
