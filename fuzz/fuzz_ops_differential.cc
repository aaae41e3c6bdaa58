// libFuzzer target: differential testing of the Db API against DbModel
// (tests/model/db_model.h), in the style of RocksDB's db_map_fuzzer. The input drives at most 64
// operations — Put, Update, Retire and Purge (some confined to a space), PurgeSpace,
// DefineVectorField, DropVectorField, Link and Unlink (some confined to a space, some invalid:
// self-loops, reserved types, missing or other-space ends), puts and updates that set or move a
// cube's episode, batches that link a cube put earlier in the same batch by its placeholder,
// multi-operation batches, Get and History at (as_of, valid_at) points and through snapshots,
// Trace, Episode, Events, Changes and List (compared with the model exactly), Search with trace
// expansion at the exhaustive setting (checked against a brute force over the model: the direct
// hits are the k best eligible cubes, and the expanded ones the neighbourhood search.h describes),
// Checkpoint, Reopen (both of which erase expired cubes: the model follows, see
// FollowReclamation), Compact (blob-arena compaction, which no read may notice) — against a
// database on an in-memory Env with a deterministic clock, and the same operations against the
// model. Any disagreement (status code, assigned id or version, any field of any cube read back,
// Stats counts and vector fields) prints both sides and traps. At the end, and after a final
// reopen, every cube's history and a few reads are compared in full, so what was acknowledged
// must survive recovery unchanged.
//
// Input (fuzz_input.h): config:u8 (bit 0: sync off; bits 1-2: WAL segment size; bit 3:
// automatic checkpoints every 16 KiB of WAL; bit 4: 64 KiB arena generations; bit 5: space "b"
// keeps two versions per cube, pruned at checkpoints, which the model follows through Stats
// with the live snapshots pinning what they may read), then operations,
// each an opcode byte followed by the bytes its arguments consume. Opcodes 0-14 are those of the
// inputs before the trace graph (fuzz/seeds and fuzz/regressions keep their meaning); the trace
// graph's are appended after them (Step).

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
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
  s += " expires " + (c.expires_at ? std::to_string(*c.expires_at) : std::string("never"));
  s += " episode '" + c.episode.substr(0, 8) + "'}";
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
         got.expires_at == want.expires_at && got.episode == want.episode;
}

