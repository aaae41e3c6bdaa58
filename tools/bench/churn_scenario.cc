// The `churn` scenario: `cubes` records of `payload` bytes, each updated `updates` times (round
// after round, every record once a round), one writer, non-durable writes (Loci sync=false;
// SQLite synchronous=NORMAL in WAL mode: both survive a process crash, not a power loss), each
// system with its default checkpointing. It measures what a store of memories that are
// rewritten costs on disk: after every round the directory's allocated bytes (st_blocks, so that
// sparse and hole-punched files count what they occupy) against the live data (records x
// payload), the write amplification (bytes the process wrote to storage, /proc/self/io
// write_bytes, over the payload bytes written) and the update throughput.
//
// The setting is retention = 1 version (issue 15, Options::retention.keep_versions,
// --keep-versions): Loci's checkpoints prune the older versions, whose blobs become dead bytes
// in the arena until it is compacted; SQLite updates in place (auto_vacuum off, and FULL: freed
// pages returned to the file system).

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

// Bytes this process has caused to be written to storage so far (/proc/self/io write_bytes).
uint64_t WrittenBytes() {
  std::ifstream io("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (io >> key >> value) {
    if (key == "write_bytes:") return value;
  }
  return 0;
}

// The payload of `key` in round `round`: distinct every round, so no store can skip a write.
void FillPayload(uint64_t key, int round, std::string* payload) {
  uint64_t x =
      (key + 1) * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(round) * 0xbf58476d1ce4e5b9ull;
  for (size_t i = 0; i < payload->size(); i += 8) {
    x ^= x >> 31;
    x *= 0x94d049bb133111ebull;
    const size_t n = std::min<size_t>(8, payload->size() - i);
    std::memcpy(payload->data() + i, &x, n);
  }
}

struct ChurnResult {
  std::string system;
  uint64_t live_bytes = 0;
  uint64_t disk_bytes = 0;      // after the last round
  uint64_t max_disk_bytes = 0;  // the largest after any round
  uint64_t apparent_bytes = 0;  // file sizes after the last round
  double ops_per_s = 0;
  double write_amp = 0;
  std::vector<uint64_t> disk_by_round;
  double ratio() const {
    return live_bytes == 0 ? 0 : static_cast<double>(disk_bytes) / live_bytes;
  }
};

Status Churn(BenchSystem* system, const ChurnConfig& config, ChurnResult* result) {
  const std::string dir = config.dir + "/churn-" + system->name();
  LOCI_RETURN_IF_ERROR(RemoveDirectory(dir));
  std::filesystem::create_directories(config.dir);
  LOCI_RETURN_IF_ERROR(system->Open(dir, /*durable=*/false));
  std::unique_ptr<BenchSession> session;
  LOCI_RETURN_IF_ERROR(system->NewSession(&session));
  std::string payload(config.payload_bytes, '\0');
  const uint64_t written_before = WrittenBytes();
  // Load: round 0, in batches.
  constexpr uint64_t kBatch = 256;
  for (uint64_t first = 0; first < config.cubes; first += kBatch) {
    std::vector<std::string> payloads;
    std::vector<std::vector<float>> vectors;
    for (uint64_t k = first; k < std::min(config.cubes, first + kBatch); ++k) {
      FillPayload(k, 0, &payload);
      payloads.push_back(payload);
      vectors.emplace_back();
    }
    LOCI_RETURN_IF_ERROR(session->LoadBatch(first, payloads, vectors));
  }
  LOCI_RETURN_IF_ERROR(system->Settle());
  const uint64_t start = NowNanos();
  for (int round = 1; round <= config.updates; ++round) {
    for (uint64_t k = 0; k < config.cubes; ++k) {
      FillPayload(k, round, &payload);
      LOCI_RETURN_IF_ERROR(session->UpdatePayload(k, payload, {}));
    }
    const uint64_t disk = AllocatedBytes(dir);
    result->disk_by_round.push_back(disk);
    result->max_disk_bytes = std::max(result->max_disk_bytes, disk);
  }
  const double seconds = static_cast<double>(NowNanos() - start) / 1e9;
  result->system = system->name();
  result->live_bytes = config.cubes * config.payload_bytes;
  result->disk_bytes = AllocatedBytes(dir);
  result->apparent_bytes = system->DiskBytes();
  result->ops_per_s = static_cast<double>(config.cubes) * config.updates / seconds;
  const double user_bytes =
      static_cast<double>(config.cubes) * config.payload_bytes * (config.updates + 1);
  result->write_amp = static_cast<double>(WrittenBytes() - written_before) / user_bytes;
  session.reset();
  Status closed = system->Close();
  if (!config.keep) RemoveDirectory(dir).PermitUncheckedError();
  return closed;
}

