// Unit tests for gc/epoch: when retired callbacks may run, participant lifecycle, grace periods
// and the bounded retire backlog. No test asserts on timing; waits are bounded by generous
// timeouts that only fire on a hang.

#include "gc/epoch.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace loci::gc {
namespace {

using namespace std::chrono_literals;

constexpr auto kHangTimeout = 60s;

// Polls `cond` until it holds or `timeout` passes. Returns whether it held.
bool WaitUntil(const std::function<bool()>& cond,
               std::chrono::milliseconds timeout = kHangTimeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// A one-shot signal between threads.
class Event {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool set_ = false;
};

// Runs `fn` on its own thread and waits for it to finish. A hang cannot be recovered from (the
// stuck thread may hold references into the test's stack), so it aborts with a message instead
// of leaving CTest to time out.
void RunOrAbort(const char* what, std::function<void()> fn) {
  std::atomic<bool> done{false};
  std::thread t([&] {
    fn();
    done.store(true);
  });
  if (!WaitUntil([&] { return done.load(); })) {
    std::fprintf(stderr, "HANG: %s did not return within the timeout\n", what);
    std::abort();
  }
  t.join();
}

// A reader on its own thread that pins `domain` until told to unpin.
class PinnedReader {
 public:
  explicit PinnedReader(EpochDomain* domain)
      : thread_([this, domain] {
          {
            auto guard = domain->Pin();
            pinned_.Set();
            unpin_.Wait();
          }
          unpinned_.Set();
          exit_.Wait();
        }) {
    pinned_.Wait();
  }
  ~PinnedReader() {
    Unpin();
    exit_.Set();
    thread_.join();
  }
  void Unpin() {
    unpin_.Set();
    unpinned_.Wait();
  }

 private:
  Event pinned_, unpin_, unpinned_, exit_;
  std::thread thread_;
};

TEST(EpochTest, RetireWaitsForReaderPinnedOnAnotherThread) {
  EpochDomain domain;
  std::atomic<int> runs{0};
  {
    PinnedReader reader(&domain);
    domain.Retire([&] { runs++; });
    for (int i = 0; i < 10; i++) domain.Collect();
    EXPECT_EQ(runs.load(), 0) << "callback ran while a reader pinned before Retire was pinned";
    EXPECT_EQ(domain.GetStats().pending_callbacks, 1u);
    reader.Unpin();
    domain.Synchronize();
    EXPECT_EQ(runs.load(), 1);
  }
  EXPECT_EQ(domain.GetStats().pending_callbacks, 0u);
  EXPECT_EQ(runs.load(), 1);  // exactly once
}

TEST(EpochTest, RetireWaitsForOwnPinAndCollectRunsItAfterUnpin) {
  EpochDomain domain;
  int runs = 0;
  auto guard = domain.Pin();
  EXPECT_TRUE(guard.pinned());
  domain.Retire([&] { runs++; });
  for (int i = 0; i < 10; i++) domain.Collect();
  EXPECT_EQ(runs, 0);
  guard.Reset();
  EXPECT_FALSE(guard.pinned());
  for (int i = 0; i < 3; i++) domain.Collect();  // two advances, then reclaim
  EXPECT_EQ(runs, 1);
}

TEST(EpochTest, ReaderPinnedInALaterEpochDoesNotBlockOlderRetires) {
  EpochDomain domain;
  int runs = 0;
  domain.Retire([&] { runs++; });
  domain.Collect();  // the epoch moves past the retire's
  EXPECT_EQ(runs, 0);
  // This reader pinned after the object was unlinked and in a later epoch: it cannot have seen
  // the object and must not hold it back.
  auto guard = domain.Pin();
  for (int i = 0; i < 3; i++) domain.Collect();
  EXPECT_EQ(runs, 1);
}

TEST(EpochTest, NestedPinsAreCountedOnOneThread) {
  EpochDomain domain;
  int runs = 0;
  auto outer = domain.Pin();
  {
    auto inner = domain.Pin();
    EXPECT_TRUE(domain.PinnedByCurrentThread());
    domain.Retire([&] { runs++; });
  }
  // The inner guard is gone; the outer one must still protect.
  EXPECT_TRUE(domain.PinnedByCurrentThread());
  for (int i = 0; i < 10; i++) domain.Collect();
  EXPECT_EQ(runs, 0);
  EXPECT_EQ(domain.GetStats().participants, 1u);  // one record for both pins
  outer.Reset();
  EXPECT_FALSE(domain.PinnedByCurrentThread());
  domain.Synchronize();
  EXPECT_EQ(runs, 1);
}

TEST(EpochTest, GuardMoveTransfersThePin) {
  EpochDomain domain;
  int runs = 0;
  EpochDomain::Guard a = domain.Pin();
  EpochDomain::Guard b = std::move(a);
  EXPECT_FALSE(a.pinned());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b.pinned());
  domain.Retire([&] { runs++; });
  a.Reset();  // resetting an empty guard must not unpin the thread
  for (int i = 0; i < 10; i++) domain.Collect();
  EXPECT_EQ(runs, 0);
  EpochDomain::Guard c;
  c = std::move(b);
  EXPECT_TRUE(domain.PinnedByCurrentThread());
  c = EpochDomain::Guard();  // move-assigning over a pinned guard unpins
  EXPECT_FALSE(domain.PinnedByCurrentThread());
  domain.Synchronize();
  EXPECT_EQ(runs, 1);
}

TEST(EpochTest, SynchronizeWithNoReaders) {
  EpochDomain domain;
  const uint64_t epoch0 = domain.GetStats().epoch;
  int runs = 0;
  domain.Retire([&] { runs++; });
  domain.Synchronize();
  EXPECT_EQ(runs, 1);
  EXPECT_GE(domain.GetStats().epoch, epoch0 + 2);
  domain.Synchronize();  // nothing pending: still returns
  EXPECT_EQ(runs, 1);
}

TEST(EpochTest, SynchronizeIsNotStarvedByReadersThatKeepPinning) {
  EpochDomain domain;
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 2; i++) {
    readers.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        auto guard = domain.Pin();
        auto nested = domain.Pin();
      }
    });
  }
  int runs = 0;
  RunOrAbort("Synchronize under reader churn", [&] {
    for (int i = 0; i < 100; i++) {
      domain.Retire([&] { runs++; });
      domain.Synchronize();
    }
  });
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(runs, 100);
}

