// Property test: random histories of put / update / retire / purge / link / unlink / fuse / batches
// with placeholder ids / reopen / checkpoint, run against the Db and the shared reference model
// (tests/model/db_model.h). Every write's status and assigned ids and versions must match;
// then, at every commit time (and the instant before it) and at several valid times, Get,
// History, Trace (every direction, type filters, episode order, several hop counts and
// limits), Episode, Provenance, Events (windows, episodes), Changes, List and Search (the
// exhaustive setting, windows, expansion) must return exactly what the model says — before
// and after a reopen. (After a simulated crash: tests/crash/sim_crash_test.cc.)
//
// RC_PARAMS="seed=N max_success=M" reproduces or lengthens a run.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <cmath>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/model/db_model.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::Utc;

const std::vector<Timestamp>& ValidTimes() {
  static const std::vector<Timestamp> times = {Utc(2023, 1, 1), Utc(2023, 3, 1), Utc(2023, 5, 1),
                                               Utc(2023, 7, 1)};
  return times;
}

const std::vector<std::string>& Episodes() {
  static const std::vector<std::string> episodes = {"", "s1", "s2"};
  return episodes;
}

const std::vector<EdgeType>& Types() {
  // kCaused twice as often; 7 is reserved (refused).
  static const std::vector<EdgeType> types = {EdgeType::kCaused, EdgeType::kCaused,
                                              EdgeType::kDerivedFrom, EdgeType{1000}, EdgeType{7}};
  return types;
}

struct OpSpec {
  int kind;     // 0-1 put, 2 update, 3 retire, 4-5 link, 6 unlink, 7 batch, 8 reopen,
                // 9 checkpoint, 10 fuse, 11 purge
  int target;   // an existing cube (modulo the count)
  int other;    // the other end of an edge
  int from;     // -1 default, else ValidTimes()
  int episode;  // Episodes()
  int space;    // 0 "a", 1 "b"
  int scope;    // -1 none; else confined to "a", "b" or "zz"
  int type;     // Types()
  int weight;
};

std::ostream& operator<<(std::ostream& os, const OpSpec& o) {
  return os << "{kind " << o.kind << " target " << o.target << " other " << o.other << " from "
            << o.from << " episode " << o.episode << " space " << o.space << " scope " << o.scope
            << " type " << o.type << " weight " << o.weight << "}";
}

rc::Gen<OpSpec> GenOp() {
  return rc::gen::build<OpSpec>(rc::gen::set(&OpSpec::kind, rc::gen::inRange(0, 12)),
                                rc::gen::set(&OpSpec::target, rc::gen::inRange(0, 1000)),
                                rc::gen::set(&OpSpec::other, rc::gen::inRange(0, 1000)),
                                rc::gen::set(&OpSpec::from, rc::gen::inRange(-1, 4)),
                                rc::gen::set(&OpSpec::episode, rc::gen::inRange(0, 3)),
                                rc::gen::set(&OpSpec::space, rc::gen::inRange(0, 2)),
                                rc::gen::set(&OpSpec::scope, rc::gen::inRange(-3, 3)),
                                rc::gen::set(&OpSpec::type, rc::gen::inRange(0, 5)),
                                rc::gen::set(&OpSpec::weight, rc::gen::inRange(1, 4)));
}

std::string SpaceName(int space) { return space == 0 ? "a" : "b"; }
std::optional<std::string> Scope(int scope) {
  if (scope < 0) return std::nullopt;
  return scope == 2 ? "zz" : SpaceName(scope);
}

// What two answers must agree on, field by field.
void ExpectSameCubes(const std::vector<MemCube>& got, const std::vector<MemCube>& want) {
  RC_ASSERT(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    RC_ASSERT(got[i].id == want[i].id);
    RC_ASSERT(got[i].version == want[i].version);
    RC_ASSERT(got[i].space == want[i].space);
    RC_ASSERT(got[i].episode == want[i].episode);
    RC_ASSERT(got[i].valid_from == want[i].valid_from);
    RC_ASSERT(got[i].valid_to == want[i].valid_to);
    RC_ASSERT(got[i].tx_from == want[i].tx_from);
    RC_ASSERT(got[i].tx_to == want[i].tx_to);
    RC_ASSERT(got[i].state == want[i].state);
    RC_ASSERT(got[i].payload == want[i].payload);
  }
}

