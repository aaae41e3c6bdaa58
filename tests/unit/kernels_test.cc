// Distance kernels: every table this CPU runs against the scalar reference, bit-exact for INT8
// and within rounding for FP32, over every length 1..2048 (so each loop, tail and mask of the SIMD
// versions is covered), extreme values, unaligned pointers, vectors that end just before an
// unmapped page, and batches with gaps between vectors. Also the dispatch and its cap.

#include "index/kernels.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "index/kernels_internal.h"

namespace loci::index {
namespace {

const Kernels& Scalar() { return internal::kScalarKernels; }

std::vector<uint8_t> RandomU8(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(rng());
  return v;
}

std::vector<int8_t> RandomS8(std::mt19937& rng, size_t n) {
  std::vector<int8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<int8_t>(rng());  // all of -128..127
  return v;
}

std::vector<float> RandomF32(std::mt19937& rng, size_t n) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// Bytes whose last one sits just before a PROT_NONE page, so a kernel reading past the end of
// its input faults instead of passing by luck. Masked loads are invisible to ASan; this is not.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(size_t size) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    data_pages_ = (size + page - 1) / page * page;
    map_size_ = data_pages_ + page;
    void* map =
        mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) std::abort();
    base_ = static_cast<char*>(map);
    if (mprotect(base_ + data_pages_, page, PROT_NONE) != 0) std::abort();
    data_ = base_ + data_pages_ - size;
  }
  ~GuardedBuffer() { munmap(base_, map_size_); }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;

  template <typename T>
  T* As() const {
    return reinterpret_cast<T*>(data_);
  }

 private:
  char* base_;
  char* data_;
  size_t data_pages_;
  size_t map_size_;
};

// Bounds the float error: both sums round each of n terms, and the error of either is at most
// about n * 2^-24 * sum |term|, far below this in practice for random signs.
double FloatTolerance(const float* a, const float* b, size_t n, bool l2) {
  double magnitude = 0;
  for (size_t i = 0; i < n; ++i) {
    const double t = l2 ? (double{a[i]} - b[i]) * (double{a[i]} - b[i]) : double{a[i]} * b[i];
    magnitude += std::fabs(t);
  }
  return 1e-4 * magnitude + 1e-30;
}

class KernelsTest : public testing::TestWithParam<KernelIsa> {
 protected:
  void SetUp() override {
    k_ = KernelsFor(GetParam());
    if (k_ == nullptr) GTEST_SKIP() << "this CPU or build lacks the ISA";
  }

  // Checks dot_u8s8 against the scalar reference; false (after one failure report) if it differs.
  bool CheckDot(const uint8_t* q, const int8_t* x, size_t n) {
    const int32_t want = Scalar().dot_u8s8(q, x, n);
    const int32_t got = k_->dot_u8s8(q, x, n);
    if (got == want) return true;
    ADD_FAILURE() << k_->name << " dot_u8s8 n=" << n << ": got " << got << ", want " << want;
    return false;
  }

  bool CheckFloat(const float* a, const float* b, size_t n) {
    const float dot_want = Scalar().dot_f32(a, b, n);
    const float dot_got = k_->dot_f32(a, b, n);
    const float l2_want = Scalar().l2sq_f32(a, b, n);
    const float l2_got = k_->l2sq_f32(a, b, n);
    const bool ok = std::fabs(double{dot_got} - dot_want) <= FloatTolerance(a, b, n, false) &&
                    std::fabs(double{l2_got} - l2_want) <= FloatTolerance(a, b, n, true);
    if (!ok) {
      ADD_FAILURE() << k_->name << " n=" << n << ": dot " << dot_got << " want " << dot_want
                    << ", l2sq " << l2_got << " want " << l2_want;
    }
    return ok;
  }

  const Kernels* k_ = nullptr;
};

