// The trace graph through Db (loci/trace.h, loci/write_batch.h), on the in-memory Env:
//   - Link/Unlink/relink: version numbers, weights, as_of and valid_at reads of an edge, links
//     valid from the past or the future, unlinks at a future valid time;
//   - the documented errors (self-loops, reserved types, NaN weights, ends that are missing or
//     in another space, unlinks of edges never linked or unlinked already) and that a failed
//     batch writes nothing;
//   - placeholder ids of WriteBatch::Put in Links and parents, and the placeholders refused;
//   - SpaceHandle confinement;
//   - Trace (hops, limit, types, direction, episode order, BFS order, visibility), Episode
//     (order, late inserts, windows, moves between episodes, retirements), Events (windows,
//     episodes, corrections, retirements), Changes and List;
//   - persistence: every query answers identically after a reopen (WAL replay), a base
//     checkpoint, a delta checkpoint and a read-only open.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Contains;
using test::Utc;

// Valid times: days of January 2024.
Timestamp Day(int d) { return Utc(2024, 1, d); }

constexpr EdgeType kNext = EdgeType::kNext;
constexpr EdgeType kCaused = EdgeType::kCaused;
constexpr EdgeType kRefers = EdgeType::kRefers;
constexpr EdgeType kDerivedFrom = EdgeType::kDerivedFrom;
constexpr EdgeType kContradicts = EdgeType::kContradicts;

class TraceTest : public testing::Test {
 protected:
  TraceTest() : env_(NewMemEnv()) {}
  void SetUp() override { Open(); }

