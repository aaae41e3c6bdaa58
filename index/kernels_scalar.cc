// The scalar kernels: the reference every SIMD version is tested against, and the fallback.

#include "index/kernels_internal.h"
#include "index/kernels_key_passes.h"

namespace loci::index::internal {

int32_t DotU8S8Scalar(const uint8_t* q, const int8_t* x, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += int32_t{q[i]} * int32_t{x[i]};
  return sum;
}

void DotU8S8BatchScalar(const uint8_t* q, const int8_t* x, size_t n, size_t stride, size_t count,
                        int32_t* out) {
  for (size_t j = 0; j < count; ++j) out[j] = DotU8S8Scalar(q, x + j * stride, n);
}

int32_t DotU4S8Scalar(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) {
    sum += int32_t{x[i] & 15} * int32_t{q_lo[i]} + int32_t{x[i] >> 4} * int32_t{q_hi[i]};
  }
  return sum;
}

void DotU4S8BatchScalar(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n,
                        size_t stride, size_t count, int32_t* out) {
  for (size_t j = 0; j < count; ++j) out[j] = DotU4S8Scalar(q_lo, q_hi, x + j * stride, n);
}

float DotF32Scalar(const float* a, const float* b, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float L2SqF32Scalar(const float* a, const float* b, size_t n) {
  float sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

const Kernels kScalarKernels = {
    KernelIsa::kScalar, "scalar",     DotU8S8Scalar, DotU8S8BatchScalar, DotU4S8Scalar,
    DotU4S8BatchScalar, DotF32Scalar, L2SqF32Scalar, MinMaxKeysLoop,     CountKeysAtMostLoop};

}  // namespace loci::index::internal
