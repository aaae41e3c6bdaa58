// SpaceHandle: every call confined to one space, over Db's public methods.

#include "loci/space.h"

#include <string>
#include <utility>
#include <variant>

#include "loci/db.h"

namespace loci {

namespace {

// The space `op` names, or nullptr if it names none (an empty draft or field space, an Update
// or Retire without one).
const std::string* NamedSpace(const WriteBatch::Op& op) {
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    return put->draft.space.empty() ? nullptr : &put->draft.space;
  }
  if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
    return update->space ? &*update->space : nullptr;
  }
  if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
    return retire->space ? &*retire->space : nullptr;
  }
  if (const auto* define = std::get_if<WriteBatch::DefineFieldOp>(&op)) {
    return define->space.empty() ? nullptr : &define->space;
  }
  if (const auto* link = std::get_if<WriteBatch::LinkOp>(&op)) {
    return link->space ? &*link->space : nullptr;
  }
  if (const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op)) {
    return unlink->space ? &*unlink->space : nullptr;
  }
  if (const auto* purge = std::get_if<WriteBatch::PurgeOp>(&op)) {
    return purge->space ? &*purge->space : nullptr;
  }
  if (const auto* purge_space = std::get_if<WriteBatch::PurgeSpaceOp>(&op)) {
    return purge_space->space.empty() ? nullptr : &purge_space->space;
  }
  const auto& drop = std::get<WriteBatch::DropFieldOp>(op);
  return drop.space.empty() ? nullptr : &drop.space;
}

// Appends a copy of `op` to *out with its space set to `space`.
void AppendConfined(const WriteBatch::Op& op, const std::string& space, WriteBatch* out) {
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    CubeDraft draft = put->draft;
    draft.space = space;
    out->Put(std::move(draft));
  } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
    out->Update(update->id, update->patch, space);
  } else if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
    out->Retire(retire->id, retire->valid_to, space);
  } else if (const auto* define = std::get_if<WriteBatch::DefineFieldOp>(&op)) {
    out->DefineVectorField(space, define->field, define->dim, define->metric);
  } else if (const auto* link = std::get_if<WriteBatch::LinkOp>(&op)) {
    out->Link(space, link->from, link->to, link->type, link->weight, link->valid_from);
  } else if (const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op)) {
    out->Unlink(space, unlink->from, unlink->to, unlink->type, unlink->valid_to);
  } else if (const auto* purge = std::get_if<WriteBatch::PurgeOp>(&op)) {
    if (purge->if_expired) {
      out->PurgeIfExpired(purge->id, space);
    } else {
      out->Purge(purge->id, space);
    }
  } else if (std::holds_alternative<WriteBatch::PurgeSpaceOp>(op)) {
    out->PurgeSpace(space);
  } else {
    out->DropVectorField(space, std::get<WriteBatch::DropFieldOp>(op).field);
  }
}

}  // namespace

Status SpaceHandle::Confined(const std::string& what, const std::string& space) const {
  if (space == name_) return Status::OK();
  return Status::InvalidArgument(what + " names space '" + space +
                                 "', but this handle is confined to space '" + name_ + "'");
}

Status SpaceHandle::Scoped(const ReadOptions& options, ReadOptions* scoped) const {
  if (options.space) LOCI_RETURN_IF_ERROR(Confined("ReadOptions", *options.space));
  *scoped = options;
  scoped->space = name_;
  return Status::OK();
}

Result<CubeId> SpaceHandle::Put(const WriteOptions& options, const CubeDraft& draft) {
  if (!draft.space.empty()) LOCI_RETURN_IF_ERROR(Confined("the draft", draft.space));
  WriteBatch batch;
  CubeDraft confined = draft;
  confined.space = name_;
  batch.Put(std::move(confined));
  WriteResult result;
  LOCI_RETURN_IF_ERROR(db_->Write(options, batch, &result));
  return result.ops[0].id;
}

Result<uint32_t> SpaceHandle::Update(const WriteOptions& options, CubeId id,
                                     const CubePatch& patch) {
  WriteBatch batch;
  batch.Update(id, patch, name_);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(db_->Write(options, batch, &result));
  return result.ops[0].version;
}

Status SpaceHandle::Retire(const WriteOptions& options, CubeId id,
                           std::optional<Timestamp> valid_to) {
  WriteBatch batch;
  batch.Retire(id, valid_to, name_);
  return db_->Write(options, batch, nullptr);
}

Status SpaceHandle::Purge(const WriteOptions& options, CubeId id) {
  WriteBatch batch;
  batch.Purge(id, name_);
  return db_->Write(options, batch, nullptr);
}

Result<uint64_t> SpaceHandle::PurgeAll(const WriteOptions& options) {
  return db_->PurgeSpace(options, name_);
}