void ExpectSameHits(const std::vector<SearchHit>& got, const std::vector<SearchHit>& want) {
  RC_ASSERT(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    RC_ASSERT(got[i].id == want[i].id);
    RC_ASSERT(got[i].version == want[i].version);
    RC_ASSERT(got[i].hop == want[i].hop);
    RC_ASSERT(std::fabs(got[i].score - want[i].score) <= 1e-4f);
    RC_ASSERT(got[i].via.has_value() == want[i].via.has_value());
    if (!want[i].via) continue;
    RC_ASSERT(got[i].via->from == want[i].via->from);
    RC_ASSERT(got[i].via->to == want[i].via->to);
    RC_ASSERT(got[i].via->type == want[i].via->type);
  }
}

struct SearchShape {
  float angle;  // of the query
  bool window;
  uint32_t hops;
  bool episode;
};

const std::vector<SearchShape>& SearchShapes() {
  static const std::vector<SearchShape> shapes = {{0.123f, false, 0, false},
                                                  {1.234f, true, 0, false},
                                                  {0.777f, false, 1, false},
                                                  {2.345f, false, 2, true},
                                                  {0.456f, true, 1, true}};
  return shapes;
}

void ExpectSameSteps(const std::vector<TraceStep>& got, const std::vector<TraceStep>& want) {
  RC_ASSERT(got.size() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    RC_ASSERT(got[i].id == want[i].id);
    RC_ASSERT(got[i].version == want[i].version);
    RC_ASSERT(got[i].hop == want[i].hop);
    RC_ASSERT(got[i].via.from == want[i].via.from);
    RC_ASSERT(got[i].via.to == want[i].via.to);
    RC_ASSERT(got[i].via.type == want[i].via.type);
    RC_ASSERT(got[i].via.weight == want[i].via.weight);
    RC_ASSERT(got[i].via.version == want[i].via.version);
    RC_ASSERT(got[i].via.valid_from == want[i].via.valid_from);
    RC_ASSERT(got[i].via.tx_from == want[i].via.tx_from);
  }
}

struct TraceShape {
  TraceDirection direction;
  std::vector<EdgeType> types;
  bool episode_order;
  uint32_t hops;
  uint32_t limit;
};

