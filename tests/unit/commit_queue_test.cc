// Tests of wal::CommitQueue, the leader/follower group commit: every writer of many concurrent
// threads completes exactly once with the status its group processor set for it; groups respect
// the byte cap (and the small-leader cap of its size + 128 KiB); a sync writer never joins a
// group led by a non-sync writer; groups keep FIFO order and are led by the writer whose thread
// runs them; no two groups (or exclusive sections) ever run at once; and RunExclusive runs
// between the groups before and after it, never merged into one.

#include "wal/commit_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace loci::wal {
namespace {

using Group = std::span<CommitQueue::Writer* const>;
using std::chrono::milliseconds;

// What a test's writers put in Writer::request.
struct Request {
  int thread = 0;
  int seq = 0;
  std::string name;
};

Request* Req(const CommitQueue::Writer* w) { return static_cast<Request*>(w->request); }

// Blocks callers of Wait() until Open().
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Waits (bounded) until `flag` is set.
bool WaitFor(const std::atomic<bool>& flag) {
  for (int i = 0; i < 5000 && !flag.load(); ++i) std::this_thread::sleep_for(milliseconds(1));
  return flag.load();
}

// Asserts mutual exclusion of whatever brackets itself with Enter/Leave.
class ExclusionChecker {
 public:
  void Enter() {
    if (active_.fetch_add(1) != 0) overlaps_.fetch_add(1);
  }
  void Leave() { active_.fetch_sub(1); }
  int overlaps() const { return overlaps_.load(); }

