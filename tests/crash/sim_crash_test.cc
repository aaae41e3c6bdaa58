// Simulated power loss at every I/O operation of a representative workload (design.md §10).
//
// A seeded script of durable writes — puts (some into an episode), updates (some moving a cube
// to another episode), retires, links and unlinks of trace edges (some from a cube put earlier
// in the same batch, by its placeholder), batches, checkpoints — runs on a
// Db over SimEnv until the power goes off at the k-th mutating I/O operation (k = 1, 2, ...
// up to past the end of the script, several damage seeds each). The file system is then
// rebuilt as a reboot would see it (unsynced writes dropped, kept as a prefix, torn, garbled;
// unsynced directory operations undone), sometimes with a second power loss during recovery,
// and the recovered database is checked against the shared reference model
// (tests/model/db_model.h) after a prefix of the script:
//   - every write acknowledged as durable is present;
//   - the state equals the model after exactly the acknowledged writes, or after those plus
//     the one in flight (a prefix of the history, nothing partial);
//   - versions, payloads, vectors, states, episodes, valid intervals, tx_from and tx_to match,
//     and reads as of each acknowledged commit time give what the model's read rule says;
//   - the trace graph and the episodes are the model's: every cube's neighbourhood (Trace, both
//     directions, episode order) at two valid times, the space's events (all, and one
//     episode's) and its list equal the model's, so every acknowledged edge and episode is
//     there and nothing unacknowledged; traces as of each acknowledged link or unlink see it;
//   - recovering again (a clean reopen) gives the same state; Verify finds nothing.
//
// Seeds. One seed derives everything a test does with it (script, crash points, damage, faults,
// flipped bits), so a seed reproduces a run exactly. Each seeded test runs on:
//   - by default, its fixed seeds (the same at every run: a regression fails the same way);
//   - SIM_SEED=<s>: s alone — the seed a failure (or the line before a crash or hang) named;
//   - SIM_EXPLORE=<n>: n fresh seeds drawn from std::random_device and the clock, the same n
//     for every test in the process, to explore runs nobody made before.
// Every seed is printed before it runs ("sim seed: <test> <s>"), and the process ends with a
// summary of the seeds each test ran. SIM_ITERATIONS=<n> sets the iterations per seed of the
// fault soak (default 200); SIM_SEED=<s> with the same SIM_ITERATIONS reruns all of them.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "loci/db.h"
#include "tests/model/db_model.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

constexpr char kDir[] = "/db";

// ---- Seeds (see the file comment).

// SIM_EXPLORE's fresh seeds, drawn once per process so that every test runs on the same ones.
// random_device alone may be a fixed sequence on some platforms, hence the clock mixed in.
// Never 0, which SIM_SEED reads as unset.
const std::vector<uint64_t>& FreshSeeds() {
  static const std::vector<uint64_t> seeds = [] {
    std::vector<uint64_t> fresh;
    std::random_device device;
    std::mt19937_64 mix(uint64_t{device()} << 32 ^ device() ^
                        static_cast<uint64_t>(
                            std::chrono::high_resolution_clock::now().time_since_epoch().count()));
    for (uint64_t i = test::EnvU64("SIM_EXPLORE", 0); i > 0; --i) {
      // Below 2^48: short enough to type, and `seed + i` derivations never wrap.
      fresh.push_back(1 + mix() % ((uint64_t{1} << 48) - 1));
    }
    return fresh;
  }();
  return seeds;
}

// The seeds a test runs: SIM_SEED's, else SIM_EXPLORE's fresh ones, else the test's `fixed`.
std::vector<uint64_t> SeedsToRun(std::vector<uint64_t> fixed) {
  if (const uint64_t seed = test::EnvU64("SIM_SEED", 0); seed != 0) return {seed};
  if (!FreshSeeds().empty()) return FreshSeeds();
  return fixed;
}

// Which seeds each test ran, for the summary at the end of the process.
std::mutex seeds_run_mu;
std::vector<std::pair<std::string, uint64_t>> seeds_run;

// Announces `seed` before the current test runs it (so that even a crash or a hang names the
// seed that reproduces it) and records it for the summary.
void AnnounceSeed(uint64_t seed) {
  const std::string test = testing::UnitTest::GetInstance()->current_test_info()->name();
  std::printf("sim seed: %s %llu (SIM_SEED=%llu reruns it)\n", test.c_str(),
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::lock_guard<std::mutex> lock(seeds_run_mu);
  seeds_run.emplace_back(test, seed);
}

const char* SeedSource() {
  if (test::EnvU64("SIM_SEED", 0) != 0) return "SIM_SEED";
  return FreshSeeds().empty() ? "fixed" : "fresh (SIM_EXPLORE)";
}

// Prints, once every test ran, which seeds each one ran.
class SeedSummary : public testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard<std::mutex> lock(seeds_run_mu);
    if (seeds_run.empty()) return;
    std::printf("sim seeds run (%s):\n", SeedSource());
    std::string test;
    for (const auto& [name, seed] : seeds_run) {
      if (name != test) std::printf("%s  %s:", test.empty() ? "" : "\n", name.c_str());
      test = name;
      std::printf(" %llu", static_cast<unsigned long long>(seed));
    }
    std::printf("\n");
  }
};
[[maybe_unused]] testing::Environment* const seed_summary =
    testing::AddGlobalTestEnvironment(new SeedSummary);

