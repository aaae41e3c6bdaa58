// DbModel: the reference model of what a Loci database must answer, shared by every test that
// checks the Db against the rules (the differential fuzzer fuzz/fuzz_ops_differential.cc, the
// property tests tests/property/db_model_test.cc and db_state_machine_test.cc, the power-loss
// sweep tests/crash/sim_crash_test.cc). One copy of the rules, so that a test and the engine
// cannot agree on a misreading of design.md §1 that another test would have caught.
//
// It follows design.md §1 and the contracts of loci/db.h: the bitemporal read rule (among the
// versions committed at or before as_of whose valid interval contains valid_at, the one
// committed last; retired or expired means not found), tx_to, version numbering, validation and
// the order of errors in a batch (every operation is validated first, then resolved in order;
// the first failure decides the status; a failed batch changes nothing), vectors (and their
// norm bounds), attributes, parents, kinds, states, expiry, spaces and vector-field definitions
// and drops (a drop removes the field's vectors from every version, is refused for an unknown
// field, and leaves the name refused on first use until it is defined again, under a new id).
// A purge erases a cube — every version, every edge to or from it with their history — at every
// read point (erasure overrides history); its id is never handed out again. A placeholder is
// refused; a missing or purged id is NotFound. A space purge erases every cube of the space
// committed before its batch (NotFound if the space does not exist).
// TTL: a cube expires at its newest version's expires_at, judged at the read's current time
// whatever its read point (callers pass it as read_time): expired, it is missing for every
// read; a cube expired by a batch's commit time is missing for its writes too, except an
// explicit purge, which erases it; a put or update whose expires_at is not after the commit
// time is refused; a reclamation (ReclaimExpired) erases the expired cubes as a purge would.
// Retention (Prune) drops a cube's oldest versions; a read only they could have answered is
// kPruned.
// Spaces scope: a read, update, retire or purge confined to a space finds no cube of another space
// (NotFound, as for a missing id, also when the space does not exist), and a parent must be in
// the cube's own space. An update may not name its cube as a parent, must set something, and is
// refused when it would repeat the latest version's content over valid times that version
// covers already.
//
// It is a model, not a second engine: maps and vectors, linear scans, no concurrency. Commit
// times are the caller's (usually the ones the engine acknowledged): the model never reads a
// clock, so a test decides what "the state after these writes at these times" is.

#ifndef LOCI_TESTS_MODEL_DB_MODEL_H_
#define LOCI_TESTS_MODEL_DB_MODEL_H_

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "loci/cube.h"
#include "loci/metric.h"
#include "loci/search.h"
#include "loci/status.h"
#include "loci/trace.h"
#include "loci/write_batch.h"

namespace loci::model {

// DbModel::Prune's pinned_until when no snapshot is live.
inline constexpr Timestamp kNothingPinned = std::numeric_limits<Timestamp>::min();

struct ModelField {
  uint32_t id;  // per space, 1, 2, ... in creation order
  uint32_t dim;
  Metric metric;
};

struct ModelSpace {
  std::map<std::string, ModelField> fields;  // the live ones
  std::set<std::string> dropped;             // names dropped and not defined again
  uint32_t field_ids = 0;                    // ids handed out, dropped fields' included

  // Defines (or redefines, under a new id) field `name`; it is no longer dropped.
  ModelField& AddField(const std::string& name, uint32_t dim, Metric metric);
};

struct ModelVersion {
  uint32_t number = 0;
  uint16_t kind = kPlaintext;
  CubeState state = CubeState::kActive;
  std::string payload;
  std::map<uint32_t, NamedVector> vectors;  // by field id
  std::vector<Attr> attrs;                  // sorted by key
  std::string source, agent;
  std::vector<CubeId> parents;
  std::string episode;
  float importance = 0.0f, trust = 1.0f;
  Timestamp valid_from = 0, valid_to = kForever, tx_from = 0, expires_at = kForever;
};

struct ModelCube {
  std::string space;
  std::vector<ModelVersion> versions;  // oldest first
};

// An edge version (loci/trace.h): versioned like a cube's, an unlink hiding it.
struct ModelEdgeVersion {
  uint32_t number = 0;
  float weight = 1.0f;
  bool unlinked = false;
  Timestamp valid_from = 0, valid_to = kForever, tx_from = 0;
};

struct ModelEdgeKey {
  CubeId from = 0, to = 0;
  uint32_t type = 0;
  auto operator<=>(const ModelEdgeKey&) const = default;
};

struct ModelEdge {
  std::string space;
  std::vector<ModelEdgeVersion> versions;  // oldest first
};

// What a model search asks (a subset of SearchRequest: one space, no kind/state/attr filter).
struct ModelSearch {
  std::string space;
  std::string field;
  std::vector<float> query;
  uint32_t k = 10;
  std::optional<Timestamp> window_from, window_to;
  uint32_t expand_hops = 0;
  std::vector<EdgeType> expand_types;
  bool expand_episode = false;
  float expand_decay = 0.5f;
  uint32_t expand_limit = 0;
};

// A read point with the time expiry is judged at, and an optional space confinement.
struct ModelRead {
  Timestamp as_of = kForever;
  Timestamp valid_at = kForever;
  Timestamp read_time = kForever;
  std::optional<std::string> space;
};

class DbModel {
 public:
  // The largest vector dimension accepted (Options' limit in every test that uses the model).
  static constexpr uint32_t kMaxVectorDim = 65536;

