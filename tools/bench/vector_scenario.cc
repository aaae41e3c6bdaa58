// The `vector` scenario: loads the data set, measures the stream bandwidth and the INT8
// kernels, then builds each selected system in turn and sweeps its search parameter, one
// thread, one query at a time. See vector_scenario.h.

#include "tools/bench/vector_scenario.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "tools/bench/bench_util.h"
#include "tools/bench/vector_kernel_bench.h"
#include "tools/bench/vector_system.h"

namespace loci::bench {

namespace {

constexpr int kMaxPasses = 50;

// One measured point of one system.
struct PointResult {
  std::string system;
  std::string series;  // the plot curve: the system, or a variant of its sweep
  std::string param;
  double recall = 0;
  double qps = 0;
  double p50_us = 0;
  double p99_us = 0;
  int passes = 0;
  std::optional<double> scanned_bytes_per_query;
};

// JSON lines output; a no-op without a file.
class JsonLines {
 public:
  JsonLines() = default;
  JsonLines(const JsonLines&) = delete;
  JsonLines& operator=(const JsonLines&) = delete;
  ~JsonLines() {
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Open(const std::string& path) {
    if (path.empty()) return Status::OK();
    file_ = std::fopen(path.c_str(), "w");
    if (file_ == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
    return Status::OK();
  }
  void Write(const nlohmann::ordered_json& j) {
    if (file_ == nullptr) return;
    const std::string line = j.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), file_);
    std::fflush(file_);
  }

 private:
  FILE* file_ = nullptr;
};

std::optional<Metric> ParseMetric(const std::string& name) {
  if (name == "l2") return Metric::kL2;
  if (name == "cosine") return Metric::kCosine;
  if (name == "ip") return Metric::kInnerProduct;
  return std::nullopt;
}

std::unique_ptr<VectorSystem> MakeVectorSystem(const std::string& name, const VectorConfig& config,
                                               std::string* why_not) {
  if (name == "loci") return NewLociVectorSystem(config.loci_points);
  if (name == "hnswlib") {
#ifdef LOCI_BENCH_HAVE_HNSWLIB
    return NewHnswlibSystem();
#else
    *why_not =
        "hnswlib was not found when loci-bench was configured (apt-get install libhnswlib-dev, "
        "then re-run cmake)";
    return nullptr;
#endif
  }
  if (name == "faiss-ivf-flat" || name == "faiss-ivf-sq8" || name == "faiss-hnsw32") {
#ifdef LOCI_BENCH_HAVE_FAISS
    const FaissKind kind = name == "faiss-ivf-flat"  ? FaissKind::kIvfFlat
                           : name == "faiss-ivf-sq8" ? FaissKind::kIvfSq8
                                                     : FaissKind::kHnsw32;
    return NewFaissSystem(kind, config.nlist);
#else
    *why_not =
        "FAISS was not found when loci-bench was configured (apt-get install libfaiss-dev "
        "libopenblas-dev, then re-run cmake)";
    return nullptr;
#endif
  }
  *why_not = "unknown system (known: loci, hnswlib, faiss-ivf-flat, faiss-ivf-sq8, faiss-hnsw32)";
  return nullptr;
}

// The first three fields of /proc/loadavg: on a shared machine, other jobs skew every number.
std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  }
  return "unknown CPU";
}

// Checks that the files fit together: dimensions, enough truth rows and columns, ids in range.
Status CheckDataset(const VectorConfig& config, const VectorSet& base, const VectorSet& queries,
                    const NeighborTable& truth) {
  if (queries.dim != base.dim) {
    return Status::InvalidArgument(config.queries + ": dimension " + std::to_string(queries.dim) +
                                   " differs from the base's " + std::to_string(base.dim));
  }
  if (truth.rows < queries.n) {
    return Status::InvalidArgument(config.truth + ": " + std::to_string(truth.rows) + " rows for " +
                                   std::to_string(queries.n) + " queries");
  }
  if (truth.cols < config.k) {
    return Status::InvalidArgument(
        config.truth + ": " + std::to_string(truth.cols) +
        " neighbours per row, fewer than k = " + std::to_string(config.k));
  }
  for (size_t q = 0; q < queries.n; ++q) {
    for (uint32_t j = 0; j < config.k; ++j) {
      const int32_t id = truth.row(q)[j];
      if (id < 0 || static_cast<size_t>(id) >= base.n) {
        return Status::InvalidArgument(config.truth + ": row " + std::to_string(q) + " names id " +
                                       std::to_string(id) + ", outside the base's 0.." +
                                       std::to_string(base.n - 1) +
                                       " (truth for another base file?)");
      }
    }
  }
  return Status::OK();
}

