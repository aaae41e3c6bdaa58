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
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "loci/status.h"

namespace loci::wal {

class CommitQueue {
 public:
  // One writer's request. Lives on the writer's stack for the duration of Commit, linked into
  // the queue in place (no allocation per commit).
  struct Writer : boost::intrusive::list_base_hook<> {
    bool sync = true;
    size_t bytes = 0;         // estimated WAL bytes, for the group cap
    void* request = nullptr;  // the caller's batch; opaque here
    Status status;            // set for every member of a processed group
    bool done = false;
    std::condition_variable cv;
  };

  // Runs on the leader's thread for its group (leader first); together, prepare and finish set
  // every member's `status`.
  using GroupProcessor = std::function<void(std::span<Writer* const> group)>;

  explicit CommitQueue(size_t max_group_bytes) : max_group_bytes_(max_group_bytes) {}

  // REQUIRES: w->request != nullptr.
  // Enqueues `w` and blocks until a leader (possibly this thread) has committed it. Returns
  // w->status. Neither phase runs with the queue lock held; no two `prepare`s run at once.
  Status Commit(Writer* w, const GroupProcessor& prepare, const GroupProcessor& finish);
  // A commit whose whole work happens in `process`, with the leadership held.
  Status Commit(Writer* w, const GroupProcessor& process) {
    return Commit(w, process, [](std::span<Writer* const>) {});
  }

  // Runs `fn` in place of a group's prepare: after every earlier group's prepare and before
  // any later one (used for WAL rotation at checkpoint).
  Status RunExclusive(const std::function<Status()>& fn);

 private:
  std::vector<Writer*> BuildGroup();

  const size_t max_group_bytes_;
  std::mutex mu_;
  boost::intrusive::list<Writer> queue_;  // guarded by mu_
};

}  // namespace loci::wal

#endif  // LOCI_WAL_COMMIT_QUEUE_H_
