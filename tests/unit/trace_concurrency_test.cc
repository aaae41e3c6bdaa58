// The trace queries while the commit leader writes (run under TSan in CI): one writer puts
// cubes in episodes, links, relinks and unlinks edges and moves cubes between episodes, while
// readers run Trace, Episode, Events, Changes, List and expanded searches. Readers never see a
// half-published edge or version (no crash, no race), and answers at a snapshot taken before
// the writer started never change, however much it writes.

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::RandomVector;

// Everything a reader can ask at one read point, as text (comparable across calls).
std::string Answers(Db* db, const Snapshot* snapshot, CubeId start) {
  std::string out;
  TraceRequest t;
  t.snapshot = snapshot;
  t.start = start;
  t.direction = TraceDirection::kBoth;
  t.episode_order = true;
  t.hops = 3;
  std::vector<TraceStep> steps;
  out += db->Trace(t, &steps).ToString() + ":";
  for (const TraceStep& s : steps) out += std::to_string(s.id) + "/" + std::to_string(s.hop) + " ";
  EpisodeRequest e;
  e.snapshot = snapshot;
  e.id = start;
  std::vector<MemCube> cubes;
  out += "|" + db->Episode(e, &cubes).ToString() + ":";
  for (const MemCube& c : cubes) out += std::to_string(c.id) + " ";
  EventsRequest ev;
  ev.snapshot = snapshot;
  ev.space = "s";
  out += "|" + db->Events(ev, &cubes).ToString() + ":" + std::to_string(cubes.size());
  ChangesRequest ch;
  ch.space = "s";
  ch.to = snapshot->time() + 1;
  out += "|" + db->Changes(ch, &cubes).ToString() + ":" + std::to_string(cubes.size());
  ListRequest l;
  l.snapshot = snapshot;
  l.space = "s";
  l.limit = kMaxListResults;
  out += "|" + db->List(l, &cubes).ToString() + ":" + std::to_string(cubes.size());
  return out;
}

TEST(TraceConcurrencyTest, QueriesWhileWriting) {
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  constexpr uint32_t kDim = 8;
  std::mt19937_64 rng(7);
  std::vector<CubeId> ids;
  for (int i = 0; i < 60; ++i) {
    CubeDraft d;
    d.space = "s";
    d.episode = "e" + std::to_string(i % 4);
    d.valid_from = test::Utc(2024, 1, 1 + i % 28);
    d.vectors.push_back({"v", RandomVector(rng, kDim)});
    Result<CubeId> id = db->Put(WriteOptions{.sync = false}, d);
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_TRUE(db->Link(WriteOptions{.sync = false}, ids[i], ids[i / 2], EdgeType::kRefers).ok());
  }
  std::shared_ptr<const Snapshot> before = db->GetSnapshot();
  std::vector<std::string> expected;
  for (CubeId id : ids) expected.push_back(Answers(db.get(), before.get(), id));

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937_64 wrng(11);
    for (int round = 0; round < 1000; ++round) {
      WriteBatch b;
      CubeDraft d;
      d.space = "s";
      d.episode = "e" + std::to_string(wrng() % 4);
      d.valid_from = test::Utc(2024, 1, 1 + static_cast<int>(wrng() % 28));
      d.vectors.push_back({"v", RandomVector(wrng, kDim)});
      const CubeId fresh = b.Put(d);
      const CubeId a = ids[wrng() % ids.size()];
      const CubeId c = ids[wrng() % ids.size()];
      b.Link(std::nullopt, fresh, a, EdgeType::kCaused, 0.5f);
      if (a != c) b.Link(std::nullopt, a, c, EdgeType::kCaused, static_cast<float>(round));
      CubePatch p;
      p.episode = "e" + std::to_string(wrng() % 4);
      p.valid_from = test::Utc(2024, 2, 1 + static_cast<int>(wrng() % 28));
      b.Update(c, p);
      EXPECT_TRUE(db->Write(WriteOptions{.sync = false}, b, nullptr).ok());
      // Unlinks of edges that may be unlinked already: either answer is fine.
      db->Unlink(WriteOptions{.sync = false}, a, c, EdgeType::kCaused).PermitUncheckedError();
    }
    stop = true;
  });
  auto reader = [&](int seed) {
    std::mt19937_64 r(seed);
    while (!stop) {
      const size_t i = r() % ids.size();
      EXPECT_EQ(Answers(db.get(), before.get(), ids[i]), expected[i]) << "cube " << ids[i];
      // And now, at the moving head: anything but a crash or an error.
      std::shared_ptr<const Snapshot> now = db->GetSnapshot();
      const std::string answers = Answers(db.get(), now.get(), ids[i]);
      EXPECT_EQ(answers.find("Corruption"), std::string::npos) << answers;
      SearchRequest s;
      s.spaces = {"s"};
      s.field = "v";
      s.query = RandomVector(r, kDim);
      s.expand_hops = 2;
      s.expand_episode = true;
      std::vector<SearchHit> hits;
      EXPECT_TRUE(db->Search(s, &hits).ok());
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  writer.join();
  r1.join();
  r2.join();
  // Reopen: the snapshot's answers again, read from the log.
  before.reset();
  db.reset();
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  EXPECT_GT(db->Stats().versions, 60u + 1000u);
}

}  // namespace
}  // namespace loci
