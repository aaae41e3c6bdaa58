// Simulated power loss at every I/O operation of a representative workload (design.md §10).
//
// A seeded script of durable writes — puts, updates, retires, batches, checkpoints — runs on a
// Db over SimEnv until the power goes off at the k-th mutating I/O operation (k = 1, 2, ...
// up to past the end of the script, several damage seeds each). The file system is then
// rebuilt as a reboot would see it (unsynced writes dropped, kept as a prefix, torn, garbled;
// unsynced directory operations undone), sometimes with a second power loss during recovery,
// and the recovered database is checked against a model of the script:
//   - every write acknowledged as durable is present;
//   - the state equals the model after exactly the acknowledged writes, or after those plus
//     the one in flight (a prefix of the history, nothing partial);
//   - versions, payloads, valid intervals and commit times match, as do as-of reads at each
//     acknowledged commit time;
//   - recovering again (a clean reopen) gives the same state; Verify finds nothing.
//
// SIM_SEED=<n> reproduces a run (it is printed on failure); SIM_ITERATIONS=<n> sets the number
// of extra random crashes after the sweep (default 200).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "loci/db.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

constexpr char kDir[] = "/db";

// ---- The workload: a script of operations, each one Db::Write (or a checkpoint).

struct ScriptOp {
  enum Kind { kPut, kUpdate, kRetire, kCheckpoint } kind;
  CubeId target = 0;  // update/retire
  std::string payload;
  std::optional<Timestamp> valid_from, valid_to;
};
using Step = std::vector<ScriptOp>;  // one Write (several ops: a batch), or one checkpoint

Timestamp ValidTime(int i) { return 1672531200LL * 1000000 + int64_t{i} * 86400 * 1000000; }

std::vector<Step> MakeScript(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  std::vector<Step> script;
  CubeId next_id = 1;
  std::vector<CubeId> live;  // not retired
  for (int s = 0; s < steps; ++s) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 8 && s > 0) {
      script.push_back({ScriptOp{ScriptOp::kCheckpoint}});
      continue;
    }
    const int ops = dice < 25 ? 2 + static_cast<int>(rng() % 2) : 1;  // a batch or a single op
    Step step;
    std::vector<CubeId> touched;
    for (int o = 0; o < ops; ++o) {
      ScriptOp op;
      const int kind = static_cast<int>(rng() % 10);
      std::vector<CubeId> candidates;
      for (CubeId id : live) {
        if (std::find(touched.begin(), touched.end(), id) == touched.end())
          candidates.push_back(id);
      }
      if (kind < 5 || candidates.empty()) {
        op.kind = ScriptOp::kPut;
        op.payload = "put " + std::to_string(next_id) + std::string(rng() % 300, 'p');
        if (rng() % 3 == 0) op.valid_from = ValidTime(static_cast<int>(rng() % 30));
        live.push_back(next_id++);
      } else if (kind < 8) {
        op.kind = ScriptOp::kUpdate;
        op.target = candidates[rng() % candidates.size()];
        op.payload = "update " + std::to_string(s) + std::string(rng() % 200, 'u');
        if (rng() % 3 == 0) op.valid_from = ValidTime(static_cast<int>(rng() % 30));
        touched.push_back(op.target);
      } else {
        op.kind = ScriptOp::kRetire;
        op.target = candidates[rng() % candidates.size()];
        if (rng() % 2 == 0) op.valid_to = ValidTime(40 + static_cast<int>(rng() % 30));
        std::erase(live, op.target);
        touched.push_back(op.target);
      }
      step.push_back(op);
    }
    script.push_back(step);
  }
  return script;
}

// ---- The model.

struct ModelVersion {
  uint32_t number;
  std::string payload;
  std::optional<Timestamp> valid_from;  // nullopt: the commit time
  Timestamp valid_to;
  bool retired;
  std::optional<Timestamp> tx_from;  // known for acknowledged writes
};
using Model = std::map<CubeId, std::vector<ModelVersion>>;

void ApplyStep(const Step& step, std::optional<Timestamp> commit_time, Model* m) {
  for (const ScriptOp& op : step) {
    if (op.kind == ScriptOp::kCheckpoint) return;
    if (op.kind == ScriptOp::kPut) {
      const CubeId id = m->empty() ? 1 : m->rbegin()->first + 1;
      (*m)[id] = {ModelVersion{1, op.payload, op.valid_from, kForever, false, commit_time}};
      continue;
    }
    std::vector<ModelVersion>& versions = m->at(op.target);
    ModelVersion v = versions.back();
    v.number++;
    v.tx_from = commit_time;
    if (op.kind == ScriptOp::kUpdate) {
      v.payload = op.payload;
      v.valid_from = op.valid_from;
      v.valid_to = kForever;
    } else {
      v.valid_from = op.valid_to;  // the retirement is valid from the end of validity on
      v.valid_to = kForever;
      v.retired = true;
    }
    versions.push_back(v);
  }
}

