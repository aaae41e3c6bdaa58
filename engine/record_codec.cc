// Batch and version encoding with strict, bounded decoding.

#include "engine/record_codec.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <type_traits>
#include <variant>

#include "loci/trace.h"
#include "loci/write_batch.h"

namespace loci::engine {

namespace {

// A batch without drops, one with (which adds the drop section), and one that also logs blob
// copies (the drop section, possibly empty, and the copy section).
constexpr uint8_t kBatchFormat = 1;
constexpr uint8_t kBatchFormatWithDrops = 2;
constexpr uint8_t kBatchFormatWithCopies = 3;
// Format 4: the trace graph's — every section present (drops and copies possibly none), each
// version body followed by its episode, and the batch's edge versions before its copies.
constexpr uint8_t kBatchFormatWithTrace = 4;
// Format 5: format 4's sections, then the cubes the batch purges (at least one), before its
// copies.
constexpr uint8_t kBatchFormatWithPurges = 5;

enum AttrTag : uint8_t { kBool = 0, kInt = 1, kDouble = 2, kString = 3 };

void EncodeAttr(const Attr& a, std::string* dst) {
  PutLengthPrefixed(dst, a.key);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          dst->push_back(static_cast<char>(kBool));
          dst->push_back(v ? 1 : 0);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          dst->push_back(static_cast<char>(kInt));
          PutVarsint64(dst, v);
        } else if constexpr (std::is_same_v<T, double>) {
          dst->push_back(static_cast<char>(kDouble));
          uint64_t bits;
          std::memcpy(&bits, &v, 8);
          PutFixed64(dst, bits);
        } else {
          dst->push_back(static_cast<char>(kString));
          PutLengthPrefixed(dst, v);
        }
      },
      a.value);
}

bool DecodeAttr(Decoder* d, Attr* a) {
  std::string_view key;
  uint8_t tag;
  if (!d->GetLengthPrefixed(&key, kMaxDecodedName) || key.empty() || !d->GetU8(&tag)) {
    return d->Fail();
  }
  a->key.assign(key);
  switch (tag) {
    case kBool: {
      uint8_t b;
      if (!d->GetU8(&b) || b > 1) return d->Fail();
      a->value = b == 1;
      return true;
    }
    case kInt: {
      int64_t v;
      if (!d->GetVarsint64(&v)) return false;
      a->value = v;
      return true;
    }
    case kDouble: {
      uint64_t bits;
      if (!d->GetFixed64(&bits)) return false;
      double v;
      std::memcpy(&v, &bits, 8);
      if (!std::isfinite(v)) return d->Fail();
      a->value = v;
      return true;
    }
    case kString: {
      std::string_view s;
      if (!d->GetLengthPrefixed(&s, kMaxDecodedText)) return false;
      a->value = std::string(s);
      return true;
    }
  }
  return d->Fail();
}

bool GetCount(Decoder* d, uint64_t* n, size_t min_bytes_each) {
  if (!d->GetVarint64(n)) return false;
  if (*n > d->remaining() / min_bytes_each) return d->Fail();
  return true;
}

bool GetTime(Decoder* d, Timestamp* t) { return d->GetVarsint64(t); }

bool CopyOrder(const BlobCopy& a, const BlobCopy& b) {
  return a.ref.generation != b.ref.generation ? a.ref.generation < b.ref.generation
                                              : a.ref.offset < b.ref.offset;
}

void EncodeCopies(std::span<const BlobCopy> copies, std::string* dst) {
  std::vector<const BlobCopy*> sorted;
  for (const BlobCopy& c : copies) sorted.push_back(&c);
  std::sort(sorted.begin(), sorted.end(),
            [](const BlobCopy* a, const BlobCopy* b) { return CopyOrder(*a, *b); });
  PutVarint64(dst, sorted.size());
  for (const BlobCopy* c : sorted) {
    PutVarint64(dst, c->ref.generation);
    PutVarint64(dst, c->ref.offset);
    PutLengthPrefixed(dst, c->bytes);
  }
}

// The blob refs of `versions` by (generation, offset).
std::map<std::pair<uint32_t, uint64_t>, const blob::BlobRef*> RefsByPlace(
    const std::vector<std::unique_ptr<Version>>& versions) {
  std::map<std::pair<uint32_t, uint64_t>, const blob::BlobRef*> refs;
  auto add = [&](const blob::BlobRef& r) {
    if (!r.empty()) refs.emplace(std::make_pair(r.generation, r.offset), &r);
  };
  for (const auto& v : versions) {
    add(v->payload);
    for (const VectorRef& r : v->vectors) add(r.blob);
  }
  return refs;
}

