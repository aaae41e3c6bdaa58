// Db: the bitemporal semantics of design.md §1 (the tea/coffee example verbatim, corrections,
// retires), validation, batches, persistence across reopen and checkpoints, the commit clock
// across restarts, space isolation, snapshots, read-only opens, concurrent use and the WAL byte
// count across a checkpoint.

#include "loci/db.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "common/file_names.h"
#include "loci/env.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"
#include "wal/format.h"
#include "wal/segment_scan.h"

namespace loci {
namespace {

using test::Utc;

class DbTest : public testing::Test {
 protected:
  DbTest() : env_(NewMemEnv()) {}

  Options DefaultOptions() {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    // Checkpoints only when a test asks (or past checkpoint_wal_bytes), not as the data's
    // share of the WAL grows: the tests count checkpoint files.
    o.checkpoint_wal_ratio = 0;
    return o;
  }

  void Open(Options o) {
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Open() { Open(DefaultOptions()); }
  void Reopen() {
    db_.reset();
    Open();
  }

  CubeId Put(const std::string& space, const std::string& text,
             std::optional<Timestamp> valid_from = std::nullopt) {
    CubeDraft d;
    d.space = space;
    d.payload = text;
    d.valid_from = valid_from;
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  // The payload Get returns, or the status text if it fails.
  std::string Read(CubeId id, ReadOptions ro = ReadOptions()) {
    MemCube cube;
    Status s = db_->Get(ro, id, &cube);
    return s.ok() ? cube.payload : s.ToString();
  }

  std::unique_ptr<Env> env_;
  std::string dir_ = "/db";
  std::unique_ptr<Db> db_;
};

TEST_F(DbTest, TeaAndCoffeeExampleFromTheDesign) {
  Open();
  const CubeId id = Put("alice", "likes green tea", Utc(2023, 5, 8));
  const Timestamp before_t1 = db_->Now();

  CubePatch patch;
  patch.payload = "likes black coffee";
  patch.valid_from = Utc(2023, 6, 1);
  Result<uint32_t> version = db_->Update(WriteOptions(), id, patch);
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 2u);

  EXPECT_EQ(Read(id), "likes black coffee");
  ReadOptions may20;
  may20.valid_at = Utc(2023, 5, 20);
  EXPECT_EQ(Read(id, may20), "likes green tea");
  ReadOptions then;
  then.as_of = before_t1;
  EXPECT_EQ(Read(id, then), "likes green tea");
  ReadOptions believed_then;
  believed_then.as_of = before_t1;
  believed_then.valid_at = Utc(2023, 7, 1);
  EXPECT_EQ(Read(id, believed_then), "likes green tea");

  std::vector<MemCube> history;
  ASSERT_TRUE(db_->History(ReadOptions(), id, &history).ok());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].payload, "likes green tea");
  EXPECT_EQ(history[0].version, 1u);
  EXPECT_EQ(history[0].valid_from, Utc(2023, 5, 8));
  EXPECT_EQ(history[0].valid_to, kForever);
  EXPECT_EQ(history[1].payload, "likes black coffee");
  EXPECT_EQ(history[1].valid_from, Utc(2023, 6, 1));
  EXPECT_LT(history[0].tx_from, history[1].tx_from);
  EXPECT_LE(history[0].tx_from, before_t1);
  EXPECT_GT(history[1].tx_from, before_t1);
  EXPECT_EQ(history[0].tx_to, history[1].tx_from);  // the update overrode part of version 1
  EXPECT_EQ(history[1].tx_to, kForever);

  ASSERT_TRUE(db_->Retire(WriteOptions(), id).ok());
  MemCube cube;
  EXPECT_TRUE(db_->Get(ReadOptions(), id, &cube).IsNotFound());
  EXPECT_EQ(Read(id, may20), "likes green tea");
  ASSERT_TRUE(db_->History(ReadOptions(), id, &history).ok());
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[2].state, CubeState::kRetired);
  EXPECT_EQ(history[2].version, 3u);
}

TEST_F(DbTest, DestroyDbRemovesOnlyTheDatabaseAndRefusesWhatIsNotOne) {
  Open();
  Put("s", "x");
  ASSERT_TRUE(db_->Checkpoint().ok());
  Put("s", "y");
  // Someone else's file in the directory survives, and so does the directory.
  std::unique_ptr<WritableFile> other;
  ASSERT_TRUE(env_->NewWritableFile(dir_ + "/notes.txt", Env::OpenMode::kCreateNew, &other).ok());
  ASSERT_TRUE(other->Write(0, "keep me").ok());
  other.reset();
  // Not while a writer holds it.
  EXPECT_TRUE(DestroyDb(dir_, env_.get()).IsBusy());
  db_.reset();
  ASSERT_TRUE(DestroyDb(dir_, env_.get()).ok());
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir_, &names).ok());
  EXPECT_EQ(names, std::vector<std::string>{"notes.txt"});
  // Gone: no database to open, nothing left to destroy.
  Options o = DefaultOptions();
  o.create_if_missing = false;
  EXPECT_TRUE(Db::Open(o, dir_, &db_).IsNotFound());
  EXPECT_TRUE(DestroyDb(dir_, env_.get()).IsNotFound());
  EXPECT_TRUE(DestroyDb("/nowhere", env_.get()).IsNotFound());
  EXPECT_EQ(test::ReadWholeFile(env_.get(), dir_ + "/notes.txt"), "keep me");
}

TEST_F(DbTest, CreationRefusesADirectoryHoldingLociDataWithoutASuperblock) {
  // A WAL segment with more than a header in it is somebody's data: never overwritten.
  ASSERT_TRUE(env_->CreateDir(dir_).ok());
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(
      env_->NewWritableFile(dir_ + "/wal-00000001.log", Env::OpenMode::kCreateNew, &f).ok());
  ASSERT_TRUE(f->Write(0, std::string(8192, 'd')).ok());
  f.reset();
  Status s = Db::Open(DefaultOptions(), dir_, &db_);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(test::Contains(s.ToString(), "refusing")) << s.ToString();
  EXPECT_EQ(test::ReadWholeFile(env_.get(), dir_ + "/wal-00000001.log"), std::string(8192, 'd'));
}

