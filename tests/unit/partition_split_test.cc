// Split's reassignment (PartitionOptions::reassign_lists): a split also moves vectors between
// the new halves and the lists around them, to the nearest centroid. After many splits every
// vector is still stored exactly once, and far more of them sit in the list whose centroid is
// nearest than without reassignment (which is what lets a search probe fewer lists).

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "gc/epoch.h"
#include "index/partition.h"
#include "index/partition_snapshot.h"
#include "tests/testutil.h"

namespace loci::index {
namespace {

constexpr uint32_t kDim = 16;

struct Placement {
  size_t lists = 0;
  size_t stored = 0;        // slots over all lists
  std::vector<int> copies;  // per vector
  double in_nearest = 0;    // fraction of slots in the list with the nearest centroid
};

double L2(const float* a, const float* b) {
  double d = 0;
  for (uint32_t i = 0; i < kDim; ++i) d += (a[i] - b[i]) * (a[i] - b[i]);
  return d;
}

Placement Build(uint32_t reassign_lists, const std::vector<std::vector<float>>& vectors) {
  gc::EpochDomain epochs;
  PartitionOptions options;
  options.flat_limit = 256;
  options.list_target = 16;  // hundreds of splits
  options.reassign_lists = reassign_lists;
  Partition partition(Metric::kL2, kDim, options, &epochs);
  for (size_t i = 0; i < vectors.size(); ++i) partition.Apply(i + 1, vectors[i].data(), 0);
  PartitionSnapshot snapshot;
  {
    gc::EpochDomain::Guard guard = epochs.Pin();
    partition.Export(&snapshot);
  }
  Placement out;
  out.lists = snapshot.lists.size();
  out.copies.assign(vectors.size(), 0);
  size_t in_nearest = 0;
  for (size_t l = 0; l < snapshot.lists.size(); ++l) {
    const SnapshotList& list = snapshot.lists[l];
    for (uint32_t s = 0; s < list.slots; ++s) {
      const uint64_t cube = snapshot.entries[list.entries[s]].cube;
      const float* x = vectors[cube - 1].data();
      ++out.copies[cube - 1];
      ++out.stored;
      size_t nearest = 0;
      double best = std::numeric_limits<double>::infinity();
      for (size_t j = 0; j < snapshot.lists.size(); ++j) {
        const double d = L2(x, snapshot.lists[j].centroid.data());
        if (d < best) {
          best = d;
          nearest = j;
        }
      }
      if (nearest == l) ++in_nearest;
    }
  }
  out.in_nearest = static_cast<double>(in_nearest) / static_cast<double>(out.stored);
  return out;
}

TEST(PartitionSplitTest, ReassignmentKeepsEveryVectorOnceAndNearerItsCentroid) {
  // Points around 40 centres, so that splits cut through neighbourhoods as on real data.
  std::mt19937_64 rng(11);
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 40; ++c) centres.push_back(test::RandomVector(rng, kDim));
  std::normal_distribution<float> noise(0.0f, 0.25f);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 4000; ++i) {
    std::vector<float> x = centres[rng() % centres.size()];
    for (float& v : x) v += noise(rng);
    vectors.push_back(x);
  }
  const Placement without = Build(0, vectors);
  const Placement with = Build(8, vectors);
  for (const Placement* p : {&without, &with}) {
    ASSERT_GT(p->lists, 100u);  // the splits happened
    EXPECT_EQ(p->stored, vectors.size());
    for (size_t i = 0; i < vectors.size(); ++i) ASSERT_EQ(p->copies[i], 1) << "vector " << i;
  }
  std::printf("in the nearest list: %.3f without reassignment, %.3f with (%zu and %zu lists)\n",
              without.in_nearest, with.in_nearest, without.lists, with.lists);
  EXPECT_GE(with.in_nearest, 0.98);
  EXPECT_GT(with.in_nearest, without.in_nearest + 0.03);
}