TEST_P(KernelsTest, DotU8S8IsExactForEveryLength) {
  std::mt19937 rng(1);
  // The buffers are offset by a different amount per length, so alignment varies too.
  constexpr size_t kMaxN = 2048;
  std::vector<uint8_t> q_buf(kMaxN + 64);
  std::vector<int8_t> x_buf(kMaxN + 64);
  for (size_t n = 1; n <= kMaxN; ++n) {
    const int trials = n <= 256 ? 4 : 1;
    for (int t = 0; t < trials; ++t) {
      uint8_t* q = q_buf.data() + n % 64;
      int8_t* x = x_buf.data() + (n * 7 + t) % 64;
      const std::vector<uint8_t> qv = RandomU8(rng, n);
      const std::vector<int8_t> xv = RandomS8(rng, n);
      std::memcpy(q, qv.data(), n);
      std::memcpy(x, xv.data(), n);
      ASSERT_TRUE(CheckDot(q, x, n));
    }
  }
}

TEST_P(KernelsTest, DotU8S8IsExactForExtremeValues) {
  std::mt19937 rng(2);
  // q and x patterns: constants at and near the ends of their ranges, random, and alternating
  // signs (which stresses the pairwise sums of vpmaddubsw).
  const int q_values[] = {0, 1, 127, 128, 129, 254, 255, -1 /* random */};
  const int x_values[] = {-128, -127, -1, 0, 1, 126, 127, 1000 /* random */, 2000 /* ±127 */,
                          3000 /* -128, 127 */};
  for (size_t n : {1u,  2u,   3u,   4u,   5u,   15u,  16u,  31u,  32u,  33u,  63u,   64u,
                   65u, 127u, 128u, 129u, 255u, 256u, 257u, 320u, 767u, 768u, 1536u, 2048u}) {
    for (int qc : q_values) {
      std::vector<uint8_t> q = RandomU8(rng, n);
      if (qc >= 0) q.assign(n, static_cast<uint8_t>(qc));
      for (int xc : x_values) {
        std::vector<int8_t> x = RandomS8(rng, n);
        for (size_t i = 0; i < n; ++i) {
          if (xc <= 127) x[i] = static_cast<int8_t>(xc);
          if (xc == 2000) x[i] = i % 2 ? -127 : 127;
          if (xc == 3000) x[i] = i % 2 ? 127 : -128;
        }
        ASSERT_TRUE(CheckDot(q.data(), x.data(), n)) << "q=" << qc << " x=" << xc;
      }
    }
    // The largest magnitudes, spelled out rather than trusted to the reference.
    const std::vector<uint8_t> q_max(n, 255);
    const std::vector<int8_t> x_max(n, 127), x_min(n, -128);
    EXPECT_EQ(k_->dot_u8s8(q_max.data(), x_max.data(), n), static_cast<int32_t>(n) * 255 * 127);
    EXPECT_EQ(k_->dot_u8s8(q_max.data(), x_min.data(), n), static_cast<int32_t>(n) * 255 * -128);
  }
}

TEST_P(KernelsTest, DotU8S8SeesEveryPosition) {
  std::mt19937 rng(3);
  for (size_t n : {1u, 17u, 31u, 64u, 100u, 255u, 768u}) {
    for (size_t at = 0; at < n; ++at) {
      // One non-zero x against a random query, and one non-zero q against a random vector.
      const std::vector<uint8_t> q = RandomU8(rng, n);
      std::vector<int8_t> x(n, 0);
      x[at] = at % 2 ? -128 : 127;
      ASSERT_TRUE(CheckDot(q.data(), x.data(), n)) << "x at " << at;
      std::vector<uint8_t> q1(n, 0);
      q1[at] = 255;
      const std::vector<int8_t> x1 = RandomS8(rng, n);
      ASSERT_EQ(k_->dot_u8s8(q1.data(), x1.data(), n), 255 * x1[at]) << "q at " << at;
    }
  }
}

