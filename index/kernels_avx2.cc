// The AVX2 + FMA kernels: for x86-64 CPUs without AVX-512 VNNI (Haswell to Alder Lake, Zen 1-3).
//
// Compiled with -mavx2 -mfma on x86-64 (see CMakeLists.txt), so nothing here may run before
// kernels.cc has checked CPUID. Every helper has internal linkage: an inline function shared with
// other translation units could be merged by the linker into one compiled with these flags.

#include <simde/x86/avx2.h>
#include <simde/x86/fma.h>

#include <cstring>

#include "index/kernels_internal.h"
#include "index/kernels_key_passes.h"

namespace loci::index::internal {

namespace {

// q · x over 32 bytes, added into the eight s32 lanes of acc.
//
// vpmaddubsw sums adjacent u8·s8 products into a saturating s16, and 255·127 + 255·127 = 64770
// does not fit. Splitting q into q & 0x7f and q & 0x80 makes both pair sums fit for every s8 x:
// |127·x0 + 127·x1| <= 32512, and 128·x0 + 128·x1 lies in [-32768, 32512]. vpmaddwd by ones then
// widens each half to s32 exactly. `lo_mask` and `hi_mask` hold 0x7f and 0x80 in every byte.
inline simde__m256i DotStep(simde__m256i acc, simde__m256i q, simde__m256i x, simde__m256i lo_mask,
                            simde__m256i hi_mask, simde__m256i ones16) {
  const simde__m256i lo = simde_mm256_maddubs_epi16(simde_mm256_and_si256(q, lo_mask), x);
  const simde__m256i hi = simde_mm256_maddubs_epi16(simde_mm256_and_si256(q, hi_mask), x);
  return simde_mm256_add_epi32(acc, simde_mm256_add_epi32(simde_mm256_madd_epi16(lo, ones16),
                                                          simde_mm256_madd_epi16(hi, ones16)));
}

// The same with q already split (the batch kernel splits each query block once for 4 vectors).
inline simde__m256i DotStepSplit(simde__m256i acc, simde__m256i q_lo, simde__m256i q_hi,
                                 simde__m256i x, simde__m256i ones16) {
  const simde__m256i lo = simde_mm256_maddubs_epi16(q_lo, x);
  const simde__m256i hi = simde_mm256_maddubs_epi16(q_hi, x);
  return simde_mm256_add_epi32(acc, simde_mm256_add_epi32(simde_mm256_madd_epi16(lo, ones16),
                                                          simde_mm256_madd_epi16(hi, ones16)));
}

inline simde__m256i Load(const void* p) {
  return simde_mm256_loadu_si256(static_cast<const simde__m256i*>(p));
}

// Lanes i < k all ones, the rest zero (k <= 8): the mask of a partial load.
inline simde__m256i FirstLanes(size_t k) {
  return simde_mm256_cmpgt_epi32(simde_mm256_set1_epi32(static_cast<int32_t>(k)),
                                 simde_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Bytes p[0, r) zero-extended to 32 (r < 32), reading nothing at or past p + r: the last vector
// of a page may end at the end of a mapping.
inline simde__m256i LoadTailBytes(const void* p, size_t r) {
#if defined(SIMDE_X86_AVX2_NATIVE)
  // vpmaskmovd for the whole dwords (masked-off lanes cannot fault), bytes for the rest.
  const size_t words = r / 4;
  const simde__m256i body = _mm256_maskload_epi32(static_cast<const int*>(p), FirstLanes(words));
  const unsigned char* rest = static_cast<const unsigned char*>(p) + 4 * words;
  uint32_t last = 0;
  for (size_t k = 0; k < r % 4; ++k) last |= uint32_t{rest[k]} << (8 * k);
  const simde__m256i at_last =
      simde_mm256_cmpeq_epi32(simde_mm256_set1_epi32(static_cast<int32_t>(words)),
                              simde_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return simde_mm256_or_si256(
      body, simde_mm256_and_si256(at_last, simde_mm256_set1_epi32(static_cast<int32_t>(last))));
#else
  // SIMDe's portable maskload reads all 32 bytes; copy instead.
  alignas(32) unsigned char buf[32] = {};
  std::memcpy(buf, p, r);
  return simde_mm256_load_si256(reinterpret_cast<const simde__m256i*>(buf));
#endif
}

// Floats p[0, r) zero-extended to 8 (r < 8), reading nothing past p + r.
inline simde__m256 LoadTailFloats(const float* p, size_t r) {
#if defined(SIMDE_X86_AVX2_NATIVE)
  return _mm256_maskload_ps(p, FirstLanes(r));
#else
  alignas(32) float buf[8] = {};
  std::memcpy(buf, p, r * sizeof(float));
  return simde_mm256_load_ps(buf);
#endif
}

inline int32_t ReduceAdd(simde__m256i v) {
  simde__m128i s =
      simde_mm_add_epi32(simde_mm256_castsi256_si128(v), simde_mm256_extracti128_si256(v, 1));
  s = simde_mm_add_epi32(s, simde_mm_shuffle_epi32(s, 0x4e));  // + the other 64-bit half
  s = simde_mm_add_epi32(s, simde_mm_shuffle_epi32(s, 0xb1));  // + the neighbour lane
  return simde_mm_cvtsi128_si32(s);
}

// The four horizontal sums {a, b, c, d}.
inline simde__m128i ReduceAdd4(simde__m256i a, simde__m256i b, simde__m256i c, simde__m256i d) {
  // Per 128-bit half: hadd(a, b) = {a0+a1, a2+a3, b0+b1, b2+b3}; a second hadd leaves one
  // partial sum of each input per lane.
  const simde__m256i abcd =
      simde_mm256_hadd_epi32(simde_mm256_hadd_epi32(a, b), simde_mm256_hadd_epi32(c, d));
  return simde_mm_add_epi32(simde_mm256_castsi256_si128(abcd),
                            simde_mm256_extracti128_si256(abcd, 1));
}

// The frame of the batch kernels: out[j] = one(x + j * stride) for j < count, computed four
// rows at a time where it can be. `four(rows, acc)` adds the dot products of rows[0..3] into
// acc[0..3] (loading and preparing each query block once for all four, whose chains then hide
// one another's latency), and one reduction serves four results.
template <typename Row, typename Four, typename One>
inline void BatchByFour(const Row* x, size_t stride, size_t count, int32_t* out, Four four,
                        One one) {
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const Row* rows[4] = {x + j * stride, x + (j + 1) * stride, x + (j + 2) * stride,
                          x + (j + 3) * stride};
    simde__m256i acc[4] = {simde_mm256_setzero_si256(), simde_mm256_setzero_si256(),
                           simde_mm256_setzero_si256(), simde_mm256_setzero_si256()};
    four(rows, acc);
    simde_mm_storeu_si128(reinterpret_cast<simde__m128i*>(out + j),
                          ReduceAdd4(acc[0], acc[1], acc[2], acc[3]));
  }
  for (; j < count; ++j) out[j] = one(x + j * stride);
}

inline float ReduceAdd(simde__m256 v) {
  simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(v), simde_mm256_extractf128_ps(v, 1));
  s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
  s = simde_mm_add_ss(s, simde_mm_movehdup_ps(s));
  return simde_mm_cvtss_f32(s);
}

int32_t DotU8S8Avx2(const uint8_t* q, const int8_t* x, size_t n) {
  const simde__m256i lo_mask = simde_mm256_set1_epi8(0x7f);
  const simde__m256i hi_mask = simde_mm256_set1_epi8(static_cast<char>(0x80));
  const simde__m256i ones16 = simde_mm256_set1_epi16(1);
  // Two accumulators, though the loop is bound by its four multiplies per 32 bytes (ports 0 and 1
  // on Intel), not by the add chain.
  simde__m256i acc0 = simde_mm256_setzero_si256();
  simde__m256i acc1 = simde_mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = DotStep(acc0, Load(q + i), Load(x + i), lo_mask, hi_mask, ones16);
    acc1 = DotStep(acc1, Load(q + i + 32), Load(x + i + 32), lo_mask, hi_mask, ones16);
  }
  if (i + 32 <= n) {
    acc0 = DotStep(acc0, Load(q + i), Load(x + i), lo_mask, hi_mask, ones16);
    i += 32;
  }
  if (i < n) {
    acc1 = DotStep(acc1, LoadTailBytes(q + i, n - i), LoadTailBytes(x + i, n - i), lo_mask, hi_mask,
                   ones16);
  }
  return ReduceAdd(simde_mm256_add_epi32(acc0, acc1));
}

void DotU8S8BatchAvx2(const uint8_t* q, const int8_t* x, size_t n, size_t stride, size_t count,
                      int32_t* out) {
  const simde__m256i lo_mask = simde_mm256_set1_epi8(0x7f);
  const simde__m256i hi_mask = simde_mm256_set1_epi8(static_cast<char>(0x80));
  const simde__m256i ones16 = simde_mm256_set1_epi16(1);
  const size_t body = n & ~size_t{31};
  const size_t tail = n - body;
  // The query's tail block, split once for the whole batch.
  const simde__m256i q_tail =
      tail != 0 ? LoadTailBytes(q + body, tail) : simde_mm256_setzero_si256();
  const simde__m256i q_tail_lo = simde_mm256_and_si256(q_tail, lo_mask);
  const simde__m256i q_tail_hi = simde_mm256_and_si256(q_tail, hi_mask);
  BatchByFour(
      x, stride, count, out,
      [&](const int8_t* const* rows, simde__m256i* acc) {
        for (size_t i = 0; i < body; i += 32) {
          const simde__m256i qv = Load(q + i);
          const simde__m256i q_lo = simde_mm256_and_si256(qv, lo_mask);
          const simde__m256i q_hi = simde_mm256_and_si256(qv, hi_mask);
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            acc[k] = DotStepSplit(acc[k], q_lo, q_hi, Load(rows[k] + i), ones16);
          }
        }
        if (tail != 0) {
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            acc[k] = DotStepSplit(acc[k], q_tail_lo, q_tail_hi, LoadTailBytes(rows[k] + body, tail),
                                  ones16);
          }
        }
      },
      [&](const int8_t* row) { return DotU8S8Avx2(q, row, n); });
}

