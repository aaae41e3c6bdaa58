// Epoch-based reclamation: participant registry, per-thread registration, retire queue, epoch
// advance and grace periods. The pin fast path is inline in epoch.h.

#include "gc/epoch.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <thread>
#include <utility>
#include <vector>

namespace loci::gc {

// Memory ordering. Each StoreLoad below is a seq_cst fence (the x86 pin uses a locked RMW, which
// is the same in hardware). Let W unlink X, run fence F_W, and read G = r; let reader R publish
// its pin, run fence F_R, then load shared pointers; let the advance r+1 -> r+2 read G, run F_A,
// then scan. W's read of r precedes that advance's read of r+1 in G's modification order, so
// F_W < F_A in the fences' total order S. If F_W < F_R, R's loads see the unlink: R cannot reach
// X. Otherwise F_R < F_W < F_A, so the scan sees R's pin (with an epoch <= r, since R read G
// before F_R, and the advance fails) or R's later release-unpin, which it acquires: R's reads of X
// happen-before the advance, hence before X is reclaimed by a thread that acquires G >= r+2.
namespace {

void StoreLoadBarrier() {
#if defined(__GNUC__) && !defined(__clang__) && defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic push
// TSan does not model fences. That is harmless here: every access to reclaimed memory that can
// actually happen is ordered by the release/acquire chain unpin -> scan -> CAS(G) -> reclaim.
#pragma GCC diagnostic ignored "-Wtsan"
#endif
  std::atomic_thread_fence(std::memory_order_seq_cst);
#if defined(__GNUC__) && !defined(__clang__) && defined(__SANITIZE_THREAD__)
#pragma GCC diagnostic pop
#endif
}

// How many retires may pass between two opportunistic collections below the soft limit. Keeps
// the steady-state backlog at a few hundred entries without scanning participants on every call.
constexpr uint32_t kRetiresPerCollect = 64;

std::atomic<uint64_t> next_domain_id{1};

// A std::function callback, boxed so that it can sit in the intrusive retire queue.
struct FunctionEntry final : RetireEntry {
  explicit FunctionEntry(std::function<void()> f) : fn(std::move(f)) {}
  std::function<void()> fn;

  static void Run(RetireEntry* e) {
    auto* self = static_cast<FunctionEntry*>(e);
    self->fn();
    delete self;
  }
};

}  // namespace

namespace internal {

// The participant records of one domain. Shared (by shared_ptr) between the domain and every
// thread registered in it, so a thread can hand its record back at exit even if the domain is
// already gone. Records are never unlinked while the registry lives; freed ones are recycled.
class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;
  ~Registry() {
    Participant* p = head_.load(std::memory_order_relaxed);
    while (p != nullptr) delete std::exchange(p, p->next);
  }

  // Returns a record owned by the caller: a recycled one if any is free.
  Participant* Acquire() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    active_.fetch_add(1, std::memory_order_relaxed);
    for (Participant* p = head_.load(std::memory_order_relaxed); p != nullptr; p = p->next) {
      // Acquire pairs with Release(): the previous owner is done with the record.
      if (!p->in_use.load(std::memory_order_acquire)) {
        p->in_use.store(true, std::memory_order_relaxed);
        return p;
      }
    }
    auto* p = new Participant;
    p->in_use.store(true, std::memory_order_relaxed);
    p->registry = this;
    p->next = head_.load(std::memory_order_relaxed);
    records_.fetch_add(1, std::memory_order_relaxed);
    head_.store(p, std::memory_order_release);  // publishes p->next to lock-free scanners
    return p;
  }

  // Hands a record back for reuse. REQUIRES: it is unpinned. Lock-free.
  void Release(Participant* p) {
    assert(p->depth == 0 && p->state.load(std::memory_order_relaxed) == 0);
    p->release_on_unpin = false;
    active_.fetch_sub(1, std::memory_order_relaxed);
    p->in_use.store(false, std::memory_order_release);
  }

  // First record; follow Participant::next. Safe without the mutex: the list only grows at the
  // head, and a record's next never changes after publication.
  Participant* head() const { return head_.load(std::memory_order_acquire); }
  uint64_t active() const { return active_.load(std::memory_order_relaxed); }
  uint64_t records() const { return records_.load(std::memory_order_relaxed); }

  // Cleared by the domain's destructor; threads then drop their records lazily.
  std::atomic<bool> domain_alive{true};

 private:
  Mutex mu_;  // serialises Acquire(); scans and Release() need no lock
  std::atomic<Participant*> head_{nullptr};
  std::atomic<uint64_t> active_{0};
  std::atomic<uint64_t> records_{0};
};

}  // namespace internal

namespace {

using internal::Participant;
using internal::Registry;

// The calling thread's registrations, one per domain it has pinned. Its destructor, which runs at
// thread exit, hands every record back to its registry.
class ThreadRecord {
 public:
  ThreadRecord();
  ~ThreadRecord();
  ThreadRecord(const ThreadRecord&) = delete;
  ThreadRecord& operator=(const ThreadRecord&) = delete;

