// Leader/follower group commit.

#include "wal/commit_queue.h"

namespace loci::wal {

std::vector<CommitQueue::Writer*> CommitQueue::BuildGroup() {
  Writer* first = &queue_.front();
  size_t size = first->bytes;
  size_t max_size = max_group_bytes_;
  if (size <= (128 << 10)) max_size = std::min(max_size, size + (128 << 10));
  std::vector<Writer*> group{first};
  for (auto it = std::next(queue_.begin()); it != queue_.end(); ++it) {
    Writer* w = &*it;
    if (w->request == nullptr) break;    // an exclusive section: never merged
    if (w->sync && !first->sync) break;  // a sync write must not wait on a non-sync leader
    if (size + w->bytes > max_size) break;
    size += w->bytes;
    group.push_back(w);
  }
  return group;
}

Status CommitQueue::Commit(Writer* w, const GroupProcessor& prepare, const GroupProcessor& finish) {
  MutexLock lock(&mu_);
  queue_.push_back(*w);
  while (!w->done && (queue_.empty() || &queue_.front() != w)) w->cv.Wait(&mu_);
  if (w->done) return w->status;

  std::vector<Writer*> group = BuildGroup();
  {
    MutexUnlock unlock(&mu_);
    prepare(group);
  }
  // Hand the leadership on; the members stay asleep until their group is finished.
  for (size_t i = 0; i < group.size(); ++i) queue_.pop_front();
  if (!queue_.empty()) queue_.front().cv.Signal();
  {
    MutexUnlock unlock(&mu_);
    finish(group);
  }
  for (Writer* member : group) {
    if (member != w) {
      member->done = true;
      member->cv.Signal();
    }
  }
  return w->status;
}

Status CommitQueue::RunExclusive(const std::function<Status()>& fn) {
  Writer w;
  w.request = nullptr;
  MutexLock lock(&mu_);
  queue_.push_back(w);
  while (queue_.empty() || &queue_.front() != &w) w.cv.Wait(&mu_);
  Status s;
  {
    MutexUnlock unlock(&mu_);
    s = fn();
  }
  queue_.pop_front();
  if (!queue_.empty()) queue_.front().cv.Signal();
  return s;
}

}  // namespace loci::wal
