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

#include <cstdint>
#include <string>
#include <thread>

#include "common/mutex.h"
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
  void Reset(WritableFile* file, uint64_t in_use, uint64_t end) EXCLUDES(mu_);

  // Caps the steps at `bytes` from now on (within [64 KiB, max_step]; no effect when filling
  // is disabled): a file that holds little live data need not keep megabytes of zeros ahead.
  void SetStepCap(uint64_t bytes) EXCLUDES(mu_);

  // Returns once [in_use, end) is filled, waiting for the background thread if appends have
  // caught up with it, and starts the next step early. Thread-safe. A failure of the
  // background write or sync is returned here, and by every later call: after a failed sync
  // the file's unsynced bytes are unknown.
  Status Reserve(uint64_t end) EXCLUDES(mu_);

 private:
  void Run() EXCLUDES(mu_);
  // Writes and syncs zeros over [filled_to_, wanted_to_). Releases mu_ while writing.
  void FillLocked() REQUIRES(mu_);

  const uint64_t max_step_;
  uint64_t step_cap_ GUARDED_BY(mu_);  // SetStepCap's, max_step_ until then
  const uint64_t limit_;
  const bool background_;

  Mutex mu_;
  CondVar cv_;  // on mu_: the thread waits for work, Reserve for zeros, Reset for an idle thread
  WritableFile* file_ GUARDED_BY(mu_) = nullptr;
  uint64_t filled_to_ GUARDED_BY(mu_) = 0;  // zeros written and synced below this
  uint64_t wanted_to_ GUARDED_BY(mu_) = 0;  // the background thread fills up to this
  bool busy_ GUARDED_BY(mu_) = false;       // a fill is writing (with mu_ released)
  bool stop_ GUARDED_BY(mu_) = false;
  Status error_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace loci

#endif  // LOCI_COMMON_ZERO_FILLER_H_
