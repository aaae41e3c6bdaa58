#include "tests/model/db_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>
#include <variant>

namespace loci::model {
namespace {

// engine/validation.cc: what is wrong with an operation on its own.
bool ValidName(const std::string& s) { return !s.empty() && s.size() <= 256; }

double SquaredNorm(const std::vector<float>& values) {
  double sum = 0;
  for (float x : values) sum += double{x} * x;
  return sum;
}

bool ValidVectors(const std::vector<NamedVector>& vectors) {
  std::set<std::string> seen;
  for (const NamedVector& v : vectors) {
    if (!ValidName(v.field) || !seen.insert(v.field).second) return false;
    if (v.values.empty() || v.values.size() > DbModel::kMaxVectorDim) return false;
    for (float x : v.values) {
      if (!std::isfinite(x)) return false;
    }
    if (SquaredNorm(v.values) > kMaxVectorSquaredNorm) return false;
  }
  return true;
}

bool ValidAttrs(const std::vector<Attr>& attrs) {
  std::set<std::string> seen;
  for (const Attr& a : attrs) {
    if (!ValidName(a.key) || !seen.insert(a.key).second) return false;
    if (const auto* d = std::get_if<double>(&a.value); d && !std::isfinite(*d)) return false;
  }
  return true;
}

bool ValidParents(const std::vector<CubeId>& parents) {
  return std::find(parents.begin(), parents.end(), CubeId{0}) == parents.end();
}

bool ValidInterval(const std::optional<Timestamp>& from, const std::optional<Timestamp>& to) {
  if (from && to && *from >= *to) return false;
  if (to && *to == kBeginningOfTime) return false;
  return !(from && *from == kForever);
}

bool ValidState(CubeState s) { return s == CubeState::kActive || s == CubeState::kArchived; }

bool SetsNothing(const CubePatch& p) {
  return !p.kind && !p.state && !p.payload && p.set_vectors.empty() && p.remove_vectors.empty() &&
         p.set_attrs.empty() && p.remove_attrs.empty() && !p.source && !p.parents && !p.agent &&
         !p.importance && !p.trust && !p.valid_from && !p.valid_to && !p.expires_at && !p.episode;
}

bool ValidEpisode(const std::string& e) { return e.empty() || ValidName(e); }

bool ValidEdgeType(EdgeType t) {
  const auto c = static_cast<uint32_t>(t);
  return (c >= 1 && c <= 6) || c >= 1000;
}

bool ValidEdgeOp(const std::optional<std::string>& space, CubeId from, CubeId to, EdgeType t) {
  return (!space || ValidName(*space)) && from != 0 && to != 0 && from != to && ValidEdgeType(t);
}

bool Valid(const WriteBatch::Op& op) {
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    const CubeDraft& d = put->draft;
    return ValidName(d.space) && ValidState(d.state) && ValidVectors(d.vectors) &&
           ValidAttrs(d.attrs) && ValidParents(d.parents) && std::isfinite(d.importance) &&
           std::isfinite(d.trust) && ValidInterval(d.valid_from, d.valid_to) &&
           ValidEpisode(d.episode);
  }
  if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
    const CubePatch& p = update->patch;
    if (SetsNothing(p)) return false;
    if (p.state && !ValidState(*p.state)) return false;
    if (!ValidVectors(p.set_vectors) || !ValidAttrs(p.set_attrs)) return false;
    for (const std::string& f : p.remove_vectors) {
      if (!ValidName(f)) return false;
      for (const NamedVector& v : p.set_vectors) {
        if (v.field == f) return false;
      }
    }
    for (const std::string& k : p.remove_attrs) {
      if (!ValidName(k)) return false;
      for (const Attr& a : p.set_attrs) {
        if (a.key == k) return false;
      }
    }
    if (p.parents && !ValidParents(*p.parents)) return false;
    if (p.episode && !ValidEpisode(*p.episode)) return false;
    if ((p.importance && !std::isfinite(*p.importance)) || (p.trust && !std::isfinite(*p.trust))) {
      return false;
    }
    if (!ValidInterval(p.valid_from, p.valid_to)) return false;
    return !p.parents ||
           std::find(p.parents->begin(), p.parents->end(), update->id) == p.parents->end();
  }
  if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
    return !(retire->valid_to && *retire->valid_to == kForever);
  }
  if (const auto* drop = std::get_if<WriteBatch::DropFieldOp>(&op)) {
    return ValidName(drop->space) && ValidName(drop->field);
  }
  if (const auto* link = std::get_if<WriteBatch::LinkOp>(&op)) {
    return ValidEdgeOp(link->space, link->from, link->to, link->type) &&
           std::isfinite(link->weight) && !(link->valid_from && *link->valid_from == kForever);
  }
  if (const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op)) {
    return ValidEdgeOp(unlink->space, unlink->from, unlink->to, unlink->type) &&
           !(unlink->valid_to && *unlink->valid_to == kForever);
  }
  if (const auto* purge = std::get_if<WriteBatch::PurgeOp>(&op)) {
    return (purge->id & kBatchRefBit) == 0;  // a placeholder is refused
  }
  if (const auto* purge_space = std::get_if<WriteBatch::PurgeSpaceOp>(&op)) {
    return ValidName(purge_space->space);
  }
  const auto& def = std::get<WriteBatch::DefineFieldOp>(op);
  return ValidName(def.space) && ValidName(def.field) && def.dim >= 1 &&
         def.dim <= DbModel::kMaxVectorDim &&
         (def.metric == Metric::kCosine || def.metric == Metric::kInnerProduct ||
          def.metric == Metric::kL2);
}

bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

// Whether `v`, made from the latest version `prev` by `p`, repeats it: the same content over
// valid times `prev` covers, and `p` sets no valid interval.
bool ChangesNothing(const ModelVersion& prev, const ModelVersion& v, const CubePatch& p) {
  if (p.valid_from || p.valid_to) return false;
  if (v.valid_from < prev.valid_from || v.valid_to > prev.valid_to) return false;
  if (v.kind != prev.kind || v.state != prev.state || v.payload != prev.payload ||
      v.attrs != prev.attrs || v.source != prev.source || v.agent != prev.agent ||
      v.parents != prev.parents || v.episode != prev.episode || v.importance != prev.importance ||
      v.trust != prev.trust || v.expires_at != prev.expires_at ||
      v.vectors.size() != prev.vectors.size()) {
    return false;
  }
  for (const auto& [field_id, vec] : v.vectors) {
    auto it = prev.vectors.find(field_id);
    if (it == prev.vectors.end() || !SameBits(vec.values, it->second.values)) return false;
  }
  return true;
}

void SetAttrs(const std::vector<Attr>& attrs, ModelVersion* v) {
  for (const Attr& a : attrs) {
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
}

}  // namespace

ModelField& ModelSpace::AddField(const std::string& name, uint32_t dim, Metric metric) {
  dropped.erase(name);
  return fields[name] = ModelField{++field_ids, dim, metric};
}

uint64_t DbModel::version_count() const {
  uint64_t n = 0;
  for (const auto& [id, c] : cubes_) n += c.versions.size();
  return n;
}

void DbModel::Erase(CubeId id) {
  // Every version and every edge to or from it, with the edges' history; the id is not handed
  // out again (next_id_ stays).
  cubes_.erase(id);
  std::erase_if(edges_,
                [&](const auto& edge) { return edge.first.from == id || edge.first.to == id; });
}

Status::Code DbModel::ResolvePurge(const WriteBatch::Op& op, CubeId batch_first_id,
                                   std::vector<WriteResult::OpResult>* results) {
  if (const auto* purge = std::get_if<WriteBatch::PurgeOp>(&op)) {
    if (purge->if_expired) {
      const ModelCube* cube = Find(purge->id, purge->space);
      if (cube == nullptr || !ExpiredBy(*cube, write_ts_)) {
        results->push_back(WriteResult::OpResult{0, 0});
        return Status::Code::kOk;
      }
    } else if (Find(purge->id, purge->space) == nullptr) {
      return Status::Code::kNotFound;  // an expired cube is still erased by an explicit purge
    }
    Erase(purge->id);
    results->push_back(WriteResult::OpResult{purge->id, 0});
    return Status::Code::kOk;
  }
  const auto& purge_space = std::get<WriteBatch::PurgeSpaceOp>(op);
  if (spaces_.count(purge_space.space) == 0) return Status::Code::kNotFound;
  // Expired cubes go too, uncounted: they were missing already.
  std::vector<CubeId> erased;
  uint64_t counted = 0;
  for (const auto& [id, cube] : cubes_) {
    if (cube.space != purge_space.space || id >= batch_first_id) continue;
    erased.push_back(id);
    counted += !ExpiredBy(cube, write_ts_);
  }
  for (CubeId id : erased) Erase(id);
  results->push_back(WriteResult::OpResult{0, 0, counted});
  return Status::Code::kOk;
}

Status::Code DbModel::Apply(const WriteBatch& batch, Timestamp ts,
                            std::vector<WriteResult::OpResult>* results) {
  results->clear();
  if (batch.empty()) return Status::Code::kInvalidArgument;
  for (const WriteBatch::Op& op : batch.ops()) {
    if (!Valid(op)) return Status::Code::kInvalidArgument;
  }
  // Resolved on a copy: a failed batch changes nothing.
  DbModel after = *this;
  after.write_ts_ = ts;
  for (size_t i = 0; i < batch.ops().size(); ++i) {
    Status::Code c = after.Resolve(batch, i, ts, next_id_, results);
    if (c != Status::Code::kOk) {
      results->clear();
      return c;
    }
  }
  *this = std::move(after);
  return Status::Code::kOk;
}

std::optional<size_t> DbModel::Visible(CubeId id, Timestamp as_of, Timestamp valid_at) const {
  const ModelCube* cube = Find(id, std::nullopt);
  if (cube == nullptr) return std::nullopt;
  const auto& vs = cube->versions;
  // Newest first: versions are in commit order, so the first that qualifies is the one
  // committed last.
  for (size_t i = vs.size(); i-- > 0;) {
    const ModelVersion& v = vs[i];
    if (v.tx_from <= as_of && v.valid_from <= valid_at && valid_at < v.valid_to) return i;
  }
  return std::nullopt;
}

Timestamp DbModel::TxTo(CubeId id, size_t i, Timestamp as_of) const {
  const std::vector<ModelVersion>& vs = cubes_.at(id).versions;
  const ModelVersion& v = vs.at(i);
  Timestamp tx_to = kForever;
  for (size_t j = i + 1; j < vs.size(); ++j) {
    const ModelVersion& w = vs[j];
    if (w.tx_from <= as_of && w.valid_from < v.valid_to && v.valid_from < w.valid_to) {
      tx_to = std::min(tx_to, w.tx_from);
    }
  }
  return tx_to;
}

