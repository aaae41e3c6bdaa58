// The loci-bench scenarios: `write` (durable and non-durable put throughput and latency at
// several writer thread counts) and `read` (Get latency and throughput under a concurrent
// updater). Each runs every selected system on the same data and reports rows to a Reporter.
// `filtered` measures filtered, trace-expanded search against hnswlib + SQLite, and Trace and
// Events latency (see filtered_scenario.cc).
// `locomo` measures evidence recall on the LoCoMo conversations (see locomo_scenario.cc).
// `churn` measures disk use and write amplification under rewrites (see churn_scenario.cc).
// `memory` measures the resident memory per cube of a reopened database (memory_scenario.cc).
// `crashloop` is not a measurement but a crash harness: it SIGKILLs a Loci writer process again
// and again and checks what recovery kept (Loci only).

#ifndef LOCI_TOOLS_BENCH_SCENARIOS_H_
#define LOCI_TOOLS_BENCH_SCENARIOS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "loci/status.h"
#include "tools/bench/bench_system.h"
#include "tools/bench/bench_util.h"

namespace loci::bench {

// Settings every scenario shares.
struct CommonConfig {
  // Parent of the per-measurement database directories (created if missing).
  std::string dir = "/tmp/loci-bench";
  std::vector<std::string> systems = {"loci", "rocksdb", "sqlite"};
  std::vector<int> threads;
  uint64_t seed = 42;
  SystemConfig system;
  bool keep = false;  // keep the databases after measuring
};

struct WriteConfig : CommonConfig {
  uint64_t ops = 10000;          // puts per durable measurement (all threads together)
  uint64_t nosync_ops = 100000;  // puts per non-durable measurement
  double seconds = 0;            // > 0: run each measurement this long instead of a fixed count
  size_t pool = 8192;            // distinct pregenerated records; key k stores record k % pool
  std::vector<std::string> variants = {"durable", "nosync"};
  int repeat = 1;  // runs per row; the row reports the median by ops/s
};

struct ReadConfig : CommonConfig {
  uint64_t cubes = 1000000;  // records loaded before reading
  double seconds = 5;        // measured time per row
  double warmup = 1;         // unmeasured time before each row (readers and writer running)
  size_t load_batch = 256;   // records per load transaction (every system)
  bool writer = true;        // run the concurrent updater
  double writer_rate = 0;    // updates/s cap of the updater (0: as fast as it can)
};

// loci-bench crashloop: `kills` rounds of fork a sync writer on `dir`, SIGKILL it a random delay
// in [min_ms, max_ms] after its Open returned (one round in eight: during its Open), reopen and
// verify every acknowledged write (crashloop_scenario.cc).
struct CrashloopConfig {
  std::string dir;  // the database directory (reused across rounds; created if missing)
  int kills = 50;
  int min_ms = 20;
  int max_ms = 400;
  int threads = 4;  // writer threads of the child
  uint64_t seed = 0;
  std::string json;  // write the summary as a JSON object here (empty: no file)
};

// loci-bench locomo: LoCoMo loaded into a fresh database (conversations as spaces, sessions as
// episodes, turns as cubes, observations and session summaries as derived cubes linked to the
// turns they come from), then evidence recall@5/10/20 of its questions for plain search, trace
// expansion and episode expansion, beside SQLite FTS5 BM25 (locomo_scenario.cc).
struct LocomoConfig {
  std::string data;    // locomo10.json (empty: DefaultLocomoPath(), locomo_data.h)
  uint32_t dim = 384;  // dimension of the lexical embeddings
  std::string json;    // write one JSON object per (system, mode, category, k) here
  std::string dir = "/tmp/loci-bench";  // the database is <dir>/locomo (replaced)
  bool keep = false;                    // keep the database afterwards
  size_t conversations = 0;             // load and ask the first N conversations (0: all)
};

// loci-bench filtered: `cubes` synthetic memories (filtered_data.h) with `dim`-d vectors over
// `spaces` spaces, loaded into Loci; one thread runs `queries` searches confined to a space, a
// valid-time window and a topic, k = 10, expanded one hop over the trace graph, beside the same
// query answered by hnswlib (filter callback) and SQLite (adjacency table); results checked
// against an exact answer; Trace and Events latency (filtered_scenario.cc).
struct FilteredConfig {
  uint32_t cubes = 1000000;
  uint32_t dim = 768;
  uint32_t spaces = 1000;
  uint32_t queries = 1000;
  // Queries the exhaustive hnswlib point is measured and checked on (it visits the whole graph).
  uint32_t check = 100;
  // Queries hnswlib's other passes are measured on, the first ones of the same list (0: all):
  // its filtered search takes a large part of a second at 1M cubes.
  uint32_t peer_queries = 0;
  std::string json;                     // one JSON object per row here (empty: none)
  std::string dir = "/tmp/loci-bench";  // the database is <dir>/filtered (replaced)
  bool keep = false;                    // keep the database afterwards
  uint64_t seed = 42;
  int build_threads = 2;                // hnswlib inserting threads
  uint32_t ef_construction = 100;       // hnswlib
  std::vector<uint32_t> ef = {10, 64};  // hnswlib search points (besides the exhaustive one)
  // Skip hnswlib (its build dominates the run at 1M) and the peer that reads its vectors.
  bool skip_hnswlib = false;
};

Status RunWriteScenario(const WriteConfig& config, const TimerOverhead& timer, Reporter* reporter);
Status RunReadScenario(const ReadConfig& config, const TimerOverhead& timer, Reporter* reporter);
// Prints the latency, check and target tables; errors from loading or searching end the run.
Status RunFilteredScenario(const FilteredConfig& config);
// Prints the recall and latency tables; errors from loading or searching end the run.
Status RunLocomoScenario(const LocomoConfig& config);

// loci-bench churn: `cubes` records of `payload_bytes`, each updated `updates` times, one
// non-durable writer per system: directory size against live data, write amplification and
// update throughput (churn_scenario.cc).
struct ChurnConfig {
  std::string dir = "/tmp/loci-bench";  // the databases are <dir>/churn-<system> (replaced)
  std::vector<std::string> systems = {"loci", "sqlite", "sqlite-autovacuum"};
  SystemConfig system{.loci_keep_versions = 1};  // the retention: 1 version
  uint64_t cubes = 10000;
  int updates = 100;
  size_t payload_bytes = 1024;
  std::string json;  // one JSON object per system here
  bool keep = false;
};
Status RunChurnScenario(const ChurnConfig& config);

// loci-bench memory: the resident memory per cube of a reopened database of `cubes` cubes with
// `versions` versions each (memory_scenario.cc).
struct MemoryConfig {
  std::string dir = "/tmp/loci-bench";  // the database is <dir>/memory (replaced)
  uint64_t cubes = 100000;
  int versions = 1;
  uint32_t keep_versions = 0;  // Options::retention.keep_versions (0: keep every version)
  uint32_t dim = 768;
  size_t payload_bytes = 1024;
  uint64_t seed = 42;
  std::string json;  // appends one JSON object here
  bool keep = false;
};
Status RunMemoryScenario(const MemoryConfig& config);
// Prints one line per kill and a summary; returns Corruption describing the first violation.
Status RunCrashloop(const CrashloopConfig& config);

// The systems of `names` that are available, with a notice on stdout for each one skipped.
std::vector<std::unique_ptr<BenchSystem>> MakeSystems(const std::vector<std::string>& names,
                                                      const SystemConfig& config);

// A line describing the clock and its overhead, for the scenario headers.
std::string DescribeTimer(const TimerOverhead& timer);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_SCENARIOS_H_