TEST_P(KernelsTest, DotU8S8AcceptsAnyAlignment) {
  std::mt19937 rng(4);
  for (size_t n : {7u, 64u, 100u, 1031u}) {
    std::vector<uint8_t> q_buf(n + 64);
    std::vector<int8_t> x_buf(n + 64);
    const std::vector<uint8_t> q = RandomU8(rng, n);
    const std::vector<int8_t> x = RandomS8(rng, n);
    const int32_t want = Scalar().dot_u8s8(q.data(), x.data(), n);
    for (size_t q_off = 0; q_off < 64; ++q_off) {
      std::memcpy(q_buf.data() + q_off, q.data(), n);
      for (size_t x_off = 0; x_off < 64; ++x_off) {
        std::memcpy(x_buf.data() + x_off, x.data(), n);
        ASSERT_EQ(k_->dot_u8s8(q_buf.data() + q_off, x_buf.data() + x_off, n), want)
            << "n=" << n << " offsets " << q_off << ", " << x_off;
      }
    }
  }
}

TEST_P(KernelsTest, BatchMatchesOneAtATime) {
  std::mt19937 rng(5);
  std::vector<size_t> lengths;
  for (size_t n = 1; n <= 130; ++n) lengths.push_back(n);
  for (size_t n : {191u, 192u, 193u, 255u, 256u, 257u, 511u, 512u, 513u, 767u, 768u, 769u, 1023u,
                   1024u, 1025u, 1536u, 2047u, 2048u}) {
    lengths.push_back(n);
  }
  for (size_t n : lengths) {
    const std::vector<uint8_t> q = RandomU8(rng, n);
    for (size_t stride : {n, n + 1, n + 13, (n + 63) / 64 * 64 + 64}) {
      for (size_t count = 1; count <= 9; ++count) {
        // Exactly as many bytes as the batch may read, so ASan sees any overrun of a plain load.
        const std::vector<int8_t> x = RandomS8(rng, (count - 1) * stride + n);
        std::vector<int32_t> out(count + 1, 0x5a5a5a5a);
        k_->dot_u8s8_batch(q.data(), x.data(), n, stride, count, out.data());
        for (size_t j = 0; j < count; ++j) {
          ASSERT_EQ(out[j], Scalar().dot_u8s8(q.data(), x.data() + j * stride, n))
              << "n=" << n << " stride=" << stride << " count=" << count << " j=" << j;
        }
        ASSERT_EQ(out[count], 0x5a5a5a5a) << "wrote past out[count - 1]";
      }
    }
  }
}

TEST_P(KernelsTest, ReadsNothingPastTheEnd) {
  std::mt19937 rng(6);
  for (size_t n = 1; n <= 300; ++n) {
    GuardedBuffer q(n), x(n);
    const std::vector<uint8_t> qv = RandomU8(rng, n);
    const std::vector<int8_t> xv = RandomS8(rng, n);
    std::memcpy(q.As<uint8_t>(), qv.data(), n);
    std::memcpy(x.As<int8_t>(), xv.data(), n);
    ASSERT_TRUE(CheckDot(q.As<uint8_t>(), x.As<int8_t>(), n));

    // Five vectors with gaps, the last one ending at the guard page.
    const size_t stride = n + 5;
    const size_t count = 5;
    GuardedBuffer page((count - 1) * stride + n);
    const std::vector<int8_t> pv = RandomS8(rng, (count - 1) * stride + n);
    std::memcpy(page.As<int8_t>(), pv.data(), pv.size());
    int32_t out[count];
    k_->dot_u8s8_batch(q.As<uint8_t>(), page.As<int8_t>(), n, stride, count, out);
    for (size_t j = 0; j < count; ++j) {
      ASSERT_EQ(out[j], Scalar().dot_u8s8(qv.data(), pv.data() + j * stride, n)) << n;
    }

    GuardedBuffer a(n * sizeof(float)), b(n * sizeof(float));
    const std::vector<float> av = RandomF32(rng, n), bv = RandomF32(rng, n);
    std::memcpy(a.As<float>(), av.data(), n * sizeof(float));
    std::memcpy(b.As<float>(), bv.data(), n * sizeof(float));
    ASSERT_TRUE(CheckFloat(a.As<float>(), b.As<float>(), n));
  }
}

