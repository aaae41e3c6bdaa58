// The AVX-512 kernels (F, BW, VL, VNNI): Ice Lake and later Xeons, Zen 4 and later.
//
// The INT8 inner loop is one vpdpbusd per 64 bytes (research vector_anchors.md §3.2, option 2):
// u8 x s8 products summed four at a time straight into s32 lanes, with no intermediate saturation,
// so it is exact for every u8 q and s8 x. Tails use masked loads, which neither read nor fault
// past the last element, so any n and any pointer work.
//
// Compiled with the AVX-512 flags on x86-64 (see CMakeLists.txt), so nothing here may run before
// kernels.cc has checked CPUID. Every helper has internal linkage: an inline function shared with
// other translation units could be merged by the linker into one compiled with these flags.

// GCC 12.2's AVX-512 extract intrinsics, once inlined, warn that the undefined source vector they
// pass is uninitialized (GCC PR 105593); the pragma must cover their definitions.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <simde/x86/avx512.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include <cstring>

#include "index/kernels_internal.h"
#include "index/kernels_key_passes.h"

namespace loci::index::internal {

namespace {

inline simde__m512i Load(const void* p) { return simde_mm512_loadu_si512(p); }

// Bytes p[0, r) zero-extended to 64 (r < 64), reading nothing at or past p + r.
inline simde__m512i LoadTailBytes(const void* p, size_t r) {
#if defined(SIMDE_X86_AVX512BW_NATIVE)
  return _mm512_maskz_loadu_epi8((__mmask64{1} << r) - 1, p);
#else
  // SIMDe 0.7 has no masked loads; copy instead.
  alignas(64) unsigned char buf[64] = {};
  std::memcpy(buf, p, r);
  return simde_mm512_load_si512(buf);
#endif
}

// Floats p[0, r) zero-extended to 16 (r < 16), reading nothing past p + r.
inline simde__m512 LoadTailFloats(const float* p, size_t r) {
#if defined(SIMDE_X86_AVX512F_NATIVE)
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << r) - 1), p);
#else
  alignas(64) float buf[16] = {};
  std::memcpy(buf, p, r * sizeof(float));
  return simde_mm512_load_ps(buf);
#endif
}

// The 16 lanes summed pairwise into 8 (lane i + lane i + 8).
inline simde__m256i Fold(simde__m512i v) {
  return simde_mm256_add_epi32(simde_mm512_castsi512_si256(v),
                               simde_mm512_extracti64x4_epi64(v, 1));
}

inline int32_t ReduceAdd(simde__m512i v) {
  const simde__m256i h = Fold(v);
  simde__m128i s =
      simde_mm_add_epi32(simde_mm256_castsi256_si128(h), simde_mm256_extracti128_si256(h, 1));
  s = simde_mm_add_epi32(s, simde_mm_shuffle_epi32(s, 0x4e));  // + the other 64-bit half
  s = simde_mm_add_epi32(s, simde_mm_shuffle_epi32(s, 0xb1));  // + the neighbour lane
  return simde_mm_cvtsi128_si32(s);
}

// The four horizontal sums {a, b, c, d}.
inline simde__m128i ReduceAdd4(simde__m512i a, simde__m512i b, simde__m512i c, simde__m512i d) {
  // Per 128-bit half: hadd(a, b) = {a0+a1, a2+a3, b0+b1, b2+b3}; a second hadd leaves one
  // partial sum of each input per lane.
  const simde__m256i abcd = simde_mm256_hadd_epi32(simde_mm256_hadd_epi32(Fold(a), Fold(b)),
                                                   simde_mm256_hadd_epi32(Fold(c), Fold(d)));
  return simde_mm_add_epi32(simde_mm256_castsi256_si128(abcd),
                            simde_mm256_extracti128_si256(abcd, 1));
}

