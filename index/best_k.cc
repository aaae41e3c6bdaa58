// Threshold search of best_k.h.

#include "index/best_k.h"

#include <algorithm>

#include "index/kernels.h"

namespace loci::index {

namespace {

// The passes run in the kernel table of this CPU (kernels.h), so the selection, like the
// distances, uses AVX-512 or AVX2 where it can and follows the LOCI_KERNELS cap.
size_t CountAtMostWith(const Kernels& kernels, const int32_t* keys, size_t n, int32_t t) {
  size_t count = 0;
  constexpr size_t kChunk = size_t{1} << 31;  // counts in uint32 chunks
  for (size_t i = 0; i < n; i += kChunk) {
    count +=
        kernels.count_keys_at_most(keys + i, static_cast<uint32_t>(std::min(kChunk, n - i)), t);
  }
  return count;
}

}  // namespace

size_t CountAtMost(const int32_t* keys, size_t n, int32_t t) {
  return CountAtMostWith(BestKernels(), keys, n, t);
}

KeyThreshold FindKeyThreshold(const int32_t* keys, size_t n, size_t k, size_t slack) {
  const Kernels& kernels = BestKernels();
  int32_t min;
  int32_t max;
  kernels.min_max_keys(keys, n, &min, &max);
  // Invariants: count(<= lo) = count_lo < k <= count(<= hi) = count_hi. 64-bit, as lo starts
  // one below the smallest key.
  int64_t lo = int64_t{min} - 1;
  int64_t hi = max;
  size_t count_lo = 0;
  size_t count_hi = n;
  // Aim the interpolation at the middle of [k, k + slack].
  const double target = static_cast<double>(k) + static_cast<double>(slack) / 2;
  bool bisect = false;
  while (count_hi > k + slack && hi - lo > 1) {
    const int64_t width = hi - lo;
    int64_t mid;
    if (bisect) {
      mid = lo + width / 2;
    } else {
      // Keys of distances of one sign and similar magnitude are nearly linear in them, so
      // interpolating the counts usually lands within the slack in a few passes.
      const double frac =
          (target - static_cast<double>(count_lo)) / static_cast<double>(count_hi - count_lo);
      mid = lo + static_cast<int64_t>(frac * static_cast<double>(width));
      mid = std::clamp(mid, lo + 1, hi - 1);
    }
    const size_t count = CountAtMostWith(kernels, keys, n, static_cast<int32_t>(mid));
    if (count >= k) {
      hi = mid;
      count_hi = count;
    } else {
      lo = mid;
      count_lo = count;
    }
    // Interpolation can creep up on one side; a pass that did not halve the interval is
    // followed by a bisection, so that the search takes at most ~66 passes.
    bisect = !bisect && hi - lo > width / 2;
  }
  return KeyThreshold{static_cast<int32_t>(hi), count_hi, static_cast<int32_t>(lo), count_lo};
}

}  // namespace loci::index
