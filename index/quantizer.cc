// Symmetric INT8 quantization of stored residuals and queries.

#include "index/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace loci::index {

namespace {

// Rounds v / scale to the nearest integer in [-127, 127] (never -128, so that negating a code
// cannot overflow and every kernel trick stays exact).
inline int8_t Code(float v, float inv_scale) {
  const float c = std::nearbyint(v * inv_scale);
  return static_cast<int8_t>(std::clamp(c, -127.0f, 127.0f));
}

}  // namespace

EncodedVector EncodeResidual(const float* x, const float* center, size_t dim, size_t stride,
                             int8_t* codes) {
  float max_abs = 0;
  for (size_t i = 0; i < dim; ++i) {
    const float r = center ? x[i] - center[i] : x[i];
    max_abs = std::max(max_abs, std::fabs(r));
  }
  EncodedVector e;
  std::memset(codes, 0, stride);
  if (max_abs == 0) return e;  // all codes zero: the residual contributes nothing
  e.scale = max_abs / 127.0f;
  const float inv = 127.0f / max_abs;
  int32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) {
    const float r = center ? x[i] - center[i] : x[i];
    codes[i] = Code(r, inv);
    sum += codes[i];
  }
  e.sum = sum;
  return e;
}

void QuantizedQuery::Quantize(const float* q, size_t dim, size_t stride) {
  float max_abs = 0;
  for (size_t i = 0; i < dim; ++i) max_abs = std::max(max_abs, std::fabs(q[i]));
  codes.assign(stride, 128);
  scale = max_abs / 127.0f;
  if (max_abs == 0) return;
  const float inv = 127.0f / max_abs;
  for (size_t i = 0; i < dim; ++i) codes[i] = static_cast<uint8_t>(Code(q[i], inv) + 128);
}

}  // namespace loci::index