 private:
  std::atomic<int> active_{0};
  std::atomic<int> overlaps_{0};
};

TEST(CommitQueueTest, ALoneWriterLeadsItsOwnGroupAndGetsItsStatus) {
  CommitQueue q(1 << 20);
  Request r{0, 0, "solo"};
  CommitQueue::Writer w;
  w.request = &r;
  w.bytes = 10;
  int calls = 0;
  Status s = q.Commit(&w, [&](Group group) {
    ++calls;
    EXPECT_EQ(group.size(), 1u);
    EXPECT_EQ(group[0], &w);
    group[0]->status = Status::IOError("solo failed");
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(s.IsIOError());
  EXPECT_EQ(s.message(), "solo failed");

  CommitQueue::Writer w2;
  w2.request = &r;
  EXPECT_TRUE(q.Commit(&w2, [](Group group) { group[0]->status = Status::OK(); }).ok());
}

// 8 threads x 200 commits; the processor fails some writers and not others, so a status handed
// to the wrong writer shows.
TEST(CommitQueueTest, ConcurrentWritersAllCompleteWithTheStatusTheirProcessorSet) {
  constexpr int kThreads = 8, kPerThread = 200;
  CommitQueue q(64 << 10);
  std::vector<std::atomic<int>> processed(kThreads * kPerThread);
  std::atomic<int> groups{0}, multi_member_groups{0}, wrong_status{0}, wrong_leader{0},
      out_of_order{0};
  ExclusionChecker exclusion;
  std::vector<int> last_seq(kThreads, -1);  // guarded by the queue: only the processor touches it

  auto should_fail = [](const Request& r) { return (r.thread * 7 + r.seq) % 5 == 0; };
  auto worker = [&](int t) {
    std::mt19937 rng(t);
    for (int i = 0; i < kPerThread; ++i) {
      Request r{t, i, "w" + std::to_string(t) + "." + std::to_string(i)};
      CommitQueue::Writer w;
      w.request = &r;
      w.sync = rng() % 2 == 0;
      w.bytes = 64 + rng() % 4096;
      Status s = q.Commit(&w, [&](Group group) {
        exclusion.Enter();
        groups.fetch_add(1);
        if (group.size() > 1) multi_member_groups.fetch_add(1);
        // The leader is the first member, and it is this thread's own writer.
        if (Req(group[0])->thread != t) wrong_leader.fetch_add(1);
        for (CommitQueue::Writer* m : group) {
          Request* req = Req(m);
          processed[req->thread * kPerThread + req->seq].fetch_add(1);
          if (req->seq != last_seq[req->thread] + 1) out_of_order.fetch_add(1);
          last_seq[req->thread] = req->seq;
          m->status = should_fail(*req) ? Status::IOError(req->name) : Status::OK();
        }
        std::this_thread::sleep_for(std::chrono::microseconds(50));
        exclusion.Leave();
      });
      const bool ok = should_fail(r) ? (s.IsIOError() && s.message() == r.name) : s.ok();
      if (!ok) wrong_status.fetch_add(1);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();

  for (int i = 0; i < kThreads * kPerThread; ++i) {
    ASSERT_EQ(processed[i].load(), 1) << "request " << i;
  }
  EXPECT_EQ(wrong_status.load(), 0);
  EXPECT_EQ(wrong_leader.load(), 0);
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(exclusion.overlaps(), 0);
  EXPECT_GT(multi_member_groups.load(), 0) << "no group ever formed: the test proves little";
  std::printf("%d commits in %d groups (%d with followers)\n", kThreads * kPerThread, groups.load(),
              multi_member_groups.load());
}

TEST(CommitQueueTest, GroupsRespectTheByteCaps) {
  constexpr size_t kMax = 1 << 20;
  constexpr size_t kSmallCap = 128 << 10;
  CommitQueue q(kMax);
  std::atomic<int> too_big{0}, multi{0};
  auto worker = [&](int t) {
    std::mt19937 rng(100 + t);
    const size_t sizes[] = {100, 20 << 10, 60 << 10, 200 << 10, 700 << 10};
    for (int i = 0; i < 100; ++i) {
      Request r{t, i, ""};
      CommitQueue::Writer w;
      w.request = &r;
      w.sync = false;
      w.bytes = sizes[rng() % std::size(sizes)];
      Status s = q.Commit(&w, [&](Group group) {
        size_t total = 0;
        for (CommitQueue::Writer* m : group) total += m->bytes;
        const size_t leader = group[0]->bytes;
        const size_t cap = leader <= kSmallCap ? std::min(kMax, leader + kSmallCap) : kMax;
        if (group.size() > 1) {
          multi.fetch_add(1);
          if (total > cap) too_big.fetch_add(1);
        }
        for (CommitQueue::Writer* m : group) m->status = Status::OK();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      });
      EXPECT_TRUE(s.ok());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(too_big.load(), 0);
  EXPECT_GT(multi.load(), 0);
}

TEST(CommitQueueTest, ASyncWriterNeverJoinsAGroupLedByANonSyncWriter) {
  CommitQueue q(1 << 20);
  std::atomic<int> violations{0}, non_sync_led_groups{0};
  auto worker = [&](int t) {
    std::mt19937 rng(200 + t);
    for (int i = 0; i < 150; ++i) {
      Request r{t, i, ""};
      CommitQueue::Writer w;
      w.request = &r;
      w.sync = rng() % 3 == 0;
      w.bytes = 100;
      Status s = q.Commit(&w, [&](Group group) {
        // (A sync leader may take non-sync writers along: their write becomes durable early.)
        if (!group[0]->sync) {
          if (group.size() > 1) non_sync_led_groups.fetch_add(1);
          for (CommitQueue::Writer* m : group) {
            if (m->sync) violations.fetch_add(1);
          }
        }
        for (CommitQueue::Writer* m : group) m->status = Status::OK();
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      });
      EXPECT_TRUE(s.ok());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_GT(non_sync_led_groups.load(), 0) << "no multi-member non-sync group formed";
}

// A harness that queues named writers behind a leader held inside its processor, in a known
// order, then lets everything run and reports the groups in the order they were processed.
class QueueScript {
 public:
  explicit QueueScript(size_t max_group_bytes) : q_(max_group_bytes) {}

  // Starts the writer that becomes the first leader and holds it inside the processor.
  void StartHeldLeader(const std::string& name, bool sync) {
    Spawn(name, sync, 100);
    EXPECT_TRUE(WaitFor(leader_inside_)) << "the first leader never ran";
  }
  // Starts a writer and waits long enough for it to be queued.
  void Enqueue(const std::string& name, bool sync, size_t bytes = 100) {
    Spawn(name, sync, bytes);
    Settle();
  }
  void EnqueueExclusive(const std::string& name) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    threads_.emplace_back([this, name, started] {
      started->store(true);
      Status s = q_.RunExclusive([&] {
        exclusion_.Enter();
        Record({"<" + name + ">"});
        exclusion_.Leave();
        return Status::IOError(name);
      });
      std::lock_guard<std::mutex> lock(mu_);
      results_[name] = s;
    });
    EXPECT_TRUE(WaitFor(*started));
    Settle();
  }
  void Release() {
    gate_.Open();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

  std::vector<std::vector<std::string>> groups() {
    std::lock_guard<std::mutex> lock(mu_);
    return groups_;
  }
  Status result(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return results_[name];
  }
  int overlaps() const { return exclusion_.overlaps(); }

 private:
  static void Settle() { std::this_thread::sleep_for(milliseconds(60)); }

  void Record(std::vector<std::string> names) {
    std::lock_guard<std::mutex> lock(mu_);
    groups_.push_back(std::move(names));
  }

  void Spawn(const std::string& name, bool sync, size_t bytes) {
    auto started = std::make_shared<std::atomic<bool>>(false);
    threads_.emplace_back([this, name, sync, bytes, started] {
      Request r{0, 0, name};
      CommitQueue::Writer w;
      w.request = &r;
      w.sync = sync;
      w.bytes = bytes;
      started->store(true);
      Status s = q_.Commit(&w, [&](Group group) {
        exclusion_.Enter();
        std::vector<std::string> names;
        for (CommitQueue::Writer* m : group) {
          names.push_back(Req(m)->name);
          m->status = Status::IOError(Req(m)->name);
        }
        Record(names);
        if (!leader_inside_.exchange(true)) gate_.Wait();
        exclusion_.Leave();
      });
      std::lock_guard<std::mutex> lock(mu_);
      results_[name] = s;
    });
    EXPECT_TRUE(WaitFor(*started));
  }

  CommitQueue q_;
  Gate gate_;
  std::atomic<bool> leader_inside_{false};
  ExclusionChecker exclusion_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<std::vector<std::string>> groups_;
  std::map<std::string, Status> results_;
};

using Groups = std::vector<std::vector<std::string>>;

TEST(CommitQueueTest, GroupsFormInFifoOrderAndStopAtASyncWriterBehindANonSyncLeader) {
  QueueScript script(1 << 20);
  script.StartHeldLeader("L", /*sync=*/false);
  script.Enqueue("A", false);
  script.Enqueue("B", false);
  script.Enqueue("C", true);   // may not join A's non-sync group...
  script.Enqueue("D", false);  // ...and D, behind it, waits its turn (FIFO)
  script.Enqueue("E", true);
  script.Release();
  EXPECT_EQ(script.groups(), (Groups{{"L"}, {"A", "B"}, {"C", "D", "E"}}));
  for (const char* name : {"L", "A", "B", "C", "D", "E"}) {
    Status s = script.result(name);
    EXPECT_TRUE(s.IsIOError() && s.message() == name) << name << ": " << s.ToString();
  }
  EXPECT_EQ(script.overlaps(), 0);
}

TEST(CommitQueueTest, ByteCapEndsAGroup) {
  QueueScript script(1000);
  script.StartHeldLeader("L", false);
  script.Enqueue("A", false, 600);
  script.Enqueue("B", false, 300);
  script.Enqueue("C", false, 200);   // 1100 > 1000: starts the next group
  script.Enqueue("D", false, 5000);  // alone above the cap, still processed
  script.Release();
  EXPECT_EQ(script.groups(), (Groups{{"L"}, {"A", "B"}, {"C"}, {"D"}}));
}

TEST(CommitQueueTest, SmallLeaderCapsItsGroupAtItsSizePlus128KiB) {
  QueueScript script(1 << 20);
  script.StartHeldLeader("L", false);
  script.Enqueue("A", false, 1000);
  script.Enqueue("B", false, 100 << 10);
  script.Enqueue("C", false, 29 << 10);   // 1000 + 100 KiB + 29 KiB > 1000 + 128 KiB
  script.Enqueue("D", false, 500 << 10);  // > 29 KiB + 128 KiB
  script.Enqueue("E", false, 300 << 10);  // a large leader's group may reach max_group_bytes
  script.Release();
  EXPECT_EQ(script.groups(), (Groups{{"L"}, {"A", "B"}, {"C"}, {"D", "E"}}));
}

TEST(CommitQueueTest, RunExclusiveRunsBetweenGroupsAndIsNeverMerged) {
  QueueScript script(1 << 20);
  script.StartHeldLeader("L", false);
  script.Enqueue("A", false);
  script.EnqueueExclusive("X");
  script.Enqueue("B", false);
  script.Enqueue("C", false);
  script.Release();
  EXPECT_EQ(script.groups(), (Groups{{"L"}, {"A"}, {"<X>"}, {"B", "C"}}));
  Status x = script.result("X");
  EXPECT_TRUE(x.IsIOError() && x.message() == "X") << x.ToString();  // fn's status is returned
  EXPECT_EQ(script.overlaps(), 0);
}

TEST(CommitQueueTest, RunExclusiveOnAnIdleQueueRunsAtOnce) {
  CommitQueue q(1 << 20);
  int runs = 0;
  EXPECT_TRUE(q.RunExclusive([&] {
                 ++runs;
                 return Status::OK();
               }).ok());
  EXPECT_EQ(runs, 1);
  Request r;
  CommitQueue::Writer w;
  w.request = &r;
  EXPECT_TRUE(q.Commit(&w, [](Group g) { g[0]->status = Status::OK(); }).ok());
}

TEST(CommitQueueTest, NoTwoGroupsOrExclusiveSectionsEverRunAtOnce) {
  CommitQueue q(8 << 10);
  ExclusionChecker exclusion;
  std::atomic<int> exclusive_runs{0};
  std::atomic<bool> stop{false};
  std::thread exclusive([&] {
    while (!stop.load()) {
      Status s = q.RunExclusive([&] {
        exclusion.Enter();
        exclusive_runs.fetch_add(1);
        std::this_thread::sleep_for(std::chrono::microseconds(30));
        exclusion.Leave();
        return Status::OK();
      });
      EXPECT_TRUE(s.ok());
      std::this_thread::yield();
    }
  });
  auto worker = [&](int t) {
    for (int i = 0; i < 150; ++i) {
      Request r{t, i, ""};
      CommitQueue::Writer w;
      w.request = &r;
      w.sync = (t + i) % 2 == 0;
      w.bytes = 1000;
      Status s = q.Commit(&w, [&](Group group) {
        exclusion.Enter();
        for (CommitQueue::Writer* m : group) m->status = Status::OK();
        std::this_thread::sleep_for(std::chrono::microseconds(30));
        exclusion.Leave();
      });
      EXPECT_TRUE(s.ok());
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();
  stop.store(true);
  exclusive.join();
  EXPECT_EQ(exclusion.overlaps(), 0);
  EXPECT_GT(exclusive_runs.load(), 0);
}

}  // namespace
}  // namespace loci::wal
