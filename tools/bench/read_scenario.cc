// The `read` scenario: load N records (non-durable, in batches), settle them on disk, then
// measure Get of uniformly random keys from 1, 16... reader threads while one writer thread
// keeps replacing the payload of random records (non-durable). Every Get is timed and its
// answer's sizes checked.

#include <atomic>
#include <chrono>
#include <cstring>
#include <latch>
#include <thread>

#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

constexpr size_t kUpdatePayloads = 1024;  // distinct payloads the writer cycles through

const char* VariantName(ReadMode mode) { return mode == ReadMode::kFull ? "full" : "payload-only"; }

double Seconds(uint64_t from_ns, uint64_t to_ns) {
  return static_cast<double>(to_ns - from_ns) / 1e9;
}

// Loads records 0 .. config.cubes-1 through one session, printing progress to stderr.
Status Load(BenchSystem* system, const ReadConfig& config, const RecordSource& source) {
  std::unique_ptr<BenchSession> session;
  LOCI_RETURN_IF_ERROR(system->NewSession(&session));
  std::vector<std::string> payloads;
  std::vector<std::vector<float>> vectors;
  const uint64_t step = std::max<uint64_t>(config.cubes / 10, 1);
  uint64_t next_report = step;
  const uint64_t start = NowNanos();
  for (uint64_t first = 0; first < config.cubes; first += config.load_batch) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(config.load_batch, config.cubes - first));
    payloads.resize(n);
    vectors.resize(n);
    for (size_t i = 0; i < n; ++i) {
      source.FillPayload(first + i, &payloads[i]);
      source.FillVector(first + i, &vectors[i]);
    }
    LOCI_RETURN_IF_ERROR(session->LoadBatch(first, payloads, vectors)
                             .WithContext("load of keys from " + std::to_string(first)));
    if (first + n >= next_report) {
      std::fprintf(stderr, "  %s: loaded %llu / %llu (%.1f s)\n", system->name(),
                   static_cast<unsigned long long>(first + n),
                   static_cast<unsigned long long>(config.cubes), Seconds(start, NowNanos()));
      next_report += step;
    }
  }
  return Status::OK();
}

struct ReaderResult {
  Histogram histogram;
  uint64_t errors = 0;
  Status first_error;
};