// ---- The workload: a script of operations, each one Db::Write (or a checkpoint).

struct ScriptOp {
  enum Kind { kPut, kUpdate, kRetire, kCheckpoint, kLink, kUnlink } kind;
  CubeId target = 0;  // update/retire; link/unlink: from (maybe a placeholder of this step)
  CubeId other = 0;   // link/unlink: to
  EdgeType type = EdgeType::kCaused;
  float weight = 1.0f;
  std::string payload;
  std::vector<float> vector;  // field "v": set by every put, by some updates (else kept)
  // Put: its episode; update: the episode it moves the cube to (nullopt: kept).
  std::optional<std::string> episode;
  // Link: valid_from; unlink: valid_to.
  std::optional<Timestamp> valid_from, valid_to;
};

// A vector no other op of the script has, pointing another way (field "v" is cosine): from the
// step and the op's place in it.
std::vector<float> VectorFor(int step, int op) {
  return {1.0f, static_cast<float>(step + 1) * 0.37f, static_cast<float>(op + 1) * 1.91f, 0.5f};
}
using Step = std::vector<ScriptOp>;  // one Write (several ops: a batch), or one checkpoint

Timestamp ValidTime(int i) { return 1672531200LL * 1000000 + int64_t{i} * 86400 * 1000000; }

