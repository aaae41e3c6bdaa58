// Epoch-based reclamation (EBR): lets lock-free readers dereference shared objects that a writer
// may unlink and free at any time.
//
// A reader pins the domain for one short read (`auto guard = domain.Pin();`) and loads shared
// pointers only while pinned. A writer that unlinks an object hands it to Retire(); the domain
// runs the reclaim callback once no reader that could still reach the object is pinned. Readers
// never take a mutex and never wait; writers pay for reclamation.
//
//   // reader                                        // writer
//   auto guard = domain.Pin();                        Node* old = head.exchange(fresh);
//   Node* n = head.load(std::memory_order_acquire);   domain.RetireDelete(old);
//   Use(*n);
//
// How it works (Fraser 2004; the argument in ck_epoch.c). There is a global epoch G. Pinning
// publishes (G, pinned) in the thread's participant record and then executes a full StoreLoad
// barrier, so the publication is visible before any shared pointer is loaded. Retire() executes
// a full barrier after the caller's unlink and tags the object with the G it then reads. G moves
// from g to g+1 only when every pinned participant shows g. An object tagged r is freed once G
// reaches r+2: the advance r+1 -> r+2 saw every reader either unpinned or pinned at r+1, and a
// reader pinned at r+1 (or one that pinned after that scan) pinned after the unlink was visible,
// so it cannot reach the object. See the comment above StoreLoadBarrier() in epoch.cc.
//
// Operational rules (research/storage_reliability.md §3.6):
//  - Keep pins short: never hold a Guard across I/O, fsync, a lock wait or a user callback. A
//    pinned reader holds back all reclamation in its domain; use a refcounted snapshot for long
//    scans, or Guard::Repin() between batches.
//  - The retire backlog is bounded by backpressure on writers, not by dropping safety: above
//    Options::hard_backlog_bytes a Retire() call waits for a grace period, i.e. for every reader
//    pinned before it to unpin. A reader that stalls while pinned therefore stalls retiring
//    writers (once the backlog is full) instead of letting memory grow without bound.
//  - Use one domain per subsystem so a slow reader of one cannot stall the others.
//  - Participants are per (thread, domain), registered on a thread's first Pin() and recycled when
//    the thread exits, so any number of (short-lived) threads may pin. A domain may be destroyed
//    before threads that used it exit.
//  - Not fork-safe: a child process must not use a domain inherited from its parent.

#ifndef LOCI_GC_EPOCH_H_
#define LOCI_GC_EPOCH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>

#include "common/mutex.h"
#include "common/thread_annotations.h"

namespace loci::gc {

namespace internal {

class Registry;

// One thread's membership in one domain. Cache-line sized so that a pin (a store by the owner)
// does not share a line with another thread's record.
struct alignas(64) Participant {
  // 0 when unpinned, otherwise (epoch << 1) | 1. Written by the owner thread, read by advancers.
  std::atomic<uint64_t> state{0};
  // Depth of the owner's nested guards. Touched only by the owner thread.
  uint32_t depth = 0;
  // Set on a record taken after the thread's registration holder was destroyed (a Pin() from a
  // thread_local destructor): it is handed back at its outermost unpin instead of at exit.
  bool release_on_unpin = false;
  // Owned by a live thread. Set and cleared under / published to Registry.
  std::atomic<bool> in_use{false};
  Registry* registry = nullptr;
  // Next record in the registry's list; immutable once the record is published.
  Participant* next = nullptr;
};

// A direct-mapped per-thread cache from domain id to this thread's participant. Trivially
// destructible (it stays valid while other thread_local destructors run) and constant-initialised
// (no TLS init guard on the Pin() fast path). Domain ids are never reused, so a stale slot never
// matches.
struct CacheSlot {
  uint64_t domain_id;
  Participant* participant;
};
inline constexpr size_t kCacheSlots = 4;
inline constinit thread_local CacheSlot tls_cache[kCacheSlots] = {};

}  // namespace internal

// An object that can be retired without allocating: derive from it, then pass it to
// EpochDomain::Retire(entry, reclaim, bytes) or RetireDelete().
class RetireEntry {
 public:
  // Frees the entry (and whatever it owns). Runs on whichever thread reclaims.
  using ReclaimFn = void (*)(RetireEntry*);