  Options DbOptions(bool read_only = false) {
    Options o;
    o.env = env_.get();
    o.create_if_missing = !read_only;
    o.read_only = read_only;
    return o;
  }
  void Open(bool read_only = false) {
    Status s = Db::Open(DbOptions(read_only), dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Reopen(bool read_only = false) {
    db_.reset();
    Open(read_only);
  }

  // Puts a cube named `name` (its payload) and remembers the name for the answers below.
  CubeId Put(const std::string& space, const std::string& name, const std::string& episode = "",
             std::optional<Timestamp> valid_from = Day(1)) {
    CubeDraft d;
    d.space = space;
    d.payload = name;
    d.episode = episode;
    d.valid_from = valid_from;
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << name << ": " << id.status().ToString();
    if (!id.ok()) return 0;
    names_[*id] = name;
    return *id;
  }

  // Commits `batch`, which must succeed; returns what it produced.
  WriteResult Commit(const WriteBatch& batch) {
    WriteResult r;
    Status s = db_->Write(WriteOptions(), batch, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  // Link/Unlink in a batch of their own, returning the commit time.
  Timestamp Link(CubeId from, CubeId to, EdgeType type, float weight = 1.0f,
                 std::optional<Timestamp> valid_from = std::nullopt, uint32_t* version = nullptr) {
    WriteBatch b;
    b.Link(std::nullopt, from, to, type, weight, valid_from);
    WriteResult r = Commit(b);
    if (version != nullptr && !r.ops.empty()) *version = r.ops[0].version;
    return r.commit_time;
  }
  Timestamp Unlink(CubeId from, CubeId to, EdgeType type,
                   std::optional<Timestamp> valid_to = std::nullopt) {
    WriteBatch b;
    b.Unlink(std::nullopt, from, to, type, valid_to);
    return Commit(b).commit_time;
  }
  Timestamp Update(CubeId id, const CubePatch& patch) {
    WriteBatch b;
    b.Update(id, patch);
    return Commit(b).commit_time;
  }
  Timestamp Retire(CubeId id) {
    WriteBatch b;
    b.Retire(id);
    return Commit(b).commit_time;
  }

  // The commit time of the cube's latest version.
  Timestamp TxFrom(CubeId id) {
    MemCube cube;
    Status s = db_->Get(ReadOptions(), id, &cube);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return cube.tx_from;
  }

  std::string Name(CubeId id) const {
    auto it = names_.find(id);
    return it != names_.end() ? it->second : "#" + std::to_string(id);
  }

  // "b@1 c@1 d@2": each step's cube and hop.
  std::string Steps(const std::vector<TraceStep>& steps) const {
    std::string out;
    for (const TraceStep& s : steps) {
      if (!out.empty()) out += ' ';
      out += Name(s.id) + "@" + std::to_string(s.hop);
    }
    return out;
  }
  // The steps of a trace that must succeed, as Steps.
  std::string TraceOf(const TraceRequest& r) {
    std::vector<TraceStep> steps;
    Status s = db_->Trace(r, &steps);
    if (!s.ok()) return s.ToString();
    return Steps(steps);
  }
  TraceRequest From(CubeId start, uint32_t hops = 1,
                    TraceDirection direction = TraceDirection::kOut) {
    TraceRequest r;
    r.start = start;
    r.hops = hops;
    r.direction = direction;
    return r;
  }

  // "a b c": the cubes' names (payloads), or "name/vN" with versions.
  std::string Cubes(const std::vector<MemCube>& cubes, bool versions = false) const {
    std::string out;
    for (const MemCube& c : cubes) {
      if (!out.empty()) out += ' ';
      out += Name(c.id);
      if (versions) out += "/v" + std::to_string(c.version);
    }
    return out;
  }
  std::string EpisodeOf(EpisodeRequest r) {
    std::vector<MemCube> events;
    Status s = db_->Episode(r, &events);
    return s.ok() ? Cubes(events) : s.ToString();
  }
  std::string EventsOf(EventsRequest r, bool versions = true) {
    std::vector<MemCube> events;
    Status s = db_->Events(r, &events);
    return s.ok() ? Cubes(events, versions) : s.ToString();
  }
  std::string ListOf(ListRequest r) {
    std::vector<MemCube> cubes;
    Status s = db_->List(r, &cubes);
    return s.ok() ? Cubes(cubes) : s.ToString();
  }
  std::string ChangesOf(ChangesRequest r) {
    std::vector<MemCube> versions;
    Status s = db_->Changes(r, &versions);
    return s.ok() ? Cubes(versions, true) : s.ToString();
  }

  std::unique_ptr<Env> env_;
  std::string dir_ = "/db";
  std::unique_ptr<Db> db_;
  std::map<CubeId, std::string> names_;
};

// --- Link, Unlink and their versions

TEST_F(TraceTest, LinkUnlinkAndRelinkWriteVersionsWithTheirWeights) {
  const CubeId a = Put("s", "a"), b = Put("s", "b");
  WriteBatch link;
  link.Link(std::nullopt, a, b, kCaused, 0.5f);
  const WriteResult r1 = Commit(link);
  ASSERT_EQ(r1.ops.size(), 1u);
  EXPECT_EQ(r1.ops[0].id, a) << "a Link's result names its `from`";
  EXPECT_EQ(r1.ops[0].version, 1u);
  const Timestamp t1 = r1.commit_time;

  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, b);
  EXPECT_EQ(steps[0].version, 1u);
  EXPECT_EQ(steps[0].hop, 1u);
  EXPECT_EQ(steps[0].via.from, a);
  EXPECT_EQ(steps[0].via.to, b);
  EXPECT_EQ(steps[0].via.type, kCaused);
  EXPECT_EQ(steps[0].via.weight, 0.5f);
  EXPECT_EQ(steps[0].via.version, 1u);
  EXPECT_EQ(steps[0].via.valid_from, Day(1)) << "valid from when both ends hold, by default";
  EXPECT_EQ(steps[0].via.valid_to, kForever);
  EXPECT_EQ(steps[0].via.tx_from, t1);

  // Relinking writes version 2 with the new weight.
  uint32_t version = 0;
  const Timestamp t2 = Link(a, b, kCaused, 0.25f, std::nullopt, &version);
  EXPECT_EQ(version, 2u);
  ASSERT_TRUE(db_->Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.weight, 0.25f);
  EXPECT_EQ(steps[0].via.version, 2u);
  EXPECT_EQ(steps[0].via.tx_from, t2);

  // The in-edge seen from b: stored from/to, not swapped.
  ASSERT_TRUE(db_->Trace(From(b, 1, TraceDirection::kIn), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, a);
  EXPECT_EQ(steps[0].via.from, a);
  EXPECT_EQ(steps[0].via.to, b);
  // Not an out-edge of b.
  EXPECT_EQ(TraceOf(From(b)), "");

  // Unlink: version 3; gone now, still there as of before.
  WriteBatch unlink;
  unlink.Unlink(std::nullopt, a, b, kCaused);
  const WriteResult r3 = Commit(unlink);
  ASSERT_EQ(r3.ops.size(), 1u);
  EXPECT_EQ(r3.ops[0].id, a);
  EXPECT_EQ(r3.ops[0].version, 3u);
  EXPECT_EQ(TraceOf(From(a)), "");
  EXPECT_EQ(TraceOf(From(b, 1, TraceDirection::kIn)), "");
  TraceRequest then = From(a);
  then.as_of = t2;
  ASSERT_TRUE(db_->Trace(then, &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.weight, 0.25f);
  then.as_of = t2 - 1;
  ASSERT_TRUE(db_->Trace(then, &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.weight, 0.5f) << "as of before the relink: version 1";
  then.as_of = t1 - 1;
  EXPECT_EQ(TraceOf(then), "") << "as of before the first link";

  // Unlinking again is refused; relinking writes version 4.
  Status s = db_->Unlink(WriteOptions(), a, b, kCaused);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  Result<uint32_t> v4 = db_->Link(WriteOptions(), a, b, kCaused, 2.0f);
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  EXPECT_EQ(*v4, 4u);
  ASSERT_TRUE(db_->Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.version, 4u);
  EXPECT_EQ(steps[0].via.weight, 2.0f);
}

TEST_F(TraceTest, EdgesOfOneEndAreDistinctByTypeAndDirection) {
  const CubeId a = Put("s", "a"), b = Put("s", "b");
  uint32_t v = 0;
  Link(a, b, kCaused, 1, std::nullopt, &v);
  EXPECT_EQ(v, 1u);
  Link(a, b, kRefers, 1, std::nullopt, &v);
  EXPECT_EQ(v, 1u) << "another type is another edge";
  Link(b, a, kCaused, 1, std::nullopt, &v);
  EXPECT_EQ(v, 1u) << "the reverse direction is another edge";
  // Unlinking one leaves the others.
  Unlink(a, b, kCaused);
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.type, kRefers);
  TraceRequest caused = From(a);
  caused.types = {kCaused};
  EXPECT_EQ(TraceOf(caused), "");
  caused.direction = TraceDirection::kIn;
  EXPECT_EQ(TraceOf(caused), "b@1");
}

// Link at t1, unlink at t2: as of between, seen; as of t2 on, not; reads of valid times before
// t2 still see it (as Retire).
TEST_F(TraceTest, UnlinkEndsValidityButNotThePast) {
  const CubeId a = Put("s", "a"), b = Put("s", "b");
  const Timestamp t1 = Link(a, b, kRefers);
  const Timestamp t2 = Unlink(a, b, kRefers);
  ASSERT_LT(t1, t2);
  TraceRequest r = From(a);
  r.as_of = t1;
  EXPECT_EQ(TraceOf(r), "b@1");
  r.as_of = t2 - 1;
  EXPECT_EQ(TraceOf(r), "b@1");
  r.as_of = t2;
  EXPECT_EQ(TraceOf(r), "");
  r.as_of.reset();
  EXPECT_EQ(TraceOf(r), "");
  r.valid_at = t2 - 1;  // as of now, at a valid time before the unlink
  EXPECT_EQ(TraceOf(r), "b@1");
  // Before day 1 neither end holds (nor, by default, the link): the start is not there.
  r.valid_at = Day(1) - 1;
  EXPECT_EQ(TraceOf(r).rfind("NotFound", 0), 0u) << TraceOf(r);
  r.valid_at = t2;
  EXPECT_EQ(TraceOf(r), "");
}

TEST_F(TraceTest, LinksValidFromThePastOrTheFuture) {
  const CubeId a = Put("s", "a", "", Day(1)), b = Put("s", "b", "", Day(1)),
               c = Put("s", "c", "", Day(1));
  const Timestamp now = db_->Now();
  const Timestamp future = now + 3'600'000'000;  // an hour ahead
  Link(a, b, kCaused, 1, Day(5));
  Link(a, c, kCaused, 1, future);
  // Now: the past link only.
  EXPECT_EQ(TraceOf(From(a)), "b@1");
  TraceRequest r = From(a);
  r.valid_at = Day(3);  // before the past link's valid_from
  EXPECT_EQ(TraceOf(r), "");
  r.valid_at = Day(5);
  EXPECT_EQ(TraceOf(r), "b@1");
  r.valid_at = future;  // what we now believe holds in an hour
  EXPECT_EQ(TraceOf(r), "b@1 c@1");
  // An unlink at a future valid time: seen now, not from then on.
  Unlink(a, b, kCaused, future + 10);
  EXPECT_EQ(TraceOf(From(a)), "b@1");
  r.valid_at = future + 10;
  EXPECT_EQ(TraceOf(r), "c@1");
  r.valid_at = future + 9;
  EXPECT_EQ(TraceOf(r), "b@1 c@1");
  // An edge is followed only where the cube at its other end is visible too.
  const CubeId late = Put("s", "late", "", Day(20));
  Link(a, late, kRefers, 1, Day(2));
  r.valid_at = Day(10);
  EXPECT_EQ(TraceOf(r), "b@1") << "late is not valid yet on day 10";
  r.valid_at = Day(20);
  EXPECT_EQ(TraceOf(r), "b@1 late@1");
}

// A relink with an earlier valid_from than the current version's: the newest committed version
// valid at the read's valid time wins, as for cubes.
TEST_F(TraceTest, RelinkVersionsAreSelectedLikeCubeVersions) {
  const CubeId a = Put("s", "a", "", Day(1)), b = Put("s", "b", "", Day(1));
  Link(a, b, kCaused, 1.0f, Day(10));
  Link(a, b, kCaused, 2.0f, Day(5));  // a correction valid from an earlier day
  std::vector<TraceStep> steps;
  TraceRequest r = From(a);
  for (int day : {5, 9, 10, 20}) {
    r.valid_at = Day(day);
    ASSERT_TRUE(db_->Trace(r, &steps).ok());
    ASSERT_EQ(steps.size(), 1u) << day;
    EXPECT_EQ(steps[0].via.weight, 2.0f) << "day " << day;
    EXPECT_EQ(steps[0].via.version, 2u);
  }
  r.valid_at = Day(4);
  EXPECT_EQ(TraceOf(r), "");
}

// --- errors

TEST_F(TraceTest, InvalidLinksAreRefusedWithTheDocumentedCodes) {
  const CubeId a = Put("alice", "a"), b = Put("alice", "b");
  const CubeId x = Put("bob", "x");
  const CubeId never = 1'000'000;

  // Self-loop, reserved or unknown types, weights that are not finite: InvalidArgument.
  Result<uint32_t> r = db_->Link(WriteOptions(), a, a, kCaused);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  for (uint32_t code : {0u, 7u, 8u, 500u, 998u, 999u}) {
    r = db_->Link(WriteOptions(), a, b, static_cast<EdgeType>(code));
    EXPECT_TRUE(r.status().IsInvalidArgument()) << code << ": " << r.status().ToString();
  }
  for (float w : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity()}) {
    r = db_->Link(WriteOptions(), a, b, kCaused, w);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << w << ": " << r.status().ToString();
  }
  r = db_->Link(WriteOptions(), a, b, kCaused, 1.0f, kForever);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  // Application codes are fine.
  for (uint32_t code : {1000u, 4242u, std::numeric_limits<uint32_t>::max()}) {
    r = db_->Link(WriteOptions(), a, b, static_cast<EdgeType>(code));
    EXPECT_TRUE(r.ok()) << code << ": " << r.status().ToString();
  }

  // Ends in two spaces: InvalidArgument, either way round.
  r = db_->Link(WriteOptions(), a, x, kCaused);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  r = db_->Link(WriteOptions(), x, a, kCaused);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();

  // An end that does not exist: InvalidArgument (write_batch.h), either end, with the message
  // an end in another space gets.
  r = db_->Link(WriteOptions(), a, never, kCaused);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  r = db_->Link(WriteOptions(), never, a, kCaused);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();

  // Unlink: never linked is NotFound (another type, the reverse direction too); unlinked
  // already is InvalidArgument.
  Status s = db_->Unlink(WriteOptions(), a, b, kRefers);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  ASSERT_TRUE(db_->Link(WriteOptions(), a, b, kRefers).ok());
  s = db_->Unlink(WriteOptions(), b, a, kRefers);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  s = db_->Unlink(WriteOptions(), a, b, kContradicts);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  s = db_->Unlink(WriteOptions(), a, never, kRefers);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  ASSERT_TRUE(db_->Unlink(WriteOptions(), a, b, kRefers).ok());
  s = db_->Unlink(WriteOptions(), a, b, kRefers);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = db_->Unlink(WriteOptions(), a, b, static_cast<EdgeType>(7));
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  s = db_->Unlink(WriteOptions(), a, b, kRefers, kForever);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

// The first invalid operation fails the whole batch: nothing of it is visible.
TEST_F(TraceTest, AFailedBatchWritesNoEdge) {
  const CubeId a = Put("s", "a"), b = Put("s", "b"), c = Put("s", "c");
  WriteBatch batch;
  batch.Link(std::nullopt, a, b, kCaused);
  batch.Link(std::nullopt, b, c, kCaused);
  batch.Link(std::nullopt, c, 999'999, kCaused);  // a missing end
  Status s = db_->Write(WriteOptions(), batch, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "operation 2")) << s.ToString();
  EXPECT_EQ(TraceOf(From(a, 3)), "");
  // The edges' version numbers were not consumed either.
  Result<uint32_t> v = db_->Link(WriteOptions(), a, b, kCaused);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 1u);
}

// Links to a retired cube are accepted (it exists); a trace does not follow them while the cube
// is not visible.
TEST_F(TraceTest, RetiredEndsAreNeverReached) {
  const CubeId a = Put("s", "a"), b = Put("s", "b");
  const Timestamp linked = Link(a, b, kCaused);
  Retire(b);
  EXPECT_EQ(TraceOf(From(a)), "");
  TraceRequest then = From(a);
  then.as_of = linked;
  EXPECT_EQ(TraceOf(then), "b@1");
}

// --- placeholders

TEST_F(TraceTest, PlaceholdersNamePutsOfTheSameBatch) {
  const CubeId old = Put("s", "old");
  WriteBatch batch;
  CubeDraft d;
  d.space = "s";
  d.payload = "first";
  const CubeId p0 = batch.Put(d);
  EXPECT_EQ(p0, kBatchRefBit | 0);
  d.payload = "second";
  d.parents = {p0, old};
  const CubeId p1 = batch.Put(d);
  EXPECT_EQ(p1, kBatchRefBit | 1);
  batch.Link(std::nullopt, p0, p1, kNext, 0.75f);
  batch.Link(std::nullopt, old, p1, kRefers);
  batch.Link(std::nullopt, p1, p0, kCaused);
  batch.Unlink(std::nullopt, p1, p0, kCaused);  // within the batch too
  const WriteResult r = Commit(batch);
  ASSERT_EQ(r.ops.size(), 6u);
  const CubeId first = r.ops[0].id, second = r.ops[1].id;
  ASSERT_NE(first, 0u);
  ASSERT_NE(second, 0u);
  EXPECT_EQ(first & kBatchRefBit, 0u);
  names_[first] = "first";
  names_[second] = "second";
  EXPECT_EQ(r.ops[2].id, first);
  EXPECT_EQ(r.ops[2].version, 1u);
  EXPECT_EQ(r.ops[3].id, old);
  EXPECT_EQ(r.ops[4].id, second);
  EXPECT_EQ(r.ops[5].version, 2u) << "the unlink is the edge's second version";

  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), second, &cube).ok());
  EXPECT_EQ(cube.parents, (std::vector<CubeId>{first, old}));
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(first), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, second);
  EXPECT_EQ(steps[0].via.weight, 0.75f);
  EXPECT_EQ(TraceOf(From(second, 1, TraceDirection::kIn)), "first@1 old@1") << "by type";
  EXPECT_EQ(TraceOf(From(second)), "") << "unlinked in the same batch";

