// Purge (WriteBatch::Purge, Db::Purge), on the in-memory Env:
//   - what reads see: the purged cube is missing at every read point (a snapshot taken before
//     the purge and as_of reads of the past included), from History, List, Events, Changes,
//     Trace and Search, and its edges with it; other cubes are untouched; its id is never
//     assigned again; stats forget it; all of it again after a reopen;
//   - the documented errors: a missing or purged id, another space's cube, a placeholder;
//     operations after a purge in the same batch find the cube missing, operations before it
//     are erased with it;
//   - PurgeSpace: every cube of the space committed before the batch goes (retired ones too),
//     the batch's own puts and other spaces stay, the space remains usable; a missing space is
//     NotFound; Usage counts before and after;
//   - erasure: distinctive payload, vector and attribute bytes of several versions, written
//     before and after checkpoints, are in no file of the directory once Purge returns, while
//     a surviving cube's bytes still are (the scan can find what it looks for).

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Utc;

// Bytes no other test data contains: a payload, an attribute value and a vector whose float
// bytes spell a marker.
std::string SecretPayload(int version) { return "payload-of-purged-" + std::to_string(version); }
std::string SecretAttr(int version) { return "attr-of-purged-" + std::to_string(version); }
std::vector<float> MarkedVector(float marker) {
  std::vector<float> v(16, marker);
  v[0] = 1.0f;  // not all equal: a valid direction for cosine
  return v;
}
std::string FloatBytes(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

class PurgeTest : public testing::Test {
 protected:
  PurgeTest() : env_(NewMemEnv()) {}
  void SetUp() override { Open(); }

  void Open() {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Reopen() {
    db_.reset();
    Open();
  }

  CubeId Put(const std::string& space, const std::string& payload, float marker,
             const std::string& attr) {
    CubeDraft d;
    d.space = space;
    d.payload = payload;
    d.valid_from = Utc(2024, 1, 1);
    d.episode = "e";
    d.attrs.push_back(Attr{"secret", attr});
    d.vectors.push_back(NamedVector{"v", MarkedVector(marker)});
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  void UpdateTo(CubeId id, const std::string& payload, float marker, const std::string& attr) {
    CubePatch p;
    p.payload = payload;
    p.set_attrs.push_back(Attr{"secret", attr});
    p.set_vectors.push_back(NamedVector{"v", MarkedVector(marker)});
    Result<uint32_t> v = db_->Update(WriteOptions(), id, p);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }

  // Whether any file of the database directory contains `needle`.
  bool DirectoryHolds(const std::string& needle) {
    return test::DirectoryHolds(env_.get(), dir_, needle);
  }

  std::unique_ptr<Env> env_;
  const std::string dir_ = "/purge";
  std::unique_ptr<Db> db_;
};

TEST_F(PurgeTest, APurgedCubeIsMissingEverywhereAndItsIdIsNeverReused) {
  const CubeId a = Put("s", "a1", 3.0f, "x");
  const CubeId b = Put("s", "b1", 4.0f, "y");
  const CubeId c = Put("s", "c1", 5.0f, "z");
  UpdateTo(a, "a2", 3.5f, "x2");
  ASSERT_TRUE(db_->Link(WriteOptions(), a, b, EdgeType::kCaused).ok());
  ASSERT_TRUE(db_->Link(WriteOptions(), c, a, EdgeType::kRefers).ok());
  ASSERT_TRUE(db_->Link(WriteOptions(), b, c, EdgeType::kNext).ok());
  const std::shared_ptr<const Snapshot> before = db_->GetSnapshot();
  const Timestamp then = db_->Now();

  ASSERT_TRUE(db_->Purge(WriteOptions(), a).ok());

  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "after the purge" : "after a reopen");
    MemCube cube;
    ReadOptions now;
    EXPECT_TRUE(db_->Get(now, a, &cube).IsNotFound());
    ReadOptions past;
    past.as_of = then;
    EXPECT_TRUE(db_->Get(past, a, &cube).IsNotFound()) << "as_of reads of the past too";
    if (pass == 0) {
      ReadOptions snap;
      snap.snapshot = before.get();
      EXPECT_TRUE(db_->Get(snap, a, &cube).IsNotFound()) << "a snapshot taken before too";
    }
    std::vector<MemCube> history;
    EXPECT_TRUE(db_->History(now, a, &history).IsNotFound());
    EXPECT_TRUE(db_->Get(now, b, &cube).ok()) << "the other cubes stay";

    TraceRequest t;
    t.start = b;
    t.direction = TraceDirection::kBoth;
    t.hops = 3;
    std::vector<TraceStep> steps;
    ASSERT_TRUE(db_->Trace(t, &steps).ok());
    ASSERT_EQ(steps.size(), 1u) << "only b -> c is left";
    EXPECT_EQ(steps[0].id, c);
    t.start = a;
    EXPECT_TRUE(db_->Trace(t, &steps).IsNotFound());

    ListRequest l;
    l.space = "s";
    std::vector<MemCube> cubes;
    ASSERT_TRUE(db_->List(l, &cubes).ok());
    ASSERT_EQ(cubes.size(), 2u);
    EXPECT_EQ(cubes[0].id, b);
    EventsRequest e;
    e.space = "s";
    e.from = kBeginningOfTime;
    e.to = kForever;
    ASSERT_TRUE(db_->Events(e, &cubes).ok());
    EXPECT_EQ(cubes.size(), 2u);
    ChangesRequest ch;
    ch.space = "s";
    ch.from = kBeginningOfTime;
    ch.to = kForever;
    ASSERT_TRUE(db_->Changes(ch, &cubes).ok());
    for (const MemCube& m : cubes) EXPECT_NE(m.id, a) << "no change of a purged cube";
    EpisodeRequest ep;
    ep.id = b;
    ep.before = ep.after = 5;
    ASSERT_TRUE(db_->Episode(ep, &cubes).ok());
    EXPECT_EQ(cubes.size(), 2u);

    SearchRequest s;
    s.spaces = {"s"};
    s.field = "v";
    s.query = MarkedVector(3.5f);
    s.k = 10;
    std::vector<SearchHit> hits;
    ASSERT_TRUE(db_->Search(s, &hits).ok());
    ASSERT_EQ(hits.size(), 2u);
    for (const SearchHit& h : hits) EXPECT_NE(h.id, a);

    const DbStats stats = db_->Stats();
    EXPECT_EQ(stats.cubes, 2u);
    EXPECT_EQ(stats.versions, 2u);
    Reopen();
  }
  const CubeId d = Put("s", "d1", 6.0f, "w");
  EXPECT_GT(d, c) << "a purged id is never assigned again";
  EXPECT_TRUE(db_->Update(WriteOptions(), a, CubePatch{.payload = "x"}).status().IsNotFound());
  EXPECT_TRUE(db_->Retire(WriteOptions(), a).IsNotFound());
  EXPECT_TRUE(db_->Link(WriteOptions(), b, a, EdgeType::kCaused).status().IsInvalidArgument());
  EXPECT_TRUE(db_->Purge(WriteOptions(), a).IsNotFound()) << "purged already";
}

TEST_F(PurgeTest, ErrorsAndOrderWithinABatch) {
  const CubeId a = Put("s", "a1", 3.0f, "x");
  const CubeId b = Put("t", "b1", 4.0f, "y");
  EXPECT_TRUE(db_->Purge(WriteOptions(), 999).IsNotFound());
  EXPECT_TRUE(db_->Space("s").Purge(WriteOptions(), b).IsNotFound()) << "another space's cube";
  WriteBatch placeholder;
  const CubeId ref = placeholder.Put(CubeDraft{.space = "s", .payload = "p"});
  placeholder.Purge(ref);
  EXPECT_TRUE(db_->Write(WriteOptions(), placeholder, nullptr).IsInvalidArgument());

  ASSERT_TRUE(db_->Retire(WriteOptions(), a).ok());
  {
    // A retired cube can be purged; an update after the purge in the same batch finds it
    // missing, and the failed batch purges nothing.
    WriteBatch batch;
    batch.Purge(a);
    batch.Update(a, CubePatch{.payload = "again"});
    EXPECT_TRUE(db_->Write(WriteOptions(), batch, nullptr).IsNotFound());
    std::vector<MemCube> history;
    EXPECT_TRUE(db_->History(ReadOptions(), a, &history).ok())
        << "the failed batch changed nothing";
  }
  {
    // An update and a link before the purge in the same batch are erased with the cube.
    WriteBatch batch;
    batch.Update(b, CubePatch{.payload = "b2"});
    const CubeId c = batch.Put(CubeDraft{.space = "t", .payload = "c"});
    batch.Link(std::nullopt, c, b, EdgeType::kCaused);
    batch.Purge(b);
    batch.Purge(a);
    WriteResult result;
    ASSERT_TRUE(db_->Write(WriteOptions(), batch, &result).ok());
    EXPECT_EQ(result.ops[3].id, b);
    EXPECT_EQ(result.ops[3].version, 0u);
    std::vector<MemCube> history;
    EXPECT_TRUE(db_->History(ReadOptions(), b, &history).IsNotFound());
    EXPECT_TRUE(db_->History(ReadOptions(), a, &history).IsNotFound());
    TraceRequest t;
    t.start = result.ops[1].id;
    std::vector<TraceStep> steps;
    ASSERT_TRUE(db_->Trace(t, &steps).ok());
    EXPECT_TRUE(steps.empty()) << "the edge to the purged cube went with it";
  }
}

TEST_F(PurgeTest, NoFileHoldsThePurgedBytes) {
  // Versions before a checkpoint, between checkpoints and after the last one; a vector large
  // enough not to be logged in the WAL beside small ones that are.
  const CubeId keep = Put("s", "keep-this-payload", 7.25f, "keep-this-attr");
  const CubeId gone = Put("s", SecretPayload(1), 11.125f, SecretAttr(1));
  ASSERT_TRUE(db_->Checkpoint().ok());
  UpdateTo(gone, SecretPayload(2), 13.375f, SecretAttr(2));
  ASSERT_TRUE(db_->Checkpoint().ok());
  UpdateTo(gone, SecretPayload(3) + std::string(100000, 'Q'), 17.0625f, SecretAttr(3));
  ASSERT_TRUE(db_->Link(WriteOptions(), gone, keep, EdgeType::kCaused).ok());

  const std::vector<std::string> secrets = {SecretPayload(1),
                                            SecretPayload(2),
                                            SecretPayload(3),
                                            SecretAttr(1),
                                            SecretAttr(2),
                                            SecretAttr(3),
                                            FloatBytes(MarkedVector(11.125f)).substr(4),
                                            FloatBytes(MarkedVector(13.375f)).substr(4),
                                            FloatBytes(MarkedVector(17.0625f)).substr(4)};
  for (const std::string& s : secrets) ASSERT_TRUE(DirectoryHolds(s)) << "the scan finds them";

  ASSERT_TRUE(db_->Purge(WriteOptions(), gone).ok());
  for (const std::string& s : secrets) EXPECT_FALSE(DirectoryHolds(s)) << "still on disk: " << s;
  EXPECT_TRUE(DirectoryHolds("keep-this-payload"));
  EXPECT_TRUE(DirectoryHolds("keep-this-attr"));
  EXPECT_TRUE(DirectoryHolds(FloatBytes(MarkedVector(7.25f)).substr(4)));

  // Still so after more writes, a reopen and another checkpoint; the kept cube reads whole.
  Put("s", "later", 19.5f, "later-attr");
  Reopen();
  ASSERT_TRUE(db_->Checkpoint().ok());
  for (const std::string& s : secrets) EXPECT_FALSE(DirectoryHolds(s)) << "back on disk: " << s;
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), keep, &cube).ok());
  EXPECT_EQ(cube.payload, "keep-this-payload");
  IntegrityReport report;
  Status verified = db_->Verify(&report);
  EXPECT_TRUE(verified.ok()) << verified.ToString();
}

