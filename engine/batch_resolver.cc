// Turning user operations into versions and catalog changes.

#include "engine/batch_resolver.h"

#include <algorithm>
#include <cstring>

#include "common/time_format.h"
#include "engine/space_scope.h"
#include "index/vector_field.h"

namespace loci::engine {

GroupState::GroupState(const Catalog* catalog, LatestFn latest, LatestEdgeFn latest_edge,
                       BlobFn blob, CubeId next_id)
    : base_catalog_(catalog),
      latest_(std::move(latest)),
      latest_edge_(std::move(latest_edge)),
      blob_(std::move(blob)),
      next_id_(next_id) {}

const Version* GroupState::Latest(CubeId id) const {
  auto it = pending_.find(id);
  return it != pending_.end() ? it->second : latest_(id);
}

const index::EdgeVersion* GroupState::LatestEdge(const index::EdgeKey& key) const {
  auto it = pending_edges_.find(key);
  return it != pending_edges_.end() ? it->second : latest_edge_(key);
}

bool GroupState::BlobHolds(const blob::BlobRef& ref, std::string_view bytes) const {
  if (ref.length != bytes.size()) return false;
  if (bytes.empty()) return true;  // an empty payload has no blob
  const char* stored = blob_(ref);
  return stored != nullptr && std::memcmp(stored, bytes.data(), bytes.size()) == 0;
}

void GroupState::Accept(ResolvedBatch* batch) {
  // Nothing reads the batch's catalog after this: take it instead of copying it.
  if (batch->catalog) changed_catalog_ = std::move(batch->catalog);
  for (const auto& v : batch->versions) pending_[v->id] = v.get();
  for (const auto& e : batch->edges) pending_edges_[e->key] = e.get();
  for (const PurgeEntry& p : batch->purges) pending_[p.id] = nullptr;
  next_id_ = batch->next_id;
}

namespace {

// Resolution of one batch: a private view over the group state that is merged only on success.
class Resolver {
 public:
  Resolver(const WriteBatch& batch, const GroupState* state, Timestamp commit_time,
           ResolvedBatch* out)
      : batch_(batch),
        state_(state),
        commit_time_(commit_time),
        out_(out),
        next_id_(state->next_id()) {}

  Status Put(const CubeDraft& d, const OpBlobs& blobs);
  Status Update(const WriteBatch::UpdateOp& op, const OpBlobs& blobs);
  Status Retire(const WriteBatch::RetireOp& op);
  Status DefineField(const WriteBatch::DefineFieldOp& op);
  Status DropField(const WriteBatch::DropFieldOp& op);
  Status Link(const WriteBatch::LinkOp& op);
  Status Unlink(const WriteBatch::UnlinkOp& op);
  Status Purge(const WriteBatch::PurgeOp& op);
  Status PurgeSpace(const WriteBatch::PurgeSpaceOp& op);
  CubeId next_id() const { return next_id_; }