Status::Code DbModel::Get(CubeId id, Timestamp as_of, Timestamp valid_at, Timestamp read_time,
                          const std::optional<std::string>& space, MemCube* out) const {
  const ModelCube* cube = Find(id, space);
  if (cube == nullptr || ExpiredBy(*cube, read_time)) return Status::Code::kNotFound;
  const std::optional<size_t> i = Visible(id, as_of, valid_at);
  if (!i) return NothingVisible(*cube);
  const ModelVersion& v = cube->versions[*i];
  if (v.state == CubeState::kRetired) return Status::Code::kNotFound;
  *out = ToCube(id, *cube, *i, as_of);
  return Status::Code::kOk;
}

Status::Code DbModel::History(CubeId id, Timestamp as_of, Timestamp read_time,
                              const std::optional<std::string>& space,
                              std::vector<MemCube>* out) const {
  out->clear();
  const ModelCube* cube = Find(id, space);
  if (cube == nullptr || ExpiredBy(*cube, read_time)) return Status::Code::kNotFound;
  for (size_t i = 0; i < cube->versions.size(); ++i) {
    if (cube->versions[i].tx_from <= as_of) out->push_back(ToCube(id, *cube, i, as_of));
  }
  return out->empty() ? NothingVisible(*cube) : Status::Code::kOk;
}

Status::Code DbModel::NothingVisible(const ModelCube& cube) {
  return cube.versions.front().number > 1 ? Status::Code::kPruned : Status::Code::kNotFound;
}

size_t DbModel::Prune(const std::map<std::string, uint32_t>& keep_versions,
                      Timestamp pinned_until) {
  size_t pruned = 0;
  for (auto& [id, cube] : cubes_) {
    auto rule = keep_versions.find(cube.space);
    if (rule == keep_versions.end() || rule->second == 0) continue;
    // While a snapshot lives, a cube that still has its version 1 keeps everything: a read
    // through the snapshot of a cube created after it must stay "no such cube".
    if (pinned_until != kNothingPinned && cube.versions.front().number == 1) continue;
    std::vector<ModelVersion>& versions = cube.versions;
    // The oldest versions go while more than the count remain, unless a snapshot may read them.
    size_t drop = 0;
    while (versions.size() - drop > rule->second && versions[drop].tx_from > pinned_until) {
      ++drop;
    }
    versions.erase(versions.begin(), versions.begin() + static_cast<ptrdiff_t>(drop));
    pruned += drop;
  }
  return pruned;
}

const ModelCube* DbModel::Find(CubeId id, const std::optional<std::string>& space) const {
  auto it = cubes_.find(id);
  if (it == cubes_.end() || (space && it->second.space != *space)) return nullptr;
  return &it->second;
}

bool DbModel::ExpiredBy(const ModelCube& cube, Timestamp t) const {
  const Timestamp expires_at = cube.versions.back().expires_at;
  return expires_at != kForever && expires_at <= t;
}

const ModelCube* DbModel::FindForWrite(CubeId id, const std::optional<std::string>& space) const {
  const ModelCube* cube = Find(id, space);
  return cube != nullptr && !ExpiredBy(*cube, write_ts_) ? cube : nullptr;
}

ModelCube* DbModel::FindForWrite(CubeId id, const std::optional<std::string>& space) {
  return const_cast<ModelCube*>(std::as_const(*this).FindForWrite(id, space));
}

size_t DbModel::ReclaimExpired(Timestamp now) {
  std::vector<CubeId> expired;
  for (const auto& [id, cube] : cubes_) {
    if (ExpiredBy(cube, now)) expired.push_back(id);
  }
  for (CubeId id : expired) Erase(id);
  return expired.size();
}

MemCube DbModel::ToCube(CubeId id, const ModelCube& cube, size_t i, Timestamp as_of) const {
  const ModelVersion& v = cube.versions[i];
  MemCube c;
  c.id = id;
  c.version = v.number;
  c.space = cube.space;
  c.kind = v.kind;
  c.state = v.state;
  c.valid_from = v.valid_from;
  c.valid_to = v.valid_to;
  c.tx_from = v.tx_from;
  c.tx_to = TxTo(id, i, as_of);
  c.payload = v.payload;
  c.payload_size = v.payload.size();
  for (const auto& [field_id, vec] : v.vectors) c.vectors.push_back(vec);
  c.attrs = v.attrs;
  c.source = v.source;
  c.parents = v.parents;
  c.agent = v.agent;
  c.episode = v.episode;
  c.importance = v.importance;
  c.trust = v.trust;
  if (v.expires_at != kForever) c.expires_at = v.expires_at;
  return c;
}

// Sets `vectors` on *v in space `space`, creating missing fields (dimension of the vector,
// cosine); false if a vector does not fit its field.
bool DbModel::SetVectors(const std::string& space, const std::vector<NamedVector>& vectors,
                         ModelVersion* v) {
  ModelSpace& s = SpaceFor(space);
  for (const NamedVector& vec : vectors) {
    auto it = s.fields.find(vec.field);
    if (it == s.fields.end() && s.dropped.count(vec.field) != 0) return false;
    const ModelField& f =
        it != s.fields.end()
            ? it->second
            : s.AddField(vec.field, static_cast<uint32_t>(vec.values.size()), Metric::kCosine);
    if (vec.values.size() != f.dim) return false;
    if (f.metric == Metric::kCosine && SquaredNorm(vec.values) < kMinCosineSquaredNorm) {
      return false;
    }
    v->vectors[f.id] = vec;
  }
  return true;
}

