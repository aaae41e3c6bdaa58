// Tenant scoping: Db::Space's handle confines every call to its space, and through it (or
// through a space named in ReadOptions or a WriteBatch operation) a cube of another space is
// indistinguishable from one that does not exist — same status code, same message, byte for
// byte — for Get, History, Update, Retire and parents.

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Contains;

class SpaceScopeTest : public testing::Test {
 protected:
  SpaceScopeTest() : env_(NewMemEnv()) {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    Status s = Db::Open(o, "/db", &db_);
    EXPECT_TRUE(s.ok()) << s.ToString();
  }

  CubeId Put(const std::string& space, const std::string& text) {
    Result<CubeId> id = db_->Put(WriteOptions(), CubeDraft{.space = space, .payload = text});
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<Db> db_;
};

// The id a status names (as "cube <id> ") replaced by `to`: what the same call would say of
// `to`, if the message says nothing else about the cube.
std::string Renamed(const Status& s, CubeId from, CubeId to) {
  std::string text = s.ToString();
  const std::string needle = "cube " + std::to_string(from) + " ";
  const size_t at = text.find(needle);
  if (at != std::string::npos) text.replace(at, needle.size(), "cube " + std::to_string(to) + " ");
  return text;
}

// Every operation on one of alice's cubes through bob's handle (and through a handle of a space
// that does not exist) answers exactly what it answers for an id never assigned.
TEST_F(SpaceScopeTest, AnotherSpacesCubeIsIndistinguishableFromAMissingOne) {
  const CubeId alices = Put("alice", "alice's secret");
  const CubeId retired = Put("alice", "alice's old plan");
  ASSERT_TRUE(db_->Retire(WriteOptions(), retired).ok());
  Put("bob", "bob's note");
  const CubeId never = 1000;

  for (const char* name : {"bob", "nobody", ""}) {
    SpaceHandle h = db_->Space(name);
    for (CubeId id : {alices, retired}) {
      SCOPED_TRACE(std::string(name) + " " + std::to_string(id));
      MemCube cube;
      std::vector<MemCube> history;
      EXPECT_EQ(Renamed(h.Get(ReadOptions(), id, &cube), id, never),
                h.Get(ReadOptions(), never, &cube).ToString());
      EXPECT_EQ(Renamed(h.History(ReadOptions(), id, &history), id, never),
                h.History(ReadOptions(), never, &history).ToString());
      EXPECT_EQ(
          Renamed(h.Update(WriteOptions(), id, CubePatch{.payload = "x"}).status(), id, never),
          h.Update(WriteOptions(), never, CubePatch{.payload = "x"}).status().ToString());
      EXPECT_EQ(Renamed(h.Retire(WriteOptions(), id), id, never),
                h.Retire(WriteOptions(), never).ToString());
      EXPECT_EQ(h.Get(ReadOptions(), never, &cube).ToString(),
                "NotFound: cube " + std::to_string(never) + " does not exist");
      // A parent of another space: the error a missing parent gets.
      CubeDraft child{.payload = "derived", .parents = {id}};
      CubeDraft orphan{.payload = "derived", .parents = {never}};
      EXPECT_EQ(Renamed(h.Put(WriteOptions(), child).status(), id, never),
                h.Put(WriteOptions(), orphan).status().ToString());
    }
  }
  // Nothing changed, and alice's own handle sees her cubes.
  MemCube cube;
  ASSERT_TRUE(db_->Space("alice").Get(ReadOptions(), alices, &cube).ok());
  EXPECT_EQ(cube.payload, "alice's secret");
  EXPECT_EQ(db_->Stats().versions, 4u);
}

TEST_F(SpaceScopeTest, TheHandleConfinesEveryCall) {
  SpaceHandle alice = db_->Space("alice");
  EXPECT_EQ(alice.name(), "alice");

  // Put: an empty space is filled in; another one is refused.
  Result<CubeId> id = alice.Put(WriteOptions(), CubeDraft{.payload = "likes green tea"});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_TRUE(alice.Put(WriteOptions(), CubeDraft{.space = "alice", .payload = "y"}).ok());
  Status s = alice.Put(WriteOptions(), CubeDraft{.space = "bob", .payload = "z"}).status();
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "'bob'")) << s.ToString();
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), *id, &cube).ok());
  EXPECT_EQ(cube.space, "alice");

  // Update, Retire, Get, History on its own cube.
  Result<uint32_t> version = alice.Update(WriteOptions(), *id, CubePatch{.payload = "coffee"});
  ASSERT_TRUE(version.ok()) << version.status().ToString();
  EXPECT_EQ(*version, 2u);
  ASSERT_TRUE(alice.Get(ReadOptions(), *id, &cube).ok());
  EXPECT_EQ(cube.payload, "coffee");
  std::vector<MemCube> history;
  ASSERT_TRUE(alice.History(ReadOptions(), *id, &history).ok());
  EXPECT_EQ(history.size(), 2u);

  // ReadOptions naming another space are refused, not silently overridden.
  ReadOptions as_bob;
  as_bob.space = "bob";
  EXPECT_TRUE(alice.Get(as_bob, *id, &cube).IsInvalidArgument());
  EXPECT_TRUE(alice.History(as_bob, *id, &history).IsInvalidArgument());
  ReadOptions as_alice;
  as_alice.space = "alice";
  EXPECT_TRUE(alice.Get(as_alice, *id, &cube).ok());

  // Search: no spaces means this one; any other is refused.
  const CubeId bobs =
      *db_->Put(WriteOptions(), CubeDraft{.space = "bob", .vectors = {{"e", {1, 0, 0}}}});
  ASSERT_TRUE(alice.Update(WriteOptions(), *id, CubePatch{.set_vectors = {{"e", {1, 0, 0}}}}).ok());
  SearchRequest request;
  request.field = "e";
  request.query = {1, 0, 0};
  std::vector<SearchHit> hits;
  ASSERT_TRUE(alice.Search(request, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, *id);
  request.spaces = {"alice"};
  EXPECT_TRUE(alice.Search(request, &hits).ok());
  EXPECT_EQ(hits.size(), 1u);
  for (const std::vector<std::string>& spaces :
       std::vector<std::vector<std::string>>{{"bob"}, {"alice", "bob"}, {""}}) {
    request.spaces = spaces;
    hits.resize(1);
    EXPECT_TRUE(alice.Search(request, &hits).IsInvalidArgument());
    EXPECT_TRUE(hits.empty());
  }

  // Retire through the handle; bob's cube cannot be retired through it.
  EXPECT_TRUE(alice.Retire(WriteOptions(), bobs).IsNotFound());
  ASSERT_TRUE(db_->Get(ReadOptions(), bobs, &cube).ok());
  EXPECT_TRUE(alice.Retire(WriteOptions(), *id).ok());
  EXPECT_TRUE(alice.Get(ReadOptions(), *id, &cube).IsNotFound());
}

