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
    zeros[dim - 1] = 1e-30f;  // the last component, in the scalar tail or the last lane
    EXPECT_TRUE(ValidateVector("f", zeros, dim, Metric::kCosine).ok()) << dim;
  }
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