// The frame of the batch kernels: out[j] = one(x + j * stride) for j < count, computed four
// rows at a time where it can be. `four(rows, acc)` adds the dot products of rows[0..3] into
// acc[0..3] (loading each query block once for all four, so that four independent chains cover
// vpdpbusd's latency), and one reduction then serves four results.
template <typename Row, typename Four, typename One>
inline void BatchByFour(const Row* x, size_t stride, size_t count, int32_t* out, Four four,
                        One one) {
  size_t j = 0;
  for (; j + 4 <= count; j += 4) {
    const Row* rows[4] = {x + j * stride, x + (j + 1) * stride, x + (j + 2) * stride,
                          x + (j + 3) * stride};
    simde__m512i acc[4] = {simde_mm512_setzero_si512(), simde_mm512_setzero_si512(),
                           simde_mm512_setzero_si512(), simde_mm512_setzero_si512()};
    four(rows, acc);
    simde_mm_storeu_si128(reinterpret_cast<simde__m128i*>(out + j),
                          ReduceAdd4(acc[0], acc[1], acc[2], acc[3]));
  }
  for (; j < count; ++j) out[j] = one(x + j * stride);
}

inline float ReduceAdd(simde__m512 v) {
  const simde__m256 h = simde_mm256_add_ps(
      simde_mm512_castps512_ps256(v),
      simde_mm256_castpd_ps(simde_mm512_extractf64x4_pd(simde_mm512_castps_pd(v), 1)));
  simde__m128 s = simde_mm_add_ps(simde_mm256_castps256_ps128(h), simde_mm256_extractf128_ps(h, 1));
  s = simde_mm_add_ps(s, simde_mm_movehl_ps(s, s));
  s = simde_mm_add_ss(s, simde_mm_movehdup_ps(s));
  return simde_mm_cvtss_f32(s);
}

int32_t DotU8S8Avx512(const uint8_t* q, const int8_t* x, size_t n) {
  // Four accumulators: vpdpbusd has a latency of about 5 cycles and issues about once a cycle.
  // Bumping the pointers (rather than indexing) and taking the remainder in 128-, 64- and
  // masked steps keeps GCC from copying the accumulators between registers each iteration,
  // which cost ~6% at 768-d and ~12% at 128-d in a standalone comparison.
  simde__m512i acc0 = simde_mm512_setzero_si512();
  simde__m512i acc1 = simde_mm512_setzero_si512();
  simde__m512i acc2 = simde_mm512_setzero_si512();
  simde__m512i acc3 = simde_mm512_setzero_si512();
  const uint8_t* const body_end = q + (n & ~size_t{255});
  for (; q < body_end; q += 256, x += 256) {
    acc0 = simde_mm512_dpbusd_epi32(acc0, Load(q), Load(x));
    acc1 = simde_mm512_dpbusd_epi32(acc1, Load(q + 64), Load(x + 64));
    acc2 = simde_mm512_dpbusd_epi32(acc2, Load(q + 128), Load(x + 128));
    acc3 = simde_mm512_dpbusd_epi32(acc3, Load(q + 192), Load(x + 192));
  }
  size_t rest = n & 255;
  if (rest >= 128) {
    acc0 = simde_mm512_dpbusd_epi32(acc0, Load(q), Load(x));
    acc1 = simde_mm512_dpbusd_epi32(acc1, Load(q + 64), Load(x + 64));
    q += 128;
    x += 128;
    rest -= 128;
  }
  if (rest >= 64) {
    acc2 = simde_mm512_dpbusd_epi32(acc2, Load(q), Load(x));
    q += 64;
    x += 64;
    rest -= 64;
  }
  if (rest != 0) {
    acc3 = simde_mm512_dpbusd_epi32(acc3, LoadTailBytes(q, rest), LoadTailBytes(x, rest));
  }
  return ReduceAdd(
      simde_mm512_add_epi32(simde_mm512_add_epi32(acc0, acc1), simde_mm512_add_epi32(acc2, acc3)));
}

