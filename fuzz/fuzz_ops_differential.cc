// libFuzzer target: differential testing of the Db API against DbModel
// (tests/model/db_model.h), in the style of RocksDB's db_map_fuzzer. The input drives at most 64
// operations — Put, Update and Retire (some confined to a space), DefineVectorField,
// DropVectorField, multi-operation batches, Get and History at (as_of, valid_at) points and through
// snapshots, Checkpoint, Reopen — against a database on an in-memory Env with a deterministic
// clock, and the same operations against the model. Any disagreement (status code, assigned id or
// version, any field of any cube read back, Stats counts and vector fields) prints both sides and
// traps. At the end, and after a final reopen, every cube's history and a few reads are compared in
// full, so what was acknowledged must survive recovery unchanged.
//
// Input (fuzz_input.h): config:u8 (bit 0: sync off; bits 1-2: WAL segment size; bit 3:
// automatic checkpoints every 16 KiB of WAL; bit 4: 64 KiB arena generations), then operations,
// each an opcode byte followed by the bytes its arguments consume.

#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "index/vector_field.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/model/db_model.h"

namespace {

using loci::CubeId;
using loci::MemCube;
using loci::Status;
using loci::Timestamp;
using loci::model::DbModel;

constexpr size_t kMaxOps = 64;
constexpr Timestamp kClockBase = 1704067200000000;  // 2024-01-01T00:00:00Z
// Valid times operations choose from: 2023-01-01, 03-01, 05-01, 07-01, 09-01 (before any commit).
constexpr Timestamp kValidTimes[] = {1672531200000000, 1677628800000000, 1682899200000000,
                                     1688169600000000, 1693526400000000};

// A clock that advances 1 ms per reading, so a run is reproducible from its input.
class FuzzClockEnv final : public loci::EnvWrapper {
 public:
  explicit FuzzClockEnv(loci::Env* target) : EnvWrapper(target) {}
  int64_t NowMicros() override { return kClockBase + 1000 * ticks_.fetch_add(1); }

 private:
  std::atomic<int64_t> ticks_{1};
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "ops_differential: %s\n", what.c_str());
  __builtin_trap();
}

std::string Show(const MemCube& c) {
  std::string s = "{id " + std::to_string(c.id) + " v" + std::to_string(c.version) + " space " +
                  c.space + " kind " + std::to_string(c.kind) + " state " +
                  loci::CubeStateName(c.state) + " valid [" + std::to_string(c.valid_from) + "," +
                  std::to_string(c.valid_to) + ") tx [" + std::to_string(c.tx_from) + "," +
                  std::to_string(c.tx_to) + ") payload '" + c.payload.substr(0, 40) + "' (" +
                  std::to_string(c.payload_size) + ") vectors";
  for (const auto& v : c.vectors) s += " " + v.field + "/" + std::to_string(v.values.size());
  s += " attrs " + std::to_string(c.attrs.size()) + " parents " + std::to_string(c.parents.size());
  s += " expires " + (c.expires_at ? std::to_string(*c.expires_at) : std::string("never")) + "}";
  return s;
}

bool Same(const MemCube& got, const MemCube& want, bool payload, bool vectors) {
  return got.id == want.id && got.version == want.version && got.space == want.space &&
         got.kind == want.kind && got.state == want.state && got.valid_from == want.valid_from &&
         got.valid_to == want.valid_to && got.tx_from == want.tx_from && got.tx_to == want.tx_to &&
         got.payload_size == want.payload_size &&
         (payload ? got.payload == want.payload : got.payload.empty()) &&
         (vectors ? got.vectors == want.vectors : got.vectors.empty()) && got.attrs == want.attrs &&
         got.source == want.source && got.parents == want.parents && got.agent == want.agent &&
         got.importance == want.importance && got.trust == want.trust &&
         got.expires_at == want.expires_at;
}

const char* CodeName(Status::Code c) {
  static const char* kNames[] = {"OK",      "NotFound", "Corruption", "NotSupported",
                                 "Invalid", "IOError",  "Busy",       "Poisoned"};
  return kNames[static_cast<int>(c)];
}