// A page slot keeps a copy of its entry's live_from for the scan's visibility shortcut; the
// copies of slots that reassignment copied or moved must still follow the entry. After every
// cube loses its vector, a search through the shortcut alone finds nothing.
TEST(PartitionSplitTest, RetiringAfterReassigningSplitsReachesEveryCopy) {
  std::mt19937_64 rng(13);
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 40; ++c) centres.push_back(test::RandomVector(rng, kDim));
  std::normal_distribution<float> noise(0.0f, 0.25f);
  std::vector<std::vector<float>> vectors;
  for (int i = 0; i < 3000; ++i) {
    std::vector<float> x = centres[rng() % centres.size()];
    for (float& v : x) v += noise(rng);
    vectors.push_back(x);
  }
  gc::EpochDomain epochs;
  PartitionOptions options;
  options.flat_limit = 256;
  options.list_target = 16;
  Partition partition(Metric::kL2, kDim, options, &epochs);
  for (size_t i = 0; i < vectors.size(); ++i) partition.Apply(i + 1, vectors[i].data(), 0);
  auto live_hits = [&] {
    PreparedQuery query;
    query.Prepare(vectors[0].data(), kDim, Metric::kL2);
    ScanParams params;
    params.probes = 1 << 20;  // every list
    params.candidates = params.rerank = static_cast<uint32_t>(vectors.size());
    params.as_of = 1;
    params.fast_accept = true;  // no filter: only the slots' live_from copies decide
    std::vector<ScanHit> hits;
    gc::EpochDomain::Guard guard = epochs.Pin();
    partition.Search(query, params, &hits);
    return hits.size();
  };
  ASSERT_EQ(live_hits(), vectors.size());
  for (size_t i = 0; i < vectors.size(); ++i) partition.Apply(i + 1, nullptr, 0);
  EXPECT_EQ(live_hits(), 0u);
}

// A reader scanning while splits reassign must never meet a vector twice: a split's members
// bound for a published neighbour list go to a new copy of it, not to the list the reader may
// see next to the split one.
TEST(PartitionSplitTest, SearchesDuringReassigningSplitsSeeEachVectorOnce) {
  std::mt19937_64 rng(5);
  std::vector<std::vector<float>> centres;
  for (int c = 0; c < 40; ++c) centres.push_back(test::RandomVector(rng, kDim));
  std::normal_distribution<float> noise(0.0f, 0.25f);
  std::vector<std::vector<float>> vectors;  // outlive the partition that points at them
  for (int i = 0; i < 6000; ++i) {
    std::vector<float> x = centres[rng() % centres.size()];
    for (float& v : x) v += noise(rng);
    vectors.push_back(x);
  }
  gc::EpochDomain epochs;
  PartitionOptions options;
  options.flat_limit = 256;
  options.list_target = 16;
  Partition partition(Metric::kL2, kDim, options, &epochs);
  std::atomic<bool> done{false};
  std::atomic<int> searches{0};
  std::atomic<int> repeated{0};  // hits whose entry an earlier hit of the same search had
  std::thread reader([&] {
    std::mt19937_64 qrng(9);
    while (!done.load()) {
      PreparedQuery query;
      const std::vector<float>& q = vectors[qrng() % vectors.size()];
      query.Prepare(q.data(), kDim, Metric::kL2);
      ScanParams params;
      params.probes = 1 << 20;  // every list
      params.rerank = 200;
      params.candidates = 200;
      params.as_of = 1;
      params.fast_accept = true;
      std::vector<ScanHit> hits;
      {
        gc::EpochDomain::Guard guard = epochs.Pin();
        partition.Search(query, params, &hits);
      }
      std::set<uint32_t> seen;
      for (const ScanHit& h : hits) {
        if (!seen.insert(h.entry).second) repeated.fetch_add(1);
      }
      searches.fetch_add(1);
    }
  });
  for (size_t i = 0; i < vectors.size(); ++i) {
    partition.Apply(i + 1, vectors[i].data(), 0);
    epochs.Collect();
  }
  // At least a few searches overlapped the splits.
  while (searches.load() < 20) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ(repeated.load(), 0);
  EXPECT_GT(partition.Stats().lists, 200u);
}

}  // namespace
}  // namespace loci::index
