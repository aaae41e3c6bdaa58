// Blob-arena compaction (Db::Compact, Options::arena_compaction_*), on the in-memory Env with
// small generations:
//   - Compact copies the live blobs out of the generations holding dead ones (pruned versions'
//     blobs, purged cubes') and removes those files; every read — Get, History at every
//     version, Search, through a snapshot taken before — answers as before, before and after a
//     reopen, and Verify passes;
//   - a checkpoint releases the descriptors of sealed generations;
//   - automatic checkpoints come as the WAL grows in proportion to the data;
//   - the index's entries of pruned vectors never read a removed file;
//   - a database with nothing dead has nothing to compact;
//   - with automatic compaction, a churning workload under retention keeps the number of
//     generation files bounded, and passes show in Stats.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::SetClockEnv;
using test::Utc;

constexpr Timestamp kMinute = 60LL * 1000000;

class CompactionTest : public testing::Test {
 protected:
  CompactionTest() : mem_(NewMemEnv()), env_(mem_.get()) { env_.now = Utc(2025, 1, 1); }

  void Open(uint32_t keep_versions, double auto_fraction = 0, uint64_t auto_min = 0) {
    db_.reset();
    Options o;
    o.env = &env_;
    o.create_if_missing = true;
    o.arena_generation_bytes = 64 << 10;
    o.arena_compaction_live_fraction = auto_fraction;
    o.arena_compaction_min_dead_bytes = auto_min;
    if (keep_versions > 0) o.space_retention["pruned"] = {.keep_versions = keep_versions};
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A 1 KiB payload that names its cube and version, and a vector that moves with each version.
  static std::string Payload(int cube, int version) {
    std::string p = "cube " + std::to_string(cube) + " v" + std::to_string(version) + " ";
    p.resize(1024, static_cast<char>('a' + (cube + version) % 26));
    return p;
  }
  static std::vector<float> Vec(int cube, int version) {
    return {static_cast<float>(cube % 7) + 1, static_cast<float>(version), 1.0f,
            static_cast<float>(cube) / 10};
  }

  // `cubes` cubes of `space`, each written `versions` times, a minute apart.
  std::vector<CubeId> Write(const std::string& space, int cubes, int versions) {
    std::vector<CubeId> ids;
    for (int c = 0; c < cubes; ++c) {
      CubeDraft d{.space = space, .payload = Payload(c, 1), .vectors = {{"f", Vec(c, 1)}}};
      Result<CubeId> id = db_->Put(WriteOptions(), d);
      EXPECT_TRUE(id.ok()) << id.status().ToString();
      ids.push_back(*id);
    }
    for (int n = 2; n <= versions; ++n) {
      env_.now += kMinute;
      for (int c = 0; c < cubes; ++c) {
        CubePatch p{.payload = Payload(c, n)};
        // Every other version keeps its vector: the new version shares the old blob.
        if (n % 2 == 0) p.set_vectors = {{"f", Vec(c, n)}};
        Result<uint32_t> v = db_->Update(WriteOptions(), ids[c], p);
        EXPECT_TRUE(v.ok()) << v.status().ToString();
      }
    }
    return ids;
  }

  // Everything the reads of `ids` return, as text: each version of each cube (payload and
  // vectors), and the hits of a few searches of `space`.
  std::string ReadAll(const std::vector<CubeId>& ids, const std::string& space,
                      const Snapshot* snapshot = nullptr) {
    std::string out;
    ReadOptions ro;
    ro.snapshot = snapshot;
    for (CubeId id : ids) {
      std::vector<MemCube> history;
      Status s = db_->History(ro, id, &history);
      out += "cube " + std::to_string(id) + ": " + s.ToString() + "\n";
      for (const MemCube& c : history) {
        out += " v" + std::to_string(c.version) + " " + c.payload.substr(0, 16);
        for (const NamedVector& v : c.vectors) {
          for (float x : v.values) out += " " + std::to_string(x);
        }
        out += "\n";
      }
    }
    for (int q = 0; q < 4; ++q) {
      SearchRequest r;
      r.snapshot = snapshot;
      r.spaces = {space};
      r.field = "f";
      r.query = Vec(q * 3, q + 1);
      r.k = 5;
      std::vector<SearchHit> hits;
      Status s = db_->Search(r, &hits);
      out += "search " + std::to_string(q) + ": " + s.ToString();
      for (const SearchHit& h : hits) {
        out += " " + std::to_string(h.id) + "v" + std::to_string(h.version) + "@" +
               std::to_string(h.score);
      }
      out += "\n";
    }
    return out;
  }

  size_t ArenaFiles() {
    std::vector<std::string> names;
    EXPECT_TRUE(env_.GetChildren(dir_, &names).ok());
    size_t n = 0;
    for (const std::string& name : names) {
      uint32_t g;
      if (ParseArenaGenerationFileName(name, &g)) ++n;
    }
    return n;
  }

  void Verify() {
    IntegrityReport report;
    Status s = db_->Verify(&report);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<Env> mem_;
  SetClockEnv env_;
  const std::string dir_ = "/compaction";
  std::unique_ptr<Db> db_;
};

TEST_F(CompactionTest, CompactMovesLiveBlobsAndRemovesEmptiedFiles) {
  Open(/*keep_versions=*/1);
  const std::vector<CubeId> pruned = Write("pruned", 40, 6);
  const std::vector<CubeId> kept = Write("other", 10, 3);
  ASSERT_TRUE(db_->Checkpoint().ok());  // prunes "pruned" to one version each
  const std::string pruned_before = ReadAll(pruned, "pruned");
  const std::string kept_before = ReadAll(kept, "other");
  ASSERT_NE(pruned_before.find(" v6 cube 0 v6"), std::string::npos) << pruned_before;
  ASSERT_NE(kept_before.find(" v2 cube 9 v2"), std::string::npos) << kept_before;
  ASSERT_NE(kept_before.find("search 3: OK 4"), std::string::npos) << kept_before;
  const size_t files_before = ArenaFiles();
  ASSERT_GT(files_before, 3u) << "the test needs several generations";

  CompactResult result;
  uint64_t last_progress = 0;
  CompactOptions options;
  options.progress = [&](uint64_t copied, uint64_t total) {
    EXPECT_LE(copied, total);
    EXPECT_GE(copied, last_progress);
    last_progress = copied;
  };
  Status s = db_->Compact(options, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_GT(result.generations_removed, 0u);
  EXPECT_GT(result.blobs_copied, 0u);
  EXPECT_EQ(last_progress, result.bytes_copied);
  EXPECT_LT(result.arena_bytes_after, result.arena_bytes_before);
  EXPECT_EQ(ArenaFiles(), files_before - result.generations_removed + 1)
      << "the emptied files are gone; the copies went to one new generation";
  EXPECT_EQ(db_->Stats().arena_compactions, 1u);
  EXPECT_EQ(db_->Stats().arena_generations_removed, result.generations_removed);

  EXPECT_EQ(ReadAll(pruned, "pruned"), pruned_before);
  EXPECT_EQ(ReadAll(kept, "other"), kept_before);
  Verify();

  // The moved blobs are what later versions keep and what the reopened index reads.
  env_.now += kMinute;
  Result<uint32_t> v = db_->Update(WriteOptions(), kept[0], CubePatch{.payload = "after"});
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const std::string kept_after_update = ReadAll(kept, "other");
  Open(1);
  EXPECT_EQ(ReadAll(pruned, "pruned"), pruned_before);
  EXPECT_EQ(ReadAll(kept, "other"), kept_after_update);
  Verify();

  // Nothing dead is left: a second pass has nothing to do.
  ASSERT_TRUE(db_->Compact(CompactOptions(), &result).ok());
  EXPECT_EQ(result.generations_removed, 0u);
}

TEST_F(CompactionTest, CheckpointsReleaseSealedGenerations) {
  Open(/*keep_versions=*/0);
  Write("other", 60, 4);
  DbStats stats = db_->Stats();
  ASSERT_GT(stats.arena_generations, 3u);
  EXPECT_EQ(stats.arena_open_files, stats.arena_generations);
  ASSERT_TRUE(db_->Checkpoint().ok());
  stats = db_->Stats();
  EXPECT_EQ(stats.arena_open_files, 1u) << "only the active generation keeps its descriptor";
  const std::vector<CubeId> ids = {1, 2, 60};
  const std::string before = ReadAll(ids, "other");
  ASSERT_NE(before.find(" v4 cube 59 v4"), std::string::npos) << before;
  Open(0);
  EXPECT_EQ(ReadAll(ids, "other"), before);
}

// Options::checkpoint_wal_ratio: automatic checkpoints come once the WAL holds an eighth of
// the data (at least 1 MiB), so a small database's WAL stays small, and a larger one's
// threshold grows with it.
TEST_F(CompactionTest, AutomaticCheckpointsScaleWithTheData) {
  db_.reset();
  Options o;
  o.env = &env_;
  o.create_if_missing = true;
  ASSERT_TRUE(Db::Open(o, dir_, &db_).ok());
  WriteOptions no_sync;
  no_sync.sync = false;
  uint64_t most_wal = 0;
  for (int i = 0; i < 16000; ++i) {
    CubeDraft d{.space = "s", .payload = Payload(i, 1)};
    ASSERT_TRUE(db_->Put(no_sync, d).ok());
    most_wal = std::max(most_wal, db_->Stats().wal_bytes);
    if (i == 1999) {
      EXPECT_GT(db_->Stats().checkpoint_lsn, 0u) << "2 MiB of WAL over 2 MiB of data";
      EXPECT_LT(most_wal, (1 << 20) + (64 << 10));
    }
  }
  // About 16.5 MiB of data (1 KiB payloads in 1,048-byte frames): the threshold is an eighth
  // of it by the end, about 2 MiB.
  EXPECT_GT(most_wal, (3 << 20) / 2);
  EXPECT_LT(most_wal, (16000 * 1048) / 8 + (64 << 10));
}

// The index keeps the entries of pruned vectors (not live) until the next open, and a split of
// a list reads every member's vector: after a compaction removed the files they were in, those
// entries read zeros instead. Searches after more writes (which split lists) still answer.
TEST_F(CompactionTest, IndexEntriesOfRemovedBlobsAreNeverRead) {
  db_.reset();
  Options o;
  o.env = &env_;
  o.create_if_missing = true;
  o.arena_generation_bytes = 16 << 10;
  o.arena_compaction_live_fraction = 0;
  o.vector_index.flat_limit = 64;  // clustered, and lists split as they grow
  o.vector_index.list_target = 8;
  o.space_retention["pruned"] = {.keep_versions = 1};
  ASSERT_TRUE(Db::Open(o, dir_, &db_).ok());
  const std::vector<CubeId> ids = Write("pruned", 40, 4);  // 160 entries, 120 of them pruned
  ASSERT_TRUE(db_->Checkpoint().ok());
  CompactResult result;
  ASSERT_TRUE(db_->Compact(CompactOptions(), &result).ok());
  ASSERT_GT(result.generations_removed, 0u);
  const std::string before = ReadAll(ids, "pruned");
  for (int c = 40; c < 240; ++c) {  // new entries: routing, appends and splits
    CubeDraft d{.space = "pruned", .payload = Payload(c, 1), .vectors = {{"f", Vec(c, 1)}}};
    ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  }
  const std::string after = ReadAll(ids, "pruned");
  EXPECT_EQ(after.substr(0, after.find("search")), before.substr(0, before.find("search")));
  EXPECT_NE(after.find("search 3: OK "), std::string::npos) << after;
  Verify();
}

TEST_F(CompactionTest, NothingDeadNothingToCompact) {
  Open(/*keep_versions=*/0);
  const std::vector<CubeId> ids = Write("other", 20, 3);
  ASSERT_TRUE(db_->Checkpoint().ok());
  const size_t files = ArenaFiles();
  CompactResult result;
  ASSERT_TRUE(db_->Compact(CompactOptions(), &result).ok());
  EXPECT_EQ(result.generations_removed, 0u);
  EXPECT_EQ(result.blobs_copied, 0u);
  EXPECT_EQ(ArenaFiles(), files);
}

TEST_F(CompactionTest, PurgedCubesLeaveWithTheirFiles) {
  Open(/*keep_versions=*/0);
  const std::vector<CubeId> gone = Write("other", 30, 2);
  const std::vector<CubeId> stay = Write("stay", 5, 2);
  const std::string stay_before = ReadAll(stay, "stay");
  for (CubeId id : gone) ASSERT_TRUE(db_->Purge(WriteOptions(), id).ok());
  CompactResult result;
  ASSERT_TRUE(db_->Compact(CompactOptions(), &result).ok());
  EXPECT_GT(result.generations_removed, 0u);
  EXPECT_EQ(ReadAll(stay, "stay"), stay_before);
  Open(0);
  EXPECT_EQ(ReadAll(stay, "stay"), stay_before);
  Verify();
}

TEST_F(CompactionTest, SnapshotReadsAcrossCompactionAreUnchanged) {
  Open(/*keep_versions=*/0);
  const std::vector<CubeId> ids = Write("other", 20, 3);
  const std::vector<CubeId> doomed = Write("doomed", 30, 2);
  std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
  const std::string at_snapshot = ReadAll(ids, "other", snapshot.get());
  env_.now += kMinute;
  Write("other", 5, 2);  // after the snapshot: not visible through it
  ASSERT_TRUE(db_->PurgeSpace(WriteOptions(), "doomed").ok());
  CompactResult result;
  ASSERT_TRUE(db_->Compact(CompactOptions(), &result).ok());
  EXPECT_GT(result.generations_removed, 0u);
  EXPECT_EQ(ReadAll(ids, "other", snapshot.get()), at_snapshot);
}

TEST_F(CompactionTest, AutomaticCompactionBoundsTheFilesOfAChurningDatabase) {
  Open(/*keep_versions=*/1, /*auto_fraction=*/0.5, /*auto_min=*/128 << 10);
  std::vector<CubeId> ids = Write("pruned", 20, 1);
  size_t most_files = 0;
  for (int round = 2; round <= 60; ++round) {
    env_.now += kMinute;
    for (size_t c = 0; c < ids.size(); ++c) {
      CubePatch p{.payload = Payload(static_cast<int>(c), round)};
      ASSERT_TRUE(db_->Update(WriteOptions(), ids[c], p).ok());
    }
    if (round % 5 == 0) {
      ASSERT_TRUE(db_->Checkpoint().ok());
    }
    most_files = std::max(most_files, ArenaFiles());
  }
  // 20 cubes x 59 updates x ~1 KiB is ~19 generations of 64 KiB without compaction.
  const DbStats stats = db_->Stats();
  EXPECT_GT(stats.arena_compactions, 0u);
  EXPECT_LE(most_files, 8u);
  Verify();
  const std::string before = ReadAll(ids, "pruned");
  Open(1, 0.5, 128 << 10);
  EXPECT_EQ(ReadAll(ids, "pruned"), before);
}

}  // namespace
}  // namespace loci