class Driver {
 public:
  Driver(const uint8_t* data, size_t size)
      : in_(data, size), mem_(loci::NewMemEnv()), env_(mem_.get()) {
    const uint8_t config = in_.U8();
    sync_ = (config & 1) == 0;
    options_.env = &env_;
    options_.create_if_missing = true;
    static constexpr uint64_t kSegmentBytes[] = {64ull << 20, 64 << 10, 24 << 10, 16 << 10};
    options_.wal_segment_bytes = kSegmentBytes[(config >> 1) & 3];
    if (config & 8) options_.checkpoint_wal_bytes = 16 << 10;
    if (config & 16) options_.arena_generation_bytes = 64 << 10;
    Open();
  }

  ~Driver() {
    snapshots_.clear();
    db_.reset();
  }

  void Run() {
    for (size_t n = 0; n < kMaxOps && !in_.empty(); ++n) Step();
    CheckAll();
    Reopen();
  }

 private:
  void Open() {
    Status s = loci::Db::Open(options_, "/db", &db_);
    if (!s.ok()) Fail("open: " + s.ToString());
  }

  void Reopen() {
    snapshots_.clear();
    db_.reset();
    Open();
    CheckAll();
  }

  void Step() {
    switch (in_.Pick(15)) {
      case 0:
      case 1: {
        loci::WriteBatch b;
        b.Put(Draft());
        Commit(b);
        break;
      }
      case 2:
      case 3: {
        loci::WriteBatch b;
        AddUpdate(&b);
        Commit(b);
        break;
      }
      case 4: {
        loci::WriteBatch b;
        AddRetire(&b);
        Commit(b);
        break;
      }
      case 5: {
        loci::WriteBatch b;
        const size_t n = 1 + in_.Pick(4);
        for (size_t i = 0; i < n; ++i) AddOp(&b);
        Commit(b);
        break;
      }
      case 6: {
        loci::WriteBatch b;
        AddDefine(&b);
        Commit(b);
        break;
      }
      case 7:
      case 8:
        CheckGet();
        break;
      case 9:
        CheckHistory();
        break;
      case 10:
        Reopen();
        break;
      case 11: {
        Status s = db_->Checkpoint();
        if (!s.ok()) Fail("checkpoint: " + s.ToString());
        break;
      }
      case 12:
        if (snapshots_.size() < 4) snapshots_.push_back(db_->GetSnapshot());
        break;
      case 13:
        if (!snapshots_.empty()) snapshots_.erase(snapshots_.begin() + in_.Pick(snapshots_.size()));
        break;
      default: {
        loci::WriteBatch b;
        AddDrop(&b);
        Commit(b);
        break;
      }
    }
  }

  // --- Argument generators. Each reads a few bytes; most choices are valid, some are not.

  CubeId PickId() {
    const uint8_t b = in_.U8();
    const auto& cubes = model_.cubes();
    if (b == 255) return 0;
    if (cubes.empty() || b % 8 == 7) return model_.next_id() + b / 8;
    auto it = cubes.begin();
    std::advance(it, b % cubes.size());
    return it->first;
  }

  std::optional<Timestamp> PickTime() {
    const uint8_t b = in_.U8();
    const Timestamp recent =
        commit_times_.empty() ? kClockBase : commit_times_[(b / 12) % commit_times_.size()];
    switch (b % 12) {
      case 0:
        return std::nullopt;
      case 1:
      case 2:
      case 3:
      case 4:
      case 5:
        return kValidTimes[b % 12 - 1];
      case 6:
        return recent;
      case 7:
        return recent - 1;
      case 8:
        return recent + 1;
      case 9:
        return loci::kBeginningOfTime;
      case 10:
        return loci::kForever;
      default:
        return kClockBase + Timestamp{1000} * (b / 12) * 7;
    }
  }