TEST_F(PurgeTest, PurgeSpaceErasesEveryCubeOfTheSpaceCommittedBeforeIt) {
  const CubeId a = Put("s", SecretPayload(1), 11.125f, SecretAttr(1));
  const CubeId b = Put("s", SecretPayload(2), 13.375f, SecretAttr(2));
  const CubeId other = Put("t", "other-tenant-payload", 7.25f, "other-attr");
  ASSERT_TRUE(db_->Checkpoint().ok());
  UpdateTo(a, SecretPayload(3), 17.0625f, SecretAttr(3));
  ASSERT_TRUE(db_->Retire(WriteOptions(), b).ok());
  ASSERT_TRUE(db_->Link(WriteOptions(), a, b, EdgeType::kCaused).ok());

  UsageReport usage;
  ASSERT_TRUE(db_->Usage(&usage).ok());
  ASSERT_EQ(usage.spaces.size(), 2u);
  EXPECT_EQ(usage.spaces[0].name, "s");
  EXPECT_EQ(usage.spaces[0].cubes, 2u);
  EXPECT_EQ(usage.spaces[0].versions, 4u);
  EXPECT_GT(usage.spaces[0].blob_bytes, 0u);

  EXPECT_TRUE(db_->PurgeSpace(WriteOptions(), "nowhere").status().IsNotFound());
  WriteBatch batch;
  const CubeId kept_ref = batch.Put(CubeDraft{.space = "s", .payload = "put-by-the-batch"});
  batch.PurgeSpace("s");
  WriteResult result;
  ASSERT_TRUE(db_->Write(WriteOptions(), batch, &result).ok());
  ASSERT_EQ(result.ops.size(), 2u);
  EXPECT_EQ(result.ops[1].erased, 2u);
  const CubeId kept = result.ops[0].id;
  (void)kept_ref;

  for (int pass = 0; pass < 2; ++pass) {
    SCOPED_TRACE(pass == 0 ? "after the purge" : "after a reopen");
    std::vector<MemCube> history;
    EXPECT_TRUE(db_->History(ReadOptions(), a, &history).IsNotFound());
    EXPECT_TRUE(db_->History(ReadOptions(), b, &history).IsNotFound()) << "retired ones too";
    MemCube cube;
    ASSERT_TRUE(db_->Get(ReadOptions(), kept, &cube).ok()) << "the batch's own put stays";
    EXPECT_EQ(cube.payload, "put-by-the-batch");
    ASSERT_TRUE(db_->Get(ReadOptions(), other, &cube).ok()) << "another space stays";
    for (int i = 1; i <= 3; ++i) {
      EXPECT_FALSE(DirectoryHolds(SecretPayload(i))) << i;
      EXPECT_FALSE(DirectoryHolds(SecretAttr(i))) << i;
    }
    EXPECT_TRUE(DirectoryHolds("other-tenant-payload"));
    ASSERT_TRUE(db_->Usage(&usage).ok());
    EXPECT_EQ(usage.spaces[0].cubes, 1u);
    EXPECT_EQ(usage.spaces[0].versions, 1u);
    EXPECT_EQ(usage.spaces[1].cubes, 1u);
    Reopen();
  }
  // The space remains, with its field: a put into it works, and purging it again erases that.
  const CubeId later = Put("s", "later", 19.5f, "later-attr");
  EXPECT_GT(later, kept);
  Result<uint64_t> erased = db_->Space("s").PurgeAll(WriteOptions());
  ASSERT_TRUE(erased.ok()) << erased.status().ToString();
  EXPECT_EQ(*erased, 2u);
  erased = db_->PurgeSpace(WriteOptions(), "s");
  ASSERT_TRUE(erased.ok());
  EXPECT_EQ(*erased, 0u) << "an empty space is purged of nothing";
  EXPECT_TRUE(db_->Space("t").Write(WriteOptions(), batch, nullptr).IsInvalidArgument())
      << "a handle of another space refuses the batch";
}

