// The `write` scenario: puts of a 1 KiB payload plus one 768-d vector from 1, 4, 16... writer
// threads, durable (acknowledged after fsync) and non-durable, into a fresh database per
// measurement. Reports puts/s over the wall time of the measurement and per-put latency.

#include <algorithm>
#include <atomic>
#include <latch>
#include <thread>

#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

struct WriteRun {
  bool durable = true;
  int threads = 1;
  uint64_t ops = 0;    // 0 when time-bounded
  double seconds = 0;  // 0 when count-bounded
};

// One measurement: opens a fresh database in `dir`, runs `run.threads` writers, closes it.
Status MeasureWrites(BenchSystem* system, const std::string& dir, const WriteRun& run,
                     const RecordPool& pool, bool keep, ResultRow* row) {
  LOCI_RETURN_IF_ERROR(RemoveDirectory(dir));
  Quiesce();
  LOCI_RETURN_IF_ERROR(system->Open(dir, run.durable));

  std::vector<std::unique_ptr<BenchSession>> sessions(run.threads);
  for (auto& session : sessions) {
    Status s = system->NewSession(&session);
    if (!s.ok()) {
      sessions.clear();
      system->Close().PermitUncheckedError();
      return s;
    }
  }

  std::atomic<uint64_t> next_key{0};
  std::atomic<bool> failed{false};
  std::vector<Histogram> histograms(run.threads);
  std::vector<uint64_t> end_ns(run.threads, 0);
  std::vector<Status> errors(run.threads);
  std::latch start(run.threads + 1);
  const bool timed = run.seconds > 0;
  uint64_t deadline = 0;

  std::vector<std::thread> threads;
  for (int t = 0; t < run.threads; ++t) {
    threads.emplace_back([&, t] {
      BenchSession* session = sessions[t].get();
      Histogram& h = histograms[t];
      start.arrive_and_wait();
      while (!failed.load(std::memory_order_relaxed)) {
        const uint64_t key = next_key.fetch_add(1, std::memory_order_relaxed);
        if (!timed && key >= run.ops) break;
        const uint64_t t0 = NowNanos();
        if (timed && t0 >= deadline) break;
        Status s = session->Put(key, pool.Payload(key), pool.Vector(key));
        const uint64_t t1 = NowNanos();
        if (!s.ok()) {
          errors[t] = s.WithContext("put of key " + std::to_string(key));
          failed.store(true);
          break;
        }
        h.Record(t1 - t0);
      }
      end_ns[t] = NowNanos();
    });
  }
  const uint64_t start_ns = NowNanos();
  deadline = start_ns + static_cast<uint64_t>(run.seconds * 1e9);
  start.arrive_and_wait();  // publishes `deadline` to the writers
  for (std::thread& th : threads) th.join();

  Histogram all;
  for (const Histogram& h : histograms) all.Merge(h);
  uint64_t last_end = start_ns;
  for (uint64_t e : end_ns) last_end = std::max(last_end, e);
  FillLatency(all, all.count(), static_cast<double>(last_end - start_ns) / 1e9, row);

  Status first_error;
  for (Status& e : errors) {
    if (!e.ok()) {
      ++row->errors;
      if (first_error.ok()) first_error = e;
    }
  }
  system->AnnotateRow(row);
  row->extra.emplace_back("disk_bytes", static_cast<double>(system->DiskBytes()));
  sessions.clear();
  Status closed = system->Close();
  if (!keep) RemoveDirectory(dir).PermitUncheckedError();
  LOCI_RETURN_IF_ERROR(first_error);
  return closed;
}

// The run with the median throughput, annotated with the spread of all of them.
ResultRow MedianRun(std::vector<ResultRow> runs) {
  if (runs.size() == 1) return std::move(runs[0]);
  std::sort(runs.begin(), runs.end(),
            [](const ResultRow& a, const ResultRow& b) { return a.ops_per_s < b.ops_per_s; });
  const double lowest = runs.front().ops_per_s;
  const double highest = runs.back().ops_per_s;
  ResultRow row = std::move(runs[runs.size() / 2]);
  row.extra.emplace_back("repeat", static_cast<double>(runs.size()));
  row.extra.emplace_back("ops_per_s_min", lowest);
  row.extra.emplace_back("ops_per_s_max", highest);
  char buf[128];
  std::snprintf(buf, sizeof(buf), "median of %zu runs (ops/s %.0f..%.0f)", runs.size(), lowest,
                highest);
  row.notes = row.notes.empty() ? buf : std::string(buf) + "; " + row.notes;
  return row;
}

}  // namespace

