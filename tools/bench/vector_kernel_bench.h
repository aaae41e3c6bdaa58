// Micro-benchmarks printed by `loci-bench vector` next to the index measurements: the INT8 dot
// product kernels of index/kernels.h (L1-hot compute cost per call) and the single-thread
// memory stream bandwidth that bounds any scan of more data than the caches hold.

#ifndef LOCI_TOOLS_BENCH_VECTOR_KERNEL_BENCH_H_
#define LOCI_TOOLS_BENCH_VECTOR_KERNEL_BENCH_H_

#include <cstdint>
#include <string>
#include <vector>

namespace loci::bench {

struct KernelTiming {
  std::string isa;    // Kernels::name
  bool best = false;  // the table BestKernels() chose
  uint32_t dim = 0;
  double ns_per_dot = 0;           // dot_u8s8 on the same two vectors, call after call
  double ns_per_dot_median = 0;    // the same, the median round rather than the best
  double ns_per_vector_batch = 0;  // dot_u8s8_batch over 64 vectors of this dim, per vector
  double ns_per_vector_u4 = 0;     // dot_u4s8_batch (the 4-bit pass: dim / 2 bytes), likewise
  bool matches_scalar = true;      // results equal the scalar reference's on random inputs
};

// Every ISA this CPU and build offer, at dims 128, 768 and 1536. Each figure is the best of many
// short rounds: on a shared host a neighbour's burst slows a long round as a whole, while some
// short rounds run undisturbed (the median round is reported for the single dot as well).
std::vector<KernelTiming> MeasureInt8Kernels();

// Name of BestKernels().
std::string BestKernelName();

// Bytes per second of one thread summing a 512 MiB buffer (the best of a few passes).
double MeasureStreamBandwidth();

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_VECTOR_KERNEL_BENCH_H_
