// Kernel dispatch: the best table this CPU supports, chosen once.

#include "index/kernels.h"

#include "index/kernels_internal.h"

namespace loci::index {

const Kernels* KernelsFor(KernelIsa isa) {
  if (isa == KernelIsa::kScalar) return &internal::kScalarKernels;
  return nullptr;  // SIMD versions land next
}

const Kernels& BestKernels() { return internal::kScalarKernels; }

int32_t SumS8(const int8_t* x, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace loci::index
