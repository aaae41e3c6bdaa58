// RapidCheck state-machine test of the Db against the reference model (design.md §10), with Crash
// and Reopen commands, on the power-loss simulator.
//
// Commands: Put, Update, Retire (each durable or not), Checkpoint, Check (every history in full,
// tx_from and tx_to included, and reads at several valid times), Reopen
// (a clean close), and Crash (power loss with a random crash mode). The model is the list of
// acknowledged writes; the state after any prefix of it, at the commit times the engine gave,
// is the shared reference model's (tests/model/db_model.h), which also decides which updates
// and retires the engine must accept. After a crash the database must hold exactly a prefix of
// that list that reaches at least the last durable write (nothing acknowledged as durable is
// lost, nothing partial survives); the lost non-durable writes are then applied again so that
// the system and the model agree for the commands that follow.
//
// The model names cubes by logical ids (1, 2, 3... in the order of the puts); the system maps
// them to the ids the engine assigned. Those skip after a crash (ids of lost writes are never
// handed out again), which the test asserts: every id the engine assigns is above every id it
// acknowledged before.
//
// RC_PARAMS="seed=N" reproduces a run; the shrunk command sequence is printed on failure.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <map>
#include <optional>

#include "loci/db.h"
#include "tests/model/db_model.h"
#include "tests/sim/sim_env.h"

namespace loci {
namespace {

struct Op {
  enum Kind { kPut, kUpdate, kRetire } kind;
  CubeId target = 0;  // update, retire: a logical id
  std::string payload;
  std::optional<Timestamp> valid_from;  // put, update
  std::optional<Timestamp> valid_to;    // retire
  bool sync = true;
};

Timestamp ValidTime(int day) { return 1672531200LL * 1000000 + int64_t{day} * 86400000000LL; }

// The commit times the model uses for writes whose real ones it does not know (while commands
// are generated): increasing, and after every valid time the commands choose, as the engine's
// are, so that the rules decide the same way.
constexpr Timestamp kStandInClock = 2000000000LL * 1000000;  // 2033

// The batch of `op`, naming its target cube `target`.
WriteBatch BatchFor(const Op& op, CubeId target) {
  WriteBatch batch;
  if (op.kind == Op::kPut) {
    batch.Put(CubeDraft{.space = "s", .payload = op.payload, .valid_from = op.valid_from});
  } else if (op.kind == Op::kUpdate) {
    batch.Update(target, CubePatch{.payload = op.payload, .valid_from = op.valid_from});
  } else {
    batch.Retire(target, op.valid_to);
  }
  return batch;
}

struct Model {
  std::vector<Op> ops;  // acknowledged writes, in order

  // The reference model after the first `n` writes, committed at (*times)[i] (the engine's
  // commit times) or, without `times`, at the stand-in clock. Logical ids are the model's ids.
  model::DbModel StateAfter(size_t n, const std::vector<Timestamp>* times = nullptr) const {
    model::DbModel state;
    for (size_t i = 0; i < n; ++i) {
      const Timestamp ts = times != nullptr ? times->at(i) : kStandInClock + i;
      std::vector<WriteResult::OpResult> results;
      RC_ASSERT(state.Apply(BatchFor(ops[i], ops[i].target), ts, &results) == Status::Code::kOk);
    }
    return state;
  }
  model::DbModel State(const std::vector<Timestamp>* times = nullptr) const {
    return StateAfter(ops.size(), times);
  }
  // Whether the engine must accept `op` next (by the model's rules: an existing cube, not
  // retired, not an update that repeats the latest version).
  bool Accepts(const Op& op) const {
    model::DbModel state = State();
    std::vector<WriteResult::OpResult> results;
    return state.Apply(BatchFor(op, op.target), kStandInClock + ops.size(), &results) ==
           Status::Code::kOk;
  }
  std::vector<CubeId> LiveIds() const {
    std::vector<CubeId> ids;
    const model::DbModel state = State();
    for (const auto& [id, cube] : state.cubes()) {
      if (cube.versions.back().state != CubeState::kRetired) ids.push_back(id);
    }
    return ids;
  }
  // The logical id the put ops[i] creates.
  CubeId LogicalIdOf(size_t i) const {
    return 1 + std::count_if(ops.begin(), ops.begin() + i,
                             [](const Op& op) { return op.kind == Op::kPut; });
  }
  // Writes before the last durable one cannot be lost.
  size_t DurablePrefix() const {
    for (size_t i = ops.size(); i > 0; --i) {
      if (ops[i - 1].sync) return i;
    }
    return 0;
  }
};

struct System {
  explicit System(uint64_t seed) : env(seed) { Open(); }

