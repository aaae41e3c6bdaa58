// loci-bench: measures Loci against RocksDB and SQLite on the same records.
//
//   loci-bench write [--dir D] [--threads 1,4,16] [--ops N | --seconds S] [--json FILE]
//                    [--systems loci,rocksdb,sqlite]
//   loci-bench read  [--cubes 1000000] [--threads 1,16] [--json FILE] ...
//   loci-bench crashloop [--kills 50] [--min-ms 20 --max-ms 400] [--threads 4] [--seed S]
//                        [--json FILE] DIR
//   loci-bench vector --base F --queries F --truth F --metric l2|cosine|ip [--json FILE]
//                     [--plot FILE.png] [--queries-limit N] [--k 10] [--systems loci,hnswlib,...]
//   loci-bench filtered [--cubes 1000000] [--dim 768] [--spaces 1000] [--queries Q] [--json FILE]
//                       [--dir D] [--keep] [--seed S]
//   loci-bench locomo [--data FILE] [--dim 384] [--json FILE] [--dir D] [--keep]
//                     [--conversations N]
//
// Prints a table on stdout (each scenario first explains what its rows measure), optionally
// one JSON object per row in --json FILE, and at the end the ratios of Loci to each peer.
// Peers that were not found when the tool was configured are skipped with a notice.
// crashloop is a crash harness rather than a measurement: it SIGKILLs a Loci writer again and
// again, checks every acknowledged write after each recovery, and exits 1 on the first violation.
// vector compares Loci's vector search with hnswlib and FAISS on a data set with ground truth
// (recall@k against QPS, one thread), and times the INT8 kernels. locomo measures evidence
// recall@5/10/20 on LoCoMo's questions for plain search, trace and episode expansion, and
// SQLite FTS5. filtered times search confined to a space, a valid-time window and an
// attribute, expanded over the trace graph, against hnswlib (filter callback) + SQLite, and
// Trace and Events latency.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "tools/bench/scenarios.h"
#include "tools/bench/vector_scenario.h"

namespace loci::bench {

std::vector<std::unique_ptr<BenchSystem>> MakeSystems(const std::vector<std::string>& names,
                                                      const SystemConfig& config) {
  std::vector<std::unique_ptr<BenchSystem>> systems;
  for (const std::string& name : names) {
    std::string why_not;
    std::unique_ptr<BenchSystem> system = MakeSystem(name, config, &why_not);
    if (system == nullptr) {
      std::printf("# %s: skipped: %s\n", name.c_str(), why_not.c_str());
      continue;
    }
    systems.push_back(std::move(system));
  }
  return systems;
}

std::string DescribeTimer(const TimerOverhead& timer) {
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "timer: clock_gettime(CLOCK_MONOTONIC), clocksource %s, one reading costs "
                "%.1f ns (mean of the quietest of 10 rounds; p50 %.0f ns, p99 %.0f ns between "
                "back-to-back readings)",
                timer.clocksource.c_str(), timer.mean_ns, timer.p50_ns, timer.p99_ns);
  return buf;
}

namespace {

// Options every subcommand takes, bound to `config`.
void AddCommonOptions(CLI::App* cmd, CommonConfig* config, std::string* json) {
  cmd->add_option("--dir", config->dir, "parent directory of the benchmark databases")
      ->capture_default_str();
  cmd->add_option("--threads", config->threads, "thread counts, comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--systems", config->systems, "systems to run: loci,rocksdb,sqlite")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_option("--json", *json, "write one JSON object per row to this file");
  cmd->add_option("--seed", config->seed, "seed of the generated records")->capture_default_str();
  cmd->add_option("--payload-bytes", config->system.payload_bytes, "payload bytes per record")
      ->capture_default_str();
  cmd->add_option("--dim", config->system.dim, "vector dimension per record (0: no vector)")
      ->capture_default_str();
  cmd->add_option("--rocksdb-cache-mb", config->system.rocksdb_block_cache_mb,
                  "RocksDB block cache size")
      ->capture_default_str();
  cmd->add_option("--sqlite-mmap-mb", config->system.sqlite_mmap_mb,
                  "SQLite PRAGMA mmap_size (0: off, SQLite's default)")
      ->capture_default_str();
  cmd->add_flag("--keep", config->keep, "keep the databases after measuring");
}

bool ValidThreads(const std::vector<int>& threads) {
  if (threads.empty()) return false;
  for (int t : threads) {
    if (t < 1 || t > 1024) return false;
  }
  return true;
}

// 0, or 1 after printing the scenario's error.
int ExitCode(const char* scenario, const loci::Status& s) {
  if (s.ok()) return 0;
  std::fprintf(stderr, "loci-bench %s: %s\n", scenario, s.ToString().c_str());
  return 1;
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"loci-bench: Loci against RocksDB, SQLite, hnswlib and FAISS, and on LoCoMo"};
  app.require_subcommand(1);