// Every parent exists in `space` (another space's cube is as good as missing).
bool DbModel::ParentsExist(const std::vector<CubeId>& parents, const std::string& space) const {
  for (CubeId p : parents) {
    if (FindForWrite(p, space) == nullptr) return false;
  }
  return true;
}

Status::Code DbModel::Finish(CubeId id, ModelVersion v, Timestamp ts,
                             std::vector<WriteResult::OpResult>* results) {
  if (v.valid_from >= v.valid_to) return Status::Code::kInvalidArgument;
  v.tx_from = ts;
  results->push_back({id, v.number});
  cubes_[id].versions.push_back(std::move(v));
  return Status::Code::kOk;
}

Status::Code DbModel::Resolve(const WriteBatch& batch, size_t op_index, Timestamp ts,
                              CubeId batch_first_id, std::vector<WriteResult::OpResult>* results) {
  const WriteBatch::Op& op = batch.ops()[op_index];
  if (std::holds_alternative<WriteBatch::LinkOp>(op) ||
      std::holds_alternative<WriteBatch::UnlinkOp>(op)) {
    return ResolveEdgeOp(batch, op_index, ts, results);
  }
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    const CubeDraft& d = put->draft;
    if (d.expires_at && *d.expires_at <= ts) return Status::Code::kInvalidArgument;
    std::vector<CubeId> parents = d.parents;
    for (CubeId& p : parents) {
      if (!ResolveRef(p, batch, op_index, *results, &p)) return Status::Code::kInvalidArgument;
    }
    if (!ParentsExist(parents, d.space)) return Status::Code::kInvalidArgument;
    ModelVersion v;
    v.number = 1;
    v.kind = d.kind;
    v.state = d.state;
    v.valid_from = d.valid_from.value_or(ts);
    v.valid_to = d.valid_to.value_or(kForever);
    v.expires_at = d.expires_at.value_or(kForever);
    v.importance = d.importance;
    v.trust = d.trust;
    v.payload = d.payload;
    if (!SetVectors(d.space, d.vectors, &v)) return Status::Code::kInvalidArgument;
    SetAttrs(d.attrs, &v);
    v.source = d.source;
    v.agent = d.agent;
    v.parents = parents;
    v.episode = d.episode;
    const CubeId id = next_id_++;
    cubes_[id].space = d.space;
    Status::Code c = Finish(id, std::move(v), ts, results);
    if (c != Status::Code::kOk) cubes_.erase(id);  // the batch fails: nothing stays anyway
    return c;
  }
  if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
    ModelCube* cube = FindForWrite(update->id, update->space);
    if (cube == nullptr) return Status::Code::kNotFound;
    const ModelVersion& prev = cube->versions.back();
    if (prev.state == CubeState::kRetired) return Status::Code::kInvalidArgument;
    const CubePatch& p = update->patch;
    if (p.expires_at && *p.expires_at <= ts) return Status::Code::kInvalidArgument;
    std::vector<CubeId> parents;
    if (p.parents) {
      parents = *p.parents;
      for (CubeId& q : parents) {
        if (!ResolveRef(q, batch, op_index, *results, &q)) return Status::Code::kInvalidArgument;
      }
      if (!ParentsExist(parents, cube->space)) return Status::Code::kInvalidArgument;
    }
    ModelVersion v = prev;
    v.number = prev.number + 1;
    if (p.kind) v.kind = *p.kind;
    if (p.state) v.state = *p.state;
    v.valid_from = p.valid_from.value_or(ts);
    v.valid_to = p.valid_to.value_or(kForever);
    if (p.expires_at) v.expires_at = *p.expires_at;
    if (p.importance) v.importance = *p.importance;
    if (p.trust) v.trust = *p.trust;
    if (p.payload) v.payload = *p.payload;
    const std::string space = cube->space;
    for (const std::string& name : p.remove_vectors) {
      const ModelSpace& s = SpaceFor(space);
      auto f = s.fields.find(name);
      if (f == s.fields.end()) return Status::Code::kInvalidArgument;
      v.vectors.erase(f->second.id);
    }
    if (!SetVectors(space, p.set_vectors, &v)) return Status::Code::kInvalidArgument;
    for (const std::string& key : p.remove_attrs) {
      std::erase_if(v.attrs, [&](const Attr& a) { return a.key == key; });
    }
    SetAttrs(p.set_attrs, &v);
    if (p.source) v.source = *p.source;
    if (p.agent) v.agent = *p.agent;
    if (p.parents) v.parents = parents;
    if (p.episode) v.episode = *p.episode;
    if (ChangesNothing(prev, v, p)) return Status::Code::kInvalidArgument;
    return Finish(update->id, std::move(v), ts, results);
  }
  if (std::holds_alternative<WriteBatch::PurgeOp>(op) ||
      std::holds_alternative<WriteBatch::PurgeSpaceOp>(op)) {
    return ResolvePurge(op, batch_first_id, results);
  }
  if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
    const ModelCube* cube = FindForWrite(retire->id, retire->space);
    if (cube == nullptr) return Status::Code::kNotFound;
    const ModelVersion& prev = cube->versions.back();
    if (prev.state == CubeState::kRetired) return Status::Code::kInvalidArgument;
    ModelVersion v = prev;
    v.number = prev.number + 1;
    v.state = CubeState::kRetired;
    v.valid_from = retire->valid_to.value_or(ts);
    v.valid_to = kForever;
    return Finish(retire->id, std::move(v), ts, results);
  }
  if (const auto* drop = std::get_if<WriteBatch::DropFieldOp>(&op)) {
    auto space = spaces_.find(drop->space);
    if (space == spaces_.end()) return Status::Code::kInvalidArgument;
    auto field = space->second.fields.find(drop->field);
    if (field == space->second.fields.end()) return Status::Code::kInvalidArgument;
    const uint32_t id = field->second.id;
    space->second.fields.erase(field);
    space->second.dropped.insert(drop->field);
    // Not versioned: gone from every version of every cube of the space.
    for (auto& [cube_id, cube] : cubes_) {
      if (cube.space != drop->space) continue;
      for (ModelVersion& v : cube.versions) v.vectors.erase(id);
    }
    results->push_back({0, 0});
    return Status::Code::kOk;
  }
  const auto& def = std::get<WriteBatch::DefineFieldOp>(op);
  ModelSpace& s = SpaceFor(def.space);
  auto it = s.fields.find(def.field);
  if (it != s.fields.end()) {
    if (it->second.dim != def.dim || it->second.metric != def.metric) {
      return Status::Code::kInvalidArgument;
    }
  } else {
    s.AddField(def.field, def.dim, def.metric);
  }
  results->push_back({0, 0});
  return Status::Code::kOk;
}

