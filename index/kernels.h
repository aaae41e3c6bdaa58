// Distance kernels for Atlas: INT8 dot products for page scans and FP32 ones for exact re-rank
// (and the passes of the candidate selections over integer keys), each in a scalar, an AVX2 and
// an AVX-512 (VNNI) version chosen once at run time from CPUID.
//
// INT8 convention (research vector_anchors.md §3.2, option 2): stored codes are signed int8 in
// [-127, 127]; the query side is offset once per query to unsigned (q_u8 = q_s8 + 128), so the
// inner loop is one vpdpbusd per 64 bytes. The caller recovers the signed dot product as
//   dot(q_s8, x) = DotU8S8(q_u8, x) - 128 * SumS8(x)
// with SumS8(x) precomputed when x is stored.

#ifndef LOCI_INDEX_KERNELS_H_
#define LOCI_INDEX_KERNELS_H_

#include <cstddef>
#include <cstdint>

namespace loci::index {

enum class KernelIsa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512Vnni = 2 };

struct Kernels {
  KernelIsa isa;
  const char* name;  // "scalar", "avx2", "avx512-vnni"

  // Sum over i < n of q[i] * x[i] (q unsigned, x signed), exact for every value (x = -128
  // included) in every table. Any n, any alignment, and nothing is read past q + n or x + n;
  // 64-byte-aligned q and x are faster (unaligned ones split cache lines: up to ~2x slower).
  // REQUIRES: n <= 65793, so no partial sum can overflow int32.
  int32_t (*dot_u8s8)(const uint8_t* q, const int8_t* x, size_t n);

  // out[j] = dot_u8s8(q, x + j * stride, n) for j < count: a page scan that loads each block of
  // the query once for several vectors. A stride that is a multiple of 64 keeps every vector
  // aligned when x is. REQUIRES: stride >= n.
  void (*dot_u8s8_batch)(const uint8_t* q, const int8_t* x, size_t n, size_t stride, size_t count,
                         int32_t* out);

  // 4-bit codes, two per byte (the layout is quantizer.h's SplitNibbles): the sum over bytes
  // b < n of (x[b] & 15) * q_lo[b] + (x[b] >> 4) * q_hi[b], where q_lo and q_hi hold the signed
  // query dimensions the low and the high nibbles stand for. Exact for every input (no partial
  // sum can overflow for n <= 2^20). REQUIRES: n a multiple of 32; nothing is read past x + n,
  // q_lo + n or q_hi + n.
  int32_t (*dot_u4s8)(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n);

  // out[j] = dot_u4s8(q_lo, q_hi, x + j * stride, n) for j < count. REQUIRES: stride >= n.
  void (*dot_u4s8_batch)(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n,
                         size_t stride, size_t count, int32_t* out);

  // FP32 inner product and squared Euclidean distance, for re-rank and clustering.
  float (*dot_f32)(const float* a, const float* b, size_t n);
  float (*l2sq_f32)(const float* a, const float* b, size_t n);

  // Passes over order-preserving int32 keys, for best_k.h's selections: the smallest and the
  // largest of keys[0, n) (REQUIRES: n >= 1), and how many of keys[0, n) are <= t.
  void (*min_max_keys)(const int32_t* keys, size_t n, int32_t* min, int32_t* max);
  uint32_t (*count_keys_at_most)(const int32_t* keys, uint32_t n, int32_t t);
};

// The fastest kernels this CPU runs, chosen on first use. The environment variable
// LOCI_KERNELS=scalar|avx2|avx512-vnni caps the choice (for tests and comparisons); any other
// value is ignored.
const Kernels& BestKernels();

// The kernels of one ISA, or nullptr if this CPU (or this build) lacks it.
const Kernels* KernelsFor(KernelIsa isa);

// Sum of x[i] for i < n (the per-vector correction above).
int32_t SumS8(const int8_t* x, size_t n);

}  // namespace loci::index

#endif  // LOCI_INDEX_KERNELS_H_
