// Property test: random sequences of Put / Update / Retire / batches / Reopen / Checkpoint run
// against the Db and against a simple in-memory model of design.md §1's bitemporal rules. After
// every operation the result (success or the kind of failure) must match, and reads at random
// (as_of, valid_at) points — including every commit time and the instant before it — must
// return what the model says. History (versions, intervals, tx_from, tx_to) must match exactly.
// Updates and retires are sometimes confined to a space (another space's cube is NotFound),
// updates sometimes name a parent (which must be in the cube's space, and not the cube itself),
// and an update that would repeat the latest version is refused.
//
// RC_PARAMS="seed=N max_success=M" reproduces or lengthens a run.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ctime>
#include <map>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Utc;

// Valid times the operations choose from (all long before any commit time).
const std::vector<Timestamp>& ValidTimes() {
  static const std::vector<Timestamp> times = {Utc(2023, 1, 1), Utc(2023, 3, 1), Utc(2023, 5, 1),
                                               Utc(2023, 7, 1), Utc(2023, 9, 1)};
  return times;
}

struct OpSpec {
  int kind;    // 0-2 put, 3-5 update, 6 retire, 7 batch, 8 reopen, 9 checkpoint
  int target;  // which existing cube (modulo the count)
  int from;    // -1: default; else index into ValidTimes()
  int to;      // -1: default (forever)
  int payload;
  int space;
  int scope;   // update, retire: -1 any space; else confined to ScopeName(scope)
  int parent;  // update: 0 the cube itself, 1 the next cube (any space); else no parents
};

std::ostream& operator<<(std::ostream& os, const OpSpec& o) {
  return os << "{kind " << o.kind << " target " << o.target << " from " << o.from << " to " << o.to
            << " payload " << o.payload << " space " << o.space << " scope " << o.scope
            << " parent " << o.parent << "}";
}

std::string SpaceName(int space) { return space == 0 ? "a" : "b"; }
// The spaces writes use, and one that never exists.
std::string ScopeName(int scope) { return scope == 2 ? "zz" : SpaceName(scope); }

struct ModelVersion {
  uint32_t number;
  std::string payload;
  Timestamp valid_from, valid_to, tx_from;
  bool retired;
  std::vector<CubeId> parents;
};

struct Model {
  std::map<CubeId, std::vector<ModelVersion>> cubes;  // oldest first
  std::map<CubeId, std::string> spaces;               // of each cube
  std::vector<Timestamp> commit_times;

  // The version a read at (as_of, valid_at) sees, or nullptr.
  const ModelVersion* Visible(CubeId id, Timestamp as_of, Timestamp valid_at) const {
    const auto& versions = cubes.at(id);
    for (auto it = versions.rbegin(); it != versions.rend(); ++it) {
      if (it->tx_from > as_of) continue;
      if (it->valid_from <= valid_at && valid_at < it->valid_to) return &*it;
    }
    return nullptr;
  }

  Timestamp TxTo(CubeId id, size_t i, Timestamp as_of) const {
    const auto& versions = cubes.at(id);
    Timestamp tx_to = kForever;
    for (size_t j = i + 1; j < versions.size(); ++j) {
      const ModelVersion& a = versions[i];
      const ModelVersion& b = versions[j];
      if (b.tx_from <= as_of && b.valid_from < a.valid_to && a.valid_from < b.valid_to) {
        tx_to = std::min(tx_to, b.tx_from);
      }
    }
    return tx_to;
  }
};

rc::Gen<OpSpec> GenOp() {
  return rc::gen::build<OpSpec>(rc::gen::set(&OpSpec::kind, rc::gen::inRange(0, 10)),
                                rc::gen::set(&OpSpec::target, rc::gen::inRange(0, 1000)),
                                rc::gen::set(&OpSpec::from, rc::gen::inRange(-1, 5)),
                                rc::gen::set(&OpSpec::to, rc::gen::inRange(-1, 5)),
                                rc::gen::set(&OpSpec::payload, rc::gen::inRange(0, 1000)),
                                rc::gen::set(&OpSpec::space, rc::gen::inRange(0, 2)),
                                rc::gen::set(&OpSpec::scope, rc::gen::inRange(-3, 3)),
                                rc::gen::set(&OpSpec::parent, rc::gen::inRange(0, 8)));
}

class Harness {
 public:
  Harness() : env_(NewMemEnv()) {
    options_.env = env_.get();
    options_.create_if_missing = true;
    options_.wal_segment_bytes = 32 << 10;
    Reopen();
  }

