// TTL (CubeDraft::expires_at), on the in-memory Env with a clock the test sets:
//   - an expiry not after the commit time is refused (put and update);
//   - before its expiry a cube reads as any other; from then on it is missing for every read
//     whatever the read point (now, as_of of the past, a snapshot, History, List, Events,
//     Changes, Trace, Search) and for every write (update, retire, link, purge: NotFound);
//   - reclamation: Checkpoint erases expired cubes as Purge does (no file holds their bytes,
//     Stats forgets them), and so does a read-write open; a cube whose expiry an update moved
//     on is not reclaimed at the old time; a read-only open reclaims nothing.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::SetClockEnv;
using test::Utc;

constexpr Timestamp kMinute = 60LL * 1000000;

class TtlTest : public testing::Test {
 protected:
  TtlTest() : mem_(NewMemEnv()), env_(mem_.get()) { env_.now = Utc(2025, 1, 1); }
  void SetUp() override { Open(); }

  void Open(bool read_only = false) {
    Options o;
    o.env = &env_;
    o.create_if_missing = true;
    o.read_only = read_only;
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Reopen(bool read_only = false) {
    db_.reset();
    Open(read_only);
  }

  CubeId Put(const std::string& payload, std::optional<Timestamp> expires_at) {
    CubeDraft d{.space = "s",
                .payload = payload,
                .vectors = {{"v", {1, 2, 3, static_cast<float>(payload.size())}}}};
    d.valid_from = Utc(2024, 1, 1);
    d.episode = "e";
    d.expires_at = expires_at;
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  bool DirectoryHolds(const std::string& needle) {
    return test::DirectoryHolds(mem_.get(), dir_, needle);
  }

  std::unique_ptr<Env> mem_;
  SetClockEnv env_;
  const std::string dir_ = "/ttl";
  std::unique_ptr<Db> db_;
};

TEST_F(TtlTest, AnExpiryNotAfterTheCommitTimeIsRefused) {
  CubeDraft d{.space = "s", .payload = "p"};
  d.expires_at = Utc(2024, 12, 31);
  EXPECT_EQ(db_->Put(WriteOptions(), d).status().ToString(),
            "InvalidArgument: expires_at 2024-12-31T00:00:00Z is not after the commit time "
            "2025-01-01T00:00:00Z");
  const CubeId id = Put("p", std::nullopt);
  CubePatch p{.payload = "q"};
  p.expires_at = Utc(2020, 1, 1);
  EXPECT_TRUE(db_->Update(WriteOptions(), id, p).status().IsInvalidArgument());
  p.expires_at = env_.now + kMinute;
  EXPECT_TRUE(db_->Update(WriteOptions(), id, p).ok()) << "a future expiry is fine";
}

TEST_F(TtlTest, AnExpiredCubeIsMissingForEveryReadAndWrite) {
  const CubeId kept = Put("kept-payload", std::nullopt);
  const CubeId gone = Put("expiring-payload", env_.now + kMinute);
  ASSERT_TRUE(db_->Link(WriteOptions(), kept, gone, EdgeType::kCaused).ok());
  const Timestamp before_expiry = db_->Now();
  const std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), gone, &cube).ok()) << "not expired yet";
  EXPECT_EQ(cube.expires_at, env_.now + kMinute);

  env_.now += 2 * kMinute;
  ReadOptions now, past, snap;
  past.as_of = before_expiry;
  snap.snapshot = snapshot.get();
  for (const ReadOptions* ro : {&now, &past, &snap}) {
    Status s = db_->Get(*ro, gone, &cube);
    EXPECT_TRUE(s.IsNotFound()) << "expiry is judged now, whatever the read point";
    EXPECT_NE(s.ToString().find("expired at 2025-01-01T00:01:00Z"), std::string::npos)
        << s.ToString();
    std::vector<MemCube> history;
    s = db_->History(*ro, gone, &history);
    EXPECT_TRUE(s.IsNotFound()) << s.ToString();
    EXPECT_NE(s.ToString().find("expired"), std::string::npos) << s.ToString();
  }
  std::vector<MemCube> cubes;
  ListRequest l;
  l.space = "s";
  ASSERT_TRUE(db_->List(l, &cubes).ok());
  ASSERT_EQ(cubes.size(), 1u);
  EventsRequest e;
  e.space = "s";
  e.from = kBeginningOfTime;
  e.to = kForever;
  ASSERT_TRUE(db_->Events(e, &cubes).ok());
  EXPECT_EQ(cubes.size(), 1u);
  ChangesRequest ch;
  ch.space = "s";
  ch.from = kBeginningOfTime;
  ch.to = kForever;
  ASSERT_TRUE(db_->Changes(ch, &cubes).ok());
  for (const MemCube& m : cubes) EXPECT_NE(m.id, gone);
  TraceRequest t;
  t.start = kept;
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(t, &steps).ok());
  EXPECT_TRUE(steps.empty()) << "the edge leads to an expired cube";
  SearchRequest q;
  q.spaces = {"s"};
  q.field = "v";
  q.query = {1, 2, 3, 16};
  std::vector<SearchHit> hits;
  ASSERT_TRUE(db_->Search(q, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, kept);

  EXPECT_TRUE(db_->Update(WriteOptions(), gone, CubePatch{.payload = "x"}).status().IsNotFound());
  EXPECT_TRUE(db_->Retire(WriteOptions(), gone).IsNotFound());
  EXPECT_TRUE(db_->Link(WriteOptions(), gone, kept, EdgeType::kRefers).status().IsInvalidArgument())
      << "an expired end is a missing end";
  CubeDraft child{.space = "s", .payload = "c", .parents = {gone}};
  EXPECT_TRUE(db_->Put(WriteOptions(), child).status().IsInvalidArgument()) << "missing parent";
  ASSERT_TRUE(DirectoryHolds("expiring-payload"));
  EXPECT_TRUE(db_->Purge(WriteOptions(), gone).ok()) << "a purge erases it without waiting";
  EXPECT_FALSE(DirectoryHolds("expiring-payload"));
  EXPECT_TRUE(db_->Purge(WriteOptions(), gone).IsNotFound());
}

