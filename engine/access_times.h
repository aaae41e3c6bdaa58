// AccessTimes: when each cube was last read by a read that asked to record it
// (ReadOptions::record_access, SearchRequest::record_access), for decay ranking
// (SearchRequest::recency_from_access). An access is not a write: it makes no version, is not
// logged and lives in memory only — a reopen forgets it, and ranking then counts age from
// valid_from again.
//
// Contract: Track runs on one thread at a time (the commit leader, or recovery) for every id it
// publishes; Record and Last run on any thread, lock-free, and do nothing (return 0) for an id
// Track never saw.

#ifndef LOCI_ENGINE_ACCESS_TIMES_H_
#define LOCI_ENGINE_ACCESS_TIMES_H_

#include <atomic>
#include <cstdint>

#include "index/id_slots.h"
#include "loci/cube.h"

namespace loci::engine {

class AccessTimes {
 public:
  // Makes `id` recordable. REQUIRES: one caller at a time.
  void Track(CubeId id) { slots_.Mutable(id); }

  // Notes an access to `id` at `time` (the latest time wins).
  void Record(CubeId id, Timestamp time) {
    const Slot* slot = slots_.Find(id);
    if (slot == nullptr) return;
    Timestamp seen = slot->last.load(std::memory_order_relaxed);
    while (seen < time &&
           !slot->last.compare_exchange_weak(seen, time, std::memory_order_relaxed)) {
    }
  }

  // The last access recorded for `id`; 0 if none.
  Timestamp Last(CubeId id) const {
    const Slot* slot = slots_.Find(id);
    return slot == nullptr ? 0 : slot->last.load(std::memory_order_relaxed);
  }

  uint64_t memory_bytes() const { return slots_.memory_bytes(); }

 private:
  struct Slot {
    mutable std::atomic<Timestamp> last{0};
  };
  index::IdSlots<Slot> slots_;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_ACCESS_TIMES_H_
