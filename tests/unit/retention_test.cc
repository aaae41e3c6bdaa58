// Retention (Options::retention, space_retention), on the in-memory Env with a clock the test
// sets:
//   - a count rule prunes each cube down to its newest N versions at a checkpoint, in memory
//     (Stats, History) and across a reopen; spaces without a policy keep everything;
//   - a read point only pruned versions could answer is Pruned (Get, History), one the retained
//     versions answer is answered as before; Search at such a point finds nothing of the cube;
//   - an age rule keeps versions superseded within keep_for, and prunes them at a later
//     checkpoint once they are older, with no write in between;
//   - a live snapshot keeps every version committed by its time, and its reads unchanged;
//   - a delta checkpoint records a cut of versions an earlier base holds (the cube continues
//     from the delta's versions after a reopen), and salvage does not bring pruned versions
//     back;
//   - pruned blobs are dead bytes (Usage), and a reopened index holds no pruned vector.

#include <gtest/gtest.h>

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

class RetentionTest : public testing::Test {
 protected:
  RetentionTest() : mem_(NewMemEnv()), env_(mem_.get()) { env_.now = Utc(2025, 1, 1); }

  void Open(RetentionPolicy pruned_space, bool read_only = false) {
    db_.reset();
    Options o;
    o.env = &env_;
    o.create_if_missing = true;
    o.read_only = read_only;
    o.space_retention["pruned"] = pruned_space;
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  static RetentionPolicy KeepVersions(uint32_t n) { return RetentionPolicy{.keep_versions = n}; }

  // A cube of `space` with `versions` versions, a minute apart, payload "<tag> v<n>" and a
  // vector that changes with each version.
  CubeId Write(const std::string& space, const std::string& tag, int versions) {
    CubeDraft d{.space = space, .payload = tag + " v1", .vectors = {{"f", Vec(tag, 1)}}};
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    for (int n = 2; n <= versions; ++n) Update(*id, tag, n);
    return *id;
  }

  void Update(CubeId id, const std::string& tag, int n) {
    env_.now += kMinute;
    CubePatch p{.payload = tag + " v" + std::to_string(n)};
    p.set_vectors = {{"f", Vec(tag, n)}};
    Result<uint32_t> v = db_->Update(WriteOptions(), id, p);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    ASSERT_EQ(*v, static_cast<uint32_t>(n));
  }

  static std::vector<float> Vec(const std::string& tag, int n) {
    return {static_cast<float>(tag.size()), static_cast<float>(n), 1.0f};
  }

  std::vector<uint32_t> HistoryNumbers(CubeId id) {
    std::vector<MemCube> h;
    Status s = db_->History(ReadOptions(), id, &h);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<uint32_t> numbers;
    for (const MemCube& c : h) numbers.push_back(c.version);
    return numbers;
  }

  MemCube Get(CubeId id) {
    MemCube c;
    Status s = db_->Get(ReadOptions(), id, &c);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return c;
  }

  Status GetAsOf(CubeId id, Timestamp as_of, MemCube* c) {
    ReadOptions ro;
    ro.as_of = as_of;
    return db_->Get(ro, id, c);
  }

  void Checkpoint() {
    Status s = db_->Checkpoint();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::unique_ptr<Env> mem_;
  SetClockEnv env_;
  const std::string dir_ = "/retention";
  std::unique_ptr<Db> db_;
};

TEST_F(RetentionTest, CountRulePrunesAtCheckpointAndAcrossReopen) {
  Open(KeepVersions(2));
  const CubeId pruned = Write("pruned", "a", 5);
  const CubeId kept = Write("other", "b", 5);
  EXPECT_EQ(HistoryNumbers(pruned), (std::vector<uint32_t>{1, 2, 3, 4, 5}))
      << "nothing is pruned before a checkpoint";
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(pruned), (std::vector<uint32_t>{4, 5}));
  EXPECT_EQ(HistoryNumbers(kept), (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  DbStats stats = db_->Stats();
  EXPECT_EQ(stats.versions, 7u);
  EXPECT_EQ(stats.versions_pruned, 3u);
  EXPECT_EQ(Get(pruned).payload, "a v5");

  Open(KeepVersions(2));
  EXPECT_EQ(HistoryNumbers(pruned), (std::vector<uint32_t>{4, 5}));
  EXPECT_EQ(HistoryNumbers(kept), (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(db_->Stats().versions, 7u);
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok()) << report.problems.front();

  // More writes, then a checkpoint: still the newest two.
  Update(pruned, "a", 6);
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(pruned), (std::vector<uint32_t>{5, 6}));
  Open(KeepVersions(2));
  EXPECT_EQ(HistoryNumbers(pruned), (std::vector<uint32_t>{5, 6}));
}

TEST_F(RetentionTest, ReadPointsOlderThanTheRetainedHistoryArePruned) {
  Open(KeepVersions(2));
  const Timestamp before_put = env_.now - 1;
  const CubeId id = Write("pruned", "a", 4);  // v3 committed 2 minutes after the put
  const Timestamp v3_commit = Utc(2025, 1, 1) + 2 * kMinute;
  Checkpoint();
  MemCube c;
  Status s = GetAsOf(id, v3_commit - 1, &c);
  EXPECT_TRUE(s.IsPruned()) << s.ToString();
  EXPECT_EQ(s.message(),
            "cube 1 at valid time 2025-01-01T00:01:59.999999Z as of "
            "2025-01-01T00:01:59.999999Z: older than its retained history, which starts at "
            "version 3 (committed 2025-01-01T00:02:00Z)");
  EXPECT_TRUE(GetAsOf(id, before_put, &c).IsPruned()) << "before the cube existed is not known";
  ASSERT_TRUE(GetAsOf(id, v3_commit, &c).ok());
  EXPECT_EQ(c.payload, "a v3");

  // A valid time only pruned versions covered: v3 and v4 are valid from their commits.
  ReadOptions ro;
  ro.valid_at = Utc(2025, 1, 1) + kMinute;
  EXPECT_TRUE(db_->Get(ro, id, &c).IsPruned());

  std::vector<MemCube> h;
  ReadOptions old;
  old.as_of = v3_commit - 1;
  EXPECT_TRUE(db_->History(old, id, &h).IsPruned());

  // Search finds the cube at the retained versions' read points only.
  SearchRequest req;
  req.spaces = {"pruned"};
  req.field = "f";
  req.query = Vec("a", 4);
  std::vector<SearchHit> hits;
  ASSERT_TRUE(db_->Search(req, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].version, 4u);
  req.as_of = v3_commit - 1;
  ASSERT_TRUE(db_->Search(req, &hits).ok());
  EXPECT_TRUE(hits.empty());
}

TEST_F(RetentionTest, AgeRulePrunesOnceVersionsAreOldEnough) {
  Open(RetentionPolicy{.keep_for = std::chrono::minutes(10)});
  const CubeId id = Write("pruned", "a", 3);  // v1 superseded at +1 min, v2 at +2 min
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{1, 2, 3}));
  env_.now = Utc(2025, 1, 1) + 11 * kMinute + 30 * 1000000LL;  // v1 superseded 10.5 min ago
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{2, 3}));
  env_.now += kMinute;
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{3}));
  EXPECT_EQ(Get(id).payload, "a v3");
}

