// Tests of common/mutex.h: a CondVar hands a value back and forth between two threads with no
// lost wake-up; MutexUnlock lets another thread take the mutex inside a MutexLock's scope and
// gives it back; SharedMutex admits readers together and a writer alone. (Whether the
// annotations are right is checked at compile time, by the clang-tsa preset.)

#include "common/mutex.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace loci {
namespace {

// GUARDED_BY applies to data members only.
struct Shared {
  Mutex mu;
  CondVar cv;
  int value GUARDED_BY(mu) = 0;
};

TEST(CondVarTest, PingPong) {
  Shared s;  // value: whose turn it is, even the main thread's, odd the other's
  constexpr int kRounds = 1000;
  std::thread other([&] {
    MutexLock lock(&s.mu);
    for (int i = 0; i < kRounds; ++i) {
      while (s.value % 2 == 0) s.cv.Wait(&s.mu);
      ++s.value;
      s.cv.Signal();
    }
  });
  {
    MutexLock lock(&s.mu);
    for (int i = 0; i < kRounds; ++i) {
      while (s.value % 2 == 1) s.cv.Wait(&s.mu);
      ++s.value;
      s.cv.Signal();
    }
    while (s.value != 2 * kRounds) s.cv.Wait(&s.mu);
  }
  other.join();
}

TEST(CondVarTest, SignalAllWakesEveryWaiter) {
  Shared s;  // value: 1 once the waiters may go
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      MutexLock lock(&s.mu);
      while (s.value == 0) s.cv.Wait(&s.mu);
      woken.fetch_add(1);
    });
  }
  {
    MutexLock lock(&s.mu);
    s.value = 1;
  }
  s.cv.SignalAll();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(woken.load(), 4);
}

TEST(MutexUnlockTest, ReleasesAndRetakes) {
  Shared s;
  MutexLock lock(&s.mu);
  s.value = 1;
  {
    MutexUnlock unlock(&s.mu);
    std::thread([&] {
      MutexLock inner(&s.mu);  // would deadlock if the unlock did not release
      s.value = 2;
    }).join();
  }
  EXPECT_EQ(s.value, 2);  // held again here: the analysis accepts the read
}

struct SharedRw {
  SharedMutex mu;
  int value GUARDED_BY(mu) = 0;
};

TEST(SharedMutexTest, ReadersTogetherWriterAlone) {
  SharedRw s;
  {
    ReaderMutexLock first(&s.mu);
    // A second reader gets in while the first holds it (a writer would block this thread).
    std::thread([&] {
      ReaderMutexLock second(&s.mu);
      EXPECT_EQ(s.value, 0);
    }).join();
  }
  std::atomic<bool> written{false};
  std::thread writer;
  {
    ReaderMutexLock reader(&s.mu);
    writer = std::thread([&] {
      WriterMutexLock lock(&s.mu);
      s.value = 1;
      written.store(true);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(written.load());  // the writer waits for the reader
  }
  writer.join();
  ReaderMutexLock reader(&s.mu);
  EXPECT_EQ(s.value, 1);
}

}  // namespace
}  // namespace loci