TEST_F(SpaceScopeTest, AHandlesBatchIsConfinedOperationByOperation) {
  SpaceHandle alice = db_->Space("alice");
  const CubeId bobs = Put("bob", "bob's note");
  const CubeId own = *alice.Put(WriteOptions(), CubeDraft{.payload = "mine"});

  // Every kind of operation without a space gets the handle's.
  WriteBatch batch;
  batch.DefineVectorField("", "e", 3, Metric::kL2);
  batch.Put(CubeDraft{.payload = "new", .vectors = {{"e", {1, 2, 3}}}});
  batch.Update(own, CubePatch{.payload = "mine, changed"});
  batch.Retire(own, test::Utc(2099, 1, 1));
  WriteResult result;
  Status s = alice.Write(WriteOptions(), batch, &result);
  ASSERT_TRUE(s.ok()) << s.ToString();
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), result.ops[1].id, &cube).ok());
  EXPECT_EQ(cube.space, "alice");
  bool defined = false;
  for (const VectorFieldInfo& f : db_->Stats().vector_fields) {
    if (f.space == "alice" && f.name == "e") defined = f.metric == "l2";
  }
  EXPECT_TRUE(defined);

  // An update of another space's cube fails the whole batch exactly as a missing id does.
  WriteBatch across;
  across.Put(CubeDraft{.payload = "would be written"});
  across.Update(bobs, CubePatch{.payload = "hijacked"});
  WriteBatch missing;
  missing.Put(CubeDraft{.payload = "would be written"});
  missing.Update(1000, CubePatch{.payload = "hijacked"});
  EXPECT_EQ(Renamed(alice.Write(WriteOptions(), across, nullptr), bobs, 1000),
            alice.Write(WriteOptions(), missing, nullptr).ToString());
  WriteBatch retire;
  retire.Retire(bobs);
  EXPECT_TRUE(alice.Write(WriteOptions(), retire, nullptr).IsNotFound());

  // An operation that names another space is refused before anything is written.
  const uint64_t versions = db_->Stats().versions;
  const std::vector<std::function<void(WriteBatch*)>> naming_bob = {
      [](WriteBatch* b) { b->Put(CubeDraft{.space = "bob", .payload = "x"}); },
      [&](WriteBatch* b) { b->Update(bobs, CubePatch{.payload = "x"}, "bob"); },
      [&](WriteBatch* b) { b->Retire(bobs, std::nullopt, "bob"); },
      [](WriteBatch* b) { b->DefineVectorField("bob", "f", 2, Metric::kCosine); },
      [](WriteBatch* b) { b->DropVectorField("bob", "e"); },
      [&](WriteBatch* b) { b->Update(bobs, CubePatch{.payload = "x"}, ""); },
  };
  for (size_t i = 0; i < naming_bob.size(); ++i) {
    WriteBatch b;
    b.Put(CubeDraft{.payload = "first"});
    naming_bob[i](&b);
    s = alice.Write(WriteOptions(), b, nullptr);
    EXPECT_TRUE(s.IsInvalidArgument()) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "operation 1")) << i << ": " << s.ToString();
  }
  EXPECT_EQ(db_->Stats().versions, versions);
  // Operations that all name its own space pass as they are.
  WriteBatch fresh;
  fresh.Put(CubeDraft{.space = "alice", .payload = "named"});
  ASSERT_TRUE(alice.Write(WriteOptions(), fresh, &result).ok());
  WriteBatch own_named;
  own_named.Update(result.ops[0].id, CubePatch{.payload = "named, changed"}, "alice");
  EXPECT_TRUE(alice.Write(WriteOptions(), own_named, nullptr).ok());
}

