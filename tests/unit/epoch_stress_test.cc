// Stress test for gc/epoch, meant to run under ThreadSanitizer and AddressSanitizer (CTest labels
// unit;tsan). Readers pin, load a shared pointer and check the object's canary and checksum;
// writers swap in new objects and retire the old ones, whose destructor poisons them. A reader
// that ever sees a poisoned object, or a sanitizer report of a use-after-free or a race between a
// reader's reads and the reclaiming delete, is a reclamation bug.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gc/epoch.h"

namespace loci::gc {
namespace {

constexpr uint64_t kLive = 0x4c6f6369416c6976;    // "LociAliv"
constexpr uint64_t kPoison = 0xdddddddddddddddd;  // what a reclaimed object looks like

std::atomic<int64_t> live_objects{0};

struct Object : RetireEntry {
  explicit Object(uint64_t s) : seq(s) {
    for (int i = 0; i < 6; i++) data[i] = s * 0x9e3779b97f4a7c15 + i;
    sum = Checksum();
    live_objects.fetch_add(1, std::memory_order_relaxed);
  }
  ~Object() {
    // Volatile so the poisoning is not removed as a dead store before the delete.
    volatile uint64_t* words = &canary;
    *words = kPoison;
    volatile uint64_t* payload = data;
    for (int i = 0; i < 6; i++) payload[i] = kPoison;
    live_objects.fetch_sub(1, std::memory_order_relaxed);
  }
  uint64_t Checksum() const {
    uint64_t h = seq;
    for (uint64_t d : data) h = (h ^ d) * 0x100000001b3;
    return h;
  }
  // True if the object is intact; reads every field.
  bool Verify() const { return canary == kLive && sum == Checksum(); }

  uint64_t canary = kLive;
  uint64_t seq;
  uint64_t data[6];
  uint64_t sum;
};

struct Shared {
  explicit Shared(const EpochDomain::Options& options) : domain(options) {
    for (auto& s : slots) s.store(new Object(0), std::memory_order_release);
  }
  ~Shared() {
    // Objects still published were never retired.
    for (auto& s : slots) delete s.load(std::memory_order_relaxed);
  }

  std::atomic<Object*> slots[4];
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad_reads{0};
  std::atomic<uint64_t> reads{0};
  EpochDomain domain;  // destroyed first: runs the pending deletes before the slots go
};

// Pins, reads every slot (sometimes under a nested pin, sometimes repinning between slots), and
// counts objects that fail verification.
void ReadLoop(Shared* shared, uint64_t seed, uint64_t max_rounds) {
  uint64_t rng = seed | 1;
  uint64_t reads = 0, bad = 0;
  for (uint64_t round = 0; round < max_rounds && !shared->stop.load(std::memory_order_relaxed);
       round++) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    auto guard = shared->domain.Pin();
    EpochDomain::Guard nested;
    if (rng % 4 == 0) nested = shared->domain.Pin();
    for (auto& slot : shared->slots) {
      const Object* o = slot.load(std::memory_order_acquire);
      if (!o->Verify()) bad++;
      reads++;
      // Repin between slots: only the pointers loaded after it are used afterwards.
      if (rng % 8 == 1 && !nested.pinned()) guard.Repin();
    }
  }
  shared->reads.fetch_add(reads);
  shared->bad_reads.fetch_add(bad);
}

// Replaces objects in the slots and retires the old ones, alternating the intrusive and the
// std::function form, with periodic grace periods.
void WriteLoop(Shared* shared, int writer, int iterations) {
  for (int i = 1; i <= iterations; i++) {
    auto* fresh = new Object(static_cast<uint64_t>(writer) << 32 | static_cast<uint64_t>(i));
    Object* old = shared->slots[(i + writer) % 4].exchange(fresh, std::memory_order_acq_rel);
    if (i % 2 == 0) {
      shared->domain.RetireDelete(old);
    } else {
      shared->domain.Retire([old] { delete old; }, sizeof(Object));
    }
    if (i % 500 == 0) shared->domain.Synchronize();
    if (i % 97 == 0) shared->domain.Collect();
  }
}

TEST(EpochStressTest, ReadersNeverSeeReclaimedObjects) {
  constexpr int kReaders = 3;
  constexpr int kWriters = 2;
  constexpr int kIterations = 12000;
  EpochDomain::Options options;
  // Small limits, so the soft (collect) and hard (grace period) paths run all the time.
  options.soft_backlog_bytes = 16 * sizeof(Object);
  options.hard_backlog_bytes = 256 * sizeof(Object);
  {
    Shared shared(options);
    std::vector<std::thread> readers, writers;
    for (int r = 0; r < kReaders; r++) {
      readers.emplace_back(ReadLoop, &shared, 0x1234567 + r, UINT64_MAX);
    }
    for (int w = 0; w < kWriters; w++) writers.emplace_back(WriteLoop, &shared, w, kIterations);
    for (auto& t : writers) t.join();
    shared.stop = true;
    for (auto& t : readers) t.join();

    EXPECT_EQ(shared.bad_reads.load(), 0u) << "a reader saw a reclaimed object";
    EXPECT_GT(shared.reads.load(), 0u);
    const EpochDomain::Stats s = shared.domain.GetStats();
    EXPECT_EQ(s.participants, 0u) << "reader threads exited, their records must be released";
    EXPECT_GT(s.reclaimed, 0u);
    EXPECT_LE(s.pending_bytes, options.hard_backlog_bytes + 64 * sizeof(Object));
  }
  EXPECT_EQ(live_objects.load(), 0) << "retired objects leaked or were freed twice";
}

// Short-lived reader threads register and unregister while writers retire: records are recycled
// under concurrent scans by advancing writers.
TEST(EpochStressTest, ThreadChurnWhileRetiring) {
  constexpr int kWaves = 60;
  constexpr int kThreadsPerWave = 3;
  EpochDomain::Options options;
  options.soft_backlog_bytes = 8 * sizeof(Object);
  options.hard_backlog_bytes = 64 * sizeof(Object);
  uint64_t records = 0;
  {
    Shared shared(options);
    std::thread writer([&] {
      int i = 0;
      while (!shared.stop.load(std::memory_order_relaxed)) WriteLoop(&shared, 7, 100), i++;
    });
    for (int wave = 0; wave < kWaves; wave++) {
      std::vector<std::thread> readers;
      for (int r = 0; r < kThreadsPerWave; r++) {
        readers.emplace_back(ReadLoop, &shared, 0xabcdef + wave * 8 + r, 200);
      }
      for (auto& t : readers) t.join();
    }
    shared.stop = true;
    writer.join();
    EXPECT_EQ(shared.bad_reads.load(), 0u) << "a reader saw a reclaimed object";
    EXPECT_GT(shared.reads.load(), 0u);
    const EpochDomain::Stats s = shared.domain.GetStats();
    EXPECT_EQ(s.participants, 0u);
    records = s.participant_records;
  }
  // At most the readers of one wave (plus the writer, if it ever pinned) were alive at once.
  EXPECT_LE(records, static_cast<uint64_t>(kThreadsPerWave + 1));
  EXPECT_EQ(live_objects.load(), 0);
}

}  // namespace
}  // namespace loci::gc