// One row: `readers` reader threads in `mode` plus the writer, warm-up then measurement.
Status MeasureReads(BenchSystem* system, const ReadConfig& config, const RecordSource& source,
                    const std::vector<std::string>& update_payloads, ReadMode mode, int readers,
                    ResultRow* row) {
  Quiesce();
  std::vector<std::unique_ptr<BenchSession>> sessions(readers);
  for (auto& s : sessions) LOCI_RETURN_IF_ERROR(system->NewSession(&s));
  std::unique_ptr<BenchSession> writer_session;
  if (config.writer) LOCI_RETURN_IF_ERROR(system->NewSession(&writer_session));

  enum Phase : int { kWarmup = 0, kMeasure = 1, kStop = 2 };
  std::atomic<int> phase{kWarmup};
  std::vector<ReaderResult> results(readers);
  std::latch start(readers + (config.writer ? 1 : 0) + 1);
  const size_t want_payload = config.system.payload_bytes;
  const size_t want_vector = mode == ReadMode::kFull ? size_t{config.system.dim} * 4 : 0;

  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t) {
    threads.emplace_back([&, t] {
      BenchSession* session = sessions[t].get();
      ReaderResult& out = results[t];
      // The same key sequence for every system.
      Rng rng(config.seed * 0x9e3779b97f4a7c15ull + 1000 + t);
      GetResult got;
      start.arrive_and_wait();
      for (;;) {
        const int ph = phase.load(std::memory_order_relaxed);
        if (ph == kStop) break;
        const uint64_t key = rng.Uniform(config.cubes);
        const uint64_t t0 = NowNanos();
        Status s = session->Get(key, mode, &got);
        const uint64_t t1 = NowNanos();
        if (ph != kMeasure) continue;
        out.histogram.Record(t1 - t0);
        if (!s.ok() || got.payload_bytes != want_payload || got.vector_bytes != want_vector) {
          if (out.errors++ == 0) {
            out.first_error =
                s.ok() ? Status::Corruption("key " + std::to_string(key) + ": read " +
                                            std::to_string(got.payload_bytes) + "+" +
                                            std::to_string(got.vector_bytes) + " bytes, want " +
                                            std::to_string(want_payload) + "+" +
                                            std::to_string(want_vector))
                       : s.WithContext("get of key " + std::to_string(key));
          }
        }
      }
    });
  }

  uint64_t writer_ops = 0;
  uint64_t writer_errors = 0;
  Status writer_error;
  if (config.writer) {
    threads.emplace_back([&] {
      Rng rng(config.seed * 0xbf58476d1ce4e5b9ull + 7);
      std::vector<float> vec;
      std::string update_payload;
      const bool needs_vector = system->UpdateRewritesVector();
      start.arrive_and_wait();
      // With a rate limit, update n is due at paced_start + n * interval; a late writer does not
      // catch up in a burst (the schedule restarts from now).
      const uint64_t interval =
          config.writer_rate > 0 ? static_cast<uint64_t>(1e9 / config.writer_rate) : 0;
      uint64_t due = NowNanos();
      for (uint64_t n = 0;; ++n) {
        const int ph = phase.load(std::memory_order_relaxed);
        if (ph == kStop) break;
        if (interval > 0) {
          const uint64_t now = NowNanos();
          if (due > now) {
            std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
          } else if (now - due > 10 * interval) {
            due = now;
          }
          due += interval;
        }
        const uint64_t key = rng.Uniform(config.cubes);
        if (needs_vector) source.FillVector(key, &vec);
        // Stamped with a number no update of this process had before: every update changes its
        // cube, in every row (Loci refuses an update that changes nothing).
        static std::atomic<uint64_t> next_stamp{0};
        const uint64_t stamp = next_stamp.fetch_add(1, std::memory_order_relaxed);
        update_payload = update_payloads[n % update_payloads.size()];
        std::memcpy(update_payload.data(), &stamp, std::min(sizeof(stamp), update_payload.size()));
        Status s = writer_session->UpdatePayload(key, update_payload, vec);
        if (!s.ok()) {
          ++writer_errors;
          if (writer_error.ok())
            writer_error = s.WithContext("update of key " + std::to_string(key));
          if (s.IsBusy()) continue;  // SQLite: the busy timeout expired; keep going
          break;
        }
        if (ph == kMeasure) ++writer_ops;
      }
    });
  }

  start.arrive_and_wait();
  std::this_thread::sleep_for(std::chrono::duration<double>(config.warmup));
  const uint64_t begin = NowNanos();
  phase.store(kMeasure);
  std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
  phase.store(kStop);
  const uint64_t end = NowNanos();
  for (std::thread& th : threads) th.join();

  Histogram all;
  Status first_error;
  for (ReaderResult& r : results) {
    all.Merge(r.histogram);
    row->errors += r.errors;
    if (first_error.ok() && !r.first_error.ok()) first_error = r.first_error;
  }
  const double window = Seconds(begin, end);
  FillLatency(all, all.count(), window, row);
  if (config.writer) {
    const double writer_rate = static_cast<double>(writer_ops) / window;
    row->extra.emplace_back("writer_ops_per_s", writer_rate);
    char buf[64];
    std::snprintf(buf, sizeof(buf), "writer %.0f updates/s", writer_rate);
    row->notes = buf;
    if (writer_errors > 0) {
      row->notes += "; writer " + std::to_string(writer_errors) +
                    " errors (first: " + writer_error.ToString() + ")";
    }
  }
  if (!first_error.ok()) row->notes += "; first error: " + first_error.ToString();
  return Status::OK();
}

}  // namespace