// One vector's dot_u4s8 over 32 packed bytes (64 dimensions). vpmaddubsw cannot saturate here:
// a pair sums at most 2 * 15 * 128, and the low and high halves together twice that.
inline simde__m256i DotU4Step(simde__m256i acc, simde__m256i x, simde__m256i q_lo,
                              simde__m256i q_hi, simde__m256i mask, simde__m256i ones16) {
  const simde__m256i lo = simde_mm256_maddubs_epi16(simde_mm256_and_si256(x, mask), q_lo);
  const simde__m256i hi =
      simde_mm256_maddubs_epi16(simde_mm256_and_si256(simde_mm256_srli_epi16(x, 4), mask), q_hi);
  return simde_mm256_add_epi32(acc, simde_mm256_madd_epi16(simde_mm256_add_epi16(lo, hi), ones16));
}

int32_t DotU4S8Avx2(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n) {
  const simde__m256i mask = simde_mm256_set1_epi8(0x0f);
  const simde__m256i ones16 = simde_mm256_set1_epi16(1);
  simde__m256i acc0 = simde_mm256_setzero_si256();
  simde__m256i acc1 = simde_mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = DotU4Step(acc0, Load(x + i), Load(q_lo + i), Load(q_hi + i), mask, ones16);
    acc1 =
        DotU4Step(acc1, Load(x + i + 32), Load(q_lo + i + 32), Load(q_hi + i + 32), mask, ones16);
  }
  if (i < n) acc0 = DotU4Step(acc0, Load(x + i), Load(q_lo + i), Load(q_hi + i), mask, ones16);
  return ReduceAdd(simde_mm256_add_epi32(acc0, acc1));
}