  Options DbOptions() {
    Options o;
    o.env = &env;
    o.create_if_missing = true;
    o.deterministic_io = true;
    o.wal_segment_bytes = 16 << 10;
    o.arena_generation_bytes = 32 << 10;
    o.checkpoint_wal_bytes = 0;
    return o;
  }
  void Open() {
    Status s = Db::Open(DbOptions(), "/db", &db);
    RC_ASSERT(s.ok());
  }

  // Runs ops[i] of the model and records its commit time in times[i]; false if the engine
  // refused it. A put's id must be above every id acknowledged before, even those of writes a
  // crash lost.
  bool Apply(const Model& m, size_t i) {
    const Op& op = m.ops[i];
    WriteOptions wo;
    wo.sync = op.sync;
    WriteResult result;
    const CubeId target = op.kind == Op::kPut ? 0 : ids.at(op.target - 1);
    if (!db->Write(wo, BatchFor(op, target), &result).ok()) return false;
    if (times.size() <= i) times.resize(i + 1);
    times[i] = result.commit_time;
    if (op.kind == Op::kPut) {
      const CubeId id = result.ops.at(0).id;
      RC_ASSERT(id > highest_id);
      highest_id = id;
      const CubeId logical = m.LogicalIdOf(i);
      if (ids.size() < logical) ids.resize(logical, 0);
      ids[logical - 1] = id;
    }
    return true;
  }

  // Every version of every cube, by logical id; no cube the model does not know may exist.
  std::map<CubeId, std::vector<MemCube>> Read() {
    std::map<CubeId, std::vector<MemCube>> out;
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<MemCube> h;
      if (db->History(ReadOptions(), ids[i], &h).ok()) out[i + 1] = std::move(h);
    }
    RC_ASSERT(db->Stats().cubes == out.size());
    return out;
  }

  // Whether `got` (from Read) is the history of every cube of `want`, field by field.
  static bool Matches(const std::map<CubeId, std::vector<MemCube>>& got,
                      const model::DbModel& want) {
    if (got.size() != want.cubes().size()) return false;
    for (const auto& [id, cube] : want.cubes()) {
      auto it = got.find(id);
      std::vector<MemCube> versions;
      if (it == got.end() ||
          want.History(id, kForever, kForever - 1, std::nullopt, &versions) != Status::Code::kOk ||
          it->second.size() != versions.size()) {
        return false;
      }
      for (size_t i = 0; i < versions.size(); ++i) {
        const MemCube& g = it->second[i];
        const MemCube& w = versions[i];
        if (g.version != w.version || g.payload != w.payload || g.valid_from != w.valid_from ||
            g.valid_to != w.valid_to || g.tx_from != w.tx_from || g.tx_to != w.tx_to ||
            g.state != w.state) {
          return false;
        }
      }
    }
    return true;
  }

  // Reads of every cube now, at valid times on both sides of those the commands choose, give
  // what the model's read rule says.
  void CheckReads(const model::DbModel& want) {
    const Timestamp now = db->Now();
    for (const auto& [logical, cube] : want.cubes()) {
      for (int day : {0, 30, 59, 61, 75, 90}) {
        for (Timestamp valid_at : {ValidTime(day), now}) {
          ReadOptions ro;
          ro.valid_at = valid_at;
          MemCube g, w;
          Status s = db->Get(ro, ids.at(logical - 1), &g);
          RC_ASSERT(s.code() == want.Get(logical, kForever, valid_at, now, std::nullopt, &w));
          if (s.ok()) {
            RC_ASSERT(g.version == w.version);
            RC_ASSERT(g.payload == w.payload);
          }
        }
      }
    }
  }