// The scoped write API without a handle: WriteBatch::Update and Retire with a space.
TEST_F(SpaceScopeTest, BatchOperationsNamingASpaceAreCheckedAtResolution) {
  const CubeId alices = Put("alice", "a");
  WriteBatch b;
  b.Update(alices, CubePatch{.payload = "b"}, "alice");
  ASSERT_TRUE(db_->Write(WriteOptions(), b, nullptr).ok());
  WriteBatch wrong;
  wrong.Update(alices, CubePatch{.payload = "c"}, "bob");
  EXPECT_EQ(db_->Write(WriteOptions(), wrong, nullptr).ToString(),
            "NotFound: cube " + std::to_string(alices) + " does not exist");
  WriteBatch retire;
  retire.Retire(alices, std::nullopt, "bob");
  EXPECT_EQ(db_->Write(WriteOptions(), retire, nullptr).ToString(),
            "NotFound: cube " + std::to_string(alices) + " does not exist");
  // A cube put earlier in the same batch is judged by the space it was put in.
  WriteBatch same;
  same.Put(CubeDraft{.space = "carol", .payload = "new"});
  same.Update(alices + 1, CubePatch{.payload = "newer"}, "carol");
  EXPECT_TRUE(db_->Write(WriteOptions(), same, nullptr).ok());
  WriteBatch other;
  other.Put(CubeDraft{.space = "carol", .payload = "new"});
  other.Update(alices + 2, CubePatch{.payload = "newer"}, "dave");
  EXPECT_EQ(db_->Write(WriteOptions(), other, nullptr).ToString(),
            "NotFound: operation 1: cube " + std::to_string(alices + 2) + " does not exist");
}

}  // namespace
}  // namespace loci