bool DbModel::ResolveRef(CubeId ref, const WriteBatch& batch, size_t op_index,
                         const std::vector<WriteResult::OpResult>& results, CubeId* id) const {
  if ((ref & kBatchRefBit) == 0) {
    *id = ref;
    return true;
  }
  const uint64_t i = ref & ~kBatchRefBit;
  if (i >= op_index || !std::holds_alternative<WriteBatch::PutOp>(batch.ops()[i])) return false;
  *id = results.at(i).id;
  return true;
}

Status::Code DbModel::ResolveEdgeOp(const WriteBatch& batch, size_t op_index, Timestamp ts,
                                    std::vector<WriteResult::OpResult>* results) {
  const WriteBatch::Op& op = batch.ops()[op_index];
  const auto* link = std::get_if<WriteBatch::LinkOp>(&op);
  const auto* unlink = std::get_if<WriteBatch::UnlinkOp>(&op);
  const std::optional<std::string>& space = link ? link->space : unlink->space;
  ModelEdgeKey key;
  key.type = static_cast<uint32_t>(link ? link->type : unlink->type);
  const bool resolved =
      ResolveRef(link ? link->from : unlink->from, batch, op_index, *results, &key.from) &&
      ResolveRef(link ? link->to : unlink->to, batch, op_index, *results, &key.to);
  if (!resolved) return Status::Code::kInvalidArgument;
  // Both ends in one space (the op's, when given); otherwise as missing.
  const ModelCube* a = resolved && key.from != key.to ? FindForWrite(key.from, space) : nullptr;
  const ModelCube* b = a != nullptr ? FindForWrite(key.to, a->space) : nullptr;
  ModelEdge* edge = nullptr;
  if (auto it = edges_.find(key); it != edges_.end() && b != nullptr) edge = &it->second;
  if (link) {
    if (key.from == key.to || b == nullptr) return Status::Code::kInvalidArgument;
    ModelEdgeVersion v;
    v.number = edge == nullptr ? 1 : edge->versions.back().number + 1;
    v.weight = link->weight;
    v.valid_from = link->valid_from.value_or(
        std::max(a->versions.back().valid_from, b->versions.back().valid_from));
    v.tx_from = ts;
    ModelEdge& e = edges_[key];
    e.space = a->space;
    e.versions.push_back(v);
    results->push_back({key.from, v.number});
    return Status::Code::kOk;
  }
  if (edge == nullptr) return Status::Code::kNotFound;
  const ModelEdgeVersion& prev = edge->versions.back();
  if (prev.unlinked) return Status::Code::kInvalidArgument;
  ModelEdgeVersion v = prev;
  v.number = prev.number + 1;
  v.unlinked = true;
  v.valid_from = unlink->valid_to.value_or(ts);
  v.valid_to = kForever;
  v.tx_from = ts;
  edge->versions.push_back(v);
  results->push_back({key.from, v.number});
  return Status::Code::kOk;
}

std::optional<size_t> DbModel::Readable(CubeId id, const ModelRead& read) const {
  const ModelCube* cube = Find(id, read.space);
  if (cube == nullptr) return std::nullopt;
  const std::optional<size_t> i = Visible(id, read.as_of, read.valid_at);
  if (!i) return std::nullopt;
  const ModelVersion& v = cube->versions[*i];
  if (v.state == CubeState::kRetired || ExpiredBy(*cube, read.read_time)) return std::nullopt;
  return i;
}

