// Power loss at every mutating I/O operation of a purge (SimEnv), then recovery: the cube is
// whole (the purge was not committed) or gone, never in between, and once the reopened
// database has completed the purge no file holds its bytes. Several crash modes per point, and
// a second purge of a cube that came back whole must then complete as well. Salvage of the
// crashed files agrees with recovery (a committed purge is honoured, not undone). Swept three
// times: for Purge of the cube, for PurgeSpace of its space (the kept cube then in another
// space), and for the Checkpoint that reclaims the cube once it has expired (TTL: it reads as
// gone from its expiry on, and the crashed reclamation is completed by the reopen).

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
const std::string kSecret = "secret-payload-of-the-purged-cube";
const std::string kSecretAttr = "secret-attr-of-the-purged-cube";

std::vector<float> SecretVector() { return {1.0f, 123.456f, 234.567f, 345.678f}; }
std::string SecretVectorBytes() {
  const std::vector<float> v = SecretVector();
  return std::string(reinterpret_cast<const char*>(v.data()) + 4, 12);
}

Options SimOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.deterministic_io = true;
  return o;
}

bool DirectoryHolds(Env* env, const std::string& needle) {
  return test::DirectoryHolds(env, kDir, needle);
}

enum class Erasure { kPurge, kPurgeSpace, kExpiry };
constexpr const char* kNames[] = {"Purge", "PurgeSpace", "Expiry"};

// Writes the cubes: `gone` (two versions, an edge to `kept` when both are in one space; with
// kExpiry an expiry shortly after) and `kept`; returns their ids.
void Populate(Db* db, Erasure how, CubeId* gone, CubeId* kept) {
  const bool whole_space = how == Erasure::kPurgeSpace;
  CubeDraft d{.space = whole_space ? "k" : "s",
              .payload = "kept payload",
              .vectors = {{"v", {1, 2, 3, 4}}}};
  *kept = *db->Put(WriteOptions(), d);
  d.space = "s";
  d.payload = kSecret;
  d.vectors = {{"v", SecretVector()}};
  d.attrs = {Attr{"k", kSecretAttr}};
  if (how == Erasure::kExpiry) d.expires_at = db->Now() + 2'000'000;  // the sim clock: 1 ms a call
  *gone = *db->Put(WriteOptions(), d);
  ASSERT_TRUE(db->Checkpoint().ok());
  CubePatch p{.payload = kSecret + "-v2"};
  ASSERT_TRUE(db->Update(WriteOptions(), *gone, p).ok());
  if (!whole_space) ASSERT_TRUE(db->Link(WriteOptions(), *gone, *kept, EdgeType::kCaused).ok());
}

Status PurgeIt(Db* db, Erasure how, CubeId gone) {
  if (how == Erasure::kExpiry) return db->Checkpoint();
  if (how == Erasure::kPurge) return db->Purge(WriteOptions(), gone);
  Result<uint64_t> erased = db->PurgeSpace(WriteOptions(), "s");
  if (erased.ok() && *erased != 1) return Status::Corruption("erased " + std::to_string(*erased));
  return erased.status();
}

// Whole: every version readable; gone: NotFound, its edge too.
enum class State { kWhole, kGone, kBroken };
State StateOf(Db* db, Erasure how, CubeId gone, CubeId kept) {
  const size_t edges = how == Erasure::kPurgeSpace ? 0 : 1;
  std::vector<MemCube> history;
  const Status h = db->History(ReadOptions(), gone, &history);
  TraceRequest t;
  t.start = kept;
  t.direction = TraceDirection::kIn;
  std::vector<TraceStep> steps;
  if (!db->Trace(t, &steps).ok()) return State::kBroken;
  if (h.IsNotFound()) return steps.empty() ? State::kGone : State::kBroken;
  if (!h.ok() || history.size() != 2 || history[0].payload != kSecret ||
      history[1].payload != kSecret + "-v2" || steps.size() != edges) {
    return State::kBroken;
  }
  return State::kWhole;
}

class PurgeCrashTest : public testing::TestWithParam<Erasure> {};

