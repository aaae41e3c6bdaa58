// WriteBatch: several operations committed atomically — after a crash either all of them are
// present or none is, and a concurrent reader never sees part of a batch.

#ifndef LOCI_WRITE_BATCH_H_
#define LOCI_WRITE_BATCH_H_

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "loci/cube.h"
#include "loci/metric.h"
#include "loci/trace.h"

namespace loci {

// Ids with this bit set are placeholders, valid inside one batch only: WriteBatch::Put returns
// kBatchRefBit | i for the Put at operation index i, and a later Link, Unlink or parent list of
// the same batch may name the cube that Put creates by it. Real ids never have the bit.
inline constexpr CubeId kBatchRefBit = CubeId{1} << 63;

class WriteBatch {
 public:
  struct PutOp {
    CubeDraft draft;
  };
  struct UpdateOp {
    CubeId id;
    CubePatch patch;
    // The space the cube must belong to; nullopt: any. See Update below.
    std::optional<std::string> space;
  };
  struct RetireOp {
    CubeId id;
    std::optional<Timestamp> valid_to;  // default: the commit time
    // The space the cube must belong to; nullopt: any. See Retire below.
    std::optional<std::string> space;
  };
  struct DefineFieldOp {
    std::string space;
    std::string field;
    uint32_t dim;
    Metric metric;
  };
  struct DropFieldOp {
    std::string space;
    std::string field;
  };
  struct LinkOp {
    std::optional<std::string> space;  // nullopt: the space of `from`
    CubeId from;
    CubeId to;
    EdgeType type;
    float weight;
    // Default: when both ends hold — the later valid_from of their latest versions.
    std::optional<Timestamp> valid_from;
  };
  struct UnlinkOp {
    std::optional<std::string> space;
    CubeId from;
    CubeId to;
    EdgeType type;
    std::optional<Timestamp> valid_to;  // default: the commit time
  };
  struct PurgeOp {
    CubeId id;
    // The space the cube must belong to; nullopt: any. See Purge below.
    std::optional<std::string> space;
    bool if_expired = false;  // see PurgeIfExpired
  };
  struct PurgeSpaceOp {
    std::string space;
  };
  using Op = std::variant<PutOp, UpdateOp, RetireOp, DefineFieldOp, DropFieldOp, LinkOp, UnlinkOp,
                          PurgeOp, PurgeSpaceOp>;

  // Appends a Put; its id is reported in WriteResult::ops at the same index. Returns a
  // placeholder for that id (see kBatchRefBit) that later operations of this batch may use.
  CubeId Put(CubeDraft draft) {
    ops_.push_back(PutOp{std::move(draft)});
    return kBatchRefBit | (ops_.size() - 1);
  }

  // Appends an Update of cube `id` (see Db::Update); its new version number is reported in
  // WriteResult::ops at the same index. With `space`, the update is confined to that space: a
  // cube of another space, or any cube if the space does not exist, fails the batch with
  // exactly the NotFound ("cube <id> does not exist") of an id that was never assigned.
  void Update(CubeId id, CubePatch patch, std::optional<std::string> space = std::nullopt) {
    ops_.push_back(UpdateOp{id, std::move(patch), std::move(space)});
  }

  // Appends a Retire of cube `id` at valid time `valid_to` (default: the commit time; see
  // Db::Retire). `space` confines it as it does an Update.
  void Retire(CubeId id, std::optional<Timestamp> valid_to = std::nullopt,
              std::optional<std::string> space = std::nullopt) {
    ops_.push_back(RetireOp{id, valid_to, std::move(space)});
  }

  // Declares vector field `field` of `space` (creating the space if needed) with its dimension
  // and metric. A no-op if it exists with the same dimension and metric; the batch fails with
  // InvalidArgument if it exists with others. Its WriteResult entry has id 0, version 0.
  void DefineVectorField(std::string space, std::string field, uint32_t dim, Metric metric) {
    ops_.push_back(DefineFieldOp{std::move(space), std::move(field), dim, metric});
  }

  // Drops vector field `field` of `space`, e.g. the old embedding model's once queries use the
  // new one. The batch fails with InvalidArgument naming the space and field if the space or a
  // (live) field of that name does not exist. Operations apply in batch order: a Put or Update
  // after the drop that sets the field fails the batch, a DefineVectorField after it defines
  // the name anew. Its WriteResult entry has id 0, version 0.
  //
  // Once committed, the field is gone for every reader, whatever its read point: the drop is a
  // schema change, not a versioned write. Search on it fails like a search on a field never
  // defined; Get and History return no vector of it from any version, even versions committed
  // before the drop (as_of reads included); Stats no longer lists it, and its index memory is
  // released. Other fields of the space, and their search answers, are unchanged. A write that
  // names the field fails with InvalidArgument (a Put does not silently create it again) until
  // DefineVectorField defines the name again, with any dimension and metric: the new field is a
  // different field (ids are never reused), so vectors stored under the dropped one never
  // reappear. The drop is logged and checkpointed like any write. The dropped vectors' bytes
  // stay in the blob arena (there is no blob GC yet), but nothing reads them again.
  void DropVectorField(std::string space, std::string field) {
    ops_.push_back(DropFieldOp{std::move(space), std::move(field)});
  }