  std::string Space() {
    static const char* kSpaces[] = {"a", "b", "c", "a", "b", "c", "a", ""};
    return kSpaces[in_.Pick(8)];
  }

  std::string Payload() {
    const uint8_t b = in_.U8();
    if (b < 200) return b == 0 ? std::string() : "payload-" + std::to_string(b);
    return std::string(static_cast<size_t>(b - 199) * 181, static_cast<char>('a' + b % 26));
  }

  float Float() {
    static const float kFloats[] = {0.0f, 0.5f, 1.0f, -2.0f, std::nanf("")};
    return kFloats[in_.Pick(5)];
  }

  loci::NamedVector Vector() {
    static const char* kFields[] = {"e", "f", "g", "e", "f", "g", "e", ""};
    static const float kValues[] = {1.0f, 0.0f, -0.5f, 2.25f, 1e30f, std::nanf("")};
    loci::NamedVector v;
    v.field = kFields[in_.Pick(8)];
    const size_t dim = 1 + in_.Pick(3);
    for (size_t i = 0; i < dim; ++i) v.values.push_back(kValues[in_.Pick(6)]);
    return v;
  }

  loci::Attr Attr() {
    static const char* kKeys[] = {"k1", "k2", "k3", "k1", "k2", "k3", "k1", ""};
    loci::Attr a;
    a.key = kKeys[in_.Pick(8)];
    switch (in_.Pick(6)) {
      case 0:
        a.value = in_.Bool();
        break;
      case 1:
        a.value = static_cast<int64_t>(static_cast<int8_t>(in_.U8()));
        break;
      case 2:
        a.value = 0.25 * in_.U8();
        break;
      case 3:
        a.value = std::string(in_.ShortString());
        break;
      case 4:
        a.value = std::nan("");
        break;
      default:
        a.value = std::string();
        break;
    }
    return a;
  }

  uint16_t Kind() {
    static const uint16_t kKinds[] = {loci::kPlaintext, loci::kActivation, loci::kParametric};
    const size_t k = in_.Pick(4);
    return k < 3 ? kKinds[k] : static_cast<uint16_t>(loci::kFirstApplicationKind + in_.U8());
  }

  loci::CubeState State() {
    static const loci::CubeState kStates[] = {loci::CubeState::kActive, loci::CubeState::kArchived,
                                              loci::CubeState::kActive, loci::CubeState::kRetired};
    return kStates[in_.Pick(4)];
  }

  std::vector<CubeId> Parents() {
    std::vector<CubeId> p;
    for (size_t n = in_.Pick(3); n > 0; --n) p.push_back(PickId());
    return p;
  }

  loci::CubeDraft Draft() {
    loci::CubeDraft d;
    d.space = Space();
    d.payload = Payload();
    const uint8_t mask = in_.U8();
    if (mask & 1) {
      for (size_t n = 1 + in_.Pick(2); n > 0; --n) d.vectors.push_back(Vector());
    }
    if (mask & 2) {
      for (size_t n = 1 + in_.Pick(3); n > 0; --n) d.attrs.push_back(Attr());
    }
    if (mask & 4) d.parents = Parents();
    if (mask & 8) d.valid_from = PickTime();
    if (mask & 16) d.valid_to = PickTime();
    if (mask & 32) d.expires_at = PickTime();
    if (mask & 64) {
      d.kind = Kind();
      d.state = State();
      d.source = std::string(in_.ShortString());
      d.agent = std::string(in_.ShortString());
    }
    if (mask & 128) {
      d.importance = Float();
      d.trust = Float();
    }
    return d;
  }