TEST_F(DbTest, UpdateWithEarlierValidFromCorrectsThePast) {
  Open();
  const CubeId id = Put("s", "lives in Paris", Utc(2023, 5, 8));
  const Timestamp before = db_->Now();
  CubePatch fix;
  fix.payload = "lives in Lyon";
  fix.valid_from = Utc(2023, 5, 1);
  ASSERT_TRUE(db_->Update(WriteOptions(), id, fix).ok());

  ReadOptions may20;
  may20.valid_at = Utc(2023, 5, 20);
  EXPECT_EQ(Read(id, may20), "lives in Lyon");
  ReadOptions may5;
  may5.valid_at = Utc(2023, 5, 5);
  EXPECT_EQ(Read(id, may5), "lives in Lyon");
  ReadOptions april;
  april.valid_at = Utc(2023, 4, 1);
  MemCube none;
  EXPECT_TRUE(db_->Get(april, id, &none).IsNotFound());
  ReadOptions believed;
  believed.as_of = before;
  believed.valid_at = Utc(2023, 5, 20);
  EXPECT_EQ(Read(id, believed), "lives in Paris");
}

TEST_F(DbTest, BoundedUpdateLeavesLaterTimesToTheEarlierVersion) {
  Open();
  const CubeId id = Put("s", "at home", Utc(2023, 1, 1));
  CubePatch trip;
  trip.payload = "travelling";
  trip.valid_from = Utc(2023, 7, 1);
  trip.valid_to = Utc(2023, 7, 15);
  ASSERT_TRUE(db_->Update(WriteOptions(), id, trip).ok());
  ReadOptions during, after;
  during.valid_at = Utc(2023, 7, 10);
  after.valid_at = Utc(2023, 8, 1);
  EXPECT_EQ(Read(id, during), "travelling");
  EXPECT_EQ(Read(id, after), "at home");
  EXPECT_EQ(Read(id), "at home");
}

TEST_F(DbTest, RetireAtAnExplicitValidTime) {
  Open();
  const CubeId id = Put("s", "member of the club", Utc(2020, 1, 1));
  ASSERT_TRUE(db_->Retire(WriteOptions(), id, Utc(2022, 1, 1)).ok());
  ReadOptions in2021, in2023;
  in2021.valid_at = Utc(2021, 6, 1);
  in2023.valid_at = Utc(2023, 6, 1);
  EXPECT_EQ(Read(id, in2021), "member of the club");
  MemCube cube;
  Status s = db_->Get(in2023, id, &cube);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_NE(s.message().find("retired"), std::string::npos) << s.ToString();
}

// Every time a message shows is RFC 3339, never a raw microsecond count.
TEST_F(DbTest, MessagesShowTimesAsRfc3339) {
  constexpr Timestamp kSecond = 1'000'000;
  Open();
  const CubeId id = Put("s", "member of the club", Utc(2020, 1, 1));
  ASSERT_TRUE(db_->Retire(WriteOptions(), id, Utc(2022, 1, 1)).ok());
  MemCube cube;
  ReadOptions in2023;
  in2023.valid_at = Utc(2023, 6, 1);
  EXPECT_EQ(db_->Get(in2023, id, &cube).ToString(),
            "NotFound: cube " + std::to_string(id) +
                " is retired (from valid time 2022-01-01T00:00:00Z)");

  ReadOptions before;
  before.as_of = Utc(2023, 5, 8) + (13 * 60 + 56) * 60 * kSecond;
  before.valid_at = Utc(1969, 12, 31);
  EXPECT_EQ(db_->Get(before, id, &cube).ToString(),
            "NotFound: cube " + std::to_string(id) +
                " has no version valid at 1969-12-31T00:00:00Z as of 2023-05-08T13:56:00Z");
  std::vector<MemCube> history;
  EXPECT_EQ(db_->History(before, id, &history).ToString(),
            "NotFound: cube " + std::to_string(id) + " has no version as of 2023-05-08T13:56:00Z");

  CubeDraft expiring{.space = "s", .payload = "soon gone"};
  expiring.expires_at = Utc(2024, 2, 29) + 12 * 3600 * kSecond;
  const std::string past = db_->Put(WriteOptions(), expiring).status().ToString();
  EXPECT_EQ(past.rfind("InvalidArgument: expires_at 2024-02-29T12:00:00Z is not after the commit "
                       "time ",
                       0),
            0u)
      << past;

  CubeDraft inverted{.space = "s"};
  inverted.valid_from = Utc(2024, 1, 1);
  inverted.valid_to = Utc(2023, 1, 1);
  EXPECT_EQ(db_->Put(WriteOptions(), inverted).status().ToString(),
            "InvalidArgument: valid interval is empty or inverted (valid_from "
            "2024-01-01T00:00:00Z >= valid_to 2023-01-01T00:00:00Z)");
  // Inverted only against the default valid_from, the commit time: judged by the leader.
  CubeDraft ended{.space = "s"};
  ended.valid_to = Utc(2000, 1, 1);
  const std::string message = db_->Put(WriteOptions(), ended).status().message();
  EXPECT_NE(message.find(">= valid_to 2000-01-01T00:00:00Z)"), std::string::npos) << message;
}

TEST_F(DbTest, OperationsOnMissingOrRetiredCubesFail) {
  Open();
  CubePatch p;
  p.payload = "x";
  EXPECT_TRUE(db_->Update(WriteOptions(), 42, p).status().IsNotFound());
  EXPECT_TRUE(db_->Retire(WriteOptions(), 42).IsNotFound());
  MemCube cube;
  EXPECT_TRUE(db_->Get(ReadOptions(), 42, &cube).IsNotFound());
  std::vector<MemCube> history;
  EXPECT_TRUE(db_->History(ReadOptions(), 42, &history).IsNotFound());
  EXPECT_TRUE(db_->Get(ReadOptions(), 0, &cube).IsNotFound());

  const CubeId id = Put("s", "x");
  ASSERT_TRUE(db_->Retire(WriteOptions(), id).ok());
  EXPECT_TRUE(db_->Retire(WriteOptions(), id).IsInvalidArgument());
  EXPECT_TRUE(db_->Update(WriteOptions(), id, p).status().IsInvalidArgument());
}

