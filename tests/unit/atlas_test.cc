// index::Atlas's directory of partitions: Writable creates a partition once per key, Find sees
// it, and Drop removes it while a reader that already holds it keeps searching it safely; the
// partition is freed only after that reader unpins (EBR), with its bytes charged to the epoch
// domain meanwhile. Run under ASan (a use after free) and TSan (label tsan) too.

#include "index/atlas.h"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>
#include <vector>

#include "tests/testutil.h"

namespace loci::index {
namespace {

constexpr uint32_t kDim = 8;

std::vector<ScanHit> SearchAll(const Partition& p, const std::vector<float>& q) {
  PreparedQuery query;
  query.Prepare(q.data(), kDim, Metric::kL2);
  ScanParams params;
  params.probes = 1 << 20;  // every list: all entries come back
  params.rerank = 1000;
  params.as_of = 1;
  params.fast_accept = true;  // every entry is live from 0
  std::vector<ScanHit> hits;
  p.Search(query, params, &hits);
  return hits;
}

TEST(AtlasTest, DropRetiresThePartitionAfterItsReadersUnpin) {
  gc::EpochDomain epochs;
  std::mt19937_64 rng(3);
  std::vector<std::vector<float>> vectors;  // outlive the partitions that point at them
  for (int i = 0; i < 300; ++i) vectors.push_back(test::RandomVector(rng, kDim));
  PartitionOptions options;
  options.flat_limit = 64;  // clustered: a layout with many lists to free
  options.list_target = 8;
  Atlas atlas(options, &epochs);
  Partition* dropped = atlas.Writable(1, 2, Metric::kL2, kDim);
  Partition* kept = atlas.Writable(1, 3, Metric::kL2, kDim);
  EXPECT_EQ(atlas.Writable(1, 2, Metric::kL2, kDim), dropped);
  for (size_t i = 0; i < vectors.size(); ++i) {
    dropped->Apply(i + 1, vectors[i].data(), 0);
    kept->Apply(i + 1, vectors[i].data(), 0);
  }
  const uint64_t dropped_bytes = dropped->Stats().bytes;
  ASSERT_GT(dropped->Stats().lists, 1u);
  const std::vector<ScanHit> expected = SearchAll(*dropped, vectors[0]);
  ASSERT_EQ(expected.size(), vectors.size());

  std::atomic<int> step{0};
  std::thread reader([&] {
    gc::EpochDomain::Guard guard = epochs.Pin();
    const Partition* held = atlas.Find(1, 2);
    step = 1;  // before any assertion can return, or the main thread would wait forever
    ASSERT_EQ(held, dropped);
    while (step != 2) std::this_thread::yield();
    // Dropped meanwhile: gone from the directory, still whole for this reader.
    EXPECT_EQ(atlas.Find(1, 2), nullptr);
    const std::vector<ScanHit> hits = SearchAll(*held, vectors[0]);
    ASSERT_EQ(hits.size(), expected.size());
    for (size_t i = 0; i < hits.size(); ++i) EXPECT_EQ(hits[i].entry, expected[i].entry);
  });
  while (step != 1) std::this_thread::yield();
  const gc::EpochDomain::Stats before = epochs.GetStats();
  atlas.Drop(1, 2);
  for (int i = 0; i < 10; ++i) epochs.Collect();  // cannot free it: the reader is pinned
  const gc::EpochDomain::Stats pending = epochs.GetStats();
  EXPECT_GE(pending.pending_bytes, before.pending_bytes + dropped_bytes);
  step = 2;
  reader.join();
  epochs.Synchronize();
  const gc::EpochDomain::Stats after = epochs.GetStats();
  EXPECT_EQ(after.pending_callbacks, 0u);
  EXPECT_GT(after.reclaimed, before.reclaimed);

  EXPECT_EQ(atlas.Find(1, 2), nullptr);
  EXPECT_EQ(atlas.Find(1, 3), kept);
  EXPECT_EQ(SearchAll(*kept, vectors[0]).size(), vectors.size());
  atlas.Drop(1, 2);  // gone already: nothing to do
  atlas.Drop(7, 7);  // never there
  EXPECT_EQ(atlas.Find(1, 3), kept);
  // The key can be used again (the engine never does: field ids are not reused); it starts empty.
  Partition* fresh = atlas.Writable(1, 2, Metric::kL2, kDim);
  EXPECT_EQ(fresh->Stats().entries, 0u);
  EXPECT_EQ(atlas.Find(1, 2), fresh);
}

}  // namespace
}  // namespace loci::index
