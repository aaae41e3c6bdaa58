// The names and paths of the files a database directory holds: the fixed names (SUPERBLOCK,
// LOCK), the numbered ones ("wal-00000012.log", "arena-00000003.blob", "ckpt-00000007.ckpt",
// "atlas-00000007.idx") with one strict parser each, and DbPaths, which builds a file's path
// from the directory. Every module names database files through here, so a format is defined
// once and a path is joined the same way everywhere.

#ifndef LOCI_COMMON_FILE_NAMES_H_
#define LOCI_COMMON_FILE_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace loci {

// The superblock (two checksummed copies); replaced by renaming kSuperblockTempFileName over it.
inline constexpr char kSuperblockFileName[] = "SUPERBLOCK";
inline constexpr char kSuperblockTempFileName[] = "SUPERBLOCK.tmp";
// Names the process holding the writer lock ("pid N"). The lock itself is on the directory
// (Env::LockDir); this file only improves the message a second opener gets.
inline constexpr char kLockFileName[] = "LOCK";

// "wal-00000012.log": a WAL segment.
std::string WalSegmentFileName(uint64_t segment_no);
// True, with *segment_no set, if `name` is a WAL segment's name.
bool ParseWalSegmentFileName(std::string_view name, uint64_t* segment_no);

// "wal-00000012.new": a WAL segment being created. It becomes wal-00000012.log by a rename
// once its header is durable, so a segment under its real name always has one.
std::string WalSegmentTempFileName(uint64_t segment_no);
bool ParseWalSegmentTempFileName(std::string_view name, uint64_t* segment_no);

// "arena-00000003.blob": a blob arena generation (numbers 1..UINT32_MAX).
std::string ArenaGenerationFileName(uint32_t generation);
bool ParseArenaGenerationFileName(std::string_view name, uint32_t* generation);

// "ckpt-00000007.ckpt": a checkpoint file.
std::string CheckpointFileName(uint64_t file_number);
bool ParseCheckpointFileName(std::string_view name, uint64_t* file_number);

// "atlas-00000007.idx": the vector index snapshot written with checkpoint file 7.
std::string IndexSnapshotFileName(uint64_t file_number);
bool ParseIndexSnapshotFileName(std::string_view name, uint64_t* file_number);

// Whether `name` is a file Loci writes besides SUPERBLOCK and LOCK: WAL segments (and ones
// being created), arena generations, checkpoints, index snapshots, a superblock not yet
// installed.
bool IsDataFileName(std::string_view name);

// The path of entry `name` of directory `dir`: "dir/name". No separator is added when `dir`
// is empty or already ends with one, so "d/" and "d" give the same paths.
std::string JoinPath(std::string_view dir, std::string_view name);

// The paths of one database directory's files. A small value: copy it freely.
class DbPaths {
 public:
  explicit DbPaths(std::string dir) : dir_(std::move(dir)) {}

  // The directory, as given.
  const std::string& dir() const { return dir_; }
  // Any entry of the directory, e.g. a name GetChildren listed.
  std::string file(std::string_view name) const { return JoinPath(dir_, name); }

  std::string superblock() const { return file(kSuperblockFileName); }
  std::string superblock_temp() const { return file(kSuperblockTempFileName); }
  std::string lock() const { return file(kLockFileName); }
  std::string wal_segment(uint64_t segment_no) const {
    return file(WalSegmentFileName(segment_no));
  }
  std::string wal_segment_temp(uint64_t segment_no) const {
    return file(WalSegmentTempFileName(segment_no));
  }
  std::string arena_generation(uint32_t generation) const {
    return file(ArenaGenerationFileName(generation));
  }
  std::string checkpoint(uint64_t file_number) const {
    return file(CheckpointFileName(file_number));
  }
  std::string index_snapshot(uint64_t file_number) const {
    return file(IndexSnapshotFileName(file_number));
  }

 private:
  std::string dir_;
};

}  // namespace loci

#endif  // LOCI_COMMON_FILE_NAMES_H_