TEST(EpochTest, SynchronizeWhilePinnedReturnsWithoutWaiting) {
  EpochDomain domain;
  std::atomic<int> runs{0};
  RunOrAbort("Synchronize from a pinned thread", [&] {
    auto guard = domain.Pin();
    domain.Retire([&] { runs++; });
    domain.Synchronize();  // would deadlock if it waited for its own caller
    EXPECT_EQ(runs.load(), 0) << "ran a callback the caller's own pin protects";
    EXPECT_TRUE(domain.PinnedByCurrentThread());
  });
  domain.Synchronize();
  EXPECT_EQ(runs.load(), 1);
}

TEST(EpochTest, DestructorRunsPendingCallbacksIncludingRetiredByCallbacks) {
  int runs = 0;
  {
    EpochDomain domain;
    {
      auto guard = domain.Pin();  // keep them pending
      domain.Retire([&] { runs++; });
      domain.Retire([&] {
        runs++;
        domain.Retire([&] { runs++; });  // retiring from a callback during destruction
      });
    }
    EXPECT_EQ(runs, 0);
  }
  EXPECT_EQ(runs, 3);
}

TEST(EpochTest, CallbacksMayRetireAndPinWithoutDeadlock) {
  EpochDomain domain;
  int depth = 0;
  std::function<void()> chain = [&] {
    auto guard = domain.Pin();
    if (++depth < 5) domain.Retire(chain);
  };
  domain.Retire(chain);
  RunOrAbort("re-entrant callbacks", [&] {
    for (int i = 0; i < 20 && depth < 5; i++) domain.Synchronize();
  });
  EXPECT_EQ(depth, 5);
}

struct Tracked : RetireEntry {
  explicit Tracked(int* d) : destroyed(d) {}
  ~Tracked() { ++*destroyed; }
  int* destroyed;
  char payload[100] = {};
};

