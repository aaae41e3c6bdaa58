// The similarity a vector field is compared with, fixed when the field is created.

#ifndef LOCI_METRIC_H_
#define LOCI_METRIC_H_

#include <cstdint>

namespace loci {

enum class Metric : uint8_t {
  kCosine = 0,
  kInnerProduct = 1,
  kL2 = 2,
};

}  // namespace loci

#endif  // LOCI_METRIC_H_
