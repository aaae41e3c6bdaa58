// Database file names and paths (common/file_names.h): paths are joined one way, every path
// helper ends in the name its format gives, and IsDataFileName knows every numbered kind.

#include "common/file_names.h"

#include <gtest/gtest.h>

namespace loci {
namespace {

TEST(FileNamesTest, JoinPathAddsOneSeparator) {
  EXPECT_EQ(JoinPath("d", "SUPERBLOCK"), "d/SUPERBLOCK");
  EXPECT_EQ(JoinPath("d/", "SUPERBLOCK"), "d/SUPERBLOCK");
  EXPECT_EQ(JoinPath("/", "x"), "/x");
  EXPECT_EQ(JoinPath("/a/b", "x"), "/a/b/x");
  EXPECT_EQ(JoinPath("", "x"), "x");
}

TEST(FileNamesTest, DbPathsNameEveryFile) {
  const DbPaths paths("/data/db");
  EXPECT_EQ(paths.dir(), "/data/db");
  EXPECT_EQ(paths.superblock(), "/data/db/SUPERBLOCK");
  EXPECT_EQ(paths.superblock_temp(), "/data/db/SUPERBLOCK.tmp");
  EXPECT_EQ(paths.lock(), "/data/db/LOCK");
  EXPECT_EQ(paths.wal_segment(12), "/data/db/wal-00000012.log");
  EXPECT_EQ(paths.arena_generation(3), "/data/db/arena-00000003.blob");
  EXPECT_EQ(paths.checkpoint(7), "/data/db/ckpt-00000007.ckpt");
  EXPECT_EQ(paths.index_snapshot(7), "/data/db/atlas-00000007.idx");
  EXPECT_EQ(paths.file("notes.txt"), "/data/db/notes.txt");
  EXPECT_EQ(DbPaths("d/").wal_segment(1), "d/wal-00000001.log");
}

TEST(FileNamesTest, IndexSnapshotNamesFormatAndParse) {
  EXPECT_EQ(IndexSnapshotFileName(7), "atlas-00000007.idx");
  uint64_t n = 0;
  ASSERT_TRUE(ParseIndexSnapshotFileName("atlas-123456789.idx", &n));
  EXPECT_EQ(n, 123456789u);
  for (const char* bad : {"atlas-.idx", "atlas-+1.idx", "atlas-1.idx.tmp", "xatlas-1.idx"}) {
    EXPECT_FALSE(ParseIndexSnapshotFileName(bad, &n)) << bad;
  }
}

TEST(FileNamesTest, DataFilesAreEveryNumberedKindAndTheTemporarySuperblock) {
  for (const std::string& name :
       {WalSegmentFileName(1), ArenaGenerationFileName(1), CheckpointFileName(1),
        IndexSnapshotFileName(1), std::string(kSuperblockTempFileName)}) {
    EXPECT_TRUE(IsDataFileName(name)) << name;
  }
  for (const char* name :
       {kSuperblockFileName, kLockFileName, "notes.txt", "arena-00000000.blob", "wal-1.log.old"}) {
    EXPECT_FALSE(IsDataFileName(name)) << name;
  }
}

}  // namespace
}  // namespace loci
