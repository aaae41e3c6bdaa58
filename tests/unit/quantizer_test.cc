// The code planes: SplitNibbles keeps every INT8 code recoverable, and the plane dot products
// recombine into the signed INT8 dot product the distances are defined by.

#include "index/quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "index/kernels.h"

namespace loci::index {
namespace {

// The code of dimension i from the planes, by the layout quantizer.h documents.
int CodeAt(const std::vector<uint8_t>& hi, const std::vector<uint8_t>& lo, size_t i) {
  const size_t byte = i / 64 * 32 + i % 32;
  const int shift = i % 64 < 32 ? 0 : 4;
  return 16 * (((hi[byte] >> shift) & 15) - 8) + ((lo[byte] >> shift) & 15);
}

// Values too small (subnormal: 127 / max overflows) or residuals too large (two huge finite
// vectors apart) to scale encode as zero codes instead of converting inf or NaN to int (UBSan
// flagged it through a fuzzed index snapshot's centroid).
TEST(QuantizerTest, UnscalableValuesEncodeAsZeroCodes) {
  const size_t dim = 70, stride = CodeStride(dim);
  std::vector<float> tiny(dim, 1e-40f), huge(dim, 3e38f), minus_huge(dim, -3e38f);
  AlignedVector<int8_t> codes(stride, 5);
  EncodedVector e = EncodeResidual(tiny.data(), nullptr, dim, stride, codes.data());
  EXPECT_EQ(e.scale, 0.0f);
  EXPECT_EQ(e.sum, 0);
  for (int8_t c : codes) EXPECT_EQ(c, 0);
  codes.assign(stride, 5);
  e = EncodeResidual(huge.data(), minus_huge.data(), dim, stride, codes.data());
  EXPECT_EQ(e.scale, 0.0f);
  for (int8_t c : codes) EXPECT_EQ(c, 0);
  QuantizedQuery q;
  q.Quantize(tiny.data(), dim, stride);
  EXPECT_EQ(q.scale, 0.0f);
  for (uint8_t c : q.codes) EXPECT_EQ(c, 128);
}

TEST(QuantizerTest, SplitNibblesKeepsEveryCodeAtEveryPosition) {
  for (size_t stride : {64u, 128u, 192u, 832u}) {
    for (int first = -127; first <= 127; ++first) {
      std::vector<int8_t> codes(stride);
      // Every code value visits every position over the loop.
      for (size_t i = 0; i < stride; ++i) {
        codes[i] = static_cast<int8_t>((first + 127 + static_cast<int>(i)) % 255 - 127);
      }
      std::vector<uint8_t> hi(stride / 2), lo(stride / 2);
      SplitNibbles(codes.data(), stride, hi.data(), lo.data());
      for (size_t i = 0; i < stride; ++i) {
        ASSERT_EQ(CodeAt(hi, lo, i), codes[i]) << "stride " << stride << " dim " << i;
      }
    }
  }
}

TEST(QuantizerTest, PlaneDotsRecombineIntoTheSignedDot) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  const Kernels& k = BestKernels();
  for (size_t dim : {1u, 31u, 64u, 100u, 300u, 784u, 1536u}) {
    const size_t stride = CodeStride(dim);
    std::vector<float> x(dim), q(dim);
    for (float& v : x) v = value(rng);
    for (float& v : q) v = value(rng);
    AlignedVector<int8_t> codes(stride);
    const EncodedVector enc = EncodeResidual(x.data(), nullptr, dim, stride, codes.data());
    EXPECT_GT(enc.scale, 0.0f);
    QuantizedQuery qq;
    qq.Quantize(q.data(), dim, stride);
    qq.SplitForNibbles();

    int32_t want = 0;  // signed query codes . signed vector codes
    for (size_t i = 0; i < stride; ++i) want += (int32_t{qq.codes[i]} - 128) * codes[i];
    EXPECT_EQ(want, k.dot_u8s8(qq.codes.data(), codes.data(), stride) - 128 * enc.sum);

    std::vector<uint8_t> hi(stride / 2), lo(stride / 2);
    SplitNibbles(codes.data(), stride, hi.data(), lo.data());
    const int32_t dot_hi =
        k.dot_u4s8(qq.nibble_lo.data(), qq.nibble_hi.data(), hi.data(), stride / 2);
    const int32_t dot_lo =
        k.dot_u4s8(qq.nibble_lo.data(), qq.nibble_hi.data(), lo.data(), stride / 2);
    EXPECT_EQ(16 * dot_hi + dot_lo - 128 * qq.sum, want) << "dim " << dim;
    // And the dequantized dot approximates the float one.
    double exact = 0;
    for (size_t i = 0; i < dim; ++i) exact += double{q[i]} * x[i];
    EXPECT_NEAR(qq.scale * enc.scale * static_cast<float>(want), exact,
                0.02 * std::sqrt(static_cast<double>(dim)))
        << "dim " << dim;
  }
}

}  // namespace
}  // namespace loci::index