struct Plain {
  explicit Plain(int* d) : destroyed(d) {}
  ~Plain() { ++*destroyed; }
  int* destroyed;
};

TEST(EpochTest, RetireDeleteIntrusiveAndPlain) {
  int destroyed = 0;
  EpochDomain domain;
  {
    auto guard = domain.Pin();
    domain.RetireDelete(new Tracked(&destroyed));
    domain.RetireDelete(new Plain(&destroyed));
    EXPECT_EQ(domain.GetStats().pending_callbacks, 2u);
    // The intrusive form charges exactly sizeof(T); the boxed form adds its node.
    EXPECT_GE(domain.GetStats().pending_bytes, sizeof(Tracked) + sizeof(Plain));
  }
  domain.Synchronize();
  EXPECT_EQ(destroyed, 2);
}

TEST(EpochTest, Stats) {
  EpochDomain domain;
  EpochDomain::Stats s = domain.GetStats();
  EXPECT_EQ(s.pending_callbacks, 0u);
  EXPECT_EQ(s.pending_bytes, 0u);
  EXPECT_EQ(s.reclaimed, 0u);
  EXPECT_EQ(s.participants, 0u);
  const uint64_t epoch0 = s.epoch;

  struct Node : RetireEntry {
    char bytes[40];
  };
  {
    auto guard = domain.Pin();
    for (int i = 0; i < 3; i++) domain.RetireDelete(new Node);
    domain.Retire([] {}, 1000);
    s = domain.GetStats();
    EXPECT_EQ(s.participants, 1u);
    EXPECT_EQ(s.pending_callbacks, 4u);
    EXPECT_GT(s.pending_bytes, 3 * sizeof(Node) + 1000);
    EXPECT_LT(s.pending_bytes, 3 * sizeof(Node) + 1000 + 1024);
  }
  domain.Synchronize();
  s = domain.GetStats();
  EXPECT_EQ(s.pending_callbacks, 0u);
  EXPECT_EQ(s.pending_bytes, 0u);
  EXPECT_EQ(s.reclaimed, 4u);
  EXPECT_GE(s.epoch, epoch0 + 2);
  EXPECT_EQ(s.participants, 1u);  // this thread stays registered until it exits
}

TEST(EpochTest, ThreadExitReleasesParticipant) {
  EpochDomain domain;
  const uint64_t baseline = domain.GetStats().participants;
  constexpr int kThreads = 8;
  std::atomic<int> registered{0};
  Event release;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      { auto guard = domain.Pin(); }
      registered++;
      release.Wait();
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return registered.load() == kThreads; }));
  EXPECT_EQ(domain.GetStats().participants, baseline + kThreads);
  release.Set();
  for (auto& t : threads) t.join();
  EXPECT_EQ(domain.GetStats().participants, baseline);
  EXPECT_EQ(domain.GetStats().participant_records, static_cast<uint64_t>(kThreads));

  // The freed records are reused, not added to.
  threads.clear();
  registered = 0;
  Event release2;
  for (int i = 0; i < kThreads; i++) {
    threads.emplace_back([&] {
      { auto guard = domain.Pin(); }
      registered++;
      release2.Wait();
    });
  }
  ASSERT_TRUE(WaitUntil([&] { return registered.load() == kThreads; }));
  EXPECT_EQ(domain.GetStats().participant_records, static_cast<uint64_t>(kThreads));
  release2.Set();
  for (auto& t : threads) t.join();
  EXPECT_EQ(domain.GetStats().participants, baseline);
}

TEST(EpochTest, ManyShortLivedThreadsDoNotGrowTheRegistry) {
  EpochDomain domain;
  { auto guard = domain.Pin(); }  // this thread: one record
  int runs = 0;
  for (int i = 0; i < 2000; i++) {
    std::thread([&] {
      auto guard = domain.Pin();
      auto nested = domain.Pin();
    }).join();
    if (i % 100 == 0) domain.Retire([&] { runs++; });
  }
  EpochDomain::Stats s = domain.GetStats();
  EXPECT_EQ(s.participants, 1u);
  EXPECT_LE(s.participant_records, 2u);  // ours + one recycled by every short thread
  domain.Synchronize();
  EXPECT_EQ(runs, 20);
}