const ModelEdgeVersion* DbModel::VisibleEdge(const ModelEdgeKey& key, const ModelRead& read) const {
  auto it = edges_.find(key);
  if (it == edges_.end()) return nullptr;
  const auto& vs = it->second.versions;
  for (size_t i = vs.size(); i-- > 0;) {
    const ModelEdgeVersion& v = vs[i];
    if (v.tx_from <= read.as_of && v.valid_from <= read.valid_at && read.valid_at < v.valid_to) {
      return v.unlinked ? nullptr : &v;
    }
  }
  return nullptr;
}

std::vector<CubeId> DbModel::EpisodeOrder(const std::string& space, const std::string& episode,
                                          const ModelRead& read) const {
  std::vector<std::pair<Timestamp, CubeId>> order;
  ModelRead in_space = read;
  in_space.space = space;
  for (const auto& [id, cube] : cubes_) {
    const std::optional<size_t> i = Readable(id, in_space);
    if (i && cube.versions[*i].episode == episode) {
      order.emplace_back(cube.versions[*i].valid_from, id);
    }
  }
  std::sort(order.begin(), order.end());
  std::vector<CubeId> ids;
  for (const auto& [t, id] : order) ids.push_back(id);
  return ids;
}

Status::Code DbModel::Trace(CubeId start, const ModelRead& read, const std::vector<EdgeType>& types,
                            TraceDirection direction, bool episode_order, uint32_t hops,
                            uint32_t limit, std::vector<TraceStep>* out) const {
  out->clear();
  if (!Readable(start, read)) return Status::Code::kNotFound;
  ModelRead in_space = read;
  in_space.space = cubes_.at(start).space;
  auto wanted = [&](uint32_t type) {
    return types.empty() ||
           std::find(types.begin(), types.end(), static_cast<EdgeType>(type)) != types.end();
  };
  std::set<CubeId> seen{start};
  std::vector<CubeId> frontier{start};
  for (uint32_t hop = 1; hop <= hops && !frontier.empty() && out->size() < limit; ++hop) {
    std::vector<CubeId> next;
    auto reach = [&](CubeId id, const TraceStep& step) {
      if (out->size() >= limit || seen.count(id) != 0 || !Readable(id, in_space)) return;
      seen.insert(id);
      out->push_back(step);
      next.push_back(id);
    };
    for (CubeId v : frontier) {
      // Out-edges by (type, to), then in-edges by (type, from): map order is (from, to, type).
      for (bool outgoing : {true, false}) {
        if (outgoing ? direction == TraceDirection::kIn : direction == TraceDirection::kOut) {
          continue;
        }
        std::vector<std::pair<uint32_t, CubeId>> near;  // (type, other end)
        for (const auto& [key, edge] : edges_) {
          if ((outgoing ? key.from : key.to) != v || !wanted(key.type)) continue;
          if (VisibleEdge(key, read) != nullptr) {
            near.emplace_back(key.type, outgoing ? key.to : key.from);
          }
        }
        std::sort(near.begin(), near.end());
        for (const auto& [type, other] : near) {
          const ModelEdgeKey key =
              outgoing ? ModelEdgeKey{v, other, type} : ModelEdgeKey{other, v, type};
          const ModelEdgeVersion* e = VisibleEdge(key, read);
          TraceStep step;
          step.via = Edge{key.from,    key.to,    static_cast<EdgeType>(type),
                          e->weight,   e->number, e->valid_from,
                          e->valid_to, e->tx_from};
          step.hop = hop;
          step.id = other;
          if (auto i = Readable(other, in_space))
            step.version = cubes_.at(other).versions[*i].number;
          reach(other, step);
        }
      }
      const std::optional<size_t> vi = Readable(v, in_space);
      const std::string& episode = cubes_.at(v).versions[*vi].episode;
      if (!episode_order || episode.empty()) continue;
      const std::vector<CubeId> order = EpisodeOrder(in_space.space.value(), episode, read);
      const auto at = std::find(order.begin(), order.end(), v) - order.begin();
      auto step_to = [&](size_t j, bool forward) {
        const CubeId w = order[j];
        TraceStep step;
        step.via.from = forward ? v : w;
        step.via.to = forward ? w : v;
        step.via.type = EdgeType::kNext;
        step.hop = hop;
        step.id = w;
        step.version = cubes_.at(w).versions[*Readable(w, in_space)].number;
        reach(w, step);
      };
      if (direction != TraceDirection::kIn && static_cast<size_t>(at) + 1 < order.size()) {
        step_to(static_cast<size_t>(at) + 1, true);
      }
      if (direction != TraceDirection::kOut && at > 0) step_to(static_cast<size_t>(at) - 1, false);
    }
    frontier = std::move(next);
  }
  return Status::Code::kOk;
}

Status::Code DbModel::Episode(CubeId id, const ModelRead& read, uint32_t before, uint32_t after,
                              std::vector<MemCube>* out) const {
  out->clear();
  const std::optional<size_t> i = Readable(id, read);
  if (!i) return Status::Code::kNotFound;
  const ModelCube& cube = cubes_.at(id);
  const std::string& episode = cube.versions[*i].episode;
  std::vector<CubeId> order{id};
  size_t at = 0;
  if (!episode.empty()) {
    order = EpisodeOrder(cube.space, episode, read);
    at = static_cast<size_t>(std::find(order.begin(), order.end(), id) - order.begin());
  }
  const size_t first = at >= before ? at - before : 0;
  const size_t last = std::min(order.size(), at + after + 1);
  ModelRead in_space = read;
  in_space.space = cube.space;
  for (size_t j = first; j < last; ++j) {
    out->push_back(
        ToCube(order[j], cubes_.at(order[j]), *Readable(order[j], in_space), read.as_of));
  }
  return Status::Code::kOk;
}

