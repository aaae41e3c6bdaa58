// ZeroFiller: keeps an append-only file written with zeros, and synced, ahead of its append
// position, from a background thread.
//
// Why: an fdatasync after writes into fallocated (unwritten) space must also write the inode
// to convert the extents, and a sync after extending the file must commit its new size; into
// space that already holds synced zeros it only writes the data. Writing the zeros on the
// commit path would stall every writer behind a multi-megabyte write and its flush, so a
// background thread does it while appends use the space it filled before.

#ifndef LOCI_COMMON_ZERO_FILLER_H_
#define LOCI_COMMON_ZERO_FILLER_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "loci/env.h"
#include "loci/status.h"

namespace loci {

class ZeroFiller {
 public:
  // Fills in steps that grow with the file (as much again as it holds), from 64 KiB up to
  // `max_step` bytes, never past `limit` bytes of a file. max_step 0 disables filling:
  // Reserve then always succeeds at once. Without `background`, Reserve fills on the calling
  // thread instead (deterministic I/O, for simulation tests).
  ZeroFiller(uint64_t max_step, uint64_t limit, bool background = true);
  // Waits for the background thread to finish its current step.
  ~ZeroFiller();
  ZeroFiller(const ZeroFiller&) = delete;
  ZeroFiller& operator=(const ZeroFiller&) = delete;

  // Starts filling `file` (which must outlive the filler or the next Reset) from `end`, its
  // current size; appends will go at or after `in_use`. Waits for work on a previous file.
  void Reset(WritableFile* file, uint64_t in_use, uint64_t end);

  // Returns once [in_use, end) is filled, waiting for the background thread if appends have
  // caught up with it, and starts the next step early. Thread-safe. A failure of the
  // background write or sync is returned here, and by every later call: after a failed sync
  // the file's unsynced bytes are unknown.
  Status Reserve(uint64_t end);

 private:
  void Run();
  // Writes and syncs zeros over [filled_to_, wanted_to_). Called with mu_ held via `lock`,
  // which it releases while writing.
  void FillLocked(std::unique_lock<std::mutex>& lock);

  const uint64_t max_step_;
  const uint64_t limit_;
  const bool background_;

  std::mutex mu_;
  std::condition_variable cv_;
  WritableFile* file_ = nullptr;  // guarded by mu_
  uint64_t filled_to_ = 0;        // zeros written and synced below this; guarded by mu_
  uint64_t wanted_to_ = 0;        // the background thread fills up to this; guarded by mu_
  bool busy_ = false;             // the thread is writing; guarded by mu_
  bool stop_ = false;             // guarded by mu_
  Status error_;                  // guarded by mu_
  std::thread thread_;
};

}  // namespace loci

#endif  // LOCI_COMMON_ZERO_FILLER_H_
