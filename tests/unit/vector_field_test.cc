// Vector validation: dimension, NaN/Inf at every position (so the vectorized scan and its scalar
// tail are both covered), all-zero vectors under cosine, and metric names.

#include "index/vector_field.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace loci::index {
namespace {

TEST(VectorFieldTest, AcceptsFiniteVectorsOfTheRightDimension) {
  for (uint32_t dim = 1; dim <= 37; ++dim) {
    std::vector<float> v(dim, 0.5f);
    EXPECT_TRUE(ValidateVector("f", v, dim, Metric::kCosine).ok()) << dim;
    EXPECT_TRUE(ValidateVector("f", v, dim + 1, Metric::kL2).IsInvalidArgument()) << dim;
  }
}

TEST(VectorFieldTest, FindsEveryNonFiniteComponentAtItsIndex) {
  const float bad[] = {std::numeric_limits<float>::quiet_NaN(),
                       std::numeric_limits<float>::infinity(),
                       -std::numeric_limits<float>::infinity()};
  for (uint32_t dim : {1u, 3u, 4u, 5u, 8u, 13u, 768u}) {
    for (uint32_t at = 0; at < dim; at += (dim > 20 ? 37 : 1)) {
      for (float b : bad) {
        std::vector<float> v(dim, 1.0f);
        v[at] = b;
        Status s = ValidateVector("emb", v, dim, Metric::kInnerProduct);
        ASSERT_TRUE(s.IsInvalidArgument());
        EXPECT_NE(s.message().find("component " + std::to_string(at) + " "), std::string::npos)
            << s.ToString();
      }
    }
  }
}

TEST(VectorFieldTest, AllZeroIsRefusedOnlyForCosine) {
  for (uint32_t dim : {1u, 4u, 7u, 64u}) {
    std::vector<float> zeros(dim, 0.0f);
    EXPECT_TRUE(ValidateVector("f", zeros, dim, Metric::kCosine).IsInvalidArgument());
    EXPECT_TRUE(ValidateVector("f", zeros, dim, Metric::kL2).ok());
    std::vector<float> negative_zero(dim, -0.0f);
    EXPECT_TRUE(ValidateVector("f", negative_zero, dim, Metric::kCosine).IsInvalidArgument());
    zeros[dim - 1] = 1e-14f;  // the last component, in the partial sums' tail or last lane
    EXPECT_TRUE(ValidateVector("f", zeros, dim, Metric::kCosine).ok()) << dim;
    EXPECT_TRUE(ValidateVectorFits("f", zeros, dim, Metric::kCosine).ok()) << dim;
  }
}

// loci/metric.h's bounds: |v|^2 <= 1e30 for every metric, >= 1e-30 for cosine, judged on the
// exact (double) squared norm, so a vector whose every component is a finite float is still
// refused when its norm is not.
TEST(VectorFieldTest, TheNormMustStayWithinTheBounds) {
  for (Metric m : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    const std::vector<float> huge = {3e38f, 3e38f, 3e38f};
    Status s = ValidateVector("e", huge, 3, m);
    EXPECT_TRUE(s.IsInvalidArgument()) << MetricName(m);
    EXPECT_EQ(s.message(),
              "vector field 'e': norm 5.2e+38 is above the maximum 1e+15 (distances would "
              "overflow float)");
    EXPECT_TRUE(ValidateVector("e", std::vector<float>{1e15f}, 1, m).ok()) << MetricName(m);
    EXPECT_TRUE(ValidateVector("e", std::vector<float>{1.01e15f}, 1, m).IsInvalidArgument());
    // Spread over many components: each is small, the norm is not.
    EXPECT_TRUE(
        ValidateVector("e", std::vector<float>(10000, 1.1e13f), 10000, m).IsInvalidArgument());
    EXPECT_TRUE(ValidateVector("e", std::vector<float>(10000, 0.9e13f), 10000, m).ok());
  }
  const std::vector<float> tiny = {1e-45f, 0, 0};  // the smallest subnormal float
  Status s = ValidateVector("e", tiny, 3, Metric::kCosine);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_EQ(s.message(),
            "vector field 'e': norm 1.4e-45 is below the minimum 1e-15 of metric cosine (too "
            "small to normalise in float)");
  EXPECT_EQ(ValidateVectorFits("e", tiny, 3, Metric::kCosine).message(), s.message());
  EXPECT_TRUE(
      ValidateVector("e", std::vector<float>{0.99e-15f}, 1, Metric::kCosine).IsInvalidArgument());
  EXPECT_TRUE(ValidateVector("e", std::vector<float>{1.01e-15f}, 1, Metric::kCosine).ok());
  for (Metric m : {Metric::kInnerProduct, Metric::kL2}) {
    EXPECT_TRUE(ValidateVector("e", tiny, 3, m).ok());
    EXPECT_TRUE(ValidateVectorFits("e", tiny, 3, m).ok());
  }
}

TEST(VectorFieldTest, SquaredNormIsExactForFloatSquares) {
  EXPECT_EQ(SquaredNorm(std::vector<float>{3, 4}), 25.0);
  EXPECT_EQ(SquaredNorm(std::vector<float>{3e38f}), double{3e38f} * double{3e38f});
  std::vector<float> many(1001, 0.5f);
  EXPECT_EQ(SquaredNorm(many), 250.25);
  EXPECT_TRUE(std::isnan(SquaredNorm(std::vector<float>{1, NAN})));
}

TEST(VectorFieldTest, MetricNamesRoundTrip) {
  for (Metric m : {Metric::kCosine, Metric::kInnerProduct, Metric::kL2}) {
    EXPECT_EQ(ParseMetric(MetricName(m)), m);
  }
  EXPECT_EQ(ParseMetric("euclidean"), Metric::kL2);
  EXPECT_FALSE(ParseMetric("hamming").has_value());
}

}  // namespace
}  // namespace loci::index