// Decodes the copy section: each copy must be a blob of `out->versions`, whole, and in order.
Status DecodeCopies(Decoder* d, BatchContents* out, bool may_be_empty,
                    const std::function<Status(std::string)>& bad) {
  uint64_t n;
  if (!GetCount(d, &n, 3) || (n == 0 && !may_be_empty)) return bad("blob copy count");
  const auto refs = RefsByPlace(out->versions);
  out->copies.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t generation;
    uint64_t offset;
    std::string_view bytes;
    if (!d->GetVarint32(&generation) || !d->GetVarint64(&offset) ||
        !d->GetLengthPrefixed(&bytes, blob::kMaxBlobLength)) {
      return bad("blob copy " + std::to_string(i));
    }
    const auto it = refs.find({generation, offset});
    const blob::BlobRef* ref = it == refs.end() ? nullptr : it->second;
    if (ref == nullptr || ref->length != bytes.size() ||
        blob::PayloadChecksum(bytes, generation, offset) != ref->checksum) {
      return bad("blob copy " + std::to_string(i) + " matches no blob of the batch");
    }
    BlobCopy copy{*ref, bytes};
    if (!out->copies.empty() && !CopyOrder(out->copies.back(), copy)) {
      return bad("blob copies out of order");
    }
    out->copies.push_back(copy);
  }
  return Status::OK();
}

}  // namespace

std::string EncodeSealPayload(CubeId next_cube_id) {
  std::string payload;
  PutVarint64(&payload, next_cube_id);
  return payload;
}

bool DecodeSealPayload(std::string_view payload, CubeId* next_cube_id) {
  Decoder d(payload);
  return d.GetVarint64(next_cube_id) && d.empty();
}

void EncodeBlobRef(const blob::BlobRef& ref, std::string* dst) {
  PutVarint64(dst, ref.generation);
  if (ref.generation == 0) return;
  PutVarint64(dst, ref.offset);
  PutVarint64(dst, ref.length);
  PutFixed64(dst, ref.checksum);
}

bool DecodeBlobRef(Decoder* d, blob::BlobRef* ref) {
  *ref = blob::BlobRef();
  uint32_t generation;
  if (!d->GetVarint32(&generation)) return false;
  if (generation == 0) return true;
  uint64_t offset;
  uint32_t length;
  if (!d->GetVarint64(&offset) || !d->GetVarint32(&length) || !d->GetFixed64(&ref->checksum)) {
    return false;
  }
  if (length == 0 || length > blob::kMaxBlobLength || offset % blob::kFrameAlignment != 0 ||
      offset > (uint64_t{1} << 56)) {
    return d->Fail();
  }
  ref->generation = generation;
  ref->offset = offset;
  ref->length = length;
  return true;
}

void EncodeSpace(uint32_t id, std::string_view name, std::string* dst) {
  PutVarint64(dst, id);
  PutLengthPrefixed(dst, name);
}

bool DecodeSpace(Decoder* d, SpaceEntry* out) {
  std::string_view name;
  if (!d->GetVarint32(&out->id) || !d->GetLengthPrefixed(&name, kMaxDecodedName)) return false;
  out->name.assign(name);
  return true;
}

void EncodeField(uint32_t space_id, const FieldDef& field, std::string* dst) {
  PutVarint64(dst, space_id);
  PutVarint64(dst, field.id);
  PutLengthPrefixed(dst, field.name);
  PutVarint64(dst, field.dim);
  dst->push_back(static_cast<char>(field.metric));
}

bool DecodeField(Decoder* d, FieldEntry* out) {
  std::string_view name;
  uint8_t metric;
  if (!d->GetVarint32(&out->space_id) || !d->GetVarint32(&out->field.id) ||
      !d->GetLengthPrefixed(&name, kMaxDecodedName) || !d->GetVarint32(&out->field.dim) ||
      !d->GetU8(&metric)) {
    return false;
  }
  if (out->space_id == 0 || out->field.id == 0 || name.empty() || out->field.dim == 0 ||
      out->field.dim > kMaxDecodedDim || metric > static_cast<uint8_t>(Metric::kL2)) {
    return d->Fail();
  }
  out->field.name.assign(name);
  out->field.metric = static_cast<Metric>(metric);
  return true;
}

void EncodeFieldDrop(const FieldDropEntry& drop, std::string* dst) {
  PutVarint64(dst, drop.space_id);
  PutVarint64(dst, drop.field_id);
}