  WriteConfig write;
  write.threads = {1, 4, 16};
  std::string write_json;
  CLI::App* write_cmd = app.add_subcommand(
      "write", "durable and non-durable puts/s and put latency at several writer thread counts");
  AddCommonOptions(write_cmd, &write, &write_json);
  write_cmd->add_option("--ops", write.ops, "puts per durable measurement (all threads)")
      ->capture_default_str();
  write_cmd->add_option("--nosync-ops", write.nosync_ops, "puts per non-durable measurement")
      ->capture_default_str();
  write_cmd->add_option("--seconds", write.seconds,
                        "run each measurement this long instead of a fixed number of puts");
  write_cmd->add_option("--pool", write.pool, "distinct pregenerated records")
      ->capture_default_str();
  write_cmd->add_option("--repeat", write.repeat, "runs per row, reporting the median by ops/s")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  write_cmd->add_option("--variants", write.variants, "durable,nosync")
      ->delimiter(',')
      ->capture_default_str();

  ReadConfig read;
  read.threads = {1, 16};
  std::string read_json;
  CLI::App* read_cmd =
      app.add_subcommand("read", "Get latency (p50/p99) and throughput with a concurrent updater");
  AddCommonOptions(read_cmd, &read, &read_json);
  read_cmd->add_option("--cubes", read.cubes, "records loaded before reading")
      ->capture_default_str();
  read_cmd->add_option("--seconds", read.seconds, "measured seconds per row")
      ->capture_default_str();
  read_cmd->add_option("--warmup", read.warmup, "unmeasured seconds before each row")
      ->capture_default_str();
  read_cmd->add_option("--load-batch", read.load_batch, "records per load batch")
      ->capture_default_str();
  read_cmd
      ->add_option("--writer-rate", read.writer_rate,
                   "cap the updater at this many updates/s (0: as fast as it can), to give "
                   "every system the same write load")
      ->capture_default_str();
  bool no_writer = false;
  read_cmd->add_flag("--no-writer", no_writer, "measure reads without the concurrent updater");

  CrashloopConfig crash;
  CLI::App* crash_cmd = app.add_subcommand(
      "crashloop",
      "SIGKILL a sync writer process again and again on DIR; after each kill reopen and verify "
      "every acknowledged write (Loci only)");
  crash_cmd->add_option("DIR", crash.dir, "database directory (reused across kills)")->required();
  crash_cmd->add_option("--kills", crash.kills, "rounds of fork, write, SIGKILL, verify")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  crash_cmd
      ->add_option("--min-ms", crash.min_ms, "shortest delay from the child's Open to the kill")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  crash_cmd->add_option("--max-ms", crash.max_ms, "longest delay from the child's Open to the kill")
      ->check(CLI::Range(0, 3600000))
      ->capture_default_str();
  crash_cmd->add_option("--threads", crash.threads, "writer threads in the child")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  CLI::Option* crash_seed = crash_cmd->add_option(
      "--seed", crash.seed, "seed of delays and operations (default: random)");
  crash_cmd->add_option("--json", crash.json, "write the summary as JSON to this file");