  const std::map<CubeId, ModelCube>& cubes() const { return cubes_; }
  const std::map<std::string, ModelSpace>& spaces() const { return spaces_; }
  const std::map<ModelEdgeKey, ModelEdge>& edges() const { return edges_; }
  // The id the next put gets: ids are 1, 2, 3... in the order of acknowledged puts; a failed
  // batch hands out none.
  CubeId next_id() const { return next_id_; }
  uint64_t version_count() const;

  // The status code Db::Write must return for `batch` committed at `ts`; on kOk the model has
  // applied it and *results holds (id, version) per operation, else the model is unchanged and
  // *results is empty. REQUIRES: `ts` is above every commit time applied before.
  Status::Code Apply(const WriteBatch& batch, Timestamp ts,
                     std::vector<WriteResult::OpResult>* results);

  // The read rule alone: the index in cube `id`'s versions of the one a read at (as_of,
  // valid_at) selects — among those committed at or before as_of whose valid interval contains
  // valid_at, the one committed last — whatever its state or expiry; nullopt if none (or no
  // such cube).
  std::optional<size_t> Visible(CubeId id, Timestamp as_of, Timestamp valid_at) const;

  // The tx_to of version `i` of cube `id` as seen at `as_of`: the commit time of the first
  // later version committed by then whose valid interval overlaps its own; kForever if none.
  // REQUIRES: the cube exists and has a version `i`.
  Timestamp TxTo(CubeId id, size_t i, Timestamp as_of) const;

  // What Get must return: the status code, and on kOk the cube (with tx_to as of `as_of`).
  // `as_of` is the transaction time read at, `read_time` the time expiry is judged at (a
  // version expires at read times >= its expires_at). A retired or expired visible version,
  // a missing cube and a cube outside `space` (when given) are all kNotFound; no visible
  // version of a cube whose oldest retained version is not version 1 is kPruned.
  Status::Code Get(CubeId id, Timestamp as_of, Timestamp valid_at, Timestamp read_time,
                   const std::optional<std::string>& space, MemCube* out) const;

  // What History must return as of `as_of`: every version committed by then, oldest first,
  // each with its tx_to as of `as_of`; kNotFound (and *out empty) if there is none, the cube
  // has expired at `read_time` or is outside `space` (when given); kPruned if there is none
  // but the cube's oldest retained version is not version 1.
  Status::Code History(CubeId id, Timestamp as_of, Timestamp read_time,
                       const std::optional<std::string>& space, std::vector<MemCube>* out) const;

  // TTL reclamation at `now` (Db::Checkpoint, a read-write open): erases, as a purge does,
  // every cube whose newest version has expired by then. Returns how many.
  size_t ReclaimExpired(Timestamp now);

  // Retention by count (Db::Checkpoint with Options::space_retention): each cube of a space
  // `keep_versions` names with N > 0 keeps its newest N versions, and every version committed
  // at or before `pinned_until` (the newest live snapshot's time) with all newer ones; while a
  // snapshot lives (pinned_until is not kNothingPinned) a cube still holding its version 1
  // keeps everything. Returns how many versions went.
  size_t Prune(const std::map<std::string, uint32_t>& keep_versions, Timestamp pinned_until);

  // --- the trace graph (loci/trace.h, loci/db.h), by linear scans.

  // Db::Trace: breadth first from `start`; within a hop, by the cube stepped from, then its
  // out-edges by (type, to), its in-edges by (type, from), then its next and previous events
  // (episode_order). `types` empty: every type.
  Status::Code Trace(CubeId start, const ModelRead& read, const std::vector<EdgeType>& types,
                     TraceDirection direction, bool episode_order, uint32_t hops, uint32_t limit,
                     std::vector<TraceStep>* out) const;
  // Db::Episode: the visible cubes of `id`'s episode by (valid_from, id), `before` before it
  // and `after` after it.
  Status::Code Episode(CubeId id, const ModelRead& read, uint32_t before, uint32_t after,
                       std::vector<MemCube>* out) const;
  // Db::Events (read.valid_at unused): each version a Get at (as_of, its valid_from) returns,
  // by (valid_from, id).
  Status::Code Events(const std::string& space, const std::optional<std::string>& episode,
                      Timestamp from, Timestamp to, const ModelRead& read, uint32_t limit,
                      std::vector<MemCube>* out) const;
  // Db::Changes, as of `as_of` (the engine's: everything published), without the cubes
  // expired at `read_time`.
  Status::Code Changes(const std::string& space, Timestamp from, Timestamp to, Timestamp as_of,
                       Timestamp read_time, uint32_t limit, std::vector<MemCube>* out) const;
  // Db::Search at the exhaustive setting (every candidate scored exactly; cosine and inner
  // product fields only): the k best visible cubes with a vector of the field — under a
  // window, each cube's newest version current at as_of whose valid interval meets it — then
  // the trace expansion of loci/search.h. Scores in double precision: compare approximately.
  Status::Code Search(const ModelSearch& search, const ModelRead& read,
                      std::vector<SearchHit>* out) const;
  // Db::List.
  Status::Code List(const std::string& space, const ModelRead& read, CubeId after, uint32_t limit,
                    std::vector<MemCube>* out) const;
  // Db::Provenance (read.space confines it as for Get): each node's parents and derived_from
  // targets readable at `read`, by id, marked "parent", "derived_from" or both; `depth`
  // levels (1..kMaxProvenanceDepth), at most kMaxProvenanceNodes nodes, counted as they are
  // finished; a cube already on the path is marked cycle and not expanded.
  Status::Code Provenance(CubeId id, const ModelRead& read, uint32_t depth,
                          ProvenanceNode* root) const;