void DotU8S8BatchAvx512(const uint8_t* q, const int8_t* x, size_t n, size_t stride, size_t count,
                        int32_t* out) {
  const size_t body = n & ~size_t{63};
  const size_t tail = n - body;
  const simde__m512i q_tail =
      tail != 0 ? LoadTailBytes(q + body, tail) : simde_mm512_setzero_si512();
  // The query is not pinned in registers: at one load per four vpdpbusd, loads are not the
  // limit (768-d: ~4.6 ns a vector when L1-hot and aligned, about the one vpdpbusd per cycle the
  // port allows).
  BatchByFour(
      x, stride, count, out,
      [&](const int8_t* const* rows, simde__m512i* acc) {
        for (size_t i = 0; i < body; i += 64) {
          const simde__m512i qv = Load(q + i);
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k)
            acc[k] = simde_mm512_dpbusd_epi32(acc[k], qv, Load(rows[k] + i));
        }
        if (tail != 0) {
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            acc[k] = simde_mm512_dpbusd_epi32(acc[k], q_tail, LoadTailBytes(rows[k] + body, tail));
          }
        }
      },
      [&](const int8_t* row) { return DotU8S8Avx512(q, row, n); });
}

// The two nibble halves of 64 packed bytes, as unsigned bytes 0..15.
inline simde__m512i LowNibbles(simde__m512i x, simde__m512i mask) {
  return simde_mm512_and_si512(x, mask);
}
inline simde__m512i HighNibbles(simde__m512i x, simde__m512i mask) {
  return simde_mm512_and_si512(simde_mm512_srli_epi16(x, 4), mask);
}

// One vector's dot_u4s8 over 64 packed bytes (128 dimensions): two vpdpbusd, nibbles as the
// unsigned side.
inline simde__m512i DotU4Step(simde__m512i acc, simde__m512i x, simde__m512i q_lo,
                              simde__m512i q_hi, simde__m512i mask) {
  acc = simde_mm512_dpbusd_epi32(acc, LowNibbles(x, mask), q_lo);
  return simde_mm512_dpbusd_epi32(acc, HighNibbles(x, mask), q_hi);
}

int32_t DotU4S8Avx512(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n) {
  const simde__m512i mask = simde_mm512_set1_epi8(0x0f);
  simde__m512i acc0 = simde_mm512_setzero_si512();
  simde__m512i acc1 = simde_mm512_setzero_si512();
  size_t i = 0;
  for (; i + 128 <= n; i += 128) {
    acc0 = DotU4Step(acc0, Load(x + i), Load(q_lo + i), Load(q_hi + i), mask);
    acc1 = DotU4Step(acc1, Load(x + i + 64), Load(q_lo + i + 64), Load(q_hi + i + 64), mask);
  }
  if (i + 64 <= n) {
    acc0 = DotU4Step(acc0, Load(x + i), Load(q_lo + i), Load(q_hi + i), mask);
    i += 64;
  }
  if (i < n) {  // 32 bytes
    acc1 = DotU4Step(acc1, LoadTailBytes(x + i, n - i), LoadTailBytes(q_lo + i, n - i),
                     LoadTailBytes(q_hi + i, n - i), mask);
  }
  return ReduceAdd(simde_mm512_add_epi32(acc0, acc1));
}

void DotU4S8BatchAvx512(const int8_t* q_lo, const int8_t* q_hi, const uint8_t* x, size_t n,
                        size_t stride, size_t count, int32_t* out) {
  const simde__m512i mask = simde_mm512_set1_epi8(0x0f);
  const size_t body = n & ~size_t{63};
  const size_t tail = n - body;
  const simde__m512i q_lo_tail =
      tail != 0 ? LoadTailBytes(q_lo + body, tail) : simde_mm512_setzero_si512();
  const simde__m512i q_hi_tail =
      tail != 0 ? LoadTailBytes(q_hi + body, tail) : simde_mm512_setzero_si512();
  BatchByFour(
      x, stride, count, out,
      [&](const uint8_t* const* rows, simde__m512i* acc) {
        for (size_t i = 0; i < body; i += 64) {
          const simde__m512i ql = Load(q_lo + i);
          const simde__m512i qh = Load(q_hi + i);
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) acc[k] = DotU4Step(acc[k], Load(rows[k] + i), ql, qh, mask);
        }
        if (tail != 0) {
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            acc[k] =
                DotU4Step(acc[k], LoadTailBytes(rows[k] + body, tail), q_lo_tail, q_hi_tail, mask);
          }
        }
      },
      [&](const uint8_t* row) { return DotU4S8Avx512(q_lo, q_hi, row, n); });
}

