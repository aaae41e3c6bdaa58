// Property test: random sequences of Put / Update / Retire / batches / Reopen / Checkpoint /
// Compact run against the Db and against the shared reference model of design.md §1's
// bitemporal rules (tests/model/db_model.h, which also the state-machine, crash and fuzz tests
// use). After every operation the result (success or the kind of failure, and the ids and
// versions assigned) must match, and reads at random (as_of, valid_at) points — including every
// commit time and the instant before it — must return what the model says. History (versions,
// intervals, tx_from, tx_to, state, parents) must match exactly. Space "b" keeps two versions
// per cube (Options::space_retention): checkpoints prune it, and reads only pruned versions
// could answer are Pruned, in the Db as in the model. Compactions (of 16 KiB arena
// generations) move the blobs of what they keep, and no read may tell.
// Updates and retires are sometimes confined to a space (another space's cube is NotFound),
// updates sometimes name a parent (which must be in the cube's space, and not the cube itself),
// and an update that would repeat the latest version is refused.
//
// RC_PARAMS="seed=N max_success=M" reproduces or lengthens a run.

#include "tests/model/db_model.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <ctime>

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
    options_.arena_generation_bytes = 16 << 10;  // compactions then empty whole generations
    // Space "b" keeps the newest two versions of each cube: checkpoints prune it.
    options_.space_retention["b"] = RetentionPolicy{.keep_versions = 2};
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
      Commit(batch);
    } else if (op.kind <= 5 || op.kind == 6) {
      if (model_.cubes().empty()) return;
      WriteBatch batch;
      AddChange(op, &batch);
      Commit(batch);
    } else if (op.kind == 7) {
      // A batch: a put plus a change of an existing cube (when there is one).
      WriteBatch batch;
      batch.Put(Draft(op));
      if (!model_.cubes().empty()) {
        OpSpec change = op;
        change.kind = 3 + op.payload % 4;  // update or retire
        AddChange(change, &batch);
      }
      Commit(batch);
    } else if (op.kind == 8) {
      Reopen();
    } else if (op.payload % 3 == 0) {
      // A compaction of the arena moves blobs and changes no read; its checkpoint prunes.
      CompactResult result;
      RC_ASSERT(db_->Compact(CompactOptions(), &result).ok());
      model_.Prune({{"b", 2}}, model::kNothingPinned);
    } else {
      RC_ASSERT(db_->Checkpoint().ok());
      model_.Prune({{"b", 2}}, model::kNothingPinned);
    }
  }

  // Every cube read at every interesting point, and its history, against the model.
  void CheckAll() {
    std::vector<Timestamp> tx_points = {kForever};
    for (Timestamp t : commit_times_) {
      tx_points.push_back(t);
      tx_points.push_back(t - 1);
    }
    std::vector<Timestamp> valid_points = ValidTimes();
    for (Timestamp t : ValidTimes()) valid_points.push_back(t - 1);
    for (Timestamp t : commit_times_) valid_points.push_back(t);
    // Nothing expires here: any read time does for the model's expiry rule.
    const Timestamp read_time = db_->Now();
    for (const auto& [id, cube] : model_.cubes()) {
      for (Timestamp as_of : tx_points) {
        for (Timestamp valid_at : valid_points) {
          ReadOptions ro;
          if (as_of != kForever) ro.as_of = as_of;
          ro.valid_at = valid_at;
          MemCube got, want;
          Status s = db_->Get(ro, id, &got);
          RC_ASSERT(s.code() == model_.Get(id, as_of, valid_at, read_time, std::nullopt, &want));
          if (!s.ok()) continue;
          RC_ASSERT(got.version == want.version);
          RC_ASSERT(got.payload == want.payload);
          RC_ASSERT(got.tx_to == want.tx_to);
        }
      }
      for (Timestamp as_of : tx_points) {
        std::vector<MemCube> got, want;
        ReadOptions ro;
        if (as_of != kForever) ro.as_of = as_of;
        RC_ASSERT(db_->History(ro, id, &got).code() ==
                  model_.History(id, as_of, read_time, std::nullopt, &want));
        RC_ASSERT(got.size() == want.size());
      }
      std::vector<MemCube> history, want;
      RC_ASSERT(db_->History(ReadOptions(), id, &history).ok());
      RC_ASSERT(model_.History(id, kForever, kForever - 1, std::nullopt, &want) ==
                Status::Code::kOk);
      RC_ASSERT(history.size() == want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        RC_ASSERT(history[i].version == want[i].version);
        RC_ASSERT(history[i].payload == want[i].payload);
        RC_ASSERT(history[i].valid_from == want[i].valid_from);
        RC_ASSERT(history[i].valid_to == want[i].valid_to);
        RC_ASSERT(history[i].tx_from == want[i].tx_from);
        RC_ASSERT(history[i].tx_to == want[i].tx_to);
        RC_ASSERT(history[i].state == want[i].state);
        RC_ASSERT(history[i].parents == want[i].parents);
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
    auto it = model_.cubes().begin();
    std::advance(it, op.target % model_.cubes().size());
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

  // Writes `batch` to the Db and to the model: the status codes must agree, and on success
  // the ids and versions of every operation.
  void Commit(const WriteBatch& batch) {
    WriteResult result;
    Status s = db_->Write(WriteOptions(), batch, &result);
    // The commit time is the engine's; everything else the model predicts. (A failed batch
    // changes nothing, in the model too.)
    const Timestamp ts = s.ok() ? result.commit_time : db_->Now() + 1;
    std::vector<WriteResult::OpResult> expected;
    RC_ASSERT(s.code() == model_.Apply(batch, ts, &expected));
    if (!s.ok()) return;
    RC_ASSERT(result.ops.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      RC_ASSERT(result.ops[i].id == expected[i].id);
      RC_ASSERT(result.ops[i].version == expected[i].version);
    }
    // (RC_ASSERT decomposes its expression and would not short-circuit an ||.)
    if (!commit_times_.empty()) RC_ASSERT(ts > commit_times_.back());
    commit_times_.push_back(ts);
  }

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<Db> db_;
  model::DbModel model_;
  std::vector<Timestamp> commit_times_;
};

RC_GTEST_PROP(DbModelTest, ReadsMatchTheBitemporalModel, ()) {
  // At most 40 operations, each drawn from the whole of its ranges: rapidcheck scales
  // gen::inRange by the size, and at size 40 drew kinds 0-4 only (no retire, batch, reopen or
  // checkpoint), no confined scope and two valid times of five.
  const auto ops = *rc::gen::resize(
      40, rc::gen::container<std::vector<OpSpec>>(rc::gen::resize(rc::kNominalSize, GenOp())));
  Harness h;
  for (const OpSpec& op : ops) h.Run(op);
  h.CheckAll();
  h.Reopen();
  h.CheckAll();
}

}  // namespace
}  // namespace loci
