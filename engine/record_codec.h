// Encoding of what the engine logs and checkpoints: catalog changes and cube versions.
//
// A WAL batch payload is
//   format:u8 commit_time:varsint
//   n_spaces:varint  (space_id:varint name:lp)*
//   n_fields:varint  (space_id:varint field_id:varint name:lp dim:varint metric:u8)*
//   [n_drops:varint  (space_id:varint field_id:varint)*]          formats 2 and 3
//   n_versions:varint version_body*
//   [n_edges:varint edge_body*]                                     formats 4 and 5
//   [n_purges:varint (space_id:varint id:varint)*]                  format 5 only
//   [n_copies:varint (generation:varint offset:varint bytes:lp)*]  formats 3, 4 and 5
// and a version body is
//   id number space kind:varint state:u8 valid_from valid_to expires_at:varsint
//   importance trust:f32 payload:blobref n_vectors (field_id blobref)* n_attrs (key:lp tag:u8
//   value)* source:lp agent:lp n_parents parent*
// (in format 4 each version body is followed by its episode:lp), an edge body is
//   space from to type number:varint weight:f32 unlinked:u8 valid_from valid_to:varsint
// with blobref = generation:varint [offset:varint length:varint checksum:u64 unless
// generation is 0]. Format 1 is a batch that drops no vector field, format 2 one that drops at
// least one (n_drops > 0): a batch without drops is still written in format 1, so a database
// that never drops a field stays readable by a build that knows only format 1. Format 3 also
// carries copies of blobs the batch wrote (n_copies > 0; n_drops may be 0): the bytes of each,
// named by the generation and offset of a blob ref of one of its versions, in increasing
// (generation, offset) order. The WAL record is then their durable copy until a checkpoint has
// synced the arena's (see BlobCopy). Format 4 is written when the batch writes an edge or a
// version in an episode, with every optional section present (counts may be 0), so a
// database that never uses the trace graph stays readable by a build that knows only format 3.
// Format 5 is format 4 with the cubes the batch purges (n_purges > 0), written only then.
// Vectors are
// sorted by field and attributes by key, so every version (and every batch) has exactly one
// encoding. Decoders bound every length and count by the input and check every invariant;
// anything else is Corruption.

#ifndef LOCI_ENGINE_RECORD_CODEC_H_
#define LOCI_ENGINE_RECORD_CODEC_H_

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "engine/catalog.h"
#include "index/trace_graph.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// The largest names, texts and dimensions the decoders accept: write limits (Options) may not
// exceed them, or a write could be acknowledged that recovery would refuse.
inline constexpr size_t kMaxDecodedName = 64 << 10;
inline constexpr size_t kMaxDecodedText = 16 << 20;
// Dimensions also stay within the exact range of the INT8 kernels' int32 sums (kernels.h).
inline constexpr uint32_t kMaxDecodedDim = 1 << 16;

struct SpaceEntry {
  uint32_t id = 0;
  std::string name;
};

struct FieldEntry {
  uint32_t space_id = 0;
  FieldDef field;
};

// A vector field dropped (WriteBatch::DropVectorField).
struct FieldDropEntry {
  uint32_t space_id = 0;
  uint32_t field_id = 0;
  bool operator==(const FieldDropEntry&) const = default;
};

// A blob's bytes logged in the WAL record of the batch that wrote it. Small blobs travel so, so
// that a durable commit needs one flush (the record's) instead of two (the arena's, then the
// record's): the record is the blob's durable copy until a checkpoint syncs the arena, and
// recovery rewrites an arena copy that does not verify from it.
struct BlobCopy {
  blob::BlobRef ref;       // as the batch's version refers to it
  std::string_view bytes;  // ref.length bytes
};

// A cube a batch purged (WriteBatch::Purge), with the space it was in.
struct PurgeEntry {
  uint32_t space_id = 0;
  CubeId id = 0;
  bool operator==(const PurgeEntry&) const = default;
};