float DotF32Avx512(const float* a, const float* b, size_t n) {
  // Each FMA needs two loads, so at two loads per cycle one FMA issues per cycle: four
  // accumulators cover its 4-cycle latency.
  simde__m512 acc0 = simde_mm512_setzero_ps();
  simde__m512 acc1 = simde_mm512_setzero_ps();
  simde__m512 acc2 = simde_mm512_setzero_ps();
  simde__m512 acc3 = simde_mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    acc0 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i), acc0);
    acc1 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 16), simde_mm512_loadu_ps(b + i + 16),
                                acc1);
    acc2 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 32), simde_mm512_loadu_ps(b + i + 32),
                                acc2);
    acc3 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i + 48), simde_mm512_loadu_ps(b + i + 48),
                                acc3);
  }
  for (; i + 16 <= n; i += 16) {
    acc0 = simde_mm512_fmadd_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    acc1 = simde_mm512_fmadd_ps(LoadTailFloats(a + i, n - i), LoadTailFloats(b + i, n - i), acc1);
  }
  return ReduceAdd(
      simde_mm512_add_ps(simde_mm512_add_ps(acc0, acc1), simde_mm512_add_ps(acc2, acc3)));
}

float L2SqF32Avx512(const float* a, const float* b, size_t n) {
  simde__m512 acc0 = simde_mm512_setzero_ps();
  simde__m512 acc1 = simde_mm512_setzero_ps();
  simde__m512 acc2 = simde_mm512_setzero_ps();
  simde__m512 acc3 = simde_mm512_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const simde__m512 d0 =
        simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));
    const simde__m512 d1 =
        simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 16), simde_mm512_loadu_ps(b + i + 16));
    const simde__m512 d2 =
        simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 32), simde_mm512_loadu_ps(b + i + 32));
    const simde__m512 d3 =
        simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i + 48), simde_mm512_loadu_ps(b + i + 48));
    acc0 = simde_mm512_fmadd_ps(d0, d0, acc0);
    acc1 = simde_mm512_fmadd_ps(d1, d1, acc1);
    acc2 = simde_mm512_fmadd_ps(d2, d2, acc2);
    acc3 = simde_mm512_fmadd_ps(d3, d3, acc3);
  }
  for (; i + 16 <= n; i += 16) {
    const simde__m512 d =
        simde_mm512_sub_ps(simde_mm512_loadu_ps(a + i), simde_mm512_loadu_ps(b + i));
    acc0 = simde_mm512_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    // Both tails are zero past n, so the padding lanes add (0 - 0)^2.
    const simde__m512 d =
        simde_mm512_sub_ps(LoadTailFloats(a + i, n - i), LoadTailFloats(b + i, n - i));
    acc1 = simde_mm512_fmadd_ps(d, d, acc1);
  }
  return ReduceAdd(
      simde_mm512_add_ps(simde_mm512_add_ps(acc0, acc1), simde_mm512_add_ps(acc2, acc3)));
}

}  // namespace

const Kernels kAvx512VnniKernels = {
    KernelIsa::kAvx512Vnni, "avx512-vnni", DotU8S8Avx512, DotU8S8BatchAvx512, DotU4S8Avx512,
    DotU4S8BatchAvx512,     DotF32Avx512,  L2SqF32Avx512, MinMaxKeysLoop,     CountKeysAtMostLoop};

}  // namespace loci::index::internal