TEST_F(DbTest, InvalidInputIsRefusedWithAMessage) {
  Options o = DefaultOptions();
  o.max_payload_bytes = 100;
  Open(o);
  auto put = [&](CubeDraft d) { return db_->Put(WriteOptions(), d).status(); };
  CubeDraft base;
  base.space = "s";
  base.vectors = {{"e", {0.1f, 0.2f, 0.3f}}};
  ASSERT_TRUE(put(base).ok());

  CubeDraft d = base;
  d.space = "";
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.vectors = {{"e", {1, 2}}};
  Status s = put(d);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("dimension 3"), std::string::npos) << s.ToString();
  d = base;
  d.vectors = {{"e", {std::nanf(""), 1, 2}}};
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.vectors = {{"e", {INFINITY, 1, 2}}};
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.vectors = {{"e", {0, 0, 0}}};
  EXPECT_TRUE(put(d).IsInvalidArgument());  // cosine needs a direction
  d = base;
  d.payload = std::string(101, 'x');
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.valid_from = Utc(2024, 1, 1);
  d.valid_to = Utc(2023, 1, 1);
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.valid_to = Utc(2000, 1, 1);  // before the default valid_from (the commit time)
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.attrs = {{"k", int64_t{1}}, {"k", int64_t{2}}};
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.parents = {999};
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.state = CubeState::kRetired;
  EXPECT_TRUE(put(d).IsInvalidArgument());
  d = base;
  d.importance = NAN;
  EXPECT_TRUE(put(d).IsInvalidArgument());

  CubePatch p;
  p.remove_vectors = {"nope"};
  EXPECT_TRUE(db_->Update(WriteOptions(), 1, p).status().IsInvalidArgument());
  // Nothing invalid was committed.
  EXPECT_EQ(db_->Stats().versions, 1u);
}

TEST_F(DbTest, BatchIsAllOrNothing) {
  Open();
  const CubeId first = Put("s", "one");
  WriteBatch bad;
  bad.Put(CubeDraft{.space = "s", .payload = "two"});
  bad.Update(first, CubePatch{.payload = "one'"});
  bad.Update(12345, CubePatch{.payload = "missing"});
  Status s = db_->Write(WriteOptions(), bad, nullptr);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(Read(first), "one");
  EXPECT_EQ(db_->Stats().versions, 1u);

  WriteBatch good;
  good.Put(CubeDraft{.space = "s", .payload = "two"});
  good.Update(first, CubePatch{.payload = "one'"});
  good.Update(first, CubePatch{.payload = "one''"});
  WriteResult result;
  ASSERT_TRUE(db_->Write(WriteOptions(), good, &result).ok());
  ASSERT_EQ(result.ops.size(), 3u);
  EXPECT_EQ(result.ops[0].id, first + 1);  // the failed batch consumed no id
  EXPECT_EQ(result.ops[1].version, 2u);
  EXPECT_EQ(result.ops[2].version, 3u);
  EXPECT_EQ(Read(first), "one''");
  std::vector<MemCube> history;
  ASSERT_TRUE(db_->History(ReadOptions(), first, &history).ok());
  ASSERT_EQ(history.size(), 3u);
  // One batch, one commit time.
  EXPECT_EQ(history[1].tx_from, history[2].tx_from);
  EXPECT_EQ(history[1].tx_from, result.commit_time);
}

TEST_F(DbTest, EveryFieldRoundTrips) {
  Open();
  CubeDraft d;
  d.space = "s";
  d.kind = kActivation;
  d.state = CubeState::kArchived;
  d.payload = std::string("bin\0ary", 7);
  d.vectors = {{"a", {1.5f, -2.25f}}, {"b", {0.5f, 0.25f, 0.125f}}};
  d.attrs = {{"topic", std::string("drinks")}, {"n", int64_t{-7}}, {"f", 2.5}, {"t", true}};
  d.source = "chat:1";
  d.agent = "planner";
  d.importance = 0.75f;
  d.trust = 0.5f;
  d.valid_from = Utc(2023, 5, 8);
  d.valid_to = Utc(2030, 1, 1);
  d.expires_at = Utc(2099, 1, 1);
  const CubeId parent = Put("s", "parent");
  d.parents = {parent};
  Result<CubeId> id = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  auto check = [&] {
    MemCube c;
    ASSERT_TRUE(db_->Get(ReadOptions(), *id, &c).ok());
    EXPECT_EQ(c.space, "s");
    EXPECT_EQ(c.kind, kActivation);
    EXPECT_EQ(c.state, CubeState::kArchived);
    EXPECT_EQ(c.payload, d.payload);
    EXPECT_EQ(c.payload_size, 7u);
    ASSERT_EQ(c.vectors.size(), 2u);
    EXPECT_EQ(c.vectors[0], d.vectors[0]);
    EXPECT_EQ(c.vectors[1], d.vectors[1]);
    EXPECT_EQ(c.attrs.size(), 4u);
    std::set<std::string> keys;
    for (const Attr& a : c.attrs) keys.insert(a.key);
    EXPECT_EQ(keys, (std::set<std::string>{"f", "n", "t", "topic"}));
    EXPECT_EQ(c.source, "chat:1");
    EXPECT_EQ(c.agent, "planner");
    EXPECT_EQ(c.parents, std::vector<CubeId>{parent});
    EXPECT_EQ(c.importance, 0.75f);
    EXPECT_EQ(c.trust, 0.5f);
    EXPECT_EQ(c.valid_from, Utc(2023, 5, 8));
    EXPECT_EQ(c.valid_to, Utc(2030, 1, 1));
    EXPECT_EQ(c.expires_at, Utc(2099, 1, 1));
  };
  check();
  Reopen();
  check();
  ASSERT_TRUE(db_->Checkpoint().ok());
  Reopen();
  check();
}

TEST_F(DbTest, PatchInheritsAndChangesFields) {
  Open();
  CubeDraft d{.space = "s", .payload = "p1"};
  d.vectors = {{"a", {1, 2}}, {"b", {3, 4}}};
  d.attrs = {{"x", int64_t{1}}, {"y", int64_t{2}}};
  d.source = "src";
  const CubeId id = *db_->Put(WriteOptions(), d);
  CubePatch p;
  p.set_vectors = {{"a", {5, 6}}, {"c", {7, 8, 9}}};
  p.remove_vectors = {"b"};
  p.set_attrs = {{"y", int64_t{20}}, {"z", std::string("new")}};
  p.remove_attrs = {"x"};
  ASSERT_TRUE(db_->Update(WriteOptions(), id, p).ok());
  MemCube c;
  ASSERT_TRUE(db_->Get(ReadOptions(), id, &c).ok());
  EXPECT_EQ(c.payload, "p1");
  EXPECT_EQ(c.source, "src");
  ASSERT_EQ(c.vectors.size(), 2u);
  EXPECT_EQ(c.vectors[0], (NamedVector{"a", {5, 6}}));
  EXPECT_EQ(c.vectors[1], (NamedVector{"c", {7, 8, 9}}));
  ASSERT_EQ(c.attrs.size(), 2u);
  EXPECT_EQ(c.attrs[0], (Attr{"y", int64_t{20}}));
  EXPECT_EQ(c.attrs[1], (Attr{"z", std::string("new")}));
}

