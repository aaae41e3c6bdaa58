// Threshold search of best_k.h.

#include "index/best_k.h"

#include <algorithm>

namespace loci::index {

namespace {

// The passes over the keys are plain loops that -O3 vectorizes; the baseline x86-64 build has
// SSE2 only (no 32-bit min/max, 4 lanes), so x86-64 gets AVX2 and AVX-512 clones too, chosen at
// load time by CPUID. Not under TSan: the ifunc resolvers run during relocation, before the
// TSan runtime is initialised, and the instrumented binary crashes at startup.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LOCI_NO_IFUNC 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define LOCI_NO_IFUNC 1
#endif
#if defined(__x86_64__) && defined(__GNUC__) && !defined(LOCI_NO_IFUNC)
#define LOCI_KEY_PASS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define LOCI_KEY_PASS
#endif

LOCI_KEY_PASS void MinMaxKeys(const int32_t* keys, size_t n, int32_t* min, int32_t* max) {
  int32_t lo = keys[0];
  int32_t hi = keys[0];
  for (size_t i = 1; i < n; ++i) {
    lo = keys[i] < lo ? keys[i] : lo;
    hi = keys[i] > hi ? keys[i] : hi;
  }
  *min = lo;
  *max = hi;
}

LOCI_KEY_PASS uint32_t CountKeysAtMost(const int32_t* keys, uint32_t n, int32_t t) {
  uint32_t count = 0;  // 32-bit lanes: one compare and one subtract a vector of keys
  for (uint32_t i = 0; i < n; ++i) count += keys[i] <= t ? 1 : 0;
  return count;
}

}  // namespace

size_t CountAtMost(const int32_t* keys, size_t n, int32_t t) {
  size_t count = 0;
  constexpr size_t kChunk = size_t{1} << 31;  // counts in uint32 chunks
  for (size_t i = 0; i < n; i += kChunk) {
    count += CountKeysAtMost(keys + i, static_cast<uint32_t>(std::min(kChunk, n - i)), t);
  }
  return count;
}

KeyThreshold FindKeyThreshold(const int32_t* keys, size_t n, size_t k, size_t slack) {
  int32_t min;
  int32_t max;
  MinMaxKeys(keys, n, &min, &max);
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
    const size_t count = CountAtMost(keys, n, static_cast<int32_t>(mid));
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
