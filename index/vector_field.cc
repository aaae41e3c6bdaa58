// Metric names and vector validation.

#include "index/vector_field.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

namespace loci::index {

const char* MetricName(Metric metric) {
  switch (metric) {
    case Metric::kCosine:
      return "cosine";
    case Metric::kInnerProduct:
      return "ip";
    case Metric::kL2:
      return "l2";
  }
  return "unknown";
}

std::optional<Metric> ParseMetric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "ip" || name == "inner_product") return Metric::kInnerProduct;
  if (name == "l2" || name == "euclidean") return Metric::kL2;
  return std::nullopt;
}

namespace {

Status CheckDimension(std::string_view field, std::span<const float> values, uint32_t dim) {
  if (values.size() == dim) return Status::OK();
  return Status::InvalidArgument("vector field '" + std::string(field) + "' has dimension " +
                                 std::to_string(dim) + ", got " + std::to_string(values.size()) +
                                 " values");
}

std::string Number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3g", x);
  return buf;
}

// What a cosine field needs beyond the common bounds: a direction float arithmetic can
// normalise. REQUIRES: squared_norm finite.
Status CheckDirection(std::string_view field, double squared_norm) {
  if (squared_norm == 0) {
    return Status::InvalidArgument("vector field '" + std::string(field) +
                                   "': an all-zero vector has no direction (metric cosine)");
  }
  if (squared_norm < kMinCosineSquaredNorm) {
    return Status::InvalidArgument("vector field '" + std::string(field) + "': norm " +
                                   Number(std::sqrt(squared_norm)) + " is below the minimum " +
                                   Number(std::sqrt(kMinCosineSquaredNorm)) +
                                   " of metric cosine (too small to normalise in float)");
  }
  return Status::OK();
}

}  // namespace

double SquaredNorm(std::span<const float> values) {
  // Eight partial sums, so the loop is not one chain of dependent additions (and vectorizes),
  // combined in a fixed order: the verdict on a vector never depends on the machine.
  double partial[8] = {};
  size_t i = 0;
  for (; i + 8 <= values.size(); i += 8) {
    for (size_t j = 0; j < 8; ++j) partial[j] += double{values[i + j]} * values[i + j];
  }
  for (size_t j = 0; i < values.size(); ++i, ++j) partial[j] += double{values[i]} * values[i];
  return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
         ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

Status ValidateVector(std::string_view field, std::span<const float> values, uint32_t dim,
                      Metric metric) {
  LOCI_RETURN_IF_ERROR(CheckDimension(field, values, dim));
  // The squares of finite floats are at most 1.2e77 and exact in double, so their sum is
  // finite: a NaN or infinite norm means a NaN or infinite component.
  const double squared_norm = SquaredNorm(values);
  if (!std::isfinite(squared_norm)) {
    const auto bad =
        std::find_if(values.begin(), values.end(), [](float x) { return !std::isfinite(x); });
    return Status::InvalidArgument("vector field '" + std::string(field) + "': component " +
                                   std::to_string(bad - values.begin()) + " is NaN or infinite");
  }
  if (squared_norm > kMaxVectorSquaredNorm) {
    return Status::InvalidArgument("vector field '" + std::string(field) + "': norm " +
                                   Number(std::sqrt(squared_norm)) + " is above the maximum " +
                                   Number(std::sqrt(kMaxVectorSquaredNorm)) +
                                   " (distances would overflow float)");
  }
  if (metric == Metric::kCosine) return CheckDirection(field, squared_norm);
  return Status::OK();
}

Status ValidateVectorFits(std::string_view field, std::span<const float> values, uint32_t dim,
                          Metric metric) {
  LOCI_RETURN_IF_ERROR(CheckDimension(field, values, dim));
  if (metric == Metric::kCosine) return CheckDirection(field, SquaredNorm(values));
  return Status::OK();
}

}  // namespace loci::index