TEST_F(DbTest, StateSurvivesReopenAndCheckpoints) {
  Options o = DefaultOptions();
  o.wal_segment_bytes = 64 << 10;  // several segments
  Open(o);
  std::vector<CubeId> ids;
  for (int i = 0; i < 300; ++i)
    ids.push_back(Put("s" + std::to_string(i % 3), "v1-" + std::to_string(i)));
  for (int i = 0; i < 300; i += 2) {
    ASSERT_TRUE(
        db_->Update(WriteOptions(), ids[i], CubePatch{.payload = "v2-" + std::to_string(i)}).ok());
  }
  auto check = [&] {
    for (int i = 0; i < 300; ++i) {
      EXPECT_EQ(Read(ids[i]), (i % 2 == 0 ? "v2-" : "v1-") + std::to_string(i));
    }
  };
  check();
  db_.reset();
  Open(o);
  check();
  // Several checkpoints: deltas, then a merge into a new base, with writes in between.
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(db_->Checkpoint().ok());
    for (int i = 1; i < 300; i += 7) {
      ASSERT_TRUE(
          db_->Update(WriteOptions(), ids[i], CubePatch{.payload = "r" + std::to_string(round)})
              .ok());
    }
  }
  std::vector<std::string> expected;
  for (CubeId id : ids) expected.push_back(Read(id));
  DbStats before = db_->Stats();
  EXPECT_GT(before.wal_segments, 1u);
  ASSERT_TRUE(db_->Checkpoint().ok());
  db_.reset();
  Open(o);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(Read(ids[i]), expected[i]);
  EXPECT_EQ(db_->Stats().versions, before.versions);
  EXPECT_EQ(db_->Stats().cubes, 300u);
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir_, &names).ok());
  int segments = 0;
  for (const std::string& n : names) segments += n.starts_with("wal-");
  EXPECT_EQ(segments, 1) << "checkpoint should delete the WAL segments it covers";
  // New ids continue after reopen.
  EXPECT_EQ(Put("s0", "after"), 301u);
}

// A torn WAL tail is dropped once, and recovering again (and again after more writes) gives
// the same state: recovery is idempotent. The torn put had been acknowledged, so its id is never
// handed out again.
TEST_F(DbTest, RecoveringTwiceGivesTheSameState) {
  Open();
  std::vector<CubeId> ids;
  for (int i = 0; i < 20; ++i) ids.push_back(Put("s", "v" + std::to_string(i)));
  db_.reset();
  // What a crash during the last group would leave: no seal (the close never came) and the last
  // batch record torn.
  const std::string segment = dir_ + "/" + WalSegmentFileName(1);
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_TRUE(env_->NewRandomAccessFile(segment, &reader).ok());
  std::string image;
  ASSERT_TRUE(reader->Read(0, 1 << 30, &image).ok());
  wal::SegmentScan scan;
  ASSERT_TRUE(wal::ScanSegment(image, segment, &scan).ok());
  const wal::ScannedRecord* last_batch = nullptr;
  const wal::ScannedRecord* seal = nullptr;
  for (const wal::ScannedRecord& r : scan.records) {
    if (r.type == wal::kBatchRecord) last_batch = &r;
    if (r.type == wal::kSealRecord) seal = &r;
  }
  ASSERT_NE(last_batch, nullptr);
  ASSERT_NE(seal, nullptr) << "a clean close seals the log";
  std::unique_ptr<WritableFile> writer;
  ASSERT_TRUE(env_->NewWritableFile(segment, Env::OpenMode::kOpenExisting, &writer).ok());
  ASSERT_TRUE(writer->Write(seal->offset, std::string(image.size() - seal->offset, '\0')).ok());
  const uint64_t tear =
      last_batch->offset + wal::kRecordHeaderSize + last_batch->payload.size() / 2;
  ASSERT_TRUE(writer->Write(tear, std::string(16, '\x5a')).ok());

  auto snapshot = [&] {
    std::vector<std::string> state;
    for (CubeId id : ids) state.push_back(Read(id));
    state.push_back(std::to_string(db_->Stats().versions));
    return state;
  };
  Open();
  EXPECT_NE(db_->Stats().recovery.find("torn"), std::string::npos) << db_->Stats().recovery;
  const std::vector<std::string> first = snapshot();
  EXPECT_NE(first[19], "v19");  // the torn put is gone
  EXPECT_EQ(first[18], "v18");
  Reopen();
  EXPECT_EQ(snapshot(), first);
  EXPECT_EQ(db_->Stats().recovery, "");
  // The torn put had been acknowledged: its id is never assigned again.
  const CubeId after = Put("s", "after");
  EXPECT_GT(after, ids[19]);
  Reopen();
  const std::vector<std::string> again = snapshot();
  EXPECT_EQ(std::vector<std::string>(again.begin(), again.begin() + 20),
            std::vector<std::string>(first.begin(), first.begin() + 20));
  EXPECT_EQ(Read(after), "after");
}

