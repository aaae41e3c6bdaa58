// Vector fields: the metric a field compares with, and the checks every vector must pass
// before it is stored (dimension, finiteness). The Atlas index itself builds on these.

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

// OK if `values` has `dim` finite components (and, for cosine, is not all zeros); otherwise
// InvalidArgument naming `field` and the first offending component.
Status ValidateVector(std::string_view field, std::span<const float> values, uint32_t dim,
                      Metric metric);

// ValidateVector for values already known to be finite (checked when the write was
// validated): only the dimension and, for cosine, a direction — what depends on the field.
Status ValidateVectorFits(std::string_view field, std::span<const float> values, uint32_t dim,
                          Metric metric);

}  // namespace loci::index

#endif  // LOCI_INDEX_VECTOR_FIELD_H_