  // Appends a Link: edge (from, to, type) between two cubes of one space, with `weight`
  // (finite), valid from `valid_from` on (default: the later valid_from of the two ends'
  // latest versions, so that linking two facts of the past relates them in the past). Linking an
  // edge that exists writes a new version of it. `from` and `to` are ids or placeholders of Puts
  // earlier in this batch. The batch fails with InvalidArgument for a self-loop, a reserved or
  // unknown type, a non-finite weight, and an end that does not exist, or is in another space than
  // the other end (or than `space`, when given): another space's cube is reported exactly as a
  // missing one ("edge end cube <id> does not exist"). Linking a retired cube is allowed
  // (a `supersedes` edge to a fact that was retired is history). Its WriteResult entry has id
  // `from` and the edge's new version number.
  void Link(std::optional<std::string> space, CubeId from, CubeId to, EdgeType type,
            float weight = 1.0f, std::optional<Timestamp> valid_from = std::nullopt) {
    ops_.push_back(LinkOp{std::move(space), from, to, type, weight, valid_from});
  }

  // Appends an Unlink: ends the validity of edge (from, to, type) at `valid_to` (default: the
  // commit time), as Retire ends a cube's: reads at valid times from then on do not see it,
  // reads of earlier ones still do. NotFound if the edge was never linked (or an endpoint is
  // outside `space`); InvalidArgument if its latest version is an unlink already. Its
  // WriteResult entry has id `from` and the edge's new version number.
  void Unlink(std::optional<std::string> space, CubeId from, CubeId to, EdgeType type,
              std::optional<Timestamp> valid_to = std::nullopt) {
    ops_.push_back(UnlinkOp{std::move(space), from, to, type, valid_to});
  }

  // Appends a Purge of cube `id`: the cube is erased — every version, whatever its state
  // (retired and expired cubes included), with its payload, vectors and attributes, and every
  // edge to or from it with the edges' history. Once the batch commits, every read at every read
  // point (as_of reads and Snapshots taken before the purge included: erasure overrides history)
  // answers as for an id never assigned, and the id is never assigned again. Db::Write returns
  // once the bytes are gone from the database directory (loci/db.h, Db::Write). NotFound if
  // the cube does not exist (or was purged, or is outside `space`, when given: confined as an
  // Update is). A placeholder id is InvalidArgument: a cube is purged once committed. Operations
  // after it in the batch find the cube missing. Its WriteResult entry has id `id`, version 0.
  void Purge(CubeId id, std::optional<std::string> space = std::nullopt) {
    ops_.push_back(PurgeOp{id, std::move(space)});
  }

  // Appends a Purge of cube `id` if its newest version has expired by the commit time (TTL
  // reclamation; the engine issues these itself, see CubeDraft::expires_at), and nothing
  // otherwise — also when the cube does not exist: never an error. Its WriteResult entry has
  // id `id` if the cube was erased, 0 if not; version 0.
  // `space` confines it as it does a Purge (a cube of another space is left alone).
  void PurgeIfExpired(CubeId id, std::optional<std::string> space = std::nullopt) {
    ops_.push_back(PurgeOp{id, std::move(space), true});
  }

  // Appends a Purge of every cube of `space` committed before this batch, as if each were
  // purged by Purge above (in one operation: the WAL record lists their ids, and the batch is
  // completed with one checkpoint however many cubes it erases). The space itself and its
  // vector fields remain, empty; cubes this batch puts are kept, whatever their order (a
  // cube is purged once committed), and later operations of the batch find the purged cubes
  // missing. NotFound if the space does not exist; a space with no cubes is purged of nothing.
  // Its WriteResult entry has id 0, version 0, and `erased` the number of cubes erased (expired
  // ones are erased too, but not counted: they were missing already).
  void PurgeSpace(std::string space) { ops_.push_back(PurgeSpaceOp{std::move(space)}); }

  size_t size() const { return ops_.size(); }
  bool empty() const { return ops_.empty(); }
  void Clear() { ops_.clear(); }
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

// What a committed batch produced, one entry per operation in order.
struct WriteResult {
  struct OpResult {
    CubeId id;            // for a Put: the id the engine assigned
    uint32_t version;     // the version this operation created
    uint64_t erased = 0;  // for a PurgeSpace: the number of cubes it erased
  };
  std::vector<OpResult> ops;
  Timestamp commit_time = 0;  // the transaction time of every version in the batch
};

}  // namespace loci

#endif  // LOCI_WRITE_BATCH_H_
