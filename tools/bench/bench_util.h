// Helpers shared by the loci-bench scenarios: the clock and its measured overhead, a latency
// histogram, deterministic random records (the same bytes for every system of a run), and the
// report (a table on stdout, JSON lines in a file, ratios between systems at the end).

#ifndef LOCI_TOOLS_BENCH_BENCH_UTIL_H_
#define LOCI_TOOLS_BENCH_BENCH_UTIL_H_

#include <time.h>

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loci/status.h"

namespace loci::bench {

// --- clock

// Monotonic nanoseconds: clock_gettime(CLOCK_MONOTONIC), served by the vDSO when the kernel's
// clocksource allows it (tsc, kvm-clock), so no system call.
inline uint64_t NowNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// The cost of one NowNanos() reading, measured by taking many readings back to back. A timed
// operation pays about one reading inside its interval; the benchmark reports latencies raw
// (nothing subtracted) and prints this next to them.
struct TimerOverhead {
  double mean_ns = 0;  // mean distance between consecutive readings
  double p50_ns = 0;
  double p99_ns = 0;
  std::string clocksource;  // /sys/devices/system/clocksource/clocksource0/current_clocksource
};
TimerOverhead MeasureTimerOverhead();

// Flushes every dirty page of the machine (sync(2)) so that a measurement does not pay for the
// write-back of the previous one. Called before each measurement, outside the timing.
void Quiesce();

// --- latency histogram

// Log-linear histogram of nanosecond values: exact below 128 ns, then 128 sub-buckets per power
// of two, so a reported percentile is within 0.8% of the true sample. Fixed size (58 KiB), no
// allocation while recording. Not thread-safe: one per thread, merged at the end.
class Histogram {
 public:
  Histogram();

  void Record(uint64_t ns) {
    ++counts_[BucketOf(ns)];
    ++count_;
    sum_ += ns;
    if (ns > max_) max_ = ns;
  }
  void Merge(const Histogram& other);
  void Clear();

  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }
  // The value at quantile q (0 < q <= 1), as the midpoint of its bucket; 0 when empty.
  double Percentile(double q) const;

 private:
  static constexpr int kSubBits = 7;
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kBuckets = (64 - kSubBits + 1) * kSub;

  static int BucketOf(uint64_t v) {
    if (v < kSub) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);  // >= kSubBits
    const int sub = static_cast<int>((v >> (e - kSubBits)) & (kSub - 1));
    return (e - kSubBits + 1) * kSub + sub;
  }
  // [low, high) of bucket b.
  static std::pair<double, double> BucketRange(int b);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t max_ = 0;
};

// --- random data

// xoshiro256** seeded through splitmix64: fast, good enough for benchmark data, reproducible.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// The record stored under each key: `payload_bytes` random bytes and a `dim`-d float vector
// with components uniform in [-1, 1), normalised to unit length. Both are a pure function of
// (seed, key), so every system of a run stores the same bytes and a writer can regenerate a
// key's vector without keeping it.
class RecordSource {
 public:
  RecordSource(uint64_t seed, size_t payload_bytes, uint32_t dim)
      : seed_(seed), payload_bytes_(payload_bytes), dim_(dim) {}

  size_t payload_bytes() const { return payload_bytes_; }
  uint32_t dim() const { return dim_; }

  void FillPayload(uint64_t key, std::string* payload) const;
  void FillVector(uint64_t key, std::vector<float>* vec) const;
  // An alternative payload for updates, drawn from a separate stream (`n` is its index).
  void FillUpdatePayload(uint64_t n, std::string* payload) const;

 private:
  const uint64_t seed_;
  const size_t payload_bytes_;
  const uint32_t dim_;
};

// A pregenerated set of `size` records (keys 0..size-1 of a RecordSource) stored contiguously,
// so that generating data costs nothing inside a timed loop. Key k of a run uses record
// k % size().
class RecordPool {
 public:
  RecordPool(const RecordSource& source, size_t size);

  size_t size() const { return size_; }
  std::string_view Payload(uint64_t key) const {
    const size_t i = key % size_;
    return std::string_view(payloads_.data() + i * payload_bytes_, payload_bytes_);
  }
  std::span<const float> Vector(uint64_t key) const {
    const size_t i = key % size_;
    return std::span<const float>(vectors_.data() + i * dim_, dim_);
  }

 private:
  const size_t size_;
  const size_t payload_bytes_;
  const size_t dim_;
  std::string payloads_;
  std::vector<float> vectors_;
};

// --- report

// One measured configuration: a line of the table and of the JSON file.
struct ResultRow {
  std::string scenario;  // "write" or "read"
  std::string system;    // "loci", "rocksdb", "sqlite"
  std::string variant;   // "durable", "nosync", "full", "payload-only"
  int threads = 0;
  uint64_t ops = 0;    // operations measured
  double seconds = 0;  // wall time of the measurement
  double ops_per_s = 0;
  double p50_us = 0;
  double p99_us = 0;
  double p999_us = 0;
  double max_us = 0;
  uint64_t errors = 0;  // operations that failed or returned wrong data
  std::vector<std::pair<std::string, double>> extra;  // more JSON fields (e.g. group_size)
  std::string notes;                                  // free text in the table's last column
};

// Builds the latency/throughput fields of `row` from a merged histogram and wall time.
void FillLatency(const Histogram& h, uint64_t ops, double seconds, ResultRow* row);

class Reporter {
 public:
  Reporter() = default;
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;
  ~Reporter();

  // Truncates and opens `json_path` for JSON lines (empty: no JSON).
  Status Open(const std::string& json_path);

  // Prints a block of explanatory lines (what the rows measure) before a table.
  void Explain(const std::vector<std::string>& lines);
  // Prints the column header of the row table.
  void PrintTableHeader();
  // Prints `row` as one table line, appends it to the JSON file and keeps it for Summary().
  void Add(ResultRow row);
  // The table of every row again, then per (scenario, variant, threads) the ratios of loci to
  // rocksdb and to sqlite: ops/s ratio (>1: loci faster) and p50/p99 ratios (<1: loci faster).
  void Summary();

 private:
  std::vector<ResultRow> rows_;
  FILE* json_ = nullptr;
};

// "1.23 GiB" style.
std::string FormatBytes(double bytes);
// Shortest of %g: "5", "0.25".
std::string FormatNumber(double x);

// Total size of the regular files under `dir` (recursively), in bytes.
uint64_t DirectoryBytes(const std::string& dir);
// Bytes the regular files below `dir` occupy on disk (allocated blocks, st_blocks): what sparse
// and hole-punched files really take.
uint64_t AllocatedBytes(const std::string& dir);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_BENCH_UTIL_H_