 protected:
  RetireEntry() = default;
  ~RetireEntry() = default;

 private:
  friend class EpochDomain;
  RetireEntry* retire_next_ = nullptr;
  uint64_t retire_epoch_ = 0;
  size_t retire_charge_ = 0;
  ReclaimFn reclaim_ = nullptr;
};

// A reclamation domain. Thread-safe: any number of threads may pin, retire, collect and
// synchronize concurrently.
class EpochDomain {
 public:
  struct Options {
    // Backlog (bytes charged by Retire() and not yet reclaimed) above which every Retire() also
    // tries to advance the epoch and reclaim.
    // Default: 64 MiB.
    size_t soft_backlog_bytes = size_t{64} << 20;
    // Backlog above which Retire() blocks for a grace period (see Retire()).
    // Default: 256 MiB.
    size_t hard_backlog_bytes = size_t{256} << 20;
  };

  struct Stats {
    uint64_t epoch;                // current global epoch
    uint64_t pending_callbacks;    // retired, not yet reclaimed
    uint64_t pending_bytes;        // bytes charged by those callbacks
    uint64_t reclaimed;            // callbacks run so far
    uint64_t participants;         // threads currently registered
    uint64_t participant_records;  // records allocated (recycled ones included); <= peak threads
  };

  class Guard;

  EpochDomain();
  explicit EpochDomain(const Options& options);
  // Runs every pending callback (including ones they retire in turn).
  // REQUIRES: no Guard on this domain is alive, on any thread.
  ~EpochDomain();

  EpochDomain(const EpochDomain&) = delete;
  EpochDomain& operator=(const EpochDomain&) = delete;

  // Pins the calling thread: until the returned guard is destroyed (or Reset()), nothing retired
  // after this call, or retired earlier but still reachable when this call returned, is
  // reclaimed. Nested pins on one thread are a counter increment. Lock-free after the thread's
  // first pin of this domain (which registers it under a mutex).
  [[nodiscard]] Guard Pin();

  // Schedules `fn` to run once no reader that could have seen the retired object is pinned.
  // Call it after the object is unlinked (no longer reachable from shared pointers). `bytes` is
  // the memory `fn` will free; the domain adds the size of its own bookkeeping node. Callbacks run
  // on a thread calling Retire/Collect/Synchronize or the destructor, with no domain lock held;
  // they may Pin, Retire and Collect, and must not throw.
  //
  // Backpressure: when the backlog exceeds hard_backlog_bytes, this call waits for a grace period
  // (Synchronize()) unless the calling thread is itself pinned in this domain, in which case it
  // only collects (waiting would deadlock). Above soft_backlog_bytes it collects.
  void Retire(std::function<void()> fn, size_t bytes = 0);

  // Intrusive, allocation-free form: `reclaim(entry)` runs when the grace period is over.
  // REQUIRES: `entry` is not currently retired.
  void Retire(RetireEntry* entry, RetireEntry::ReclaimFn reclaim, size_t bytes);

  // Retire([p] { delete p; }, sizeof(T)); without allocation when T derives from RetireEntry.
  template <class T>
  void RetireDelete(T* p) {
    if constexpr (std::is_base_of_v<RetireEntry, T>) {
      Retire(
          static_cast<RetireEntry*>(p), [](RetireEntry* e) { delete static_cast<T*>(e); },
          sizeof(T));
    } else {
      Retire([p] { delete p; }, sizeof(T));
    }
  }

  // Never blocks: tries to advance the epoch once and runs the callbacks that are now safe.
  void Collect();

  // Waits until every reader pinned before the call has unpinned, then runs the callbacks that
  // became safe (at least everything retired before the call). Readers that pin during the call
  // do not delay it.
  //
  // If the calling thread is itself pinned in this domain, waiting would deadlock; the call then
  // only does Collect() and returns without waiting. Check PinnedByCurrentThread() if it matters.
  void Synchronize();

  // True if the calling thread holds a Guard on this domain.
  bool PinnedByCurrentThread() const;

  Stats GetStats() const;

 private:
  friend class Guard;