  // The same through a SpaceHandle, which copies the batch to fill in the spaces.
  WriteBatch confined;
  CubeDraft e;
  e.payload = "third";
  const CubeId p = confined.Put(e);
  confined.Link(std::nullopt, second, p, kNext);
  WriteResult cr;
  Status s = db_->Space("s").Write(WriteOptions(), confined, &cr);
  ASSERT_TRUE(s.ok()) << s.ToString();
  names_[cr.ops[0].id] = "third";
  EXPECT_EQ(TraceOf(From(first, 2)), "second@1 third@2");
}

TEST_F(TraceTest, PlaceholdersThatNameNoEarlierPutAreRefused) {
  const CubeId a = Put("s", "a");
  const uint64_t before = db_->Stats().cubes;
  CubeDraft d;
  d.space = "s";
  d.payload = "p";
  auto refused = [&](const WriteBatch& batch, const char* what) {
    Status s = db_->Write(WriteOptions(), batch, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << what << ": " << s.ToString();
    EXPECT_EQ(db_->Stats().cubes, before) << what << ": nothing written";
  };
  {
    WriteBatch b;  // a Link naming the Put that follows it
    b.Link(std::nullopt, a, kBatchRefBit | 1, kCaused);
    b.Put(d);
    refused(b, "a later Put");
  }
  {
    WriteBatch b;  // a Link naming an Update
    CubePatch patch;
    patch.payload = "changed";
    b.Update(a, patch);
    b.Put(d);
    b.Link(std::nullopt, kBatchRefBit | 0, a, kCaused);
    refused(b, "an Update");
  }
  {
    WriteBatch b;  // a Link naming a Link
    const CubeId p = b.Put(d);
    b.Link(std::nullopt, p, a, kCaused);
    b.Link(std::nullopt, kBatchRefBit | 1, a, kRefers);
    refused(b, "a Link");
  }
  {
    WriteBatch b;  // beyond the batch
    b.Put(d);
    b.Link(std::nullopt, kBatchRefBit | 100, a, kCaused);
    refused(b, "beyond the batch");
  }
  {
    WriteBatch b;  // a Put naming itself as a parent
    CubeDraft self = d;
    self.parents = {kBatchRefBit | 0};
    b.Put(self);
    refused(b, "itself as parent");
  }
  {
    WriteBatch b;  // a Put naming a later Put as a parent
    CubeDraft early = d;
    early.parents = {kBatchRefBit | 1};
    b.Put(early);
    b.Put(d);
    refused(b, "a later Put as parent");
  }
  {
    WriteBatch b;  // two placeholders of one Put: a self-loop
    const CubeId p = b.Put(d);
    b.Link(std::nullopt, p, p, kCaused);
    refused(b, "self-loop through placeholders");
  }
}

// --- SpaceHandle confinement

TEST_F(TraceTest, SpaceHandlesConfineEdgesAndTraces) {
  const CubeId a = Put("alice", "a"), b = Put("alice", "b");
  const CubeId x = Put("bob", "x"), y = Put("bob", "y");
  ASSERT_TRUE(db_->Link(WriteOptions(), x, y, kCaused).ok());
  SpaceHandle alice = db_->Space("alice");

  // Another space's cube is refused exactly like a missing one.
  Result<uint32_t> other = alice.Link(WriteOptions(), a, x, kCaused);
  Result<uint32_t> missing = alice.Link(WriteOptions(), a, 1'000'000, kCaused);
  EXPECT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), missing.status().code())
      << other.status().ToString() << " / " << missing.status().ToString();
  EXPECT_EQ(other.status().message(), "edge end cube " + std::to_string(x) + " does not exist");
  EXPECT_TRUE(other.status().IsInvalidArgument()) << other.status().ToString();
  Result<uint32_t> both_bob = alice.Link(WriteOptions(), x, y, kRefers);
  EXPECT_TRUE(both_bob.status().IsInvalidArgument()) << both_bob.status().ToString();
  Status s = alice.Unlink(WriteOptions(), x, y, kCaused);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_EQ(TraceOf(From(x)), "y@1") << "bob's edge is untouched";
  // A batch op naming another space is refused before anything is written.
  WriteBatch named;
  named.Link(std::string("bob"), x, y, kRefers);
  s = alice.Write(WriteOptions(), named, nullptr);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ASSERT_TRUE(alice.Link(WriteOptions(), a, b, kCaused).ok());

  // Traces: another space's start is NotFound; a request naming another space is
  // InvalidArgument.
  std::vector<TraceStep> steps;
  s = alice.Trace(From(x), &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "cube " + std::to_string(x) + " does not exist"))
      << s.ToString();
  TraceRequest named_bob = From(a);
  named_bob.space = "bob";
  s = alice.Trace(named_bob, &steps);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ASSERT_TRUE(alice.Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, b);
  // Db::Trace with a space: the same NotFound.
  TraceRequest db_confined = From(x);
  db_confined.space = "alice";
  s = db_->Trace(db_confined, &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  db_confined.space = "nobody";
  s = db_->Trace(db_confined, &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();

  std::vector<MemCube> cubes;
  EpisodeRequest ep;
  ep.id = x;
  s = alice.Episode(ep, &cubes);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  ep.id = a;
  ep.space = "bob";
  s = alice.Episode(ep, &cubes);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EventsRequest ev;
  ev.space = "bob";
  s = alice.Events(ev, &cubes);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ChangesRequest ch;
  ch.space = "bob";
  s = alice.Changes(ch, &cubes);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ListRequest li;
  li.space = "bob";
  s = alice.List(li, &cubes);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  li.space.clear();
  ASSERT_TRUE(alice.List(li, &cubes).ok());
  EXPECT_EQ(Cubes(cubes), "a b");
}

// --- Trace

// A small graph (ids in creation order):
//   a -caused-> b -caused-> d -caused-> e
//   a -refers-> c -refers-> g1           (g1 created before d: a smaller id)
//   b -caused-> g2
//   b -contradicts-> a, x -derived_from-> a, c -refers-> d
class TraceWalkTest : public TraceTest {
 protected:
  void SetUp() override {
    TraceTest::SetUp();
    a = Put("s", "a");
    b = Put("s", "b");
    c = Put("s", "c");
    g1 = Put("s", "g1");
    d = Put("s", "d");
    e = Put("s", "e");
    x = Put("s", "x");
    g2 = Put("s", "g2");
    Link(a, b, kCaused);
    Link(a, c, kRefers);
    Link(b, d, kCaused);
    Link(d, e, kCaused);
    Link(c, g1, kRefers);
    Link(b, g2, kCaused);
    Link(b, a, kContradicts);
    Link(x, a, kDerivedFrom);
    Link(c, d, kRefers);
  }
  CubeId a, b, c, d, e, g1, g2, x;
};

TEST_F(TraceWalkTest, BreadthFirstEachCubeOnceAtItsFirstHop) {
  EXPECT_EQ(TraceOf(From(a, 1)), "b@1 c@1") << "by type: caused before refers";
  // Hop 2 in the order hop 1 was reached (b's neighbours, then c's), each by (type, id) — so
  // g1, whose id is below d's, comes after b's d and g2.
  EXPECT_EQ(TraceOf(From(a, 2)), "b@1 c@1 d@2 g2@2 g1@2");
  EXPECT_EQ(TraceOf(From(a, 3)), "b@1 c@1 d@2 g2@2 g1@2 e@3");
  EXPECT_EQ(TraceOf(From(a, kMaxTraceHops)), "b@1 c@1 d@2 g2@2 g1@2 e@3");
  // The edge that reached a cube first is the one reported: d through b (caused), not c.
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(a, 2), &steps).ok());
  ASSERT_EQ(steps.size(), 5u);
  EXPECT_EQ(steps[2].id, d);
  EXPECT_EQ(steps[2].via.from, b);
  EXPECT_EQ(steps[2].via.type, kCaused);
  // The cycle back to the start reports nothing: the start is never a step.
  EXPECT_EQ(TraceOf(From(b, 3)), "d@1 g2@1 a@1 e@2 c@2 g1@3");
}

