#include "tests/model/db_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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
         !p.importance && !p.trust && !p.valid_from && !p.valid_to && !p.expires_at;
}

bool Valid(const WriteBatch::Op& op) {
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    const CubeDraft& d = put->draft;
    return ValidName(d.space) && ValidState(d.state) && ValidVectors(d.vectors) &&
           ValidAttrs(d.attrs) && ValidParents(d.parents) && std::isfinite(d.importance) &&
           std::isfinite(d.trust) && ValidInterval(d.valid_from, d.valid_to);
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
      v.parents != prev.parents || v.importance != prev.importance || v.trust != prev.trust ||
      v.expires_at != prev.expires_at || v.vectors.size() != prev.vectors.size()) {
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

Status::Code DbModel::Apply(const WriteBatch& batch, Timestamp ts,
                            std::vector<WriteResult::OpResult>* results) {
  results->clear();
  if (batch.empty()) return Status::Code::kInvalidArgument;
  for (const WriteBatch::Op& op : batch.ops()) {
    if (!Valid(op)) return Status::Code::kInvalidArgument;
  }
  // Resolved on a copy: a failed batch changes nothing.
  DbModel after = *this;
  for (const WriteBatch::Op& op : batch.ops()) {
    Status::Code c = after.Resolve(op, ts, results);
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
  if (cube == nullptr) return Status::Code::kNotFound;
  const std::optional<size_t> i = Visible(id, as_of, valid_at);
  if (!i) return Status::Code::kNotFound;
  const ModelVersion& v = cube->versions[*i];
  if (v.state == CubeState::kRetired || v.expires_at <= read_time) return Status::Code::kNotFound;
  *out = ToCube(id, *cube, *i, as_of);
  return Status::Code::kOk;
}

Status::Code DbModel::History(CubeId id, Timestamp as_of, const std::optional<std::string>& space,
                              std::vector<MemCube>* out) const {
  out->clear();
  const ModelCube* cube = Find(id, space);
  if (cube == nullptr) return Status::Code::kNotFound;
  for (size_t i = 0; i < cube->versions.size(); ++i) {
    if (cube->versions[i].tx_from <= as_of) out->push_back(ToCube(id, *cube, i, as_of));
  }
  return out->empty() ? Status::Code::kNotFound : Status::Code::kOk;
}

const ModelCube* DbModel::Find(CubeId id, const std::optional<std::string>& space) const {
  auto it = cubes_.find(id);
  if (it == cubes_.end() || (space && it->second.space != *space)) return nullptr;
  return &it->second;
}

ModelCube* DbModel::Find(CubeId id, const std::optional<std::string>& space) {
  return const_cast<ModelCube*>(std::as_const(*this).Find(id, space));
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
    if (Find(p, space) == nullptr) return false;
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

Status::Code DbModel::Resolve(const WriteBatch::Op& op, Timestamp ts,
                              std::vector<WriteResult::OpResult>* results) {
  if (const auto* put = std::get_if<WriteBatch::PutOp>(&op)) {
    const CubeDraft& d = put->draft;
    if (!ParentsExist(d.parents, d.space)) return Status::Code::kInvalidArgument;
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
    v.parents = d.parents;
    const CubeId id = next_id_++;
    cubes_[id].space = d.space;
    Status::Code c = Finish(id, std::move(v), ts, results);
    if (c != Status::Code::kOk) cubes_.erase(id);  // the batch fails: nothing stays anyway
    return c;
  }
  if (const auto* update = std::get_if<WriteBatch::UpdateOp>(&op)) {
    ModelCube* cube = Find(update->id, update->space);
    if (cube == nullptr) return Status::Code::kNotFound;
    const ModelVersion& prev = cube->versions.back();
    if (prev.state == CubeState::kRetired) return Status::Code::kInvalidArgument;
    const CubePatch& p = update->patch;
    if (p.parents && !ParentsExist(*p.parents, cube->space)) {
      return Status::Code::kInvalidArgument;
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
    if (p.parents) v.parents = *p.parents;
    if (ChangesNothing(prev, v, p)) return Status::Code::kInvalidArgument;
    return Finish(update->id, std::move(v), ts, results);
  }
  if (const auto* retire = std::get_if<WriteBatch::RetireOp>(&op)) {
    const ModelCube* cube = Find(retire->id, retire->space);
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

}  // namespace loci::model
