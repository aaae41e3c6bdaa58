// HybridClock: commit timestamps that are wall-clock microseconds, forced strictly increasing,
// and never at or below a persisted high-water mark, so a restart (or a wall clock that steps
// back) never reissues or goes back in time. Never steady_clock: timestamps must mean the same
// thing across restarts.

#ifndef LOCI_ENGINE_HYBRID_CLOCK_H_
#define LOCI_ENGINE_HYBRID_CLOCK_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "loci/env.h"

namespace loci::engine {

class HybridClock {
 public:
  explicit HybridClock(Env* env) : env_(env) {}

  // Raises the high-water mark (recovery: the highest commit time found).
  void Observe(int64_t issued) {
    int64_t cur = last_.load(std::memory_order_relaxed);
    while (issued > cur && !last_.compare_exchange_weak(cur, issued)) {
    }
  }

  // A new commit timestamp, greater than every one issued or observed. Thread-safe.
  int64_t Next() {
    int64_t cur = last_.load(std::memory_order_relaxed);
    int64_t next;
    do {
      next = std::max(env_->NowMicros(), cur + 1);
    } while (!last_.compare_exchange_weak(cur, next));
    return next;
  }

  // The current time: at least every timestamp issued. Does not issue one.
  int64_t Now() const { return std::max(env_->NowMicros(), last_.load(std::memory_order_acquire)); }

  int64_t high_water() const { return last_.load(std::memory_order_acquire); }

 private:
  Env* const env_;
  std::atomic<int64_t> last_{0};
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_HYBRID_CLOCK_H_
