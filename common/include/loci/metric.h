// The similarity a vector field is compared with, fixed when the field is created, and the
// bounds every vector compared must respect.

#ifndef LOCI_METRIC_H_
#define LOCI_METRIC_H_

#include <cstdint>

namespace loci {

enum class Metric : uint8_t {
  kCosine = 0,
  kInnerProduct = 1,
  kL2 = 2,
};

// Bounds on the squared Euclidean norm |v|^2 (the sum of v[i]^2, computed in double precision)
// of every vector stored and every search query; a vector outside them is InvalidArgument
// naming its field and the bound. Every vector must have |v|^2 <= kMaxVectorSquaredNorm
// (|v| <= 1e15): then every score between two of them stays finite in float (an l2 distance is
// at most (|a| + |b|)^2 = 4e30, an inner product at most |a||b| = 1e30 in magnitude, and every
// partial sum of either likewise), as do the index's sums over many vectors, far below FLT_MAX
// (3.4e38): no score is ever infinite or NaN. A vector of a cosine field must also have
// |v|^2 >= kMinCosineSquaredNorm (|v| >= 1e-15): a direction float arithmetic can normalise
// (1/|v| finite, the squares of its largest components not lost to underflow). Embedding models
// produce norms near 1, many orders of magnitude inside both bounds.
inline constexpr double kMaxVectorSquaredNorm = 1e30;
inline constexpr double kMinCosineSquaredNorm = 1e-30;

}  // namespace loci

#endif  // LOCI_METRIC_H_
