// Concurrency stress of the Db: writers (puts, updates, batches; sync and not), readers (Get,
// History, snapshot reads) and checkpoints run at once. Readers check invariants that a torn or
// premature read would break: versions of an id never go backwards, a history is 1..n with
// non-decreasing commit times, a snapshot read twice gives the same answer, and a batch's two
// cubes are either both visible or neither. Runs under TSan in CI (label tsan).

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "loci/db.h"
#include "loci/env.h"

namespace loci {
namespace {

TEST(DbConcurrencyTest, ReadersSeeConsistentStateWhileWritersAndCheckpointsRun) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  options.wal_segment_bytes = 64 << 10;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(options, "/db", &db).ok());

  constexpr int kWriters = 3, kReaders = 3, kOpsPerWriter = 300;
  std::atomic<int> writers_done{0};
  std::atomic<uint64_t> reads{0}, checkpoints{0};
  std::vector<std::thread> threads;
  // The readers and the checkpointer run until the writers are done, and on a loaded machine
  // they may not have started by then: so writers stop halfway until every reader has read and a
  // checkpoint was taken, and the second half of the writes always runs alongside both. A
  // reader or the checkpointer that quits (a failed ASSERT) opens the gate too, so that its
  // failure is reported instead of a hang.
  std::atomic<int> readers_started{0}, others_quit{0};
  struct CountOnExit {
    std::atomic<int>& n;
    ~CountOnExit() { ++n; }
  };
  auto wait_for_others = [&] {
    while ((readers_started.load() < kReaders || checkpoints.load() == 0) &&
           others_quit.load() == 0) {
      std::this_thread::yield();
    }
  };

  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      // Counted however the writer ends (a failed ASSERT returns early), so the checkpoint
      // and reader threads stop and the failure is reported instead of a hang.
      CountOnExit count_on_exit{writers_done};
      std::mt19937 rng(w);
      std::vector<CubeId> mine;
      for (int i = 0; i < kOpsPerWriter; ++i) {
        if (i == kOpsPerWriter / 2) wait_for_others();
        WriteOptions wo;
        wo.sync = rng() % 2 == 0;
        const int choice = rng() % 4;
        if (choice == 0 && !mine.empty()) {
          CubePatch p;
          p.payload = "u" + std::to_string(i);
          ASSERT_TRUE(db->Update(wo, mine[rng() % mine.size()], p).ok());
        } else if (choice == 1) {
          WriteBatch batch;  // a pair: payloads "pair:<k>:a" and "pair:<k>:b", consecutive ids
          const std::string key = "pair:" + std::to_string(w) + "." + std::to_string(i);
          batch.Put(CubeDraft{.space = "s", .payload = key + ":a"});
          batch.Put(CubeDraft{.space = "s", .payload = key + ":b"});
          ASSERT_TRUE(db->Write(wo, batch, nullptr).ok());
        } else {
          CubeDraft d{.space = "s", .payload = "p" + std::to_string(i)};
          d.vectors = {{"e", {1.0f, float(i)}}};
          Result<CubeId> id = db->Put(wo, d);
          ASSERT_TRUE(id.ok());
          mine.push_back(*id);
        }
      }
    });
  }

  threads.emplace_back([&] {
    CountOnExit count_on_exit{others_quit};
    while (writers_done.load() < kWriters) {
      ASSERT_TRUE(db->Checkpoint().ok());
      ++checkpoints;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back([&, r] {
      CountOnExit count_on_exit{others_quit};
      std::mt19937 rng(100 + r);
      std::map<CubeId, uint32_t> seen;  // highest version observed per id
      bool started = false;
      while (writers_done.load() < kWriters) {
        const CubeId end = db->Stats().cubes + 1;
        if (end <= 1) continue;
        const CubeId id = 1 + rng() % (end - 1);
        MemCube cube;
        Status s = db->Get(ReadOptions(), id, &cube);
        if (s.ok()) {
          ASSERT_GE(cube.version, seen[id]) << "versions went backwards for cube " << id;
          seen[id] = cube.version;
          if (cube.payload.starts_with("pair:")) {
            // The other half of the batch must be visible too.
            const bool first = cube.payload.ends_with(":a");
            MemCube other;
            ASSERT_TRUE(db->Get(ReadOptions(), first ? id + 1 : id - 1, &other).ok());
            ASSERT_EQ(other.payload.substr(0, other.payload.size() - 2),
                      cube.payload.substr(0, cube.payload.size() - 2));
          }
        }
        std::vector<MemCube> history;
        if (db->History(ReadOptions(), id, &history).ok()) {
          for (size_t i = 0; i < history.size(); ++i) {
            ASSERT_EQ(history[i].version, i + 1);
            if (i > 0) {
              ASSERT_LE(history[i - 1].tx_from, history[i].tx_from);
            }
          }
        }
        std::shared_ptr<const Snapshot> snap = db->GetSnapshot();
        ReadOptions at_snap;
        at_snap.snapshot = snap.get();
        MemCube a, b;
        Status sa = db->Get(at_snap, id, &a);
        std::this_thread::yield();
        Status sb = db->Get(at_snap, id, &b);
        ASSERT_EQ(sa.ok(), sb.ok());
        if (sa.ok()) {
          ASSERT_EQ(a.version, b.version);
          ASSERT_EQ(a.payload, b.payload);
        }
        ++reads;
        if (!started) {
          started = true;
          ++readers_started;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_GT(reads.load(), 0u);
  EXPECT_GT(checkpoints.load(), 0u);

  // Everything is still there after a reopen.
  const DbStats before = db->Stats();
  db.reset();
  ASSERT_TRUE(Db::Open(options, "/db", &db).ok());
  EXPECT_EQ(db->Stats().versions, before.versions);
  IntegrityReport report;
  EXPECT_TRUE(db->Verify(&report).ok());
}

// A read racing the commit that creates a new space (or vector field) must not see the new
// version without its catalog entry (which would read as corruption).
TEST(DbConcurrencyTest, ReadsRacingNewSpacesNeverSeeAnUnknownSpace) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options options;
  options.env = env.get();
  options.create_if_missing = true;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(options, "/db", &db).ok());
  std::atomic<CubeId> last{0};
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 400; ++i) {
      CubeDraft d{.space = "space-" + std::to_string(i), .payload = "x"};
      d.vectors = {{"field-" + std::to_string(i % 7), {1.0f, float(i)}}};
      Result<CubeId> id = db->Put(WriteOptions{.sync = false}, d);
      EXPECT_TRUE(id.ok()) << id.status().ToString();
      if (!id.ok()) break;  // still sets done, so the readers stop
      last = *id;
    }
    done = true;
  });
  std::atomic<int> corrupt{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      MemCube c;
      while (!done.load()) {
        for (CubeId id = last.load() + 1; id >= 1 && id + 3 > last.load(); --id) {
          if (db->Get(ReadOptions(), id, &c).IsCorruption()) ++corrupt;
        }
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(corrupt.load(), 0);
}

}  // namespace
}  // namespace loci