 private:
  const Catalog& catalog() const { return out_->catalog ? *out_->catalog : state_->catalog(); }
  Catalog* MutableCatalog() {
    if (!out_->catalog) out_->catalog = std::make_unique<Catalog>(state_->catalog());
    return out_->catalog.get();
  }
  // The newest version of `id` as this batch's operations see it: nullptr if the cube does not
  // exist, was purged, or has expired by the commit time (an expired cube is missing for every
  // operation; ReclaimExpired erases it).
  const Version* Latest(CubeId id) const {
    const Version* v = LatestEvenExpired(id);
    return v != nullptr && query::CubeExpired(*v, commit_time_) ? nullptr : v;
  }
  const Version* LatestEvenExpired(CubeId id) const {
    auto it = local_.find(id);
    return it != local_.end() ? it->second : state_->Latest(id);
  }
  // InvalidArgument if `expires_at` is set and not after the commit time.
  Status CheckExpiry(const std::optional<Timestamp>& expires_at) const;
  const index::EdgeVersion* LatestEdge(const index::EdgeKey& key) const {
    auto it = local_edges_.find(key);
    return it != local_edges_.end() ? it->second : state_->LatestEdge(key);
  }
  // The id `ref` stands for: itself, or for a placeholder (kBatchRefBit) the id of the Put it
  // names, which must come earlier in the batch.
  Status ResolveRef(CubeId ref, CubeId* id) const;
  Status ResolveRefs(std::vector<CubeId>* ids) const;
  // The space and ends of an edge operation: both ends must exist in one space (`space`'s,
  // when given); one that does not — or is in another space — is refused as missing.
  // *both_from is when both ends' latest versions hold (the later valid_from).
  Status ResolveEdge(const std::optional<std::string>& space, CubeId from, CubeId to, uint32_t type,
                     index::EdgeKey* key, uint32_t* space_id, Timestamp* both_from) const;
  Status FinishEdge(std::unique_ptr<index::EdgeVersion> e);
  const SpaceDef* SpaceFor(const std::string& name);
  Status FieldFor(uint32_t space_id, const NamedVector& v, const FieldDef** field);
  Status SetVectors(uint32_t space_id, const std::vector<NamedVector>& vectors,
                    const std::vector<blob::BlobRef>& refs, std::vector<VectorRef>* out);
  // Every parent must exist in space `space_id` (the cube's own).
  Status CheckParents(const std::vector<CubeId>& parents, uint32_t space_id) const;
  // The latest version of `id`, which must exist (in `space`, if given) and not be retired.
  Status LatestLive(CubeId id, const std::optional<std::string>& space, const Version** v) const;
  // Whether `v`, made by applying `op`'s patch to `prev`, says nothing `prev` does not: the
  // same content (payload and vector bytes included) over valid times `prev` covers already.
  bool ChangesNothing(const Version& prev, const Version& v, const WriteBatch::UpdateOp& op,
                      const OpBlobs& blobs) const;
  Status Finish(std::unique_ptr<Version> v);

