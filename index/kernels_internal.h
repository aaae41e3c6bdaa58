// The per-ISA kernel tables behind kernels.h. Each lives in its own file, compiled with the
// flags of its ISA; kernels.cc picks one at run time.
//
// The SIMD files are compiled with SIMDe everywhere, but with their ISA flags (and dispatched to)
// only on x86-64, where CMake defines LOCI_KERNELS_X86. Nothing outside this directory may call
// into a table it did not get from KernelsFor or BestKernels: the CPU may lack the instructions.

#ifndef LOCI_INDEX_KERNELS_INTERNAL_H_
#define LOCI_INDEX_KERNELS_INTERNAL_H_

#include "index/kernels.h"

namespace loci::index::internal {

extern const Kernels kScalarKernels;      // kernels_scalar.cc: the reference
extern const Kernels kAvx2Kernels;        // kernels_avx2.cc: AVX2 + FMA
extern const Kernels kAvx512VnniKernels;  // kernels_avx512.cc: AVX-512 F/BW/VL/VNNI + FMA

// The table BestKernels picks on this CPU when LOCI_KERNELS has the value `cap` (nullptr when
// unset): the best ISA both the CPU supports and the cap allows. An unknown cap is ignored.
// Separate from BestKernels so tests can check the cap without racing on the environment.
const Kernels& ChooseKernels(const char* cap);

}  // namespace loci::index::internal

#endif  // LOCI_INDEX_KERNELS_INTERNAL_H_
