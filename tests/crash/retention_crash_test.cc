// Power loss at every mutating I/O operation of a checkpoint that prunes (SimEnv), then
// recovery: each cube's history is whole (the checkpoint's superblock switch did not happen) or
// exactly its retained versions, never in between and never with a retained version lost; the
// two cubes agree (one checkpoint records both cuts); the next checkpoint prunes what the crash
// brought back; Verify passes; and salvage of the crashed files copies one of the two states.
//
// Cube A has versions 1-3 in a base checkpoint and 4-5 after it, so the pruning checkpoint is a
// delta whose chain-start entry drops every version the base holds (the cube continues from the
// delta's version 5). Cube B has all its versions after the base. The policy keeps one version.
// Payloads span whole blocks, so the sweep covers the hole-punching of the pruned blobs too
// (after the switch): a punch before it would show as a damaged version after a crash, and a
// crash after the switch but before the punch leaves their bytes to the reopen, which erases
// them.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/salvage.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

constexpr char kDir[] = "/db";

Options SimOptions(Env* env, bool prune) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.deterministic_io = true;
  if (prune) o.space_retention["s"] = RetentionPolicy{.keep_versions = 1};
  return o;
}

// Payloads of whole blocks, so that the pruned ones are hole-punched (within the sweep).
const std::string kFill(8192, 'x');

void Update(Db* db, CubeId id, const std::string& name) {
  CubePatch p{.payload = name + kFill};
  p.set_vectors = {{"v", {1, static_cast<float>(name[1]), 3, 4}}};
  ASSERT_TRUE(db->Update(WriteOptions(), id, p).ok());
}

// Writes A (versions 1-3 checkpointed without a policy, then 4-5 under it) and B (versions
// 1-2, not checkpointed); leaves `db` open with the policy.
void Populate(Env* env, std::unique_ptr<Db>* db, CubeId* a, CubeId* b) {
  ASSERT_TRUE(Db::Open(SimOptions(env, /*prune=*/false), kDir, db).ok());
  CubeDraft d{.space = "s", .payload = "a1" + kFill, .vectors = {{"v", {1, 2, 3, 4}}}};
  *a = *(*db)->Put(WriteOptions(), d);
  Update(db->get(), *a, "a2");
  Update(db->get(), *a, "a3");
  ASSERT_TRUE((*db)->Checkpoint().ok());
  db->reset();
  ASSERT_TRUE(Db::Open(SimOptions(env, /*prune=*/true), kDir, db).ok());
  Update(db->get(), *a, "a4");
  Update(db->get(), *a, "a5");
  d.payload = "b1" + kFill;
  *b = *(*db)->Put(WriteOptions(), d);
  Update(db->get(), *b, "b2");
}

enum class State { kWhole, kPruned, kBroken };

State StateOf(Db* db, CubeId a, CubeId b) {
  auto payloads = [db](CubeId id) {
    std::vector<MemCube> history;
    std::vector<std::string> out;
    if (!db->History(ReadOptions(), id, &history).ok()) return std::vector<std::string>{"error"};
    for (const MemCube& c : history) {
      // Each version's own bytes, whole: a punched or damaged blob would not read so.
      const bool whole = c.payload.size() == 2 + kFill.size() && c.payload.substr(2) == kFill;
      out.push_back(whole ? c.payload.substr(0, 2) : "damaged");
    }
    return out;
  };
  const std::vector<std::string> ha = payloads(a), hb = payloads(b);
  using V = std::vector<std::string>;
  if (ha == V{"a1", "a2", "a3", "a4", "a5"} && hb == V{"b1", "b2"}) return State::kWhole;
  if (ha == V{"a5"} && hb == V{"b2"}) return State::kPruned;
  return State::kBroken;
}

TEST(RetentionCrashTest, EveryCrashPointLeavesHistoriesWholeOrPruned) {
  int whole = 0, pruned = 0;
  for (uint64_t n = 1;; ++n) {
    for (sim::CrashMode mode :
         {sim::CrashMode::kDropAll, sim::CrashMode::kRandomPrefix, sim::CrashMode::kReorder}) {
      SCOPED_TRACE("power off at operation " + std::to_string(n) + " of the checkpoint, mode " +
                   std::to_string(static_cast<int>(mode)));
      sim::SimEnv env(n * 11 + static_cast<uint64_t>(mode));
      std::unique_ptr<Db> db;
      CubeId a = 0, b = 0;
      Populate(&env, &db, &a, &b);
      env.PowerOffAfter(n);
      const Status checkpointed = db->Checkpoint();
      const bool finished = !env.powered_off();
      if (finished) {
        env.PowerOffAfter(uint64_t{1} << 62);  // no crash after all
        ASSERT_TRUE(checkpointed.ok()) << checkpointed.ToString();
        EXPECT_EQ(StateOf(db.get(), a, b), State::kPruned);
        EXPECT_GE(db->Stats().arena_discarded_bytes, 4 * kFill.size()) << "pruned blobs punched";
        db.reset();
        ASSERT_TRUE(Db::Open(SimOptions(&env, true), kDir, &db).ok());
        EXPECT_EQ(StateOf(db.get(), a, b), State::kPruned);
        std::printf("retention crash sweep: %llu crash points; whole %d, pruned %d\n",
                    static_cast<unsigned long long>(n - 1), whole, pruned);
        return;
      }
      db.reset();
      env.Crash(mode);
      const std::string copy =
          "/salvaged-" + std::to_string(n) + "-" + std::to_string(static_cast<int>(mode));
      SalvageReport report;
      ASSERT_TRUE(Db::Salvage(SimOptions(&env, false), kDir, copy, &report).ok());
      std::unique_ptr<Db> copy_db;
      ASSERT_TRUE(Db::Open(SimOptions(&env, false), copy, &copy_db).ok());
      EXPECT_NE(StateOf(copy_db.get(), a, b), State::kBroken) << "salvage";
      copy_db.reset();

      Status reopened = Db::Open(SimOptions(&env, true), kDir, &db);
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      const State state = StateOf(db.get(), a, b);
      ASSERT_NE(state, State::kBroken);
      ++(state == State::kWhole ? whole : pruned);
      if (state == State::kPruned) {
        // The erasure of the pruned blobs comes after the switch: if the crash cut it short,
        // the reopen finished it (no file holds a pruned version's bytes).
        for (const char* gone : {"a1", "a2", "a3", "a4", "b1"}) {
          EXPECT_FALSE(test::DirectoryHolds(&env, kDir, gone + kFill.substr(0, 256)))
              << "pruned version " << gone;
        }
      }
      IntegrityReport integrity;
      EXPECT_TRUE(db->Verify(&integrity).ok());
      ASSERT_TRUE(db->Checkpoint().ok());
      EXPECT_EQ(StateOf(db.get(), a, b), State::kPruned) << "the next checkpoint prunes";
      db.reset();
      reopened = Db::Open(SimOptions(&env, true), kDir, &db);
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      EXPECT_EQ(StateOf(db.get(), a, b), State::kPruned);
      Update(db.get(), a, "a6");  // the chain goes on
      MemCube cube;
      ASSERT_TRUE(db->Get(ReadOptions(), a, &cube).ok());
      EXPECT_EQ(cube.payload, "a6" + kFill);
    }
    ASSERT_LT(n, 1000u) << "the checkpoint never finished";
  }
}

}  // namespace
}  // namespace loci