std::vector<Step> MakeScript(uint64_t seed, int steps) {
  std::mt19937_64 rng(seed);
  std::vector<Step> script;
  CubeId next_id = 1;
  std::vector<CubeId> live;  // not retired
  static const EdgeType kTypes[] = {EdgeType::kCaused, EdgeType::kRefers, EdgeType::kNext,
                                    EdgeType{1000}};
  // Edges (from, to, type index) whose latest version is a link, as of the steps so far.
  std::vector<std::tuple<CubeId, CubeId, int>> linked;
  for (int s = 0; s < steps; ++s) {
    const int dice = static_cast<int>(rng() % 100);
    if (dice < 8 && s > 0) {
      script.push_back({ScriptOp{ScriptOp::kCheckpoint}});
      continue;
    }
    const int ops = dice < 25 ? 2 + static_cast<int>(rng() % 2) : 1;  // a batch or a single op
    Step step;
    std::vector<CubeId> touched;
    const CubeId known = next_id - 1;  // edges join cubes put before this step (or placeholders)
    for (int o = 0; o < ops; ++o) {
      ScriptOp op;
      const int kind = static_cast<int>(rng() % 14);
      if (kind >= 10 && known >= 2) {
        // An unlink (12, 13) of an edge linked before; or a link (10, 11, and 12-13 when none
        // is) between two cubes (retired ones too), from a put earlier in this step by its
        // placeholder now and then. Relinking an edge writes a new version.
        if (kind >= 12 && !linked.empty()) {
          const size_t i = rng() % linked.size();
          const auto [from, to, type] = linked[i];
          op.kind = ScriptOp::kUnlink;
          op.target = from;
          op.other = to;
          op.type = kTypes[type];
          if (rng() % 2 == 0) op.valid_to = ValidTime(40 + static_cast<int>(rng() % 30));
          linked.erase(linked.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          op.kind = ScriptOp::kLink;
          const int type = static_cast<int>(rng() % 4);
          op.type = kTypes[type];
          op.target = 1 + rng() % known;
          op.other = 1 + rng() % known;
          if (op.other == op.target) op.other = op.target % known + 1;
          op.weight = static_cast<float>(1 + rng() % 4) * 0.25f;
          if (rng() % 3 == 0) op.valid_from = ValidTime(static_cast<int>(rng() % 30));
          for (int p = o - 1; p >= 0; --p) {
            if (step[p].kind == ScriptOp::kPut && rng() % 2 == 0) {
              op.target = kBatchRefBit | static_cast<CubeId>(p);
              break;
            }
          }
          // A placeholder's edge is never unlinked (its id is not known here).
          const std::tuple<CubeId, CubeId, int> key{op.target, op.other, type};
          if ((op.target & kBatchRefBit) == 0 &&
              std::find(linked.begin(), linked.end(), key) == linked.end()) {
            linked.push_back(key);
          }
        }
        step.push_back(op);
        continue;
      }
      std::vector<CubeId> candidates;
      for (CubeId id : live) {
        if (std::find(touched.begin(), touched.end(), id) == touched.end())
          candidates.push_back(id);
      }
      if (kind < 5 || candidates.empty()) {
        op.kind = ScriptOp::kPut;
        op.payload = "put " + std::to_string(next_id) + std::string(rng() % 300, 'p');
        op.vector = VectorFor(s, o);
        if (rng() % 3 == 0) op.valid_from = ValidTime(static_cast<int>(rng() % 30));
        if (rng() % 2 == 0) op.episode = rng() % 3 == 0 ? "e2" : "e1";
        live.push_back(next_id++);
      } else if (kind < 8) {
        op.kind = ScriptOp::kUpdate;
        op.target = candidates[rng() % candidates.size()];
        op.payload = "update " + std::to_string(s) + std::string(rng() % 200, 'u');
        if (rng() % 2 == 0) op.vector = VectorFor(s, o);
        if (rng() % 3 == 0) op.valid_from = ValidTime(static_cast<int>(rng() % 30));
        if (rng() % 4 == 0) op.episode = rng() % 2 == 0 ? "e2" : "";
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

// The batch a step writes (REQUIRES: not a checkpoint).
WriteBatch BatchFor(const Step& step) {
  WriteBatch batch;
  for (const ScriptOp& op : step) {
    if (op.kind == ScriptOp::kPut) {
      CubeDraft draft{.space = "s",
                      .payload = op.payload,
                      .vectors = {{"v", op.vector}},
                      .valid_from = op.valid_from};
      draft.episode = op.episode.value_or("");
      batch.Put(std::move(draft));
    } else if (op.kind == ScriptOp::kUpdate) {
      CubePatch patch{.payload = op.payload, .valid_from = op.valid_from};
      if (!op.vector.empty()) patch.set_vectors = {{"v", op.vector}};
      patch.episode = op.episode;
      batch.Update(op.target, patch);
    } else if (op.kind == ScriptOp::kLink) {
      batch.Link(std::nullopt, op.target, op.other, op.type, op.weight, op.valid_from);
    } else if (op.kind == ScriptOp::kUnlink) {
      batch.Unlink(std::nullopt, op.target, op.other, op.type, op.valid_to);
    } else {
      batch.Retire(op.target, op.valid_to);
    }
  }
  return batch;
}

// ---- The model: the shared reference model (tests/model/db_model.h) after a prefix of the
// script, one per candidate the recovered state may equal. What is particular to crashes —
// which prefixes are allowed, and the commit time of the step in flight, which nobody
// acknowledged — stays here.

using Model = model::DbModel;

// Applies `step` (a write, or a checkpoint, which changes nothing) to *m at `commit_time`;
// the status code the model gives it, in *touched the cubes it wrote, and in *linked the
// cubes it linked or unlinked edges from.
Status::Code ApplyStep(const Step& step, Timestamp commit_time, Model* m,
                       std::vector<CubeId>* touched = nullptr,
                       std::vector<CubeId>* linked = nullptr) {
  if (touched != nullptr) touched->clear();
  if (linked != nullptr) linked->clear();
  if (step.front().kind == ScriptOp::kCheckpoint) return Status::Code::kOk;
  std::vector<WriteResult::OpResult> results;
  const Status::Code c = m->Apply(BatchFor(step), commit_time, &results);
  for (size_t i = 0; i < results.size(); ++i) {
    const bool edge = step[i].kind == ScriptOp::kLink || step[i].kind == ScriptOp::kUnlink;
    std::vector<CubeId>* out = edge ? linked : touched;
    if (out != nullptr) out->push_back(results[i].id);
  }
  return c;
}

// The model after the acknowledged steps, at their commit times; empty with a message in
// *error if the model refuses one (the engine acknowledged a write the rules forbid).
Model ModelOfAcknowledged(const std::vector<Step>& script,
                          const std::vector<std::optional<Timestamp>>& commit_times,
                          std::string* error) {
  Model m;
  for (size_t i = 0; i < commit_times.size(); ++i) {
    if (ApplyStep(script[i], commit_times[i].value_or(0), &m) != Status::Code::kOk) {
      *error = "the model refuses acknowledged step " + std::to_string(i);
      return Model();
    }
  }
  return m;
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

// Empty if `state` is the history of every cube of `model`, field by field, else what differs.
std::string Compare(const State& state, const Model& model) {
  if (state.size() != model.cubes().size()) {
    return std::to_string(state.size()) + " cubes, model has " +
           std::to_string(model.cubes().size());
  }
  for (const auto& [id, cube] : model.cubes()) {
    auto it = state.find(id);
    if (it == state.end()) return "cube " + std::to_string(id) + " missing";
    const std::vector<MemCube>& got = it->second;
    std::vector<MemCube> expected;
    if (model.History(id, kForever, kForever - 1, std::nullopt, &expected) != Status::Code::kOk) {
      return "cube " + std::to_string(id) + " has no history in the model";
    }
    if (got.size() != expected.size()) {
      return "cube " + std::to_string(id) + " has " + std::to_string(got.size()) +
             " versions, model " + std::to_string(expected.size());
    }
    for (size_t i = 0; i < got.size(); ++i) {
      const MemCube& g = got[i];
      const MemCube& e = expected[i];
      const std::string where = "cube " + std::to_string(id) + " v" + std::to_string(i + 1);
      if (g.version != e.version) return where + ": version number";
      if (g.payload != e.payload) return where + ": payload '" + g.payload + "'";
      if (g.vectors != e.vectors) return where + ": vector";
      if (g.state != e.state) return where + ": state";
      if (g.episode != e.episode) return where + ": episode '" + g.episode + "'";
      if (g.valid_from != e.valid_from) return where + ": valid_from";
      if (g.valid_to != e.valid_to) return where + ": valid_to";
      if (g.tx_from != e.tx_from) return where + ": tx_from";
      if (g.tx_to != e.tx_to) return where + ": tx_to";
      if (i > 0 && g.tx_from < got[i - 1].tx_from) return where + ": commit time went back";
    }
  }
  return "";
}

// ---- The trace graph and the episodes as reads see them now, rendered as text: for every
// cube, its neighbourhood (one hop, both directions, every type, the episode order) at two
// valid times; then the events of space "s" (all of them, and episode e1's) and its list. The
// same text from the database and from a model means the same edges (their versions, weights,
// valid and commit times) and the same episodes.

constexpr Timestamp kGraphValidTimes[] = {1672531200LL * 1000000 + 35LL * 86400 * 1000000,
                                          kForever - 1};

std::string Render(Status::Code c, const std::vector<TraceStep>& steps) {
  std::string out = std::to_string(static_cast<int>(c));
  for (const TraceStep& t : steps) {
    out += " " + std::to_string(t.id) + "v" + std::to_string(t.version) + "@" +
           std::to_string(t.hop) + "(" + std::to_string(t.via.from) + ">" +
           std::to_string(t.via.to) + " t" + std::to_string(static_cast<uint32_t>(t.via.type)) +
           " w" + std::to_string(t.via.weight) + " v" + std::to_string(t.via.version) + " [" +
           std::to_string(t.via.valid_from) + "," + std::to_string(t.via.valid_to) + ") tx" +
           std::to_string(t.via.tx_from) + ")";
  }
  return out + "\n";
}

std::string Render(Status::Code c, const std::vector<MemCube>& cubes) {
  std::string out = std::to_string(static_cast<int>(c));
  for (const MemCube& m : cubes) {
    out += " " + std::to_string(m.id) + "v" + std::to_string(m.version) + " '" + m.episode + "' [" +
           std::to_string(m.valid_from) + "," + std::to_string(m.valid_to) + ") tx" +
           std::to_string(m.tx_from) + "," + std::to_string(m.tx_to);
  }
  return out + "\n";
}

// The database's, for the cubes of `state`; *newest_edge (if given) is the newest commit time
// of an edge version it saw.
std::string GraphOf(Db* db, const State& state, Timestamp* newest_edge = nullptr) {
  std::string out;
  for (Timestamp valid_at : kGraphValidTimes) {
    for (const auto& [id, versions] : state) {
      TraceRequest r;
      r.valid_at = valid_at;
      r.start = id;
      r.direction = TraceDirection::kBoth;
      r.episode_order = true;
      r.limit = kMaxTraceResults;
      std::vector<TraceStep> steps;
      const Status s = db->Trace(r, &steps);
      out += std::to_string(id) + ": " + Render(s.code(), steps);
      for (const TraceStep& t : steps) {
        if (newest_edge != nullptr) *newest_edge = std::max(*newest_edge, t.via.tx_from);
      }
    }
  }
  for (const std::optional<std::string>& episode :
       {std::optional<std::string>(), std::optional<std::string>("e1")}) {
    EventsRequest r;
    r.space = "s";
    r.episode = episode;
    r.limit = kMaxListResults;
    std::vector<MemCube> events;
    const Status s = db->Events(r, &events);
    out += "events " + episode.value_or("*") + ": " + Render(s.code(), events);
  }
  ListRequest r;
  r.space = "s";
  r.valid_at = kGraphValidTimes[1];
  r.limit = kMaxListResults;
  std::vector<MemCube> cubes;
  const Status s = db->List(r, &cubes);
  return out + "list: " + Render(s.code(), cubes);
}

// The model's, for its cubes.
std::string GraphOf(const Model& m) {
  // Nothing in the script expires: any read time before kForever (the expiry of a cube that
  // never expires) stands for now.
  constexpr Timestamp kNow = kForever - 1;
  std::string out;
  for (Timestamp valid_at : kGraphValidTimes) {
    const model::ModelRead read{kForever, valid_at, kNow, std::nullopt};
    for (const auto& [id, cube] : m.cubes()) {
      std::vector<TraceStep> steps;
      const Status::Code c =
          m.Trace(id, read, {}, TraceDirection::kBoth, true, 1, kMaxTraceResults, &steps);
      out += std::to_string(id) + ": " + Render(c, steps);
    }
  }
  const model::ModelRead now{kForever, kForever, kNow, std::nullopt};
  for (const std::optional<std::string>& episode :
       {std::optional<std::string>(), std::optional<std::string>("e1")}) {
    std::vector<MemCube> events;
    const Status::Code c =
        m.Events("s", episode, kBeginningOfTime, kForever, now, kMaxListResults, &events);
    out += "events " + episode.value_or("*") + ": " + Render(c, events);
  }
  std::vector<MemCube> cubes;
  const Status::Code c =
      m.List("s", {kForever, kGraphValidTimes[1], kNow, std::nullopt}, 0, kMaxListResults, &cubes);
  return out + "list: " + Render(c, cubes);
}

// The first line where two renderings differ, for a failure message.
std::string FirstDifference(const std::string& got, const std::string& want) {
  size_t line = 0;
  for (size_t i = 0; i < std::max(got.size(), want.size()); ++i) {
    if (i >= got.size() || i >= want.size() || got[i] != want[i]) {
      auto line_of = [&](const std::string& text) {
        const size_t end = text.find('\n', line);
        return line < text.size() ? text.substr(line, end == std::string::npos ? end : end - line)
                                  : std::string("(nothing)");
      };
      return "got '" + line_of(got) + "', the model has '" + line_of(want) + "'";
    }
    if (got[i] == '\n') line = i + 1;
  }
  return "";
}

// The commit time the step in flight had if it survived: the newest commit time in `state`
// (or of an edge version, `newest_edge`) when it is after every acknowledged one, else any
// later time (the step did not survive, and the model with it will not match anyway).
Timestamp InFlightCommitTime(const State& state,
                             const std::vector<std::optional<Timestamp>>& commit_times,
                             Timestamp newest_edge = 0) {
  Timestamp last_acked = 0;
  for (const std::optional<Timestamp>& t : commit_times) {
    last_acked = std::max(last_acked, t.value_or(0));
  }
  Timestamp newest = newest_edge;
  for (const auto& [id, versions] : state) {
    for (const MemCube& v : versions) newest = std::max(newest, v.tx_from);
  }
  return newest > last_acked ? newest : last_acked + 1;
}

// Recoveries that rewrote arena blobs from their WAL copies (the one-flush commit path: a
// logged blob's arena copy is not synced before its record is).
uint64_t recoveries_restoring_blobs = 0;

// ---- One simulated run.

struct RunResult {
  uint64_t ops_until_power_off = 0;  // mutating I/O operations the workload performed
};

class SimCrashTest : public testing::Test {
 protected:
  static void CheckEarlierBlobsSurviveASyncCommit(uint64_t seed);
  static void CheckBitFlips(uint64_t seed);

  static Options SimOptions(sim::SimEnv* env) {
    Options o;
    o.env = env;
    o.create_if_missing = true;
    o.deterministic_io = true;
    o.wal_segment_bytes = 16 << 10;       // rotate often
    o.arena_generation_bytes = 64 << 10;  // and change generations
    o.checkpoint_wal_bytes = 0;           // checkpoints only where the script says
    // Payloads of up to 128 bytes travel in their WAL record, longer ones are synced in the
    // arena before it: the workload takes both paths (and vectors, 16 bytes, the first).
    o.max_logged_blob_bytes = 128;
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
        const WriteBatch batch = BatchFor(step);
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
    if (db->Stats().recovery.find("restored from their WAL copies") != std::string::npos) {
      ++recoveries_restoring_blobs;
    }
    const State state = ReadState(db.get());
    // (A read that hit corruption shows up as a missing cube; with may_corrupt, Verify below
    // must then report it, so comparing only happens on a verified database.)
    if (may_corrupt) {
      IntegrityReport pre;
      if (!db->Verify(&pre).ok()) return true;
    }
    // The model after the acknowledged steps, and after one more (the step in flight).
    std::string error;
    const Model acked = ModelOfAcknowledged(script, commit_times, &error);
    if (!error.empty()) {
      ADD_FAILURE() << tag << ": " << error;
      return false;
    }
    Timestamp newest_edge = 0;
    const std::string graph = GraphOf(db.get(), state, &newest_edge);
    Model with_next = acked;
    if (commit_times.size() < script.size()) {
      ApplyStep(script[commit_times.size()], InFlightCommitTime(state, commit_times, newest_edge),
                &with_next);
    }
    // The cubes' histories first, then the graph and the episodes.
    auto differs = [&](const Model& m) {
      std::string diff = Compare(state, m);
      if (diff.empty()) diff = FirstDifference(graph, GraphOf(m));
      return diff;
    };
    const std::string diff_acked = differs(acked);
    const std::string diff_next = differs(with_next);
    if (!diff_acked.empty() && !diff_next.empty()) {
      ADD_FAILURE() << tag << ": recovered state is no prefix of the history after "
                    << commit_times.size() << " acknowledged steps (" << diff_acked << " / "
                    << diff_next << ")";
      return false;
    }
    // As-of reads at every acknowledged commit time see the history up to it: each cube the
    // step wrote has its newest version then from that step, and reads then (at that valid
    // time, and at one between the script's valid_froms and retirements) give what the model's
    // read rule says.
    Model replay;
    for (size_t i = 0; i < commit_times.size(); ++i) {
      std::vector<CubeId> touched, linked;
      ApplyStep(script[i], commit_times[i].value_or(0), &replay, &touched, &linked);
      if (!commit_times[i]) continue;
      const Timestamp t = *commit_times[i];
      // A trace as of the step, from each cube it linked or unlinked an edge from, sees the
      // graph as it was then.
      for (CubeId id : linked) {
        for (Timestamp valid_at : {t, kGraphValidTimes[1]}) {
          TraceRequest r;
          r.as_of = t;
          r.valid_at = valid_at;
          r.start = id;
          r.direction = TraceDirection::kBoth;
          r.limit = kMaxTraceResults;
          std::vector<TraceStep> got, want;
          const Status traced = db->Trace(r, &got);
          const Status::Code c =
              acked.Trace(id, {t, valid_at, t, std::nullopt}, {}, TraceDirection::kBoth, false, 1,
                          kMaxTraceResults, &want);
          if (Render(traced.code(), got) != Render(c, want)) {
            ADD_FAILURE() << tag << ": as-of trace from cube " << id << " at step " << i
                          << " valid at " << valid_at << ": " << Render(traced.code(), got)
                          << " the model says " << Render(c, want);
            return false;
          }
        }
      }
      for (CubeId id : touched) {
        ReadOptions ro;
        ro.as_of = t;
        std::vector<MemCube> h;
        if (!db->History(ro, id, &h).ok() || h.empty() || h.back().tx_from != t) {
          ADD_FAILURE() << tag << ": as-of history of cube " << id << " at step " << i;
          return false;
        }
        for (Timestamp valid_at : {t, ValidTime(35)}) {
          ro.valid_at = valid_at;
          MemCube got, want;
          const Status read = db->Get(ro, id, &got);
          const Status::Code c = acked.Get(id, t, valid_at, t, std::nullopt, &want);
          if (read.code() != c ||
              (read.ok() && (got.version != want.version || got.payload != want.payload))) {
            ADD_FAILURE() << tag << ": as-of read of cube " << id << " at step " << i
                          << " valid at " << valid_at << ": " << read.ToString() << " v"
                          << got.version << ", the model says code " << static_cast<int>(c) << " v"
                          << want.version;
            return false;
          }
        }
      }
    }
    IntegrityReport report;
    if (Status v = db->Verify(&report); !v.ok()) {
      if (may_corrupt && v.IsCorruption()) return true;
      ADD_FAILURE() << tag << ": Verify: " << v.ToString();
      return false;
    }
    if (std::string why = CheckSearches(db.get(), state); !why.empty()) {
      ADD_FAILURE() << tag << ": " << why;
      return false;
    }
    db.reset();
    if (!Db::Open(SimOptions(env), kDir, &db).ok() || ReadState(db.get()).size() != state.size() ||
        Compare(ReadState(db.get()), diff_acked.empty() ? acked : with_next) != "" ||
        GraphOf(db.get(), state) != graph) {
      ADD_FAILURE() << tag << ": recovering again gave another state";
      return false;
    }
    if (std::string why = CheckNewVectorsAreFoundAtOnce(db.get()); !why.empty()) {
      ADD_FAILURE() << tag << ": " << why;
      return false;
    }
    return true;
  }

  // Every cube visible now is the best hit of a search for its own vector: the index the
  // recovery rebuilt (and what its indexer has not absorbed yet) holds exactly what reads see.
  static std::string CheckSearches(Db* db, const State& state) {
    for (const auto& [id, versions] : state) {
      MemCube now;
      if (!db->Get(ReadOptions(), id, &now).ok()) continue;
      SearchRequest r;
      r.spaces = {"s"};
      r.field = "v";
      r.query = now.vectors.at(0).values;
      r.k = 1;
      std::vector<SearchHit> hits;
      Status s = db->Search(r, &hits);
      if (!s.ok()) return "search for cube " + std::to_string(id) + ": " + s.ToString();
      if (hits.size() != 1 || hits[0].id != id || hits[0].version != now.version) {
        return "search for cube " + std::to_string(id) + " version " + std::to_string(now.version) +
               " found " + test::HitsLine(hits);
      }
    }
    return "";
  }

  // A vector written after recovery is found by the next search, whatever the indexer's
  // progress (it is scored from the index queue until the index has it).
  static std::string CheckNewVectorsAreFoundAtOnce(Db* db) {
    const std::vector<float> fresh = {1.0f, -3.0f, 7.0f, -0.25f};
    Result<CubeId> id = db->Put(WriteOptions(), CubeDraft{.space = "s", .vectors = {{"v", fresh}}});
    if (!id.ok()) return "";  // the fault soak's instance may refuse writes (poisoned): fine
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = fresh;
    r.k = 1;
    std::vector<SearchHit> hits;
    Status s = db->Search(r, &hits);
    if (!s.ok() || hits.size() != 1 || hits[0].id != *id) {
      return "a vector put after recovery was not found at once: " + s.ToString() + " " +
             test::HitsLine(hits);
    }
    return "";
  }
};

// A floor on the mutating operations of a clean run of `script`, which holds for any script:
// a write acknowledged as durable has reached the disk through at least a WAL write and an
// fdatasync. (Creating the database, blobs and checkpoints add more: 40-step scripts measured
// 249 to 299 over 33 fresh seeds, against a floor of about 74.) Fewer means the workload stopped
// doing its I/O, and the sweep, which crashes 3 times at each of these operations (so 3 x floor
// crashes per seed at least), stopped testing anything.
uint64_t MinMutatingOps(const std::vector<Step>& script) {
  uint64_t writes = 0;
  for (const Step& step : script) writes += step.front().kind != ScriptOp::kCheckpoint;
  return 2 * writes;
}

void AddDamage(const sim::SimStats& st, sim::SimStats* sum) {
  sum->writes_applied += st.writes_applied;
  sum->writes_dropped += st.writes_dropped;
  sum->writes_torn += st.writes_torn;
  sum->writes_garbled += st.writes_garbled;
  sum->dir_ops_undone += st.dir_ops_undone;
}

TEST_F(SimCrashTest, PowerLossAtEveryOperationOfTheWorkload) {
  uint64_t crashes = 0;
  sim::SimStats damage_done;  // what the crashes did to unsynced operations, summed
  for (uint64_t script_seed : SeedsToRun({1, 2, 3})) {
    AnnounceSeed(script_seed);
    const std::vector<Step> script = MakeScript(script_seed, 40);
    // A clean run tells how many mutating operations the workload does.
    uint64_t total;
    {
      sim::SimEnv env(script_seed);
      std::vector<std::optional<Timestamp>> times;
      total = RunScript(&env, script, 0, &times).ops_until_power_off;
      ASSERT_EQ(times.size(), script.size()) << "the workload fails without any crash";
    }
    ASSERT_GE(total, MinMutatingOps(script)) << "SIM_SEED=" << script_seed;
    sim::SimStats seed_damage;
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
                 << " (SIM_SEED=" << script_seed << " reruns this sweep)";
        }
        AddDamage(env.stats(), &seed_damage);
      }
    }
    std::printf(
        "seed %llu: %llu mutating operations, %llu crashes; unsynced writes applied %llu, "
        "dropped %llu, torn %llu, garbled %llu; directory operations undone %llu\n",
        static_cast<unsigned long long>(script_seed), static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(3 * (total + 2)),
        static_cast<unsigned long long>(seed_damage.writes_applied),
        static_cast<unsigned long long>(seed_damage.writes_dropped),
        static_cast<unsigned long long>(seed_damage.writes_torn),
        static_cast<unsigned long long>(seed_damage.writes_garbled),
        static_cast<unsigned long long>(seed_damage.dir_ops_undone));
    AddDamage(seed_damage, &damage_done);
  }
  std::printf("simulated crashes: %llu; recoveries that rewrote logged blobs from the WAL: %llu\n",
              static_cast<unsigned long long>(crashes),
              static_cast<unsigned long long>(recoveries_restoring_blobs));
  // The sweep is only worth its time if the crashes really kept, dropped, tore and garbled
  // unsynced writes and undid directory operations. These hold for a single seed too: over 33
  // fresh seeds each seed's sweep (753 to 903 crashes) garbled at least 9 writes, tore 24,
  // applied 131, dropped 216 and undid 137 directory operations.
  EXPECT_GT(damage_done.writes_applied, 0u);
  EXPECT_GT(damage_done.writes_dropped, 0u);
  EXPECT_GT(damage_done.writes_torn, 0u);
  EXPECT_GT(damage_done.writes_garbled, 0u);
  EXPECT_GT(damage_done.dir_ops_undone, 0u);
  EXPECT_GT(recoveries_restoring_blobs, 0u) << "the one-flush commit's recovery path never ran";
}

// A sync commit makes every earlier WAL record durable, non-sync ones included, so the blobs
// those records refer to must be durable too — even when they sit in an older arena
// generation than the sync commit's own blobs. Each seed s runs the 20 environment seeds
// s .. s + 19, each of which draws how many non-sync blobs there are and their sizes (spanning
// several 16 KiB generations).
TEST_F(SimCrashTest, SyncCommitAlsoMakesEarlierNonSyncBlobsDurable) {
  for (uint64_t base_seed : SeedsToRun({1})) {
    AnnounceSeed(base_seed);
    for (uint64_t seed = base_seed; seed < base_seed + 20; ++seed) {
      ASSERT_NO_FATAL_FAILURE(CheckEarlierBlobsSurviveASyncCommit(seed))
          << "SIM_SEED=" << base_seed << " reruns this";
    }
  }
}

void SimCrashTest::CheckEarlierBlobsSurviveASyncCommit(uint64_t seed) {
  sim::SimEnv env(seed);
  std::mt19937_64 rng(seed);
  Options o = SimOptions(&env);
  o.arena_generation_bytes = 16 << 10;  // a few blobs per generation
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
  WriteOptions nosync;
  nosync.sync = false;
  std::vector<std::pair<CubeId, std::string>> written;
  for (uint64_t i = 0, n = 8 + rng() % 13; i < n; ++i) {
    std::string payload(2000 + rng() % 4000, static_cast<char>('a' + i));
    Result<CubeId> id = db->Put(nosync, CubeDraft{.space = "s", .payload = payload});
    ASSERT_TRUE(id.ok());
    written.emplace_back(*id, std::move(payload));
  }
  // This one lands in the newest generation; its commit syncs the WAL, and with it the records
  // of those before.
  Result<CubeId> last = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "sync"});
  ASSERT_TRUE(last.ok());
  env.PowerOffAfter(1);  // nothing more reaches the disk
  db.reset();
  // Half the seeds drop everything unsynced, which loses any blob the sync left out for sure;
  // the others let the seed choose what survives.
  env.Crash(seed % 2 == 0 ? sim::CrashMode::kDropAll : sim::CrashMode::kAny);
  ASSERT_TRUE(Db::Open(o, kDir, &db).ok());
  IntegrityReport report;
  Status v = db->Verify(&report);
  ASSERT_TRUE(v.ok()) << "seed " << seed << ": " << v.ToString();
  for (const auto& [id, payload] : written) {
    MemCube c;
    ASSERT_TRUE(db->Get(ReadOptions(), id, &c).ok()) << "seed " << seed << ", cube " << id;
    ASSERT_EQ(c.payload, payload) << "seed " << seed << ", cube " << id;
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
  const uint64_t ops_before = env.stats().mutating_ops;
  Result<CubeId> sync_id = Status::NotFound("not yet");
  std::thread fast(
      [&] { sync_id = db->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "sync"}); });
  // Give its chain the time to run ahead, counted from when its blob reached the arena (a
  // mutating operation) rather than from the thread's start, which a loaded machine delays.
  for (int ms = 0; ms < 10000 && env.stats().mutating_ops == ops_before; ++ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
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
// Each seed s runs SIM_ITERATIONS (default 200) iterations, iteration i with seed s + i: so
// SIM_SEED=<s> reruns them all, and SIM_SEED=<s + i> SIM_ITERATIONS=1 iteration i alone.
TEST_F(SimCrashTest, RandomCrashesAfterInjectedFaults) {
  const uint64_t iterations = test::EnvU64("SIM_ITERATIONS", 200);
  for (uint64_t base_seed : SeedsToRun({0x5eed0000})) {
    AnnounceSeed(base_seed);
    for (uint64_t i = 0; i < iterations; ++i) {
      const uint64_t seed = base_seed + i;
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
          << "iteration " << i << " of SIM_SEED=" << base_seed << " SIM_ITERATIONS=" << iterations
          << "; SIM_SEED=" << seed
          << " SIM_ITERATIONS=1 --gtest_filter=*RandomCrashesAfterInjectedFaults reruns it alone";
    }
  }
}

// Bit rot in durable bytes: a flipped bit anywhere in any file is reported as Corruption (at
// open, by Verify, or by the read that meets it), or lands where it changes nothing — never wrong
// data, and never a write lost: the script ends with a clean close, whose seal certifies the
// last group, so damage to it is not taken for a torn tail (before the seal, 19 of 80 fresh
// seeds lost the last write that way). Each seed draws the script, then 300 flips.
TEST_F(SimCrashTest, BitFlipsInDurableBytesAreNeverWrongData) {
  for (uint64_t seed : SeedsToRun({77})) {
    AnnounceSeed(seed);
    ASSERT_NO_FATAL_FAILURE(CheckBitFlips(seed)) << "SIM_SEED=" << seed << " reruns this";
  }
}

void SimCrashTest::CheckBitFlips(uint64_t seed) {
  const std::vector<Step> script = MakeScript(seed, 30);
  std::vector<std::optional<Timestamp>> times;
  sim::SimEnv clean(seed);
  RunScript(&clean, script, 0, &times);
  ASSERT_EQ(times.size(), script.size()) << "the workload fails without any fault";
  std::string error;
  const Model model = ModelOfAcknowledged(script, times, &error);
  ASSERT_EQ(error, "");
  uint64_t flips = 0, detected = 0, harmless = 0;
  std::mt19937_64 rng(~seed);
  for (int trial = 0; trial < 300; ++trial) {
    sim::SimEnv env(seed);
    std::vector<std::optional<Timestamp>> again;
    RunScript(&env, script, 0, &again);
    ASSERT_EQ(again, times);  // the simulation is deterministic
    const std::vector<std::string> files = env.Files();
    const std::string& file = files[rng() % files.size()];
    uint64_t size = 0;
    ASSERT_TRUE(env.GetFileSize(file, &size).ok());
    if (size == 0 || file.ends_with("LOCK")) continue;
    const uint64_t offset = rng() % size;
    if (!env.FlipDurableBit(file, offset, static_cast<int>(rng() % 8))) continue;
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
    const State state = ReadState(db.get());
    const std::string recovery = db->Stats().recovery;
    ASSERT_EQ(Compare(state, model), "")
        << "a flipped bit in " << file << " at offset " << offset << " of " << size
        << " changed what reads return; recovery: " << recovery;
    ASSERT_EQ(FirstDifference(GraphOf(db.get(), state), GraphOf(model)), "")
        << "a flipped bit in " << file << " at offset " << offset << " of " << size
        << " changed the trace graph or the episodes; recovery: " << recovery;
    ++harmless;
  }
  std::printf("seed %llu: bit flips: %llu, detected: %llu, harmless: %llu\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(flips),
              static_cast<unsigned long long>(detected), static_cast<unsigned long long>(harmless));
  // How many flips matter depends on the layout a script leaves (zero-filled segment and arena
  // tails, a superblock copy that is not the newest...): 32% to 60% were detected over 80 fresh
  // seeds. The floor only checks that the flips really reach bytes that are checked: an eighth
  // of ~200 flips is far below what any seed detects, and far above what a broken FlipDurableBit
  // or a layout of zeros would.
  EXPECT_GT(flips, 100u);
  EXPECT_GE(detected, flips / 8);
}

}  // namespace
}  // namespace loci
