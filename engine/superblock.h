// Superblock: the root of a database's durable state (design.md §4). It names the checkpoint
// files to load, the LSN they cover and the first WAL segment to replay after them, and keeps
// the commit clock's and id allocator's high-water marks.
//
// The file SUPERBLOCK holds two 4 KiB copies. A write goes to the slot of its sequence number
// (seq % 2) and is synced; the other copy stays intact, so a torn write leaves the previous
// superblock readable. Open takes the valid copy with the highest sequence number.
//
//   slot: magic[8] format:u32 body_length:u32 body checksum:u64
//   body: seq db_uuid[16] created checkpoint_lsn checkpoint_checksum wal_first_segment
//         next_file_number clock_high_water next_cube_id n_checkpoints (file_number bytes)*

#ifndef LOCI_ENGINE_SUPERBLOCK_H_
#define LOCI_ENGINE_SUPERBLOCK_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/db_uuid.h"
#include "loci/env.h"
#include "loci/status.h"

namespace loci::engine {

inline constexpr size_t kSuperblockSlotSize = 4096;

struct CheckpointFile {
  uint64_t file_number = 0;
  uint64_t bytes = 0;
  bool operator==(const CheckpointFile&) const = default;
};

struct Superblock {
  uint64_t seq = 0;
  DbUuid db_uuid{};
  int64_t created = 0;               // microseconds since the epoch
  uint64_t checkpoint_lsn = 0;       // the checkpoint files cover the WAL up to here
  uint64_t checkpoint_checksum = 0;  // hash-chain value of record checkpoint_lsn
  uint64_t wal_first_segment = 1;    // replay starts with this segment
  uint64_t next_file_number = 1;     // for checkpoint files
  int64_t clock_high_water = 0;      // no commit time at or below this is issued again
  uint64_t next_cube_id = 1;
  std::vector<CheckpointFile> checkpoints;  // the base first, then deltas in order

  bool operator==(const Superblock&) const = default;
};

// Encodes one slot (kSuperblockSlotSize bytes). InvalidArgument if it does not fit.
Status EncodeSuperblockSlot(const Superblock& sb, std::string* slot);
// Decodes one slot; Corruption with a reason if it is not a valid copy.
Status DecodeSuperblockSlot(std::string_view slot, Superblock* sb);

// Reads both copies of `path` and returns the newest valid one. Corruption naming both reasons
// if neither is valid.
Status ReadSuperblock(Env* env, const std::string& path, Superblock* sb);

// Writes `sb` into its slot of the already open `file` and syncs it.
Status WriteSuperblock(WritableFile* file, const Superblock& sb);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SUPERBLOCK_H_