// What a recovered database holds: every version of every cube.
using State = std::map<CubeId, std::vector<MemCube>>;

State ReadState(Db* db) {
  State state;
  const DbStats stats = db->Stats();
  for (CubeId id = 1; id <= stats.cubes + 8; ++id) {
    std::vector<MemCube> history;
    if (db->History(ReadOptions(), id, &history).ok()) state[id] = std::move(history);
  }
  return state;
}

// Empty if `state` is what `model` describes, else what differs.
std::string Compare(const State& state, const Model& model) {
  if (state.size() != model.size()) {
    return std::to_string(state.size()) + " cubes, model has " + std::to_string(model.size());
  }
  for (const auto& [id, expected] : model) {
    auto it = state.find(id);
    if (it == state.end()) return "cube " + std::to_string(id) + " missing";
    const std::vector<MemCube>& got = it->second;
    if (got.size() != expected.size()) {
      return "cube " + std::to_string(id) + " has " + std::to_string(got.size()) +
             " versions, model " + std::to_string(expected.size());
    }
    for (size_t i = 0; i < got.size(); ++i) {
      const MemCube& g = got[i];
      const ModelVersion& e = expected[i];
      const std::string where = "cube " + std::to_string(id) + " v" + std::to_string(i + 1);
      if (g.version != e.number) return where + ": version number";
      if (g.payload != e.payload) return where + ": payload '" + g.payload + "'";
      if ((g.state == CubeState::kRetired) != e.retired) return where + ": state";
      if (g.valid_from != e.valid_from.value_or(g.tx_from)) return where + ": valid_from";
      if (g.valid_to != e.valid_to) return where + ": valid_to";
      if (e.tx_from && g.tx_from != *e.tx_from) return where + ": tx_from";
      if (i > 0 && g.tx_from < got[i - 1].tx_from) return where + ": commit time went back";
    }
  }
  return "";
}

// ---- One simulated run.

struct RunResult {
  uint64_t ops_until_power_off = 0;  // mutating I/O operations the workload performed
};

class SimCrashTest : public testing::Test {
 protected:
  static Options SimOptions(sim::SimEnv* env) {
    Options o;
    o.env = env;
    o.create_if_missing = true;
    o.deterministic_io = true;
    o.wal_segment_bytes = 16 << 10;       // rotate often
    o.arena_generation_bytes = 64 << 10;  // and change generations
    o.checkpoint_wal_bytes = 0;           // checkpoints only where the script says
    return o;
  }

  // Runs `script` until the power goes off at the `crash_at`-th mutating operation (0: never),
  // recording in *acked how many steps were acknowledged and their commit times.
  // Before each step, with `fault_rng`, maybe injects a fault into the next I/O.
  static void MaybeInjectFault(sim::SimEnv* env, std::mt19937_64* fault_rng) {
    const uint64_t fault = (*fault_rng)() % 40;
    if (fault < 6 && std::getenv("SIM_VERBOSE") != nullptr) {
      std::printf("fault %llu before op %llu\n", static_cast<unsigned long long>(fault),
                  static_cast<unsigned long long>(env->stats().mutating_ops));
    }
    switch (fault) {
      case 0:
        env->FailSyncs(1);
        break;  // fsync EIO once
      case 1:
        env->FailSyncs(-1);
        break;  // fsync EIO forever
      case 2:
        env->LimitSpace(64 << 10);
        break;  // ENOSPC soon
      case 3:
        env->ShortWriteNext();
        break;
      case 4:
        env->FailReads(1);
        break;
      case 5:
        env->MisdirectNextWrite(static_cast<int64_t>((*fault_rng)() % 8192) - 4096);
        break;
      default:
        break;
    }
  }