// What one committed batch contains.
struct BatchContents {
  Timestamp commit_time = 0;
  std::vector<SpaceEntry> spaces;
  std::vector<FieldEntry> fields;                  // created by the batch, in order
  std::vector<FieldDropEntry> drops;               // dropped by the batch, in order
  std::vector<std::unique_ptr<Version>> versions;  // tx_from = commit_time; lsn left 0
  // Blobs logged with the batch (format 3), each verified against its version's ref: views into
  // the decoded payload.
  std::vector<BlobCopy> copies;
  std::vector<std::unique_ptr<index::EdgeVersion>> edges;  // tx_from = commit_time; lsn left 0
  std::vector<PurgeEntry> purges;  // applied after the versions and edges (format 5)
};

// Appends the WAL payload of a batch to *dst: format 5 if it purges, else 4 if it has edges
// or a version in an episode, else 3 if it logs blob copies, else 2 if it drops a field, else 1.
// REQUIRES: each copy is a blob one of `versions` refers to (same generation, offset and length;
// bytes that hash to its checksum), no two copies of one blob.
void EncodeBatch(Timestamp commit_time, const std::vector<SpaceEntry>& spaces,
                 const std::vector<FieldEntry>& fields, const std::vector<FieldDropEntry>& drops,
                 const std::vector<const Version*>& versions, std::string* dst,
                 std::span<const BlobCopy> copies = {},
                 std::span<const index::EdgeVersion* const> edges = {},
                 std::span<const PurgeEntry> purges = {});
// Corruption (with `where` as context) if `payload` is not a well-formed batch.
Status DecodeBatch(std::string_view payload, const std::string& where, BatchContents* out);
// Decodes what a batch held (catalog changes and versions) without its blob copies, which it
// neither checks nor returns (out->copies stays empty), nor anything after them: for naming
// what a damaged record held, whose copies (most of its bytes) are where damage usually is.
// Corruption (with `where`) if the part before the copies is not well formed.
Status DecodeBatchWithoutCopies(std::string_view payload, const std::string& where,
                                BatchContents* out);

// Applies the catalog changes of a decoded batch to *catalog, with the effect they had when the
// batch committed: its spaces, then the drops of fields older than the batch, then its new
// fields in order, each followed at once by its drop if the batch dropped it too (a batch may
// drop a field it defined, and define a dropped name again; field ids grow in batch order, so
// this is the batch's own order for every name). Corruption (with `where`) if a change does
// not fit the catalog.
Status ApplyCatalogChanges(const BatchContents& batch, const std::string& where, Catalog* catalog);

void EncodeVersionBody(const Version& v, std::string* dst);
// The episode that follows a version body where the format has one (format 4 batches,
// checkpoint episode-version entries). Decoding fills v->episode; false if malformed.
bool DecodeEpisode(Decoder* d, Version* v);
// An edge version's body (tx_from and lsn are not in it). Decoding checks every field: two
// different non-placeholder ends, a valid type, a finite weight, a non-empty valid interval.
void EncodeEdgeBody(const index::EdgeVersion& e, std::string* dst);
bool DecodeEdgeBody(Decoder* d, index::EdgeVersion* e);
// Decodes a body into *v (tx_from and lsn untouched). False if malformed.
bool DecodeVersionBody(Decoder* d, Version* v);

// The payload of the WAL seal record a clean close appends (wal::kSealRecord): the next cube id
// then, as a varint.
std::string EncodeSealPayload(CubeId next_cube_id);
// False if `payload` is not one.
bool DecodeSealPayload(std::string_view payload, CubeId* next_cube_id);

void EncodeBlobRef(const blob::BlobRef& ref, std::string* dst);
bool DecodeBlobRef(Decoder* d, blob::BlobRef* ref);

// Catalog entries, shared by WAL batches and checkpoints.
void EncodeSpace(uint32_t id, std::string_view name, std::string* dst);
bool DecodeSpace(Decoder* d, SpaceEntry* out);
// A field entry describes the field as created: `dropped` is not encoded (a drop is an entry
// of its own).
void EncodeField(uint32_t space_id, const FieldDef& field, std::string* dst);
bool DecodeField(Decoder* d, FieldEntry* out);
void EncodeFieldDrop(const FieldDropEntry& drop, std::string* dst);
bool DecodeFieldDrop(Decoder* d, FieldDropEntry* out);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_RECORD_CODEC_H_
