// SimEnv: an in-memory file system that can lose power (design.md §10; research
// storage_reliability §1.9).
//
// Per file it keeps the durable image (what survives a power loss) and the ordered operations
// not yet covered by a Sync; per directory, the durable names and the creations, renames and
// removals not yet covered by a SyncDir. Crash() rebuilds what a reboot would see: unsynced
// operations are dropped, kept as a random prefix, or — each on its own — applied, dropped,
// torn at 512 B or 4 KiB sectors, or garbled; unsynced directory operations survive only as a
// random prefix. Handles opened before a crash are dead afterwards (every call fails), as the
// process that held them would be.
//
// Between crashes it injects faults: fsync EIO (once or forever; the data that sync should have
// covered is then doomed), ENOSPC, short writes, read errors, one misdirected write, and bit
// flips in durable bytes. One 64-bit seed drives every choice, so a run is reproducible.
//
// Thread-safe (one mutex): engine threads may use it concurrently.

#ifndef LOCI_TESTS_SIM_SIM_ENV_H_
#define LOCI_TESTS_SIM_SIM_ENV_H_

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "loci/env.h"

namespace loci::sim {

enum class CrashMode {
  kDropAll,       // every unsynced operation is lost
  kRandomPrefix,  // each file keeps a random prefix of its unsynced operations
  kReorder,       // each unsynced write is applied, dropped, torn or garbled independently
  kAny,           // one of the above, chosen by the seed
};

struct SimStats {
  uint64_t mutating_ops = 0;  // writes, syncs, truncates, creates, renames, removals...
  uint64_t crashes = 0;
  uint64_t writes_applied = 0;  // unsynced writes that survived crashes whole
  uint64_t writes_dropped = 0;
  uint64_t writes_torn = 0;
  uint64_t writes_garbled = 0;
  uint64_t dir_ops_undone = 0;
  uint64_t faults_injected = 0;
  uint64_t writes_misdirected = 0;  // of faults_injected: the silent kind (data lands elsewhere)
};

class SimEnv : public Env {
 public:
  explicit SimEnv(uint64_t seed);
  ~SimEnv() override;

  // --- Env
  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override;
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override;
  Status NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                         std::unique_ptr<MappedRegion>* result) override;
  std::unique_ptr<IoQueue> NewIoQueue() override { return NewSequentialIoQueue(); }
  bool FileExists(const std::string& path) override;
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override;
  Status GetFileSize(const std::string& path, uint64_t* size) override;
  Status RemoveFile(const std::string& path) override;
  Status RenameFile(const std::string& from, const std::string& to) override;
  Status CreateDir(const std::string& dir) override;
  Status SyncDir(const std::string& dir) override;
  Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) override;
  // A deterministic clock: starts at 2026-01-01 and moves 1 ms per call.
  int64_t NowMicros() override;

  // --- Power loss
  // The n-th mutating operation from now (n >= 1) and every later one fail with IOError and
  // change nothing: the power is off. Crash() turns it back on.
  void PowerOffAfter(uint64_t n);
  bool powered_off() const;
  // Rebuilds the file system as a reboot would see it (see the file comment) and kills every
  // open handle and lock. REQUIRES: nothing is using the old handles any more than to close
  // them (a Db still open is destroyed after, its calls failing harmlessly).
  void Crash(CrashMode mode = CrashMode::kAny);

  // --- Faults (between crashes)
  // The next `count` Syncs fail with EIO (-1: every one from now on). What a failed sync should
  // have made durable is doomed: a later crash always drops it.
  void FailSyncs(int count);
  // Writes that would grow the file system past `bytes` more bytes fail with ENOSPC.
  void LimitSpace(uint64_t bytes);
  // The next write applies only its first half and fails.
  void ShortWriteNext();
  // The next `count` reads fail with an I/O error.
  void FailReads(int count);
  // The next write lands `shift` bytes away from where it was aimed (and reports success).
  void MisdirectNextWrite(int64_t shift);
  // Flips one bit of a file's durable (and visible) bytes: bit rot. False if out of range.
  bool FlipDurableBit(const std::string& path, uint64_t offset, int bit);

  // The next write to a path containing `substring` blocks until ReleaseWrites (a slow or
  // preempted writer, made deterministic); later writes pass.
  void HoldNextWrite(const std::string& substring);
  void ReleaseWrites();
  // Writes blocked by HoldNextWrite right now.
  int held_writes() const;

  SimStats stats() const;
  // Paths of every file, durable or not, sorted.
  std::vector<std::string> Files() const;

 private:
  struct Node;
  struct DirOp;
  class File;
  class Reader;
  class Region;
  class Lock;
  friend class File;
  friend class Reader;
  friend class Region;
  friend class Lock;

  // A mutating operation is about to run: false if the power is off (or goes off now).
  bool TickLocked();
  Status PowerLossLocked(const std::string& what) const;
  std::shared_ptr<Node> FindLocked(const std::string& path) const;
  void ApplyDirOpLocked(const DirOp& op, std::map<std::string, std::shared_ptr<Node>>* names);
  std::string RebuildLocked(Node* node, CrashMode mode);
  uint64_t TotalBytesLocked() const;

  mutable std::mutex mu_;
  std::mt19937_64 rng_;
  uint64_t epoch_ = 1;                                  // handles of an older epoch are dead
  std::map<std::string, std::shared_ptr<Node>> names_;  // visible namespace
  std::map<std::string, std::shared_ptr<Node>> durable_names_;  // what a crash keeps
  std::vector<DirOp> pending_dir_ops_;
  std::vector<std::string> dirs_;
  std::set<std::string> locked_dirs_;  // what LockDir holds; a crash releases everything
  uint64_t power_off_at_ = 0;          // 0: never
  bool powered_off_ = false;
  int sync_failures_ = 0;
  uint64_t space_limit_ = UINT64_MAX;
  bool short_write_next_ = false;
  int read_failures_ = 0;
  int64_t misdirect_next_ = 0;
  int64_t clock_ = 0;
  std::string hold_substring_;  // empty: no hold armed
  bool holding_ = false;        // a write is held
  int held_writes_ = 0;
  std::condition_variable hold_cv_;
  SimStats stats_;
};

}  // namespace loci::sim

#endif  // LOCI_TESTS_SIM_SIM_ENV_H_