TEST_F(TraceWalkTest, LimitTypesAndDirection) {
  TraceRequest r = From(a, 3);
  r.limit = 1;
  EXPECT_EQ(TraceOf(r), "b@1");
  r.limit = 2;
  EXPECT_EQ(TraceOf(r), "b@1 c@1");
  r.limit = 4;
  EXPECT_EQ(TraceOf(r), "b@1 c@1 d@2 g2@2");
  r.limit = kMaxTraceResults;
  EXPECT_EQ(TraceOf(r), "b@1 c@1 d@2 g2@2 g1@2 e@3");

  r = From(a, 3);
  r.types = {kRefers};
  EXPECT_EQ(TraceOf(r), "c@1 g1@2 d@2") << "c's neighbours by id";
  r.types = {kRefers, kCaused, kRefers};  // duplicates and order do not matter
  EXPECT_EQ(TraceOf(r), "b@1 c@1 d@2 g2@2 g1@2 e@3");
  r.types = {kNext};
  EXPECT_EQ(TraceOf(r), "");

  // In-edges of a: derived_from (4) from x before contradicts (5) from b.
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(a, 1, TraceDirection::kIn), &steps).ok());
  EXPECT_EQ(Steps(steps), "x@1 b@1");
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].via.from, x);
  EXPECT_EQ(steps[0].via.to, a);
  EXPECT_EQ(steps[0].via.type, kDerivedFrom);
  // Both: out-edges first, then in-edges; b reported once.
  EXPECT_EQ(TraceOf(From(a, 1, TraceDirection::kBoth)), "b@1 c@1 x@1");
  EXPECT_EQ(TraceOf(From(e, 2, TraceDirection::kIn)), "d@1 b@2 c@2");
  EXPECT_EQ(TraceOf(From(e, 2, TraceDirection::kBoth)), "d@1 b@2 c@2");
}

TEST_F(TraceWalkTest, RequestsOutOfRangeAreInvalidArgument) {
  std::vector<TraceStep> steps;
  TraceRequest r = From(a);
  for (uint32_t hops : {0u, kMaxTraceHops + 1}) {
    r.hops = hops;
    Status s = db_->Trace(r, &steps);
    EXPECT_TRUE(s.IsInvalidArgument()) << hops << ": " << s.ToString();
  }
  r.hops = 1;
  for (uint32_t limit : {0u, kMaxTraceResults + 1}) {
    r.limit = limit;
    Status s = db_->Trace(r, &steps);
    EXPECT_TRUE(s.IsInvalidArgument()) << limit << ": " << s.ToString();
  }
  r.limit = 10;
  for (uint32_t code : {0u, 7u, 999u}) {
    r.types = {kCaused, static_cast<EdgeType>(code)};
    Status s = db_->Trace(r, &steps);
    EXPECT_TRUE(s.IsInvalidArgument()) << code << ": " << s.ToString();
  }
}