Status WriteJson(const std::string& path, const ChurnConfig& config,
                 const std::vector<ChurnResult>& results) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Status::IOError(path + ": cannot write");
  for (const ChurnResult& r : results) {
    out << nlohmann::json{{"system", r.system},
                          {"scenario", "churn"},
                          {"cubes", config.cubes},
                          {"updates", config.updates},
                          {"loci_keep_versions", config.system.loci_keep_versions},
                          {"loci_checkpoint_wal_bytes", config.system.loci_checkpoint_wal_bytes},
                          {"payload_bytes", config.payload_bytes},
                          {"live_bytes", r.live_bytes},
                          {"disk_bytes", r.disk_bytes},
                          {"max_disk_bytes", r.max_disk_bytes},
                          {"apparent_bytes", r.apparent_bytes},
                          {"ratio", r.ratio()},
                          {"write_amp", r.write_amp},
                          {"ops_per_s", r.ops_per_s},
                          {"disk_by_round", r.disk_by_round}}
               .dump()
        << '\n';
  }
  return out ? Status::OK() : Status::IOError(path + ": write failed");
}

}  // namespace

Status RunChurnScenario(const ChurnConfig& config) {
  std::printf(
      "churn: %llu records of %zu bytes, each updated %d times (one writer, non-durable writes,\n"
      "default checkpointing). disk = allocated bytes of the directory after the last round;\n"
      "ratio = disk / live data (target <= 1.5x with retention = 1 version); write amp = bytes\n"
      "written to storage / payload bytes written. Loci keeps %u version(s) of each record\n"
      "(0: all): a checkpoint prunes the rest and erases their blobs (hole-punched), so between\n"
      "checkpoints the WAL and the blobs written since are the overhead.\n\n",
      static_cast<unsigned long long>(config.cubes), config.payload_bytes, config.updates,
      config.system.loci_keep_versions);
  std::vector<ChurnResult> results;
  for (const std::string& name : config.systems) {
    std::string why_not;
    std::unique_ptr<BenchSystem> system = MakeSystem(name, config.system, &why_not);
    if (system == nullptr) {
      std::printf("%-18s skipped: %s\n", name.c_str(), why_not.c_str());
      continue;
    }
    ChurnResult r;
    LOCI_RETURN_IF_ERROR(Churn(system.get(), config, &r).WithContext(name));
    results.push_back(r);
  }
  std::printf("%-18s %12s %12s %12s %8s %10s %12s\n", "system", "live", "disk", "max disk", "ratio",
              "write amp", "updates/s");
  for (const ChurnResult& r : results) {
    std::printf("%-18s %12s %12s %12s %7.2fx %10.2f %12.0f\n", r.system.c_str(),
                FormatBytes(static_cast<double>(r.live_bytes)).c_str(),
                FormatBytes(static_cast<double>(r.disk_bytes)).c_str(),
                FormatBytes(static_cast<double>(r.max_disk_bytes)).c_str(), r.ratio(), r.write_amp,
                r.ops_per_s);
  }
  const ChurnResult* loci = nullptr;
  for (const ChurnResult& r : results) {
    if (r.system == "loci") loci = &r;
  }
  if (loci != nullptr) {
    std::printf("\ntarget: loci disk / live <= 1.5x: %.2fx — %s\n", loci->ratio(),
                loci->ratio() <= 1.5 ? "met" : "not met");
    for (const ChurnResult& r : results) {
      if (&r == loci || r.ops_per_s == 0) continue;
      std::printf("loci vs %s: disk %.2fx, updates/s %.2fx\n", r.system.c_str(),
                  static_cast<double>(loci->disk_bytes) / std::max<uint64_t>(1, r.disk_bytes),
                  loci->ops_per_s / r.ops_per_s);
    }
  }
  if (!config.json.empty()) LOCI_RETURN_IF_ERROR(WriteJson(config.json, config, results));
  return Status::OK();
}

}  // namespace loci::bench