bool DecodeFieldDrop(Decoder* d, FieldDropEntry* out) {
  if (!d->GetVarint32(&out->space_id) || !d->GetVarint32(&out->field_id)) return false;
  if (out->space_id == 0 || out->field_id == 0) return d->Fail();
  return true;
}

void EncodeVersionBody(const Version& v, std::string* dst) {
  PutVarint64(dst, v.id);
  PutVarint64(dst, v.number);
  PutVarint64(dst, v.space_id);
  PutVarint64(dst, v.kind);
  dst->push_back(static_cast<char>(v.state));
  PutVarsint64(dst, v.valid_from);
  PutVarsint64(dst, v.valid_to);
  PutVarsint64(dst, v.expires_at);
  PutFloat(dst, v.importance);
  PutFloat(dst, v.trust);
  EncodeBlobRef(v.payload, dst);
  PutVarint64(dst, v.vectors.size());
  for (const VectorRef& r : v.vectors) {
    PutVarint64(dst, r.field_id);
    EncodeBlobRef(r.blob, dst);
  }
  PutVarint64(dst, v.attrs.size());
  for (const Attr& a : v.attrs) EncodeAttr(a, dst);
  PutLengthPrefixed(dst, v.source);
  PutLengthPrefixed(dst, v.agent);
  PutVarint64(dst, v.parents.size());
  for (CubeId p : v.parents) PutVarint64(dst, p);
}

bool DecodeVersionBody(Decoder* d, Version* v) {
  uint32_t kind;
  uint8_t state;
  if (!d->GetVarint64(&v->id) || !d->GetVarint32(&v->number) || !d->GetVarint32(&v->space_id) ||
      !d->GetVarint32(&kind) || !d->GetU8(&state) || !GetTime(d, &v->valid_from) ||
      !GetTime(d, &v->valid_to) || !GetTime(d, &v->expires_at) || !d->GetFloat(&v->importance) ||
      !d->GetFloat(&v->trust) || !DecodeBlobRef(d, &v->payload)) {
    return false;
  }
  if (v->id == 0 || v->number == 0 || v->space_id == 0 || kind > UINT16_MAX ||
      state > static_cast<uint8_t>(CubeState::kRetired) || v->valid_from >= v->valid_to ||
      !std::isfinite(v->importance) || !std::isfinite(v->trust)) {
    return d->Fail();
  }
  v->kind = static_cast<uint16_t>(kind);
  v->state = static_cast<CubeState>(state);

  uint64_t n;
  if (!GetCount(d, &n, 2)) return false;
  v->vectors.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    VectorRef& r = v->vectors[i];
    if (!d->GetVarint32(&r.field_id) || !DecodeBlobRef(d, &r.blob)) return false;
    if (r.field_id == 0 || r.blob.empty() || (i > 0 && r.field_id <= v->vectors[i - 1].field_id)) {
      return d->Fail();
    }
  }
  if (!GetCount(d, &n, 3)) return false;
  v->attrs.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (!DecodeAttr(d, &v->attrs[i])) return false;
    if (i > 0 && v->attrs[i].key <= v->attrs[i - 1].key) return d->Fail();
  }
  std::string_view source, agent;
  if (!d->GetLengthPrefixed(&source, kMaxDecodedText) ||
      !d->GetLengthPrefixed(&agent, kMaxDecodedText)) {
    return false;
  }
  v->source.assign(source);
  v->agent.assign(agent);
  if (!GetCount(d, &n, 1)) return false;
  v->parents.resize(n);
  for (uint64_t i = 0; i < n; ++i) {
    if (!d->GetVarint64(&v->parents[i]) || v->parents[i] == 0) return d->Fail();
  }
  return true;
}

bool DecodeEpisode(Decoder* d, Version* v) {
  std::string_view episode;
  if (!d->GetLengthPrefixed(&episode, kMaxDecodedName)) return false;
  v->episode.assign(episode);
  return true;
}

void EncodeEdgeBody(const index::EdgeVersion& e, std::string* dst) {
  PutVarint64(dst, e.space_id);
  PutVarint64(dst, e.key.from);
  PutVarint64(dst, e.key.to);
  PutVarint64(dst, e.key.type);
  PutVarint64(dst, e.number);
  PutFloat(dst, e.weight);
  dst->push_back(static_cast<char>(e.unlinked ? 1 : 0));
  PutVarsint64(dst, e.valid_from);
  PutVarsint64(dst, e.valid_to);
}

