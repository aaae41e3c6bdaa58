// Clock overhead, histogram, record generation and the report of loci-bench.

#include "tools/bench/bench_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <tuple>

namespace loci::bench {

namespace {

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Independent streams for payloads, vectors and update payloads of the same key.
constexpr uint64_t kPayloadStream = 0x7061796c6f6164ull;
constexpr uint64_t kVectorStream = 0x766563746f72ull;
constexpr uint64_t kUpdateStream = 0x757064617465ull;

uint64_t StreamSeed(uint64_t seed, uint64_t stream, uint64_t key) {
  uint64_t x = seed ^ stream;
  uint64_t a = SplitMix64(&x);
  x = a ^ (key * 0xd1b54a32d192ed03ull);
  return SplitMix64(&x);
}

void FillRandomBytes(uint64_t seed, size_t n, std::string* out) {
  out->resize(n);
  Rng rng(seed);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t v = rng.Next();
    std::memcpy(out->data() + i, &v, 8);
  }
  if (i < n) {
    const uint64_t v = rng.Next();
    std::memcpy(out->data() + i, &v, n - i);
  }
}

std::string ReadClocksource() {
  std::ifstream in("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string s;
  if (!(in >> s)) return "unknown";
  return s;
}

}  // namespace

TimerOverhead MeasureTimerOverhead() {
  // Several rounds; the mean of the quietest one, since a round the scheduler interrupted
  // includes the interruption.
  constexpr int kRounds = 10;
  constexpr int kReadings = 200000;
  Histogram h;
  double best_mean = 0;
  for (int i = 0; i < 1000; ++i) (void)NowNanos();  // warm the vDSO page
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t start = NowNanos();
    uint64_t prev = start;
    for (int i = 0; i < kReadings; ++i) {
      const uint64_t now = NowNanos();
      h.Record(now - prev);
      prev = now;
    }
    const double mean = static_cast<double>(prev - start) / kReadings;
    if (round == 0 || mean < best_mean) best_mean = mean;
  }
  TimerOverhead t;
  t.mean_ns = best_mean;
  t.p50_ns = h.Percentile(0.50);
  t.p99_ns = h.Percentile(0.99);
  t.clocksource = ReadClocksource();
  return t;
}

void Quiesce() { ::sync(); }

// --- Histogram

Histogram::Histogram() : counts_(kBuckets, 0) {}

void Histogram::Merge(const Histogram& other) {
  for (int b = 0; b < kBuckets; ++b) counts_[b] += other.counts_[b];
  count_ += other.count_;
  sum_ += other.sum_;
  max_ = std::max(max_, other.max_);
}

void Histogram::Clear() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = sum_ = max_ = 0;
}

std::pair<double, double> Histogram::BucketRange(int b) {
  if (b < kSub) return {static_cast<double>(b), static_cast<double>(b) + 1};
  const int e = b / kSub + kSubBits - 1;
  const int sub = b % kSub;
  const double width = std::ldexp(1.0, e - kSubBits);
  const double low = std::ldexp(1.0, e) + sub * width;
  return {low, low + width};
}

double Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const uint64_t rank =
      std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += counts_[b];
    if (seen >= rank) {
      if (b < kSub) return b;  // exact
      const auto [low, high] = BucketRange(b);
      return std::min((low + high) / 2, static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

// --- Rng and records

Rng::Rng(uint64_t seed) {
  for (uint64_t& s : s_) s = SplitMix64(&seed);
}

void RecordSource::FillPayload(uint64_t key, std::string* payload) const {
  FillRandomBytes(StreamSeed(seed_, kPayloadStream, key), payload_bytes_, payload);
}

void RecordSource::FillUpdatePayload(uint64_t n, std::string* payload) const {
  FillRandomBytes(StreamSeed(seed_, kUpdateStream, n), payload_bytes_, payload);
}

void RecordSource::FillVector(uint64_t key, std::vector<float>* vec) const {
  vec->resize(dim_);
  if (dim_ == 0) return;
  Rng rng(StreamSeed(seed_, kVectorStream, key));
  double norm2 = 0;
  for (uint32_t i = 0; i < dim_; ++i) {
    // 24 random bits -> [-1, 1).
    const float x = static_cast<float>(rng.Next() >> 40) * (2.0f / 16777216.0f) - 1.0f;
    (*vec)[i] = x;
    norm2 += static_cast<double>(x) * x;
  }
  const float inv = norm2 > 0 ? static_cast<float>(1.0 / std::sqrt(norm2)) : 1.0f;
  for (float& x : *vec) x *= inv;
}

RecordPool::RecordPool(const RecordSource& source, size_t size)
    : size_(std::max<size_t>(size, 1)), payload_bytes_(source.payload_bytes()), dim_(source.dim()) {
  payloads_.resize(size_ * payload_bytes_);
  vectors_.resize(size_ * dim_);
  std::string p;
  std::vector<float> v;
  for (size_t i = 0; i < size_; ++i) {
    source.FillPayload(i, &p);
    std::memcpy(payloads_.data() + i * payload_bytes_, p.data(), payload_bytes_);
    source.FillVector(i, &v);
    if (dim_ > 0) std::memcpy(vectors_.data() + i * dim_, v.data(), dim_ * sizeof(float));
  }
}

// --- report

void FillLatency(const Histogram& h, uint64_t ops, double seconds, ResultRow* row) {
  row->ops = ops;
  row->seconds = seconds;
  row->ops_per_s = seconds > 0 ? static_cast<double>(ops) / seconds : 0;
  row->p50_us = h.Percentile(0.50) / 1000.0;
  row->p99_us = h.Percentile(0.99) / 1000.0;
  row->p999_us = h.Percentile(0.999) / 1000.0;
  row->max_us = static_cast<double>(h.max()) / 1000.0;
}

std::string FormatBytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) {
    bytes /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

std::string FormatNumber(double x) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", x);
  return buf;
}

Reporter::~Reporter() {
  if (json_ != nullptr) std::fclose(json_);
}

Status Reporter::Open(const std::string& json_path) {
  if (json_path.empty()) return Status::OK();
  json_ = std::fopen(json_path.c_str(), "w");
  if (json_ == nullptr) {
    return Status::IOError(json_path + ": " + std::strerror(errno));
  }
  return Status::OK();
}

void Reporter::Explain(const std::vector<std::string>& lines) {
  for (const std::string& l : lines) std::printf("# %s\n", l.c_str());
  std::fflush(stdout);
}

namespace {

constexpr char kHeaderFormat[] = "%-6s %-8s %-13s %4s %9s %7s %12s %10s %10s %10s %10s  %s\n";
constexpr char kRowFormat[] =
    "%-6s %-8s %-13s %4d %9llu %7.2f %12.0f %10.2f %10.2f %10.2f %10.1f  %s\n";

void PrintHeaderLine() {
  std::printf(kHeaderFormat, "scen", "system", "variant", "thr", "ops", "secs", "ops/s", "p50_us",
              "p99_us", "p99.9_us", "max_us", "notes");
}

void PrintRowLine(const ResultRow& r) {
  std::string notes = r.notes;
  if (r.errors > 0) notes += (notes.empty() ? "" : "; ") + std::to_string(r.errors) + " ERRORS";
  std::printf(kRowFormat, r.scenario.c_str(), r.system.c_str(), r.variant.c_str(), r.threads,
              static_cast<unsigned long long>(r.ops), r.seconds, r.ops_per_s, r.p50_us, r.p99_us,
              r.p999_us, r.max_us, notes.c_str());
}

std::string Ratio(double a, double b) {
  if (a <= 0 || b <= 0) return "-";
  char buf[32];
  const double r = a / b;
  std::snprintf(buf, sizeof(buf), r >= 0.01 ? "%.2f" : "%.1e", r);
  return buf;
}

}  // namespace

void Reporter::PrintTableHeader() {
  PrintHeaderLine();
  std::fflush(stdout);
}

void Reporter::Add(ResultRow row) {
  PrintRowLine(row);
  std::fflush(stdout);
  if (json_ != nullptr) {
    nlohmann::ordered_json j;
    j["scenario"] = row.scenario;
    j["system"] = row.system;
    j["variant"] = row.variant;
    j["threads"] = row.threads;
    j["ops_per_s"] = row.ops_per_s;
    j["p50_us"] = row.p50_us;
    j["p99_us"] = row.p99_us;
    j["p999_us"] = row.p999_us;
    j["max_us"] = row.max_us;
    j["ops"] = row.ops;
    j["seconds"] = row.seconds;
    j["errors"] = row.errors;
    for (const auto& [key, value] : row.extra) j[key] = value;
    if (!row.notes.empty()) j["notes"] = row.notes;
    const std::string line = j.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), json_);
    std::fflush(json_);
  }
  rows_.push_back(std::move(row));
}

void Reporter::Summary() {
  if (rows_.empty()) return;
  std::printf("\n== all rows ==\n");
  PrintHeaderLine();
  for (const ResultRow& r : rows_) PrintRowLine(r);

  // Index rows by (scenario, variant, threads, system).
  using Key = std::tuple<std::string, std::string, int>;
  std::map<Key, std::map<std::string, const ResultRow*>> by_config;
  std::vector<Key> order;
  for (const ResultRow& r : rows_) {
    Key k{r.scenario, r.variant, r.threads};
    if (by_config.find(k) == by_config.end()) order.push_back(k);
    by_config[k][r.system] = &r;
  }
  std::printf(
      "\n== ratios: loci / peer, same scenario, variant and thread count ==\n"
      "# ops/s ratio > 1: loci has more throughput; p50/p99 ratio < 1: loci has lower latency\n");
  std::printf("%-6s %-13s %4s  %-26s  %-26s\n", "scen", "variant", "thr",
              "loci/rocksdb ops p50 p99", "loci/sqlite ops p50 p99");
  for (const Key& k : order) {
    const auto& systems = by_config[k];
    auto loci = systems.find("loci");
    if (loci == systems.end()) continue;
    std::string cols[2];
    const char* peers[2] = {"rocksdb", "sqlite"};
    for (int i = 0; i < 2; ++i) {
      auto peer = systems.find(peers[i]);
      if (peer == systems.end()) {
        cols[i] = "-";
        continue;
      }
      const ResultRow& a = *loci->second;
      const ResultRow& b = *peer->second;
      cols[i] = Ratio(a.ops_per_s, b.ops_per_s) + " " + Ratio(a.p50_us, b.p50_us) + " " +
                Ratio(a.p99_us, b.p99_us);
    }
    std::printf("%-6s %-13s %4d  %-26s  %-26s\n", std::get<0>(k).c_str(), std::get<1>(k).c_str(),
                std::get<2>(k), cols[0].c_str(), cols[1].c_str());
  }
  std::fflush(stdout);
}

uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uint64_t n = it->file_size(size_ec);
      if (!size_ec) total += n;
    }
  }
  return total;
}

uint64_t AllocatedBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

}  // namespace loci::bench