  internal::Participant* LocalParticipantSlow();
  static void ReleaseUnownedParticipant(internal::Participant* p);
  void Publish(internal::Participant* p);
  void Enqueue(RetireEntry* entry, RetireEntry::ReclaimFn reclaim, size_t charge) EXCLUDES(mu_);
  void ApplyBackpressure(size_t pending_bytes, bool collect_due);
  // Advances the global epoch by one if every pinned participant is in the current epoch.
  // Returns true if the epoch moved (by this thread or another).
  bool TryAdvance();
  // Detaches the callbacks that are safe at the current epoch and runs them, outside `mu_`.
  void ReclaimReady() EXCLUDES(mu_);
  void RunBatch(RetireEntry* batch) EXCLUDES(mu_);

  const Options options_;
  const uint64_t id_;  // never reused; keys the per-thread participant cache
  const std::shared_ptr<internal::Registry> registry_;

  // Its own cache line: read by every outermost Pin(), written once per advance.
  alignas(64) std::atomic<uint64_t> global_epoch_{1};

  alignas(64) Mutex mu_;
  // FIFO of retired entries; epochs are non-decreasing from head to tail.
  RetireEntry* retired_head_ GUARDED_BY(mu_) = nullptr;
  RetireEntry* retired_tail_ GUARDED_BY(mu_) = nullptr;
  uint32_t retires_since_collect_ GUARDED_BY(mu_) = 0;
  // Readable without mu_ for stats and the backlog check.
  std::atomic<uint64_t> pending_callbacks_{0};
  std::atomic<uint64_t> pending_bytes_{0};
  std::atomic<uint64_t> reclaimed_{0};
};

// An RAII pin. Movable, not copyable; an empty (default-constructed or moved-from) guard pins
// nothing. A guard must be destroyed on the thread that created it, before its domain.
class EpochDomain::Guard {
 public:
  Guard() = default;
  Guard(Guard&& other) noexcept : domain_(other.domain_), p_(other.p_) { other.p_ = nullptr; }
  Guard& operator=(Guard&& other) noexcept {
    if (this != &other) {
      Reset();
      domain_ = other.domain_;
      p_ = other.p_;
      other.p_ = nullptr;
    }
    return *this;
  }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
  ~Guard() { Reset(); }

  // Unpins now; the guard becomes empty. Pointers loaded under it must no longer be used.
  void Reset();

  // Re-announces the current epoch, so that a long-lived outermost guard stops holding back
  // reclamation. Pointers loaded before the call must not be used after it. No effect when an
  // outer guard on this thread is alive (that guard still protects the older pointers).
  void Repin();

  bool pinned() const { return p_ != nullptr; }

 private:
  friend class EpochDomain;
  Guard(EpochDomain* domain, internal::Participant* p) : domain_(domain), p_(p) {}

  EpochDomain* domain_ = nullptr;
  internal::Participant* p_ = nullptr;
};

inline void EpochDomain::Publish(internal::Participant* p) {
  // Any epoch value is safe here (a stale one only holds back reclamation longer); safety comes
  // from the barrier, which orders the publication before every later load of a shared pointer.
  const uint64_t state = (global_epoch_.load(std::memory_order_relaxed) << 1) | 1;
#if defined(__x86_64__) || defined(__i386__)
  // A locked RMW is a full barrier on x86 and cheaper than mfence (crossbeam-epoch does the
  // same). Its acquire half also stops the compiler from hoisting later loads above it.
  p->state.exchange(state, std::memory_order_seq_cst);
#else
  p->state.store(state, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

inline EpochDomain::Guard EpochDomain::Pin() {
  const internal::CacheSlot& slot = internal::tls_cache[id_ % internal::kCacheSlots];
  internal::Participant* p = slot.domain_id == id_ ? slot.participant : LocalParticipantSlow();
  if (p->depth++ == 0) Publish(p);
  return Guard(this, p);
}

inline void EpochDomain::Guard::Reset() {
  if (p_ == nullptr) return;
  if (--p_->depth == 0) {
    // Release: everything this reader did under the pin happens-before a reclaim that follows an
    // advance which observed this store.
    p_->state.store(0, std::memory_order_release);
    if (p_->release_on_unpin) ReleaseUnownedParticipant(p_);
  }
  p_ = nullptr;
}

inline void EpochDomain::Guard::Repin() {
  if (p_ != nullptr && p_->depth == 1) domain_->Publish(p_);
}

}  // namespace loci::gc

#endif  // LOCI_GC_EPOCH_H_
