// Projection: learned principal directions and the 4-bit prefix codes.

#include "index/projection.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace loci::index {
namespace {

// n rows of dim floats spanning a `rank`-dimensional subspace, plus a little isotropic noise.
std::vector<float> LowRankRows(size_t n, uint32_t dim, uint32_t rank, float noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> basis(size_t{rank} * dim);
  for (float& v : basis) v = normal(rng);
  std::vector<float> rows(n * dim);
  for (size_t r = 0; r < n; ++r) {
    for (uint32_t k = 0; k < rank; ++k) {
      const float z = normal(rng);
      for (uint32_t i = 0; i < dim; ++i) rows[r * dim + i] += z * basis[size_t{k} * dim + i];
    }
    for (uint32_t i = 0; i < dim; ++i) rows[r * dim + i] += noise * normal(rng);
  }
  return rows;
}

double Dot(const float* a, const float* b, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; ++i) s += double{a[i]} * b[i];
  return s;
}

TEST(ProjectionTest, LearnsOrthonormalDirectionsHoldingTheVariance) {
  constexpr uint32_t kDim = 300;
  const std::vector<float> rows = LowRankRows(1000, kDim, 8, 0.05f, 1);
  std::unique_ptr<Projection> p = Projection::Learn(rows.data(), 1000, kDim, ProjectionOptions());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->width(), 64u);  // the narrowest allowed width
  EXPECT_GE(p->energy(), 0.95);
  // W W^T = I.
  ASSERT_EQ(p->directions().size(), size_t{p->width()} * kDim);
  for (uint32_t r = 0; r < p->width(); r += 7) {
    for (uint32_t c = 0; c < p->width(); ++c) {
      EXPECT_NEAR(Dot(&p->directions()[size_t{r} * kDim], &p->directions()[size_t{c} * kDim], kDim),
                  c == r ? 1.0 : 0.0, 1e-4)
          << "row " << r << " column " << c;
    }
  }
}

TEST(ProjectionTest, RefusesIsotropicOrNarrowData) {
  const std::vector<float> isotropic = LowRankRows(1000, 300, 0, 1.0f, 2);
  EXPECT_EQ(Projection::Learn(isotropic.data(), 1000, 300, ProjectionOptions()), nullptr);
  // Below 3 x 64 dimensions no width is allowed, however anisotropic the data.
  const std::vector<float> narrow = LowRankRows(500, 128, 4, 0.01f, 3);
  EXPECT_EQ(Projection::Learn(narrow.data(), 500, 128, ProjectionOptions()), nullptr);
  const std::vector<float> zeros(500 * 300, 0.0f);
  EXPECT_EQ(Projection::Learn(zeros.data(), 500, 300, ProjectionOptions()), nullptr);
}

TEST(ProjectionTest, QuantizedApplyIsCloseToTheExactOne) {
  constexpr uint32_t kDim = 392;
  const std::vector<float> rows = LowRankRows(400, kDim, 16, 0.1f, 4);
  std::unique_ptr<Projection> p = Projection::Learn(rows.data(), 400, kDim, ProjectionOptions());
  ASSERT_NE(p, nullptr);
  const Kernels& k = BestKernels();
  std::vector<float> exact(p->width()), approx(p->width());
  for (size_t r = 0; r < 20; ++r) {
    const float* x = &rows[r * kDim];
    for (uint32_t c = 0; c < p->width(); ++c) {
      exact[c] = static_cast<float>(Dot(&p->directions()[size_t{c} * kDim], x, kDim));
    }
    QuantizedQuery q;
    q.Quantize(x, kDim, CodeStride(kDim));
    p->ApplyQuantized(k, q.codes.data(), q.scale, approx.data());
    double err = 0, norm = 0;
    for (uint32_t c = 0; c < p->width(); ++c) {
      err += (exact[c] - approx[c]) * (exact[c] - approx[c]);
      norm += exact[c] * exact[c];
    }
    // Far below the 4-bit prefix codes' own error (about 1/14 of the largest coordinate).
    EXPECT_LT(std::sqrt(err / norm), 0.02) << "row " << r;
  }
}

TEST(ProjectionTest, PrefixCodesRoundTripWithinHalfAStep) {
  std::mt19937_64 rng(5);
  std::normal_distribution<float> normal;
  std::vector<float> y(128);
  for (float& v : y) v = normal(rng);
  std::vector<uint8_t> plane(64);
  const float scale = EncodePrefix(y.data(), y.size(), plane.data());
  ASSERT_GT(scale, 0);
  for (size_t unit = 0; unit < 2; ++unit) {
    for (size_t j = 0; j < 32; ++j) {
      const uint8_t b = plane[32 * unit + j];
      const int lo = (b & 15) - 8, hi = (b >> 4) - 8;  // the nibble layout of SplitNibbles
      EXPECT_GE(lo, -7);
      EXPECT_GE(hi, -7);
      EXPECT_NEAR(scale * lo, y[64 * unit + j], scale / 2 + 1e-6);
      EXPECT_NEAR(scale * hi, y[64 * unit + 32 + j], scale / 2 + 1e-6);
    }
  }
  // The largest coordinate gets the extreme code.
  size_t arg = 0;
  for (size_t i = 1; i < y.size(); ++i) arg = std::fabs(y[i]) > std::fabs(y[arg]) ? i : arg;
  const uint8_t b = plane[32 * (arg / 64) + arg % 32];
  const int code = ((arg % 64) < 32 ? (b & 15) : (b >> 4)) - 8;
  EXPECT_EQ(std::abs(code), 7);

  std::vector<float> zeros(64, 0.0f);
  std::vector<uint8_t> zero_plane(32, 0xff);
  EXPECT_EQ(EncodePrefix(zeros.data(), zeros.size(), zero_plane.data()), 0.0f);
  for (uint8_t z : zero_plane) EXPECT_EQ(z, 0x88);
}

}  // namespace
}  // namespace loci::index
