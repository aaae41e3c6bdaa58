// The micro-benchmarks of vector_kernel_bench.h.

#include "tools/bench/vector_kernel_bench.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <vector>

#include "index/kernels.h"
#include "tools/bench/bench_util.h"

namespace loci::bench {

namespace {

constexpr uint32_t kDims[] = {128, 768, 1536};
constexpr size_t kBatch = 64;
constexpr int kRounds = 301;
constexpr double kRoundSeconds = 0.0001;

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

// One timed body: `run(iterations)` performs `units_per_iteration` units per iteration.
struct TimedCase {
  std::function<void(uint64_t)> run;
  double units_per_iteration = 1;
  uint64_t iterations = 0;          // per round, calibrated to ~kRoundSeconds
  std::vector<double> ns_per_unit;  // one per round
};

// The timed loops. Their arguments are locals, held in registers: Clobber's memory clobber would
// make a loop reload anything it read through memory (a closure's captures, a Kernels table)
// on every call, adding loads to kernels whose bound is the load ports.
__attribute__((noinline)) void RunDots(int32_t (*dot)(const uint8_t*, const int8_t*, size_t),
                                       const uint8_t* q, const int8_t* x, size_t n,
                                       uint64_t iterations) {
  int64_t acc = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    Clobber(q);
    acc += dot(q, x, n);
  }
  g_sink = acc;
}

__attribute__((noinline)) void RunBatches(void (*batch)(const uint8_t*, const int8_t*, size_t,
                                                        size_t, size_t, int32_t*),
                                          const uint8_t* q, const int8_t* x, size_t n,
                                          uint64_t iterations) {
  int32_t out[kBatch];
  int64_t acc = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    Clobber(q);
    batch(q, x, n, n, kBatch, out);
    acc += out[0] + out[kBatch - 1];
  }
  g_sink = acc;
}

__attribute__((noinline)) void RunU4Batches(
    void (*batch)(const int8_t*, const int8_t*, const uint8_t*, size_t, size_t, size_t, int32_t*),
    const int8_t* q_lo, const int8_t* q_hi, const uint8_t* planes, size_t plane,
    uint64_t iterations) {
  int32_t out[kBatch];
  int64_t acc = 0;
  for (uint64_t i = 0; i < iterations; ++i) {
    Clobber(q_lo);
    batch(q_lo, q_hi, planes, plane, plane, kBatch, out);
    acc += out[0] + out[kBatch - 1];
  }
  g_sink = acc;
}

// Calibrates `c` to ~kRoundSeconds a round.
void Calibrate(TimedCase* c) {
  uint64_t iterations = 16;
  for (;;) {
    const uint64_t start = NowNanos();
    c->run(iterations);
    const double seconds = static_cast<double>(NowNanos() - start) / 1e9;
    if (seconds >= kRoundSeconds / 4) {
      c->iterations = std::max<uint64_t>(
          1, static_cast<uint64_t>(static_cast<double>(iterations) * kRoundSeconds / seconds));
      return;
    }
    iterations *= 4;
  }
}

// Times kRounds rounds of every case, interleaved (round r of each case, then round r + 1), so
// that a slow spell of the shared host costs every case some rounds rather than one case all of
// its rounds.
void TimeInterleaved(std::vector<TimedCase>* cases) {
  for (TimedCase& c : *cases) Calibrate(&c);
  for (int round = 0; round < kRounds; ++round) {
    for (TimedCase& c : *cases) {
      const uint64_t start = NowNanos();
      c.run(c.iterations);
      c.ns_per_unit.push_back(static_cast<double>(NowNanos() - start) /
                              (static_cast<double>(c.iterations) * c.units_per_iteration));
    }
  }
  for (TimedCase& c : *cases) std::sort(c.ns_per_unit.begin(), c.ns_per_unit.end());
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

  // The inputs of every (table, dim), kept alive until all cases have run.
  struct Inputs {
    AlignedBuffer<uint8_t> q;
    AlignedBuffer<int8_t> x;
    AlignedBuffer<int8_t> q_lo, q_hi;  // a 4-bit query's planes, dim / 2 bytes each
    explicit Inputs(uint32_t dim) : q(dim), x(size_t{dim} * kBatch), q_lo(dim / 2), q_hi(dim / 2) {}
  };
  std::vector<std::unique_ptr<Inputs>> inputs;
  std::vector<KernelTiming> timings;
  std::vector<TimedCase> cases;  // three per timing: the dot, the batch, the 4-bit batch
  Rng rng(42);
  for (const index::Kernels* k : tables) {
    const bool matches = MatchesScalar(*k);
    for (uint32_t dim : kDims) {
      inputs.push_back(std::make_unique<Inputs>(dim));
      Inputs& in = *inputs.back();
      FillCodes(&rng, in.q.data(), dim, in.x.data(), size_t{dim} * kBatch);
      FillCodes(&rng, reinterpret_cast<uint8_t*>(in.q_lo.data()), dim / 2, in.q_hi.data(), dim / 2);
      KernelTiming t;
      t.isa = k->name;
      t.best = k == &best;
      t.dim = dim;
      t.matches_scalar = matches;
      timings.push_back(t);

      const uint8_t* qp = in.q.data();
      const int8_t* xp = in.x.data();
      const auto dot_u8s8 = k->dot_u8s8;
      const auto dot_u8s8_batch = k->dot_u8s8_batch;
      const auto dot_u4s8_batch = k->dot_u4s8_batch;
      TimedCase dot;
      dot.run = [=](uint64_t iterations) { RunDots(dot_u8s8, qp, xp, dim, iterations); };
      TimedCase batch;
      batch.units_per_iteration = kBatch;
      batch.run = [=](uint64_t iterations) { RunBatches(dot_u8s8_batch, qp, xp, dim, iterations); };
      // The 4-bit pass over the same bytes read as nibble planes of dim / 2 bytes (dims are
      // multiples of 64, as the plane layout needs).
      const int8_t* q_lo = in.q_lo.data();
      const int8_t* q_hi = in.q_hi.data();
      const uint8_t* planes = reinterpret_cast<const uint8_t*>(xp);
      TimedCase u4;
      u4.units_per_iteration = kBatch;
      u4.run = [=](uint64_t iterations) {
        RunU4Batches(dot_u4s8_batch, q_lo, q_hi, planes, dim / 2, iterations);
      };
      cases.push_back(std::move(dot));
      cases.push_back(std::move(batch));
      cases.push_back(std::move(u4));
    }
  }
  TimeInterleaved(&cases);
  for (size_t i = 0; i < timings.size(); ++i) {
    const std::vector<double>& dot = cases[3 * i].ns_per_unit;
    timings[i].ns_per_dot = dot.front();
    timings[i].ns_per_dot_median = dot[dot.size() / 2];
    timings[i].ns_per_vector_batch = cases[3 * i + 1].ns_per_unit.front();
    timings[i].ns_per_vector_u4 = cases[3 * i + 2].ns_per_unit.front();
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