  static RunResult RunScript(sim::SimEnv* env, const std::vector<Step>& script, uint64_t crash_at,
                             std::vector<std::optional<Timestamp>>* commit_times,
                             std::mt19937_64* fault_rng = nullptr) {
    RunResult r;
    if (crash_at != 0) env->PowerOffAfter(crash_at);
    const uint64_t before = env->stats().mutating_ops;
    std::unique_ptr<Db> db;
    if (Db::Open(SimOptions(env), kDir, &db).ok()) {
      for (const Step& step : script) {
        if (fault_rng != nullptr) MaybeInjectFault(env, fault_rng);
        if (step.front().kind == ScriptOp::kCheckpoint) {
          if (!db->Checkpoint().ok()) break;
          commit_times->push_back(std::nullopt);
          continue;
        }
        WriteBatch batch;
        for (const ScriptOp& op : step) {
          if (op.kind == ScriptOp::kPut) {
            batch.Put(CubeDraft{.space = "s", .payload = op.payload, .valid_from = op.valid_from});
          } else if (op.kind == ScriptOp::kUpdate) {
            batch.Update(op.target, CubePatch{.payload = op.payload, .valid_from = op.valid_from});
          } else {
            batch.Retire(op.target, op.valid_to);
          }
        }
        WriteResult result;
        if (!db->Write(WriteOptions(), batch, &result).ok()) break;
        commit_times->push_back(result.commit_time);
      }
    }
    db.reset();  // a dead process's handles: its calls fail harmlessly after the power loss
    r.ops_until_power_off = env->stats().mutating_ops - before;
    return r;
  }

  // Crashes, recovers (maybe crashing again during recovery), and checks the oracle. Returns
  // false (with a gtest failure naming the seed) on any violation.
  // With `may_corrupt` (a misdirected write or bit rot happened), recovery may also refuse the
  // database with Corruption — but never return wrong data.
  static bool CrashAndVerify(sim::SimEnv* env, const std::vector<Step>& script,
                             const std::vector<std::optional<Timestamp>>& commit_times,
                             uint64_t seed, std::mt19937_64* rng, bool may_corrupt = false) {
    const std::string tag = "crash seed " + std::to_string(seed);  // callers say how to rerun
    env->Crash();
    std::unique_ptr<Db> db;
    if ((*rng)() % 3 == 0) {  // a second power loss, during recovery
      env->PowerOffAfter(1 + (*rng)() % 12);
      Status s = Db::Open(SimOptions(env), kDir, &db);
      db.reset();
      if (env->powered_off()) env->Crash();
      env->PowerOffAfter(0);
    }
    Status s = Db::Open(SimOptions(env), kDir, &db);
    if (commit_times.empty() && s.IsNotFound()) return true;  // never got created: fine
    if (may_corrupt && s.IsCorruption()) return true;
    if (!s.ok()) {
      ADD_FAILURE() << tag << ": recovery failed: " << s.ToString();
      return false;
    }
    // The model after the acknowledged steps, and after one more (the step in flight).
    Model acked;
    for (size_t i = 0; i < commit_times.size(); ++i) ApplyStep(script[i], commit_times[i], &acked);
    Model with_next = acked;
    if (commit_times.size() < script.size()) {
      ApplyStep(script[commit_times.size()], std::nullopt, &with_next);
    }
    const State state = ReadState(db.get());
    // (A read that hit corruption shows up as a missing cube; with may_corrupt, Verify below
    // must then report it, so comparing only happens on a verified database.)
    if (may_corrupt) {
      IntegrityReport pre;
      if (!db->Verify(&pre).ok()) return true;
    }
    const std::string diff_acked = Compare(state, acked);
    const std::string diff_next = Compare(state, with_next);
    if (!diff_acked.empty() && !diff_next.empty()) {
      ADD_FAILURE() << tag << ": recovered state is no prefix of the history after "
                    << commit_times.size() << " acknowledged steps (" << diff_acked << " / "
                    << diff_next << ")";
      return false;
    }
    // As-of reads at every acknowledged commit time see the history up to it.
    for (size_t i = 0; i < commit_times.size(); ++i) {
      if (!commit_times[i]) continue;
      for (const ScriptOp& op : script[i]) {
        if (op.kind == ScriptOp::kCheckpoint) continue;
        const CubeId id = op.kind == ScriptOp::kPut ? 0 : op.target;
        if (id == 0) continue;
        ReadOptions ro;
        ro.as_of = *commit_times[i];
        std::vector<MemCube> h;
        if (!db->History(ro, id, &h).ok() || h.empty() || h.back().tx_from != *commit_times[i]) {
          ADD_FAILURE() << tag << ": as-of read of cube " << id << " at step " << i;
          return false;
        }
      }
    }
    IntegrityReport report;
    if (Status v = db->Verify(&report); !v.ok()) {
      if (may_corrupt && v.IsCorruption()) return true;
      ADD_FAILURE() << tag << ": Verify: " << v.ToString();
      return false;
    }
    db.reset();
    if (!Db::Open(SimOptions(env), kDir, &db).ok() || ReadState(db.get()).size() != state.size() ||
        Compare(ReadState(db.get()), diff_acked.empty() ? acked : with_next) != "") {
      ADD_FAILURE() << tag << ": recovering again gave another state";
      return false;
    }
    return true;
  }
};