  Participant* Find(uint64_t domain_id) const {
    for (const Entry& e : entries_) {
      if (e.domain_id == domain_id) return e.participant;
    }
    return nullptr;
  }

  Participant* Register(uint64_t domain_id, const std::shared_ptr<Registry>& registry) {
    // Drop registrations in destroyed domains first, so that a long-lived thread that sees many
    // short-lived domains (Db opened and closed in a loop) keeps a bounded list.
    std::erase_if(entries_, [](Entry& e) {
      if (e.registry->domain_alive.load(std::memory_order_acquire)) return false;
      Forget(e);
      return true;
    });
    Participant* p = registry->Acquire();
    entries_.push_back(Entry{domain_id, registry, p});
    return p;
  }

 private:
  struct Entry {
    uint64_t domain_id;
    std::shared_ptr<Registry> registry;
    Participant* participant;
  };

  static void Forget(Entry& e) {
    internal::CacheSlot& slot = internal::tls_cache[e.domain_id % internal::kCacheSlots];
    if (slot.domain_id == e.domain_id) slot = internal::CacheSlot{};
    if (e.participant->depth > 0) {
      // A guard outlives this holder (it lives in a thread_local destroyed later): hand the
      // record back at that guard's unpin. The domain, and so the registry, must outlive it.
      e.participant->release_on_unpin = true;
      return;
    }
    e.registry->Release(e.participant);
  }

  std::vector<Entry> entries_;
};

// Lifetime of this thread's ThreadRecord. Trivially destructible, so it can be read even while
// (or after) thread_local destructors run.
enum class RecordState : unsigned char { kUnborn, kLive, kDestroyed };
constinit thread_local RecordState tls_record_state = RecordState::kUnborn;

ThreadRecord::ThreadRecord() { tls_record_state = RecordState::kLive; }

ThreadRecord::~ThreadRecord() {
  for (Entry& e : entries_) Forget(e);
  entries_.clear();
  for (internal::CacheSlot& slot : internal::tls_cache) slot = internal::CacheSlot{};
  tls_record_state = RecordState::kDestroyed;
}

ThreadRecord& LocalThreadRecord() {
  static thread_local ThreadRecord record;
  return record;
}

}  // namespace

EpochDomain::EpochDomain() : EpochDomain(Options()) {}

EpochDomain::EpochDomain(const Options& options)
    : options_(options),
      id_(next_domain_id.fetch_add(1, std::memory_order_relaxed)),
      registry_(std::make_shared<Registry>()) {}

EpochDomain::~EpochDomain() {
#ifndef NDEBUG
  for (const Participant* p = registry_->head(); p != nullptr; p = p->next) {
    assert(p->state.load(std::memory_order_acquire) == 0 && "EpochDomain destroyed while pinned");
  }
#endif
  // No reader is pinned, so everything is safe; loop because callbacks may retire more.
  for (;;) {
    RetireEntry* batch;
    {
      MutexLock lock(&mu_);
      batch = std::exchange(retired_head_, nullptr);
      retired_tail_ = nullptr;
    }
    if (batch == nullptr) break;
    RunBatch(batch);
  }
  registry_->domain_alive.store(false, std::memory_order_release);
}

Participant* EpochDomain::LocalParticipantSlow() {
  if (tls_record_state == RecordState::kDestroyed) {
    // Pin() from a thread_local destructor that runs after ours: borrow a record for the
    // duration of this pin only.
    Participant* p = registry_->Acquire();
    p->release_on_unpin = true;
    return p;
  }
  ThreadRecord& record = LocalThreadRecord();
  Participant* p = record.Find(id_);
  if (p == nullptr) p = record.Register(id_, registry_);
  internal::tls_cache[id_ % internal::kCacheSlots] = internal::CacheSlot{id_, p};
  return p;
}

void EpochDomain::ReleaseUnownedParticipant(Participant* p) { p->registry->Release(p); }

bool EpochDomain::PinnedByCurrentThread() const {
  const internal::CacheSlot& slot = internal::tls_cache[id_ % internal::kCacheSlots];
  if (slot.domain_id == id_) return slot.participant->depth > 0;
  if (tls_record_state != RecordState::kLive) return false;
  const Participant* p = LocalThreadRecord().Find(id_);
  return p != nullptr && p->depth > 0;
}

void EpochDomain::Retire(std::function<void()> fn, size_t bytes) {
  auto* entry = new FunctionEntry(std::move(fn));
  Enqueue(entry, &FunctionEntry::Run, bytes + sizeof(FunctionEntry));
}

void EpochDomain::Retire(RetireEntry* entry, RetireEntry::ReclaimFn reclaim, size_t bytes) {
  Enqueue(entry, reclaim, bytes);
}