TEST(EpochTest, DomainDestroyedBeforeThreadThatUsedItExits) {
  auto a = std::make_unique<EpochDomain>();
  Event pinned_a, destroyed_a, done;
  std::unique_ptr<EpochDomain> b;
  uint64_t b_participants_seen = 0;
  std::thread t([&] {
    { auto guard = a->Pin(); }
    pinned_a.Set();
    destroyed_a.Wait();
    // A new domain may reuse the old one's address; it must get its own participant.
    { auto guard = b->Pin(); }
    b_participants_seen = b->GetStats().participants;
    done.Set();
  });
  pinned_a.Wait();
  EXPECT_EQ(a->GetStats().participants, 1u);
  a.reset();
  b = std::make_unique<EpochDomain>();
  destroyed_a.Set();
  done.Wait();
  t.join();  // thread exit hands back records of a dead and of a live domain
  EXPECT_EQ(b_participants_seen, 1u);
  EXPECT_EQ(b->GetStats().participants, 0u);
}

TEST(EpochTest, LongLivedThreadSeesManyShortLivedDomains) {
  // The Db-opened-in-a-loop case: registrations in dead domains must not pile up or confuse
  // later domains allocated at the same address.
  for (int i = 0; i < 1000; i++) {
    EpochDomain domain;
    int runs = 0;
    {
      auto guard = domain.Pin();
      EXPECT_EQ(domain.GetStats().participants, 1u);
      domain.Retire([&] { runs++; });
    }
    domain.Synchronize();
    ASSERT_EQ(runs, 1);
  }
}

TEST(EpochTest, DomainsAreIndependent) {
  EpochDomain a, b;
  int runs_a = 0, runs_b = 0;
  {
    auto guard_a = a.Pin();
    {
      auto guard_b = b.Pin();
      a.Retire([&] { runs_a++; });
      b.Retire([&] { runs_b++; });
    }
    // Pinned in a only: b's retire is free to run, a's is not.
    b.Synchronize();
    EXPECT_EQ(runs_b, 1);
    for (int i = 0; i < 10; i++) a.Collect();
    EXPECT_EQ(runs_a, 0);
    EXPECT_TRUE(a.PinnedByCurrentThread());
    EXPECT_FALSE(b.PinnedByCurrentThread());
  }
  a.Synchronize();
  EXPECT_EQ(runs_a, 1);
  // More domains than per-thread cache slots, pinned together.
  std::vector<std::unique_ptr<EpochDomain>> many;
  std::vector<EpochDomain::Guard> guards;
  for (int i = 0; i < 9; i++) many.push_back(std::make_unique<EpochDomain>());
  for (auto& d : many) guards.push_back(d->Pin());
  for (auto& d : many) EXPECT_TRUE(d->PinnedByCurrentThread());
  guards.clear();
  for (auto& d : many) EXPECT_FALSE(d->PinnedByCurrentThread());
}

TEST(EpochTest, RepinLetsOlderRetiresRun) {
  EpochDomain domain;
  int runs = 0;
  Event pinned, repin, repinned, exit;
  std::thread reader([&] {
    auto guard = domain.Pin();
    pinned.Set();
    repin.Wait();
    guard.Repin();
    repinned.Set();
    exit.Wait();
  });
  pinned.Wait();
  domain.Retire([&] { runs++; });
  for (int i = 0; i < 10; i++) domain.Collect();
  EXPECT_EQ(runs, 0);
  repin.Set();
  repinned.Wait();
  for (int i = 0; i < 3; i++) domain.Collect();
  EXPECT_EQ(runs, 1) << "a repinned reader still held back a retire from before the repin";
  exit.Set();
  reader.join();
}

// A thread_local whose destructor pins after the thread's registration holder is gone.
struct PinsAtThreadExit {
  EpochDomain* domain = nullptr;
  ~PinsAtThreadExit() {
    if (domain == nullptr) return;
    auto guard = domain->Pin();
    domain->Retire([] {});
  }
};

