// MemCube: the unit of storage, a versioned memory record with provenance (design.md §1).
//
// CubeDraft is what a Put writes, CubePatch what an Update changes, and MemCube one committed
// version as a read returns it. Times are microseconds since the Unix epoch (UTC).

#ifndef LOCI_CUBE_H_
#define LOCI_CUBE_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "loci/metric.h"

namespace loci {

using CubeId = uint64_t;
using Timestamp = int64_t;  // microseconds since the Unix epoch

// Open end of an interval ("until further notice").
inline constexpr Timestamp kForever = std::numeric_limits<Timestamp>::max();
// The earliest representable time.
inline constexpr Timestamp kBeginningOfTime = std::numeric_limits<Timestamp>::min();

// What the payload is. Values >= kFirstApplicationKind are the application's own codes.
enum CubeKind : uint16_t {
  kPlaintext = 0,
  kActivation = 1,  // e.g. a KV-cache tensor
  kParametric = 2,  // e.g. adapter weights
  kFirstApplicationKind = 1000,
};

enum class CubeState : uint8_t {
  kActive = 0,
  kArchived = 1,
  kRetired = 2,  // logically deleted: not found at valid times after the retirement; history kept
};

// A typed attribute value: bool, integer, floating point or string.
using AttrValue = std::variant<bool, int64_t, double, std::string>;

struct Attr {
  std::string key;
  AttrValue value;
  bool operator==(const Attr&) const = default;
};

// A named embedding, e.g. {"minilm-384", 384 floats}. Its components must be finite and its
// norm within kMaxVectorSquaredNorm (and, in a cosine field, kMinCosineSquaredNorm): see
// loci/metric.h.
struct NamedVector {
  std::string field;
  std::vector<float> values;
  bool operator==(const NamedVector&) const = default;
};

// A new cube, as given to Put.
struct CubeDraft {
  std::string space;  // required, non-empty
  uint16_t kind = kPlaintext;
  CubeState state = CubeState::kActive;  // kActive or kArchived
  std::string payload;                   // at most Options::max_payload_bytes
  std::vector<NamedVector> vectors;      // at most one per field
  std::vector<Attr> attrs;               // keys unique
  std::string source;                    // provenance: message id, file, URL...
  std::vector<CubeId> parents;           // cubes this one was derived from, of the same space
  std::string agent;                     // who wrote it
  std::string episode;                   // the session or task it belongs to (loci/trace.h)
  float importance = 0.0f;
  float trust = 1.0f;
  std::optional<Timestamp> valid_from;  // default: the commit time
  std::optional<Timestamp> valid_to;    // default: kForever
  // TTL. From this time on the cube is missing for every read whatever its read point (expiry
  // is judged at the current time, not at as_of: a read of the past no longer sees it either)
  // and for every write (an update or link of it is NotFound; a Purge still erases it at once),
  // and the engine erases it as
  // Purge would at its next checkpoint (automatic or Db::Checkpoint) or read-write open. Must
  // be after the commit time (InvalidArgument otherwise). Default: never.
  std::optional<Timestamp> expires_at;
};

// Changes an Update applies to the latest version; unset fields are inherited. A patch must
// change something (see Db::Update).
struct CubePatch {
  std::optional<uint16_t> kind;
  std::optional<CubeState> state;  // kActive or kArchived (use Retire to retire)
  std::optional<std::string> payload;
  std::vector<NamedVector> set_vectors;     // replaces or adds these fields
  std::vector<std::string> remove_vectors;  // drops these fields
  std::vector<Attr> set_attrs;              // replaces or adds these keys
  std::vector<std::string> remove_attrs;    // drops these keys
  std::optional<std::string> source;
  std::optional<std::vector<CubeId>> parents;  // of the same space, not the cube itself
  std::optional<std::string> agent;
  std::optional<std::string> episode;  // moves the cube to another episode ("" to none)
  std::optional<float> importance;
  std::optional<float> trust;
  std::optional<Timestamp> valid_from;  // default: the commit time
  std::optional<Timestamp> valid_to;    // default: kForever
  // A new expiry (see CubeDraft::expires_at), after the commit time; unset: inherited.
  std::optional<Timestamp> expires_at;
};

// One committed version of a cube.
struct MemCube {
  CubeId id = 0;
  uint32_t version = 0;
  std::string space;
  uint16_t kind = kPlaintext;
  CubeState state = CubeState::kActive;
  Timestamp valid_from = 0;
  Timestamp valid_to = kForever;
  Timestamp tx_from = 0;             // commit time of this version
  Timestamp tx_to = kForever;        // commit time of the first later version overriding part of
                                     // this one's valid interval
  std::string payload;               // empty unless ReadOptions::fill_payload
  uint64_t payload_size = 0;         // always set
  std::vector<NamedVector> vectors;  // empty unless ReadOptions::fill_vectors
  std::vector<Attr> attrs;
  std::string source;
  std::vector<CubeId> parents;
  std::string agent;
  std::string episode;
  float importance = 0.0f;
  float trust = 1.0f;
  std::optional<Timestamp> expires_at;
};

const char* CubeStateName(CubeState state);

}  // namespace loci

#endif  // LOCI_CUBE_H_
