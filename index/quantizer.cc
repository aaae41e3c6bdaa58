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
  // Half away from zero, inline (std::nearbyint is a library call without SSE4.1).
  const float c = std::clamp(v * inv_scale, -127.0f, 127.0f);
  return static_cast<int8_t>(c >= 0 ? c + 0.5f : c - 0.5f);
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

void SplitNibbles(const int8_t* codes, size_t stride, uint8_t* hi, uint8_t* lo) {
  for (size_t unit = 0; unit < stride / 64; ++unit) {
    for (size_t j = 0; j < 32; ++j) {
      const int a = codes[64 * unit + j];       // the low nibble's dimension
      const int b = codes[64 * unit + 32 + j];  // the high nibble's
      // Arithmetic shift: floor(c / 16) in [-8, 7]; c & 15 = c - 16 * floor(c / 16).
      hi[32 * unit + j] = static_cast<uint8_t>(((a >> 4) + 8) | (((b >> 4) + 8) << 4));
      lo[32 * unit + j] = static_cast<uint8_t>((a & 15) | ((b & 15) << 4));
    }
  }
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

void QuantizedQuery::SplitForNibbles() {
  const size_t stride = codes.size();
  nibble_lo.resize(stride / 2);
  nibble_hi.resize(stride / 2);
  sum = 0;
  for (size_t unit = 0; unit < stride / 64; ++unit) {
    for (size_t j = 0; j < 32; ++j) {
      const int8_t a = static_cast<int8_t>(codes[64 * unit + j] - 128);
      const int8_t b = static_cast<int8_t>(codes[64 * unit + 32 + j] - 128);
      nibble_lo[32 * unit + j] = a;
      nibble_hi[32 * unit + j] = b;
      sum += a + b;
    }
  }
}

}  // namespace loci::index