bool DecodeEdgeBody(Decoder* d, index::EdgeVersion* e) {
  uint8_t unlinked;
  if (!d->GetVarint32(&e->space_id) || !d->GetVarint64(&e->key.from) ||
      !d->GetVarint64(&e->key.to) || !d->GetVarint32(&e->key.type) || !d->GetVarint32(&e->number) ||
      !d->GetFloat(&e->weight) || !d->GetU8(&unlinked) || !GetTime(d, &e->valid_from) ||
      !GetTime(d, &e->valid_to)) {
    return false;
  }
  if (e->space_id == 0 || e->key.from == 0 || e->key.to == 0 || e->key.from == e->key.to ||
      e->key.from >= kBatchRefBit || e->key.to >= kBatchRefBit ||
      !IsValidEdgeType(static_cast<EdgeType>(e->key.type)) || e->number == 0 || unlinked > 1 ||
      !std::isfinite(e->weight) || e->valid_from >= e->valid_to) {
    return d->Fail();
  }
  e->unlinked = unlinked == 1;
  return true;
}

void EncodeBatch(Timestamp commit_time, const std::vector<SpaceEntry>& spaces,
                 const std::vector<FieldEntry>& fields, const std::vector<FieldDropEntry>& drops,
                 const std::vector<const Version*>& versions, std::string* dst,
                 std::span<const BlobCopy> copies, std::span<const index::EdgeVersion* const> edges,
                 std::span<const PurgeEntry> purges) {
  const bool trace =
      !purges.empty() || !edges.empty() ||
      std::any_of(versions.begin(), versions.end(), [](auto* v) { return !v->episode.empty(); });
  const uint8_t format = !purges.empty()   ? kBatchFormatWithPurges
                         : trace           ? kBatchFormatWithTrace
                         : !copies.empty() ? kBatchFormatWithCopies
                         : !drops.empty()  ? kBatchFormatWithDrops
                                           : kBatchFormat;
  dst->push_back(static_cast<char>(format));
  PutVarsint64(dst, commit_time);
  PutVarint64(dst, spaces.size());
  for (const SpaceEntry& s : spaces) EncodeSpace(s.id, s.name, dst);
  PutVarint64(dst, fields.size());
  for (const FieldEntry& f : fields) EncodeField(f.space_id, f.field, dst);
  if (format != kBatchFormat) {
    PutVarint64(dst, drops.size());
    for (const FieldDropEntry& drop : drops) EncodeFieldDrop(drop, dst);
  }
  PutVarint64(dst, versions.size());
  for (const Version* v : versions) {
    EncodeVersionBody(*v, dst);
    if (trace) PutLengthPrefixed(dst, v->episode);
  }
  if (trace) {
    PutVarint64(dst, edges.size());
    for (const index::EdgeVersion* e : edges) EncodeEdgeBody(*e, dst);
  }
  if (format == kBatchFormatWithPurges) {
    PutVarint64(dst, purges.size());
    for (const PurgeEntry& p : purges) {
      PutVarint64(dst, p.space_id);
      PutVarint64(dst, p.id);
    }
  }
  if (format >= kBatchFormatWithCopies) EncodeCopies(copies, dst);
}