// A checkpoint writes what changed since the previous one (a delta), not the whole table; deltas
// are merged into a new base once they outgrow it.
TEST_F(DbTest, CheckpointCostGrowsWithWhatChanged) {
  Open();
  std::vector<CubeId> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back(Put("s", "payload " + std::to_string(i)));
  ASSERT_TRUE(db_->Checkpoint().ok());
  auto checkpoint_files = [&] {
    std::vector<std::string> names;
    EXPECT_TRUE(env_->GetChildren(dir_, &names).ok());
    std::map<std::string, uint64_t> sizes;
    for (const std::string& n : names) {
      if (n.starts_with("ckpt-")) {
        EXPECT_TRUE(env_->GetFileSize(dir_ + "/" + n, &sizes[n]).ok());
      }
    }
    return sizes;
  };
  const auto base = checkpoint_files();
  ASSERT_EQ(base.size(), 1u);
  const uint64_t base_bytes = base.begin()->second;

  ASSERT_TRUE(db_->Update(WriteOptions(), ids[7], CubePatch{.payload = "changed"}).ok());
  ASSERT_TRUE(db_->Checkpoint().ok());
  auto after = checkpoint_files();
  ASSERT_EQ(after.size(), 2u);
  const uint64_t delta_bytes = after.rbegin()->second;
  EXPECT_LT(delta_bytes * 50, base_bytes) << "a one-version delta should be tiny";

  // Nothing changed: no new file.
  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(checkpoint_files().size(), 2u);

  // Deltas that outgrow the base are merged into a new base.
  for (int round = 0; round < 3; ++round) {
    for (CubeId id : ids) {
      ASSERT_TRUE(
          db_->Update(WriteOptions(), id, CubePatch{.payload = "r" + std::to_string(round)}).ok());
    }
    ASSERT_TRUE(db_->Checkpoint().ok());
  }
  EXPECT_LE(checkpoint_files().size(), 2u);
  Reopen();
  EXPECT_EQ(Read(ids[7]), "r2");
  EXPECT_EQ(db_->Stats().versions, 2000u * 4 + 1);
}

TEST_F(DbTest, NonSyncWritesSurviveACleanClose) {
  Open();
  CubeDraft d{.space = "s", .payload = "fast"};
  WriteOptions nosync;
  nosync.sync = false;
  const CubeId id = *db_->Put(nosync, d);
  Reopen();
  EXPECT_EQ(Read(id), "fast");
}

// An Env whose clock the test sets, to check that commit times never go back.
class FixedClockEnv : public EnvWrapper {
 public:
  explicit FixedClockEnv(Env* target) : EnvWrapper(target) {}
  int64_t NowMicros() override { return now.load(); }
  std::atomic<int64_t> now{0};
};

TEST_F(DbTest, CommitClockNeverGoesBackAcrossRestarts) {
  FixedClockEnv clock(env_.get());
  Options o = DefaultOptions();
  o.env = &clock;
  clock.now = Utc(2025, 1, 1);
  Open(o);
  const CubeId a = Put("s", "a");
  const CubeId b = Put("s", "b");  // same wall-clock reading: forced strictly later
  std::vector<MemCube> ha, hb;
  ASSERT_TRUE(db_->History(ReadOptions(), a, &ha).ok());
  ASSERT_TRUE(db_->History(ReadOptions(), b, &hb).ok());
  EXPECT_EQ(ha[0].tx_from, Utc(2025, 1, 1));
  EXPECT_GT(hb[0].tx_from, ha[0].tx_from);
  db_.reset();

  clock.now = Utc(2024, 1, 1);  // the wall clock stepped back a year
  Open(o);
  const CubeId c = Put("s", "c");
  std::vector<MemCube> hc;
  ASSERT_TRUE(db_->History(ReadOptions(), c, &hc).ok());
  EXPECT_GT(hc[0].tx_from, hb[0].tx_from);
  // And after a checkpoint (the high-water mark then lives in the superblock, not the WAL).
  ASSERT_TRUE(db_->Checkpoint().ok());
  db_.reset();
  Open(o);
  const CubeId d = Put("s", "d");
  std::vector<MemCube> hd;
  ASSERT_TRUE(db_->History(ReadOptions(), d, &hd).ok());
  EXPECT_GT(hd[0].tx_from, hc[0].tx_from);
}

// Fails every Sync once `fail_syncs` is set (fsync EIO).
class FailingSyncEnv : public EnvWrapper {
 public:
  explicit FailingSyncEnv(Env* target) : EnvWrapper(target) {}
  class File : public WritableFile {
   public:
    File(FailingSyncEnv* env, std::unique_ptr<WritableFile> f) : env_(env), f_(std::move(f)) {}
    Status Write(uint64_t o, std::string_view d) override { return f_->Write(o, d); }
    Status Sync() override {
      if (env_->fail_syncs.load()) return Status::IOError(f_->path() + ": injected fsync EIO");
      return f_->Sync();
    }
    Status Truncate(uint64_t n) override { return f_->Truncate(n); }
    Status Allocate(uint64_t o, uint64_t n) override { return f_->Allocate(o, n); }
    Result<uint64_t> Size() override { return f_->Size(); }
    const std::string& path() const override { return f_->path(); }

   private:
    FailingSyncEnv* env_;
    std::unique_ptr<WritableFile> f_;
  };
  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    std::unique_ptr<WritableFile> f;
    LOCI_RETURN_IF_ERROR(target()->NewWritableFile(path, mode, &f));
    *result = std::make_unique<File>(this, std::move(f));
    return Status::OK();
  }
  std::unique_ptr<IoQueue> NewIoQueue() override { return NewSequentialIoQueue(); }
  std::atomic<bool> fail_syncs{false};
};

TEST_F(DbTest, AFailedSyncPoisonsTheInstanceAndReopeningRecovers) {
  FailingSyncEnv faulty(env_.get());
  Options o = DefaultOptions();
  o.env = &faulty;
  Open(o);
  const CubeId kept = Put("s", "acknowledged");
  faulty.fail_syncs = true;
  Result<CubeId> failed = db_->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "lost?"});
  EXPECT_FALSE(failed.ok());
  faulty.fail_syncs = false;  // the disk "recovers": the instance must not believe it
  Status s = db_->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "after"}).status();
  EXPECT_TRUE(s.IsPoisoned()) << s.ToString();
  EXPECT_TRUE(db_->Checkpoint().IsPoisoned());
  EXPECT_TRUE(db_->Stats().poisoned);
  EXPECT_EQ(Read(kept), "acknowledged");  // reads still work
  db_.reset();
  Open(o);  // recovery decides from what is on disk
  EXPECT_EQ(Read(kept), "acknowledged");
  EXPECT_TRUE(db_->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "new"}).ok());
  EXPECT_FALSE(db_->Stats().poisoned);
}