  const WriteBatch& batch_;
  const GroupState* const state_;
  const Timestamp commit_time_;
  ResolvedBatch* const out_;
  CubeId next_id_;
  std::unordered_map<CubeId, const Version*> local_;
  std::unordered_map<index::EdgeKey, const index::EdgeVersion*, index::EdgeKeyHash> local_edges_;
};

Status Resolver::ResolveRef(CubeId ref, CubeId* id) const {
  if ((ref & kBatchRefBit) == 0) {
    *id = ref;
    return Status::OK();
  }
  const uint64_t index = ref & ~kBatchRefBit;
  // Results so far are one per operation resolved, so the Put must be among them.
  if (index >= out_->results.size() ||
      !std::holds_alternative<WriteBatch::PutOp>(batch_.ops()[index])) {
    return Status::InvalidArgument("placeholder id " + std::to_string(ref) +
                                   " names no earlier Put of this batch");
  }
  *id = out_->results[index].id;
  return Status::OK();
}

Status Resolver::ResolveRefs(std::vector<CubeId>* ids) const {
  for (CubeId& id : *ids) LOCI_RETURN_IF_ERROR(ResolveRef(id, &id));
  return Status::OK();
}

Status Resolver::ResolveEdge(const std::optional<std::string>& space, CubeId from, CubeId to,
                             uint32_t type, index::EdgeKey* key, uint32_t* space_id,
                             Timestamp* both_from) const {
  LOCI_RETURN_IF_ERROR(ResolveRef(from, &key->from));
  LOCI_RETURN_IF_ERROR(ResolveRef(to, &key->to));
  key->type = type;
  if (key->from == key->to) {
    return Status::InvalidArgument("an edge from cube " + std::to_string(key->from) + " to itself");
  }
  // A missing end, or one in another space than the other end (or than `space`), is
  // InvalidArgument with one message: another space's cube reads as missing (space_scope.h),
  // as a parent's does.
  const Version* a = Latest(key->from);
  if (a != nullptr && space && !InSpace(*a, *space, catalog())) a = nullptr;
  if (a == nullptr) {
    return Status::InvalidArgument("edge end cube " + std::to_string(key->from) +
                                   " does not exist");
  }
  const Version* b = Latest(key->to);
  if (b == nullptr || b->space_id != a->space_id) {
    return Status::InvalidArgument("edge end cube " + std::to_string(key->to) + " does not exist");
  }
  *space_id = a->space_id;
  *both_from = std::max(a->valid_from, b->valid_from);
  return Status::OK();
}

Status Resolver::FinishEdge(std::unique_ptr<index::EdgeVersion> e) {
  if (e->valid_from >= e->valid_to) {
    return Status::InvalidArgument("edge valid interval is empty or inverted");
  }
  e->tx_from = commit_time_;
  local_edges_[e->key] = e.get();
  out_->results.push_back(WriteResult::OpResult{e->key.from, e->number});
  out_->edges.push_back(std::move(e));
  return Status::OK();
}

std::string EdgeName(const index::EdgeKey& key) {
  return "edge " + std::to_string(key.from) + " -" + EdgeTypeName(static_cast<EdgeType>(key.type)) +
         "-> " + std::to_string(key.to);
}

Status Resolver::Link(const WriteBatch::LinkOp& op) {
  auto e = std::make_unique<index::EdgeVersion>();
  Timestamp both_from;
  LOCI_RETURN_IF_ERROR(ResolveEdge(op.space, op.from, op.to, static_cast<uint32_t>(op.type),
                                   &e->key, &e->space_id, &both_from));
  const index::EdgeVersion* prev = LatestEdge(e->key);
  e->number = prev == nullptr ? 1 : prev->number + 1;
  e->prev = prev;
  e->weight = op.weight;
  // By default an edge holds from when both its ends do: linking two facts of the past
  // relates them in the past, where reads of that time look for it.
  e->valid_from = op.valid_from.value_or(both_from);
  return FinishEdge(std::move(e));
}

Status Resolver::Unlink(const WriteBatch::UnlinkOp& op) {
  index::EdgeKey key;
  uint32_t space_id;
  CubeId unused;
  // A bad placeholder is the batch's mistake, not a missing edge.
  LOCI_RETURN_IF_ERROR(ResolveRef(op.from, &unused));
  LOCI_RETURN_IF_ERROR(ResolveRef(op.to, &unused));
  Timestamp both_from;
  Status s = ResolveEdge(op.space, op.from, op.to, static_cast<uint32_t>(op.type), &key, &space_id,
                         &both_from);
  const index::EdgeVersion* prev = s.ok() ? LatestEdge(key) : nullptr;
  if (prev == nullptr) {
    // A missing end, or one in another space, reads as an edge that was never linked.
    return Status::NotFound("edge " + std::to_string(op.from) + " -" + EdgeTypeName(op.type) +
                            "-> " + std::to_string(op.to) + " does not exist");
  }
  if (prev->unlinked) return Status::InvalidArgument(EdgeName(key) + " is unlinked already");
  auto e = std::make_unique<index::EdgeVersion>(*prev);
  e->number = prev->number + 1;
  e->prev = prev;
  e->unlinked = true;
  // Like a retirement: a version valid from the end of validity on, which hides the edge.
  e->valid_from = op.valid_to.value_or(commit_time_);
  e->valid_to = kForever;
  return FinishEdge(std::move(e));
}

const SpaceDef* Resolver::SpaceFor(const std::string& name) {
  if (const SpaceDef* s = catalog().FindSpace(name)) return s;
  const SpaceDef& s = MutableCatalog()->AddSpace(name);
  out_->spaces.push_back(SpaceEntry{s.id, s.name});
  return &s;
}

Status Resolver::FieldFor(uint32_t space_id, const NamedVector& v, const FieldDef** field) {
  const SpaceDef* space = catalog().SpaceById(space_id);
  const FieldDef* f = space->FindField(v.field);
  if (f == nullptr && space->FindFieldEvenDropped(v.field) != nullptr) {
    // Not created again by first use: a writer still on the old model must not bring it back.
    return Status::InvalidArgument("vector field '" + v.field + "' of space '" + space->name +
                                   "' was dropped (DefineVectorField defines it anew)");
  }
  if (f == nullptr) {
    // A field the space does not have yet is created by its first use: this dimension, cosine.
    const FieldDef& created = MutableCatalog()->AddField(
        space_id, v.field, static_cast<uint32_t>(v.values.size()), Metric::kCosine);
    out_->fields.push_back(FieldEntry{space_id, created});
    f = &created;
  }
  // The writer's thread already rejected NaN/Inf (validation.cc): here, only what the field
  // decides, on the serialized leader.
  LOCI_RETURN_IF_ERROR(index::ValidateVectorFits(v.field, v.values, f->dim, f->metric)
                           .WithContext("space '" + space->name + "'"));
  *field = f;
  return Status::OK();
}

Status Resolver::SetVectors(uint32_t space_id, const std::vector<NamedVector>& vectors,
                            const std::vector<blob::BlobRef>& refs, std::vector<VectorRef>* out) {
  for (size_t i = 0; i < vectors.size(); ++i) {
    const FieldDef* field;
    LOCI_RETURN_IF_ERROR(FieldFor(space_id, vectors[i], &field));
    auto it = std::find_if(out->begin(), out->end(),
                           [&](const VectorRef& r) { return r.field_id == field->id; });
    if (it != out->end()) {
      it->blob = refs[i];
    } else {
      out->push_back(VectorRef{field->id, refs[i]});
    }
  }
  std::sort(out->begin(), out->end(),
            [](const VectorRef& a, const VectorRef& b) { return a.field_id < b.field_id; });
  return Status::OK();
}

Status Resolver::CheckParents(const std::vector<CubeId>& parents, uint32_t space_id) const {
  for (CubeId p : parents) {
    // Another space's cube is refused exactly like a missing one: the message must not tell a
    // writer confined to one space which ids exist elsewhere.
    const Version* parent = Latest(p);
    if (parent == nullptr || parent->space_id != space_id) {
      return Status::InvalidArgument("parent cube " + std::to_string(p) + " does not exist");
    }
  }
  return Status::OK();
}

Status Resolver::LatestLive(CubeId id, const std::optional<std::string>& space,
                            const Version** v) const {
  *v = Latest(id);
  // Another space's cube is not there for an operation confined to a space (space_scope.h).
  if (*v != nullptr && space && !InSpace(**v, *space, catalog())) *v = nullptr;
  if (*v == nullptr) return CubeNotFound(id);
  if ((*v)->state == CubeState::kRetired) {
    return Status::InvalidArgument("cube " + std::to_string(id) + " is retired");
  }
  return Status::OK();
}

bool Resolver::ChangesNothing(const Version& prev, const Version& v, const WriteBatch::UpdateOp& op,
                              const OpBlobs& blobs) const {
  const CubePatch& p = op.patch;
  // A patch that sets a valid interval says when the content holds: that is information even
  // when the content is the same.
  if (p.valid_from || p.valid_to) return false;
  if (v.valid_from < prev.valid_from || v.valid_to > prev.valid_to) return false;
  if (v.kind != prev.kind || v.state != prev.state || v.expires_at != prev.expires_at ||
      v.importance != prev.importance || v.trust != prev.trust || v.attrs != prev.attrs ||
      v.source != prev.source || v.agent != prev.agent || v.parents != prev.parents ||
      v.episode != prev.episode) {
    return false;
  }
  if (p.payload ? !state_->BlobHolds(prev.payload, *p.payload) : v.payload != prev.payload) {
    return false;
  }
  if (v.vectors.size() != prev.vectors.size()) return false;
  for (size_t i = 0; i < v.vectors.size(); ++i) {
    const VectorRef& now = v.vectors[i];
    const VectorRef& before = prev.vectors[i];
    if (now.field_id != before.field_id) return false;
    if (now.blob == before.blob) continue;  // kept from prev
    // Set by the patch: compare the floats given with the ones stored.
    const auto set = std::find(blobs.vectors.begin(), blobs.vectors.end(), now.blob);
    if (set == blobs.vectors.end()) return false;
    const std::vector<float>& values = p.set_vectors[set - blobs.vectors.begin()].values;
    const std::string_view bytes(reinterpret_cast<const char*>(values.data()),
                                 values.size() * sizeof(float));
    if (!state_->BlobHolds(before.blob, bytes)) return false;
  }
  return true;
}

Status Resolver::Finish(std::unique_ptr<Version> v) {
  if (v->valid_from >= v->valid_to) {
    return Status::InvalidArgument("valid interval is empty or inverted (valid_from " +
                                   FormatRfc3339(v->valid_from) + " >= valid_to " +
                                   FormatRfc3339(v->valid_to) + ")");
  }
  // An update or retirement copies its predecessor's vectors: not those of dropped fields.
  const SpaceDef* space = catalog().SpaceById(v->space_id);
  std::erase_if(v->vectors,
                [&](const VectorRef& r) { return space->LiveFieldById(r.field_id) == nullptr; });
  v->tx_from = commit_time_;
  local_[v->id] = v.get();
  out_->results.push_back(WriteResult::OpResult{v->id, v->number});
  out_->versions.push_back(std::move(v));
  return Status::OK();
}

Status Resolver::CheckExpiry(const std::optional<Timestamp>& expires_at) const {
  if (!expires_at || *expires_at > commit_time_) return Status::OK();
  return Status::InvalidArgument("expires_at " + FormatRfc3339(*expires_at) +
                                 " is not after the commit time " + FormatRfc3339(commit_time_));
}

Status Resolver::Put(const CubeDraft& d, const OpBlobs& blobs) {
  if (next_id_ > RecordTable::kMaxId) return Status::InvalidArgument("cube id space exhausted");
  LOCI_RETURN_IF_ERROR(CheckExpiry(d.expires_at));
  auto v = std::make_unique<Version>();
  v->id = next_id_;
  v->number = 1;
  v->space_id = SpaceFor(d.space)->id;
  v->parents = d.parents;
  LOCI_RETURN_IF_ERROR(ResolveRefs(&v->parents));
  LOCI_RETURN_IF_ERROR(CheckParents(v->parents, v->space_id));
  v->kind = d.kind;
  v->state = d.state;
  v->valid_from = d.valid_from.value_or(commit_time_);
  v->valid_to = d.valid_to.value_or(kForever);
  v->expires_at = d.expires_at.value_or(kForever);
  v->importance = d.importance;
  v->trust = d.trust;
  v->payload = blobs.payload;
  LOCI_RETURN_IF_ERROR(SetVectors(v->space_id, d.vectors, blobs.vectors, &v->vectors));
  v->attrs = d.attrs;
  std::sort(v->attrs.begin(), v->attrs.end(),
            [](const Attr& a, const Attr& b) { return a.key < b.key; });
  v->source = d.source;
  v->agent = d.agent;
  v->episode = d.episode;
  ++next_id_;
  return Finish(std::move(v));
}

Status Resolver::Update(const WriteBatch::UpdateOp& op, const OpBlobs& blobs) {
  const CubePatch& p = op.patch;
  const Version* prev;
  LOCI_RETURN_IF_ERROR(LatestLive(op.id, op.space, &prev));
  LOCI_RETURN_IF_ERROR(CheckExpiry(p.expires_at));
  std::vector<CubeId> parents;
  if (p.parents) {
    parents = *p.parents;
    LOCI_RETURN_IF_ERROR(ResolveRefs(&parents));
    LOCI_RETURN_IF_ERROR(CheckParents(parents, prev->space_id));
  }
  auto v = std::make_unique<Version>(*prev);
  v->number = prev->number + 1;
  v->prev = prev;
  if (p.kind) v->kind = *p.kind;
  if (p.state) v->state = *p.state;
  v->valid_from = p.valid_from.value_or(commit_time_);
  v->valid_to = p.valid_to.value_or(kForever);
  if (p.expires_at) v->expires_at = *p.expires_at;
  if (p.importance) v->importance = *p.importance;
  if (p.trust) v->trust = *p.trust;
  if (p.payload) v->payload = blobs.payload;
  for (const std::string& name : p.remove_vectors) {
    const FieldDef* f = catalog().SpaceById(v->space_id)->FindField(name);
    if (f == nullptr) return Status::InvalidArgument("vector field '" + name + "' does not exist");
    std::erase_if(v->vectors, [&](const VectorRef& r) { return r.field_id == f->id; });
  }
  LOCI_RETURN_IF_ERROR(SetVectors(v->space_id, p.set_vectors, blobs.vectors, &v->vectors));
  for (const std::string& key : p.remove_attrs) {
    std::erase_if(v->attrs, [&](const Attr& a) { return a.key == key; });
  }
  for (const Attr& a : p.set_attrs) {
    auto it = std::find_if(v->attrs.begin(), v->attrs.end(),
                           [&](const Attr& x) { return x.key == a.key; });
    if (it != v->attrs.end()) {
      it->value = a.value;
    } else {
      v->attrs.push_back(a);
    }
  }
  std::sort(v->attrs.begin(), v->attrs.end(),
            [](const Attr& a, const Attr& b) { return a.key < b.key; });
  if (p.source) v->source = *p.source;
  if (p.agent) v->agent = *p.agent;
  if (p.parents) v->parents = std::move(parents);
  if (p.episode) v->episode = *p.episode;
  if (ChangesNothing(*prev, *v, op, blobs)) {
    // A version identical to the latest over the valid times it covers already would carry no
    // information, only noise in the history.
    return Status::InvalidArgument("nothing to change: the update gives cube " +
                                   std::to_string(op.id) + " the content it has");
  }
  return Finish(std::move(v));
}

Status Resolver::Retire(const WriteBatch::RetireOp& op) {
  const Version* prev;
  LOCI_RETURN_IF_ERROR(LatestLive(op.id, op.space, &prev));
  auto v = std::make_unique<Version>(*prev);
  v->number = prev->number + 1;
  v->prev = prev;
  v->state = CubeState::kRetired;
  // The retirement is itself a version valid from the end of validity on: reads at later valid
  // times find it (and report the cube as not found), reads at earlier ones pass it by.
  v->valid_from = op.valid_to.value_or(commit_time_);
  v->valid_to = kForever;
  return Finish(std::move(v));
}

Status Resolver::Purge(const WriteBatch::PurgeOp& op) {
  // An explicit purge erases an expired cube too (it is missing for every other operation):
  // its bytes must not wait for the reclamation.
  const Version* latest = LatestEvenExpired(op.id);
  if (latest != nullptr && op.space && !InSpace(*latest, *op.space, catalog())) latest = nullptr;
  if (op.if_expired) {
    if (latest == nullptr || !query::CubeExpired(*latest, commit_time_)) {
      out_->results.push_back(WriteResult::OpResult{0, 0});  // nothing to reclaim
      return Status::OK();
    }
    out_->purges.push_back(PurgeEntry{latest->space_id, op.id});
    local_[op.id] = nullptr;
    out_->results.push_back(WriteResult::OpResult{op.id, 0});
    return Status::OK();
  }
  if (latest == nullptr) return CubeNotFound(op.id);
  out_->purges.push_back(PurgeEntry{latest->space_id, op.id});
  local_[op.id] = nullptr;  // the batch's later operations find it missing
  out_->results.push_back(WriteResult::OpResult{op.id, 0});
  return Status::OK();
}

Status Resolver::PurgeSpace(const WriteBatch::PurgeSpaceOp& op) {
  const SpaceDef* space = catalog().FindSpace(op.space);
  if (space == nullptr) return Status::NotFound("space '" + op.space + "' does not exist");
  // Every id assigned before this batch, through the group's view of the newest versions: a
  // scan of the id range (ids are dense), the cost of a rare operation that is followed by a
  // checkpoint of the whole database anyway. Ids from state_->next_id() on are this batch's.
  // Expired cubes are erased too, but not counted: they were missing already.
  uint64_t erased = 0;
  for (CubeId id = 1; id < state_->next_id(); ++id) {
    const Version* latest = LatestEvenExpired(id);
    if (latest == nullptr || latest->space_id != space->id) continue;
    out_->purges.push_back(PurgeEntry{space->id, id});
    local_[id] = nullptr;
    erased += !query::CubeExpired(*latest, commit_time_);
  }
  out_->results.push_back(WriteResult::OpResult{0, 0, erased});
  return Status::OK();
}

Status Resolver::DefineField(const WriteBatch::DefineFieldOp& op) {
  const SpaceDef* space = SpaceFor(op.space);
  if (const FieldDef* f = space->FindField(op.field)) {
    if (f->dim != op.dim || f->metric != op.metric) {
      return Status::InvalidArgument("vector field '" + op.field + "' of space '" + op.space +
                                     "' exists with dimension " + std::to_string(f->dim) +
                                     " and metric " + index::MetricName(f->metric));
    }
  } else {
    const FieldDef& created = MutableCatalog()->AddField(space->id, op.field, op.dim, op.metric);
    out_->fields.push_back(FieldEntry{space->id, created});
  }
  out_->results.push_back(WriteResult::OpResult{0, 0});
  return Status::OK();
}

Status Resolver::DropField(const WriteBatch::DropFieldOp& op) {
  const std::string what =
      "cannot drop vector field '" + op.field + "' of space '" + op.space + "'";
  const SpaceDef* space = catalog().FindSpace(op.space);
  if (space == nullptr) return Status::InvalidArgument(what + ": no such space");
  const FieldDef* field = space->FindField(op.field);
  if (field == nullptr) {
    return Status::InvalidArgument(what + (space->FindFieldEvenDropped(op.field) != nullptr
                                               ? ": already dropped"
                                               : ": no such field"));
  }
  const FieldDropEntry drop{space->id, field->id};
  MutableCatalog()->DropField(drop.space_id, drop.field_id);
  out_->drops.push_back(drop);
  // The drop is not versioned: versions this batch wrote before it lose the field too.
  for (const auto& v : out_->versions) {
    if (v->space_id != drop.space_id) continue;
    std::erase_if(v->vectors, [&](const VectorRef& r) { return r.field_id == drop.field_id; });
  }
  out_->results.push_back(WriteResult::OpResult{0, 0});
  return Status::OK();
}

}  // namespace

Status ResolveBatch(const WriteBatch& batch, std::span<const OpBlobs> blobs, Timestamp commit_time,
                    GroupState* state, ResolvedBatch* out) {
  *out = ResolvedBatch();
  out->commit_time = commit_time;
  Resolver r(batch, state, commit_time, out);
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    const WriteBatch::Op& op = batch.ops()[i];
    Status s;
    if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
      s = r.Put(put->draft, blobs[i]);
    } else if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
      s = r.Update(*update, blobs[i]);
    } else if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
      s = r.Retire(*retire);
    } else if (const auto* define = std::get_if<WriteBatch::DefineFieldOp>(&op)) {
      s = r.DefineField(*define);
    } else if (const auto* drop = std::get_if<WriteBatch::DropFieldOp>(&op)) {
      s = r.DropField(*drop);
    } else if (const auto* link = std::get_if<WriteBatch::LinkOp>(&op)) {
      s = r.Link(*link);
    } else if (const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op)) {
      s = r.Unlink(*unlink);
    } else if (const auto* purge_space = std::get_if<WriteBatch::PurgeSpaceOp>(&op)) {
      s = r.PurgeSpace(*purge_space);
    } else {
      s = r.Purge(std::get<WriteBatch::PurgeOp>(op));
    }
    if (!s.ok()) {
      *out = ResolvedBatch();
      return batch.size() == 1 ? s : s.WithContext("operation " + std::to_string(i));
    }
  }
  out->next_id = r.next_id();
  return Status::OK();
}

}  // namespace loci::engine