TEST_F(TtlTest, ExpiryIsTheCubesNotEachVersions) {
  // v1 expires in a minute; v2 moves the expiry on. Reads of v1's time still find v1 after
  // its own expiry: the cube lives on. Then an update gives a cube without expiry one that
  // passes: every read of its past misses it too.
  const CubeId renewed = Put("first", env_.now + kMinute);
  const Timestamp v1_time = db_->Now();
  CubePatch later{.payload = "second"};
  later.expires_at = env_.now + 10 * kMinute;
  ASSERT_TRUE(db_->Update(WriteOptions(), renewed, later).ok());
  const CubeId doomed = Put("no expiry yet", std::nullopt);
  const Timestamp doomed_time = db_->Now();
  CubePatch soon{.payload = "now expiring"};
  soon.expires_at = env_.now + 2 * kMinute;
  ASSERT_TRUE(db_->Update(WriteOptions(), doomed, soon).ok());

  env_.now += 5 * kMinute;
  ReadOptions past;
  past.as_of = v1_time;
  MemCube cube;
  ASSERT_TRUE(db_->Get(past, renewed, &cube).ok());
  EXPECT_EQ(cube.payload, "first");
  std::vector<MemCube> history;
  ASSERT_TRUE(db_->History(ReadOptions(), renewed, &history).ok());
  EXPECT_EQ(history.size(), 2u);
  past.as_of = doomed_time;
  EXPECT_TRUE(db_->Get(past, doomed, &cube).IsNotFound()) << "its past went with it";
  EXPECT_TRUE(db_->History(ReadOptions(), doomed, &history).IsNotFound());
}

TEST_F(TtlTest, ReclamationThroughASpaceHandleStaysConditional) {
  const CubeId live = Put("live-payload", env_.now + 10 * kMinute);
  const CubeId gone = Put("gone-payload", env_.now + kMinute);
  env_.now += 2 * kMinute;
  WriteBatch batch;
  batch.PurgeIfExpired(live);
  batch.PurgeIfExpired(gone);
  batch.PurgeIfExpired(999);
  WriteResult result;
  ASSERT_TRUE(db_->Space("s").Write(WriteOptions(), batch, &result).ok());
  EXPECT_EQ(result.ops[0].id, 0u) << "not expired: kept";
  EXPECT_EQ(result.ops[1].id, gone);
  EXPECT_EQ(result.ops[2].id, 0u) << "missing: nothing, and no error";
  MemCube cube;
  EXPECT_TRUE(db_->Get(ReadOptions(), live, &cube).ok());
  EXPECT_FALSE(DirectoryHolds("gone-payload"));
  WriteBatch other;
  other.PurgeIfExpired(live, "elsewhere");
  ASSERT_TRUE(db_->Write(WriteOptions(), other, &result).ok());
  EXPECT_EQ(result.ops[0].id, 0u);
}

TEST_F(TtlTest, CheckpointAndOpenEraseExpiredCubes) {
  const CubeId kept = Put("kept-payload", std::nullopt);
  const CubeId gone = Put("expiring-payload", env_.now + kMinute);
  const CubeId renewed = Put("renewed-payload", env_.now + kMinute);
  CubePatch later{.payload = "renewed-payload-2"};
  later.expires_at = env_.now + 10 * kMinute;
  ASSERT_TRUE(db_->Update(WriteOptions(), renewed, later).ok());
  const CubeId at_open = Put("expires-while-closed", env_.now + 5 * kMinute);
  ASSERT_TRUE(db_->Checkpoint().ok());
  ASSERT_TRUE(DirectoryHolds("expiring-payload"));
  EXPECT_EQ(db_->Stats().cubes, 4u) << "nothing expired yet";

  env_.now += 2 * kMinute;
  EXPECT_EQ(db_->Stats().cubes, 4u) << "expired, not yet reclaimed";
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->Stats().cubes, 3u);
  EXPECT_FALSE(DirectoryHolds("expiring-payload")) << "reclaimed like a purge";
  EXPECT_TRUE(DirectoryHolds("renewed-payload-2")) << "its expiry was moved on";
  EXPECT_TRUE(DirectoryHolds("kept-payload"));
  std::vector<MemCube> history;
  Status s = db_->History(ReadOptions(), gone, &history);
  EXPECT_EQ(s.ToString(), "NotFound: cube " + std::to_string(gone) + " does not exist");

  db_.reset();
  env_.now += 5 * kMinute;
  Open(/*read_only=*/true);
  EXPECT_EQ(db_->Stats().cubes, 3u) << "a read-only open reclaims nothing";
  EXPECT_TRUE(db_->History(ReadOptions(), at_open, &history).IsNotFound());
  Reopen();
  EXPECT_EQ(db_->Stats().cubes, 2u) << "a read-write open reclaims what expired while closed";
  EXPECT_FALSE(DirectoryHolds("expires-while-closed"));
  MemCube cube;
  EXPECT_TRUE(db_->Get(ReadOptions(), kept, &cube).ok());
  EXPECT_TRUE(db_->Get(ReadOptions(), renewed, &cube).ok());

  env_.now += 10 * kMinute;
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->Stats().cubes, 1u);
  EXPECT_FALSE(DirectoryHolds("renewed-payload"));
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok());
}

}  // namespace
}  // namespace loci
