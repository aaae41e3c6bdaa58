// Power loss at every mutating I/O operation of a blob-arena compaction (SimEnv), then
// recovery: every cube reads as before the compaction — its retained versions whole, no pruned
// or purged version back — and so does a vector search; Verify passes; the files the
// compaction emptied are gone or still hold what the recovered state refers to, and a
// compaction after the reopen finishes the job (Db::Compact, db_compact.cc).
//
// The database has small generations: cubes whose older versions retention pruned (their
// blobs discarded) and purged cubes spread dead bytes over every generation, so the pass copies
// from several files, seals the active one, writes a base checkpoint and removes files: all of
// it inside the sweep.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "loci/db.h"
#include "tests/sim/sim_env.h"

namespace loci {
namespace {

constexpr char kDir[] = "/db";
constexpr int kCubes = 12;

Options SimOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  o.deterministic_io = true;
  o.arena_generation_bytes = 24 << 10;
  o.arena_compaction_live_fraction = 0;  // only the compaction under test
  o.space_retention["s"] = RetentionPolicy{.keep_versions = 1};
  return o;
}

std::string Payload(int cube, int version) {
  std::string p = "c" + std::to_string(cube) + "v" + std::to_string(version) + ":";
  p.resize(3000, static_cast<char>('a' + cube));
  return p;
}

std::vector<float> Vec(int cube, int version) {
  return {static_cast<float>(cube), static_cast<float>(version), 1, 2};
}

// Cubes of space "s" with three versions each (retention keeps the last), and cubes of space
// "gone", purged; checkpointed, so the pruned and purged blobs are dead bytes.
void Populate(Env* env, std::unique_ptr<Db>* db, std::vector<CubeId>* ids) {
  ASSERT_TRUE(Db::Open(SimOptions(env), kDir, db).ok());
  for (int c = 0; c < kCubes; ++c) {
    CubeDraft d{.space = "s", .payload = Payload(c, 1), .vectors = {{"v", Vec(c, 1)}}};
    Result<CubeId> id = (*db)->Put(WriteOptions(), d);
    ASSERT_TRUE(id.ok());
    ids->push_back(*id);
    CubeDraft g{.space = "gone", .payload = Payload(c, 9)};
    ASSERT_TRUE((*db)->Put(WriteOptions(), g).ok());
  }
  for (int n = 2; n <= 3; ++n) {
    for (int c = 0; c < kCubes; ++c) {
      CubePatch p{.payload = Payload(c, n)};
      if (n == 2) p.set_vectors = {{"v", Vec(c, n)}};  // version 3 keeps version 2's vector
      ASSERT_TRUE((*db)->Update(WriteOptions(), (*ids)[c], p).ok());
    }
  }
  ASSERT_TRUE((*db)->PurgeSpace(WriteOptions(), "gone").ok());
  ASSERT_TRUE((*db)->Checkpoint().ok());
}

// What the reads return: each cube's history (version numbers and whole payloads) and the
// hits of a search.
std::string Reads(Db* db, const std::vector<CubeId>& ids) {
  std::string out;
  for (size_t c = 0; c < ids.size(); ++c) {
    std::vector<MemCube> history;
    Status s = db->History(ReadOptions(), ids[c], &history);
    out += s.ToString();
    for (const MemCube& cube : history) {
      const bool whole = cube.payload == Payload(static_cast<int>(c), cube.version);
      out += " v" + std::to_string(cube.version) + (whole ? "" : " damaged");
      for (const NamedVector& v : cube.vectors) out += " " + std::to_string(v.values[1]);
    }
    out += "\n";
  }
  SearchRequest r;
  r.spaces = {"s"};
  r.field = "v";
  r.query = Vec(5, 2);
  r.k = 4;
  std::vector<SearchHit> hits;
  out += db->Search(r, &hits).ToString();
  for (const SearchHit& h : hits) out += " " + std::to_string(h.id);
  return out;
}

size_t ArenaFiles(Env* env) {
  std::vector<std::string> names;
  EXPECT_TRUE(env->GetChildren(kDir, &names).ok());
  size_t n = 0;
  for (const std::string& name : names) {
    uint32_t g;
    if (ParseArenaGenerationFileName(name, &g)) ++n;
  }
  return n;
}

TEST(CompactionCrashTest, EveryCrashPointLeavesEveryReadAsItWas) {
  int points = 0;
  for (uint64_t n = 1;; ++n) {
    for (sim::CrashMode mode :
         {sim::CrashMode::kDropAll, sim::CrashMode::kRandomPrefix, sim::CrashMode::kReorder}) {
      SCOPED_TRACE("power off at operation " + std::to_string(n) + " of the compaction, mode " +
                   std::to_string(static_cast<int>(mode)));
      sim::SimEnv env(n * 13 + static_cast<uint64_t>(mode));
      std::unique_ptr<Db> db;
      std::vector<CubeId> ids;
      Populate(&env, &db, &ids);
      const std::string expected = Reads(db.get(), ids);
      ASSERT_NE(expected.find("OK v3 2.0"), std::string::npos) << expected;
      const size_t files_before = ArenaFiles(&env);
      env.PowerOffAfter(n);
      CompactResult result;
      const Status compacted = db->Compact(CompactOptions(), &result);
      if (!env.powered_off()) {
        env.PowerOffAfter(uint64_t{1} << 62);  // no crash after all
        ASSERT_TRUE(compacted.ok()) << compacted.ToString();
        EXPECT_GT(result.generations_removed, 1u);
        EXPECT_LT(ArenaFiles(&env), files_before);
        EXPECT_EQ(Reads(db.get(), ids), expected);
        db.reset();
        ASSERT_TRUE(Db::Open(SimOptions(&env), kDir, &db).ok());
        EXPECT_EQ(Reads(db.get(), ids), expected);
        std::printf("compaction crash sweep: %llu crash points x 3 modes\n",
                    static_cast<unsigned long long>(n - 1));
        return;
      }
      ++points;
      db.reset();
      env.Crash(mode);
      Status reopened = Db::Open(SimOptions(&env), kDir, &db);
      ASSERT_TRUE(reopened.ok()) << reopened.ToString();
      ASSERT_EQ(Reads(db.get(), ids), expected);
      IntegrityReport integrity;
      Status verified = db->Verify(&integrity);
      EXPECT_TRUE(verified.ok()) << verified.ToString();
      // Finishing the job: the files left are those still holding live blobs.
      ASSERT_TRUE(db->Compact(CompactOptions(), &result).ok());
      EXPECT_EQ(Reads(db.get(), ids), expected);
      ASSERT_TRUE(db->Compact(CompactOptions(), &result).ok());
      EXPECT_EQ(result.generations_removed, 0u) << "nothing dead after a completed pass";
      db.reset();
      ASSERT_TRUE(Db::Open(SimOptions(&env), kDir, &db).ok());
      EXPECT_EQ(Reads(db.get(), ids), expected);
      // The live blobs fill two generations; the one a crashed pass started may be a third.
      EXPECT_LE(ArenaFiles(&env), 3u);
    }
    ASSERT_LT(n, 2000u) << "the compaction never finished";
  }
}

}  // namespace
}  // namespace loci
