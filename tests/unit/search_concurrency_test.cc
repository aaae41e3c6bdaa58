// Search while the commit leader inserts, updates and splits posting lists: readers never see
// a torn page or a half-published version (run under TSan in CI), and a search at a fixed
// snapshot with full effort keeps returning exactly the same hits however the index changes.
// Search, Get and Stats while another thread drops and redefines a vector field again and again:
// the other field's answers never change, and a search on the dropped field either answers in
// full from the partition it found or fails as on a field never defined, never from a partition
// freed under it (ASan/TSan) or with a silently empty answer.

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <random>
#include <string>
#include <thread>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Contains;
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
  std::atomic<uint64_t> searches{0};
  std::atomic<int> readers_quit{0};
  std::thread writer([&] {
    std::mt19937_64 rng(6);
    for (int i = 0; i < 1500; ++i) {
      // On a loaded machine the readers may not have started before the writer is done: it
      // waits halfway for two searches (or a reader that quit on a failure), so that the
      // second half of the writes always runs alongside searches.
      while (i == 750 && searches.load() < 2 && readers_quit.load() == 0) {
        std::this_thread::yield();
      }
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
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&, t] {
      struct CountOnExit {
        std::atomic<int>& n;
        ~CountOnExit() { ++n; }
      } count_on_exit{readers_quit};
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

// Adds `n` puts to `batch`, each a cube of space s with a random `dim`-vector of `field`.
void AddPuts(WriteBatch* batch, const std::string& field, uint32_t dim, int n,
             std::mt19937_64& rng) {
  for (int i = 0; i < n; ++i) {
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({field, RandomVector(rng, dim)});
    batch->Put(d);
  }
}

TEST(SearchConcurrencyTest, SearchesWhileAFieldIsDropped) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  o.vector_index.flat_limit = 32;  // A's partitions cluster: a layout of many lists to retire
  o.vector_index.list_target = 8;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  constexpr uint32_t kDimB = 16;
  constexpr uint32_t kK = 10;
  constexpr int kRounds = 120;
  std::mt19937_64 seed_rng(8);
  // B: fixed for the whole test, so its answers must never change.
  WriteBatch setup;
  setup.DefineVectorField("s", "B", kDimB, Metric::kL2);
  AddPuts(&setup, "B", kDimB, 100, seed_rng);
  ASSERT_TRUE(db->Write(WriteOptions{.sync = false}, setup, nullptr).ok());
  const std::vector<float> query_b = RandomVector(seed_rng, kDimB);
  auto search = [&](const std::string& field, const std::vector<float>& q, const Snapshot* at,
                    std::vector<SearchHit>* hits) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = field;
    r.query = q;
    r.k = kK;
    r.snapshot = at;
    return db->Search(r, hits);
  };
  std::vector<SearchHit> reference;
  ASSERT_TRUE(search("B", query_b, nullptr, &reference).ok());
  ASSERT_EQ(reference.size(), kK);

  // Each round defines A with a dimension of its own and fills it, publishes a snapshot taken
  // after the fill, and drops A once readers have searched it. A search at that snapshot with
  // that dimension that succeeds has found this round's A, so it must see all its vectors: an
  // empty answer would come from a partition dropped under a catalog that still had A.
  struct Round {
    uint32_t dim = 0;
    std::shared_ptr<const Snapshot> snapshot;
  };
  std::mutex round_mu;
  Round current;
  std::atomic<bool> done{false};
  std::atomic<int> dropped_seen{0}, answered{0}, searched{0};
  std::thread writer([&] {
    std::mt19937_64 rng(9);
    for (int round = 0; round < kRounds; ++round) {
      const uint32_t dim = 4 + round;
      WriteBatch fill;
      fill.DefineVectorField("s", "A", dim, Metric::kCosine);
      AddPuts(&fill, "A", dim, 40, rng);
      EXPECT_TRUE(db->Write(WriteOptions{.sync = false}, fill, nullptr).ok());
      {
        std::lock_guard<std::mutex> lock(round_mu);
        current = {dim, db->GetSnapshot()};
      }
      // Each reader may have one search in flight that took the previous round (and finds A
      // dropped): waiting for one more search than there are readers makes sure at least one
      // searched this round's A, so `answered` cannot stay 0 whatever the timing.
      const int start = searched;
      while (searched < start + 4 && !testing::Test::HasFailure()) std::this_thread::yield();
      WriteBatch drop;
      drop.DropVectorField("s", "A");
      EXPECT_TRUE(db->Write(WriteOptions{.sync = false}, drop, nullptr).ok());
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      std::mt19937_64 rng(200 + t);
      while (!done) {
        Round round;
        {
          std::lock_guard<std::mutex> lock(round_mu);
          round = current;
        }
        if (round.dim != 0) {
          std::vector<SearchHit> hits;
          Status s = search("A", RandomVector(rng, round.dim), round.snapshot.get(), &hits);
          if (s.ok()) {
            ASSERT_EQ(hits.size(), kK) << "an answer from a partition that looked empty";
            ++answered;
          } else {
            // Dropped, or dropped and defined again with another dimension.
            ASSERT_TRUE(s.IsInvalidArgument()) << s.ToString();
            ASSERT_TRUE(Contains(s.message(), "'A'")) << s.ToString();
            ++dropped_seen;
          }
          ++searched;
        }
        if (t == 0) {
          std::vector<SearchHit> hits;
          ASSERT_TRUE(search("B", query_b, nullptr, &hits).ok());
          ASSERT_EQ(hits.size(), reference.size());
          for (size_t i = 0; i < hits.size(); ++i) {
            ASSERT_EQ(hits[i].id, reference[i].id);
            ASSERT_EQ(hits[i].score, reference[i].score);
          }
        } else if (t == 1) {
          MemCube cube;
          ASSERT_TRUE(db->Get(ReadOptions(), 1 + rng() % 100, &cube).ok());
          ASSERT_EQ(cube.vectors.size(), 1u);
          ASSERT_EQ(cube.vectors[0].field, "B");
        } else {
          const DbStats stats = db->Stats();
          ASSERT_GE(stats.vector_fields.size(), 1u);
          ASSERT_LE(stats.vector_fields.size(), 2u);
        }
      }
    });
  }
  writer.join();
  for (auto& r : readers) r.join();
  std::printf("%d searches on A answered in full, %d found it dropped\n", answered.load(),
              dropped_seen.load());
  EXPECT_GT(answered.load(), 0);
  std::vector<SearchHit> hits;
  EXPECT_TRUE(search("A", {1, 2, 3, 4}, nullptr, &hits).IsInvalidArgument());
  const DbStats stats = db->Stats();
  ASSERT_EQ(stats.vector_fields.size(), 1u);
  EXPECT_EQ(stats.vector_fields[0].name, "B");
}

}  // namespace
}  // namespace loci