Status RunReadScenario(const ReadConfig& config, const TimerOverhead& timer, Reporter* reporter) {
  if (config.cubes == 0) return Status::InvalidArgument("--cubes must be positive");
  std::vector<std::unique_ptr<BenchSystem>> systems = MakeSystems(config.systems, config.system);
  if (systems.empty()) return Status::InvalidArgument("no system to benchmark");

  const RecordSource source(config.seed, config.system.payload_bytes, config.system.dim);
  std::vector<std::string> update_payloads(kUpdatePayloads);
  for (size_t i = 0; i < kUpdatePayloads; ++i) source.FillUpdatePayload(i, &update_payloads[i]);

  const double record_bytes = config.system.payload_bytes + config.system.dim * 4.0;
  std::vector<std::string> explain = {
      "scenario read: " + std::to_string(config.cubes) + " records, each " +
          std::to_string(config.system.payload_bytes) + " B random payload + one " +
          std::to_string(config.system.dim) + "-d float32 vector (" +
          std::to_string(config.system.dim * 4) +
          " B) = " + FormatBytes(record_bytes * static_cast<double>(config.cubes)) +
          " raw per system (seed " + std::to_string(config.seed) + ", same bytes for every system)",
      "  load: non-durable, " + std::to_string(config.load_batch) +
          " records per batch/transaction, one thread; then settle (loci Checkpoint, rocksdb "
          "Flush+CompactRange, sqlite wal_checkpoint(TRUNCATE)); not a benchmark row",
      "  rows: R reader threads Get uniformly random keys for " + FormatNumber(config.seconds) +
          " s after " + FormatNumber(config.warmup) + " s warm-up" +
          (!config.writer ? ", no writer"
                          : ", while 1 writer thread replaces the payload of random records "
                            "(non-durable) " +
                                (config.writer_rate > 0
                                     ? "at most " + FormatNumber(config.writer_rate) + " times/s"
                                     : std::string("as fast as it can"))),
      "  sync(2) before each row; ops/s = Gets completed in the window, all readers; p50/p99 = "
      "latency of one Get call "
      "(answer copied out, its sizes checked)",
      "  full = payload + vector; payload-only = payload alone (loci ReadOptions::fill_vectors="
      "false, sqlite SELECT payload; rocksdb stores one value and has no such row)",
      "  writer: loci Update(new payload) sync=false; rocksdb Put(whole 4 KiB value) sync=false; "
      "sqlite UPDATE payload, synchronous=NORMAL",
      "  " + DescribeTimer(timer) + "; latencies are raw, nothing subtracted",
      "  machine: " + std::to_string(std::thread::hardware_concurrency()) +
          " hardware threads (readers + writer oversubscribe them beyond that)",
  };
  for (const auto& s : systems) explain.push_back("  " + s->Describe());
  reporter->Explain(explain);

  bool header_printed = false;
  for (const auto& system : systems) {
    const std::string dir = config.dir + "/read-" + system->name();
    LOCI_RETURN_IF_ERROR(RemoveDirectory(dir));
    LOCI_RETURN_IF_ERROR(system->Open(dir, /*durable=*/false));
    const uint64_t load_start = NowNanos();
    Status s = Load(system.get(), config, source);
    const uint64_t settle_start = NowNanos();
    if (s.ok()) s = system->Settle();
    const uint64_t settle_end = NowNanos();
    if (!s.ok()) {
      std::printf("# %s: load FAILED: %s\n", system->name(), s.ToString().c_str());
      system->Close().PermitUncheckedError();
      if (!config.keep) RemoveDirectory(dir).PermitUncheckedError();
      continue;
    }
    const double load_s = Seconds(load_start, settle_start);
    std::printf("# %s: loaded %llu records in %.1f s (%.0f/s), settled in %.1f s, %s on disk\n",
                system->name(), static_cast<unsigned long long>(config.cubes), load_s,
                static_cast<double>(config.cubes) / load_s, Seconds(settle_start, settle_end),
                FormatBytes(static_cast<double>(system->DiskBytes())).c_str());
    if (!header_printed) {
      reporter->PrintTableHeader();
      header_printed = true;
    }
    for (ReadMode mode : {ReadMode::kFull, ReadMode::kPayloadOnly}) {
      if (!system->Supports(mode)) continue;
      if (mode == ReadMode::kPayloadOnly && config.system.dim == 0) continue;
      for (int readers : config.threads) {
        ResultRow row;
        row.scenario = "read";
        row.system = system->name();
        row.variant = VariantName(mode);
        row.threads = readers;
        Status m = MeasureReads(system.get(), config, source, update_payloads, mode, readers, &row);
        row.extra.emplace_back("timer_overhead_ns", timer.mean_ns);
        row.extra.emplace_back("cubes", static_cast<double>(config.cubes));
        row.extra.emplace_back("load_s", load_s);
        row.extra.emplace_back("settle_s", Seconds(settle_start, settle_end));
        if (!m.ok()) {
          row.notes = "FAILED: " + m.ToString();
          if (row.errors == 0) row.errors = 1;
        }
        reporter->Add(std::move(row));
      }
    }
    Status closed = system->Close();
    if (!closed.ok()) std::printf("# %s: close: %s\n", system->name(), closed.ToString().c_str());
    if (!config.keep) RemoveDirectory(dir).PermitUncheckedError();
  }
  return Status::OK();
}

}  // namespace loci::bench
