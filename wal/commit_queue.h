// CommitQueue: leader/follower group commit (LevelDB's DBImpl::Write).
//
// Writers enqueue; the writer at the front becomes the leader, takes a group of queued writers
// (up to a byte cap; a small leading write caps the group at its size + 128 KiB; a write that
// needs sync never joins a group led by one that does not) and commits the whole group with one
// WAL write and one fdatasync, then hands every member its status. While a leader works, new
// writers queue up behind it, so the next group is larger exactly when syncs are the
// bottleneck.
//
// A commit has two phases. `prepare` runs with the leadership held: one group at a time, in
// queue order (assign ids and LSNs, place the records). `finish` runs after the leadership has
// passed to the next group's leader, so several groups' I/O can be in flight at once; ordering
// their completions is the finisher's business.

#ifndef LOCI_WAL_COMMIT_QUEUE_H_
#define LOCI_WAL_COMMIT_QUEUE_H_

#include <boost/intrusive/list.hpp>
#include <cstddef>
#include <functional>
#include <span>
#include <vector>

#include "common/mutex.h"
#include "loci/status.h"

namespace loci::wal {

class CommitQueue {
 public:
  // One writer's request. Lives on the writer's stack for the duration of Commit, linked into
  // the queue in place (no allocation per commit).
  //
  // sync, bytes and request are set by the writer before Commit and only read after. status is
  // written by the group's leader, outside the queue lock, and read by the writer once it sees
  // `done` (set under the lock after the status) or leads the group itself. `done` is guarded by
  // the queue's mutex, which a Writer does not know: it is not annotated.
  struct Writer : boost::intrusive::list_base_hook<> {
    bool sync = true;
    size_t bytes = 0;         // estimated WAL bytes, for the group cap
    void* request = nullptr;  // the caller's batch; opaque here
    Status status;            // set for every member of a processed group
    bool done = false;        // under the queue's mu_
    CondVar cv;               // on the queue's mu_
  };

  // Runs on the leader's thread for its group (leader first); together, prepare and finish set
  // every member's `status`.
  using GroupProcessor = std::function<void(std::span<Writer* const> group)>;

  explicit CommitQueue(size_t max_group_bytes) : max_group_bytes_(max_group_bytes) {}

  // REQUIRES: w->request != nullptr.
  // Enqueues `w` and blocks until a leader (possibly this thread) has committed it. Returns
  // w->status. Neither phase runs with the queue lock held; no two `prepare`s run at once.
  Status Commit(Writer* w, const GroupProcessor& prepare, const GroupProcessor& finish)
      EXCLUDES(mu_);
  // A commit whose whole work happens in `process`, with the leadership held.
  Status Commit(Writer* w, const GroupProcessor& process) EXCLUDES(mu_) {
    return Commit(w, process, [](std::span<Writer* const>) {});
  }

  // Runs `fn` in place of a group's prepare: after every earlier group's prepare and before
  // any later one (used for WAL rotation at checkpoint).
  Status RunExclusive(const std::function<Status()>& fn) EXCLUDES(mu_);

 private:
  std::vector<Writer*> BuildGroup() REQUIRES(mu_);

  const size_t max_group_bytes_;
  Mutex mu_;
  boost::intrusive::list<Writer> queue_ GUARDED_BY(mu_);
};

}  // namespace loci::wal

#endif  // LOCI_WAL_COMMIT_QUEUE_H_