Status RunWriteScenario(const WriteConfig& config, const TimerOverhead& timer, Reporter* reporter) {
  std::vector<std::unique_ptr<BenchSystem>> systems = MakeSystems(config.systems, config.system);
  if (systems.empty()) return Status::InvalidArgument("no system to benchmark");

  const RecordSource source(config.seed, config.system.payload_bytes, config.system.dim);
  const size_t pool_size =
      config.seconds > 0 ? config.pool
                         : std::min<size_t>(config.pool, std::max(config.ops, config.nosync_ops));
  const uint64_t gen_start = NowNanos();
  const RecordPool pool(source, pool_size);
  const double gen_s = static_cast<double>(NowNanos() - gen_start) / 1e9;

  std::vector<std::string> explain = {
      "scenario write: each op is one put of a new record = " +
          std::to_string(config.system.payload_bytes) + " B random payload + one " +
          std::to_string(config.system.dim) + "-d float32 vector (" +
          std::to_string(config.system.dim * 4) + " B, uniform in [-1,1) then unit-normalised)",
      "  key k stores record k mod " + std::to_string(pool_size) +
          " of a pool generated from seed " + std::to_string(config.seed) + " (" +
          FormatNumber(gen_s) + " s, outside every timing): the same bytes for every system",
      "  rows: ops/s = completed puts / wall time from start to the last writer's end; "
      "p50/p99/p99.9/max = latency of one put call",
      "  durable = acknowledged after fsync; nosync = survives a process crash, not a power loss",
      "  each (system, variant, threads) uses a fresh database under " + config.dir +
          "; sync(2) before each measurement so none pays for the previous one's write-back",
      config.seconds > 0
          ? "  each measurement runs " + FormatNumber(config.seconds) + " s"
          : "  each measurement: " + std::to_string(config.ops) + " durable puts / " +
                std::to_string(config.nosync_ops) + " nosync puts, all threads together",
      "  " + DescribeTimer(timer) + "; latencies are raw, nothing subtracted",
      "  machine: " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads",
      config.repeat > 1
          ? "  each row is the median (by ops/s) of " + std::to_string(config.repeat) +
                " runs, systems interleaved; its latencies are that run's"
          : "  each row is one run (--repeat N for the median of N)",
  };
  for (const auto& s : systems) explain.push_back("  " + s->Describe());
  reporter->Explain(explain);
  reporter->PrintTableHeader();

  for (const std::string& variant : config.variants) {
    const bool durable = variant == "durable";
    if (!durable && variant != "nosync") {
      return Status::InvalidArgument("unknown write variant '" + variant + "' (durable, nosync)");
    }
    for (int threads : config.threads) {
      // runs[i]: the repetitions of systems[i], interleaved so that a slow spell of the
      // machine does not fall on one system only.
      std::vector<std::vector<ResultRow>> runs(systems.size());
      for (int rep = 0; rep < config.repeat; ++rep) {
        for (size_t i = 0; i < systems.size(); ++i) {
          BenchSystem* system = systems[i].get();
          WriteRun run;
          run.durable = durable;
          run.threads = threads;
          run.seconds = config.seconds;
          run.ops = config.seconds > 0 ? 0 : (durable ? config.ops : config.nosync_ops);
          ResultRow row;
          row.scenario = "write";
          row.system = system->name();
          row.variant = variant;
          row.threads = threads;
          const std::string dir =
              config.dir + "/write-" + row.system + "-" + variant + "-t" + std::to_string(threads);
          Status s = MeasureWrites(system, dir, run, pool, config.keep, &row);
          row.extra.emplace_back("timer_overhead_ns", timer.mean_ns);
          if (!s.ok()) {
            std::printf("# %s %s t=%d FAILED: %s\n", row.system.c_str(), variant.c_str(), threads,
                        s.ToString().c_str());
            row.notes = "FAILED: " + s.ToString() + (row.notes.empty() ? "" : "; " + row.notes);
            if (row.errors == 0) row.errors = 1;
          }
          if (config.repeat > 1) {
            std::printf("#   run %d/%d %-8s %10.0f ops/s  p50 %.2f us  p99 %.2f us\n", rep + 1,
                        config.repeat, row.system.c_str(), row.ops_per_s, row.p50_us, row.p99_us);
          }
          runs[i].push_back(std::move(row));
        }
      }
      for (std::vector<ResultRow>& r : runs) reporter->Add(MedianRun(std::move(r)));
    }
  }
  return Status::OK();
}

}  // namespace loci::bench
