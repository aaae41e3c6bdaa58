// Superblock: the root of a database's durable state (design.md §4). It names the checkpoint
// files to load, the LSN they cover and the first WAL segment to replay after them, and keeps
// the commit clock's and id allocator's high-water marks.
//
// The file SUPERBLOCK holds two 4 KiB copies, slot 0 and slot 1; a copy with sequence number
// seq lives in slot seq % 2. Every update writes the new state twice — first as seq + 1 into
// its slot (synced), then as seq + 2 into the other slot (synced) — and only then may the
// caller delete what the old state named. So:
//  - a crash during the first write leaves the old state in the other slot, whose files still
//    exist; a crash during the second leaves the new state in the first slot;
//  - once an update returns, both copies name the new state, so damage to either copy alone
//    (bit rot, a torn write) never makes the database unopenable: the other copy is used, the
//    damage is reported, and the next update rewrites both.
// Open takes the valid copy with the highest sequence number.
//
//   slot: magic[8] format:u32 body_length:u32 body checksum:u64
//   body: seq db_uuid[16] created checkpoint_lsn checkpoint_checksum wal_first_segment
//         next_file_number clock_high_water next_cube_id n_checkpoints (file_number bytes)*
//         cube_id_limit                                                   (format 2 and 3)
//         flags                                                           (format 3 only)
//
// Format 1 (no cube_id_limit) is still read, as if cube_id_limit were next_cube_id. Format 3
// is written only when some flag is set (a database without flags stays readable by a build
// that knows only format 2, and each state has one encoding); a format 3 copy without flags,
// or with a flag this build does not know, is refused. A copy of a later format is refused
// with NotSupported saying that a newer Loci wrote it.

#ifndef LOCI_ENGINE_SUPERBLOCK_H_
#define LOCI_ENGINE_SUPERBLOCK_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/db_uuid.h"
#include "common/file_names.h"
#include "loci/env.h"
#include "loci/status.h"

namespace loci::engine {

inline constexpr size_t kSuperblockSlotSize = 4096;
// The newest format this build reads and writes.
inline constexpr uint32_t kSuperblockFormat = 3;

// Superblock::flags.
enum SuperblockFlags : uint64_t {
  // Some cube's version numbers skip: Db::Salvage copied a database whose damage lost versions
  // of a cube but not the later ones (complete versions, not deltas), and kept their numbers
  // rather than renumber them. Recovery and Verify then require a cube's version numbers to
  // increase, not to run 1, 2, 3... Set only by salvage; it stays set.
  kVersionGapsFlag = 0x1,
  kKnownSuperblockFlags = kVersionGapsFlag,
};

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
  uint64_t next_cube_id = 1;         // as of the checkpoint
  // No cube id at or above this has ever been assigned. The engine raises it, durably, before
  // it assigns one, so a recovery that finds acknowledged writes lost (a damaged WAL tail, or
  // non-sync writes a power loss took) resumes at or above it and never reissues an id.
  uint64_t cube_id_limit = 1;
  std::vector<CheckpointFile> checkpoints;  // the base first, then deltas in order
  uint64_t flags = 0;                       // SuperblockFlags

  bool operator==(const Superblock&) const = default;
};

// Encodes one slot (kSuperblockSlotSize bytes): format 3 if sb.flags is not 0, else format 2.
// InvalidArgument if it does not fit or sb.flags has a bit this build does not know.
Status EncodeSuperblockSlot(const Superblock& sb, std::string* slot);
// Decodes one slot; Corruption with a reason if it is not a valid copy, NotSupported if it is
// a valid copy of a later format than this build reads.
Status DecodeSuperblockSlot(std::string_view slot, Superblock* sb);

// Reads both copies of `path` and returns the newest valid one in *sb. When one copy is not
// valid, *damaged_copy (if not null) says which and why, e.g. "slot 1 (offset 4096): checksum
// mismatch"; it is cleared otherwise. Errors: NotFound if the file does not exist; Corruption
// naming both reasons if neither copy is valid; NotSupported if either copy was written by a
// newer Loci (its later format may mean something this build cannot honour).
//
// `settle_reads` > 0 re-reads the file up to that many more times, a few hundred microseconds
// apart, while a copy is not valid: a reader that does not hold the writer lock (a read-only
// open) may catch a copy in the middle of being rewritten, which a moment later is whole.
Status ReadSuperblock(Env* env, const std::string& path, Superblock* sb,
                      std::string* damaged_copy = nullptr, int settle_reads = 0);

// Writes `sb` into slot sb.seq % 2 of the already open `file` and syncs it. One half of
// WriteSuperblockCopies; on its own, for tests and tools that build superblock files.
Status WriteSuperblock(WritableFile* file, const Superblock& sb);

// Installs `*sb` as the new state: writes it with sequence number sb->seq + 1 into its slot and
// syncs, then with sb->seq + 2 into the other slot and syncs (see the file comment), leaving
// sb->seq at the last sequence number written. On success both copies hold the new state; on
// failure the caller must poison its instance (what the file holds is unknown) and must not
// delete anything the previous state named.
Status WriteSuperblockCopies(WritableFile* file, Superblock* sb);

// Creates the SUPERBLOCK of a new database in `paths.dir()`: both copies of `sb` (sequence
// numbers 0 and 1) written to a temporary file and synced, then renamed into place and the
// directory synced, so a crash leaves either no SUPERBLOCK or a whole one. Fails if the
// temporary file exists.
Status CreateSuperblockFile(Env* env, const DbPaths& paths, Superblock sb);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SUPERBLOCK_H_