TEST_F(TraceWalkTest, StartNotVisibleIsNotFound) {
  std::vector<TraceStep> steps;
  Status s = db_->Trace(From(1'000'000), &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  const Timestamp retired = Retire(b);
  s = db_->Trace(From(b), &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  TraceRequest then = From(b);
  then.as_of = retired - 1;
  EXPECT_EQ(TraceOf(then), "d@1 g2@1 a@1");
  then = From(a);
  then.valid_at = Day(1) - 1;  // before every cube is valid
  s = db_->Trace(then, &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  then.valid_at.reset();
  then.as_of = 1;  // before anything was committed
  s = db_->Trace(then, &steps);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST_F(TraceWalkTest, InvisibleNeighboursAreSkippedAndNotWalkedThrough) {
  Retire(b);
  // b is gone: d, g2, e are reached only through c (d) — g2 not at all.
  EXPECT_EQ(TraceOf(From(a, 3)), "c@1 g1@2 d@2 e@3");
  Retire(c);
  EXPECT_EQ(TraceOf(From(a, 3)), "");
  // A neighbour not valid yet.
  const CubeId f = Put("s", "f", "", db_->Now() + 86'400'000'000);  // valid from tomorrow
  Link(e, f, kCaused);
  Link(a, e, kRefers);
  EXPECT_EQ(TraceOf(From(a, 2)), "e@1");
  TraceRequest tomorrow = From(a, 2);
  tomorrow.valid_at = db_->Now() + 2 * 86'400'000'000;
  EXPECT_EQ(TraceOf(tomorrow), "e@1 f@2");
}

TEST_F(TraceTest, EpisodeOrderSteps) {
  const CubeId e1 = Put("s", "e1", "ep", Day(1));
  const CubeId e3 = Put("s", "e3", "ep", Day(3));
  const CubeId e2 = Put("s", "e2", "ep", Day(2));  // put last, between the others
  const CubeId o = Put("s", "o", "other", Day(2));
  const CubeId n = Put("s", "n", "", Day(2));
  TraceRequest r = From(e2);
  r.episode_order = true;
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(r, &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, e3);
  EXPECT_EQ(steps[0].via.type, kNext);
  EXPECT_EQ(steps[0].via.weight, 1.0f);
  EXPECT_EQ(steps[0].via.from, e2);
  EXPECT_EQ(steps[0].via.to, e3);
  r.direction = TraceDirection::kIn;
  ASSERT_TRUE(db_->Trace(r, &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].id, e1);
  EXPECT_EQ(steps[0].via.from, e1);
  EXPECT_EQ(steps[0].via.to, e2);
  r.direction = TraceDirection::kBoth;
  EXPECT_EQ(TraceOf(r), "e3@1 e1@1");
  r = From(e1, 3);
  r.episode_order = true;
  EXPECT_EQ(TraceOf(r), "e2@1 e3@2");
  r.episode_order = false;
  EXPECT_EQ(TraceOf(r), "") << "no edges";
  // Edges come before the episode steps of the same cube.
  Link(e1, o, kCaused);
  Link(e1, n, kRefers);
  r.episode_order = true;
  r.hops = 1;
  EXPECT_EQ(TraceOf(r), "o@1 n@1 e2@1");
  // A cube without an episode has no episode steps.
  r = From(n, 2, TraceDirection::kBoth);
  r.episode_order = true;
  EXPECT_EQ(TraceOf(r), "e1@1 o@2 e2@2");
  // Skips events that are not visible: with e2 retired, e1's next is e3.
  Retire(e2);
  r = From(e1);
  r.episode_order = true;
  r.types = {kNext};
  EXPECT_EQ(TraceOf(r), "e3@1");
}

// --- Episode

class EpisodeTest : public TraceTest {
 protected:
  void SetUp() override {
    TraceTest::SetUp();
    p1 = Put("s", "p1", "s1", Day(1));
    p2 = Put("s", "p2", "s1", Day(3));
    p3 = Put("s", "p3", "s1", Day(5));
    q = Put("s", "q", "s1", Day(2));  // later, earlier valid_from: between p1 and p2
    r = Put("s", "r", "s1", Day(3));  // a tie with p2: after it, by id
    z = Put("s", "z", "s1", Day(0));  // the first of all
    o = Put("s", "o", "s2", Day(3));  // another episode
    w = Put("w", "w", "s1", Day(3));  // the same episode name in another space
    alone = Put("s", "alone", "", Day(3));
  }
  std::string Around(CubeId id, uint32_t before, uint32_t after, ReadPoint point = ReadPoint()) {
    EpisodeRequest req;
    static_cast<ReadPoint&>(req) = point;
    req.id = id;
    req.before = before;
    req.after = after;
    return EpisodeOf(req);
  }
  CubeId p1, p2, p3, q, r, z, o, w, alone;
};

TEST_F(EpisodeTest, OrderByValidFromThenIdWithWindows) {
  EXPECT_EQ(Around(p2, 10, 10), "z p1 q p2 r p3");
  EXPECT_EQ(Around(p2, 1, 1), "q p2 r");
  EXPECT_EQ(Around(p2, 0, 0), "p2");
  EXPECT_EQ(Around(p2, 2, 0), "p1 q p2");
  EXPECT_EQ(Around(r, 0, 5), "r p3");
  EXPECT_EQ(Around(r, 1, 0), "p2 r") << "the tie with p2 is broken by id";
  EXPECT_EQ(Around(z, 3, 1), "z p1");
  EXPECT_EQ(Around(p3, 1, 3), "r p3");
  EXPECT_EQ(Around(o, 5, 5), "o");
  EXPECT_EQ(Around(w, 5, 5), "w") << "episodes are per space";
  EXPECT_EQ(Around(alone, 5, 5), "alone") << "a cube without an episode is its only event";
  EXPECT_EQ(Around(p2, kMaxEpisodeWindow, kMaxEpisodeWindow), "z p1 q p2 r p3");
  // The events carry their payloads unless asked not to.
  EpisodeRequest req;
  req.id = p2;
  req.fill_payload = false;
  std::vector<MemCube> events;
  ASSERT_TRUE(db_->Episode(req, &events).ok());
  ASSERT_EQ(events.size(), 6u);  // the default window (5 and 5) holds the whole episode
  for (const MemCube& c : events) {
    EXPECT_TRUE(c.payload.empty());
    EXPECT_EQ(c.episode, "s1");
  }
}

TEST_F(EpisodeTest, WindowsOverTheLimitAndInvisibleCentresAreRefused) {
  std::vector<MemCube> events;
  EpisodeRequest req;
  req.id = p2;
  req.before = kMaxEpisodeWindow + 1;
  Status s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  req.before = 0;
  req.after = kMaxEpisodeWindow + 1;
  s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  req.after = 1;
  req.id = 1'000'000;
  s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  req.id = p3;
  req.valid_at = Day(4);  // p3 is valid from day 5
  s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  req.space = "w";
  req.valid_at.reset();
  s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST_F(EpisodeTest, OnlyEventsVisibleAtTheReadPoint) {
  ReadPoint day4;
  day4.valid_at = Day(4);
  EXPECT_EQ(Around(p2, 10, 10, day4), "z p1 q p2 r") << "p3 is valid from day 5";
  ReadPoint day2;
  day2.valid_at = Day(2);
  EXPECT_EQ(Around(q, 10, 10, day2), "z p1 q");
  // A cube put later with an earlier valid_from takes its place; as of before it was put, the
  // order is without it.
  const CubeId y = Put("s", "y", "s1", Day(4));
  ReadPoint then;
  then.as_of = TxFrom(y) - 1;
  then.valid_at = db_->Now();
  EXPECT_EQ(Around(p2, 10, 10), "z p1 q p2 r y p3");
  EXPECT_EQ(Around(p2, 10, 10, then), "z p1 q p2 r p3");
}

TEST_F(EpisodeTest, RetiredEventsAreSkipped) {
  const Timestamp retired = Retire(r);
  EXPECT_EQ(Around(p2, 10, 10), "z p1 q p2 p3");
  EXPECT_EQ(Around(p2, 1, 1), "q p2 p3") << "the window counts visible events";
  ReadPoint then;
  then.as_of = retired - 1;
  EXPECT_EQ(Around(p2, 10, 10, then), "z p1 q p2 r p3");
  std::vector<MemCube> events;
  EpisodeRequest req;
  req.id = r;
  Status s = db_->Episode(req, &events);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

// Moving a cube to another episode (Update) takes it out of the old one at read points after
// the move, not before; and its position follows its visible version's valid_from.
TEST_F(EpisodeTest, MovesBetweenEpisodesFollowTheReadPoint) {
  CubePatch move;
  move.episode = "s2";
  const Timestamp moved = Update(q, move);
  EXPECT_EQ(Around(p2, 10, 10), "z p1 p2 r p3");
  ReadPoint before;
  before.as_of = moved - 1;
  EXPECT_EQ(Around(p2, 10, 10, before), "z p1 q p2 r p3");
  // As of now, at a valid time before the move (valid from its commit time), q is still in s1.
  ReadPoint past;
  past.valid_at = Day(10);
  EXPECT_EQ(Around(p2, 10, 10, past), "z p1 q p2 r p3");
  // In s2 it is placed at its new version's valid_from (the move's commit time): after o.
  EXPECT_EQ(Around(o, 10, 10), "o q");
  // Moving it back with an explicit valid_from corrects the past too.
  CubePatch back;
  back.episode = "s1";
  back.valid_from = Day(6);
  const Timestamp back_at = Update(q, back);
  EXPECT_EQ(Around(p2, 10, 10), "z p1 p2 r p3 q");
  EXPECT_EQ(Around(o, 10, 10), "o");
  before.as_of = back_at - 1;
  EXPECT_EQ(Around(o, 10, 10, before), "o q");
  // Leaving every episode.
  CubePatch none;
  none.episode = "";
  Update(p1, none);
  EXPECT_EQ(Around(p2, 10, 10), "z p2 r p3 q");
  EXPECT_EQ(Around(p1, 10, 10), "p1");
  // A patch that sets only the episode a cube has already changes nothing.
  CubePatch same;
  same.episode = "s2";
  Result<uint32_t> v = db_->Update(WriteOptions(), o, same);
  EXPECT_TRUE(v.status().IsInvalidArgument()) << v.status().ToString();
  EXPECT_TRUE(Contains(v.status().message(), "nothing to change")) << v.status().ToString();
}

// --- Events

class EventsTest : public TraceTest {
 protected:
  void SetUp() override {
    TraceTest::SetUp();
    for (int day = 1; day <= 5; ++day) {
      ids.push_back(Put("s", "d" + std::to_string(day), day % 2 ? "odd" : "even", Day(day)));
    }
    tie = Put("s", "tie", "odd", Day(3));  // same valid_from as d3, larger id
    other = Put("t", "other", "odd", Day(3));
  }
  EventsRequest In(Timestamp from = kBeginningOfTime, Timestamp to = kForever) {
    EventsRequest r;
    r.space = "s";
    r.from = from;
    r.to = to;
    return r;
  }
  std::vector<CubeId> ids;
  CubeId tie, other;
};

TEST_F(EventsTest, WindowsAndEpisodes) {
  EXPECT_EQ(EventsOf(In()), "d1/v1 d2/v1 d3/v1 tie/v1 d4/v1 d5/v1");
  EXPECT_EQ(EventsOf(In(Day(2), Day(4))), "d2/v1 d3/v1 tie/v1") << "[from, to)";
  EXPECT_EQ(EventsOf(In(Day(2) + 1, Day(4) + 1)), "d3/v1 tie/v1 d4/v1");
  EXPECT_EQ(EventsOf(In(Day(6), kForever)), "");
  EXPECT_EQ(EventsOf(In(kBeginningOfTime, Day(1))), "");
  EventsRequest r = In();
  r.episode = "odd";
  EXPECT_EQ(EventsOf(r), "d1/v1 d3/v1 tie/v1 d5/v1");
  r.from = Day(2);
  r.to = Day(5);
  EXPECT_EQ(EventsOf(r), "d3/v1 tie/v1");
  r.episode = "none such";
  EXPECT_EQ(EventsOf(r), "");
  r = In();
  r.limit = 3;
  EXPECT_EQ(EventsOf(r), "d1/v1 d2/v1 d3/v1");
  r.limit = 4;
  r.episode = "odd";
  EXPECT_EQ(EventsOf(r), "d1/v1 d3/v1 tie/v1 d5/v1");
  r.space = "t";
  EXPECT_EQ(EventsOf(r), "other/v1");
  // As of before some were put.
  r = In();
  const CubeId late = Put("s", "late", "", Day(2));
  r.as_of = TxFrom(late) - 1;
  EXPECT_EQ(EventsOf(r), "d1/v1 d2/v1 d3/v1 tie/v1 d4/v1 d5/v1");
  r.as_of.reset();
  EXPECT_EQ(EventsOf(r), "d1/v1 d2/v1 late/v1 d3/v1 tie/v1 d4/v1 d5/v1");
}

TEST_F(EventsTest, InvalidRequests) {
  std::vector<MemCube> events;
  EventsRequest r = In(Day(3), Day(3));
  Status s = db_->Events(r, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << "from == to: " << s.ToString();
  r = In(Day(4), Day(3));
  s = db_->Events(r, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << "from > to: " << s.ToString();
  r = In();
  r.valid_at = Day(3);
  s = db_->Events(r, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << "valid_at set: " << s.ToString();
  r = In();
  r.space = "nowhere";
  s = db_->Events(r, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << "unknown space: " << s.ToString();
  r.space = "";
  s = db_->Events(r, &events);
  EXPECT_TRUE(s.IsInvalidArgument()) << "no space: " << s.ToString();
  r = In();
  for (uint32_t limit : {0u, kMaxListResults + 1}) {
    r.limit = limit;
    s = db_->Events(r, &events);
    EXPECT_TRUE(s.IsInvalidArgument()) << limit << ": " << s.ToString();
  }
}

// A correction (an update whose valid_from is not after the current version's) replaces the
// old version: only the current one is reported now, the old one as of before the correction.
TEST_F(EventsTest, CorrectionsReplaceTheVersionTheyOverride) {
  CubePatch fix;
  fix.payload = "d2 fixed";
  fix.valid_from = Day(2);
  const Timestamp fixed = Update(ids[1], fix);
  EXPECT_EQ(EventsOf(In()), "d1/v1 d2/v2 d3/v1 tie/v1 d4/v1 d5/v1");
  EventsRequest then = In();
  then.as_of = fixed - 1;
  EXPECT_EQ(EventsOf(then), "d1/v1 d2/v1 d3/v1 tie/v1 d4/v1 d5/v1");
  // A correction that moves the event earlier in valid time moves it in the answer.
  CubePatch earlier;
  earlier.payload = "d4 was on day 1";
  earlier.valid_from = Day(1);
  const Timestamp moved = Update(ids[3], earlier);
  EXPECT_EQ(EventsOf(In()), "d1/v1 d4/v2 d2/v2 d3/v1 tie/v1 d5/v1");
  then.as_of = moved - 1;
  EXPECT_EQ(EventsOf(then), "d1/v1 d2/v2 d3/v1 tie/v1 d4/v1 d5/v1");
  // The payloads are the versions' own.
  std::vector<MemCube> events;
  ASSERT_TRUE(db_->Events(In(Day(1), Day(2)), &events).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].payload, "d4 was on day 1");
  EXPECT_EQ(events[1].tx_to, kForever);
  // With the episode filter too.
  EventsRequest even = In();
  even.episode = "even";
  EXPECT_EQ(EventsOf(even), "d4/v2 d2/v2");
}

TEST_F(EventsTest, RetirementsAreNotEvents) {
  const Timestamp retired = Retire(ids[2]);
  std::vector<MemCube> events;
  ASSERT_TRUE(db_->Events(In(), &events).ok());
  for (const MemCube& c : events) {
    EXPECT_NE(c.state, CubeState::kRetired) << Name(c.id) << " v" << c.version;
  }
  EXPECT_FALSE(Contains(Cubes(events, true), "d3/v2")) << Cubes(events, true);
  EventsRequest then = In();
  then.as_of = retired - 1;
  EXPECT_EQ(EventsOf(then), "d1/v1 d2/v1 d3/v1 tie/v1 d4/v1 d5/v1");
}

// Doubtful (reported): a plain update — a new fact from a later valid time on, not a correction —
// makes the earlier event vanish from Events, although Get at a valid time it covers still
// returns it. Events' contract says it reports versions "not overridden by a later correction";
// Events selects versions whose tx_to is kForever, and tx_to ends at any overlapping later
// version. Disabled until the intended semantics are settled.
TEST_F(EventsTest, APlainUpdateKeepsTheEarlierEvent) {
  CubePatch later;
  later.payload = "d2 changed on day 4";
  later.valid_from = Day(4);
  Update(ids[1], later);
  ReadOptions day3;
  day3.valid_at = Day(3);
  MemCube cube;
  ASSERT_TRUE(db_->Get(day3, ids[1], &cube).ok());
  EXPECT_EQ(cube.version, 1u) << "the fact of day 2 still holds on day 3";
  EXPECT_EQ(EventsOf(In()), "d1/v1 d2/v1 d3/v1 tie/v1 d2/v2 d4/v1 d5/v1");
}

// --- Changes

TEST_F(TraceTest, ChangesInCommitOrder) {
  WriteBatch b1;
  CubeDraft d;
  d.space = "s";
  d.payload = "a";
  b1.Put(d);
  const WriteResult r1 = Commit(b1);
  const CubeId a = r1.ops[0].id;
  names_[a] = "a";
  const CubeId b = Put("s", "b");
  Put("other", "x");
  CubePatch patch;
  patch.payload = "a2";
  const Timestamp t3 = Update(a, patch);
  const Timestamp t4 = Retire(b);
  {
    WriteBatch failed;  // leaves no change behind
    d.payload = "never";
    failed.Put(d);
    failed.Update(a, patch);  // nothing to change
    Status s = db_->Write(WriteOptions(), failed, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  }
  WriteBatch b6;  // one batch: by id, then version, whatever the order of its operations
  d.payload = "c";
  b6.Put(d);
  patch.payload = "a3";
  b6.Update(a, patch);
  const WriteResult r6 = Commit(b6);
  const CubeId c = r6.ops[0].id;
  names_[c] = "c";

  ChangesRequest all;
  all.space = "s";
  EXPECT_EQ(ChangesOf(all), "a/v1 b/v1 a/v2 b/v2 a/v3 c/v1");
  std::vector<MemCube> versions;
  ASSERT_TRUE(db_->Changes(all, &versions).ok());
  ASSERT_EQ(versions.size(), 6u);
  EXPECT_EQ(versions[0].tx_from, r1.commit_time);
  EXPECT_EQ(versions[0].tx_to, t3) << "each with its tx_to as of now";
  EXPECT_EQ(versions[3].state, CubeState::kRetired) << "retirements included";
  EXPECT_EQ(versions[3].tx_from, t4);
  EXPECT_EQ(versions[4].tx_from, r6.commit_time);
  EXPECT_EQ(versions[5].tx_from, r6.commit_time);
  EXPECT_EQ(versions[5].tx_to, kForever);

  ChangesRequest window = all;
  window.from = t3;
  window.to = t4;
  EXPECT_EQ(ChangesOf(window), "a/v2") << "[from, to)";
  window.to = t4 + 1;
  EXPECT_EQ(ChangesOf(window), "a/v2 b/v2");
  window.from = r6.commit_time;
  window.to = kForever;
  EXPECT_EQ(ChangesOf(window), "a/v3 c/v1");
  window.from = r6.commit_time + 1;
  EXPECT_EQ(ChangesOf(window), "");
  all.limit = 2;
  EXPECT_EQ(ChangesOf(all), "a/v1 b/v1");
  ChangesRequest other;
  other.space = "other";
  EXPECT_EQ(ChangesOf(other), "x/v1");

  window.from = t4;
  window.to = t4;
  Status s = db_->Changes(window, &versions);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  all.space = "nowhere";
  s = db_->Changes(all, &versions);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  all.space = "s";
  all.limit = 0;
  s = db_->Changes(all, &versions);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  all.limit = kMaxListResults + 1;
  s = db_->Changes(all, &versions);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

// --- List

TEST_F(TraceTest, ListPagesVisibilityAndSpaces) {
  std::vector<CubeId> s_ids;
  for (int i = 0; i < 7; ++i) {
    s_ids.push_back(Put("s", "s" + std::to_string(i)));
    Put("t", "t" + std::to_string(i));  // interleaved ids of another space
  }
  ListRequest r;
  r.space = "s";
  EXPECT_EQ(ListOf(r), "s0 s1 s2 s3 s4 s5 s6");
  // Pages of 3.
  r.limit = 3;
  std::string all;
  std::vector<MemCube> page;
  for (int pages = 0; pages < 10; ++pages) {
    ASSERT_TRUE(db_->List(r, &page).ok());
    if (page.empty()) break;
    EXPECT_LE(page.size(), 3u);
    if (!all.empty()) all += ' ';
    all += Cubes(page);
    r.after = page.back().id;
  }
  EXPECT_EQ(all, "s0 s1 s2 s3 s4 s5 s6");
  r.after = s_ids[6];
  EXPECT_EQ(ListOf(r), "");
  r.after = std::numeric_limits<CubeId>::max();
  EXPECT_EQ(ListOf(r), "");
  r.after = 0;
  r.limit = 100;

  // Visibility.
  const Timestamp retired = Retire(s_ids[1]);
  const CubeId future = Put("s", "future", "", db_->Now() + 86'400'000'000);
  EXPECT_EQ(ListOf(r), "s0 s2 s3 s4 s5 s6");
  r.as_of = retired - 1;
  EXPECT_EQ(ListOf(r), "s0 s1 s2 s3 s4 s5 s6");
  r.as_of.reset();
  r.valid_at = db_->Now() + 2 * 86'400'000'000;
  EXPECT_EQ(ListOf(r), "s0 s2 s3 s4 s5 s6 future");
  r.valid_at = Day(1) - 1;
  EXPECT_EQ(ListOf(r), "");
  (void)future;

  std::vector<MemCube> cubes;
  r = ListRequest();
  r.space = "nowhere";
  Status s = db_->List(r, &cubes);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  r.space = "s";
  for (uint32_t limit : {0u, kMaxListResults + 1}) {
    r.limit = limit;
    s = db_->List(r, &cubes);
    EXPECT_TRUE(s.IsInvalidArgument()) << limit << ": " << s.ToString();
  }
}

// --- persistence

// The lines where two dumps differ (the first few), or "" if they are equal.
std::string LineDiff(const std::string& got, const std::string& want) {
  auto split = [](const std::string& text) {
    std::vector<std::string> lines;
    size_t start = 0;
    for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
      lines.push_back(text.substr(start, nl - start));
    }
    if (start < text.size()) lines.push_back(text.substr(start));
    return lines;
  };
  const std::vector<std::string> a = split(got), b = split(want);
  std::string out;
  size_t shown = 0, differing = 0;
  std::string context;  // the last "== point" or query header seen
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string& x = i < a.size() ? a[i] : "<none>";
    const std::string& y = i < b.size() ? b[i] : "<none>";
    if (y.rfind("==", 0) == 0 || (!y.empty() && y[0] != ' ')) context = y.substr(0, 40);
    if (x == y) continue;
    ++differing;
    if (shown++ < 8) {
      out += "\n line " + std::to_string(i) + " (in " + context + ")\n   got:  " + x +
             "\n   want: " + y;
    }
  }
  if (differing == 0) return "";
  return std::to_string(differing) + " lines differ:" + out;
}

// Everything the trace queries answer, at several read points, as text.
class TracePersistenceTest : public TraceTest {
 protected:
  std::string Dump() {
    // An error's code only: messages may name the reader's clock (the default valid time).
    auto code = [](const Status& s) { return s.ToString().substr(0, s.ToString().find(':')); };
    std::string out;
    std::vector<ReadPoint> points(5);
    points[1].as_of = mid_;
    points[2].valid_at = Day(3);
    points[3].as_of = last_;
    points[3].valid_at = Day(40);
    points[4].as_of = mid_;
    points[4].valid_at = Day(2);
    auto cube_line = [](const MemCube& c) {
      return std::to_string(c.id) + "/v" + std::to_string(c.version) + " " + c.payload + " [" +
             c.episode + "] " + CubeStateName(c.state) + " vf" + std::to_string(c.valid_from) +
             " vt" + std::to_string(c.valid_to) + " tx" + std::to_string(c.tx_from) + "-" +
             std::to_string(c.tx_to) + "\n";
    };
    auto cubes_text = [&](Status s, const std::vector<MemCube>& cubes) {
      if (!s.ok()) return code(s) + "\n";
      std::string t;
      for (const MemCube& c : cubes) t += "  " + cube_line(c);
      return t;
    };
    for (size_t p = 0; p < points.size(); ++p) {
      const ReadPoint& point = points[p];
      out += "== point " + std::to_string(p) + "\n";
      for (const auto& [id, name] : names_) {
        for (TraceDirection dir :
             {TraceDirection::kOut, TraceDirection::kIn, TraceDirection::kBoth}) {
          TraceRequest r;
          static_cast<ReadPoint&>(r) = point;
          r.start = id;
          r.hops = 3;
          r.direction = dir;
          r.episode_order = dir == TraceDirection::kBoth;
          std::vector<TraceStep> steps;
          Status s = db_->Trace(r, &steps);
          out += "trace " + name + " " + std::to_string(static_cast<int>(dir)) + ":";
          if (!s.ok()) out += " " + code(s);
          for (const TraceStep& st : steps) {
            out += " " + std::to_string(st.id) + "/v" + std::to_string(st.version) + "@" +
                   std::to_string(st.hop) + "(" + std::to_string(st.via.from) + "-" +
                   EdgeTypeName(st.via.type) + "->" + std::to_string(st.via.to) + " w" +
                   std::to_string(st.via.weight) + " v" + std::to_string(st.via.version) + " vf" +
                   std::to_string(st.via.valid_from) + " vt" + std::to_string(st.via.valid_to) +
                   " tx" + std::to_string(st.via.tx_from) + ")";
          }
          out += "\n";
        }
        EpisodeRequest e;
        static_cast<ReadPoint&>(e) = point;
        e.id = id;
        e.before = 3;
        e.after = 3;
        std::vector<MemCube> events;
        Status s = db_->Episode(e, &events);
        out += "episode " + name + ":\n" + cubes_text(s, events);
      }
      for (const std::string space : {"s", "t"}) {
        for (std::optional<std::string> episode :
             {std::optional<std::string>(), std::optional<std::string>("s1"),
              std::optional<std::string>("s2")}) {
          EventsRequest ev;
          ev.as_of = point.as_of;
          ev.space = space;
          ev.episode = episode;
          std::vector<MemCube> events;
          Status s = db_->Events(ev, &events);
          out += "events " + space + " " + episode.value_or("*") + ":\n" + cubes_text(s, events);
        }
        ListRequest li;
        static_cast<ReadPoint&>(li) = point;
        li.space = space;
        std::vector<MemCube> cubes;
        Status s = db_->List(li, &cubes);
        out += "list " + space + ":\n" + cubes_text(s, cubes);
      }
    }
    for (const std::string space : {"s", "t"}) {
      ChangesRequest ch;
      ch.space = space;
      std::vector<MemCube> versions;
      Status s = db_->Changes(ch, &versions);
      out += "changes " + space + ":\n" + cubes_text(s, versions);
    }
    return out;
  }

  // Cubes, episodes, edges, unlinks, relinks, moves, corrections and retirements.
  void Build() {
    const CubeId a = Put("s", "a", "s1", Day(1));
    const CubeId b = Put("s", "b", "s1", Day(2));
    const CubeId c = Put("s", "c", "s1", Day(3));
    const CubeId d = Put("s", "d", "s2", Day(2));
    const CubeId e = Put("s", "e", "", Day(1));
    const CubeId t1 = Put("t", "t1", "s1", Day(1));
    const CubeId t2 = Put("t", "t2", "s1", Day(2));
    WriteBatch batch;
    CubeDraft draft;
    draft.space = "s";
    draft.payload = "f";
    draft.episode = "s1";
    draft.valid_from = Day(2);
    draft.parents = {a};
    const CubeId pf = batch.Put(draft);
    batch.Link(std::nullopt, pf, a, kDerivedFrom, 0.5f);
    batch.Link(std::nullopt, b, pf, kNext);
    const WriteResult r = Commit(batch);
    names_[r.ops[0].id] = "f";
    Link(a, b, kNext, 1.0f, Day(1));
    Link(b, c, kNext, 1.0f, Day(2));
    Link(a, d, kCaused, 0.25f);
    Link(a, d, kCaused, 0.75f);
    Link(d, e, kRefers, 1.0f, Day(10));
    Link(t1, t2, kCaused);
    mid_ = Link(c, e, kContradicts);
    Unlink(a, d, kCaused);
    Link(a, d, kCaused, 2.0f);
    Unlink(b, c, kNext, Day(20));
    CubePatch move;
    move.episode = "s2";
    Update(b, move);
    CubePatch fix;
    fix.payload = "c fixed";
    fix.valid_from = Day(3);
    Update(c, fix);
    last_ = Retire(e);
  }

  // More of everything, for a delta checkpoint.
  void Extend() {
    const CubeId g = Put("s", "g", "s1", Day(4));
    const CubeId a = Find("a"), c = Find("c"), d = Find("d");
    Link(g, a, kRefers);
    Link(c, g, kCaused, 3.0f);
    Unlink(d, Find("e"), kRefers);
    CubePatch move;
    move.episode = "s1";
    move.valid_from = Day(2);
    Update(d, move);
    last_ = Link(a, d, kRefers, 0.5f, Day(3));
  }

  CubeId Find(const std::string& name) const {
    for (const auto& [id, n] : names_) {
      if (n == name) return id;
    }
    ADD_FAILURE() << "no cube " << name;
    return 0;
  }

  Timestamp mid_ = 0;
  Timestamp last_ = 0;
};

TEST_F(TracePersistenceTest, AnswersSurviveReopenCheckpointsAndReadOnlyOpens) {
  Build();
  const std::string built = Dump();
  // Sanity: the dump is not trivially empty.
  ASSERT_TRUE(Contains(built, "-derived_from->")) << built;
  ASSERT_TRUE(Contains(built, "c fixed")) << built;
  ASSERT_TRUE(Contains(built, "retired")) << built;

  Reopen();  // WAL replay
  EXPECT_EQ(LineDiff(Dump(), built), "") << "after WAL replay";

  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->Stats().checkpoint_files, 1u);
  Reopen();  // the base checkpoint
  EXPECT_EQ(LineDiff(Dump(), built), "") << "after a base checkpoint";

  Extend();
  const std::string extended = Dump();
  ASSERT_NE(extended, built);
  Reopen();  // base checkpoint + WAL
  EXPECT_EQ(LineDiff(Dump(), extended), "") << "after base checkpoint + WAL replay";

  ASSERT_TRUE(db_->Checkpoint().ok());
  EXPECT_EQ(db_->Stats().checkpoint_files, 2u) << "a delta";
  Reopen();  // base + delta
  EXPECT_EQ(LineDiff(Dump(), extended), "") << "after a delta checkpoint";

  Reopen(/*read_only=*/true);
  EXPECT_EQ(LineDiff(Dump(), extended), "") << "read-only";
  Status s = db_->Link(WriteOptions(), Find("a"), Find("b"), kCaused).status();
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();

  // Writes after reopening continue the edges' version numbers.
  Reopen();
  Result<uint32_t> v = db_->Link(WriteOptions(), Find("a"), Find("d"), kCaused, 4.0f);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 5u);
  s = db_->Unlink(WriteOptions(), Find("d"), Find("e"), kRefers);
  EXPECT_TRUE(s.IsInvalidArgument()) << "unlinked before the checkpoints: " << s.ToString();
}

// Doubtful (reported): Db::Salvage of a healthy database that uses the trace graph. Salvage
// promises to copy "every version that verifies"; its checkpoint scanner does not know the
// episode-version and edge entries (engine/salvage_checkpoint_scan.cc: no case for them, so
// each is "verifies but does not decode", a loss), and nothing in salvage copies edges at all.
// Disabled until salvage learns the trace graph.
TEST_F(TracePersistenceTest, SalvageCopiesEpisodesAndEdges) {
  Build();
  ASSERT_TRUE(db_->Checkpoint().ok());
  Extend();  // and some in the WAL
  const std::string before = Dump();
  db_.reset();
  SalvageReport report;
  Status s = Db::Salvage(DbOptions(), dir_, "/salvaged", &report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  std::string losses;
  for (const SalvageLoss& loss : report.losses) losses += "\n  " + loss.file + ": " + loss.what;
  EXPECT_TRUE(report.losses.empty()) << report.losses.size() << " losses:" << losses;
  dir_ = "/salvaged";
  Open();
  EXPECT_EQ(LineDiff(Dump(), before), "");
}

// A checkpoint taken between writes that touch the same edges: a second base (after enough
// deltas) and a reopen still agree.
TEST_F(TracePersistenceTest, ManyCheckpointsOfOneEdge) {
  const CubeId a = Put("s", "a"), b = Put("s", "b");
  for (int i = 0; i < 12; ++i) {
    Link(a, b, kCaused, static_cast<float>(i));
    if (i % 3 == 0) Unlink(a, b, kCaused);
    ASSERT_TRUE(db_->Checkpoint().ok());
  }
  last_ = db_->Now();
  const std::string before = Dump();
  Reopen();
  EXPECT_EQ(LineDiff(Dump(), before), "");
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(From(a), &steps).ok());
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].via.weight, 11.0f);
  EXPECT_EQ(steps[0].via.version, 16u);  // 12 links and 4 unlinks
}

}  // namespace
}  // namespace loci

// --- Fuse and Provenance (MemOS operations)

namespace loci {
namespace {

class FuseTest : public ::testing::Test {
 protected:
  FuseTest() : env_(NewMemEnv()) {
    Options options;
    options.env = env_.get();
    options.create_if_missing = true;
    EXPECT_TRUE(Db::Open(options, "/db", &db_).ok());
  }

  CubeId Put(const std::string& space, const std::string& text) {
    CubeDraft d;
    d.space = space;
    d.payload = text;
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  static std::string Tree(const ProvenanceNode& n) {
    std::string s = std::to_string(n.id);
    if (!n.relation.empty()) s += "(" + n.relation + ")";
    if (n.cycle) s += "!";
    if (n.truncated) s += "...";
    if (n.sources.empty()) return s;
    s += "[";
    for (size_t i = 0; i < n.sources.size(); ++i) s += (i ? " " : "") + Tree(n.sources[i]);
    return s + "]";
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<Db> db_;
};

TEST_F(FuseTest, FuseWritesParentsAndDerivedFromEdgesInOneBatch) {
  const CubeId a = Put("s", "likes tea"), b = Put("s", "drinks green tea daily");
  CubeDraft draft;
  draft.payload = "is a green tea drinker";
  Result<CubeId> fused = db_->Fuse(WriteOptions(), {a, b}, draft);
  ASSERT_TRUE(fused.ok()) << fused.status().ToString();
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), *fused, &cube).ok());
  EXPECT_EQ(cube.space, "s");
  EXPECT_EQ(cube.parents, (std::vector<CubeId>{a, b}));
  TraceRequest t;
  t.start = *fused;
  t.types = {EdgeType::kDerivedFrom};
  std::vector<TraceStep> steps;
  ASSERT_TRUE(db_->Trace(t, &steps).ok());
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].id, a);
  EXPECT_EQ(steps[1].id, b);
  // Bad fusions write nothing.
  const uint64_t versions = db_->Stats().versions;
  const CubeId other = Put("t", "elsewhere");
  EXPECT_TRUE(db_->Fuse(WriteOptions(), {a, other}, draft).status().IsInvalidArgument());
  EXPECT_TRUE(db_->Fuse(WriteOptions(), {a, a}, draft).status().IsInvalidArgument());
  EXPECT_TRUE(db_->Fuse(WriteOptions(), {}, draft).status().IsInvalidArgument());
  EXPECT_TRUE(db_->Fuse(WriteOptions(), {999}, draft).status().IsInvalidArgument());
  CubeDraft with_parents = draft;
  with_parents.parents = {a};
  EXPECT_TRUE(db_->Fuse(WriteOptions(), {b}, with_parents).status().IsInvalidArgument());
  EXPECT_EQ(db_->Stats().versions, versions + 1);  // only `other`
  // Confined: another space's id reads as missing.
  Result<CubeId> confined = db_->Space("t").Fuse(WriteOptions(), {a}, draft);
  EXPECT_TRUE(confined.status().IsInvalidArgument()) << confined.status().ToString();
  EXPECT_NE(
      confined.status().message().find("parent cube " + std::to_string(a) + " does not exist"),
      std::string::npos)
      << confined.status().ToString();
}

TEST_F(FuseTest, ProvenanceIsATreeThatEndsOnCycles) {
  const CubeId a = Put("s", "a"), b = Put("s", "b"), c = Put("s", "c");
  CubeDraft draft;
  draft.payload = "ab";
  const CubeId ab = *db_->Fuse(WriteOptions(), {a, b}, draft);
  draft.payload = "abc";
  const CubeId abc = *db_->Fuse(WriteOptions(), {ab, c}, draft);
  // A cycle by edges: a derived from abc.
  ASSERT_TRUE(db_->Link(WriteOptions(), a, abc, EdgeType::kDerivedFrom).ok());
  ProvenanceNode root;
  ASSERT_TRUE(db_->Provenance(ReadOptions(), abc, 8, &root).ok());
  // Sources by id: c before ab; a's edge back to abc is a cycle, reported and not followed.
  const std::string both = "(parent+derived_from)";
  auto id = [](CubeId x) { return std::to_string(x); };
  EXPECT_EQ(Tree(root), id(abc) + "[" + id(c) + both + " " + id(ab) + both + "[" + id(a) + both +
                            "[" + id(abc) + "(derived_from)!] " + id(b) + both + "]]");
  // Depth 1: the fused ids only, marked truncated where they have sources.
  ASSERT_TRUE(db_->Provenance(ReadOptions(), abc, 1, &root).ok());
  ASSERT_EQ(root.sources.size(), 2u);
  EXPECT_FALSE(root.sources[0].truncated);  // c has none
  EXPECT_TRUE(root.sources[1].truncated);   // ab has sources
  // Limits and confinement.
  EXPECT_TRUE(db_->Provenance(ReadOptions(), abc, 0, &root).IsInvalidArgument());
  EXPECT_TRUE(
      db_->Provenance(ReadOptions(), abc, kMaxProvenanceDepth + 1, &root).IsInvalidArgument());
  EXPECT_TRUE(db_->Space("t").Provenance(ReadOptions(), abc, 2, &root).IsNotFound());
  // A retired source is left out at read points after its retirement, kept before.
  const Timestamp before = db_->Now();
  ASSERT_TRUE(db_->Retire(WriteOptions(), c).ok());
  ASSERT_TRUE(db_->Provenance(ReadOptions(), ab, 4, &root).ok());
  ASSERT_TRUE(db_->Provenance(ReadOptions(), abc, 1, &root).ok());
  ASSERT_EQ(root.sources.size(), 1u);
  ReadOptions then;
  then.as_of = before;
  ASSERT_TRUE(db_->Provenance(then, abc, 1, &root).ok());
  EXPECT_EQ(root.sources.size(), 2u);
}

}  // namespace
}  // namespace loci
