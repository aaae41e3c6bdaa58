// ExpiryQueue: which cubes may have expired by a given time (TTL reclamation, design.md §8).
//
// The engine adds (expires_at, id) for every version it publishes or recovers with an expiry,
// and takes the ids due by now when it reclaims. An entry is a hint, not a fact: the cube may
// since have been updated with a later expiry (or none), purged, or listed twice, so whoever
// acts on a due id checks the cube's newest version first (WriteBatch::PurgeIfExpired does).
// Nothing is lost by a crash: recovery adds the entries again from the versions it loads.
//
// Thread-safe; a mutex guards an ordered multimap, so Add and TakeDue are O(log n). Memory is
// one entry per version published with an expiry and not yet due.

#ifndef LOCI_GC_EXPIRY_QUEUE_H_
#define LOCI_GC_EXPIRY_QUEUE_H_

#include <cstdint>
#include <map>
#include <vector>

#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace loci::gc {

class ExpiryQueue {
 public:
  // Notes that cube `id` expires at `expires_at` (microseconds since the epoch).
  void Add(int64_t expires_at, uint64_t id) EXCLUDES(mu_);

  // Removes and returns the ids of the entries due by `now` (expires_at <= now), in expiry
  // order, each id once.
  std::vector<uint64_t> TakeDue(int64_t now) EXCLUDES(mu_);

  // Whether an entry is due by `now`. Cheap enough to ask at every checkpoint.
  bool AnyDue(int64_t now) const EXCLUDES(mu_);

  size_t size() const EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::multimap<int64_t, uint64_t> by_time_ GUARDED_BY(mu_);
};

}  // namespace loci::gc

#endif  // LOCI_GC_EXPIRY_QUEUE_H_