// |found ∩ truth[:k]| / k.
double Recall(const std::vector<int64_t>& found, const int32_t* truth, uint32_t k) {
  uint32_t hits = 0;
  const size_t n = std::min<size_t>(found.size(), k);
  for (size_t i = 0; i < n; ++i) {
    if (found[i] < 0) continue;
    for (uint32_t j = 0; j < k; ++j) {
      if (truth[j] == found[i]) {
        ++hits;
        break;
      }
    }
  }
  return static_cast<double>(hits) / k;
}

// A sweep point's measurements, accumulated over the rounds.
struct PointState {
  Histogram latency;
  double recall_sum = 0;
  double best_pass_seconds = 0;
  double total_seconds = 0;
  int passes = 0;
};

// One round of one sweep point: query passes until `seconds` of search time (at least one, at
// most `max_passes`). Recall and bytes scanned come from the point's first pass, QPS from its
// fastest over all rounds, latency percentiles from all.
Status MeasureRound(VectorSystem* system, const VectorConfig& config, const VectorSet& queries,
                    const NeighborTable& truth, double seconds, int max_passes, PointState* state,
                    PointResult* result) {
  std::vector<int64_t> ids;
  double round_seconds = 0;
  for (int round_passes = 0;
       round_passes == 0 || (round_seconds < seconds && round_passes < max_passes);
       ++round_passes) {
    const bool first = state->passes == 0;
    if (first) system->ResetScanCounter();
    uint64_t pass_ns = 0;
    for (size_t q = 0; q < queries.n; ++q) {
      const uint64_t start = NowNanos();
      LOCI_RETURN_IF_ERROR(system->Search(q, config.k, &ids));
      const uint64_t ns = NowNanos() - start;
      pass_ns += ns;
      state->latency.Record(ns);
      if (first) state->recall_sum += Recall(ids, truth.row(q), config.k);
    }
    if (first) {
      const std::optional<double> scanned = system->ScannedBytes();
      if (scanned) result->scanned_bytes_per_query = *scanned / static_cast<double>(queries.n);
    }
    const double pass_seconds = static_cast<double>(pass_ns) / 1e9;
    if (first || pass_seconds < state->best_pass_seconds) state->best_pass_seconds = pass_seconds;
    round_seconds += pass_seconds;
    state->total_seconds += pass_seconds;
    ++state->passes;
  }
  result->recall = state->recall_sum / static_cast<double>(queries.n);
  result->qps =
      state->best_pass_seconds > 0 ? static_cast<double>(queries.n) / state->best_pass_seconds : 0;
  result->p50_us = state->latency.Percentile(0.50) / 1000.0;
  result->p99_us = state->latency.Percentile(0.99) / 1000.0;
  result->passes = state->passes;
  return Status::OK();
}

std::string Fixed(std::optional<double> x, int precision = 0) {
  if (!x) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", precision, *x);
  return buf;
}

void PrintRowHeader(uint32_t k) {
  const std::string recall = "recall@" + std::to_string(k);
  std::printf("%-14s %-20s %9s %9s %8s %8s %9s %8s %8s %9s %9s\n", "system", "param",
              recall.c_str(), "qps", "p50_us", "p99_us", "build_v/s", "ram_B/v", "disk_B/v",
              "scan_KB/q", "bw_qps");
}