TEST_F(DbTest, ReadsNeverCrossSpaces) {
  Open();
  const CubeId alice = Put("alice", "alice's secret");
  Put("bob", "bob's note");
  const std::string missing = "NotFound: cube " + std::to_string(alice) + " does not exist";
  ReadOptions as_bob;
  as_bob.space = "bob";
  MemCube cube;
  Status s = db_->Get(as_bob, alice, &cube);
  EXPECT_EQ(s.ToString(), missing);
  std::vector<MemCube> history;
  EXPECT_EQ(db_->History(as_bob, alice, &history).ToString(), missing);
  // A space that does not exist says nothing different: the cube does not exist for it.
  as_bob.space = "carol";
  EXPECT_EQ(db_->Get(as_bob, alice, &cube).ToString(), missing);
  EXPECT_EQ(db_->History(as_bob, alice, &history).ToString(), missing);
  as_bob.space = "";
  EXPECT_EQ(db_->Get(as_bob, alice, &cube).ToString(), missing);
  ReadOptions as_alice;
  as_alice.space = "alice";
  EXPECT_EQ(Read(alice, as_alice), "alice's secret");
}

// What a write confined to a space, or a parent list, gets for an id that exists in another
// space is, byte for byte, what it gets for an id never assigned.
TEST_F(DbTest, AnotherSpacesCubeLooksExactlyLikeAMissingOne) {
  Open();
  const CubeId alice = Put("alice", "alice's secret");
  const CubeId bob = Put("bob", "bob's note");
  const CubeId never = 1000;
  // `status` with the id it names replaced by `never`'s: what a missing id gets, if the
  // message says nothing else.
  auto as_if_missing = [&](const Status& status, CubeId id) {
    std::string text = status.ToString();
    const std::string from = "cube " + std::to_string(id) + " ";
    const size_t at = text.find(from);
    if (at != std::string::npos)
      text.replace(at, from.size(), "cube " + std::to_string(never) + " ");
    return text;
  };
  auto write = [&](WriteBatch batch) { return db_->Write(WriteOptions(), batch, nullptr); };
  auto update = [&](CubeId id, std::optional<std::string> space) {
    WriteBatch b;
    b.Update(id, CubePatch{.payload = "changed"}, std::move(space));
    return write(std::move(b));
  };
  auto retire = [&](CubeId id, std::optional<std::string> space) {
    WriteBatch b;
    b.Retire(id, std::nullopt, std::move(space));
    return write(std::move(b));
  };
  for (const char* space : {"bob", "carol", ""}) {
    SCOPED_TRACE(space);
    EXPECT_EQ(as_if_missing(update(alice, space), alice), update(never, space).ToString());
    EXPECT_EQ(as_if_missing(retire(alice, space), alice), retire(never, space).ToString());
    EXPECT_TRUE(update(never, space).IsNotFound());
  }
  // Retired in its own space: another space still sees nothing, not "is retired".
  ASSERT_TRUE(retire(bob, "bob").ok());
  EXPECT_EQ(as_if_missing(update(bob, "alice"), bob), update(never, "alice").ToString());
  EXPECT_EQ(as_if_missing(retire(bob, "alice"), bob), retire(never, "alice").ToString());
  EXPECT_TRUE(update(bob, "bob").IsInvalidArgument());  // its own space is told it is retired
  // Nothing was written for any of them.
  EXPECT_EQ(Read(alice), "alice's secret");
  EXPECT_EQ(db_->Stats().versions, 3u);
  EXPECT_TRUE(update(alice, "alice").ok());
}

TEST_F(DbTest, AParentMustBeInTheCubesOwnSpace) {
  Open();
  const CubeId alice = Put("alice", "alice's note");
  const CubeId bob = Put("bob", "bob's note");
  const CubeId never = 1000;
  auto put = [&](const std::string& space, CubeId parent) {
    return db_->Put(WriteOptions(), CubeDraft{.space = space, .parents = {parent}}).status();
  };
  auto expected = [](CubeId id) {
    return "InvalidArgument: parent cube " + std::to_string(id) + " does not exist";
  };
  EXPECT_EQ(put("bob", never).ToString(), expected(never));
  EXPECT_EQ(put("bob", alice).ToString(), expected(alice));
  EXPECT_EQ(put("dave", alice).ToString(), expected(alice));  // a new space holds no parent
  EXPECT_TRUE(put("alice", alice).ok());
  CubePatch patch;
  patch.parents = std::vector<CubeId>{alice};
  EXPECT_EQ(db_->Update(WriteOptions(), bob, patch).status().ToString(), expected(alice));
  patch.parents = std::vector<CubeId>{never};
  EXPECT_EQ(db_->Update(WriteOptions(), bob, patch).status().ToString(), expected(never));
  // A parent put earlier in the same batch, in the same space, is there.
  WriteBatch batch;
  batch.Put(CubeDraft{.space = "erin", .payload = "source"});
  const CubeId next = db_->Stats().cubes + 1;
  batch.Put(CubeDraft{.space = "erin", .payload = "summary", .parents = {next}});
  EXPECT_TRUE(db_->Write(WriteOptions(), batch, nullptr).ok());
}

TEST_F(DbTest, ACubeCannotBeItsOwnParent) {
  Open();
  const CubeId id = Put("s", "x");
  CubePatch patch;
  patch.parents = std::vector<CubeId>{id};
  Status s = db_->Update(WriteOptions(), id, patch).status();
  EXPECT_EQ(s.ToString(),
            "InvalidArgument: cube " + std::to_string(id) + " cannot be its own parent");
  patch.parents = std::vector<CubeId>{Put("s", "y"), id};
  EXPECT_TRUE(db_->Update(WriteOptions(), id, patch).status().IsInvalidArgument());
  // A put cannot name the id it is about to get: that cube does not exist yet.
  const CubeId next = db_->Stats().cubes + 1;
  EXPECT_EQ(
      db_->Put(WriteOptions(), CubeDraft{.space = "s", .parents = {next}}).status().ToString(),
      "InvalidArgument: parent cube " + std::to_string(next) + " does not exist");
  EXPECT_EQ(db_->Stats().versions, 2u);
}