// dot_u4s8 against the scalar reference and against the definition, for every length it accepts
// up to 1024 bytes (2048 dimensions), extreme values, single non-zero positions, batches, and
// inputs that end at an unmapped page (in the batch test, whose rows past the last group of four,
// unaligned ones included, go through dot_u4s8 itself).
TEST_P(KernelsTest, DotU4S8IsExactForEveryLength) {
  std::mt19937 rng(8);
  for (size_t n = 32; n <= 1024; n += 32) {
    for (int t = 0; t < 3; ++t) {
      const std::vector<int8_t> q_lo = RandomS8(rng, n), q_hi = RandomS8(rng, n);
      const std::vector<uint8_t> x = RandomU8(rng, n);
      int32_t want = 0;  // the definition, written out once more
      for (size_t i = 0; i < n; ++i) want += (x[i] % 16) * q_lo[i] + (x[i] / 16) * q_hi[i];
      ASSERT_EQ(Scalar().dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n), want) << n;
      ASSERT_EQ(k_->dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n), want)
          << k_->name << " n=" << n;
    }
  }
}

TEST_P(KernelsTest, DotU4S8IsExactForExtremeValues) {
  std::mt19937 rng(9);
  const int q_values[] = {-128, -127, -1, 0, 1, 127, 1000 /* random */, 2000 /* ±127 */};
  const int x_values[] = {0x00, 0x0f, 0xf0, 0xff, 0x88, 1000 /* random */};
  for (size_t n : {32u, 64u, 96u, 128u, 160u, 384u, 416u, 1024u}) {
    for (int qc : q_values) {
      std::vector<int8_t> q_lo = RandomS8(rng, n), q_hi = RandomS8(rng, n);
      for (size_t i = 0; i < n; ++i) {
        if (qc <= 127) q_lo[i] = q_hi[i] = static_cast<int8_t>(qc);
        if (qc == 2000) q_lo[i] = q_hi[i] = i % 2 ? -127 : 127;
      }
      for (int xc : x_values) {
        std::vector<uint8_t> x = RandomU8(rng, n);
        if (xc <= 0xff) x.assign(n, static_cast<uint8_t>(xc));
        ASSERT_EQ(k_->dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n),
                  Scalar().dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n))
            << k_->name << " n=" << n << " q=" << qc << " x=" << xc;
      }
    }
    const std::vector<int8_t> q_max(n, 127), q_min(n, -128);
    const std::vector<uint8_t> x_max(n, 0xff);
    EXPECT_EQ(k_->dot_u4s8(q_max.data(), q_min.data(), x_max.data(), n),
              static_cast<int32_t>(n) * (15 * 127 - 15 * 128));
    EXPECT_EQ(k_->dot_u4s8(q_max.data(), q_max.data(), x_max.data(), n),
              static_cast<int32_t>(n) * 2 * 15 * 127);
  }
}

TEST_P(KernelsTest, DotU4S8SeesEveryNibble) {
  std::mt19937 rng(10);
  for (size_t n : {32u, 64u, 96u, 416u}) {
    const std::vector<int8_t> q_lo = RandomS8(rng, n), q_hi = RandomS8(rng, n);
    for (size_t at = 0; at < n; ++at) {
      std::vector<uint8_t> x(n, 0);
      x[at] = 0x0f;
      ASSERT_EQ(k_->dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n), 15 * q_lo[at]) << at;
      x[at] = 0xf0;
      ASSERT_EQ(k_->dot_u4s8(q_lo.data(), q_hi.data(), x.data(), n), 15 * q_hi[at]) << at;
    }
  }
}