TEST_F(PurgeTest, UsageCountsLiveAndDeadArenaBytes) {
  const CubeId a = Put("s", std::string(5000, 'a'), 3.0f, "x");
  Put("s", std::string(7000, 'b'), 4.0f, "y");
  UsageReport usage;
  ASSERT_TRUE(db_->Usage(&usage).ok());
  const auto arena = [&]() -> const FileUsage& {
    for (const FileUsage& f : usage.files) {
      if (f.kind == "arena") return f;
    }
    static const FileUsage none;
    return none;
  };
  ASSERT_EQ(arena().files, 1u);
  const uint64_t live_before = arena().live_bytes;
  EXPECT_GE(live_before, 12000u);
  EXPECT_LE(live_before, arena().bytes);
  ASSERT_TRUE(db_->Purge(WriteOptions(), a).ok());
  ASSERT_TRUE(db_->Usage(&usage).ok());
  EXPECT_LE(arena().live_bytes + 5000, live_before) << "the purged payload is dead";
  EXPECT_GE(arena().dead_bytes(), 5000u);
  for (const FileUsage& f : usage.files) {
    if (f.kind == "checkpoint" || f.kind == "superblock") EXPECT_GE(f.files, 1u) << f.kind;
  }
}

}  // namespace
}  // namespace loci