// An update that would only repeat the latest version is refused: it carries no information.
TEST_F(DbTest, AnUpdateThatChangesNothingIsRefused) {
  Open();
  CubeDraft d{.space = "s", .payload = "likes tea"};
  d.vectors = {{"e", {0.1f, 0.2f, 0.3f}}};
  d.attrs = {{"topic", std::string("drinks")}, {"n", int64_t{3}}};
  d.source = "chat:1";
  d.parents = {Put("s", "parent")};
  d.valid_from = Utc(2023, 5, 8);
  const CubeId id = *db_->Put(WriteOptions(), d);
  auto update = [&](const CubePatch& p) { return db_->Update(WriteOptions(), id, p).status(); };
  const uint64_t versions = db_->Stats().versions;

  Status s = update(CubePatch());
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(test::Contains(s.message(), "nothing to change")) << s.ToString();
  s = update(CubePatch{.payload = "likes tea"});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(test::Contains(s.message(), "nothing to change")) << s.ToString();
  EXPECT_TRUE(update(CubePatch{.set_vectors = {{"e", {0.1f, 0.2f, 0.3f}}}}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.set_attrs = {{"n", int64_t{3}}}}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.remove_attrs = {"absent"}}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.source = "chat:1", .parents = d.parents}).IsInvalidArgument());
  EXPECT_TRUE(
      update(CubePatch{.state = CubeState::kActive, .importance = 0.0f}).IsInvalidArgument());
  EXPECT_EQ(db_->Stats().versions, versions);

  // Any difference, in content or in a validity the patch sets, is a change.
  EXPECT_TRUE(update(CubePatch{.set_vectors = {{"e", {0.1f, 0.2f, 0.4f}}}}).ok());
  EXPECT_TRUE(update(CubePatch{.set_attrs = {{"n", 3.0}}}).ok());  // a double, not an int
  EXPECT_TRUE(update(CubePatch{.payload = "likes tea", .valid_from = Utc(2023, 1, 1)}).ok());
  EXPECT_TRUE(update(CubePatch{.payload = "likes tea", .valid_to = Utc(2030, 1, 1)}).ok());
  // The latest version ends in 2030: the same content from now on, for good, says something.
  EXPECT_TRUE(update(CubePatch{.payload = "likes tea"}).ok());
  EXPECT_TRUE(update(CubePatch{.payload = "likes tea"}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.payload = ""}).ok());
  EXPECT_TRUE(update(CubePatch{.payload = ""}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.remove_vectors = {"e"}}).ok());
  EXPECT_EQ(db_->Stats().versions, versions + 7);

  // The same against blobs an earlier process wrote.
  ASSERT_TRUE(update(CubePatch{.payload = "likes coffee", .set_vectors = {{"e", {1, 2, 3}}}}).ok());
  Reopen();
  EXPECT_TRUE(update(CubePatch{.payload = "likes coffee"}).IsInvalidArgument());
  EXPECT_TRUE(update(CubePatch{.set_vectors = {{"e", {1, 2, 3}}}}).IsInvalidArgument());
  // And in one batch, against the version the batch itself just wrote (its blobs not yet
  // published).
  WriteBatch batch;
  batch.Update(id, CubePatch{.payload = "likes juice"});
  batch.Update(id, CubePatch{.payload = "likes juice"});
  s = db_->Write(WriteOptions(), batch, nullptr);
  EXPECT_EQ(s.ToString(),
            "InvalidArgument: operation 1: nothing to change: the update gives cube " +
                std::to_string(id) + " the content it has");
}

TEST_F(DbTest, SnapshotKeepsItsReadPoint) {
  Open();
  const CubeId id = Put("s", "before");
  std::shared_ptr<const Snapshot> snap = db_->GetSnapshot();
  ASSERT_TRUE(db_->Update(WriteOptions(), id, CubePatch{.payload = "after"}).ok());
  const CubeId later = Put("s", "new");
  ReadOptions ro;
  ro.snapshot = snap.get();
  EXPECT_EQ(Read(id, ro), "before");
  MemCube cube;
  EXPECT_TRUE(db_->Get(ro, later, &cube).IsNotFound());
  EXPECT_EQ(Read(id), "after");
}

TEST_F(DbTest, ReadOnlyOpenReadsButRefusesWrites) {
  Open();
  const CubeId id = Put("s", "x");
  db_.reset();
  Options o = DefaultOptions();
  o.read_only = true;
  o.create_if_missing = false;
  Open(o);
  EXPECT_EQ(Read(id), "x");
  EXPECT_TRUE(db_->Put(WriteOptions(), CubeDraft{.space = "s"}).status().IsNotSupported());
  EXPECT_TRUE(db_->Checkpoint().IsNotSupported());
}

TEST_F(DbTest, OpenWithoutDatabaseOrTwiceFails) {
  Options o = DefaultOptions();
  o.create_if_missing = false;
  std::unique_ptr<Db> db;
  EXPECT_TRUE(Db::Open(o, "/nothing", &db).IsNotFound());
  Open();
  std::unique_ptr<Db> second;
  Status s = Db::Open(DefaultOptions(), dir_, &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  o.error_if_exists = true;
  db_.reset();
  EXPECT_TRUE(Db::Open(o, dir_, &second).IsInvalidArgument());
}

TEST_F(DbTest, VerifyFindsNothingOnAHealthyDatabase) {
  Open();
  for (int i = 0; i < 50; ++i) {
    CubeDraft d{.space = "s", .payload = std::string(i * 10, 'p')};
    d.vectors = {{"e", {1.0f, float(i)}}};
    ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  }
  IntegrityReport report;
  ASSERT_TRUE(db_->Verify(&report).ok()) << report.problems.size();
  EXPECT_EQ(report.cubes, 50u);
  EXPECT_EQ(report.versions, 50u);
  EXPECT_EQ(report.blobs, 99u);  // 49 non-empty payloads + 50 vectors
}

TEST_F(DbTest, ConcurrentWritersAndReaders) {
  Open();
  constexpr int kWriters = 4, kPerWriter = 150;
  std::atomic<bool> done{false};
  std::vector<std::vector<CubeId>> ids(kWriters);
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerWriter; ++i) {
        WriteOptions wo;
        wo.sync = (i % 3 != 0);
        Result<CubeId> id = db_->Put(
            wo, CubeDraft{.space = "s", .payload = std::to_string(w) + ":" + std::to_string(i)});
        ASSERT_TRUE(id.ok());
        ids[w].push_back(*id);
      }
    });
  }
  std::atomic<int> reads{0};
  std::thread reader([&] {
    while (!done.load()) {
      const CubeId end = db_->Stats().cubes + 1;
      for (CubeId id = 1; id < end; ++id) {
        MemCube c;
        Status s = db_->Get(ReadOptions(), id, &c);
        // A published id is whole: found with a payload of the right shape.
        if (s.ok()) {
          EXPECT_NE(c.payload.find(':'), std::string::npos);
          ++reads;
        }
      }
    }
  });
  for (auto& t : threads) t.join();
  done = true;
  reader.join();
  std::set<CubeId> all;
  for (int w = 0; w < kWriters; ++w) {
    for (int i = 0; i < kPerWriter; ++i) {
      all.insert(ids[w][i]);
      EXPECT_EQ(Read(ids[w][i]), std::to_string(w) + ":" + std::to_string(i));
    }
  }
  EXPECT_EQ(all.size(), size_t{kWriters * kPerWriter});
  const DbStats stats = db_->Stats();
  EXPECT_EQ(stats.batches_committed, uint64_t{kWriters * kPerWriter});  // every put, once
  EXPECT_LE(stats.group_commits, stats.batches_committed);
}

