// Kernel dispatch: the best table this CPU supports, chosen once from CPUID, optionally capped by
// the LOCI_KERNELS environment variable.

#include "index/kernels.h"

#include <cstdlib>
#include <cstring>
#include <initializer_list>

#include "index/kernels_internal.h"

namespace loci::index {

namespace {

// Whether this CPU (and OS: libgcc and compiler-rt check XCR0 before reporting AVX features)
// runs the instructions the table of `isa` was compiled for.
bool CpuRuns(KernelIsa isa) {
  switch (isa) {
    case KernelIsa::kScalar:
      return true;
#if defined(LOCI_KERNELS_X86)
    case KernelIsa::kAvx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case KernelIsa::kAvx512Vnni:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    default:
      return false;  // the SIMD tables were built without their ISA flags: never dispatch
#endif
  }
  return false;
}

}  // namespace

const Kernels* KernelsFor(KernelIsa isa) {
  if (!CpuRuns(isa)) return nullptr;
  switch (isa) {
    case KernelIsa::kScalar:
      return &internal::kScalarKernels;
    case KernelIsa::kAvx2:
      return &internal::kAvx2Kernels;
    case KernelIsa::kAvx512Vnni:
      return &internal::kAvx512VnniKernels;
  }
  return nullptr;
}

const Kernels& BestKernels() {
  static const Kernels& best = internal::ChooseKernels(std::getenv("LOCI_KERNELS"));
  return best;
}

namespace internal {

const Kernels& ChooseKernels(const char* cap) {
  KernelIsa top = KernelIsa::kAvx512Vnni;
  if (cap != nullptr) {
    for (const Kernels* k : {&kScalarKernels, &kAvx2Kernels, &kAvx512VnniKernels}) {
      if (std::strcmp(cap, k->name) == 0) top = k->isa;
    }
  }
  for (int isa = static_cast<int>(top); isa > 0; --isa) {
    if (const Kernels* k = KernelsFor(static_cast<KernelIsa>(isa))) return *k;
  }
  return kScalarKernels;
}

}  // namespace internal

int32_t SumS8(const int8_t* x, size_t n) {
  int32_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += x[i];
  return sum;
}

}  // namespace loci::index
