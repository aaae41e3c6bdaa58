// Purges while readers read (run under TSan in CI): a writer puts cubes with payloads, vectors
// and edges and purges some of them, while readers Get, Search and Trace ids old and new. A
// reader finds a cube whole — its own payload, its own vector — or not at all: never the zeros
// a purge scrubs into the arena (the scrub waits until no reader that could reach the cube
// still runs), never a half-removed edge; and every read completes. The same while cubes
// expire and checkpoints reclaim them, readers recording accesses as they go.

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

std::string PayloadOf(CubeId id) { return "payload of cube " + std::to_string(id) + "!"; }
std::vector<float> VectorOf(CubeId id) {
  return {1.0f, static_cast<float>(id % 97) + 0.5f, static_cast<float>(id % 13) + 0.25f, 2.0f};
}

TEST(PurgeConcurrencyTest, ReadersSeeCubesWholeOrNotAtAll) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  std::atomic<CubeId> highest{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> seen_whole{0}, seen_missing{0};

  std::thread writer([&] {
    std::mt19937_64 rng(1);
    std::vector<CubeId> live;
    WriteOptions no_sync;
    no_sync.sync = false;
    for (int round = 0; round < 60; ++round) {
      for (int i = 0; i < 8; ++i) {
        CubeDraft d{.space = "s", .payload = "x"};
        WriteBatch batch;
        batch.Put(d);  // the id decides payload and vector: an update gives them
        WriteResult result;
        ASSERT_TRUE(db->Write(no_sync, batch, &result).ok());
        const CubeId id = result.ops[0].id;
        CubePatch p{.payload = PayloadOf(id), .set_vectors = {{"v", VectorOf(id)}}};
        ASSERT_TRUE(db->Update(no_sync, id, p).ok());
        if (!live.empty()) {
          ASSERT_TRUE(db->Link(no_sync, id, live[rng() % live.size()], EdgeType::kCaused).ok());
        }
        live.push_back(id);
        highest.store(id);
      }
      WriteBatch purge;
      for (int i = 0; i < 3 && !live.empty(); ++i) {
        const size_t at = rng() % live.size();
        purge.Purge(live[at]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(at));
      }
      ASSERT_TRUE(db->Write(WriteOptions(), purge, nullptr).ok());
    }
    done.store(true);
  });

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!done.load()) {
      const CubeId top = highest.load();
      if (top == 0) continue;
      const CubeId id = 1 + rng() % top;
      MemCube cube;
      ReadOptions read;
      Status s = db->Get(read, id, &cube);
      if (s.ok()) {
        // A fresh put reads "x" until its update; after that only its own bytes.
        if (cube.version == 2) {
          EXPECT_EQ(cube.payload, PayloadOf(id));
          ASSERT_EQ(cube.vectors.size(), 1u);
          EXPECT_EQ(cube.vectors[0].values, VectorOf(id));
        }
        seen_whole.fetch_add(1);
      } else {
        EXPECT_TRUE(s.IsNotFound()) << s.ToString();
        seen_missing.fetch_add(1);
      }
      SearchRequest search;
      search.spaces = {"s"};
      search.field = "v";
      search.query = VectorOf(id);
      search.k = 5;
      search.expand_hops = 1;
      std::vector<SearchHit> hits;
      s = db->Search(search, &hits);
      if (s.ok()) {
        for (const SearchHit& h : hits) EXPECT_NE(h.id, 0u);
      } else {
        EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();  // no field "v" yet
      }
      TraceRequest t;
      t.start = id;
      t.direction = TraceDirection::kBoth;
      std::vector<TraceStep> steps;
      s = db->Trace(t, &steps);
      EXPECT_TRUE(s.ok() || s.IsNotFound()) << s.ToString();
    }
  };
  std::thread r1(reader, 11), r2(reader, 12);
  writer.join();
  r1.join();
  r2.join();
  EXPECT_GT(seen_whole.load(), 0u);
  EXPECT_GT(seen_missing.load(), 0u);
}

TEST(PurgeConcurrencyTest, ReclamationOfExpiredCubesWhileReadersRecordAccesses) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  std::atomic<CubeId> highest{0};
  std::atomic<bool> done{false};
  std::atomic<uint64_t> seen_whole{0};

  std::thread writer([&] {
    WriteOptions no_sync;
    no_sync.sync = false;
    for (int round = 0; round < 40; ++round) {
      for (int i = 0; i < 8; ++i) {
        WriteBatch batch;
        const CubeId ref = batch.Put(CubeDraft{.space = "s", .payload = "x"});
        (void)ref;
        WriteResult result;
        ASSERT_TRUE(db->Write(no_sync, batch, &result).ok());
        const CubeId id = result.ops[0].id;
        CubePatch p{.payload = PayloadOf(id), .set_vectors = {{"v", VectorOf(id)}}};
        if (i % 2 == 0) p.expires_at = db->Now() + 5000 * (1 + i);  // a few ms from now
        // A slow build (TSan) may commit after that expiry: refused then, as it must be.
        const Status updated = db->Update(no_sync, id, p).status();
        ASSERT_TRUE(updated.ok() || (p.expires_at && updated.IsInvalidArgument()))
            << updated.ToString();
        highest.store(id);
      }
      ASSERT_TRUE(db->Checkpoint().ok());  // reclaims what has expired by now
    }
    done.store(true);
  });

  auto reader = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    while (!done.load()) {
      const CubeId top = highest.load();
      if (top == 0) continue;
      const CubeId id = 1 + rng() % top;
      MemCube cube;
      ReadOptions read;
      read.record_access = true;
      Status s = db->Get(read, id, &cube);
      if (s.ok()) {
        if (cube.version == 2) {
          EXPECT_EQ(cube.payload, PayloadOf(id));
          ASSERT_EQ(cube.vectors.size(), 1u);
          EXPECT_EQ(cube.vectors[0].values, VectorOf(id));
        }
        seen_whole.fetch_add(1);
      } else {
        EXPECT_TRUE(s.IsNotFound()) << s.ToString();
      }
      SearchRequest search;
      search.spaces = {"s"};
      search.field = "v";
      search.query = VectorOf(id);
      search.k = 5;
      search.recency_weight = 0.5f;
      search.recency_from_access = true;
      search.record_access = true;
      std::vector<SearchHit> hits;
      s = db->Search(search, &hits);
      EXPECT_TRUE(s.ok() || s.IsInvalidArgument()) << s.ToString();  // no field "v" yet
    }
  };
  std::thread r1(reader, 21), r2(reader, 22);
  writer.join();
  r1.join();
  r2.join();
  EXPECT_GT(seen_whole.load(), 0u);
  EXPECT_LT(db->Stats().cubes, 320u) << "expired cubes were reclaimed";
}

}  // namespace
}  // namespace loci