TEST_F(RetentionTest, BothRulesKeepWhatEitherKeeps) {
  Open(RetentionPolicy{.keep_versions = 3, .keep_for = std::chrono::minutes(10)});
  const CubeId id = Write("pruned", "a", 6);
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{1, 2, 3, 4, 5, 6})) << "all recent";
  env_.now += 60 * kMinute;
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{4, 5, 6})) << "old, but the newest 3";
}

TEST_F(RetentionTest, LiveSnapshotKeepsWhatItMayRead) {
  Open(KeepVersions(1));
  const CubeId id = Write("pruned", "a", 3);
  std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
  Update(id, "a", 4);
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{1, 2, 3, 4}));
  ReadOptions ro;
  ro.snapshot = snapshot.get();
  std::vector<MemCube> h;
  ASSERT_TRUE(db_->History(ro, id, &h).ok());
  EXPECT_EQ(h.size(), 3u);
  snapshot.reset();
  Checkpoint();  // no write since: the cube is looked at again because the snapshot kept it
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{4}));
}

TEST_F(RetentionTest, DeltaRecordsACutOfWhatTheBaseHolds) {
  Open(RetentionPolicy());  // keep everything: the base holds versions 1-3
  const CubeId id = Write("pruned", "a", 3);
  const CubeId other = Write("pruned", "b", 2);
  Checkpoint();
  Open(KeepVersions(1));
  Update(id, "a", 4);
  Update(id, "a", 5);
  Checkpoint();
  EXPECT_EQ(db_->Stats().checkpoint_files, 2u) << "a delta after the base";
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{5}));
  EXPECT_EQ(HistoryNumbers(other), (std::vector<uint32_t>{2})) << "the first pass sees all";
  Open(RetentionPolicy());
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{5}));
  EXPECT_EQ(HistoryNumbers(other), (std::vector<uint32_t>{2}));
  EXPECT_EQ(Get(id).payload, "a v5");
  Update(id, "a", 6);  // the chain goes on from version 5
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{5, 6}));
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok());

  db_.reset();
  Options o;
  o.env = &env_;
  SalvageReport salvage;
  ASSERT_TRUE(Db::Salvage(o, dir_, "/salvaged", &salvage).ok());
  std::unique_ptr<Db> copy;
  ASSERT_TRUE(Db::Open(o, "/salvaged", &copy).ok());
  std::vector<MemCube> h;
  ASSERT_TRUE(copy->History(ReadOptions(), id, &h).ok());
  ASSERT_EQ(h.size(), 2u) << "pruned versions stay pruned";
  EXPECT_EQ(h[0].version, 5u);
  for (const SalvageLoss& loss : salvage.losses) ADD_FAILURE() << loss.file << ": " << loss.what;
}

