// Search while the commit leader inserts, updates and splits posting lists: readers never see
// a torn page or a half-published version (run under TSan in CI), and a search at a fixed
// snapshot with full effort keeps returning exactly the same hits however the index changes.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::RandomVector;

TEST(SearchConcurrencyTest, SearchesWhileWriting) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.vector_index.flat_limit = 128;
  o.vector_index.list_target = 8;  // splits all the time
  o.vector_index.max_replicas = 2;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  constexpr uint32_t kDim = 16;
  std::mt19937_64 seed_rng(5);
  std::vector<CubeId> ids;
  for (int i = 0; i < 200; ++i) {
    CubeDraft d;
    d.space = i % 2 == 0 ? "even" : "odd";
    d.vectors.push_back({"v", RandomVector(seed_rng, kDim)});
    Result<CubeId> id = db->Put(WriteOptions{.sync = false}, d);
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  std::shared_ptr<const Snapshot> snapshot = db->GetSnapshot();
  const std::vector<float> fixed_query = RandomVector(seed_rng, kDim);
  auto full_effort_at_snapshot = [&](std::vector<SearchHit>* hits) {
    SearchRequest r;
    r.spaces = {"even"};
    r.field = "v";
    r.query = fixed_query;
    r.k = 10;
    r.snapshot = snapshot.get();
    r.probes = kMaxSearchProbes;
    r.rerank = kMaxSearchRerank;
    return db->Search(r, hits);
  };
  std::vector<SearchHit> reference;
  ASSERT_TRUE(full_effort_at_snapshot(&reference).ok());
  ASSERT_EQ(reference.size(), 10u);

  std::atomic<bool> done{false};
  std::thread writer([&] {
    std::mt19937_64 rng(6);
    for (int i = 0; i < 1500; ++i) {
      if (i % 4 == 3) {
        CubePatch p;
        p.set_vectors.push_back({"v", RandomVector(rng, kDim)});
        EXPECT_TRUE(db->Update(WriteOptions{.sync = false}, ids[i % ids.size()], p).ok());
        continue;
      }
      CubeDraft d;
      d.space = i % 2 == 0 ? "even" : "odd";
      d.vectors.push_back({"v", RandomVector(rng, kDim)});
      EXPECT_TRUE(db->Put(WriteOptions{.sync = false}, d).ok());
    }
    done = true;
  });
  std::vector<std::thread> readers;
  std::atomic<uint64_t> searches{0};
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(100 + t);
      while (!done) {
        SearchRequest r;
        r.spaces = {"odd"};
        r.field = "v";
        r.query = RandomVector(rng, kDim);
        r.k = 5;
        std::vector<SearchHit> hits;
        ASSERT_TRUE(db->Search(r, &hits).ok());
        for (size_t i = 0; i < hits.size(); ++i) {
          // The cube itself, not just the label Search puts on the hit, is in the space.
          ReadOptions ro;
          ro.fill_payload = false;
          ro.fill_vectors = false;
          MemCube cube;
          ASSERT_TRUE(db->Get(ro, hits[i].id, &cube).ok());
          ASSERT_EQ(cube.space, "odd");
          if (i > 0) {
            ASSERT_LE(hits[i].score, hits[i - 1].score);
          }
        }
        if (t == 0) {
          std::vector<SearchHit> again;
          ASSERT_TRUE(full_effort_at_snapshot(&again).ok());
          ASSERT_EQ(again.size(), reference.size());
          for (size_t i = 0; i < again.size(); ++i) {
            ASSERT_EQ(again[i].id, reference[i].id);
            ASSERT_EQ(again[i].version, reference[i].version);
          }
        }
        ++searches;
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  EXPECT_GT(searches.load(), 0u);
  EXPECT_GT(db->Stats().vector_fields.size(), 0u);
}

}  // namespace
}  // namespace loci