Status::Code DbModel::Events(const std::string& space, const std::optional<std::string>& episode,
                             Timestamp from, Timestamp to, const ModelRead& read, uint32_t limit,
                             std::vector<MemCube>* out) const {
  out->clear();
  if (spaces_.count(space) == 0 || (episode && episode->empty()) || from >= to) {
    return Status::Code::kInvalidArgument;
  }
  std::vector<std::tuple<Timestamp, CubeId, uint32_t, size_t>> found;
  for (const auto& [id, cube] : cubes_) {
    if (cube.space != space) continue;
    for (size_t i = 0; i < cube.versions.size(); ++i) {
      const ModelVersion& v = cube.versions[i];
      // An event when a Get at (as_of, its valid_from) returns it.
      if (v.tx_from > read.as_of || Visible(id, read.as_of, v.valid_from) != i) continue;
      if (v.state == CubeState::kRetired || ExpiredBy(cube, read.read_time)) continue;
      if (episode && v.episode != *episode) continue;
      if (v.valid_from < from || v.valid_from >= to) continue;
      found.emplace_back(v.valid_from, id, v.number, i);
    }
  }
  std::sort(found.begin(), found.end());
  for (const auto& [t, id, number, i] : found) {
    if (out->size() == limit) break;
    out->push_back(ToCube(id, cubes_.at(id), i, read.as_of));
  }
  return Status::Code::kOk;
}

Status::Code DbModel::Changes(const std::string& space, Timestamp from, Timestamp to,
                              Timestamp as_of, Timestamp read_time, uint32_t limit,
                              std::vector<MemCube>* out) const {
  out->clear();
  if (spaces_.count(space) == 0 || from >= to) return Status::Code::kInvalidArgument;
  std::vector<std::tuple<Timestamp, CubeId, uint32_t, size_t>> found;
  for (const auto& [id, cube] : cubes_) {
    if (cube.space != space || ExpiredBy(cube, read_time)) continue;
    for (size_t i = 0; i < cube.versions.size(); ++i) {
      const ModelVersion& v = cube.versions[i];
      if (v.tx_from >= from && v.tx_from < to && v.tx_from <= as_of) {
        found.emplace_back(v.tx_from, id, v.number, i);
      }
    }
  }
  std::sort(found.begin(), found.end());
  for (const auto& [t, id, number, i] : found) {
    if (out->size() == limit) break;
    out->push_back(ToCube(id, cubes_.at(id), i, as_of));
  }
  return Status::Code::kOk;
}

Status::Code DbModel::List(const std::string& space, const ModelRead& read, CubeId after,
                           uint32_t limit, std::vector<MemCube>* out) const {
  out->clear();
  if (spaces_.count(space) == 0) return Status::Code::kInvalidArgument;
  ModelRead in_space = read;
  in_space.space = space;
  for (auto it = cubes_.upper_bound(after); it != cubes_.end() && out->size() < limit; ++it) {
    if (auto i = Readable(it->first, in_space)) {
      out->push_back(ToCube(it->first, it->second, *i, read.as_of));
    }
  }
  return Status::Code::kOk;
}

Status::Code DbModel::Provenance(CubeId id, const ModelRead& read, uint32_t depth,
                                 ProvenanceNode* root) const {
  *root = ProvenanceNode();
  if (depth == 0 || depth > kMaxProvenanceDepth) return Status::Code::kInvalidArgument;
  root->id = id;
  uint32_t nodes = 1;
  std::vector<CubeId> path;
  const Status::Code c = ProvenanceBelow(root, read, depth, &nodes, &path);
  if (c != Status::Code::kOk) *root = ProvenanceNode();
  return c;
}

Status::Code DbModel::ProvenanceBelow(ProvenanceNode* node, const ModelRead& read, uint32_t depth,
                                      uint32_t* nodes, std::vector<CubeId>* path) const {
  MemCube cube;
  const Status::Code found =
      Get(node->id, read.as_of, read.valid_at, read.read_time, read.space, &cube);
  if (found != Status::Code::kOk) return found;
  node->version = cube.version;
  if (node->cycle) return Status::Code::kOk;
  std::map<CubeId, std::string> sources;
  for (CubeId p : cube.parents) sources[p] = "parent";
  std::vector<TraceStep> steps;
  const Status::Code traced = Trace(node->id, read, {EdgeType::kDerivedFrom}, TraceDirection::kOut,
                                    false, 1, kMaxTraceResults, &steps);
  if (traced != Status::Code::kOk) return traced;
  for (const TraceStep& step : steps) {
    std::string& relation = sources[step.id];
    relation = relation.empty() ? "derived_from" : relation + "+derived_from";
  }
  if (sources.empty()) return Status::Code::kOk;
  if (depth == 0 || *nodes >= kMaxProvenanceNodes) {
    node->truncated = true;
    return Status::Code::kOk;
  }
  path->push_back(node->id);
  for (const auto& [id, relation] : sources) {
    if (*nodes >= kMaxProvenanceNodes) {
      node->truncated = true;
      break;
    }
    ProvenanceNode child;
    child.id = id;
    child.relation = relation;
    child.cycle = std::find(path->begin(), path->end(), id) != path->end();
    const Status::Code c = ProvenanceBelow(&child, read, depth - 1, nodes, path);
    if (c == Status::Code::kNotFound) continue;  // not readable: left out
    if (c != Status::Code::kOk) return c;
    ++*nodes;
    node->sources.push_back(std::move(child));
  }
  path->pop_back();
  return Status::Code::kOk;
}