 private:
  // The cube, if it exists and (when `space` is given) belongs to that space.
  const ModelCube* Find(CubeId id, const std::optional<std::string>& space) const;
  // For a write committed at write_ts_: Find's cube unless its newest version has expired by
  // then (an expired cube is missing for every write).
  const ModelCube* FindForWrite(CubeId id, const std::optional<std::string>& space) const;
  ModelCube* FindForWrite(CubeId id, const std::optional<std::string>& space);
  bool ExpiredBy(const ModelCube& cube, Timestamp t) const;
  // A read's status when no version of `cube` is visible: kPruned if its history was cut.
  static Status::Code NothingVisible(const ModelCube& cube);

  MemCube ToCube(CubeId id, const ModelCube& cube, size_t i, Timestamp as_of) const;
  // The index of the version of `id` a read returns (visible, not retired, not expired, in
  // read.space when given), or nullopt.
  std::optional<size_t> Readable(CubeId id, const ModelRead& read) const;
  // For a window search: the newest version of `id` current at read.as_of, not retired, not
  // expired, valid at some time in [from, to).
  std::optional<size_t> InWindow(CubeId id, const ModelRead& read, Timestamp from,
                                 Timestamp to) const;
  // Fills node->version and node->sources below `node` (Provenance); *nodes counts the nodes
  // finished so far, *path the ids from the root down to node's parent.
  Status::Code ProvenanceBelow(ProvenanceNode* node, const ModelRead& read, uint32_t depth,
                               uint32_t* nodes, std::vector<CubeId>* path) const;
  // The direct hits of a search (before expansion).
  Status::Code DirectHits(const ModelSearch& search, const ModelRead& read,
                          std::vector<SearchHit>* out) const;
  // The visible version of edge `key` at `read`, if linked there.
  const ModelEdgeVersion* VisibleEdge(const ModelEdgeKey& key, const ModelRead& read) const;
  // The visible cubes of `space`'s episode `episode` at `read`, by (valid_from, id).
  std::vector<CubeId> EpisodeOrder(const std::string& space, const std::string& episode,
                                   const ModelRead& read) const;
  // The id a placeholder names (kBatchRefBit | i: the id op i of `batch` got), or `ref`;
  // false if it names no earlier Put.
  bool ResolveRef(CubeId ref, const WriteBatch& batch, size_t op_index,
                  const std::vector<WriteResult::OpResult>& results, CubeId* id) const;
  Status::Code ResolveEdgeOp(const WriteBatch& batch, size_t op_index, Timestamp ts,
                             std::vector<WriteResult::OpResult>* results);

  // engine/batch_resolver.cc: an operation against the state so far.
  ModelSpace& SpaceFor(const std::string& name) { return spaces_[name]; }
  bool SetVectors(const std::string& space, const std::vector<NamedVector>& vectors,
                  ModelVersion* v);
  bool ParentsExist(const std::vector<CubeId>& parents, const std::string& space) const;
  Status::Code Finish(CubeId id, ModelVersion v, Timestamp ts,
                      std::vector<WriteResult::OpResult>* results);
  // `batch_first_id`: the first id the batch hands out (next_id_ before it).
  Status::Code Resolve(const WriteBatch& batch, size_t op_index, Timestamp ts,
                       CubeId batch_first_id, std::vector<WriteResult::OpResult>* results);
  // A purge of one cube, or of every cube of a space committed before the batch.
  Status::Code ResolvePurge(const WriteBatch::Op& op, CubeId batch_first_id,
                            std::vector<WriteResult::OpResult>* results);
  void Erase(CubeId id);

  std::map<CubeId, ModelCube> cubes_;
  std::map<std::string, ModelSpace> spaces_;
  std::map<ModelEdgeKey, ModelEdge> edges_;
  CubeId next_id_ = 1;
  Timestamp write_ts_ = 0;  // the commit time of the batch being resolved
};

}  // namespace loci::model

#endif  // LOCI_TESTS_MODEL_DB_MODEL_H_