Status SpaceHandle::Write(const WriteOptions& options, const WriteBatch& batch,
                          WriteResult* result) {
  bool complete = true;  // every operation names this space already
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const std::string* named = NamedSpace(batch.ops()[i]);
    if (named == nullptr) {
      complete = false;
      continue;
    }
    Status s = Confined("operation " + std::to_string(i), *named);
    if (!s.ok()) return s;
  }
  if (complete) return db_->Write(options, batch, result);
  WriteBatch confined;
  for (const WriteBatch::Op& op : batch.ops()) AppendConfined(op, name_, &confined);
  return db_->Write(options, confined, result);
}

Status SpaceHandle::Get(const ReadOptions& options, CubeId id, MemCube* cube) {
  ReadOptions scoped;
  LOCI_RETURN_IF_ERROR(Scoped(options, &scoped));
  return db_->Get(scoped, id, cube);
}

Status SpaceHandle::History(const ReadOptions& options, CubeId id, std::vector<MemCube>* versions) {
  ReadOptions scoped;
  LOCI_RETURN_IF_ERROR(Scoped(options, &scoped));
  return db_->History(scoped, id, versions);
}

Status SpaceHandle::Search(const SearchRequest& request, std::vector<SearchHit>* hits) {
  for (const std::string& space : request.spaces) {
    Status s = Confined("the search request", space);
    if (!s.ok()) {
      hits->clear();
      return s;
    }
  }
  if (!request.spaces.empty()) return db_->Search(request, hits);
  SearchRequest scoped = request;
  scoped.spaces = {name_};
  return db_->Search(scoped, hits);
}

Result<uint32_t> SpaceHandle::Link(const WriteOptions& options, CubeId from, CubeId to,
                                   EdgeType type, float weight,
                                   std::optional<Timestamp> valid_from) {
  WriteBatch batch;
  batch.Link(name_, from, to, type, weight, valid_from);
  WriteResult result;
  LOCI_RETURN_IF_ERROR(db_->Write(options, batch, &result));
  return result.ops[0].version;
}

Status SpaceHandle::Unlink(const WriteOptions& options, CubeId from, CubeId to, EdgeType type,
                           std::optional<Timestamp> valid_to) {
  WriteBatch batch;
  batch.Unlink(name_, from, to, type, valid_to);
  return db_->Write(options, batch, nullptr);
}

Result<CubeId> SpaceHandle::Fuse(const WriteOptions& options, const std::vector<CubeId>& ids,
                                 CubeDraft draft) {
  if (!draft.space.empty()) LOCI_RETURN_IF_ERROR(Confined("the draft", draft.space));
  draft.space = name_;
  return db_->Fuse(options, ids, std::move(draft));
}

Status SpaceHandle::Provenance(const ReadOptions& options, CubeId id, uint32_t depth,
                               ProvenanceNode* root) {
  ReadOptions scoped;
  LOCI_RETURN_IF_ERROR(Scoped(options, &scoped));
  return db_->Provenance(scoped, id, depth, root);
}

Status SpaceHandle::Trace(const TraceRequest& request, std::vector<TraceStep>* steps) {
  steps->clear();
  if (request.space) LOCI_RETURN_IF_ERROR(Confined("the trace request", *request.space));
  TraceRequest scoped = request;
  scoped.space = name_;
  return db_->Trace(scoped, steps);
}

Status SpaceHandle::Episode(const EpisodeRequest& request, std::vector<MemCube>* events) {
  events->clear();
  if (request.space) LOCI_RETURN_IF_ERROR(Confined("the episode request", *request.space));
  EpisodeRequest scoped = request;
  scoped.space = name_;
  return db_->Episode(scoped, events);
}

Status SpaceHandle::Events(const EventsRequest& request, std::vector<MemCube>* events) {
  events->clear();
  if (!request.space.empty()) LOCI_RETURN_IF_ERROR(Confined("the events request", request.space));
  EventsRequest scoped = request;
  scoped.space = name_;
  return db_->Events(scoped, events);
}

Status SpaceHandle::Changes(const ChangesRequest& request, std::vector<MemCube>* versions) {
  versions->clear();
  if (!request.space.empty()) {
    LOCI_RETURN_IF_ERROR(Confined("the changes request", request.space));
  }
  ChangesRequest scoped = request;
  scoped.space = name_;
  return db_->Changes(scoped, versions);
}

Status SpaceHandle::List(const ListRequest& request, std::vector<MemCube>* cubes) {
  cubes->clear();
  if (!request.space.empty()) LOCI_RETURN_IF_ERROR(Confined("the list request", request.space));
  ListRequest scoped = request;
  scoped.space = name_;
  return db_->List(scoped, cubes);
}

}  // namespace loci