TEST_F(SimCrashTest, PowerLossAtEveryOperationOfTheWorkload) {
  const uint64_t base_seed = test::EnvU64("SIM_SEED", 0);
  const std::vector<uint64_t> seeds =
      base_seed != 0 ? std::vector<uint64_t>{base_seed} : std::vector<uint64_t>{1, 2, 3};
  uint64_t crashes = 0;
  sim::SimStats damage_done;  // what the crashes did to unsynced operations, summed
  for (uint64_t script_seed : seeds) {
    const std::vector<Step> script = MakeScript(script_seed, 40);
    // A clean run tells how many mutating operations the workload does.
    uint64_t total;
    {
      sim::SimEnv env(script_seed);
      std::vector<std::optional<Timestamp>> times;
      total = RunScript(&env, script, 0, &times).ops_until_power_off;
      ASSERT_EQ(times.size(), script.size()) << "the workload fails without any crash";
    }
    for (uint64_t k = 1; k <= total + 2; ++k) {
      for (uint64_t damage = 0; damage < 3; ++damage) {
        const uint64_t seed = script_seed * 1000003 + k * 7 + damage;
        sim::SimEnv env(seed);
        std::mt19937_64 rng(seed);
        std::vector<std::optional<Timestamp>> times;
        RunScript(&env, script, k, &times);
        ++crashes;
        if (!CrashAndVerify(&env, script, times, seed, &rng)) {
          FAIL() << "power off at operation " << k << " of " << total << ", damage " << damage
                 << " (rerun this script alone with SIM_SEED=" << script_seed << ")";
        }
        const sim::SimStats st = env.stats();
        damage_done.writes_applied += st.writes_applied;
        damage_done.writes_dropped += st.writes_dropped;
        damage_done.writes_torn += st.writes_torn;
        damage_done.writes_garbled += st.writes_garbled;
        damage_done.dir_ops_undone += st.dir_ops_undone;
      }
    }
  }
  std::printf("simulated crashes: %llu\n", static_cast<unsigned long long>(crashes));
  EXPECT_GE(crashes, 2000u);
  // The sweep is only worth its time if the crashes really kept, dropped, tore and garbled
  // unsynced writes and undid directory operations.
  EXPECT_GT(damage_done.writes_applied, 0u);
  EXPECT_GT(damage_done.writes_dropped, 0u);
  EXPECT_GT(damage_done.writes_torn, 0u);
  EXPECT_GT(damage_done.writes_garbled, 0u);
  EXPECT_GT(damage_done.dir_ops_undone, 0u);
}

// A sync commit makes every earlier WAL record durable, non-sync ones included, so the blobs
// those records refer to must be durable too — even when they sit in an older arena
// generation than the sync commit's own blobs.
TEST_F(SimCrashTest, SyncCommitAlsoMakesEarlierNonSyncBlobsDurable) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::SimEnv env(seed);
    Options o = SimOptions(&env);
    o.arena_generation_bytes = 16 << 10;  // a few blobs per generation
    std::unique_ptr<Db> db;
    ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
    WriteOptions nosync;
    nosync.sync = false;
    std::vector<CubeId> ids;
    for (int i = 0; i < 12; ++i) {
      Result<CubeId> id =
          db->Put(nosync, CubeDraft{.space = "s", .payload = std::string(3000, 'a' + i)});
      ASSERT_TRUE(id.ok());
      ids.push_back(*id);
    }
    // This one lands in the newest generation; its commit syncs the WAL, and with it the
    // records of the twelve before.
    Result<CubeId> last = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "sync"});
    ASSERT_TRUE(last.ok());
    env.PowerOffAfter(1);  // nothing more reaches the disk
    db.reset();
    env.Crash(sim::CrashMode::kDropAll);
    ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
    IntegrityReport report;
    Status v = db->Verify(&report);
    ASSERT_TRUE(v.ok()) << "seed " << seed << ": " << v.ToString();
    for (int i = 0; i < 12; ++i) {
      MemCube c;
      ASSERT_TRUE(db->Get(ReadOptions(), ids[i], &c).ok());
      EXPECT_EQ(c.payload, std::string(3000, 'a' + i));
    }
  }
}

