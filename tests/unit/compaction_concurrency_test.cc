// Blob-arena compaction while readers read and writers write (run under TSan in CI): a writer
// updates cubes under a policy that keeps two versions, purges a space of junk, checkpoints
// and compacts a small-generation arena again and again, so blobs move and files are removed while
// readers hold versions, entries and snapshots. Every version a reader reads is whole (its own
// payload and vector); a reader holding a snapshot reads the same History and the same search hits
// through it before and after the compactions that run meanwhile.

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
  std::string p = "cube " + std::to_string(id) + " version " + std::to_string(version) + " ";
  p.resize(600, '.');
  return p;
}
std::vector<float> VectorOf(CubeId id, uint32_t version) {
  return {1.0f, static_cast<float>(id), static_cast<float>(version / 2), 2.0f};
}

void ExpectWhole(const MemCube& c) {
  // Never superseded at its own commit: a version read from a chain a compaction replaced is
  // still told apart from its copy (TxTo compares version numbers, not addresses).
  EXPECT_GT(c.tx_to, c.tx_from);
  EXPECT_EQ(c.payload, PayloadOf(c.id, c.version));
  ASSERT_EQ(c.vectors.size(), 1u);
  EXPECT_EQ(c.vectors[0].values, VectorOf(c.id, c.version));
}

std::string HitsOf(Db* db, const Snapshot* snapshot, const std::vector<float>& query) {
  SearchRequest search;
  search.snapshot = snapshot;
  search.spaces = {"s"};
  search.field = "v";
  search.query = query;
  search.k = 8;
  std::vector<SearchHit> hits;
  Status s = db->Search(search, &hits);
  std::string out = s.ToString();
  for (const SearchHit& h : hits)
    out += " " + std::to_string(h.id) + "v" + std::to_string(h.version);
  return out;
}

TEST(CompactionConcurrencyTest, ReadersAndSnapshotsReadAcrossCompactions) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.retention.keep_versions = 2;
  o.arena_generation_bytes = 32 << 10;
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
  std::atomic<bool> done{false};
  std::atomic<uint64_t> snapshot_checks{0};
  std::atomic<uint64_t> removed{0};

  std::thread writer([&] {
    // Readers stop when the writer does, even on a failed assertion.
    struct Done {
      std::atomic<bool>* done;
      ~Done() { done->store(true); }
    } stop{&done};
    WriteOptions no_sync;
    no_sync.sync = false;
    for (uint32_t version = 3; version < 40; ++version) {
      for (CubeId id : ids) {
        CubePatch p{.payload = PayloadOf(id, version)};
        // An even version changes the vector; an odd one keeps it (shares the blob).
        if (version % 2 == 0) p.set_vectors = {{"v", VectorOf(id, version)}};
        ASSERT_TRUE(db->Update(no_sync, id, p).ok());
      }
      // Dead bytes whatever the snapshots hold back from retention: a purged space's blobs.
      for (int j = 0; j < 8; ++j) {
        CubeDraft junk{.space = "junk", .payload = std::string(2000, 'j')};
        ASSERT_TRUE(db->Put(no_sync, junk).ok());
      }
      ASSERT_TRUE(db->PurgeSpace(no_sync, "junk").ok());
      ASSERT_TRUE(db->Checkpoint().ok());
      CompactResult result;
      Status s = db->Compact(CompactOptions(), &result);
      ASSERT_TRUE(s.ok()) << s.ToString();
      removed.fetch_add(result.generations_removed);
    }
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
      for (const MemCube& c : history) {
        if (c.version > 1) ExpectWhole(c);
      }
      const std::string hits = HitsOf(db.get(), nullptr, VectorOf(id, 10));
      EXPECT_EQ(hits.rfind("OK ", 0), 0u) << hits;
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
      const std::string hits_before = HitsOf(db.get(), snapshot.get(), VectorOf(id, 6));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ASSERT_TRUE(db->History(at, id, &after).ok());
      EXPECT_EQ(HitsOf(db.get(), snapshot.get(), VectorOf(id, 6)), hits_before);
      ASSERT_EQ(before.size(), after.size());
      for (size_t i = 0; i < before.size(); ++i) {
        EXPECT_EQ(before[i].version, after[i].version);
        EXPECT_EQ(before[i].payload, after[i].payload);
        if (before[i].version > 1) ExpectWhole(after[i]);
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
  EXPECT_GT(removed.load(), 0u) << "compactions removed files while readers read";
  IntegrityReport report;
  EXPECT_TRUE(db->Verify(&report).ok());
}

}  // namespace
}  // namespace loci