const std::vector<TraceShape>& TraceShapes() {
  static const std::vector<TraceShape> shapes = {
      {TraceDirection::kOut, {}, false, 1, 100},
      {TraceDirection::kIn, {EdgeType::kCaused}, false, 2, 100},
      {TraceDirection::kBoth, {}, true, 3, 100},
      {TraceDirection::kBoth, {EdgeType::kDerivedFrom, EdgeType{1000}}, false, 8, 3},
      {TraceDirection::kOut, {EdgeType::kNext}, true, 2, 100},
  };
  return shapes;
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
    RC_ASSERT(Db::Open(options_, "/db", &db_).ok());
  }

  void Run(const OpSpec& op) {
    WriteBatch batch;
    switch (op.kind) {
      case 0:
      case 1:
        batch.Put(Draft(op));
        break;
      case 2:
      case 3:
        if (model_.cubes().empty()) return;
        AddChange(op, &batch);
        break;
      case 4:
      case 5:
      case 6:
        if (model_.cubes().empty()) return;
        AddEdgeOp(op, Target(op.target), Target(op.other), &batch);
        break;
      case 7: {
        // A put, and an edge between it (by placeholder) and an existing cube, or a bad
        // placeholder (naming the edge op itself) now and then.
        const CubeId placeholder = batch.Put(Draft(op));
        if (model_.cubes().empty()) break;
        const CubeId other = op.weight == 3 ? (kBatchRefBit | 1) : Target(op.other);
        batch.Link(Scope(op.scope), placeholder, other, Types()[op.type],
                   static_cast<float>(op.weight));
        break;
      }
      case 8:
        Reopen();
        return;
      case 10:
        if (!model_.cubes().empty()) Fuse(op);
        return;
      case 11:
        // Of an existing cube, or now and then of one purged already (NotFound).
        if (model_.cubes().empty()) return;
        batch.Purge(op.weight == 3 && !purged_.empty() ? purged_.back() : Target(op.target),
                    Scope(op.scope));
        if (op.weight != 3) purged_.push_back(Target(op.target));
        break;
      default:
        RC_ASSERT(db_->Checkpoint().ok());
        return;
    }
    Commit(batch);
  }

  void CheckAll() {
    std::vector<Timestamp> tx_points = {kForever};
    for (Timestamp t : commit_times_) {
      tx_points.push_back(t);
      tx_points.push_back(t - 1);
    }
    std::vector<Timestamp> valid_points = ValidTimes();
    valid_points.push_back(kForever - 1);
    if (!commit_times_.empty()) valid_points.push_back(commit_times_.back());
    const Timestamp now = db_->Now();
    for (Timestamp as_of : tx_points) {
      for (Timestamp valid_at : valid_points) {
        model::ModelRead read{as_of, valid_at, now, std::nullopt};  // expiry is judged now
        for (const auto& [id, cube] : model_.cubes()) CheckCube(id, read);
        for (CubeId id : purged_) CheckCube(id, read);  // gone at every read point
        for (const char* space : {"a", "b", "zz"}) {
          CheckList(space, read);
          CheckSearch(space, read);
        }
      }
      for (const char* space : {"a", "b", "zz"}) CheckEvents(space, as_of, now);
    }
    for (const char* space : {"a", "b", "zz"}) CheckChanges(space);
  }

 private:
  static void SetPoint(const model::ModelRead& read, ReadPoint* point) {
    if (read.as_of != kForever) point->as_of = read.as_of;
    point->valid_at = read.valid_at;
  }

  void CheckCube(CubeId id, const model::ModelRead& read) {
    CheckGet(id, read);
    CheckProvenance(id, read);
    for (const TraceShape& shape : TraceShapes()) {
      TraceRequest r;
      SetPoint(read, &r);
      r.start = id;
      r.types = shape.types;
      r.direction = shape.direction;
      r.episode_order = shape.episode_order;
      r.hops = shape.hops;
      r.limit = shape.limit;
      std::vector<TraceStep> got, want;
      Status s = db_->Trace(r, &got);
      RC_ASSERT(s.code() == model_.Trace(id, read, shape.types, shape.direction,
                                         shape.episode_order, shape.hops, shape.limit, &want));
      if (s.ok()) ExpectSameSteps(got, want);
    }
    EpisodeRequest e;
    SetPoint(read, &e);
    e.id = id;
    e.before = 2;
    e.after = 3;
    std::vector<MemCube> got, want;
    Status s = db_->Episode(e, &got);
    RC_ASSERT(s.code() == model_.Episode(id, read, 2, 3, &want));
    if (s.ok()) ExpectSameCubes(got, want);
  }

  void CheckGet(CubeId id, const model::ModelRead& read) {
    ReadOptions r;
    SetPoint(read, &r);
    MemCube got, want;
    Status s = db_->Get(r, id, &got);
    RC_ASSERT(s.code() ==
              model_.Get(id, read.as_of, read.valid_at, read.read_time, read.space, &want));
    if (s.ok()) {
      ExpectSameCubes({got}, {want});
      RC_ASSERT(got.parents == want.parents);
    }
    std::vector<MemCube> history, want_history;
    s = db_->History(r, id, &history);
    RC_ASSERT(s.code() ==
              model_.History(id, read.as_of, read.read_time, read.space, &want_history));
    if (s.ok()) ExpectSameCubes(history, want_history);
  }

  static void ExpectSameTree(const ProvenanceNode& got, const ProvenanceNode& want) {
    RC_ASSERT(got.id == want.id);
    RC_ASSERT(got.version == want.version);
    RC_ASSERT(got.relation == want.relation);
    RC_ASSERT(got.cycle == want.cycle);
    RC_ASSERT(got.truncated == want.truncated);
    RC_ASSERT(got.sources.size() == want.sources.size());
    for (size_t i = 0; i < want.sources.size(); ++i)
      ExpectSameTree(got.sources[i], want.sources[i]);
  }

  void CheckProvenance(CubeId id, const model::ModelRead& read) {
    for (uint32_t depth : {1u, 3u}) {
      ReadOptions r;
      SetPoint(read, &r);
      ProvenanceNode got, want;
      Status s = db_->Provenance(r, id, depth, &got);
      RC_ASSERT(s.code() == model_.Provenance(id, read, depth, &want));
      if (s.ok()) ExpectSameTree(got, want);
    }
  }

  void CheckSearch(const std::string& space, const model::ModelRead& read) {
    for (const SearchShape& shape : SearchShapes()) {
      SearchRequest r;
      if (read.as_of != kForever) r.as_of = read.as_of;
      model::ModelSearch m;
      r.spaces = {space};
      m.space = space;
      r.field = m.field = "v";
      r.query = m.query = {std::cos(shape.angle), std::sin(shape.angle)};
      r.k = m.k = 3;
      model::ModelRead at = read;
      if (shape.window) {
        r.window_from = m.window_from = ValidTimes()[1];
        r.window_to = m.window_to = ValidTimes()[3];
      } else {
        r.valid_at = read.valid_at;
      }
      r.expand_hops = m.expand_hops = shape.hops;
      r.expand_episode = m.expand_episode = shape.episode;
      std::vector<SearchHit> got, want;
      Status s = db_->Search(r, &got);
      const Status::Code expected = model_.Search(m, at, &want);
      RC_ASSERT(s.code() == expected);
      if (s.ok()) ExpectSameHits(got, want);
    }
  }

  void CheckList(const std::string& space, const model::ModelRead& read) {
    ListRequest r;
    SetPoint(read, &r);
    r.space = space;
    r.limit = 3;
    // Page through: every page must equal the model's.
    for (int page = 0; page < 20; ++page) {
      std::vector<MemCube> got, want;
      Status s = db_->List(r, &got);
      RC_ASSERT(s.code() == model_.List(space, read, r.after, r.limit, &want));
      if (!s.ok()) return;
      ExpectSameCubes(got, want);
      if (got.size() < r.limit) return;
      r.after = got.back().id;
    }
  }

  void CheckEvents(const std::string& space, Timestamp as_of, Timestamp now) {
    const model::ModelRead read{as_of, kForever, as_of == kForever ? now : as_of, std::nullopt};
    const std::vector<std::pair<Timestamp, Timestamp>> windows = {
        {kBeginningOfTime, kForever},
        {ValidTimes()[1], ValidTimes()[3]},
        {ValidTimes()[2], ValidTimes()[2]}};  // empty: InvalidArgument
    for (const auto& [from, to] : windows) {
      for (const std::optional<std::string>& episode :
           {std::optional<std::string>(), std::optional<std::string>("s1"),
            std::optional<std::string>("")}) {
        EventsRequest r;
        if (as_of != kForever) r.as_of = as_of;
        r.space = space;
        r.episode = episode;
        r.from = from;
        r.to = to;
        r.limit = 7;
        std::vector<MemCube> got, want;
        Status s = db_->Events(r, &got);
        RC_ASSERT(s.code() == model_.Events(space, episode, from, to, read, r.limit, &want));
        if (s.ok()) ExpectSameCubes(got, want);
      }
    }
  }

  void CheckChanges(const std::string& space) {
    std::vector<std::pair<Timestamp, Timestamp>> windows = {{kBeginningOfTime, kForever}};
    if (commit_times_.size() >= 2) {
      windows.emplace_back(commit_times_[commit_times_.size() / 2], commit_times_.back());
    }
    for (const auto& [from, to] : windows) {
      ChangesRequest r;
      r.space = space;
      r.from = from;
      r.to = to;
      r.limit = 50;
      std::vector<MemCube> got, want;
      Status s = db_->Changes(r, &got);
      RC_ASSERT(s.code() ==
                model_.Changes(space, from, to, kForever, kForever - 1, r.limit, &want));
      if (s.ok()) ExpectSameCubes(got, want);
    }
  }

  CubeDraft Draft(const OpSpec& op) {
    CubeDraft d;
    d.space = SpaceName(op.space);
    d.payload = "p" + std::to_string(op.target);
    d.episode = Episodes()[op.episode];
    if (op.from >= 0) d.valid_from = ValidTimes()[op.from];
    // Every put a vector of its own direction: no two cubes tie in a search.
    const float angle = 0.1f * static_cast<float>(++puts_);
    d.vectors.push_back(NamedVector{"v", {std::cos(angle), std::sin(angle)}});
    return d;
  }

  CubeId Target(int n) const {
    auto it = model_.cubes().begin();
    std::advance(it, n % model_.cubes().size());
    return it->first;
  }

  void AddChange(const OpSpec& op, WriteBatch* batch) {
    if (op.kind == 3) {
      batch->Retire(Target(op.target), std::nullopt, Scope(op.scope));
      return;
    }
    CubePatch p;
    p.payload = "u" + std::to_string(op.other);
    if (op.from >= 0) p.valid_from = ValidTimes()[op.from];
    if (op.weight != 1) p.episode = Episodes()[op.episode];
    batch->Update(Target(op.target), p, Scope(op.scope));
  }

  void AddEdgeOp(const OpSpec& op, CubeId from, CubeId to, WriteBatch* batch) {
    const EdgeType type = Types()[op.type];
    if (op.kind == 6) {
      std::optional<Timestamp> until;
      if (op.from >= 0) until = ValidTimes()[op.from];
      batch->Unlink(Scope(op.scope), from, to, type, until);
      return;
    }
    std::optional<Timestamp> since;
    if (op.from >= 0) since = ValidTimes()[op.from];
    batch->Link(Scope(op.scope), from, to, type, static_cast<float>(op.weight), since);
  }

  // Db::Fuse of one or two existing cubes; the model applies the batch Fuse documents (the
  // new cube with the ids as parents, a derived_from edge to each) at the commit time the
  // fused cube reports.
  void Fuse(const OpSpec& op) {
    std::vector<CubeId> ids{Target(op.target)};
    if (op.weight >= 2) ids.push_back(Target(op.other));  // possibly the same: refused
    CubeDraft draft = Draft(op);
    if (op.scope < 0) draft.space.clear();  // the first id's space
    const Result<CubeId> fused = db_->Fuse(WriteOptions(), ids, draft);
    if (ids.size() == 2 && ids[0] == ids[1]) {
      RC_ASSERT(fused.status().IsInvalidArgument());
      return;
    }
    if (draft.space.empty()) draft.space = model_.cubes().at(ids[0]).space;
    draft.parents = ids;
    WriteBatch batch;
    const CubeId placeholder = batch.Put(draft);
    for (CubeId id : ids) batch.Link(draft.space, placeholder, id, EdgeType::kDerivedFrom);
    Timestamp ts = db_->Now() + 1;
    if (fused.ok()) {
      MemCube cube;
      RC_ASSERT(db_->Get(ReadOptions(), *fused, &cube).ok());
      ts = cube.tx_from;
    }
    std::vector<WriteResult::OpResult> expected;
    RC_ASSERT(fused.status().code() == model_.Apply(batch, ts, &expected));
    if (!fused.ok()) return;
    RC_ASSERT(*fused == expected[0].id);
    commit_times_.push_back(ts);
  }

  void Commit(const WriteBatch& batch) {
    WriteResult result;
    Status s = db_->Write(WriteOptions(), batch, &result);
    const Timestamp ts = s.ok() ? result.commit_time : db_->Now() + 1;
    std::vector<WriteResult::OpResult> expected;
    RC_ASSERT(s.code() == model_.Apply(batch, ts, &expected));
    if (!s.ok()) return;
    RC_ASSERT(result.ops.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      RC_ASSERT(result.ops[i].id == expected[i].id);
      RC_ASSERT(result.ops[i].version == expected[i].version);
    }
    commit_times_.push_back(ts);
  }

  std::unique_ptr<Env> env_;
  Options options_;
  std::unique_ptr<Db> db_;
  model::DbModel model_;
  std::vector<Timestamp> commit_times_;
  std::vector<CubeId> purged_;  // purge attempts (a failed one included)
  int puts_ = 0;
};

RC_GTEST_PROP(TraceModelTest, TraceQueriesMatchTheModel, ()) {
  const auto ops = *rc::gen::resize(
      30, rc::gen::container<std::vector<OpSpec>>(rc::gen::resize(rc::kNominalSize, GenOp())));
  Harness h;
  for (const OpSpec& op : ops) h.Run(op);
  h.CheckAll();
  h.Reopen();
  h.CheckAll();
}

}  // namespace
}  // namespace loci