TEST(EpochTest, PinFromThreadLocalDestructorAfterRegistrationIsGone) {
  EpochDomain domain;
  std::thread t([&] {
    static thread_local PinsAtThreadExit late;  // constructed first, so destroyed last
    late.domain = &domain;
    auto guard = domain.Pin();  // registers the thread (its holder is destroyed before `late`)
  });
  t.join();
  EXPECT_EQ(domain.GetStats().participants, 0u);
  domain.Synchronize();
  EXPECT_EQ(domain.GetStats().pending_callbacks, 0u);
}

// A thread_local guard that is still pinned when the thread's registration holder is destroyed.
struct GuardAtThreadExit {
  EpochDomain::Guard guard;
};

TEST(EpochTest, GuardOutlivingRegistrationHolderIsReleasedAtUnpin) {
  EpochDomain domain;
  std::thread t([&] {
    static thread_local GuardAtThreadExit late;  // constructed first, so destroyed last
    late.guard = domain.Pin();                   // registers the thread after `late`
  });
  t.join();
  EXPECT_EQ(domain.GetStats().participants, 0u);
  // The record was not handed back while still pinned: it is reusable now, exactly once.
  std::thread([&] { auto guard = domain.Pin(); }).join();
  EXPECT_EQ(domain.GetStats().participant_records, 1u);
}

TEST(EpochTest, AboveSoftLimitEveryRetireCollects) {
  EpochDomain::Options options;
  options.soft_backlog_bytes = 0;
  EpochDomain domain(options);
  uint64_t max_pending = 0;
  for (int i = 0; i < 1000; i++) {
    domain.Retire([] {}, 100);
    max_pending = std::max(max_pending, domain.GetStats().pending_callbacks);
  }
  // Each call advances once and reclaims what is two epochs old.
  EXPECT_LE(max_pending, 3u);
  EXPECT_GE(domain.GetStats().reclaimed, 997u);
}

TEST(EpochTest, HardLimitBlocksRetiringWriterUntilStalledReaderUnpins) {
  EpochDomain::Options options;
  options.soft_backlog_bytes = 1024;
  options.hard_backlog_bytes = 8 * 1024;
  EpochDomain domain(options);
  std::atomic<int> runs{0};
  std::atomic<bool> writer_done{false};
  constexpr int kRetires = 32;  // 32 KiB: four times the hard limit

  auto reader = std::make_unique<PinnedReader>(&domain);  // stalls, pinned
  std::thread writer([&] {
    for (int i = 0; i < kRetires; i++) domain.Retire([&] { runs++; }, 1024);
    writer_done = true;
  });

  // The writer fills the backlog past the hard limit, then must wait, not grow it further.
  bool over =
      WaitUntil([&] { return domain.GetStats().pending_bytes > options.hard_backlog_bytes; });
  std::this_thread::sleep_for(50ms);  // give a broken implementation time to run ahead
  const EpochDomain::Stats s = domain.GetStats();
  EXPECT_TRUE(over);
  EXPECT_FALSE(writer_done.load()) << "writer finished while a reader pinned before its retires "
                                      "was still pinned";
  EXPECT_EQ(runs.load(), 0);
  EXPECT_LE(s.pending_bytes, options.hard_backlog_bytes + 2048) << "backlog kept growing";

  reader->Unpin();
  const bool finished = WaitUntil([&] { return writer_done.load(); });
  reader.reset();
  writer.join();
  EXPECT_TRUE(finished);
  EXPECT_GT(runs.load(), 0);
  domain.Synchronize();
  EXPECT_EQ(runs.load(), kRetires);
}

TEST(EpochTest, PinnedWriterAboveHardLimitCollectsInsteadOfDeadlocking) {
  EpochDomain::Options options;
  options.soft_backlog_bytes = 0;
  options.hard_backlog_bytes = 0;
  EpochDomain domain(options);
  int runs = 0;
  RunOrAbort("Retire above the hard limit from a pinned thread", [&] {
    auto guard = domain.Pin();
    for (int i = 0; i < 10; i++) domain.Retire([&] { runs++; }, 1 << 20);
    EXPECT_EQ(runs, 0);
  });
  domain.Synchronize();
  EXPECT_EQ(runs, 10);
}

}  // namespace
}  // namespace loci::gc