// Groups' I/O overlaps in the commit pipeline. A sync group's fdatasync is taken to cover every
// earlier record, so it must not run before an earlier non-sync group's write: here that write
// is held while a sync put follows, then let through; both are acknowledged, and a power loss
// right after must keep the sync put (a hole before it would make recovery drop it).
TEST_F(SimCrashTest, SyncCommitWaitsForAnEarlierNonSyncGroupsWrite) {
  sim::SimEnv env(5);
  Options o = SimOptions(&env);
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "base"}).ok());
  env.HoldNextWrite("wal-");
  WriteOptions nosync;
  nosync.sync = false;
  std::thread slow(
      [&] { ASSERT_TRUE(db->Put(nosync, CubeDraft{.space = "s", .payload = "non-sync"}).ok()); });
  while (env.held_writes() == 0) std::this_thread::yield();  // its WAL write is in flight
  Result<CubeId> sync_id = Status::NotFound("not yet");
  std::thread fast(
      [&] { sync_id = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "sync"}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // its chain could run meanwhile
  env.ReleaseWrites();
  slow.join();
  fast.join();
  ASSERT_TRUE(sync_id.ok());
  env.PowerOffAfter(1);  // nothing more reaches the disk
  db.reset();
  env.Crash(sim::CrashMode::kDropAll);
  ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
  MemCube c;
  EXPECT_TRUE(db->Get(ReadOptions(), *sync_id, &c).ok())
      << "an acknowledged sync put was lost behind an earlier non-sync write";
}

// Random crash points with faults injected before them: fsync EIO (once and forever), ENOSPC,
// short writes, read errors, a misdirected write. After a fault the instance is poisoned or
// the write fails; whatever was acknowledged must still survive the crash that follows.
TEST_F(SimCrashTest, RandomCrashesAfterInjectedFaults) {
  const uint64_t iterations = test::EnvU64("SIM_ITERATIONS", 200);
  const uint64_t base_seed = test::EnvU64("SIM_SEED", 0);
  for (uint64_t i = 0; i < iterations; ++i) {
    const uint64_t seed = base_seed != 0 ? base_seed : 0x5eed0000 + i;
    std::mt19937_64 rng(seed);
    const std::vector<Step> script = MakeScript(seed, 30);
    sim::SimEnv env(seed);
    std::mt19937_64 fault_rng(seed ^ 0xfa17);
    std::vector<std::optional<Timestamp>> times;
    RunScript(&env, script, 1 + rng() % 250, &times, &fault_rng);
    // Only a misdirected write is silent: every other fault is reported to the engine, which
    // must then keep the files consistent.
    const bool may_corrupt = env.stats().writes_misdirected > 0;
    ASSERT_TRUE(CrashAndVerify(&env, script, times, seed, &rng, may_corrupt))
        << "SIM_SEED=" << seed;
    if (base_seed != 0) break;
  }
}

// Bit rot in durable bytes: a flipped bit anywhere in any file is reported as Corruption (at
// open, by Verify, or by the read that meets it), or lands where it changes nothing — never wrong
// data.
TEST_F(SimCrashTest, BitFlipsInDurableBytesAreNeverWrongData) {
  const std::vector<Step> script = MakeScript(77, 30);
  std::vector<std::optional<Timestamp>> times;
  sim::SimEnv clean(77);
  RunScript(&clean, script, 0, &times);
  Model model;
  for (size_t i = 0; i < times.size(); ++i) ApplyStep(script[i], times[i], &model);
  uint64_t flips = 0, detected = 0, harmless = 0;
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    sim::SimEnv env(77);
    std::vector<std::optional<Timestamp>> again;
    RunScript(&env, script, 0, &again);
    ASSERT_EQ(again, times);  // the simulation is deterministic
    const std::vector<std::string> files = env.Files();
    const std::string& file = files[rng() % files.size()];
    uint64_t size = 0;
    ASSERT_TRUE(env.GetFileSize(file, &size).ok());
    if (size == 0 || file.ends_with("LOCK")) continue;
    if (!env.FlipDurableBit(file, rng() % size, static_cast<int>(rng() % 8))) continue;
    ++flips;
    std::unique_ptr<Db> db;
    Status s = Db::Open(SimOptions(&env), kDir, &db);
    if (s.IsCorruption()) {
      ++detected;
      continue;
    }
    ASSERT_TRUE(s.ok()) << file << ": " << s.ToString();
    IntegrityReport report;
    if (db->Verify(&report).IsCorruption()) {
      ++detected;
      continue;
    }
    const std::string diff = Compare(ReadState(db.get()), model);
    ASSERT_EQ(diff, "") << "a flipped bit in " << file << " changed what reads return";
    ++harmless;
  }
  std::printf("bit flips: %llu, detected: %llu, harmless: %llu\n",
              static_cast<unsigned long long>(flips), static_cast<unsigned long long>(detected),
              static_cast<unsigned long long>(harmless));
  EXPECT_GT(detected, flips / 4);
}

}  // namespace
}  // namespace loci