void DotU4S8BatchAvx2(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n,
                      size_t stride, size_t count, int32_t* out) {
  const simde__m256i mask = simde_mm256_set1_epi8(0x0f);
  const simde__m256i ones16 = simde_mm256_set1_epi16(1);
  BatchByFour(
      x, stride, count, out,
      [&](const uint8_t* const* rows, simde__m256i* acc) {
        for (size_t i = 0; i < n; i += 32) {
          const simde__m256i ql = Load(q_lo + i);
          const simde__m256i qh = Load(q_hi + i);
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            acc[k] = DotU4Step(acc[k], Load(rows[k] + i), ql, qh, mask, ones16);
          }
        }
      },
      [&](const uint8_t* row) { return DotU4S8Avx2(q_lo, q_hi, row, n); });
}

float DotF32Avx2(const float* a, const float* b, size_t n) {
  // Each FMA needs two loads, so at two loads per cycle one FMA issues per cycle: four
  // accumulators cover its 4-cycle latency.
  simde__m256 acc0 = simde_mm256_setzero_ps();
  simde__m256 acc1 = simde_mm256_setzero_ps();
  simde__m256 acc2 = simde_mm256_setzero_ps();
  simde__m256 acc3 = simde_mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i), acc0);
    acc1 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 8), simde_mm256_loadu_ps(b + i + 8),
                                acc1);
    acc2 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 16), simde_mm256_loadu_ps(b + i + 16),
                                acc2);
    acc3 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i + 24), simde_mm256_loadu_ps(b + i + 24),
                                acc3);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = simde_mm256_fmadd_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    acc1 = simde_mm256_fmadd_ps(LoadTailFloats(a + i, n - i), LoadTailFloats(b + i, n - i), acc1);
  }
  return ReduceAdd(
      simde_mm256_add_ps(simde_mm256_add_ps(acc0, acc1), simde_mm256_add_ps(acc2, acc3)));
}

