// SnapshotList: see snapshot_list.h.

#include "engine/snapshot_list.h"

namespace loci::engine {

Timestamp SnapshotList::Acquire(const std::function<Timestamp()>& now) {
  MutexLock lock(&mu_);
  const Timestamp time = now();
  ++live_[time];
  return time;
}

void SnapshotList::Release(Timestamp time) {
  MutexLock lock(&mu_);
  auto it = live_.find(time);
  if (it != live_.end() && --it->second == 0) live_.erase(it);
}

Timestamp SnapshotList::Newest(Timestamp none) const {
  return live_.empty() ? none : live_.rbegin()->first;
}

}  // namespace loci::engine
