// SnapshotList: the times of the live snapshots (Db::GetSnapshot), so that retention keeps
// every version a snapshot may read (gc/retention.h: nothing committed at or before the newest
// live snapshot's time is pruned).
//
// A snapshot registers when taken and leaves when its handle is destroyed, which may be after
// the database is closed: the list is shared with the handles. A retention pass holds the
// list's mutex while it cuts chains, so a snapshot is never taken in the middle of a cut
// (Acquire waits): it sees either none of the cut or all of it, and a snapshot taken after a
// cut reads at a time later than every pruned version's commit only if nothing it could read
// was pruned.

#ifndef LOCI_ENGINE_SNAPSHOT_LIST_H_
#define LOCI_ENGINE_SNAPSHOT_LIST_H_

#include <cstdint>
#include <functional>
#include <map>

#include "common/mutex.h"
#include "common/thread_annotations.h"
#include "loci/cube.h"

namespace loci::engine {

class SnapshotList {
 public:
  // Registers a snapshot at the time `now` returns (called under the list's mutex) and returns
  // that time.
  Timestamp Acquire(const std::function<Timestamp()>& now) EXCLUDES(mu_);
  // Unregisters one snapshot taken at `time`.
  void Release(Timestamp time) EXCLUDES(mu_);

  // The time of the newest live snapshot, or `none` if there is none.
  Timestamp Newest(Timestamp none) const REQUIRES(mu_);

  // Held by a retention pass for the whole of its cut.
  Mutex* mu() RETURN_CAPABILITY(mu_) { return &mu_; }

 private:
  mutable Mutex mu_;
  std::map<Timestamp, uint64_t> live_ GUARDED_BY(mu_);  // time -> snapshots taken then
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SNAPSHOT_LIST_H_