// The JSON object and table line of one point.
void ReportPoint(const PointResult& p, const BuildInfo& build, double build_vps, size_t n,
                 double bandwidth, const VectorConfig& config, size_t nq, JsonLines* json) {
  auto per_vector = [n](std::optional<double> total) -> std::optional<double> {
    if (!total) return std::nullopt;
    return *total / static_cast<double>(n);
  };
  const std::optional<double> ram = per_vector(build.ram_bytes);
  const std::optional<double> disk = per_vector(build.disk_bytes);
  std::optional<double> scan_kb;
  std::optional<double> ceiling;
  if (p.scanned_bytes_per_query && *p.scanned_bytes_per_query > 0) {
    scan_kb = *p.scanned_bytes_per_query / 1024;
    ceiling = bandwidth / *p.scanned_bytes_per_query;
  }
  std::printf("%-14s %-20s %9.4f %9.0f %8.1f %8.1f %9.0f %8s %8s %9s %9s\n", p.system.c_str(),
              p.param.c_str(), p.recall, p.qps, p.p50_us, p.p99_us, build_vps, Fixed(ram).c_str(),
              Fixed(disk).c_str(), Fixed(scan_kb, 1).c_str(), Fixed(ceiling).c_str());
  std::fflush(stdout);

  nlohmann::ordered_json j;
  j["scenario"] = "vector";
  j["system"] = p.system;
  j["param"] = p.param;
  j["recall_at_" + std::to_string(config.k)] = p.recall;
  j["qps"] = p.qps;
  j["build_vps"] = build_vps;
  j["bytes_per_vector"] = ram ? nlohmann::ordered_json(*ram) : nlohmann::ordered_json(nullptr);
  j["disk_bytes_per_vector"] =
      disk ? nlohmann::ordered_json(*disk) : nlohmann::ordered_json(nullptr);
  j["scanned_bytes_per_query"] = p.scanned_bytes_per_query
                                     ? nlohmann::ordered_json(*p.scanned_bytes_per_query)
                                     : nlohmann::ordered_json(nullptr);
  j["bandwidth_ceiling_qps"] =
      ceiling ? nlohmann::ordered_json(*ceiling) : nlohmann::ordered_json(nullptr);
  j["p50_us"] = p.p50_us;
  j["p99_us"] = p.p99_us;
  j["passes"] = p.passes;
  j["k"] = config.k;
  j["queries"] = nq;
  j["base_vectors"] = n;
  j["metric"] = config.metric;
  j["base"] = config.base;
  j["build_seconds"] = build.seconds;
  for (const auto& [key, value] : build.extra) j[key] = value;
  json->Write(j);
}