  loci::CubePatch Patch() {
    static const char* kNames[] = {"e", "f", "g", "k1", "k2", "k3", "h", ""};
    loci::CubePatch p;
    const uint16_t mask = in_.U16();
    if (mask & (1 << 0)) p.payload = Payload();
    if (mask & (1 << 1)) p.kind = Kind();
    if (mask & (1 << 2)) p.state = State();
    if (mask & (1 << 3)) {
      for (size_t n = 1 + in_.Pick(2); n > 0; --n) p.set_vectors.push_back(Vector());
    }
    if (mask & (1 << 4)) p.remove_vectors.push_back(kNames[in_.Pick(8)]);
    if (mask & (1 << 5)) {
      for (size_t n = 1 + in_.Pick(2); n > 0; --n) p.set_attrs.push_back(Attr());
    }
    if (mask & (1 << 6)) p.remove_attrs.push_back(kNames[in_.Pick(8)]);
    if (mask & (1 << 7)) p.source = std::string(in_.ShortString());
    if (mask & (1 << 8)) p.parents = Parents();
    if (mask & (1 << 9)) p.agent = std::string(in_.ShortString());
    if (mask & (1 << 10)) p.importance = Float();
    if (mask & (1 << 11)) p.trust = Float();
    if (mask & (1 << 12)) p.valid_from = PickTime();
    if (mask & (1 << 13)) p.valid_to = PickTime();
    if (mask & (1 << 14)) p.expires_at = PickTime();
    return p;
  }

  void AddDefine(loci::WriteBatch* b) {
    static const char* kFields[] = {"e", "f", "g", "e", "f", "g", "e", ""};
    static const loci::Metric kMetrics[] = {loci::Metric::kCosine, loci::Metric::kInnerProduct,
                                            loci::Metric::kL2, static_cast<loci::Metric>(7)};
    std::string space = Space();
    std::string field = kFields[in_.Pick(8)];
    const uint32_t dim = static_cast<uint32_t>(in_.Pick(5));  // 0 is invalid
    const size_t m = in_.Pick(8);
    b->DefineVectorField(std::move(space), std::move(field), dim, kMetrics[m < 7 ? m % 3 : 3]);
  }

  void AddDrop(loci::WriteBatch* b) {
    static const char* kFields[] = {"e", "f", "g", "e", "f", "g", "h", ""};
    std::string space = Space();
    b->DropVectorField(std::move(space), kFields[in_.Pick(8)]);
  }

  // The space an update or retire is confined to: mostly none, else one of the spaces writes
  // use or one that never exists.
  std::optional<std::string> Scope() {
    static const char* kSpaces[] = {"a", "b", "c", "zz"};
    const uint8_t b = in_.U8();
    if (b < 160) return std::nullopt;
    return kSpaces[b & 3];
  }

  void AddUpdate(loci::WriteBatch* b) {
    const CubeId id = PickId();
    loci::CubePatch patch = Patch();
    b->Update(id, std::move(patch), Scope());
  }

  void AddRetire(loci::WriteBatch* b) {
    const CubeId id = PickId();
    const std::optional<Timestamp> valid_to = PickTime();
    b->Retire(id, valid_to, Scope());
  }

  void AddOp(loci::WriteBatch* b) {
    switch (in_.Pick(5)) {
      case 0:
        b->Put(Draft());
        break;
      case 1:
        AddUpdate(b);
        break;
      case 2:
        AddRetire(b);
        break;
      case 3:
        AddDefine(b);
        break;
      default:
        AddDrop(b);
        break;
    }
  }

  // --- Writes.