  sim::SimEnv env;
  std::unique_ptr<Db> db;
  std::vector<CubeId> ids;       // ids[L - 1]: the engine's id of logical cube L
  std::vector<Timestamp> times;  // times[i]: the commit time of the model's ops[i]
  CubeId highest_id = 0;         // the highest id the engine acknowledged
};

using Command = rc::state::Command<Model, System>;

struct WriteCommand : Command {
  Op op;
  void apply(Model& m) const override { m.ops.push_back(op); }
  void run(const Model& m, System& sys) const override {
    Model after = m;
    apply(after);
    RC_ASSERT(sys.Apply(after, after.ops.size() - 1));
  }
};

struct Put : WriteCommand {
  explicit Put(const Model&) {
    op.kind = Op::kPut;
    op.payload = "p" + *rc::gen::arbitrary<std::string>().as("payload");
    if (*rc::gen::arbitrary<bool>()) op.valid_from = ValidTime(*rc::gen::inRange(0, 60));
    op.sync = *rc::gen::arbitrary<bool>();
  }
  void show(std::ostream& os) const override {
    os << "Put(" << op.payload.size() << " B" << (op.sync ? ", sync" : "") << ")";
  }
};

struct Update : WriteCommand {
  explicit Update(const Model& m) {
    op.kind = Op::kUpdate;
    const std::vector<CubeId> live = m.LiveIds();
    op.target = live.empty() ? 0 : *rc::gen::elementOf(live);
    op.payload = "u" + *rc::gen::arbitrary<std::string>();
    if (*rc::gen::arbitrary<bool>()) op.valid_from = ValidTime(*rc::gen::inRange(0, 60));
    op.sync = *rc::gen::arbitrary<bool>();
  }
  // The engine refuses an update of a retired cube, or one that repeats the latest version
  // (same payload, no valid time): that is no write.
  void checkPreconditions(const Model& m) const override { RC_PRE(m.Accepts(op)); }
  void show(std::ostream& os) const override {
    os << "Update(" << op.target << (op.sync ? ", sync" : "") << ")";
  }
};

struct Retire : WriteCommand {
  explicit Retire(const Model& m) {
    op.kind = Op::kRetire;
    const std::vector<CubeId> live = m.LiveIds();
    op.target = live.empty() ? 0 : *rc::gen::elementOf(live);
    if (*rc::gen::arbitrary<bool>()) op.valid_to = ValidTime(*rc::gen::inRange(61, 90));
    op.sync = *rc::gen::arbitrary<bool>();
  }
  void checkPreconditions(const Model& m) const override { RC_PRE(m.Accepts(op)); }
  void show(std::ostream& os) const override {
    os << "Retire(" << op.target << (op.sync ? ", sync" : "") << ")";
  }
};

struct Check : Command {
  void run(const Model& m, System& sys) const override {
    const model::DbModel want = m.State(&sys.times);
    RC_ASSERT(System::Matches(sys.Read(), want));
    sys.CheckReads(want);
  }
  void show(std::ostream& os) const override { os << "Check"; }
};

struct Checkpoint : Command {
  void run(const Model&, System& sys) const override { RC_ASSERT(sys.db->Checkpoint().ok()); }
  void show(std::ostream& os) const override { os << "Checkpoint"; }
};

struct Reopen : Command {
  void run(const Model& m, System& sys) const override {
    sys.db.reset();  // a clean close makes every write durable
    sys.Open();
    RC_ASSERT(System::Matches(sys.Read(), m.State(&sys.times)));
  }
  void show(std::ostream& os) const override { os << "Reopen"; }
};

struct Crash : Command {
  sim::CrashMode mode = static_cast<sim::CrashMode>(*rc::gen::inRange(0, 3));
  void run(const Model& m, System& sys) const override {
    sys.env.PowerOffAfter(1);  // the process dies: even its destructor's syncs are lost
    sys.db.reset();
    sys.env.Crash(mode);
    sys.Open();
    const auto got = sys.Read();
    // Some prefix of the acknowledged writes survived, at least up to the last durable one.
    size_t kept = m.ops.size() + 1;
    for (size_t n = m.DurablePrefix(); n <= m.ops.size(); ++n) {
      if (System::Matches(got, m.StateAfter(n, &sys.times))) {
        kept = n;
        break;
      }
    }
    RC_ASSERT(kept <= m.ops.size());
    IntegrityReport report;
    RC_ASSERT(sys.db->Verify(&report).ok());
    // Redo the lost writes so that the system matches the model again.
    for (size_t i = kept; i < m.ops.size(); ++i) RC_ASSERT(sys.Apply(m, i));
    RC_ASSERT(System::Matches(sys.Read(), m.State(&sys.times)));
  }
  void show(std::ostream& os) const override {
    os << "Crash(mode " << static_cast<int>(mode) << ")";
  }
};

RC_GTEST_PROP(DbStateMachineTest, CrashesLoseOnlyAnUnsyncedSuffix, ()) {
  Model model;
  System sys(*rc::gen::arbitrary<uint64_t>());
  rc::state::check(model, sys,
                   rc::state::gen::execOneOfWithArgs<Put, Put, Update, Retire, Check, Checkpoint,
                                                     Reopen, Crash, Crash>());
}

}  // namespace
}  // namespace loci