TEST_P(PurgeCrashTest, EveryCrashPointLeavesTheCubeWholeOrErased) {
  const Erasure how = GetParam();
  int whole = 0, gone_count = 0;
  for (uint64_t n = 1;; ++n) {
    for (sim::CrashMode mode :
         {sim::CrashMode::kDropAll, sim::CrashMode::kRandomPrefix, sim::CrashMode::kReorder}) {
      SCOPED_TRACE("power off at operation " + std::to_string(n) + " of the purge, mode " +
                   std::to_string(static_cast<int>(mode)));
      sim::SimEnv env(n * 7 + static_cast<uint64_t>(mode));
      std::unique_ptr<Db> db;
      ASSERT_TRUE(Db::Open(SimOptions(&env), kDir, &db).ok());
      CubeId gone = 0, kept = 0;
      Populate(db.get(), how, &gone, &kept);
      if (how == Erasure::kExpiry) {
        ASSERT_EQ(StateOf(db.get(), how, gone, kept), State::kWhole);
        for (int i = 0; i < 3000; ++i) env.NowMicros();  // past its expiry
        ASSERT_EQ(StateOf(db.get(), how, gone, kept), State::kGone) << "expired: missing";
      }
      env.PowerOffAfter(n);
      const Status purged = PurgeIt(db.get(), how, gone);
      const bool finished = !env.powered_off();
      db.reset();
      if (finished) {
        // The purge completed before the power went: nothing left to crash into.
        ASSERT_TRUE(purged.ok()) << purged.ToString();
        EXPECT_FALSE(DirectoryHolds(&env, kSecret));
        EXPECT_FALSE(DirectoryHolds(&env, kSecretAttr));
        EXPECT_FALSE(DirectoryHolds(&env, SecretVectorBytes()));
        std::printf("%s crash sweep: %llu crash points; whole %d, erased %d\n",
                    kNames[static_cast<int>(how)], static_cast<unsigned long long>(n - 1), whole,
                    gone_count);
        return;
      }
      env.Crash(mode);
      // Salvage reads the crashed files as they are, purge records included: what it copies
      // must be what the reopen below recovers.
      const std::string copy =
          "/salvaged-" + std::to_string(n) + "-" + std::to_string(static_cast<int>(mode));
      SalvageReport report;
      Status salvaged = Db::Salvage(SimOptions(&env), kDir, copy, &report);
      ASSERT_TRUE(salvaged.ok()) << salvaged.ToString();
      std::unique_ptr<Db> copy_db;
      ASSERT_TRUE(Db::Open(SimOptions(&env), copy, &copy_db).ok());
      const State salvaged_state = StateOf(copy_db.get(), how, gone, kept);
      copy_db.reset();
      Status reopened = Db::Open(SimOptions(&env), kDir, &db);
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      const State state = StateOf(db.get(), how, gone, kept);
      ASSERT_NE(state, State::kBroken);
      EXPECT_EQ(salvaged_state, state) << "salvage and recovery disagree";
      if (state == State::kWhole) {
        ASSERT_FALSE(purged.ok()) << "an acknowledged purge was lost";
        ++whole;
        ASSERT_TRUE(PurgeIt(db.get(), how, gone).ok()) << "purging again completes";
      } else {
        ++gone_count;
      }
      MemCube cube;
      ASSERT_TRUE(db->Get(ReadOptions(), kept, &cube).ok());
      EXPECT_EQ(cube.payload, "kept payload");
      db.reset();
      EXPECT_FALSE(DirectoryHolds(&env, kSecret)) << "the recovered purge left the payload";
      EXPECT_FALSE(DirectoryHolds(&env, kSecret + "-v2"));
      EXPECT_FALSE(DirectoryHolds(&env, kSecretAttr));
      EXPECT_FALSE(DirectoryHolds(&env, SecretVectorBytes()));
      EXPECT_TRUE(DirectoryHolds(&env, "kept payload"));
    }
    ASSERT_LT(n, 1000u) << "the purge never finished";
  }
}

INSTANTIATE_TEST_SUITE_P(CubeSpaceAndExpiry, PurgeCrashTest,
                         testing::Values(Erasure::kPurge, Erasure::kPurgeSpace, Erasure::kExpiry),
                         [](const testing::TestParamInfo<Erasure>& info) {
                           return std::string(kNames[static_cast<int>(info.param)]);
                         });

}  // namespace
}  // namespace loci