const char* CodeName(Status::Code c) {
  static const char* kNames[] = {"OK",      "NotFound", "Corruption", "NotSupported", "Invalid",
                                 "IOError", "Busy",     "Poisoned",   "Pruned"};
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
    if (config & 32) options_.space_retention["b"] = loci::RetentionPolicy{.keep_versions = 2};
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
    // Opcodes 0-14 as before the trace graph; 15 and up appended (a byte b picks b % 29, so
    // the bytes 0-14 old inputs use mean what they meant).
    switch (in_.Pick(29)) {
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
        FollowReclamation();
        break;
      case 11: {
        Status s = db_->Checkpoint();
        if (!s.ok()) Fail("checkpoint: " + s.ToString());
        FollowReclamation();
        break;
      }
      case 12:
        if (snapshots_.size() < 4) snapshots_.push_back(db_->GetSnapshot());
        break;
      case 13:
        if (!snapshots_.empty()) snapshots_.erase(snapshots_.begin() + in_.Pick(snapshots_.size()));
        break;
      case 14: {
        loci::WriteBatch b;
        AddDrop(&b);
        Commit(b);
        break;
      }
      case 15:
      case 16: {
        loci::WriteBatch b;
        AddLink(&b);
        Commit(b);
        break;
      }
      case 17: {
        loci::WriteBatch b;
        AddUnlink(&b);
        Commit(b);
        break;
      }
      case 18: {
        loci::WriteBatch b;
        loci::CubeDraft d = Draft();
        d.episode = Episode();
        b.Put(std::move(d));
        Commit(b);
        break;
      }
      case 19: {
        loci::WriteBatch b;
        const CubeId id = PickId();
        loci::CubePatch patch = EpisodePatch();
        b.Update(id, std::move(patch), Scope());
        Commit(b);
        break;
      }
      case 20: {
        loci::WriteBatch b;
        AddPutAndLink(&b);
        Commit(b);
        break;
      }
      case 21:
        CheckTrace();
        break;
      case 22:
        CheckEpisode();
        break;
      case 23:
        CheckEvents();
        break;
      case 24:
        CheckChanges();
        break;
      case 25:
        CheckList();
        break;
      case 26: {
        loci::WriteBatch b;
        AddPurge(&b);
        Commit(b);
        break;
      }
      case 27: {
        // A compaction changes no read: only where blobs live (the checkpoint it writes
        // prunes, as any does).
        loci::CompactResult result;
        Status s = db_->Compact(loci::CompactOptions(), &result);
        if (!s.ok()) Fail("compact: " + s.ToString());
        FollowRetention();
        break;
      }
      default:
        CheckSearch();
        break;
    }
  }

  // --- Argument generators. Each reads a few bytes; most choices are valid, some are not.

  CubeId PickId() {
    const uint8_t b = in_.U8();
    const auto& cubes = model_.cubes();
    if (b == 255) return 0;
    if (b % 8 == 6 && !purged_.empty()) return purged_[b / 8 % purged_.size()];
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

  // An expiry: mostly a few milliseconds ahead of the clock (so that cubes expire during the
  // run and are reclaimed), sometimes any time PickTime gives (often past: refused).
  std::optional<Timestamp> PickExpiry() {
    const uint8_t b = in_.U8();
    if (b % 4 == 0) return PickTime();
    return db_->Now() + Timestamp{1000} * (1 + b / 4 % 40);
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
    if (mask & 32) d.expires_at = PickExpiry();
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
    if (mask & (1 << 14)) p.expires_at = PickExpiry();
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

  // A purge of a cube (or a missing, purged or placeholder id, now and then).
  void AddPurge(loci::WriteBatch* b) {
    const size_t choice = in_.Pick(16);
    if (choice == 1) {  // every cube of a space (sometimes one that does not exist)
      const std::optional<std::string> space = Scope();
      const std::string name = space.value_or("b");
      b->PurgeSpace(name);
      for (const auto& [id, cube] : model_.cubes()) {
        if (cube.space == name) purged_.push_back(id);  // if it commits
      }
      return;
    }
    if (choice == 2) {  // TTL reclamation of one cube, as the engine issues it
      b->PurgeIfExpired(PickId());
      return;
    }
    const CubeId id = choice == 0 ? (loci::kBatchRefBit | 0) : PickId();
    b->Purge(id, Scope());
    if (model_.cubes().count(id) != 0) purged_.push_back(id);  // if it commits
  }

  void AddOp(loci::WriteBatch* b) {
    // 0-4 as before the trace graph, then 5-7 appended.
    switch (in_.Pick(8)) {
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
      case 4:
        AddDrop(b);
        break;
      case 5:
        AddLink(b);
        break;
      case 6:
        AddUnlink(b);
        break;
      default:
        AddPurge(b);
        break;
    }
  }

  // --- The trace graph's arguments.

  std::string Episode() {
    static const char* kEpisodes[] = {"s1", "s2", "", "s1", "s2", "s3", "s1"};
    const size_t e = in_.Pick(8);
    return e < 7 ? kEpisodes[e] : std::string(257, 'e');  // too long: invalid
  }

  // A patch that moves the cube to another episode (or out of any), sometimes with more.
  loci::CubePatch EpisodePatch() {
    loci::CubePatch p;
    const uint8_t mode = in_.U8();
    p.episode = Episode();
    if (mode & 1) p.payload = Payload();
    if (mode & 2) p.valid_from = PickTime();
    if (mode & 4) p.state = State();
    return p;
  }

  loci::EdgeType PickEdgeType() {
    static const uint32_t kTypes[] = {1, 2, 3, 4, 5, 6, 2, 3, 1000, 1001, 2, 7, 0, 999};
    return static_cast<loci::EdgeType>(kTypes[in_.Pick(14)]);  // the last three invalid
  }

  std::vector<loci::EdgeType> EdgeTypes() {
    std::vector<loci::EdgeType> types;
    for (size_t n = in_.Pick(4); n > 0; --n) types.push_back(PickEdgeType());
    return types;
  }

  float Weight() {
    static const float kWeights[] = {1.0f,  0.5f, 2.0f,  1.0f,          0.0f,
                                     -1.0f, 1.0f, 0.25f, std::nanf(""), INFINITY};
    return kWeights[in_.Pick(10)];
  }

  // The two ends of an edge: mostly existing cubes (whatever their spaces), sometimes the same
  // one twice (a self-loop), sometimes an edge the model holds (to relink or unlink it).
  std::pair<CubeId, CubeId> Ends(uint8_t mode) {
    const auto& edges = model_.edges();
    if ((mode & 3) == 3 && !edges.empty()) {
      auto it = edges.begin();
      std::advance(it, in_.Pick(edges.size()));
      return {it->first.from, it->first.to};
    }
    const CubeId from = PickId();
    const CubeId to = (mode & 3) == 2 && (mode & 4) ? from : PickId();
    return {from, to};
  }

  void AddLink(loci::WriteBatch* b) {
    const uint8_t mode = in_.U8();
    auto [from, to] = Ends(mode);
    loci::EdgeType type = PickEdgeType();
    if ((mode & 3) == 3) {
      // The type of an edge the model holds, to relink it.
      for (const auto& [key, edge] : model_.edges()) {
        if (key.from == from && key.to == to && (mode & 8))
          type = static_cast<loci::EdgeType>(key.type);
      }
    }
    const float weight = Weight();
    std::optional<Timestamp> valid_from;
    if (mode & 16) valid_from = PickTime();
    b->Link(Scope(), from, to, type, weight, valid_from);
  }

  void AddUnlink(loci::WriteBatch* b) {
    const uint8_t mode = in_.U8();
    auto [from, to] = Ends(mode | ((mode & 0x80) ? 3 : 0));  // mostly an edge that exists
    loci::EdgeType type = PickEdgeType();
    if (mode & 0x40) {
      for (const auto& [key, edge] : model_.edges()) {
        if (key.from == from && key.to == to) type = static_cast<loci::EdgeType>(key.type);
      }
    }
    std::optional<Timestamp> valid_to;
    if (mode & 16) valid_to = PickTime();
    b->Unlink(Scope(), from, to, type, valid_to);
  }

  // A put with an episode, and an edge between it (by its placeholder) and another cube, either
  // way round; now and then a bad placeholder (the link op's own, or past the batch).
  void AddPutAndLink(loci::WriteBatch* b) {
    const uint8_t mode = in_.U8();
    loci::CubeDraft d = Draft();
    d.episode = Episode();
    if (mode & 32) b->Put(Draft());  // another put first: the placeholder is then op 1
    const CubeId placeholder = b->Put(std::move(d));
    CubeId other = PickId();
    if ((mode & 3) == 3) other = loci::kBatchRefBit | (b->size() + (mode & 4 ? 0 : 5));
    if ((mode & 3) == 2 && (mode & 32)) other = loci::kBatchRefBit | 0;  // the other put
    const loci::EdgeType type = PickEdgeType();
    const float weight = Weight();
    if (mode & 8) {
      b->Link(Scope(), other, placeholder, type, weight);
    } else {
      b->Link(Scope(), placeholder, other, type, weight);
    }
    if (mode & 16) {
      loci::CubePatch p = EpisodePatch();
      b->Update(placeholder, std::move(p));  // placeholders are for edges and parents only
    }
  }

  // --- Writes.

  void Commit(const loci::WriteBatch& batch) {
    FollowReclamation();  // an explicit purge of a reclaimed cube is NotFound, of an expired one OK
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
        if (result.ops[i].id != expected[i].id || result.ops[i].version != expected[i].version ||
            result.ops[i].erased != expected[i].erased) {
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

  // The engine erases expired cubes at checkpoints (explicit and automatic) and opens, at a
  // commit time the test does not see; reads and writes cannot tell an expired cube from an
  // erased one, Stats can. The model follows: it reclaims up to the expiry that makes its
  // counts the engine's, if one does.
  void FollowReclamation() {
    FollowExpiry();
    FollowRetention();
  }

  void FollowExpiry() {
    const loci::DbStats stats = db_->Stats();
    if (stats.cubes == model_.cubes().size()) return;
    const Timestamp now = db_->Now();
    std::set<Timestamp> expiries;
    for (const auto& [id, cube] : model_.cubes()) {
      const Timestamp e = cube.versions.back().expires_at;
      if (e != loci::kForever && e <= now) expiries.insert(e);
    }
    for (Timestamp e : expiries) {
      DbModel reclaimed = model_;
      reclaimed.ReclaimExpired(e);
      if (reclaimed.cubes().size() == stats.cubes) {
        model_ = std::move(reclaimed);
        return;
      }
    }
  }

  // Checkpoints (explicit and automatic) prune space "b" when the config asks; only Stats
  // tells when. The model prunes as they do, at the snapshots live now (those a checkpoint
  // since the last call saw: snapshots are taken and released only between writes).
  void FollowRetention() {
    if (options_.space_retention.empty()) return;
    if (db_->Stats().versions == model_.version_count()) return;
    Timestamp pinned_until = loci::model::kNothingPinned;
    for (const auto& snapshot : snapshots_) pinned_until = std::max(pinned_until, snapshot->time());
    model_.Prune({{"b", 2}}, pinned_until);
  }

  void CheckStats() {
    FollowReclamation();
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
      const Timestamp read_time = t;  // expiry is judged now, whatever the read point
      const Timestamp as_of = point.value_or(loci::kForever);
      MemCube want;
      Status::Code c = model_.Get(id, as_of, ro.valid_at.value_or(point.value_or(t)), read_time,
                                  ro.space, &want);
      want_text += std::string(" ") + CodeName(c) + (c == Status::Code::kOk ? Show(want) : "");
      if (c == s.code() && (!s.ok() || Same(got, want, ro.fill_payload, ro.fill_vectors))) {
        matched = true;
      }
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
    const Timestamp before = db_->Now();
    Status s = db_->History(ro, id, &got);
    const Timestamp after = db_->Now();
    // Expiry is judged at the read's "now", somewhere between the two clock readings.
    std::string text;
    for (Timestamp read_time : {before, after}) {
      Status::Code c =
          model_.History(id, ro.as_of.value_or(loci::kForever), read_time, ro.space, &want);
      bool same = s.code() == c && got.size() == want.size();
      for (size_t i = 0; same && i < got.size(); ++i) same = Same(got[i], want[i], true, true);
      if (same) return;
      text += std::string("; the model says ") + CodeName(c);
      for (const MemCube& m : want) text += " " + Show(m);
    }
    std::string head = "history " + std::to_string(id) + ": " + s.ToString();
    for (const MemCube& m : got) head += " " + Show(m);
    Fail(head + text);
  }

  // --- The trace graph's reads.

  // A read point as CheckGet picks one (now, an as_of, or a snapshot; valid_at maybe), set on
  // *rp. The model reads it may stand for come from ModelReads once the call returned.
  struct ReadChoice {
    std::optional<Timestamp> point;  // as_of / snapshot time; nullopt: now
    std::optional<Timestamp> valid_at;
    std::shared_ptr<const loci::Snapshot> snapshot;
  };

  ReadChoice PickRead(uint8_t mode, loci::ReadPoint* rp, bool with_valid_at) {
    ReadChoice c;
    if (with_valid_at && (mode & 4)) c.valid_at = PickTime();
    if ((mode & 3) == 1) {
      c.point = PickTime();
      rp->as_of = c.point;
    } else if ((mode & 3) == 2 && !snapshots_.empty()) {
      c.snapshot = snapshots_[in_.Pick(snapshots_.size())];
      rp->snapshot = c.snapshot.get();
      c.point = c.snapshot->time();
    }
    rp->valid_at = c.valid_at;
    return c;
  }

  // A read at "now" may have happened at any time between the two clock readings (CheckGet).
  static std::vector<loci::model::ModelRead> ModelReads(const ReadChoice& c, Timestamp before,
                                                        Timestamp after,
                                                        const std::optional<std::string>& space) {
    std::vector<loci::model::ModelRead> reads;
    for (Timestamp t : {before, after}) {
      // Expiry is judged now, whatever the read point; valid_at defaults to the point.
      reads.push_back(
          {c.point.value_or(loci::kForever), c.valid_at.value_or(c.point.value_or(t)), t, space});
    }
    return reads;
  }

  static std::string ShowStep(const loci::TraceStep& t) {
    return "{" + std::to_string(t.id) + " v" + std::to_string(t.version) + " hop " +
           std::to_string(t.hop) + " via " + std::to_string(t.via.from) + "->" +
           std::to_string(t.via.to) + " type " + std::to_string(static_cast<uint32_t>(t.via.type)) +
           " w " + std::to_string(t.via.weight) + " v" + std::to_string(t.via.version) +
           " valid [" + std::to_string(t.via.valid_from) + "," + std::to_string(t.via.valid_to) +
           ") tx " + std::to_string(t.via.tx_from) + "}";
  }

  static bool SameSteps(const std::vector<loci::TraceStep>& got,
                        const std::vector<loci::TraceStep>& want) {
    if (got.size() != want.size()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
      const loci::TraceStep& g = got[i];
      const loci::TraceStep& w = want[i];
      if (g.id != w.id || g.version != w.version || g.hop != w.hop || g.via.from != w.via.from ||
          g.via.to != w.via.to || g.via.type != w.via.type || g.via.weight != w.via.weight ||
          g.via.version != w.via.version || g.via.valid_from != w.via.valid_from ||
          g.via.valid_to != w.via.valid_to || g.via.tx_from != w.via.tx_from) {
        return false;
      }
    }
    return true;
  }

  static bool SameCubes(const std::vector<MemCube>& got, const std::vector<MemCube>& want,
                        bool payload) {
    if (got.size() != want.size()) return false;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!Same(got[i], want[i], payload, false)) return false;
    }
    return true;
  }

  static std::string ShowCubes(const std::vector<MemCube>& cubes) {
    std::string s;
    for (const MemCube& c : cubes) s += " " + Show(c);
    return s;
  }

  static bool ValidTypes(const std::vector<loci::EdgeType>& types) {
    for (loci::EdgeType t : types) {
      if (!loci::IsValidEdgeType(t)) return false;
    }
    return true;
  }

  static std::string ShowRead(const loci::model::ModelRead& r) {
    return "(as of " + std::to_string(r.as_of) + ", valid at " + std::to_string(r.valid_at) +
           ", read time " + std::to_string(r.read_time) + ", space " + r.space.value_or("-") + ")";
  }

  // One Trace, compared with the model's at every read it may stand for.
  void CompareTrace(const loci::TraceRequest& r, const ReadChoice& c) {
    const bool invalid = r.hops == 0 || r.hops > loci::kMaxTraceHops || r.limit == 0 ||
                         r.limit > loci::kMaxTraceResults || !ValidTypes(r.types);
    const Timestamp before = db_->Now();
    std::vector<loci::TraceStep> got;
    Status s = db_->Trace(r, &got);
    const Timestamp after = db_->Now();
    std::string want_text;
    for (const loci::model::ModelRead& read : ModelReads(c, before, after, r.space)) {
      std::vector<loci::TraceStep> want;
      const Status::Code code = invalid ? Status::Code::kInvalidArgument
                                        : model_.Trace(r.start, read, r.types, r.direction,
                                                       r.episode_order, r.hops, r.limit, &want);
      if (code == s.code() && (!s.ok() || SameSteps(got, want))) return;
      want_text += std::string(" ") + ShowRead(read) + " " + CodeName(code);
      for (const loci::TraceStep& t : want) want_text += " " + ShowStep(t);
    }
    std::string text = "trace from " + std::to_string(r.start) + " direction " +
                       std::to_string(static_cast<int>(r.direction)) + " types " +
                       std::to_string(r.types.size()) + " episode order " +
                       std::to_string(r.episode_order) + " hops " + std::to_string(r.hops) +
                       " limit " + std::to_string(r.limit) + ": " + s.ToString();
    for (const loci::TraceStep& t : got) text += " " + ShowStep(t);
    Fail(text + "; the model says" + want_text);
  }

  void CheckTrace() {
    loci::TraceRequest r;
    r.start = PickId();
    const uint8_t mode = in_.U8();
    r.space = ReadSpace(mode);
    const ReadChoice c = PickRead(mode, &r, true);
    r.direction = static_cast<loci::TraceDirection>(in_.Pick(3));
    r.types = EdgeTypes();
    r.episode_order = (mode & 16) != 0;
    const uint8_t h = in_.U8();
    r.hops = h < 240 ? 1 + h % loci::kMaxTraceHops : (h % 2) * (loci::kMaxTraceHops + 1);
    static const uint32_t kLimits[] = {100, 1, 2, 5, 100, 0, loci::kMaxTraceResults + 1, 3};
    r.limit = kLimits[in_.Pick(8)];
    CompareTrace(r, c);
  }

  void CheckEpisode() {
    loci::EpisodeRequest r;
    r.id = PickId();
    const uint8_t mode = in_.U8();
    r.space = ReadSpace(mode);
    r.fill_payload = (mode & 16) == 0;
    const ReadChoice c = PickRead(mode, &r, true);
    static const uint32_t kWindows[] = {
        0, 1, 2, 5, 3, loci::kMaxEpisodeWindow, loci::kMaxEpisodeWindow + 1, 1};
    r.before = kWindows[in_.Pick(8)];
    r.after = kWindows[in_.Pick(8)];
    const bool invalid = r.before > loci::kMaxEpisodeWindow || r.after > loci::kMaxEpisodeWindow;
    const Timestamp before = db_->Now();
    std::vector<MemCube> got;
    Status s = db_->Episode(r, &got);
    const Timestamp after = db_->Now();
    std::string want_text;
    for (const loci::model::ModelRead& read : ModelReads(c, before, after, r.space)) {
      std::vector<MemCube> want;
      const Status::Code code = invalid ? Status::Code::kInvalidArgument
                                        : model_.Episode(r.id, read, r.before, r.after, &want);
      if (code == s.code() && (!s.ok() || SameCubes(got, want, r.fill_payload))) return;
      want_text += " " + ShowRead(read) + " " + CodeName(code) + ShowCubes(want);
    }
    Fail("episode of " + std::to_string(r.id) + " before " + std::to_string(r.before) + " after " +
         std::to_string(r.after) + ": " + s.ToString() + ShowCubes(got) + "; the model says" +
         want_text);
  }

  void CheckEvents() {
    loci::EventsRequest r;
    r.space = Space();
    const uint8_t mode = in_.U8();
    r.fill_payload = (mode & 16) == 0;
    const ReadChoice c = PickRead(mode & ~4, &r, false);
    if ((mode & 0xC0) == 0x40) r.episode = "s1";
    if ((mode & 0xC0) == 0x80) r.episode = (mode & 32) ? "" : "s2";  // "" is invalid
    r.from = PickTime().value_or(loci::kBeginningOfTime);
    r.to = PickTime().value_or(loci::kForever);
    static const uint32_t kLimits[] = {1000, 1, 3, 7, 1000, 0, loci::kMaxListResults + 1, 2};
    r.limit = kLimits[in_.Pick(8)];
    const bool with_valid_at = (mode & 12) == 12;  // invalid: the window replaces it
    if (with_valid_at) r.valid_at = PickTime().value_or(kValidTimes[0]);
    const bool invalid = with_valid_at || r.limit == 0 || r.limit > loci::kMaxListResults;
    const Timestamp before = db_->Now();
    std::vector<MemCube> got;
    Status s = db_->Events(r, &got);
    const Timestamp after = db_->Now();
    std::string want_text;
    for (const loci::model::ModelRead& read : ModelReads(c, before, after, std::nullopt)) {
      std::vector<MemCube> want;
      const Status::Code code =
          invalid ? Status::Code::kInvalidArgument
                  : model_.Events(r.space, r.episode, r.from, r.to, read, r.limit, &want);
      if (code == s.code() && (!s.ok() || SameCubes(got, want, r.fill_payload))) return;
      want_text += " " + ShowRead(read) + " " + CodeName(code) + ShowCubes(want);
    }
    Fail("events of '" + r.space + "' episode " + r.episode.value_or("-") + " [" +
         std::to_string(r.from) + "," + std::to_string(r.to) + ") limit " +
         std::to_string(r.limit) + ": " + s.ToString() + ShowCubes(got) + "; the model says" +
         want_text);
  }

  void CheckChanges() {
    loci::ChangesRequest r;
    r.space = Space();
    const uint8_t mode = in_.U8();
    r.fill_payload = (mode & 16) == 0;
    r.from = PickTime().value_or(loci::kBeginningOfTime);
    r.to = PickTime().value_or(loci::kForever);
    static const uint32_t kLimits[] = {1000, 1, 3, 7, 1000, 0, loci::kMaxListResults + 1, 2};
    r.limit = kLimits[in_.Pick(8)];
    const bool invalid = r.limit == 0 || r.limit > loci::kMaxListResults;
    std::vector<MemCube> got, want;
    const Timestamp before = db_->Now();
    Status s = db_->Changes(r, &got);
    const Timestamp after = db_->Now();
    std::string want_text;
    for (Timestamp read_time : {before, after}) {
      const Status::Code code = invalid ? Status::Code::kInvalidArgument
                                        : model_.Changes(r.space, r.from, r.to, loci::kForever,
                                                         read_time, r.limit, &want);
      if (code == s.code() && (!s.ok() || SameCubes(got, want, r.fill_payload))) return;
      want_text += std::string(" ") + CodeName(code) + ShowCubes(want);
    }
    Fail("changes of '" + r.space + "' [" + std::to_string(r.from) + "," + std::to_string(r.to) +
         ") limit " + std::to_string(r.limit) + ": " + s.ToString() + ShowCubes(got) +
         "; the model says" + want_text);
  }

  void CheckList() {
    loci::ListRequest r;
    r.space = Space();
    const uint8_t mode = in_.U8();
    r.fill_payload = (mode & 16) == 0;
    const ReadChoice c = PickRead(mode, &r, true);
    if (mode & 32) r.after = PickId();
    static const uint32_t kLimits[] = {100, 1, 2, 3, 100, 0, loci::kMaxListResults + 1, 2};
    r.limit = kLimits[in_.Pick(8)];
    const bool invalid = r.limit == 0 || r.limit > loci::kMaxListResults;
    // Page through (each page its own read), every page as the model's.
    for (int page = 0; page < 8; ++page) {
      const Timestamp before = db_->Now();
      std::vector<MemCube> got;
      Status s = db_->List(r, &got);
      const Timestamp after = db_->Now();
      std::string want_text;
      bool matched = false;
      for (const loci::model::ModelRead& read : ModelReads(c, before, after, std::nullopt)) {
        std::vector<MemCube> want;
        const Status::Code code = invalid ? Status::Code::kInvalidArgument
                                          : model_.List(r.space, read, r.after, r.limit, &want);
        if (code == s.code() && (!s.ok() || SameCubes(got, want, r.fill_payload))) {
          matched = true;
          break;
        }
        want_text += " " + ShowRead(read) + " " + CodeName(code) + ShowCubes(want);
      }
      if (!matched) {
        Fail("list of '" + r.space + "' after " + std::to_string(r.after) + " limit " +
             std::to_string(r.limit) + ": " + s.ToString() + ShowCubes(got) + "; the model says" +
             want_text);
      }
      if (!s.ok() || got.size() < r.limit) return;
      r.after = got.back().id;
    }
  }

  // --- Search, at the exhaustive setting, against a brute force over the model.

  // The visible version of an edge at `read`, as the model's read rule for edges has it.
  const loci::model::ModelEdgeVersion* VisibleEdge(const loci::model::ModelEdgeKey& key,
                                                   const loci::model::ModelRead& read) const {
    auto it = model_.edges().find(key);
    if (it == model_.edges().end()) return nullptr;
    const auto& vs = it->second.versions;
    for (size_t i = vs.size(); i-- > 0;) {
      const loci::model::ModelEdgeVersion& v = vs[i];
      if (v.tx_from <= read.as_of && v.valid_from <= read.valid_at && read.valid_at < v.valid_to) {
        return v.unlinked ? nullptr : &v;
      }
    }
    return nullptr;
  }

  static float ExactScore(const std::vector<float>& q, const std::vector<float>& v,
                          loci::Metric metric) {
    double dot = 0, qq = 0, vv = 0, l2 = 0;
    for (size_t i = 0; i < q.size() && i < v.size(); ++i) {
      dot += double{q[i]} * v[i];
      qq += double{q[i]} * q[i];
      vv += double{v[i]} * v[i];
      l2 += (double{q[i]} - v[i]) * (double{q[i]} - v[i]);
    }
    if (metric == loci::Metric::kL2) return static_cast<float>(l2);
    if (metric == loci::Metric::kInnerProduct) return static_cast<float>(dot);
    return static_cast<float>(dot / std::sqrt(qq * vv));
  }

  // The cubes one expansion step from `id` (of space `space`) at `read`: over edges of weight
  // > 0 of the wanted types, both ways, and the episode order's neighbours.
  std::vector<CubeId> Neighbours(CubeId id, const std::string& space, const loci::SearchRequest& r,
                                 const loci::model::ModelRead& read) const {
    std::vector<CubeId> out;
    MemCube ignored;
    auto visible = [&](CubeId other) {
      return model_.Get(other, read.as_of, read.valid_at, read.read_time, space, &ignored) ==
             Status::Code::kOk;
    };
    if (!r.expand_episode_only) {
      for (const auto& [key, edge] : model_.edges()) {
        if (key.from != id && key.to != id) continue;
        if (!r.expand_types.empty() &&
            std::find(r.expand_types.begin(), r.expand_types.end(),
                      static_cast<loci::EdgeType>(key.type)) == r.expand_types.end()) {
          continue;
        }
        const loci::model::ModelEdgeVersion* e = VisibleEdge(key, read);
        if (e == nullptr || !(e->weight > 0)) continue;
        const CubeId other = key.from == id ? key.to : key.from;
        if (visible(other)) out.push_back(other);
      }
    }
    if (r.expand_episode) {
      loci::model::ModelRead in_space = read;
      in_space.space = space;
      std::vector<MemCube> around;
      if (model_.Episode(id, in_space, 1, 1, &around) == Status::Code::kOk) {
        for (const MemCube& c : around) {
          if (c.id != id) out.push_back(c.id);
        }
      }
    }
    return out;
  }

  void CheckSearch() {
    static const char* kSpaces[] = {"a", "b", "c", "a"};
    static const char* kFields[] = {"e", "f", "g", "e"};
    static const float kValues[] = {1.0f, 0.5f, -0.25f, 2.0f};
    loci::SearchRequest r;
    const uint8_t mode = in_.U8();
    r.spaces.push_back(kSpaces[mode & 3]);
    if (mode & 4) r.spaces.push_back(kSpaces[(mode >> 3) & 3]);
    r.field = kFields[(mode >> 5) & 3];
    r.k = 1 + static_cast<uint32_t>(in_.Pick(5));
    r.probes = loci::kMaxSearchProbes;
    r.rerank = loci::kMaxSearchRerank;
    const uint8_t expand = in_.U8();
    r.expand_hops = expand & 3;
    r.expand_episode = (expand & 4) != 0;
    r.expand_episode_only =
        (expand & 12) == 12 || (expand & 0x80) != 0;  // the latter may be invalid
    static const uint32_t kLimits[] = {0, 1, 2, 50};
    r.expand_limit = kLimits[(expand >> 4) & 3];
    r.expand_decay = (expand & 64) ? 1.0f : 0.5f;
    r.expand_types = EdgeTypes();
    // An explicit read point, so that the brute force knows it: as of a commit (or another
    // time), at a valid time.
    const Timestamp last = commit_times_.empty() ? kClockBase : commit_times_.back();
    const Timestamp as_of = PickTime().value_or(last);
    const Timestamp valid_at = PickTime().value_or(as_of);
    r.as_of = as_of;
    r.valid_at = valid_at;

    // The field: every space must have it, with one dimension and metric.
    std::optional<loci::model::ModelField> field;
    bool known = true;
    for (const std::string& name : r.spaces) {
      auto s = model_.spaces().find(name);
      if (s == model_.spaces().end() || s->second.fields.count(r.field) == 0) {
        known = false;
        break;
      }
      const loci::model::ModelField& f = s->second.fields.at(r.field);
      if (field && (field->dim != f.dim || field->metric != f.metric)) known = false;
      field = f;
    }
    const uint32_t dim = field ? field->dim : 1 + static_cast<uint32_t>(in_.Pick(3));
    for (uint32_t i = 0; i < dim; ++i) r.query.push_back(kValues[in_.Pick(4)]);
    const bool invalid =
        !known || !ValidTypes(r.expand_types) || (r.expand_episode_only && !r.expand_episode);
    std::vector<loci::SearchHit> hits;
    const Timestamp before = db_->Now();
    Status s = db_->Search(r, &hits);
    const Timestamp after = db_->Now();
    // Expiry is judged at the search's "now", between the two readings: a cube expiring in
    // between may go either way, so such a search is not checked (the brute force knows one
    // read time).
    if (ExpiresWithin(before, after)) return;
    const loci::model::ModelRead read{as_of, valid_at, after, std::nullopt};
    auto fail = [&](const std::string& what) {
      std::string text = "search field " + r.field + " spaces";
      for (const std::string& sp : r.spaces) text += " " + sp;
      text += " k " + std::to_string(r.k) + " as of " + std::to_string(as_of) + " valid at " +
              std::to_string(valid_at) + " expand hops " + std::to_string(r.expand_hops) +
              " episode " + std::to_string(r.expand_episode) + "/" +
              std::to_string(r.expand_episode_only) + " limit " + std::to_string(r.expand_limit) +
              " types " + std::to_string(r.expand_types.size()) + ": " + s.ToString() + ", hits";
      for (const loci::SearchHit& h : hits) {
        text += " {" + std::to_string(h.id) + " v" + std::to_string(h.version) + " " + h.space +
                " score " + std::to_string(h.score) + " hop " + std::to_string(h.hop);
        if (h.via) {
          text += " via " + std::to_string(h.via->from) + "->" + std::to_string(h.via->to) +
                  " type " + std::to_string(static_cast<uint32_t>(h.via->type)) + " w " +
                  std::to_string(h.via->weight) + " v" + std::to_string(h.via->version);
        }
        text += "}";
      }
      Fail(text + ": " + what);
    };
    if (invalid) {
      if (s.code() != Status::Code::kInvalidArgument) fail("the model says Invalid");
      return;
    }
    if (!s.ok()) fail("the model says OK");
    const bool lower = field->metric == loci::Metric::kL2;
    auto better = [&](float a, float b) { return lower ? a < b : a > b; };

    // The eligible cubes: visible at the read point in a searched space, with the field.
    std::map<CubeId, std::pair<float, MemCube>> eligible;  // id -> (exact score, cube)
    for (const auto& [id, cube] : model_.cubes()) {
      if (std::find(r.spaces.begin(), r.spaces.end(), cube.space) == r.spaces.end()) continue;
      MemCube c;
      if (model_.Get(id, as_of, valid_at, after, std::nullopt, &c) != Status::Code::kOk) continue;
      for (const loci::NamedVector& v : c.vectors) {
        if (v.field == r.field) eligible[id] = {ExactScore(r.query, v.values, field->metric), c};
      }
    }
    // Direct hits first, each once, best first, the k best eligible cubes.
    std::set<CubeId> seen, direct;
    size_t n_direct = 0;
    for (const loci::SearchHit& h : hits) {
      if (!seen.insert(h.id).second) fail("cube " + std::to_string(h.id) + " twice");
      if (h.hop != 0) continue;
      if (n_direct != seen.size() - 1) fail("a direct hit after an expanded one");
      ++n_direct;
      direct.insert(h.id);
      auto e = eligible.find(h.id);
      if (e == eligible.end()) fail("direct hit " + std::to_string(h.id) + " is not eligible");
      if (h.version != e->second.second.version || h.space != e->second.second.space) {
        fail("direct hit " + std::to_string(h.id) + ": the model has v" +
             std::to_string(e->second.second.version) + " in " + e->second.second.space);
      }
      const float exact = e->second.first;
      if (std::fabs(h.score - exact) > 1e-3f * std::max(1.0f, std::fabs(exact))) {
        fail("direct hit " + std::to_string(h.id) + ": exact score " + std::to_string(exact));
      }
      if (h.via) fail("a direct hit with a via edge");
    }
    if (n_direct != std::min<size_t>(r.k, eligible.size())) {
      fail(std::to_string(eligible.size()) + " cubes are eligible");
    }
    for (size_t i = 1; i < n_direct; ++i) {
      if (better(hits[i].score, hits[i - 1].score)) fail("direct hits not best first");
    }
    if (n_direct > 0) {
      const float worst = hits[n_direct - 1].score;
      for (const auto& [id, e] : eligible) {
        if (direct.count(id) == 0 && better(e.first, worst) &&
            std::fabs(e.first - worst) > 1e-3f * std::max(1.0f, std::fabs(worst))) {
          fail("cube " + std::to_string(id) + " (exact score " + std::to_string(e.first) +
               ") beats a direct hit");
        }
      }
    }
    // Expanded hits: within expand_hops of a direct hit over visible edges of weight > 0 (and
    // the episode order), visible, of the hit's space; all of that neighbourhood when it fits
    // in the limit.
    std::set<CubeId> reachable;
    for (const loci::SearchHit& h : hits) {
      if (h.hop != 0 || r.expand_hops == 0) continue;
      std::set<CubeId> visited{h.id};
      std::vector<CubeId> frontier{h.id};
      for (uint32_t hop = 1; hop <= r.expand_hops; ++hop) {
        std::vector<CubeId> next;
        for (CubeId v : frontier) {
          for (CubeId w : Neighbours(v, h.space, r, read)) {
            if (visited.insert(w).second) next.push_back(w);
          }
        }
        frontier = std::move(next);
      }
      for (CubeId v : visited) {
        if (direct.count(v) == 0) reachable.insert(v);
      }
    }
    const size_t limit = r.expand_limit != 0 ? r.expand_limit : r.k;
    std::set<CubeId> expanded;
    for (size_t i = n_direct; i < hits.size(); ++i) {
      const loci::SearchHit& h = hits[i];
      expanded.insert(h.id);
      if (h.hop < 1 || h.hop > r.expand_hops) fail("hop out of range");
      if (i > n_direct && better(h.score, hits[i - 1].score)) fail("expanded hits not best first");
      if (reachable.count(h.id) == 0) fail("cube " + std::to_string(h.id) + " is not reachable");
      MemCube c;
      if (model_.Get(h.id, as_of, valid_at, as_of, h.space, &c) != Status::Code::kOk ||
          c.version != h.version) {
        fail("expanded hit " + std::to_string(h.id) + " is not visible in its space as reported");
      }
      if (!h.via || (h.via->from != h.id && h.via->to != h.id)) fail("no via edge to the hit");
      const CubeId other = h.via->from == h.id ? h.via->to : h.via->from;
      if (h.via->version == 0) {  // a step along the episode order
        if (!r.expand_episode || h.via->type != loci::EdgeType::kNext || h.via->weight != 1.0f) {
          fail("an episode step the request did not ask for");
        }
        loci::model::ModelRead in_space = read;
        in_space.space = h.space;
        std::vector<MemCube> around;
        if (model_.Episode(h.via->from, in_space, 0, 1, &around) != Status::Code::kOk ||
            around.size() != 2 || around[1].id != h.via->to) {
          fail("an episode step between cubes that are not neighbours");
        }
      } else {
        const loci::model::ModelEdgeVersion* e =
            VisibleEdge({h.via->from, h.via->to, static_cast<uint32_t>(h.via->type)}, read);
        if (e == nullptr || e->number != h.via->version || e->weight != h.via->weight ||
            !(e->weight > 0) || r.expand_episode_only) {
          fail("via edge not visible in the model (or of weight <= 0)");
        }
      }
      if (direct.count(other) == 0 && reachable.count(other) == 0) {
        fail("via edge from a cube that is not reached");
      }
    }
    if (expanded.size() > limit) fail("more expanded hits than the limit");
    if (reachable.size() <= limit && expanded != reachable) {
      fail(std::to_string(reachable.size()) + " cubes are reachable, " +
           std::to_string(expanded.size()) + " reported");
    }
  }

  // Every cube's neighbourhood, its episode, and every space's events and list at a few read
  // points, compared in full (CheckAll: what was acknowledged survives recovery, edges and
  // episodes included).
  void CheckGraph() {
    const Timestamp last = commit_times_.empty() ? kClockBase : commit_times_.back();
    for (Timestamp valid_at : {kValidTimes[2], last, loci::kForever - 1}) {
      ReadChoice c;
      c.point = last;
      c.valid_at = valid_at;
      for (const auto& [id, cube] : model_.cubes()) {
        loci::TraceRequest r;
        r.as_of = last;
        r.valid_at = valid_at;
        r.start = id;
        r.direction = loci::TraceDirection::kBoth;
        r.episode_order = true;
        r.hops = 2;
        CompareTrace(r, c);
      }
      for (const char* space : {"a", "b", "c"}) {
        loci::ListRequest r;
        r.as_of = last;
        r.valid_at = valid_at;
        r.space = space;
        r.limit = loci::kMaxListResults;
        std::vector<MemCube> got, want;
        const Timestamp before = db_->Now();
        Status s = db_->List(r, &got);
        const Timestamp after = db_->Now();
        std::string want_text;
        bool matched = false;
        for (Timestamp now : {before, after}) {  // expiry is judged now
          const Status::Code code =
              model_.List(space, {last, valid_at, now, std::nullopt}, 0, r.limit, &want);
          matched = matched || (s.code() == code && (!s.ok() || SameCubes(got, want, true)));
          want_text += std::string(" ") + CodeName(code) + ShowCubes(want);
        }
        if (!matched) {
          Fail(std::string("list of '") + space + "': " + s.ToString() + ShowCubes(got) +
               "; the model says" + want_text);
        }
      }
    }
    for (const char* space : {"a", "b", "c"}) {
      for (const std::optional<std::string>& episode :
           {std::optional<std::string>(), std::optional<std::string>("s1")}) {
        loci::EventsRequest r;
        r.as_of = last;
        r.space = space;
        r.episode = episode;
        r.limit = loci::kMaxListResults;
        std::vector<MemCube> got, want;
        const Timestamp before = db_->Now();
        Status s = db_->Events(r, &got);
        const Timestamp after = db_->Now();
        std::string want_text;
        bool matched = false;
        for (Timestamp now : {before, after}) {  // expiry is judged now
          const Status::Code code =
              model_.Events(space, episode, r.from, r.to, {last, loci::kForever, now, std::nullopt},
                            r.limit, &want);
          matched = matched || (s.code() == code && (!s.ok() || SameCubes(got, want, true)));
          want_text += std::string(" ") + CodeName(code) + ShowCubes(want);
        }
        if (!matched) {
          Fail(std::string("events of '") + space + "': " + s.ToString() + ShowCubes(got) +
               "; the model says" + want_text);
        }
      }
    }
  }

  // Whether a version of a cube expires in (from, to].
  bool ExpiresWithin(Timestamp from, Timestamp to) const {
    for (const auto& [id, cube] : model_.cubes()) {
      for (const loci::model::ModelVersion& v : cube.versions) {
        if (v.expires_at > from && v.expires_at <= to) return true;
      }
    }
    return false;
  }

  // One Get at an explicit (as_of, valid_at), compared in full.
  void CompareGet(CubeId id, Timestamp as_of, Timestamp valid_at) {
    loci::ReadOptions ro;
    ro.as_of = as_of;
    ro.valid_at = valid_at;
    MemCube got, want;
    const Timestamp before = db_->Now();
    Status s = db_->Get(ro, id, &got);
    const Timestamp after = db_->Now();
    std::string want_text;
    for (Timestamp read_time : {before, after}) {  // expiry is judged now
      Status::Code c = model_.Get(id, as_of, valid_at, read_time, std::nullopt, &want);
      if (s.code() == c && (!s.ok() || Same(got, want, true, true))) return;
      want_text += std::string(" ") + CodeName(c) + (c == Status::Code::kOk ? Show(want) : "");
    }
    Fail("get " + std::to_string(id) + " as of " + std::to_string(as_of) + " valid at " +
         std::to_string(valid_at) + ": " + s.ToString() + (s.ok() ? Show(got) : "") +
         "; the model says" + want_text);
  }

  static Timestamp Before(Timestamp t) { return t == loci::kBeginningOfTime ? t : t - 1; }

  // Every cube: its whole history, and reads on both sides of every boundary a version has
  // (commit, valid interval, expiry) and at the last commit across valid time.
  void CheckAll() {
    CheckStats();
    CheckGraph();
    const Timestamp last = commit_times_.empty() ? kClockBase : commit_times_.back();
    for (CubeId id : purged_) {  // gone at every read point, or never purged (a failed batch)
      CompareHistory(id, loci::ReadOptions());
      CompareGet(id, last, kValidTimes[2]);
      for (Timestamp t : commit_times_) CompareGet(id, t, kValidTimes[2]);
    }
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
  std::vector<CubeId> purged_;  // ids a purge named while they existed
  std::vector<std::shared_ptr<const loci::Snapshot>> snapshots_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Driver driver(data, size);
  driver.Run();
  return 0;
}