float L2SqF32Avx2(const float* a, const float* b, size_t n) {
  simde__m256 acc0 = simde_mm256_setzero_ps();
  simde__m256 acc1 = simde_mm256_setzero_ps();
  simde__m256 acc2 = simde_mm256_setzero_ps();
  simde__m256 acc3 = simde_mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const simde__m256 d0 =
        simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));
    const simde__m256 d1 =
        simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 8), simde_mm256_loadu_ps(b + i + 8));
    const simde__m256 d2 =
        simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 16), simde_mm256_loadu_ps(b + i + 16));
    const simde__m256 d3 =
        simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i + 24), simde_mm256_loadu_ps(b + i + 24));
    acc0 = simde_mm256_fmadd_ps(d0, d0, acc0);
    acc1 = simde_mm256_fmadd_ps(d1, d1, acc1);
    acc2 = simde_mm256_fmadd_ps(d2, d2, acc2);
    acc3 = simde_mm256_fmadd_ps(d3, d3, acc3);
  }
  for (; i + 8 <= n; i += 8) {
    const simde__m256 d =
        simde_mm256_sub_ps(simde_mm256_loadu_ps(a + i), simde_mm256_loadu_ps(b + i));
    acc0 = simde_mm256_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    // Both tails are zero past n, so the padding lanes add (0 - 0)^2.
    const simde__m256 d =
        simde_mm256_sub_ps(LoadTailFloats(a + i, n - i), LoadTailFloats(b + i, n - i));
    acc1 = simde_mm256_fmadd_ps(d, d, acc1);
  }
  return ReduceAdd(
      simde_mm256_add_ps(simde_mm256_add_ps(acc0, acc1), simde_mm256_add_ps(acc2, acc3)));
}

}  // namespace

const Kernels kAvx2Kernels = {
    KernelIsa::kAvx2, "avx2",     DotU8S8Avx2, DotU8S8BatchAvx2, DotU4S8Avx2,
    DotU4S8BatchAvx2, DotF32Avx2, L2SqF32Avx2, MinMaxKeysLoop,   CountKeysAtMostLoop};

}  // namespace loci::index::internal
