// RapidCheck state-machine test of the Db against a simple model (design.md §10), with Crash and
// Reopen commands, on the power-loss simulator.
//
// Commands: Put, Update, Retire (each durable or not), Checkpoint, Get/History checks, Reopen
// (a clean close), and Crash (power loss with a random crash mode). The model is the list of
// acknowledged writes. After a crash the database must hold exactly a prefix of that list that
// reaches at least the last durable write (nothing acknowledged as durable is lost, nothing
// partial survives); the lost non-durable writes are then applied again so that the system
// and the model agree for the commands that follow.
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
#include "tests/sim/sim_env.h"

namespace loci {
namespace {

struct Op {
  enum Kind { kPut, kUpdate, kRetire } kind;
  CubeId target = 0;  // update, retire
  std::string payload;
  std::optional<Timestamp> valid_from;  // put, update
  std::optional<Timestamp> valid_to;    // retire
  bool sync = true;
};

struct ModelVersion {
  std::string payload;
  std::optional<Timestamp> valid_from;  // nullopt: the commit time
  Timestamp valid_to;
  bool retired;
};
using ModelState = std::map<CubeId, std::vector<ModelVersion>>;

struct Model {
  std::vector<Op> ops;  // acknowledged writes, in order

  ModelState StateAfter(size_t n) const {
    ModelState s;
    for (size_t i = 0; i < n; ++i) {
      const Op& op = ops[i];
      if (op.kind == Op::kPut) {
        const CubeId id = s.empty() ? 1 : s.rbegin()->first + 1;
        s[id] = {ModelVersion{op.payload, op.valid_from, kForever, false}};
      } else {
        ModelVersion v = s.at(op.target).back();
        if (op.kind == Op::kUpdate) {
          v = ModelVersion{op.payload, op.valid_from, kForever, false};
        } else {
          v.valid_from = op.valid_to;
          v.valid_to = kForever;
          v.retired = true;
        }
        s.at(op.target).push_back(v);
      }
    }
    return s;
  }
  ModelState State() const { return StateAfter(ops.size()); }
  std::vector<CubeId> LiveIds() const {
    std::vector<CubeId> ids;
    for (const auto& [id, versions] : State()) {
      if (!versions.back().retired) ids.push_back(id);
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

Timestamp ValidTime(int day) { return 1672531200LL * 1000000 + int64_t{day} * 86400000000LL; }

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

  // Runs ops[i] of the model; false if the engine refused it. A put's id must be above every id
  // acknowledged before, even those of writes a crash lost.
  bool Apply(const Model& m, size_t i) {
    const Op& op = m.ops[i];
    WriteOptions wo;
    wo.sync = op.sync;
    if (op.kind == Op::kPut) {
      Result<CubeId> id =
          db->Put(wo, CubeDraft{.space = "s", .payload = op.payload, .valid_from = op.valid_from});
      if (!id.ok()) return false;
      RC_ASSERT(*id > highest_id);
      highest_id = *id;
      const CubeId logical = m.LogicalIdOf(i);
      if (ids.size() < logical) ids.resize(logical, 0);
      ids[logical - 1] = *id;
      return true;
    }
    const CubeId target = ids.at(op.target - 1);
    if (op.kind == Op::kUpdate) {
      return db->Update(wo, target, CubePatch{.payload = op.payload, .valid_from = op.valid_from})
          .ok();
    }
    return db->Retire(wo, target, op.valid_to).ok();
  }

  // Every version of every cube, by logical id, as (payload, valid_from or "commit", valid_to,
  // retired); no cube the model does not know may exist.
  std::map<CubeId, std::vector<MemCube>> Read() {
    std::map<CubeId, std::vector<MemCube>> out;
    for (size_t i = 0; i < ids.size(); ++i) {
      std::vector<MemCube> h;
      if (db->History(ReadOptions(), ids[i], &h).ok()) out[i + 1] = std::move(h);
    }
    RC_ASSERT(db->Stats().cubes == out.size());
    return out;
  }

  static bool Matches(const std::map<CubeId, std::vector<MemCube>>& got, const ModelState& want) {
    if (got.size() != want.size()) return false;
    for (const auto& [id, versions] : want) {
      auto it = got.find(id);
      if (it == got.end() || it->second.size() != versions.size()) return false;
      for (size_t i = 0; i < versions.size(); ++i) {
        const MemCube& g = it->second[i];
        const ModelVersion& w = versions[i];
        if (g.version != i + 1 || g.payload != w.payload ||
            g.valid_from != w.valid_from.value_or(g.tx_from) || g.valid_to != w.valid_to ||
            (g.state == CubeState::kRetired) != w.retired) {
          return false;
        }
      }
    }
    return true;
  }

  sim::SimEnv env;
  std::unique_ptr<Db> db;
  std::vector<CubeId> ids;  // ids[L - 1]: the engine's id of logical cube L
  CubeId highest_id = 0;    // the highest id the engine acknowledged
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
  void checkPreconditions(const Model& m) const override {
    const std::vector<CubeId> live = m.LiveIds();
    RC_PRE(std::find(live.begin(), live.end(), op.target) != live.end());
    // The engine refuses an update that repeats the latest version (same payload, no valid
    // time: every version here is open-ended and valid from before now); it is no write.
    RC_PRE(op.valid_from.has_value() || op.payload != m.State().at(op.target).back().payload);
  }
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
  void checkPreconditions(const Model& m) const override {
    const std::vector<CubeId> live = m.LiveIds();
    RC_PRE(std::find(live.begin(), live.end(), op.target) != live.end());
  }
  void show(std::ostream& os) const override {
    os << "Retire(" << op.target << (op.sync ? ", sync" : "") << ")";
  }
};

struct Check : Command {
  void run(const Model& m, System& sys) const override {
    RC_ASSERT(System::Matches(sys.Read(), m.State()));
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
    RC_ASSERT(System::Matches(sys.Read(), m.State()));
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
      if (System::Matches(got, m.StateAfter(n))) {
        kept = n;
        break;
      }
    }
    RC_ASSERT(kept <= m.ops.size());
    IntegrityReport report;
    RC_ASSERT(sys.db->Verify(&report).ok());
    // Redo the lost writes so that the system matches the model again.
    for (size_t i = kept; i < m.ops.size(); ++i) RC_ASSERT(sys.Apply(m, i));
    RC_ASSERT(System::Matches(sys.Read(), m.State()));
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
