// Retention while readers read (run under TSan in CI): a writer updates cubes and checkpoints
// under a policy that keeps two versions, so chains are cut while readers walk them. A reader
// finds every version it reads whole (its own payload and vector), a History of consecutive
// versions ending at the newest it can see, and reads of old points either answered or
// Pruned; a reader holding a snapshot reads the same History through it before and after the
// checkpoints that run meanwhile (the snapshot keeps what it may read).

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"

namespace loci {
namespace {

constexpr int kCubes = 16;

std::string PayloadOf(CubeId id, uint32_t version) {
  return "cube " + std::to_string(id) + " version " + std::to_string(version);
}
std::vector<float> VectorOf(CubeId id, uint32_t version) {
  return {1.0f, static_cast<float>(id), static_cast<float>(version), 2.0f};
}

void ExpectWhole(const MemCube& c) {
  EXPECT_EQ(c.payload, PayloadOf(c.id, c.version));
  ASSERT_EQ(c.vectors.size(), 1u);
  EXPECT_EQ(c.vectors[0].values, VectorOf(c.id, c.version));
}

TEST(RetentionConcurrencyTest, ReadersSeeWholeVersionsWhileChainsAreCut) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.retention.keep_versions = 2;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  std::vector<CubeId> ids;
  for (int i = 0; i < kCubes; ++i) {
    Result<CubeId> id = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "x"});
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
    CubePatch p{.payload = PayloadOf(*id, 2), .set_vectors = {{"v", VectorOf(*id, 2)}}};
    ASSERT_TRUE(db->Update(WriteOptions(), *id, p).ok());
  }
  const Timestamp start = db->Now();
  std::atomic<bool> done{false};
  std::atomic<uint64_t> snapshot_checks{0};

  std::thread writer([&] {
    WriteOptions no_sync;
    no_sync.sync = false;
    for (uint32_t version = 3; version < 40; ++version) {
      for (CubeId id : ids) {
        CubePatch p{.payload = PayloadOf(id, version),
                    .set_vectors = {{"v", VectorOf(id, version)}}};
        ASSERT_TRUE(db->Update(no_sync, id, p).ok());
      }
      ASSERT_TRUE(db->Checkpoint().ok());
    }
    done.store(true);
  });

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!done.load()) {
      const CubeId id = ids[rng() % ids.size()];
      MemCube cube;
      ASSERT_TRUE(db->Get(ReadOptions(), id, &cube).ok());
      ExpectWhole(cube);
      std::vector<MemCube> history;
      ASSERT_TRUE(db->History(ReadOptions(), id, &history).ok());
      for (size_t i = 0; i < history.size(); ++i) {
        if (history[i].version == 1) continue;  // the put: "x", no vector
        ExpectWhole(history[i]);
        if (i > 0) EXPECT_EQ(history[i].version, history[i - 1].version + 1);
      }
      ReadOptions old;
      old.as_of = start;
      Status s = db->Get(old, id, &cube);
      if (s.ok()) {
        ExpectWhole(cube);
      } else {
        EXPECT_TRUE(s.IsPruned()) << s.ToString();
      }
      SearchRequest search;
      search.spaces = {"s"};
      search.field = "v";
      search.query = VectorOf(id, 10);
      search.as_of = start;
      std::vector<SearchHit> hits;
      ASSERT_TRUE(db->Search(search, &hits).ok());
    }
  };

  auto snapshot_reader = [&] {
    while (!done.load()) {
      std::shared_ptr<const Snapshot> snapshot = db->GetSnapshot();
      ReadOptions at;
      at.snapshot = snapshot.get();
      const CubeId id = ids[snapshot_checks.load() % ids.size()];
      std::vector<MemCube> before, after;
      ASSERT_TRUE(db->History(at, id, &before).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ASSERT_TRUE(db->History(at, id, &after).ok());
      ASSERT_EQ(before.size(), after.size());
      for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(before[i].version, after[i].version);
        EXPECT_EQ(before[i].payload, after[i].payload);
      }
      snapshot_checks.fetch_add(1);
    }
  };

  std::thread r1(reader, 11), r2(reader, 12), r3(snapshot_reader);
  writer.join();
  r1.join();
  r2.join();
  r3.join();
  EXPECT_GT(snapshot_checks.load(), 0u);
  // The snapshots kept older versions while they lived; with none left, a checkpoint prunes
  // every cube's version 2 (visible at `start`).
  ASSERT_TRUE(db->Checkpoint().ok());
  MemCube cube;
  ReadOptions old;
  old.as_of = start;
  EXPECT_TRUE(db->Get(old, ids[0], &cube).IsPruned());
  EXPECT_GT(db->Stats().versions_pruned, 0u);
}

}  // namespace
}  // namespace loci
