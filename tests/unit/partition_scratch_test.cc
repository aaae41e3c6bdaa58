// Partition::Search reuses per-thread buffers from one search to the next. A search must find
// exactly what the same search finds on a fresh thread, whatever the thread searched before:
// partitions of other dimensions, metrics and scan passes (flat, both planes, hi plane or
// prefix), and searches large enough that their buffers are released afterwards.

#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "gc/epoch.h"
#include "index/partition.h"
#include "tests/testutil.h"

namespace loci::index {
namespace {

struct Fixture {
  uint32_t dim;
  Metric metric;
  std::vector<std::vector<float>> vectors;  // outlive the partition that points at them
  std::unique_ptr<Partition> partition;
};

enum class Shape {
  kClusters,  // around 30 centres
  kLowRank,   // near a 24-dimensional subspace: a wide partition learns a projection
  kNoise,     // no direction stands out: a wide partition ranks by its hi plane
};

// n vectors of that shape, in a partition that clusters them past 256.
void Fill(Fixture* f, gc::EpochDomain* epochs, size_t n, uint64_t seed, Shape shape) {
  std::mt19937_64 rng(seed);
  if (shape == Shape::kNoise) {
    for (size_t i = 0; i < n; ++i) f->vectors.push_back(test::RandomVector(rng, f->dim));
  } else if (shape == Shape::kLowRank) {
    const test::LowRankVectors source(rng, f->dim, 24);
    for (size_t i = 0; i < n; ++i) f->vectors.push_back(source.Next(rng));
  } else {
    std::vector<std::vector<float>> centres;
    for (int c = 0; c < 30; ++c) centres.push_back(test::RandomVector(rng, f->dim));
    std::normal_distribution<float> noise(0.0f, 0.3f);
    for (size_t i = 0; i < n; ++i) {
      std::vector<float> x = centres[rng() % centres.size()];
      for (float& v : x) v += noise(rng);
      f->vectors.push_back(x);
    }
  }
  PartitionOptions options;
  options.flat_limit = 256;
  options.list_target = 32;
  f->partition = std::make_unique<Partition>(f->metric, f->dim, options, epochs);
  for (size_t i = 0; i < n; ++i) f->partition->Apply(i + 1, f->vectors[i].data(), 0);
}

std::vector<ScanHit> SearchOnce(const Fixture& f, gc::EpochDomain* epochs, const float* q,
                                uint32_t rerank) {
  PreparedQuery query;
  query.Prepare(q, f.dim, f.metric);
  ScanParams params;
  params.probes = 6;
  params.candidates = params.rerank = rerank;
  params.as_of = 1;
  params.fast_accept = true;
  std::vector<ScanHit> hits;
  gc::EpochDomain::Guard guard = epochs->Pin();
  f.partition->Search(query, params, &hits);
  return hits;
}

TEST(PartitionScratchTest, ASearchFindsWhatItFindsOnAFreshThread) {
  gc::EpochDomain epochs;
  std::vector<Fixture> fixtures(4);
  fixtures[0] = {16, Metric::kL2, {}, nullptr};             // both planes at once
  fixtures[1] = {300, Metric::kCosine, {}, nullptr};        // the hi plane
  fixtures[2] = {784, Metric::kInnerProduct, {}, nullptr};  // the prefix
  fixtures[3] = {8, Metric::kL2, {}, nullptr};              // flat
  Fill(&fixtures[0], &epochs, 3000, 1, Shape::kClusters);
  Fill(&fixtures[1], &epochs, 3000, 2, Shape::kNoise);
  Fill(&fixtures[2], &epochs, 2000, 3, Shape::kLowRank);
  Fill(&fixtures[3], &epochs, 100, 4, Shape::kClusters);
  ASSERT_EQ(fixtures[1].partition->Stats().prefix_width, 0u);
  ASSERT_GT(fixtures[2].partition->Stats().prefix_width, 0u);

  // 20 000 candidates exceed what a thread keeps between searches.
  const uint32_t reruns[] = {12, 20000, 40};
  struct Case {
    size_t fixture;
    std::vector<float> query;
    uint32_t rerank;
    std::vector<ScanHit> want;
  };
  std::vector<Case> cases;
  std::mt19937_64 rng(9);
  for (size_t f = 0; f < fixtures.size(); ++f) {
    for (int q = 0; q < 5; ++q) {
      for (uint32_t rerank : reruns) {
        cases.push_back({f, test::RandomVector(rng, fixtures[f].dim), rerank, {}});
      }
    }
  }
  for (Case& c : cases) {
    std::thread fresh(
        [&] { c.want = SearchOnce(fixtures[c.fixture], &epochs, c.query.data(), c.rerank); });
    fresh.join();
    ASSERT_FALSE(c.want.empty());
  }
  // This thread searches them all in turn, twice, in two orders.
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[round == 0 ? i : cases.size() - 1 - i];
      const std::vector<ScanHit> got =
          SearchOnce(fixtures[c.fixture], &epochs, c.query.data(), c.rerank);
      ASSERT_EQ(got.size(), c.want.size()) << "fixture " << c.fixture << " rerank " << c.rerank;
      for (size_t h = 0; h < got.size(); ++h) {
        EXPECT_EQ(got[h].entry, c.want[h].entry) << "fixture " << c.fixture << " hit " << h;
        EXPECT_EQ(got[h].distance, c.want[h].distance);
      }
    }
  }
}

}  // namespace
}  // namespace loci::index
