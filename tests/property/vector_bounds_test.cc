// Property test of the vector norm bounds (loci/metric.h) end to end: vectors and queries of
// extreme magnitudes — huge, tiny, subnormal, mixed within one vector, just inside and just
// outside the bounds — are accepted exactly when the documented bounds say so, and a search
// over whatever was accepted returns every cube, never a NaN or infinite score, best first.
// Flat and clustered partitions, every metric.
//
// RC_PARAMS="seed=N max_success=M" reproduces or lengthens a run.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

double SquaredNorm(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += double{x} * x;
  return sum;
}

// What the bounds say of `v` in a field of `metric`.
bool WithinBounds(const std::vector<float>& v, Metric metric) {
  const double norm = SquaredNorm(v);
  if (norm > kMaxVectorSquaredNorm) return false;
  return metric != Metric::kCosine || norm >= kMinCosineSquaredNorm;
}

// A component of magnitude 10^e, e anywhere from the subnormals to near FLT_MAX.
rc::Gen<float> Component() {
  return rc::gen::map(rc::gen::tuple(rc::gen::inRange(-45, 39), rc::gen::inRange(1, 10),
                                     rc::gen::arbitrary<bool>(), rc::gen::inRange(0, 8)),
                      [](const std::tuple<int, int, bool, int>& t) {
                        const auto [exponent, mantissa, negative, zero] = t;
                        if (zero == 0) return 0.0f;
                        const float x = static_cast<float>(mantissa * std::pow(10.0, exponent));
                        const float finite = std::isfinite(x) ? x : 3e38f;
                        return negative ? -finite : finite;
                      });
}

// A vector of `dim` components of wildly mixed magnitudes, or of one magnitude, then often
// rescaled to just inside or just outside a bound.
rc::Gen<std::vector<float>> Vector(uint32_t dim) {
  return rc::gen::exec([dim] {
    std::vector<float> v;
    if (*rc::gen::arbitrary<bool>()) {
      v = *rc::gen::container<std::vector<float>>(dim, Component());
    } else {
      const float c = *Component();
      for (uint32_t i = 0; i < dim; ++i) v.push_back(i % 3 == 1 ? -c : c);
    }
    const int target = *rc::gen::inRange(0, 6);
    const double norm = SquaredNorm(v);
    if (target >= 2 && norm > 0 && std::isfinite(norm)) {
      // 2, 3: just inside / outside the maximum; 4, 5: just above / below the cosine minimum.
      const double goal[] = {kMaxVectorSquaredNorm * (1 - 1e-4), kMaxVectorSquaredNorm * (1 + 1e-4),
                             kMinCosineSquaredNorm * (1 + 1e-3),
                             kMinCosineSquaredNorm * (1 - 1e-3)};
      const double scale = std::sqrt(goal[target - 2] / norm);
      for (float& x : v) x = static_cast<float>(x * scale);
    }
    return v;
  });
}

RC_GTEST_PROP(VectorBoundsTest, AcceptedVectorsAreAlwaysFoundAndNeverScoreNaN, ()) {
  const Metric metric = *rc::gen::element(Metric::kCosine, Metric::kInnerProduct, Metric::kL2);
  const uint32_t dim = *rc::gen::inRange<uint32_t>(1, 24);
  // Up to 64 stay flat; more are clustered (test::SmallIndexOptions' flat_limit).
  const size_t n = *rc::gen::element<size_t>(1, 5, 20, 90);

  std::unique_ptr<Env> env = NewMemEnv();
  std::unique_ptr<Db> db;
  RC_ASSERT(Db::Open(test::SmallIndexOptions(env.get()), "/db", &db).ok());
  WriteBatch define;
  define.DefineVectorField("s", "e", dim, metric);
  RC_ASSERT(db->Write(WriteOptions(), define, nullptr).ok());

  std::set<CubeId> stored;
  for (size_t i = 0; i < n; ++i) {
    const std::vector<float> v = *Vector(dim);
    Result<CubeId> id = db->Put(WriteOptions(), CubeDraft{.space = "s", .vectors = {{"e", v}}});
    RC_ASSERT(id.ok() == WithinBounds(v, metric));
    if (id.ok()) {
      stored.insert(*id);
    } else {
      RC_ASSERT(id.status().IsInvalidArgument());
    }
  }

  for (int round = 0; round < 4; ++round) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "e";
    r.query = *Vector(dim);
    // Every stored vector is a candidate and is re-ranked exactly.
    r.k = static_cast<uint32_t>(std::max<size_t>(stored.size(), 1));
    r.rerank = r.k;
    r.probes = kMaxSearchProbes;
    std::vector<SearchHit> hits;
    Status s = db->Search(r, &hits);
    RC_ASSERT(s.ok() == WithinBounds(r.query, metric));
    if (!s.ok()) {
      RC_ASSERT(s.IsInvalidArgument());
      continue;
    }
    std::set<CubeId> found;
    for (size_t i = 0; i < hits.size(); ++i) {
      RC_ASSERT(!std::isnan(hits[i].score));
      RC_ASSERT(std::isfinite(hits[i].score));
      found.insert(hits[i].id);
      if (i == 0) continue;
      if (metric == Metric::kL2) {
        RC_ASSERT(hits[i - 1].score <= hits[i].score);
      } else {
        RC_ASSERT(hits[i - 1].score >= hits[i].score);
      }
    }
    RC_ASSERT(found == stored);
  }
}

}  // namespace
}  // namespace loci
