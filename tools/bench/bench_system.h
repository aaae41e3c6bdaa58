// BenchSystem: the small interface loci-bench drives every storage system through (Loci and
// the peers RocksDB and SQLite), so that each scenario is written once.
//
// A system opens one fresh database per measurement. Each thread of a measurement talks to it
// through its own BenchSession (SQLite connections must not be shared between threads; the
// others simply keep per-thread buffers there). Keys are the benchmark's record numbers
// 0, 1, 2...: RocksDB stores them as 8-byte big-endian keys, SQLite as the INTEGER PRIMARY KEY,
// Loci maps them to the CubeIds its Put assigns.

#ifndef LOCI_TOOLS_BENCH_BENCH_SYSTEM_H_
#define LOCI_TOOLS_BENCH_BENCH_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"
#include "tools/bench/bench_util.h"

namespace loci::bench {

// What a Get copies out of the store.
enum class ReadMode {
  kFull,         // payload and vector
  kPayloadOnly,  // payload only (Loci: ReadOptions::fill_vectors = false)
};

// Configuration shared by all systems of a run.
struct SystemConfig {
  size_t payload_bytes = 1024;
  uint32_t dim = 768;
  size_t rocksdb_block_cache_mb = 1024;    // RocksDB LRU block cache
  size_t sqlite_mmap_mb = 0;               // SQLite PRAGMA mmap_size (0: SQLite's default, off)
  bool sqlite_auto_vacuum = false;         // SQLite PRAGMA auto_vacuum=FULL ("sqlite-autovacuum")
  uint32_t loci_keep_versions = 0;         // Loci Options::retention.keep_versions (0: keep all)
  uint64_t loci_checkpoint_wal_bytes = 0;  // Loci Options::checkpoint_wal_bytes (0: default)
};

// Sizes a Get found, so the scenario can check every answer.
struct GetResult {
  size_t payload_bytes = 0;
  size_t vector_bytes = 0;
};

// One thread's handle on an open system. Not thread-safe; destroy before the system's Close.
class BenchSession {
 public:
  virtual ~BenchSession() = default;

  // Stores a new record under `key` with the durability the system was opened with.
  virtual Status Put(uint64_t key, std::string_view payload, std::span<const float> vec) = 0;

  // Stores records first_key .. first_key + payloads.size() - 1 in one atomic batch (one
  // transaction), without waiting for durability. Used to load the read scenario's data.
  virtual Status LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                           const std::vector<std::vector<float>>& vectors) = 0;

  // Replaces the payload of existing record `key`, without waiting for durability. `vec` is the
  // record's (unchanged) vector, for stores whose value holds both (RocksDB rewrites it whole).
  virtual Status UpdatePayload(uint64_t key, std::string_view payload,
                               std::span<const float> vec) = 0;

  // Reads record `key` into the session's buffers and reports the sizes read.
  virtual Status Get(uint64_t key, ReadMode mode, GetResult* result) = 0;
};

class BenchSystem {
 public:
  virtual ~BenchSystem() = default;

  // "loci", "rocksdb", "sqlite".
  virtual const char* name() const = 0;
  // One line: the settings this system runs with (printed in the scenario header).
  virtual std::string Describe() const = 0;
  virtual bool Supports(ReadMode mode) const = 0;
  // True when UpdatePayload needs the record's vector (the store keeps both in one value), so
  // the updater regenerates it; the others skip that work.
  virtual bool UpdateRewritesVector() const { return false; }

  // Creates a new database in directory `dir` (which must not hold one). With `durable`, Put
  // returns only once the record is on stable storage (fsync); without, it survives a process
  // crash but not a power loss.
  virtual Status Open(const std::string& dir, bool durable) = 0;
  virtual Status NewSession(std::unique_ptr<BenchSession>* session) = 0;
  // After a load: makes the loaded data the steady on-disk state (Loci: Checkpoint; RocksDB:
  // flush and compact; SQLite: checkpoint the WAL into the database file).
  virtual Status Settle() = 0;
  // Facts about the last measurement (e.g. Loci's group-commit size), appended to its row.
  virtual void AnnotateRow(ResultRow* row) { (void)row; }
  // Closes the database. REQUIRES: every session is destroyed.
  virtual Status Close() = 0;
  // Bytes the database occupies on disk.
  virtual uint64_t DiskBytes() const;

 protected:
  std::string dir_;
};

// Factories. A peer that was not found at configure time has no factory; MakeSystem then
// reports why.
// "loci": Loci with its default Options. Variants to compare on the same load:
// "loci-uring": durable WAL groups submitted through io_uring (Options::wal_submission);
// "loci-psow": durable groups not padded to 4 KiB (Options::wal_sync_alignment = 0).
std::unique_ptr<BenchSystem> NewLociSystem(const SystemConfig& config,
                                           const std::string& variant = "loci");
#ifdef LOCI_BENCH_HAVE_ROCKSDB
std::unique_ptr<BenchSystem> NewRocksDbSystem(const SystemConfig& config);
#endif
#ifdef LOCI_BENCH_HAVE_SQLITE
std::unique_ptr<BenchSystem> NewSqliteSystem(const SystemConfig& config);
#endif

// The system called `name`, or nullptr with *why_not saying why it is unavailable.
std::unique_ptr<BenchSystem> MakeSystem(const std::string& name, const SystemConfig& config,
                                        std::string* why_not);

// Removes directory `dir` and everything below it (OK if it does not exist).
Status RemoveDirectory(const std::string& dir);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_BENCH_SYSTEM_H_