  void Commit(const loci::WriteBatch& batch) {
    loci::WriteOptions wo;
    wo.sync = sync_;
    const Timestamp lo = commit_times_.empty() ? kClockBase : commit_times_.back() + 1;
    loci::WriteResult result;
    Status s = db_->Write(wo, batch, &result);
    if (s.ok()) {
      if (!commit_times_.empty() && result.commit_time <= commit_times_.back()) {
        Fail("commit time " + std::to_string(result.commit_time) + " not after " +
             std::to_string(commit_times_.back()));
      }
      std::vector<loci::WriteResult::OpResult> expected;
      Status::Code c = model_.Apply(batch, result.commit_time, &expected);
      if (c != Status::Code::kOk) {
        Fail(std::string("write succeeded, the model says ") + CodeName(c));
      }
      if (result.ops.size() != expected.size()) Fail("write: wrong number of results");
      for (size_t i = 0; i < expected.size(); ++i) {
        if (result.ops[i].id != expected[i].id || result.ops[i].version != expected[i].version) {
          Fail("write: op " + std::to_string(i) + " gave id " + std::to_string(result.ops[i].id) +
               " v" + std::to_string(result.ops[i].version) + ", the model says id " +
               std::to_string(expected[i].id) + " v" + std::to_string(expected[i].version));
        }
      }
      commit_times_.push_back(result.commit_time);
    } else {
      // The engine does not report the commit time a failed batch would have had; it lies
      // between the last commit and now, and the model must agree at one end or the other.
      const Timestamp hi = db_->Now();
      std::vector<loci::WriteResult::OpResult> ignored;
      DbModel at_lo = model_, at_hi = model_;
      const Status::Code c_lo = at_lo.Apply(batch, lo, &ignored);
      const Status::Code c_hi = at_hi.Apply(batch, hi, &ignored);
      if (s.code() != c_lo && s.code() != c_hi) {
        Fail("write: " + s.ToString() + ", the model says " + CodeName(c_lo) + "/" +
             CodeName(c_hi));
      }
    }
    CheckStats();
  }

  void CheckStats() {
    const loci::DbStats stats = db_->Stats();
    if (stats.versions != model_.version_count() || stats.cubes != model_.cubes().size()) {
      Fail("stats: " + std::to_string(stats.cubes) + " cubes, " + std::to_string(stats.versions) +
           " versions; the model has " + std::to_string(model_.cubes().size()) + " and " +
           std::to_string(model_.version_count()));
    }
    // The live vector fields, dropped ones left out.
    std::set<std::string> got, want;
    for (const loci::VectorFieldInfo& f : stats.vector_fields) {
      got.insert(f.space + "/" + f.name + " " + std::to_string(f.dim) + " " + f.metric);
    }
    for (const auto& [name, space] : model_.spaces()) {
      for (const auto& [field, f] : space.fields) {
        want.insert(name + "/" + field + " " + std::to_string(f.dim) + " " +
                    loci::index::MetricName(f.metric));
      }
    }
    if (got != want) {
      std::string text = "stats: vector fields";
      for (const std::string& f : got) text += " [" + f + "]";
      text += "; the model has";
      for (const std::string& f : want) text += " [" + f + "]";
      Fail(text);
    }
  }

  // --- Reads.

  std::optional<std::string> ReadSpace(uint8_t mode) {
    static const char* kSpaces[] = {"a", "b", "c", "zz"};
    if ((mode & 8) == 0) return std::nullopt;
    return kSpaces[(mode >> 6) & 3];
  }

  void CheckGet() {
    const CubeId id = PickId();
    const uint8_t mode = in_.U8();
    loci::ReadOptions ro;
    ro.space = ReadSpace(mode);
    ro.fill_payload = (mode & 16) == 0;
    ro.fill_vectors = (mode & 32) == 0;
    if (mode & 4) ro.valid_at = PickTime();
    std::optional<Timestamp> point;  // as_of / snapshot time; nullopt: now
    std::shared_ptr<const loci::Snapshot> snapshot;
    if ((mode & 3) == 1) {
      ro.as_of = PickTime();
      point = ro.as_of;
    } else if ((mode & 3) == 2 && !snapshots_.empty()) {
      snapshot = snapshots_[in_.Pick(snapshots_.size())];
      ro.snapshot = snapshot.get();
      point = snapshot->time();
    }
    const Timestamp before = db_->Now();
    MemCube got;
    Status s = db_->Get(ro, id, &got);
    const Timestamp after = db_->Now();

    // A read at "now" may have happened at any time between the two clock readings.
    bool matched = false;
    std::string want_text;
    for (Timestamp t : {before, after}) {
      const Timestamp read_time = point.value_or(t);
      const Timestamp as_of = point.value_or(loci::kForever);
      MemCube want;
      Status::Code c =
          model_.Get(id, as_of, ro.valid_at.value_or(read_time), read_time, ro.space, &want);
      want_text += std::string(" ") + CodeName(c) + (c == Status::Code::kOk ? Show(want) : "");
      if (c == s.code() && (!s.ok() || Same(got, want, ro.fill_payload, ro.fill_vectors))) {
        matched = true;
      }
      if (point) break;
    }
    if (!matched) {
      Fail("get " + std::to_string(id) + " mode " + std::to_string(mode) + ": " + s.ToString() +
           (s.ok() ? Show(got) : "") + "; the model says" + want_text);
    }
  }

