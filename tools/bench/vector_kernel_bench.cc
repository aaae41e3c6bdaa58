// The micro-benchmarks of vector_kernel_bench.h.

#include "tools/bench/vector_kernel_bench.h"

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "index/kernels.h"
#include "tools/bench/bench_util.h"

namespace loci::bench {

namespace {

constexpr uint32_t kDims[] = {128, 768, 1536};
constexpr size_t kBatch = 64;
constexpr int kRounds = 5;
constexpr double kRoundSeconds = 0.02;

// Results land here so the measured calls are never dead code.
volatile int64_t g_sink;

// Keeps the compiler from assuming anything about the memory behind `p` across iterations.
inline void Clobber(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

// A buffer aligned to a cache line.
template <typename T>
class AlignedBuffer {
 public:
  explicit AlignedBuffer(size_t n)
      : data_(static_cast<T*>(
            std::aligned_alloc(64, std::max<size_t>(64, (n * sizeof(T) + 63) / 64 * 64)))) {}
  ~AlignedBuffer() { std::free(data_); }
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  T* data() { return data_; }

 private:
  T* data_;
};

// Fills query codes (any u8) and stored codes (s8 in [-127, 127], the kernels' contract).
void FillCodes(Rng* rng, uint8_t* q, size_t nq, int8_t* x, size_t nx) {
  for (size_t i = 0; i < nq; ++i) q[i] = static_cast<uint8_t>(rng->Next());
  for (size_t i = 0; i < nx; ++i)
    x[i] = static_cast<int8_t>(static_cast<int>(rng->Uniform(255)) - 127);
}

// Nanoseconds per unit of `body(iterations)`, which performs `units_per_iteration` units per
// iteration: calibrated to ~kRoundSeconds per round, best of kRounds.
template <typename Body>
double BestNanosPerUnit(double units_per_iteration, Body body) {
  uint64_t iterations = 16;
  for (;;) {  // calibrate
    const uint64_t start = NowNanos();
    body(iterations);
    const double seconds = static_cast<double>(NowNanos() - start) / 1e9;
    if (seconds >= kRoundSeconds / 4) {
      iterations = std::max<uint64_t>(
          1, static_cast<uint64_t>(static_cast<double>(iterations) * kRoundSeconds / seconds));
      break;
    }
    iterations *= 4;
  }
  double best = 0;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t start = NowNanos();
    body(iterations);
    const double ns = static_cast<double>(NowNanos() - start) /
                      (static_cast<double>(iterations) * units_per_iteration);
    if (round == 0 || ns < best) best = ns;
  }
  return best;
}

// Whether `k` agrees with the scalar reference on random inputs of awkward sizes and strides.
bool MatchesScalar(const index::Kernels& k) {
  const index::Kernels* scalar = index::KernelsFor(index::KernelIsa::kScalar);
  if (scalar == nullptr || &k == scalar) return true;
  Rng rng(7);
  for (size_t n : {1, 3, 15, 16, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 768, 1000, 1536}) {
    const size_t stride = n + 5;  // unaligned rows
    constexpr size_t kCount = 9;
    std::vector<uint8_t> q(n + 1);
    std::vector<int8_t> x(stride * kCount + 1);
    FillCodes(&rng, q.data(), q.size(), x.data(), x.size());
    // Offset by one byte: the kernels promise any alignment.
    if (k.dot_u8s8(q.data() + 1, x.data() + 1, n) !=
        scalar->dot_u8s8(q.data() + 1, x.data() + 1, n)) {
      return false;
    }
    int32_t out[kCount], want[kCount];
    k.dot_u8s8_batch(q.data(), x.data() + 1, n, stride, kCount, out);
    scalar->dot_u8s8_batch(q.data(), x.data() + 1, n, stride, kCount, want);
    if (!std::equal(out, out + kCount, want)) return false;
  }
  return true;
}

// Sum of w words. One thread issues too few 16-byte loads to reach DRAM's rate (measured here:
// ~9 GB/s with SSE2 against ~14 GB/s with 64-byte loads), so take the widest loads the CPU has.
__attribute__((target_clones("avx512f", "avx2", "default"), noinline)) uint64_t SumWords(
    const uint64_t* p, size_t w) {
  uint64_t sum = 0;
  for (size_t i = 0; i < w; ++i) sum += p[i];
  return sum;
}

}  // namespace

std::string BestKernelName() { return index::BestKernels().name; }

std::vector<KernelTiming> MeasureInt8Kernels() {
  std::vector<const index::Kernels*> tables;
  for (index::KernelIsa isa :
       {index::KernelIsa::kScalar, index::KernelIsa::kAvx2, index::KernelIsa::kAvx512Vnni}) {
    const index::Kernels* k = index::KernelsFor(isa);
    if (k != nullptr) tables.push_back(k);
  }
  const index::Kernels& best = index::BestKernels();
  if (std::find(tables.begin(), tables.end(), &best) == tables.end()) tables.push_back(&best);

  std::vector<KernelTiming> timings;
  Rng rng(42);
  for (const index::Kernels* k : tables) {
    const bool matches = MatchesScalar(*k);
    for (uint32_t dim : kDims) {
      AlignedBuffer<uint8_t> q(dim);
      AlignedBuffer<int8_t> x(size_t{dim} * kBatch);
      FillCodes(&rng, q.data(), dim, x.data(), size_t{dim} * kBatch);
      KernelTiming t;
      t.isa = k->name;
      t.best = k == &best;
      t.dim = dim;
      t.matches_scalar = matches;
      const uint8_t* qp = q.data();
      const int8_t* xp = x.data();
      t.ns_per_dot = BestNanosPerUnit(1, [&](uint64_t iterations) {
        int64_t acc = 0;
        for (uint64_t i = 0; i < iterations; ++i) {
          Clobber(qp);
          acc += k->dot_u8s8(qp, xp, dim);
        }
        g_sink = acc;
      });
      int32_t out[kBatch];
      t.ns_per_vector_batch = BestNanosPerUnit(kBatch, [&](uint64_t iterations) {
        int64_t acc = 0;
        for (uint64_t i = 0; i < iterations; ++i) {
          Clobber(qp);
          k->dot_u8s8_batch(qp, xp, dim, dim, kBatch, out);
          acc += out[0] + out[kBatch - 1];
        }
        g_sink = acc;
      });
      // The 4-bit pass over the same bytes read as nibble planes of dim / 2 bytes (dims are
      // multiples of 64, as the plane layout needs).
      const size_t plane = dim / 2;
      AlignedBuffer<int8_t> q_lo(plane), q_hi(plane);
      FillCodes(&rng, reinterpret_cast<uint8_t*>(q_lo.data()), plane, q_hi.data(), plane);
      const uint8_t* planes = reinterpret_cast<const uint8_t*>(xp);
      t.ns_per_vector_u4 = BestNanosPerUnit(kBatch, [&](uint64_t iterations) {
        int64_t acc = 0;
        for (uint64_t i = 0; i < iterations; ++i) {
          Clobber(qp);
          k->dot_u4s8_batch(q_lo.data(), q_hi.data(), planes, plane, plane, kBatch, out);
          acc += out[0] + out[kBatch - 1];
        }
        g_sink = acc;
      });
      timings.push_back(t);
    }
  }
  return timings;
}

double MeasureStreamBandwidth() {
  constexpr size_t kBytes = size_t{512} << 20;
  constexpr int kPasses = 4;
  const size_t words = kBytes / sizeof(uint64_t);
  AlignedBuffer<uint64_t> buf(words);
  uint64_t* p = buf.data();
  // Touch every page (and give them distinct contents) before timing.
  for (size_t i = 0; i < words; ++i) p[i] = i;
  double best = 0;
  for (int pass = 0; pass < kPasses; ++pass) {
    Clobber(p);
    const uint64_t start = NowNanos();
    const uint64_t sum = SumWords(p, words);
    const double seconds = static_cast<double>(NowNanos() - start) / 1e9;
    g_sink = static_cast<int64_t>(sum);
    const double bw = static_cast<double>(kBytes) / seconds;
    if (bw > best) best = bw;
  }
  return best;
}

}  // namespace loci::bench