  void Reopen() {
    db_.reset();
    Status s = Db::Open(options_, "/db", &db_);
    RC_ASSERT(s.ok());
  }

  void Run(const OpSpec& op) {
    if (op.kind <= 2) {
      WriteBatch batch;
      batch.Put(Draft(op));
      Commit(batch, {op});
    } else if (op.kind <= 5 || op.kind == 6) {
      if (model_.cubes.empty()) return;
      WriteBatch batch;
      AddChange(op, &batch);
      Commit(batch, {op});
    } else if (op.kind == 7) {
      // A batch: a put plus a change of an existing cube (when there is one).
      WriteBatch batch;
      batch.Put(Draft(op));
      std::vector<OpSpec> specs = {op};
      if (!model_.cubes.empty()) {
        OpSpec change = op;
        change.kind = 3 + op.payload % 4;  // update or retire
        AddChange(change, &batch);
        specs.push_back(change);
      }
      Commit(batch, specs);
    } else if (op.kind == 8) {
      Reopen();
    } else {
      RC_ASSERT(db_->Checkpoint().ok());
    }
  }

  // Every cube read at every interesting point, and its history.
  void CheckAll() {
    std::vector<Timestamp> tx_points = {kForever};
    for (Timestamp t : model_.commit_times) {
      tx_points.push_back(t);
      tx_points.push_back(t - 1);
    }
    std::vector<Timestamp> valid_points = ValidTimes();
    for (Timestamp t : ValidTimes()) valid_points.push_back(t - 1);
    for (Timestamp t : model_.commit_times) valid_points.push_back(t);
    for (const auto& [id, versions] : model_.cubes) {
      for (Timestamp as_of : tx_points) {
        for (Timestamp valid_at : valid_points) {
          ReadOptions ro;
          if (as_of != kForever) ro.as_of = as_of;
          ro.valid_at = valid_at;
          MemCube cube;
          Status s = db_->Get(ro, id, &cube);
          const ModelVersion* expected = model_.Visible(id, as_of, valid_at);
          if (expected == nullptr || expected->retired) {
            RC_ASSERT(s.IsNotFound());
          } else {
            RC_ASSERT(s.ok());
            RC_ASSERT(cube.version == expected->number);
            RC_ASSERT(cube.payload == expected->payload);
          }
        }
      }
      std::vector<MemCube> history;
      RC_ASSERT(db_->History(ReadOptions(), id, &history).ok());
      RC_ASSERT(history.size() == versions.size());
      for (size_t i = 0; i < versions.size(); ++i) {
        RC_ASSERT(history[i].version == versions[i].number);
        RC_ASSERT(history[i].payload == versions[i].payload);
        RC_ASSERT(history[i].valid_from == versions[i].valid_from);
        RC_ASSERT(history[i].valid_to == versions[i].valid_to);
        RC_ASSERT(history[i].tx_from == versions[i].tx_from);
        RC_ASSERT(history[i].tx_to == model_.TxTo(id, i, kForever));
        RC_ASSERT((history[i].state == CubeState::kRetired) == versions[i].retired);
      }
    }
  }

 private:
  static std::string Payload(int n) { return "payload-" + std::to_string(n); }

  CubeDraft Draft(const OpSpec& op) {
    CubeDraft d;
    d.space = SpaceName(op.space);
    d.payload = Payload(op.payload);
    if (op.from >= 0) d.valid_from = ValidTimes()[op.from];
    if (op.to >= 0) d.valid_to = ValidTimes()[op.to];
    return d;
  }

  CubeId Target(const OpSpec& op) const {
    auto it = model_.cubes.begin();
    std::advance(it, op.target % model_.cubes.size());
    return it->first;
  }

  void AddChange(const OpSpec& op, WriteBatch* batch) {
    std::optional<std::string> scope;
    if (op.scope >= 0) scope = ScopeName(op.scope);
    if (op.kind == 6) {
      std::optional<Timestamp> to;
      if (op.to >= 0) to = ValidTimes()[op.to];
      batch->Retire(Target(op), to, scope);
      return;
    }
    CubePatch p;
    p.payload = Payload(op.payload);
    if (op.from >= 0) p.valid_from = ValidTimes()[op.from];
    if (op.to >= 0) p.valid_to = ValidTimes()[op.to];
    if (op.parent == 0) p.parents = std::vector<CubeId>{Target(op)};
    if (op.parent == 1) {
      OpSpec next = op;
      next.target = op.target + 1;
      p.parents = std::vector<CubeId>{Target(next)};
    }
    batch->Update(Target(op), p, scope);
  }