// Stats().wal_bytes counts the WAL after the latest checkpoint. A checkpoint retires only the
// bytes it covers: a put committed while it writes its file is in the new segment and must stay
// counted. SimEnv holds the checkpoint at its file's first write, after the WAL was cut.
TEST(DbSimTest, WalBytesKeepWhatWasCommittedDuringACheckpoint) {
  sim::SimEnv env(1);
  Options o;
  o.env = &env;
  o.create_if_missing = true;
  o.deterministic_io = true;
  o.checkpoint_wal_bytes = 0;  // only the checkpoint below
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "before"}).ok());
  }
  env.HoldNextWrite("ckpt-");
  Status checkpointed;
  std::atomic<bool> finished{false};
  std::thread checkpoint([&] {
    checkpointed = db->Checkpoint();
    finished = true;
  });
  while (env.held_writes() == 0 && !finished) std::this_thread::yield();
  if (finished) {
    checkpoint.join();
    FAIL() << "the checkpoint wrote no file: " << checkpointed.ToString();
  }
  const uint64_t before = db->Stats().wal_bytes;
  ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "during"}).ok());
  const uint64_t during = db->Stats().wal_bytes - before;
  ASSERT_GT(during, 0u);
  env.ReleaseWrites();
  checkpoint.join();
  ASSERT_TRUE(checkpointed.ok()) << checkpointed.ToString();
  EXPECT_EQ(db->Stats().checkpoint_files, 1u);
  EXPECT_EQ(db->Stats().wal_bytes, during);
}

TEST(DbPosixTest, SecondOpenerIsToldWhoHoldsTheLock) {
  test::TempDir dir;
  Options o;
  o.create_if_missing = true;
  std::unique_ptr<Db> db, second;
  ASSERT_TRUE(Db::Open(o, dir.path(), &db).ok());
  Status s = Db::Open(o, dir.path(), &second);
  EXPECT_TRUE(s.IsBusy());
  EXPECT_NE(s.message().find(std::to_string(getpid())), std::string::npos) << s.ToString();
}

// The lock is the directory's: removing LOCK, or putting a symlink in its place, lets no second
// writer in (with the old lock on the file LOCK, both did).
TEST(DbPosixTest, SecondWriterIsBusyWhateverHappensToLock) {
  test::TempDir dir;
  Options o;
  o.create_if_missing = true;
  std::unique_ptr<Db> db, second;
  ASSERT_TRUE(Db::Open(o, dir.path(), &db).ok());
  ASSERT_EQ(unlink(dir.Join("LOCK").c_str()), 0);
  Status s = Db::Open(o, dir.path(), &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  ASSERT_EQ(symlink("/dev/null", dir.Join("LOCK").c_str()), 0);
  s = Db::Open(o, dir.path(), &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_TRUE(DestroyDb(dir.path()).IsBusy());
  EXPECT_EQ(second, nullptr);
  ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "x"}).ok());
  db.reset();
  EXPECT_TRUE(Db::Open(o, dir.path(), &second).ok());
}

// A read-only open takes no lock: it opens while a writer holds the database, and a writer
// opens while it is open (with the old shared lock, each was Busy).
TEST(DbPosixTest, ReadOnlyOpenNeitherWaitsForNorBlocksAWriter) {
  test::TempDir dir;
  Options o;
  o.create_if_missing = true;
  Options ro;
  ro.read_only = true;
  std::unique_ptr<Db> writer, reader;
  ASSERT_TRUE(Db::Open(o, dir.path(), &writer).ok());
  Result<CubeId> id = writer->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "durable"});
  ASSERT_TRUE(id.ok()) << id.status().ToString();

  Status s = Db::Open(ro, dir.path(), &reader);
  ASSERT_TRUE(s.ok()) << s.ToString();
  MemCube cube;
  ASSERT_TRUE(reader->Get(ReadOptions(), *id, &cube).ok());
  EXPECT_EQ(cube.payload, "durable");

  writer.reset();
  s = Db::Open(o, dir.path(), &writer);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(DbPosixTest, FilesAreCreatedOwnerOnly) {
  test::TempDir dir;
  Options o;
  o.create_if_missing = true;
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, dir.path(), &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "x"}).ok());
  ASSERT_TRUE(db->Checkpoint().ok());
  std::vector<std::string> names;
  ASSERT_TRUE(Env::Default()->GetChildren(dir.path(), &names).ok());
  EXPECT_GE(names.size(), 4u);
  for (const std::string& n : names) {
    struct stat st;
    ASSERT_EQ(stat((dir.path() + "/" + n).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << n;
  }
}

}  // namespace
}  // namespace loci

namespace loci {
namespace {

// A read at the end of transaction time (as_of = kForever, e.g. `loci get --as-of forever`)
// judges expiry now, like every read: a cube without an expiry is found (it was once reported
// "expired at forever"), and so is one whose expiry is still ahead.
TEST_F(DbTest, AReadAtTheEndOfTimeFindsCubesThatNeverExpire) {
  Open();
  const CubeId forever = Put("s", "no expiry", test::Utc(2023, 1, 1));
  CubeDraft d;
  d.space = "s";
  d.payload = "expires";
  d.valid_from = test::Utc(2023, 1, 1);
  d.expires_at = db_->Now() + 3600LL * 1000000;
  Result<CubeId> expiring = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(expiring.ok());
  ReadOptions ro;
  ro.as_of = kForever;
  ro.valid_at = test::Utc(2023, 6, 1);
  EXPECT_EQ(Read(forever, ro), "no expiry");
  EXPECT_EQ(Read(*expiring, ro), "expires");
  ro.as_of.reset();
  EXPECT_EQ(Read(*expiring, ro), "expires");
}

}  // namespace
}  // namespace loci
