// SpaceHandle: a Db confined to one space (tenant), so that code acting for one user cannot
// read or change another's cubes by forgetting to say whose they are.
//
//   loci::SpaceHandle alice = db->Space("alice");
//   loci::CubeDraft draft;                 // draft.space left empty: the handle sets it
//   draft.payload = "likes green tea";
//   loci::Result<loci::CubeId> id = alice.Put(loci::WriteOptions(), draft);
//   loci::MemCube cube;
//   loci::Status s = alice.Get(loci::ReadOptions(), *id, &cube);
//
// Every call is confined to the handle's space: a cube of another space is indistinguishable
// from a missing one (the same NotFound "cube <id> does not exist", for reads and for writes,
// and the same "parent cube <id> does not exist" for a parent), and an argument that names
// another space is InvalidArgument. A handle is a small value (a Db pointer and a name): cheap
// to copy, safe to use from any number of threads at once, valid while its Db is open.
// It is built on Db's public methods only and adds no state to the database.

#ifndef LOCI_SPACE_H_
#define LOCI_SPACE_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loci/cube.h"
#include "loci/options.h"
#include "loci/search.h"
#include "loci/status.h"
#include "loci/trace.h"
#include "loci/write_batch.h"

namespace loci {

class Db;

class SpaceHandle {
 public:
  // A handle confined to space `name` of *db. Usually obtained from Db::Space.
  // REQUIRES: db outlives the handle.
  SpaceHandle(Db* db, std::string name) : db_(db), name_(std::move(name)) {}

  // The space every call is confined to.
  const std::string& name() const { return name_; }

  // Db::Put of `draft` in this space: an empty draft.space is set to it. InvalidArgument if
  // draft.space names another space; otherwise as Db::Put.
  Result<CubeId> Put(const WriteOptions& options, const CubeDraft& draft);

  // Db::Update of cube `id`, which must belong to this space: a cube of another space is
  // NotFound "cube <id> does not exist", exactly like an id never assigned. New parents must
  // belong to this space too. Otherwise as Db::Update.
  Result<uint32_t> Update(const WriteOptions& options, CubeId id, const CubePatch& patch);

  // Db::Retire of cube `id`, confined to this space like Update.
  Status Retire(const WriteOptions& options, CubeId id,
                std::optional<Timestamp> valid_to = std::nullopt);

  // Db::Purge of cube `id`, confined to this space like Update.
  Status Purge(const WriteOptions& options, CubeId id);

  // Db::PurgeSpace of this space: erases every cube of it; returns their number.
  Result<uint64_t> PurgeAll(const WriteOptions& options);

  // WriteBatch::Link confined to this space: an end in another space is refused as missing.
  Result<uint32_t> Link(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                        float weight = 1.0f, std::optional<Timestamp> valid_from = std::nullopt);
  // WriteBatch::Unlink confined to this space.
  Status Unlink(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                std::optional<Timestamp> valid_to = std::nullopt);

  // Db::Write of `batch` with every operation confined to this space: a Put's empty
  // draft.space is set to it; an Update, Retire, Purge, Link or Unlink without a space gets this
  // one; a vector field definition or drop with an empty space gets this one. InvalidArgument,
  // before anything is written, if any operation names another space. The batch is copied only if
  // an operation needs its space filled in.
  Status Write(const WriteOptions& options, const WriteBatch& batch, WriteResult* result);

  // Db::Get with options.space set to this space: a cube of another space is NotFound
  // "cube <id> does not exist". InvalidArgument if options.space names another space.
  Status Get(const ReadOptions& options, CubeId id, MemCube* cube);

  // Db::History confined like Get.
  Status History(const ReadOptions& options, CubeId id, std::vector<MemCube>* versions);

  // Db::Search in this space: an empty request.spaces searches it; InvalidArgument if
  // request.spaces names any other space. Otherwise as Db::Search.
  Status Search(const SearchRequest& request, std::vector<SearchHit>* hits);

  // Db::Fuse in this space: an empty draft.space is set to it; InvalidArgument if it names
  // another; a fused id of another space is refused as missing.
  Result<CubeId> Fuse(const WriteOptions& options, const std::vector<CubeId>& ids, CubeDraft draft);
  // Db::Provenance confined like Get.
  Status Provenance(const ReadOptions& options, CubeId id, uint32_t depth, ProvenanceNode* root);

  // The trace queries in this space (loci/trace.h): a request's space, if set, must be this
  // one (else InvalidArgument); a cube of another space is NotFound as in Get.
  Status Trace(const TraceRequest& request, std::vector<TraceStep>* steps);
  Status Episode(const EpisodeRequest& request, std::vector<MemCube>* events);
  Status Events(const EventsRequest& request, std::vector<MemCube>* events);
  Status Changes(const ChangesRequest& request, std::vector<MemCube>* versions);
  Status List(const ListRequest& request, std::vector<MemCube>* cubes);

 private:
  // OK if `space`, the space argument `what` names, is this space; InvalidArgument otherwise.
  Status Confined(const std::string& what, const std::string& space) const;
  // options with space set to this one, or InvalidArgument if it names another.
  Status Scoped(const ReadOptions& options, ReadOptions* scoped) const;

  Db* db_;
  std::string name_;
};

}  // namespace loci

#endif  // LOCI_SPACE_H_