  // Applies the ops of one batch to a copy of the model at commit time `ts`; the status code
  // the model says the batch must get (every operation is validated before any is resolved).
  Status::Code ApplyToModel(const WriteBatch& batch, Timestamp ts, Model* m, CubeId next_id) {
    for (const WriteBatch::Op& op : batch.ops()) {
      const auto* update = std::get_if<WriteBatch::UpdateOp>(&op);
      if (update != nullptr && update->patch.parents && (*update->patch.parents)[0] == update->id) {
        return Status::Code::kInvalidArgument;  // its own parent
      }
    }
    // A cube that is not there for an operation confined to `scope`.
    auto hidden = [&](CubeId id, const std::optional<std::string>& scope) {
      return scope && m->spaces.at(id) != *scope;
    };
    for (const WriteBatch::Op& op : batch.ops()) {
      if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
        const CubeDraft& d = put->draft;
        ModelVersion v{1,  d.payload, d.valid_from.value_or(ts), d.valid_to.value_or(kForever),
                       ts, false};
        if (v.valid_from >= v.valid_to) return Status::Code::kInvalidArgument;
        m->spaces[next_id] = d.space;
        m->cubes[next_id++] = {v};
      } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
        if (hidden(update->id, update->space)) return Status::Code::kNotFound;
        auto& versions = m->cubes.at(update->id);
        const ModelVersion& latest = versions.back();
        if (latest.retired) return Status::Code::kInvalidArgument;
        const CubePatch& p = update->patch;
        if (p.parents && m->spaces.at((*p.parents)[0]) != m->spaces.at(update->id)) {
          return Status::Code::kInvalidArgument;  // a parent of another space does not exist
        }
        ModelVersion v{latest.number + 1,
                       *p.payload,
                       p.valid_from.value_or(ts),
                       p.valid_to.value_or(kForever),
                       ts,
                       false,
                       p.parents.value_or(latest.parents)};
        // The same content over valid times the latest version covers: nothing to change.
        if (!p.valid_from && !p.valid_to && v.payload == latest.payload &&
            v.parents == latest.parents && latest.valid_from <= v.valid_from &&
            latest.valid_to == kForever) {
          return Status::Code::kInvalidArgument;
        }
        if (v.valid_from >= v.valid_to) return Status::Code::kInvalidArgument;
        versions.push_back(v);
      } else {
        const auto& retire = std::get<WriteBatch::RetireOp>(op);
        if (hidden(retire.id, retire.space)) return Status::Code::kNotFound;
        auto& versions = m->cubes.at(retire.id);
        if (versions.back().retired) return Status::Code::kInvalidArgument;
        ModelVersion v = versions.back();
        v.number++;
        v.valid_from = retire.valid_to.value_or(ts);
        v.valid_to = kForever;
        v.tx_from = ts;
        v.retired = true;
        versions.push_back(v);
      }
    }
    return Status::Code::kOk;
  }

  void Commit(const WriteBatch& batch, const std::vector<OpSpec>&) {
    WriteResult result;
    Status s = db_->Write(WriteOptions(), batch, &result);
    const CubeId next_id = model_.cubes.empty() ? 1 : model_.cubes.rbegin()->first + 1;
    Model after = model_;
    // The commit time is the engine's; everything else the model predicts.
    const Timestamp ts = s.ok() ? result.commit_time : db_->Now() + 1;
    const Status::Code expected = ApplyToModel(batch, ts, &after, next_id);
    RC_ASSERT(s.code() == expected);
    if (!s.ok()) return;
    // (RC_ASSERT decomposes its expression and would not short-circuit an ||.)
    if (!model_.commit_times.empty()) RC_ASSERT(ts > model_.commit_times.back());
    after.commit_times.push_back(ts);
    model_ = std::move(after);
  }

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<Db> db_;
  Model model_;
};

RC_GTEST_PROP(DbModelTest, ReadsMatchTheBitemporalModel, ()) {
  const auto ops = *rc::gen::resize(40, rc::gen::container<std::vector<OpSpec>>(GenOp()));
  Harness h;
  for (const OpSpec& op : ops) h.Run(op);
  h.CheckAll();
  h.Reopen();
  h.CheckAll();
}

}  // namespace
}  // namespace loci
