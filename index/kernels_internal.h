// The per-ISA kernel tables behind kernels.h. Each lives in its own file, compiled with the
// flags of its ISA; kernels.cc picks one at run time.

#ifndef LOCI_INDEX_KERNELS_INTERNAL_H_
#define LOCI_INDEX_KERNELS_INTERNAL_H_

#include "index/kernels.h"

namespace loci::index::internal {

extern const Kernels kScalarKernels;

}  // namespace loci::index::internal

#endif  // LOCI_INDEX_KERNELS_INTERNAL_H_
