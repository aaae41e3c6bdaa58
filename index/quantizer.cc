// Symmetric INT8 quantization of stored residuals and queries.

#include "index/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace loci::index {

namespace {

// Rounds v / scale to the nearest integer in [-127, 127] (never -128, so that negating a code
// cannot overflow and every kernel trick stays exact). Branch-free, so loops over it vectorize.
// REQUIRES: |v * inv_scale| well within int32 (the scale is the row's max, so it is about 127).
inline int8_t Code(float v, float inv_scale) {
  // Half away from zero, inline (std::nearbyint is a library call without SSE4.1); clamped as
  // integers, since GCC will not if-convert float comparisons under -ftrapping-math.
  const float c = v * inv_scale;
  const int32_t rounded = static_cast<int32_t>(c + std::copysign(0.5f, c));
  return static_cast<int8_t>(std::min(std::max(rounded, -127), 127));
}

// max |x[i]| over i < n, for finite x: on the bit patterns, whose order is the values' order
// once the sign bit is cleared (so the loop vectorizes, which a float max does not without
// -ffast-math).
float MaxAbs(const float* x, size_t n) {
  uint32_t max_bits = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &x[i], sizeof(bits));
    bits &= 0x7fffffffu;
    max_bits = bits > max_bits ? bits : max_bits;
  }
  float max_abs;
  std::memcpy(&max_abs, &max_bits, sizeof(max_abs));
  return max_abs;
}

}  // namespace

EncodedVector EncodeResidual(const float* x, const float* center, size_t dim, size_t stride,
                             int8_t* codes) {
  std::vector<float> residual(x, x + dim);
  if (center != nullptr) {
    for (size_t i = 0; i < dim; ++i) residual[i] -= center[i];
  }
  const float max_abs = MaxAbs(residual.data(), dim);
  EncodedVector e;
  std::memset(codes, 0, stride);
  const float inv = 127.0f / max_abs;
  // All codes zero: the residual contributes nothing, or is too small (subnormal) or too large
  // (a difference of two huge finite vectors) to scale without converting inf to int.
  if (max_abs == 0 || !std::isfinite(max_abs) || !std::isfinite(inv)) return e;
  e.scale = max_abs / 127.0f;
  int32_t sum = 0;
  for (size_t i = 0; i < dim; ++i) codes[i] = Code(residual[i], inv);
  for (size_t i = 0; i < dim; ++i) sum += codes[i];
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
  const float max_abs = MaxAbs(q, dim);
  codes.assign(stride, 128);
  const float inv = 127.0f / max_abs;
  if (max_abs == 0 || !std::isfinite(inv)) {  // zero, or too small to scale (see EncodeResidual)
    scale = 0;
    return;
  }
  scale = max_abs / 127.0f;
  uint8_t* out = codes.data();  // a byte store could alias codes' own pointer: hoist it
  for (size_t i = 0; i < dim; ++i) out[i] = static_cast<uint8_t>(Code(q[i], inv) ^ 0x80);
}

void QuantizedQuery::SplitForNibbles() {
  const size_t stride = codes.size();
  nibble_lo.resize(stride / 2);
  nibble_hi.resize(stride / 2);
  const uint8_t* in = codes.data();  // byte stores could alias the vectors' pointers: hoist them
  int8_t* lo = nibble_lo.data();
  int8_t* hi = nibble_hi.data();
  for (size_t unit = 0; unit < stride / 64; ++unit) {
    for (size_t j = 0; j < 32; ++j) {
      lo[32 * unit + j] = static_cast<int8_t>(in[64 * unit + j] ^ 0x80);
      hi[32 * unit + j] = static_cast<int8_t>(in[64 * unit + 32 + j] ^ 0x80);
    }
  }
  int32_t total = 0;
  for (size_t b = 0; b < stride / 2; ++b) total += lo[b] + hi[b];
  sum = total;
}

}  // namespace loci::index