TEST_P(KernelsTest, DotU4S8BatchMatchesOneAtATimeAndStaysInBounds) {
  std::mt19937 rng(11);
  for (size_t n = 32; n <= 512; n += 32) {
    GuardedBuffer q_lo(n), q_hi(n);
    const std::vector<int8_t> lo = RandomS8(rng, n), hi = RandomS8(rng, n);
    std::memcpy(q_lo.As<int8_t>(), lo.data(), n);
    std::memcpy(q_hi.As<int8_t>(), hi.data(), n);
    for (size_t stride : {n, n + 32, n + 7}) {
      for (size_t count = 1; count <= 9; ++count) {
        // The last vector ends at the guard page.
        GuardedBuffer page((count - 1) * stride + n);
        const std::vector<uint8_t> pv = RandomU8(rng, (count - 1) * stride + n);
        std::memcpy(page.As<uint8_t>(), pv.data(), pv.size());
        std::vector<int32_t> out(count + 1, 0x5a5a5a5a);
        k_->dot_u4s8_batch(q_lo.As<int8_t>(), q_hi.As<int8_t>(), page.As<uint8_t>(), n, stride,
                           count, out.data());
        for (size_t j = 0; j < count; ++j) {
          ASSERT_EQ(out[j], Scalar().dot_u4s8(lo.data(), hi.data(), pv.data() + j * stride, n))
              << "n=" << n << " stride=" << stride << " count=" << count << " j=" << j;
        }
        ASSERT_EQ(out[count], 0x5a5a5a5a) << "wrote past out[count - 1]";
      }
    }
  }
}

TEST_P(KernelsTest, FloatKernelsMatchForEveryLength) {
  std::mt19937 rng(7);
  constexpr size_t kMaxN = 2048;
  std::vector<float> a_buf(kMaxN + 16), b_buf(kMaxN + 16);
  for (size_t n = 1; n <= kMaxN; ++n) {
    // Offsets of whole floats: a float pointer must stay aligned to 4 bytes.
    float* a = a_buf.data() + n % 16;
    float* b = b_buf.data() + (n * 5) % 16;
    const std::vector<float> av = RandomF32(rng, n), bv = RandomF32(rng, n);
    std::memcpy(a, av.data(), n * sizeof(float));
    std::memcpy(b, bv.data(), n * sizeof(float));
    ASSERT_TRUE(CheckFloat(a, b, n));
    // Identical vectors are at distance exactly 0; a zero vector has dot exactly 0.
    ASSERT_EQ(k_->l2sq_f32(a, a, n), 0.0f) << n;
    const std::vector<float> zeros(n, 0.0f);
    ASSERT_EQ(k_->dot_f32(a, zeros.data(), n), 0.0f) << n;
  }
}

// The key passes against std::minmax_element / std::count_if (not against the scalar table,
// which compiles the same loops), for every length, keys spanning the whole int32 range and the
// thresholds at and around each extreme.
TEST_P(KernelsTest, KeyPassesMatchTheStandardAlgorithmsForEveryLength) {
  std::mt19937 rng(11);
  constexpr size_t kMaxN = 2048;
  std::vector<int32_t> buf(kMaxN + 16);
  for (size_t n = 1; n <= kMaxN; ++n) {
    int32_t* keys = buf.data() + n % 16;  // every alignment of a whole int32
    for (size_t i = 0; i < n; ++i) {
      switch (rng() % 8) {
        case 0:
          keys[i] = INT32_MIN;
          break;
        case 1:
          keys[i] = INT32_MAX;
          break;
        default:
          keys[i] = static_cast<int32_t>(rng());
      }
    }
    const auto [want_min, want_max] = std::minmax_element(keys, keys + n);
    int32_t min = 0;
    int32_t max = 0;
    k_->min_max_keys(keys, n, &min, &max);
    ASSERT_EQ(min, *want_min) << k_->name << " n=" << n;
    ASSERT_EQ(max, *want_max) << k_->name << " n=" << n;
    for (int32_t t : {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX, keys[n / 2],
                      static_cast<int32_t>(rng())}) {
      const auto want = std::count_if(keys, keys + n, [t](int32_t key) { return key <= t; });
      ASSERT_EQ(k_->count_keys_at_most(keys, static_cast<uint32_t>(n), t),
                static_cast<uint32_t>(want))
          << k_->name << " n=" << n << " t=" << t;
    }
  }
}

