// ExpiryQueue: an ordered multimap under a mutex.

#include "gc/expiry_queue.h"

#include <unordered_set>

namespace loci::gc {

void ExpiryQueue::Add(int64_t expires_at, uint64_t id) {
  MutexLock lock(&mu_);
  by_time_.emplace(expires_at, id);
}

std::vector<uint64_t> ExpiryQueue::TakeDue(int64_t now) {
  std::vector<uint64_t> due;
  {
    MutexLock lock(&mu_);
    auto end = by_time_.upper_bound(now);
    for (auto it = by_time_.begin(); it != end; ++it) due.push_back(it->second);
    by_time_.erase(by_time_.begin(), end);
  }
  // Each id once, in the order of its first entry.
  std::unordered_set<uint64_t> seen;
  std::erase_if(due, [&](uint64_t id) { return !seen.insert(id).second; });
  return due;
}

bool ExpiryQueue::AnyDue(int64_t now) const {
  MutexLock lock(&mu_);
  return !by_time_.empty() && by_time_.begin()->first <= now;
}

size_t ExpiryQueue::size() const {
  MutexLock lock(&mu_);
  return by_time_.size();
}

}  // namespace loci::gc