std::optional<size_t> DbModel::InWindow(CubeId id, const ModelRead& read, Timestamp from,
                                        Timestamp to) const {
  const ModelCube& cube = cubes_.at(id);
  for (size_t i = cube.versions.size(); i-- > 0;) {
    const ModelVersion& v = cube.versions[i];
    if (v.tx_from > read.as_of || v.valid_from >= to || v.valid_to <= from) continue;
    if (v.state == CubeState::kRetired || ExpiredBy(cube, read.read_time)) continue;
    if (TxTo(id, i, read.as_of) == kForever) return i;
  }
  return std::nullopt;
}

Status::Code DbModel::DirectHits(const ModelSearch& search, const ModelRead& read,
                                 std::vector<SearchHit>* out) const {
  auto space = spaces_.find(search.space);
  if (space == spaces_.end()) return Status::Code::kInvalidArgument;
  auto field = space->second.fields.find(search.field);
  if (field == space->second.fields.end() || field->second.dim != search.query.size()) {
    return Status::Code::kInvalidArgument;
  }
  const bool windowed = search.window_from || search.window_to;
  const Timestamp from = search.window_from.value_or(kBeginningOfTime);
  const Timestamp to = search.window_to.value_or(kForever);
  if (windowed && from >= to) return Status::Code::kInvalidArgument;
  const bool cosine = field->second.metric == Metric::kCosine;
  double qn = 0;
  for (float x : search.query) qn += double{x} * x;
  std::vector<std::pair<double, CubeId>> scored;
  ModelRead in_space = read;
  in_space.space = search.space;
  for (const auto& [id, cube] : cubes_) {
    if (cube.space != search.space) continue;
    const std::optional<size_t> i =
        windowed ? InWindow(id, read, from, to) : Readable(id, in_space);
    if (!i) continue;
    auto vec = cube.versions[*i].vectors.find(field->second.id);
    if (vec == cube.versions[*i].vectors.end()) continue;
    double dot = 0, vn = 0;
    for (size_t d = 0; d < search.query.size(); ++d) {
      dot += double{search.query[d]} * vec->second.values[d];
      vn += double{vec->second.values[d]} * vec->second.values[d];
    }
    scored.emplace_back(cosine ? dot / std::sqrt(qn * vn) : dot, id);
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  out->clear();
  for (size_t j = 0; j < scored.size() && j < search.k; ++j) {
    const CubeId id = scored[j].second;
    const ModelCube& cube = cubes_.at(id);
    SearchHit hit;
    hit.id = id;
    hit.version =
        cube.versions[windowed ? *InWindow(id, read, from, to) : *Readable(id, in_space)].number;
    hit.space = cube.space;
    hit.score = static_cast<float>(scored[j].first);
    out->push_back(hit);
  }
  return Status::Code::kOk;
}

Status::Code DbModel::Search(const ModelSearch& search, const ModelRead& read,
                             std::vector<SearchHit>* out) const {
  out->clear();
  Status::Code c = DirectHits(search, read, out);
  if (c != Status::Code::kOk || search.expand_hops == 0) return c;
  // Expansion walks at the read point (valid_at: read.valid_at, or the read time under a
  // window) over both directions.
  ModelRead walk_read = read;
  walk_read.space = search.space;
  if (search.window_from || search.window_to) walk_read.valid_at = read.read_time;
  std::set<CubeId> direct;
  for (const SearchHit& h : *out) direct.insert(h.id);
  std::vector<SearchHit> expanded;
  std::map<CubeId, size_t> where;
  for (const SearchHit& hit : std::vector<SearchHit>(*out)) {
    std::vector<TraceStep> steps;
    Trace(hit.id, walk_read, search.expand_types, TraceDirection::kBoth, search.expand_episode,
          search.expand_hops, kMaxTraceResults, &steps);
    for (const TraceStep& step : steps) {
      if (direct.count(step.id) != 0) continue;
      const double factor =
          double{step.via.weight} * std::pow(double{search.expand_decay}, step.hop);
      if (!(factor > 0)) continue;
      const double score = hit.score >= 0 ? hit.score * factor : hit.score / factor;
      SearchHit e;
      e.id = step.id;
      e.version = step.version;
      e.space = search.space;
      e.score = static_cast<float>(score);
      e.hop = step.hop;
      e.via = step.via;
      auto [it, inserted] = where.try_emplace(step.id, expanded.size());
      if (inserted) {
        expanded.push_back(e);
      } else if (e.score > expanded[it->second].score) {
        expanded[it->second] = e;
      }
    }
  }
  std::stable_sort(expanded.begin(), expanded.end(),
                   [](const SearchHit& a, const SearchHit& b) { return a.score > b.score; });
  const uint32_t limit = search.expand_limit != 0 ? search.expand_limit : search.k;
  if (expanded.size() > limit) expanded.resize(limit);
  out->insert(out->end(), expanded.begin(), expanded.end());
  return Status::Code::kOk;
}

}  // namespace loci::model
