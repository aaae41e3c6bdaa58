// Metric names and vector validation.

#include "index/vector_field.h"

#include <simde/x86/sse2.h>

#include <algorithm>
#include <cmath>
#include <cstring>

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

// Scans `values` four at a time (SIMDe SSE2: native on x86-64, portable elsewhere) for a
// component whose exponent bits are all ones (NaN or infinity) and for any non-zero component.
// Returns the index of the first non-finite component, or values.size().
size_t FirstNonFinite(std::span<const float> values, bool* all_zero) {
  const simde__m128i exponent = simde_mm_set1_epi32(0x7f800000);
  const simde__m128i magnitude = simde_mm_set1_epi32(0x7fffffff);
  simde__m128i any_bits = simde_mm_setzero_si128();
  size_t i = 0;
  for (; i + 4 <= values.size(); i += 4) {
    const simde__m128i v = simde_mm_loadu_si128(reinterpret_cast<const simde__m128i*>(&values[i]));
    const simde__m128i bad = simde_mm_cmpeq_epi32(simde_mm_and_si128(v, exponent), exponent);
    if (simde_mm_movemask_epi8(bad) != 0) break;  // find the exact component below
    any_bits = simde_mm_or_si128(any_bits, simde_mm_and_si128(v, magnitude));
  }
  *all_zero =
      simde_mm_movemask_epi8(simde_mm_cmpeq_epi32(any_bits, simde_mm_setzero_si128())) == 0xffff;
  for (; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) return i;
    if (values[i] != 0.0f) *all_zero = false;
  }
  return values.size();
}

}  // namespace

namespace {

Status CheckDimension(std::string_view field, std::span<const float> values, uint32_t dim) {
  if (values.size() == dim) return Status::OK();
  return Status::InvalidArgument("vector field '" + std::string(field) + "' has dimension " +
                                 std::to_string(dim) + ", got " + std::to_string(values.size()) +
                                 " values");
}

Status NoDirection(std::string_view field) {
  return Status::InvalidArgument("vector field '" + std::string(field) +
                                 "': an all-zero vector has no direction (metric cosine)");
}

}  // namespace

Status ValidateVector(std::string_view field, std::span<const float> values, uint32_t dim,
                      Metric metric) {
  LOCI_RETURN_IF_ERROR(CheckDimension(field, values, dim));
  bool all_zero = true;
  const size_t bad = FirstNonFinite(values, &all_zero);
  if (bad != values.size()) {
    return Status::InvalidArgument("vector field '" + std::string(field) + "': component " +
                                   std::to_string(bad) + " is NaN or infinite");
  }
  if (metric == Metric::kCosine && all_zero && dim > 0) return NoDirection(field);
  return Status::OK();
}

Status ValidateVectorFits(std::string_view field, std::span<const float> values, uint32_t dim,
                          Metric metric) {
  LOCI_RETURN_IF_ERROR(CheckDimension(field, values, dim));
  // Stops at the first non-zero component: almost always the first.
  if (metric == Metric::kCosine && dim > 0 &&
      std::all_of(values.begin(), values.end(), [](float x) { return x == 0.0f; })) {
    return NoDirection(field);
  }
  return Status::OK();
}

}  // namespace loci::index