  VectorConfig vector;
  CLI::App* vector_cmd = app.add_subcommand(
      "vector",
      "vector search: recall@k, QPS (one thread, one query at a time), build rate and bytes "
      "per vector of Loci, hnswlib and FAISS over a parameter sweep; INT8 kernel timings");
  vector_cmd->add_option("--base", vector.base, "base vectors: .fvecs, .bvecs or IDX (.gz ok)")
      ->required();
  vector_cmd->add_option("--queries", vector.queries, "query vectors, same formats")->required();
  vector_cmd->add_option("--truth", vector.truth, "ground truth .ivecs (0-based base indices)")
      ->required();
  vector_cmd->add_option("--metric", vector.metric, "l2, cosine or ip")
      ->required()
      ->check(CLI::IsMember({"l2", "cosine", "ip"}));
  vector_cmd->add_option("--json", vector.json, "write one JSON object per point to this file");
  vector_cmd->add_option("--plot", vector.plot, "write recall/QPS curves to this PNG (gnuplot)");
  vector_cmd
      ->add_option("--queries-limit", vector.queries_limit, "use the first N queries (0: all)")
      ->capture_default_str();
  vector_cmd
      ->add_option("--systems", vector.systems,
                   "loci,hnswlib,faiss-ivf-flat,faiss-ivf-sq8,faiss-hnsw32")
      ->delimiter(',')
      ->capture_default_str();
  vector_cmd->add_option("--k", vector.k, "neighbours per query (recall@k)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  vector_cmd->add_option("--nlist", vector.nlist, "FAISS IVF lists (0: ~4*sqrt(n), power of two)")
      ->capture_default_str();
  vector_cmd
      ->add_option("--min-seconds", vector.min_seconds,
                   "repeat each point's query pass until this much search time (QPS: best pass)")
      ->capture_default_str();
  vector_cmd
      ->add_option("--rounds", vector.rounds,
                   "measure every point of every system in turn, this many times (the search "
                   "time of --min-seconds is split between the rounds)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  vector_cmd->add_option("--dir", vector.dir, "parent directory of the systems' working files")
      ->capture_default_str();
  vector_cmd->add_flag("--keep", vector.keep, "keep the working files");
  vector_cmd
      ->add_option("--loci-points", vector.loci_points,
                   "Loci's sweep instead of the default: P (probes) or P:R (probes:rerank) items")
      ->delimiter(',');
  bool no_kernels = false;
  vector_cmd->add_flag("--no-kernels", no_kernels, "skip the INT8 kernel micro-benchmark");

  ChurnConfig churn;
  CLI::App* churn_cmd = app.add_subcommand(
      "churn",
      "Records rewritten again and again: directory size / live data, write amplification and "
      "update throughput, Loci beside SQLite (auto_vacuum off and FULL)");
  churn_cmd->add_option("--cubes", churn.cubes, "records")->capture_default_str();
  churn_cmd->add_option("--updates", churn.updates, "updates of each record")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  churn_cmd->add_option("--payload", churn.payload_bytes, "payload bytes of a record")
      ->check(CLI::Range(1, 1 << 24))
      ->capture_default_str();
  churn_cmd->add_option("--systems", churn.systems, "systems to run")
      ->delimiter(',')
      ->capture_default_str();
  churn_cmd->add_option("--json", churn.json, "write one JSON object per system to this file");
  churn_cmd->add_option("--dir", churn.dir, "parent directory of the databases")
      ->capture_default_str();
  churn_cmd->add_flag("--keep", churn.keep, "keep the databases afterwards");
  churn_cmd
      ->add_option("--keep-versions", churn.system.loci_keep_versions,
                   "Loci's retention: the newest versions of each record kept (0: all)")
      ->capture_default_str();
  churn_cmd
      ->add_option("--checkpoint-wal-bytes", churn.system.loci_checkpoint_wal_bytes,
                   "Loci's Options::checkpoint_wal_bytes (0: its default)")
      ->capture_default_str();

  MemoryConfig memory;
  CLI::App* memory_cmd = app.add_subcommand(
      "memory", "Resident memory per cube of a reopened database (RssAnon, RssFile, index)");
  memory_cmd->add_option("--cubes", memory.cubes, "cubes")->capture_default_str();
  memory_cmd->add_option("--versions", memory.versions, "versions of each cube")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  memory_cmd->add_option("--dim", memory.dim, "dimension of the vector field")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  memory_cmd->add_option("--payload", memory.payload_bytes, "payload bytes")
      ->check(CLI::Range(16, 1 << 24))
      ->capture_default_str();
  memory_cmd
      ->add_option("--keep-versions", memory.keep_versions,
                   "retention: the newest versions of each cube kept (0: all)")
      ->capture_default_str();
  memory_cmd->add_option("--json", memory.json, "append one JSON object to this file");
  memory_cmd->add_option("--dir", memory.dir, "parent directory of the database")
      ->capture_default_str();
  memory_cmd->add_flag("--keep", memory.keep, "keep the database afterwards");

  LocomoConfig locomo;
  CLI::App* locomo_cmd = app.add_subcommand(
      "locomo",
      "LoCoMo evidence recall@5/10/20 per question category: plain search, trace expansion and "
      "episode expansion of lexical embeddings in Loci, beside SQLite FTS5 BM25");
  locomo_cmd->add_option("--data", locomo.data,
                         "locomo10.json (default: $LOCI_DATA/locomo/locomo10.json, else "
                         "../shared/data or /work/shared/data)");
  locomo_cmd->add_option("--dim", locomo.dim, "dimension of the lexical embeddings")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  locomo_cmd->add_option("--json", locomo.json,
                         "write one JSON object per (system, mode, category, k) to this file");
  locomo_cmd->add_option("--dir", locomo.dir, "parent directory of the database (<dir>/locomo)")
      ->capture_default_str();
  locomo_cmd->add_flag("--keep", locomo.keep, "keep the database afterwards");
  locomo_cmd
      ->add_option("--conversations", locomo.conversations,
                   "load and ask only the first N conversations (0: all)")
      ->capture_default_str();

  FilteredConfig filtered;
  CLI::App* filtered_cmd = app.add_subcommand(
      "filtered",
      "search with a space, a valid-time window and an attribute filter plus 1-hop trace "
      "expansion (p50/p99, one thread) beside hnswlib (filter callback) + SQLite (adjacency), "
      "answers checked against exact ones; Trace and Events latency");
  filtered_cmd->add_option("--cubes", filtered.cubes, "cubes loaded")
      ->check(CLI::Range(1u, 100000000u))
      ->capture_default_str();
  filtered_cmd->add_option("--dim", filtered.dim, "vector dimension")
      ->check(CLI::Range(1u, 65536u))
      ->capture_default_str();
  filtered_cmd->add_option("--spaces", filtered.spaces, "spaces the cubes are spread over")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  filtered_cmd->add_option("--queries", filtered.queries, "searches timed per system and setting")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  filtered_cmd
      ->add_option("--check", filtered.check,
                   "queries of the exhaustive hnswlib point (it visits the whole graph)")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  filtered_cmd
      ->add_option("--peer-queries", filtered.peer_queries,
                   "queries of the other hnswlib points, the first of the list (0: all)")
      ->check(CLI::Range(0u, 10000000u))
      ->capture_default_str();
  filtered_cmd->add_option("--ef", filtered.ef, "hnswlib ef points besides the exhaustive one")
      ->delimiter(',')
      ->capture_default_str();
  filtered_cmd->add_option("--ef-construction", filtered.ef_construction, "hnswlib")
      ->capture_default_str();
  filtered_cmd->add_option("--build-threads", filtered.build_threads, "hnswlib inserting threads")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  filtered_cmd->add_option("--json", filtered.json, "write one JSON object per row to this file");
  filtered_cmd
      ->add_option("--dir", filtered.dir, "parent directory of the database (<dir>/filtered)")
      ->capture_default_str();
  filtered_cmd->add_flag("--keep", filtered.keep, "keep the database afterwards");
  filtered_cmd->add_flag("--skip-hnswlib", filtered.skip_hnswlib,
                         "skip hnswlib+sqlite and sqlite+exact (no hnswlib build)");
  filtered_cmd->add_option("--seed", filtered.seed, "seed of the corpus and queries")
      ->capture_default_str();

  CLI11_PARSE(app, argc, argv);

  if (filtered_cmd->parsed()) {
    return ExitCode("filtered", RunFilteredScenario(filtered));
  }

  if (memory_cmd->parsed()) {
    return ExitCode("memory", RunMemoryScenario(memory));
  }

  if (churn_cmd->parsed()) {
    return ExitCode("churn", RunChurnScenario(churn));
  }

  if (locomo_cmd->parsed()) {
    return ExitCode("locomo", RunLocomoScenario(locomo));
  }

  if (vector_cmd->parsed()) {
    vector.kernels = !no_kernels;
    Status s = RunVectorScenario(vector);
    if (!s.ok()) {
      std::fprintf(stderr, "loci-bench vector: %s\n", s.ToString().c_str());
      return 1;
    }
    return 0;
  }

  if (crash_cmd->parsed()) {
    if (crash.max_ms < crash.min_ms) {
      std::fprintf(stderr, "--max-ms must not be less than --min-ms\n");
      return 2;
    }
    if (crash_seed->count() == 0) crash.seed = std::random_device{}();
    Status s = RunCrashloop(crash);
    if (!s.ok()) {
      std::fprintf(stderr, "loci-bench crashloop: %s\n", s.message().c_str());
      return 1;
    }
    return 0;
  }

  CommonConfig* common = write_cmd->parsed() ? static_cast<CommonConfig*>(&write) : &read;
  const std::string& json = write_cmd->parsed() ? write_json : read_json;
  if (!ValidThreads(common->threads)) {
    std::fprintf(stderr, "--threads: give thread counts between 1 and 1024\n");
    return 2;
  }
  if (common->system.payload_bytes == 0) {
    std::fprintf(stderr, "--payload-bytes must be positive\n");
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(common->dir, ec);
  if (ec) {
    std::fprintf(stderr, "%s: %s\n", common->dir.c_str(), ec.message().c_str());
    return 1;
  }

  Reporter reporter;
  Status s = reporter.Open(json);
  if (!s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  const TimerOverhead timer = MeasureTimerOverhead();
  if (write_cmd->parsed()) {
    if (write.seconds <= 0 && (write.ops == 0 || write.nosync_ops == 0)) {
      std::fprintf(stderr, "--ops and --nosync-ops must be positive\n");
      return 2;
    }
    s = RunWriteScenario(write, timer, &reporter);
  } else {
    read.writer = !no_writer;
    s = RunReadScenario(read, timer, &reporter);
  }
  reporter.Summary();
  if (!s.ok()) {
    std::fprintf(stderr, "loci-bench: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace loci::bench

int main(int argc, char** argv) { return loci::bench::Main(argc, argv); }