TEST_P(KernelsTest, TableIsConsistent) {
  EXPECT_EQ(k_->isa, GetParam());
  EXPECT_NE(k_->dot_u8s8, nullptr);
  EXPECT_NE(k_->dot_u8s8_batch, nullptr);
  EXPECT_NE(k_->dot_u4s8, nullptr);
  EXPECT_NE(k_->dot_u4s8_batch, nullptr);
  EXPECT_NE(k_->dot_f32, nullptr);
  EXPECT_NE(k_->l2sq_f32, nullptr);
  EXPECT_NE(k_->min_max_keys, nullptr);
  EXPECT_NE(k_->count_keys_at_most, nullptr);
  // The best table is at least as good as every table the CPU runs (absent a cap).
  EXPECT_GE(internal::ChooseKernels(nullptr).isa, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Isa, KernelsTest,
                         testing::Values(KernelIsa::kScalar, KernelIsa::kAvx2,
                                         KernelIsa::kAvx512Vnni),
                         [](const testing::TestParamInfo<KernelIsa>& param) {
                           switch (param.param) {
                             case KernelIsa::kScalar:
                               return std::string("Scalar");
                             case KernelIsa::kAvx2:
                               return std::string("Avx2");
                             case KernelIsa::kAvx512Vnni:
                               return std::string("Avx512Vnni");
                           }
                           return std::string("Unknown");
                         });

TEST(KernelDispatchTest, CapLimitsTheChoice) {
  EXPECT_EQ(internal::ChooseKernels("scalar").isa, KernelIsa::kScalar);
  const KernelIsa avx2 = KernelsFor(KernelIsa::kAvx2) ? KernelIsa::kAvx2 : KernelIsa::kScalar;
  EXPECT_EQ(internal::ChooseKernels("avx2").isa, avx2);
  // The best the CPU runs, whatever it is.
  KernelIsa best = KernelIsa::kScalar;
  for (KernelIsa isa : {KernelIsa::kAvx2, KernelIsa::kAvx512Vnni}) {
    if (KernelsFor(isa) != nullptr) best = isa;
  }
  EXPECT_EQ(internal::ChooseKernels("avx512-vnni").isa, best);
  EXPECT_EQ(internal::ChooseKernels(nullptr).isa, best);
  EXPECT_EQ(internal::ChooseKernels("no-such-isa").isa, best);  // ignored, not an error
  // BestKernels applies whatever LOCI_KERNELS the test runs under.
  EXPECT_EQ(&BestKernels(), &internal::ChooseKernels(std::getenv("LOCI_KERNELS")));
  EXPECT_STREQ(internal::ChooseKernels("scalar").name, "scalar");
}

TEST(KernelDispatchTest, TableNamesMatchTheCapNames) {
  EXPECT_STREQ(internal::kScalarKernels.name, "scalar");
  EXPECT_STREQ(internal::kAvx2Kernels.name, "avx2");
  EXPECT_STREQ(internal::kAvx512VnniKernels.name, "avx512-vnni");
}

// The convention of kernels.h: a signed query offset by 128 gives the signed dot product after
// subtracting 128 * SumS8(x).
TEST(KernelDispatchTest, OffsetQueryRecoversTheSignedDot) {
  std::mt19937 rng(8);
  const Kernels& k = BestKernels();
  for (size_t n : {1u, 63u, 768u, 1536u}) {
    std::vector<int8_t> q_s8 = RandomS8(rng, n);
    const std::vector<int8_t> x = RandomS8(rng, n);
    std::vector<uint8_t> q_u8(n);
    int32_t want = 0;
    int32_t sum = 0;
    for (size_t i = 0; i < n; ++i) {
      if (q_s8[i] == -128) q_s8[i] = -127;  // stored codes are symmetric
      q_u8[i] = static_cast<uint8_t>(q_s8[i] + 128);
      want += q_s8[i] * x[i];
      sum += x[i];
    }
    EXPECT_EQ(SumS8(x.data(), n), sum);
    EXPECT_EQ(k.dot_u8s8(q_u8.data(), x.data(), n) - 128 * SumS8(x.data(), n), want) << n;
  }
}

}  // namespace
}  // namespace loci::index
