// Metric names and vector validation.

#include "index/vector_field.h"

#include <cmath>

namespace loci::index {

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kInnerProduct: return "ip";
    case Metric::kL2: return "l2";
  }
  return "unknown";
}

std::optional<Metric> ParseMetric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "ip" || name == "inner_product") return Metric::kInnerProduct;
  if (name == "l2" || name == "euclidean") return Metric::kL2;
  return std::nullopt;
}

Status ValidateVector(std::string_view field, std::span<const float> values, uint32_t dim,
                      Metric metric) {
  const std::string name(field);
  if (values.size() != dim) {
    return Status::InvalidArgument("vector field '" + name + "' has dimension " +
                                   std::to_string(dim) + ", got " +
                                   std::to_string(values.size()) + " values");
  }
  bool all_zero = true;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return Status::InvalidArgument("vector field '" + name + "': component " +
                                     std::to_string(i) + " is NaN or infinite");
    }
    if (values[i] != 0.0f) all_zero = false;
  }
  if (metric == Metric::kCosine && all_zero && dim > 0) {
    return Status::InvalidArgument("vector field '" + name +
                                   "': an all-zero vector has no direction (metric cosine)");
  }
  return Status::OK();
}

}  // namespace loci::index