void EpochDomain::Enqueue(RetireEntry* entry, RetireEntry::ReclaimFn reclaim, size_t charge) {
  entry->retire_next_ = nullptr;
  entry->reclaim_ = reclaim;
  entry->retire_charge_ = charge;
  // Orders the caller's unlink before the epoch read below (F_W in the argument above).
  StoreLoadBarrier();
  bool collect_due;
  uint64_t pending;
  {
    MutexLock lock(&mu_);
    // Read under the lock so that epochs are non-decreasing along the queue.
    entry->retire_epoch_ = global_epoch_.load(std::memory_order_relaxed);
    if (retired_tail_ == nullptr) {
      retired_head_ = entry;
    } else {
      retired_tail_->retire_next_ = entry;
    }
    retired_tail_ = entry;
    pending_callbacks_.fetch_add(1, std::memory_order_relaxed);
    pending = pending_bytes_.fetch_add(charge, std::memory_order_relaxed) + charge;
    collect_due = ++retires_since_collect_ >= kRetiresPerCollect;
    if (collect_due) retires_since_collect_ = 0;
  }
  ApplyBackpressure(pending, collect_due);
}

void EpochDomain::ApplyBackpressure(size_t pending_bytes, bool collect_due) {
  if (pending_bytes > options_.hard_backlog_bytes && !PinnedByCurrentThread()) {
    Synchronize();
  } else if (collect_due || pending_bytes > options_.soft_backlog_bytes) {
    Collect();
  }
}

bool EpochDomain::TryAdvance() {
  uint64_t epoch = global_epoch_.load(std::memory_order_acquire);
  // Orders our read of G before the scan (F_A in the argument above).
  StoreLoadBarrier();
  for (const Participant* p = registry_->head(); p != nullptr; p = p->next) {
    // Acquire pairs with the release unpin: the reader's accesses happen-before our advance.
    const uint64_t state = p->state.load(std::memory_order_acquire);
    if ((state & 1) != 0 && (state >> 1) != epoch) return false;
  }
  // Fails only if another thread advanced first, which is just as good.
  global_epoch_.compare_exchange_strong(epoch, epoch + 1, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  return true;
}

void EpochDomain::Collect() {
  TryAdvance();
  ReclaimReady();
}

void EpochDomain::Synchronize() {
  if (PinnedByCurrentThread()) {
    // Our own pin would keep the epoch from ever reaching the target.
    Collect();
    return;
  }
  // A reader pinned before this point shows an epoch <= start (or its unpin), so the advance
  // start+1 -> start+2 cannot happen until it unpins.
  StoreLoadBarrier();
  const uint64_t target = global_epoch_.load(std::memory_order_acquire) + 2;
  for (int attempt = 0; global_epoch_.load(std::memory_order_acquire) < target; ++attempt) {
    if (TryAdvance()) continue;
    // A pinned reader is in the way. Spin briefly (pins are short), then back off to sleeping
    // so that a stalled reader costs the waiting writer no CPU.
    if (attempt < 64) {
      std::this_thread::yield();
    } else {
      const int shift = std::min(attempt - 64, 7);
      std::this_thread::sleep_for(std::chrono::microseconds(8 << shift));  // up to ~1 ms
    }
  }
  ReclaimReady();
}

void EpochDomain::ReclaimReady() {
  // Acquire: synchronises with the advance that made these entries safe.
  const uint64_t epoch = global_epoch_.load(std::memory_order_acquire);
  RetireEntry* batch = nullptr;
  {
    MutexLock lock(&mu_);
    RetireEntry* last = nullptr;
    RetireEntry* e = retired_head_;
    // Objects retired in epoch r are unreachable by every pinned reader once G >= r + 2.
    while (e != nullptr && e->retire_epoch_ + 2 <= epoch) {
      last = e;
      e = e->retire_next_;
    }
    if (last == nullptr) return;
    batch = retired_head_;
    last->retire_next_ = nullptr;
    retired_head_ = e;
    if (e == nullptr) retired_tail_ = nullptr;
  }
  RunBatch(batch);
}

void EpochDomain::RunBatch(RetireEntry* batch) {
  while (batch != nullptr) {
    RetireEntry* e = std::exchange(batch, batch->retire_next_);
    const size_t charge = e->retire_charge_;
    e->reclaim_(e);  // may free e
    pending_bytes_.fetch_sub(charge, std::memory_order_relaxed);
    pending_callbacks_.fetch_sub(1, std::memory_order_relaxed);
    reclaimed_.fetch_add(1, std::memory_order_relaxed);
  }
}

EpochDomain::Stats EpochDomain::GetStats() const {
  Stats s;
  s.epoch = global_epoch_.load(std::memory_order_relaxed);
  s.pending_callbacks = pending_callbacks_.load(std::memory_order_relaxed);
  s.pending_bytes = pending_bytes_.load(std::memory_order_relaxed);
  s.reclaimed = reclaimed_.load(std::memory_order_relaxed);
  s.participants = registry_->active();
  s.participant_records = registry_->records();
  return s;
}

}  // namespace loci::gc