TEST_F(RetentionTest, PrunedBlobsAreDeadAndLeaveTheReopenedIndex) {
  Open(KeepVersions(1));
  std::vector<CubeId> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(Write("pruned", "c" + std::to_string(i), 4));
  UsageReport before;
  ASSERT_TRUE(db_->Usage(&before).ok());
  Checkpoint();
  UsageReport after;
  ASSERT_TRUE(db_->Usage(&after).ok());
  auto arena = [](const UsageReport& r) {
    for (const FileUsage& f : r.files) {
      if (f.kind == "arena") return f;
    }
    return FileUsage();
  };
  // Each pruned version had a payload and a vector blob of its own: 60 versions' worth.
  EXPECT_LT(arena(after).live_bytes, arena(before).live_bytes);
  EXPECT_GE(arena(after).dead_bytes() - arena(before).dead_bytes(), 60u * 2 * 24);
  EXPECT_EQ(after.spaces.back().versions, 20u);

  Open(KeepVersions(1));
  DbStats stats = db_->Stats();
  ASSERT_EQ(stats.vector_fields.size(), 1u);
  EXPECT_EQ(stats.vector_fields[0].vectors, 20u) << "only the retained versions' vectors";
  for (CubeId id : ids) EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{4}));
}

TEST_F(RetentionTest, PrunedPayloadsLeaveTheArena) {
  Open(KeepVersions(1));
  // Large payloads, each with a marker: runs of dead frames span whole blocks.
  auto payload = [](int n) { return "marker-" + std::to_string(n) + "-" + std::string(8000, 'p'); };
  Result<CubeId> id = db_->Put(WriteOptions(), CubeDraft{.space = "pruned", .payload = payload(1)});
  ASSERT_TRUE(id.ok());
  for (int n = 2; n <= 40; ++n) {
    ASSERT_TRUE(db_->Update(WriteOptions(), *id, CubePatch{.payload = payload(n)}).ok());
  }
  Checkpoint();  // the WAL copies of the small blobs go with the segments it retires
  EXPECT_EQ(Get(*id).payload, payload(40));
  EXPECT_GE(db_->Stats().arena_discarded_bytes, 38u * 8192);
  int left = 0;
  for (int n = 1; n < 40; ++n)
    left += test::DirectoryHolds(mem_.get(), dir_, "marker-" + std::to_string(n) + "-");
  EXPECT_LE(left, 1) << "only a block shared with the live frame may keep a marker";
  EXPECT_TRUE(test::DirectoryHolds(mem_.get(), dir_, "marker-40-"));
  Open(KeepVersions(1));
  EXPECT_EQ(Get(*id).payload, payload(40));
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok());
}

TEST_F(RetentionTest, ThroughASnapshotACubeCreatedAfterItStaysMissing) {
  Open(KeepVersions(1));
  std::shared_ptr<const Snapshot> snapshot = db_->GetSnapshot();
  env_.now += kMinute;
  const CubeId id = Write("pruned", "a", 3);
  Checkpoint();
  ReadOptions at;
  at.snapshot = snapshot.get();
  MemCube c;
  EXPECT_TRUE(db_->Get(at, id, &c).IsNotFound()) << "not Pruned: the cube did not exist then";
  std::vector<MemCube> h;
  EXPECT_TRUE(db_->History(at, id, &h).IsNotFound());
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{1, 2, 3})) << "kept while it lives";
  snapshot.reset();
  Checkpoint();
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{3}));
}

TEST_F(RetentionTest, PurgeAfterPruningLeavesNoByteOfThePrunedVersions) {
  Open(KeepVersions(1));
  // Small frames between others': their blocks are shared, so they are zeroed, not punched.
  const CubeId other = Write("pruned", "neighbour", 2);
  Result<CubeId> id =
      db_->Put(WriteOptions(), CubeDraft{.space = "pruned", .payload = "secret-version-one"});
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(db_->Update(WriteOptions(), *id, CubePatch{.payload = "secret-version-two"}).ok());
  Update(other, "neighbour", 3);
  Checkpoint();
  EXPECT_FALSE(test::DirectoryHolds(mem_.get(), dir_, "secret-version-one"));
  ASSERT_TRUE(db_->Purge(WriteOptions(), *id).ok());
  EXPECT_FALSE(test::DirectoryHolds(mem_.get(), dir_, "secret-version-two"));
  EXPECT_EQ(Get(other).payload, "neighbour v3");
}

TEST_F(RetentionTest, ReadOnlyOpenPrunesNothing) {
  Open(RetentionPolicy());
  const CubeId id = Write("pruned", "a", 3);
  Checkpoint();
  Open(KeepVersions(1), /*read_only=*/true);
  EXPECT_EQ(HistoryNumbers(id), (std::vector<uint32_t>{1, 2, 3}));
}

}  // namespace
}  // namespace loci
