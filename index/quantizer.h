// The INT8 quantizer of Atlas (design.md §6): per-vector symmetric scales on the residual from
// a center (the posting list's centroid in a clustered partition, zero in a flat one), and a
// per-query symmetric scale. The center is a per-dimension offset, so the codes spend their
// 8 bits on what distinguishes a vector from its neighbours, not on what they share.
//
// With x = c + r, r ~ s_r * codes and q ~ s_q * q_codes:
//   q.x ~ q.c + s_q * s_r * (DotU8S8(q_codes + 128, codes) - 128 * SumS8(codes))
// and every metric is ranked by the distance  d = bias - 2 q.x  (bias = |x|^2 for L2, which
// makes d = |q - x|^2 - |q|^2; bias = 0 for inner product and cosine, whose vectors are
// normalised first).

#ifndef LOCI_INDEX_QUANTIZER_H_
#define LOCI_INDEX_QUANTIZER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "index/aligned_allocator.h"

namespace loci::index {

// Rows of codes are padded with zeros to a multiple of this (one zmm register).
inline constexpr size_t kCodeAlignment = 64;

inline size_t CodeStride(size_t dim) {
  return (dim + kCodeAlignment - 1) / kCodeAlignment * kCodeAlignment;
}

// One stored vector, encoded.
struct EncodedVector {
  float scale = 0;  // s_r
  float bias = 0;
  int32_t sum = 0;  // SumS8(codes)
};

// Encodes x - center (center may be nullptr: zero) into codes[0, stride) (zero-padded past dim)
// and returns its scale and code sum. `bias` is left to the caller.
EncodedVector EncodeResidual(const float* x, const float* center, size_t dim, size_t stride,
                             int8_t* codes);

// Pages store each code c as two 4-bit planes, c = 16 * (hi - 8) + lo with hi, lo in [0, 15],
// so a scan can rank by the hi plane alone (a 4-bit code: half the bytes) and refine the best
// candidates with the lo plane to the exact INT8 value:
//   q.c = 16 * q.hi + q.lo - 128 * sum(q)
// A plane packs two dimensions per byte in 32-byte units: byte j of unit u holds dimension
// 64u + j in its low nibble and 64u + 32 + j in its high nibble (the kernels' dot_u4s8 layout,
// which needs no shuffles). A plane row takes NibbleStride(dim) bytes, a multiple of 32.
inline size_t NibbleStride(size_t dim) { return CodeStride(dim) / 2; }

// Splits `stride` INT8 codes (stride a multiple of 64, every code in [-127, 127]) into planes
// hi and lo of stride / 2 bytes each.
void SplitNibbles(const int8_t* codes, size_t stride, uint8_t* hi, uint8_t* lo);

// A query quantized once: unsigned codes (signed + 128), padded to the stride with 128, for the
// INT8 kernel; and, once SplitForNibbles has run, the signed codes rearranged for dot_u4s8.
struct QuantizedQuery {
  AlignedVector<uint8_t> codes;
  float scale = 0;  // s_q
  // From SplitForNibbles (empty before):
  AlignedVector<int8_t> nibble_lo;  // the dimensions low nibbles stand for
  AlignedVector<int8_t> nibble_hi;  // the dimensions high nibbles stand for
  int32_t sum = 0;                  // of the signed codes

  void Quantize(const float* q, size_t dim, size_t stride);
  // Derives the nibble-side fields from `codes` (searches need them; routing does not).
  void SplitForNibbles();
};

}  // namespace loci::index

#endif  // LOCI_INDEX_QUANTIZER_H_
