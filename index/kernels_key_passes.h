// The key passes of best_k.h (kernels.h's min_max_keys and count_keys_at_most) as plain loops,
// for each kernels_<isa>.cc to compile with its own ISA flags: -O3 vectorizes them into that
// ISA's 32-bit compares and min/max (the SSE2 baseline has no 32-bit min/max).
//
// The functions are static on purpose: every including file must get its own copy. Inline
// functions with external linkage would be merged by the linker into one of the copies, and the
// scalar table could end up calling AVX-512 code on a CPU without it.

#ifndef LOCI_INDEX_KERNELS_KEY_PASSES_H_
#define LOCI_INDEX_KERNELS_KEY_PASSES_H_

#include <cstddef>
#include <cstdint>

namespace loci::index::internal {

static void MinMaxKeysLoop(const int32_t* keys, size_t n, int32_t* min, int32_t* max) {
  int32_t lo = keys[0];
  int32_t hi = keys[0];
  for (size_t i = 1; i < n; ++i) {
    lo = keys[i] < lo ? keys[i] : lo;
    hi = keys[i] > hi ? keys[i] : hi;
  }
  *min = lo;
  *max = hi;
}

static uint32_t CountKeysAtMostLoop(const int32_t* keys, uint32_t n, int32_t t) {
  uint32_t count = 0;  // 32-bit lanes: one compare and one subtract a vector of keys
  for (uint32_t i = 0; i < n; ++i) count += keys[i] <= t ? 1 : 0;
  return count;
}

}  // namespace loci::index::internal

#endif  // LOCI_INDEX_KERNELS_KEY_PASSES_H_