// The fastest point of each system at or above each recall target.
void PrintSummary(const std::vector<PointResult>& points, const std::vector<std::string>& order,
                  uint32_t k) {
  constexpr double kTargets[] = {0.90, 0.95, 0.99};
  std::printf("\n== fastest point per system at recall@%u >= 0.90 / 0.95 / 0.99 ==\n", k);
  for (const std::string& system : order) {
    std::printf("%-14s", system.c_str());
    for (double target : kTargets) {
      const PointResult* best = nullptr;
      for (const PointResult& p : points) {
        if (p.system == system && p.recall >= target && (best == nullptr || p.qps > best->qps)) {
          best = &p;
        }
      }
      char cell[64];
      if (best == nullptr) {
        std::snprintf(cell, sizeof(cell), "-");
      } else {
        std::snprintf(cell, sizeof(cell), "%.0f q/s (%s)", best->qps, best->param.c_str());
      }
      std::printf("  %-30s", cell);
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

// Path of `program` in $PATH, or empty.
std::string FindInPath(const char* program) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return "";
  std::string_view rest(path);
  while (!rest.empty()) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// A gnuplot single-quoted string ('' stands for one quote).
std::string GnuplotQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

// Shell single-quoted word.
std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

void Plot(const std::string& file, const std::vector<PointResult>& points, const std::string& title,
          uint32_t k) {
  const std::string gnuplot = FindInPath("gnuplot");
  if (gnuplot.empty()) {
    std::printf("# --plot: gnuplot not found (apt-get install gnuplot-nox); no plot written\n");
    return;
  }
  // One curve per series, in the order they were measured.
  std::vector<std::string> plotted;
  for (const PointResult& p : points) {
    if (p.qps > 0 && std::find(plotted.begin(), plotted.end(), p.series) == plotted.end()) {
      plotted.push_back(p.series);
    }
  }
  if (plotted.empty()) {
    std::printf("# --plot: no points to plot\n");
    return;
  }
  FILE* pipe = ::popen((ShellQuote(gnuplot) + " 2>&1").c_str(), "w");
  if (pipe == nullptr) {
    std::printf("# --plot: cannot run gnuplot: %s\n", std::strerror(errno));
    return;
  }
  std::fprintf(pipe,
               "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) "
               "{ set terminal pngcairo size 1100,750 noenhanced } "
               "else { set terminal png size 1100,750 noenhanced }\n");
  std::fprintf(pipe, "set output %s\n", GnuplotQuote(file).c_str());
  std::fprintf(pipe, "set title %s\n", GnuplotQuote(title).c_str());
  std::fprintf(pipe, "set xlabel 'recall@%u'\nset ylabel 'queries/s, one thread (log scale)'\n", k);
  std::fprintf(pipe, "set logscale y\nset grid\nset key bottom left\n");
  std::string plot = "plot ";
  for (size_t i = 0; i < plotted.size(); ++i) {
    if (i > 0) plot += ", ";
    plot += "'-' using 1:2 with linespoints pointtype " + std::to_string(i + 4) + " title " +
            GnuplotQuote(plotted[i]);
  }
  std::fprintf(pipe, "%s\n", plot.c_str());
  for (const std::string& s : plotted) {
    for (const PointResult& p : points) {
      if (p.series == s && p.qps > 0) std::fprintf(pipe, "%.6f %.3f\n", p.recall, p.qps);
    }
    std::fprintf(pipe, "e\n");
  }
  const int rc = ::pclose(pipe);
  if (rc != 0) {
    std::printf("# --plot: gnuplot failed (status %d); see its messages above\n", rc);
  } else {
    std::printf("# plot written to %s\n", file.c_str());
  }
}

}  // namespace

Status RunVectorScenario(const VectorConfig& config) {
  const std::optional<Metric> metric = ParseMetric(config.metric);
  if (!metric) return Status::InvalidArgument("--metric must be l2, cosine or ip");
  if (config.k == 0 || config.k > 1000) return Status::InvalidArgument("--k must be 1..1000");

  VectorSet base, queries;
  NeighborTable truth;
  uint64_t start = NowNanos();
  LOCI_RETURN_IF_ERROR(LoadVectors(config.base, 0, &base));
  LOCI_RETURN_IF_ERROR(LoadVectors(config.queries, config.queries_limit, &queries));
  LOCI_RETURN_IF_ERROR(LoadNeighbors(config.truth, &truth));
  LOCI_RETURN_IF_ERROR(CheckDataset(config, base, queries, truth));
  const double load_seconds = static_cast<double>(NowNanos() - start) / 1e9;

  // Peers get unit vectors for cosine (they only know inner product); Loci gets the raw ones.
  VectorSet base_normalized, queries_normalized;
  VectorDataset data;
  data.raw_base = &base;
  data.raw_queries = &queries;
  data.base = &base;
  data.queries = &queries;
  data.metric = *metric;
  data.metric_name = config.metric;
  if (*metric == Metric::kCosine) {
    base_normalized = base;
    queries_normalized = queries;
    NormalizeRows(&base_normalized);
    NormalizeRows(&queries_normalized);
    data.base = &base_normalized;
    data.queries = &queries_normalized;
  }

  JsonLines json;
  LOCI_RETURN_IF_ERROR(json.Open(config.json));

  std::printf(
      "# vector: %zu base x %u-d (%s, %s), %zu queries (%s), truth %zu x %u (%s), metric %s, "
      "k %u; loaded in %.1f s\n",
      base.n, base.dim, base.format.c_str(), config.base.c_str(), queries.n, config.queries.c_str(),
      truth.rows, truth.cols, config.truth.c_str(), config.metric.c_str(), config.k, load_seconds);
  std::printf(
      "# machine: %s, %ld online CPUs; every measurement runs on one thread, one query "
      "at a time\n",
      CpuModel().c_str(), ::sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("# load average at start: %s\n", LoadAverage().c_str());

  const double bandwidth = MeasureStreamBandwidth();
  std::printf(
      "# stream bandwidth, one thread summing 512 MiB: %.2f GB/s (the bw_qps column = "
      "this / bytes scanned per query: the QPS a pure scan of those bytes could reach)\n",
      bandwidth / 1e9);
  {
    nlohmann::ordered_json j;
    j["scenario"] = "vector";
    j["system"] = "stream";
    j["bytes_per_second"] = bandwidth;
    json.Write(j);
  }

  if (config.kernels) {
    std::printf("\n== INT8 kernels (index/kernels.h), BestKernels() = %s ==\n",
                BestKernelName().c_str());
    std::printf(
        "# ns_per_dot: dot_u8s8 on the same two L1-resident vectors, call after call (best and "
        "median of 301 rounds of ~0.1 ms); ns_per_vec_b64: dot_u8s8_batch over 64 vectors, per "
        "vector; u4_ns_per_vec_b64: dot_u4s8_batch (the 4-bit pass, dim/2 bytes a vector) "
        "likewise (best rounds)\n");
    std::printf("%-14s %5s %11s %10s %14s %17s %8s\n", "isa", "dim", "ns_per_dot", "median",
                "ns_per_vec_b64", "u4_ns_per_vec_b64", "check");
    for (const KernelTiming& t : MeasureInt8Kernels()) {
      std::printf("%-14s %5u %11.2f %10.2f %14.2f %17.2f %8s\n",
                  (t.isa + (t.best ? " *" : "")).c_str(), t.dim, t.ns_per_dot, t.ns_per_dot_median,
                  t.ns_per_vector_batch, t.ns_per_vector_u4, t.matches_scalar ? "ok" : "MISMATCH");
      nlohmann::ordered_json j;
      j["scenario"] = "vector";
      j["system"] = "kernel";
      j["isa"] = t.isa;
      j["best"] = t.best;
      j["dim"] = t.dim;
      j["ns_per_dot"] = t.ns_per_dot;
      j["ns_per_dot_median"] = t.ns_per_dot_median;
      j["ns_per_vector_batch64"] = t.ns_per_vector_batch;
      j["u4_ns_per_vector_batch64"] = t.ns_per_vector_u4;
      j["matches_scalar"] = t.matches_scalar;
      json.Write(j);
    }
    std::fflush(stdout);
  }

  // Every system is built first and measured after, in rounds: each round measures every point
  // of every system once, so that a slow spell of a shared host (which moves absolute figures
  // by a third here) falls on all of them alike rather than on whichever ran then.
  struct Built {
    std::string name;
    std::unique_ptr<VectorSystem> system;
    std::string work_dir;
    BuildInfo build;
    double vps = 0;
    std::vector<SweepPoint> sweep;  // cut short at a point whose search failed
    std::vector<PointState> states;
    std::vector<PointResult> results;
  };
  std::vector<Built> built;
  std::error_code ec;
  for (const std::string& name : config.systems) {
    std::string why_not;
    std::unique_ptr<VectorSystem> system = MakeVectorSystem(name, config, &why_not);
    if (system == nullptr) {
      std::printf("\n# %s: skipped: %s\n", name.c_str(), why_not.c_str());
      continue;
    }
    std::printf("\n== %s ==\n# %s\n", name.c_str(), system->Describe().c_str());
    std::fflush(stdout);

    const std::string work_dir = config.dir + "/vector-" + name + "-" + std::to_string(::getpid());
    std::filesystem::remove_all(work_dir, ec);
    std::filesystem::create_directories(work_dir, ec);
    if (ec) {
      const Status error = Status::IOError(work_dir + ": " + ec.message());
      for (Built& b : built) {  // closes their files, then removes their directories
        b.system.reset();
        if (!config.keep) std::filesystem::remove_all(b.work_dir, ec);
      }
      return error;
    }

    Built b;
    Status s = system->Build(data, work_dir, &b.build);
    if (!s.ok()) {
      std::printf("# %s: build failed, skipped: %s\n", name.c_str(), s.ToString().c_str());
      system.reset();  // closes its files before the directory goes
      if (!config.keep) std::filesystem::remove_all(work_dir, ec);
      continue;
    }
    b.vps = b.build.seconds > 0 ? static_cast<double>(base.n) / b.build.seconds : 0;
    std::printf("# build: %.2f s, %.0f vectors/s%s%s\n", b.build.seconds, b.vps,
                b.build.notes.empty() ? "" : "; ", b.build.notes.c_str());
    for (const auto& [key, value] : b.build.extra) {
      std::printf("#   %s = %s\n", key.c_str(), FormatNumber(value).c_str());
    }
    std::fflush(stdout);
    b.name = name;
    b.sweep = system->Sweep();
    b.states.resize(b.sweep.size());
    b.results.resize(b.sweep.size());
    for (size_t i = 0; i < b.sweep.size(); ++i) {
      PointResult& p = b.results[i];
      p.system = name;
      p.param = b.sweep[i].label;
      p.series = b.sweep[i].series.empty() ? name : name + " " + b.sweep[i].series;
    }
    b.system = std::move(system);
    b.work_dir = work_dir;
    built.push_back(std::move(b));
  }

  const int rounds = std::max(1, config.rounds);
  const double round_seconds = config.min_seconds / rounds;
  const int round_max_passes = std::max(1, kMaxPasses / rounds);
  std::printf(
      "\n# measuring: %d round(s), each one pass or more of every point of every system "
      "(%.2f s of search per point per round); QPS = the fastest pass of a point\n",
      rounds, round_seconds);
  std::fflush(stdout);
  for (int round = 0; round < rounds; ++round) {
    const uint64_t round_start = NowNanos();
    for (Built& b : built) {
      for (size_t i = 0; i < b.sweep.size(); ++i) {
        Status s = b.system->SetParam(b.sweep[i]);
        if (s.ok()) {
          s = MeasureRound(b.system.get(), config, queries, truth, round_seconds, round_max_passes,
                           &b.states[i], &b.results[i]);
        }
        if (!s.ok()) {
          std::printf("# %s: search failed at %s, dropping it and its later points: %s\n",
                      b.name.c_str(), b.sweep[i].label.c_str(), s.ToString().c_str());
          b.sweep.resize(i);
          b.states.resize(i);
          b.results.resize(i);
          break;
        }
      }
    }
    // The tables come at the end: say how far along the measuring is.
    std::printf("# round %d of %d: %.0f s\n", round + 1, rounds,
                static_cast<double>(NowNanos() - round_start) / 1e9);
    std::fflush(stdout);
  }

  std::vector<PointResult> points;
  std::vector<std::string> measured;
  for (Built& b : built) {
    std::printf("\n== %s ==\n", b.name.c_str());
    PrintRowHeader(config.k);
    for (const PointResult& p : b.results) {
      ReportPoint(p, b.build, b.vps, base.n, bandwidth, config, queries.n, &json);
      points.push_back(p);
    }
    if (!b.results.empty()) measured.push_back(b.name);
    b.system.reset();  // closes its files before the directory goes
    if (!config.keep) std::filesystem::remove_all(b.work_dir, ec);
  }

  if (!points.empty()) PrintSummary(points, measured, config.k);
  std::printf("# load average at end: %s (more than ~1 means other jobs shared the CPUs)\n",
              LoadAverage().c_str());
  if (!config.plot.empty()) {
    const std::string title = std::filesystem::path(config.base).filename().string() + ", " +
                              config.metric + ", " + std::to_string(queries.n) +
                              " queries, one thread";
    Plot(config.plot, points, title, config.k);
  }
  return Status::OK();
}

}  // namespace loci::bench
