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
//          entry), version (tx_from lsn body), end (entry count, next_cube_id,
//          clock_high_water)
//
// Format 1 has no field drop entries; format 2 is written when the catalog has a dropped field
// (so a database that never dropped one stays readable by a build that knows only format 1).
// Both are read.

#ifndef LOCI_ENGINE_CHECKPOINT_H_
#define LOCI_ENGINE_CHECKPOINT_H_

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "common/db_uuid.h"
#include "engine/catalog.h"
#include "engine/version.h"
#include "loci/env.h"
#include "loci/status.h"

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

// Reads and verifies the checkpoint file `path`, calling `on_version` for every version in
// file order (tx_from and lsn set). Corruption naming the file and offset on any damage,
// including a size different from `expected_bytes`.
Status ReadCheckpoint(Env* env, const std::string& path, const DbUuid& uuid, uint64_t file_number,
                      uint64_t expected_bytes,
                      const std::function<Status(std::unique_ptr<Version>)>& on_version,
                      CheckpointContents* contents);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_CHECKPOINT_H_
