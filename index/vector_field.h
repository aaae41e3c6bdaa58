// Vector fields: the metric a field compares with, and the checks every vector must pass
// before it is stored or searched for (dimension, finiteness, the norm bounds of
// loci/metric.h). The Atlas index itself builds on these.

#ifndef LOCI_INDEX_VECTOR_FIELD_H_
#define LOCI_INDEX_VECTOR_FIELD_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "loci/metric.h"
#include "loci/status.h"

namespace loci::index {

// "cosine", "ip", "l2".
const char* MetricName(Metric metric);
// Accepts the names above (and "inner_product", "euclidean"); nullopt otherwise.
std::optional<Metric> ParseMetric(std::string_view name);

// The squared Euclidean norm of `values`, in double (the squares of floats are exact there),
// summed in an order that does not depend on the machine. NaN or infinite if a component is.
double SquaredNorm(std::span<const float> values);

// OK if `values` has `dim` finite components, a squared norm at most kMaxVectorSquaredNorm and,
// for cosine, at least kMinCosineSquaredNorm (loci/metric.h); otherwise InvalidArgument naming
// `field` and what is wrong (the first non-finite component, the norm and the bound).
Status ValidateVector(std::string_view field, std::span<const float> values, uint32_t dim,
                      Metric metric);

// ValidateVector for values already validated without their field's metric (when the write
// was validated, with Metric::kInnerProduct): only the dimension and, for cosine, a direction —
// what depends on the field.
Status ValidateVectorFits(std::string_view field, std::span<const float> values, uint32_t dim,
                          Metric metric);

}  // namespace loci::index

#endif  // LOCI_INDEX_VECTOR_FIELD_H_