  void CheckHistory() {
    const CubeId id = PickId();
    const uint8_t mode = in_.U8();
    loci::ReadOptions ro;
    ro.space = ReadSpace(mode);
    ro.as_of = PickTime();
    CompareHistory(id, ro);
  }

  void CompareHistory(CubeId id, const loci::ReadOptions& ro) {
    std::vector<MemCube> got, want;
    Status s = db_->History(ro, id, &got);
    Status::Code c = model_.History(id, ro.as_of.value_or(loci::kForever), ro.space, &want);
    bool same = s.code() == c && got.size() == want.size();
    for (size_t i = 0; same && i < got.size(); ++i) same = Same(got[i], want[i], true, true);
    if (!same) {
      std::string text = "history " + std::to_string(id) + ": " + s.ToString();
      for (const MemCube& m : got) text += " " + Show(m);
      text += std::string("; the model says ") + CodeName(c);
      for (const MemCube& m : want) text += " " + Show(m);
      Fail(text);
    }
  }

  // One Get at an explicit (as_of, valid_at), compared in full.
  void CompareGet(CubeId id, Timestamp as_of, Timestamp valid_at) {
    loci::ReadOptions ro;
    ro.as_of = as_of;
    ro.valid_at = valid_at;
    MemCube got, want;
    Status s = db_->Get(ro, id, &got);
    Status::Code c = model_.Get(id, as_of, valid_at, as_of, std::nullopt, &want);
    if (s.code() != c || (s.ok() && !Same(got, want, true, true))) {
      Fail("get " + std::to_string(id) + " as of " + std::to_string(as_of) + " valid at " +
           std::to_string(valid_at) + ": " + s.ToString() + (s.ok() ? Show(got) : "") +
           "; the model says " + CodeName(c) + (c == Status::Code::kOk ? Show(want) : ""));
    }
  }

  static Timestamp Before(Timestamp t) { return t == loci::kBeginningOfTime ? t : t - 1; }

  // Every cube: its whole history, and reads on both sides of every boundary a version has
  // (commit, valid interval, expiry) and at the last commit across valid time.
  void CheckAll() {
    CheckStats();
    const Timestamp last = commit_times_.empty() ? kClockBase : commit_times_.back();
    for (const auto& [id, cube] : model_.cubes()) {
      CompareHistory(id, loci::ReadOptions());
      for (Timestamp valid_at : {kValidTimes[0], kValidTimes[2], kValidTimes[4], last}) {
        CompareGet(id, last, valid_at);
      }
      for (const loci::model::ModelVersion& v : cube.versions) {
        for (Timestamp as_of : {Before(v.tx_from), v.tx_from, last}) {
          for (Timestamp valid_at : {Before(v.valid_from), v.valid_from, Before(v.valid_to)}) {
            CompareGet(id, as_of, valid_at);
          }
        }
        if (v.expires_at != loci::kForever) {
          CompareGet(id, Before(v.expires_at), v.valid_from);
          CompareGet(id, v.expires_at, v.valid_from);
        }
      }
    }
  }

  loci::fuzz::FuzzInput in_;
  std::unique_ptr<loci::Env> mem_;
  FuzzClockEnv env_;
  loci::Options options_;
  bool sync_ = true;
  std::unique_ptr<loci::Db> db_;
  DbModel model_;
  std::vector<Timestamp> commit_times_;
  std::vector<std::shared_ptr<const loci::Snapshot>> snapshots_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Driver driver(data, size);
  driver.Run();
  return 0;
}