namespace {

// Decodes a batch up to its copy section (everything but the blob copies) into *out and its
// format into *format.
Status DecodeBatchHead(Decoder* decoder, const std::function<Status(std::string)>& corrupt,
                       uint8_t* format_out, BatchContents* out) {
  *out = BatchContents();
  Decoder& d = *decoder;
  uint8_t& format = *format_out;
  if (!d.GetU8(&format) || format < kBatchFormat || format > kBatchFormatWithPurges) {
    return corrupt("unknown batch format");
  }
  if (!GetTime(&d, &out->commit_time)) return corrupt("commit time");
  uint64_t n;
  if (!GetCount(&d, &n, 2)) return corrupt("space count");
  out->spaces.resize(n);
  for (SpaceEntry& s : out->spaces) {
    if (!DecodeSpace(&d, &s)) return corrupt("space entry");
  }
  if (!GetCount(&d, &n, 5)) return corrupt("field count");
  out->fields.resize(n);
  for (FieldEntry& f : out->fields) {
    if (!DecodeField(&d, &f)) return corrupt("field entry");
  }
  if (format != kBatchFormat) {
    // Format 2 has at least one: a batch without drops or copies has one encoding, format 1.
    if (!GetCount(&d, &n, 2) || (format == kBatchFormatWithDrops && n == 0)) {
      return corrupt("field drop count");
    }
    out->drops.resize(n);
    for (size_t i = 0; i < out->drops.size(); ++i) {
      if (!DecodeFieldDrop(&d, &out->drops[i])) {
        return corrupt("field drop entry " + std::to_string(i));
      }
    }
  }
  if (!GetCount(&d, &n, 20)) return corrupt("version count");
  out->versions.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    auto v = std::make_unique<Version>();
    if (!DecodeVersionBody(&d, v.get()) ||
        (format >= kBatchFormatWithTrace && !DecodeEpisode(&d, v.get()))) {
      return corrupt("version " + std::to_string(i));
    }
    v->tx_from = out->commit_time;
    out->versions.push_back(std::move(v));
  }
  const bool trace = format >= kBatchFormatWithTrace;
  if (trace) {
    if (!GetCount(&d, &n, 12)) return corrupt("edge count");
    out->edges.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      auto e = std::make_unique<index::EdgeVersion>();
      if (!DecodeEdgeBody(&d, e.get())) return corrupt("edge " + std::to_string(i));
      e->tx_from = out->commit_time;
      out->edges.push_back(std::move(e));
    }
    // One encoding per batch: one without trace content is written in an older format.
    if (format == kBatchFormatWithTrace && out->edges.empty() &&
        std::none_of(out->versions.begin(), out->versions.end(),
                     [](const auto& v) { return !v->episode.empty(); })) {
      return corrupt("format 4 batch without an edge or an episode");
    }
  }
  if (format == kBatchFormatWithPurges) {
    if (!GetCount(&d, &n, 2) || n == 0) return corrupt("purge count");
    out->purges.resize(n);
    for (PurgeEntry& p : out->purges) {
      if (!d.GetVarint32(&p.space_id) || !d.GetVarint64(&p.id) || p.id == 0 ||
          (p.id & kBatchRefBit) != 0) {
        return corrupt("purge entry");
      }
    }
  }
  return Status::OK();
}

std::function<Status(std::string)> BatchCorruption(const std::string& where) {
  return [where](const std::string& what) {
    return Status::Corruption(where + ": malformed batch (" + what + ")");
  };
}

}  // namespace

Status DecodeBatch(std::string_view payload, const std::string& where, BatchContents* out) {
  const auto corrupt = BatchCorruption(where);
  Decoder d(payload);
  uint8_t format;
  LOCI_RETURN_IF_ERROR(DecodeBatchHead(&d, corrupt, &format, out));
  if (format >= kBatchFormatWithCopies) {
    LOCI_RETURN_IF_ERROR(DecodeCopies(&d, out, format >= kBatchFormatWithTrace, corrupt));
  }
  if (!d.empty()) return corrupt("trailing bytes");
  return Status::OK();
}

Status DecodeBatchWithoutCopies(std::string_view payload, const std::string& where,
                                BatchContents* out) {
  Decoder d(payload);
  uint8_t format;
  return DecodeBatchHead(&d, BatchCorruption(where), &format, out);
}

Status ApplyCatalogChanges(const BatchContents& batch, const std::string& where, Catalog* catalog) {
  for (const SpaceEntry& s : batch.spaces) {
    LOCI_RETURN_IF_ERROR(catalog->ApplySpace(s.id, s.name).WithContext(where));
  }
  auto created_here = [&](const FieldDropEntry& drop) {
    return std::any_of(batch.fields.begin(), batch.fields.end(), [&](const FieldEntry& f) {
      return f.space_id == drop.space_id && f.field.id == drop.field_id;
    });
  };
  for (const FieldDropEntry& drop : batch.drops) {
    if (created_here(drop)) continue;
    LOCI_RETURN_IF_ERROR(catalog->ApplyFieldDrop(drop.space_id, drop.field_id).WithContext(where));
  }
  for (const FieldEntry& f : batch.fields) {
    LOCI_RETURN_IF_ERROR(
        catalog->ApplyField(f.space_id, f.field.id, f.field.name, f.field.dim, f.field.metric)
            .WithContext(where));
    // Every drop of it (a second one is Corruption: the field is dropped already).
    for (const FieldDropEntry& drop : batch.drops) {
      if (drop.space_id != f.space_id || drop.field_id != f.field.id) continue;
      LOCI_RETURN_IF_ERROR(
          catalog->ApplyFieldDrop(drop.space_id, drop.field_id).WithContext(where));
    }
  }
  return Status::OK();
}

}  // namespace loci::engine
