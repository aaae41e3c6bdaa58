// Version: one committed version of a cube as the record table holds it. Immutable once
// published; readers reach it without locks by walking a cube's chain from its head.

#ifndef LOCI_QUERY_VERSION_H_
#define LOCI_QUERY_VERSION_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "blob/format.h"
#include "loci/cube.h"
#include "query/temporal.h"

namespace loci::query {

// A vector of a version: which field of the cube's space, and the blob holding its floats.
struct VectorRef {
  uint32_t field_id = 0;
  blob::BlobRef blob;
  bool operator==(const VectorRef&) const = default;
};

struct Version;

// A version's link to the previous (older) version of its cube. Set before the version is
// published; after that the only change is a retention cut (gc/retention.h), which sets it to
// nullptr while readers may be following it: a reader then sees the old link (the versions
// beyond stay allocated until every reader that could see it has unpinned) or none. Copying a
// version copies the link's value.
class ChainLink {
 public:
  ChainLink() = default;
  ChainLink(const Version* v) : link_(v) {}  // NOLINT: reads like the pointer it replaces
  ChainLink(const ChainLink& other) : link_(other.get()) {}
  ChainLink& operator=(const ChainLink& other) { return *this = other.get(); }
  ChainLink& operator=(const Version* v) {
    link_.store(v, std::memory_order_release);
    return *this;
  }
  const Version* get() const { return link_.load(std::memory_order_acquire); }
  // One load per use: code that tests the link and then follows it must copy it to a local
  // first (a cut may clear it in between), hence no operator->.
  operator const Version*() const { return get(); }  // NOLINT: reads like a pointer

 private:
  std::atomic<const Version*> link_{nullptr};
};

struct Version {
  CubeId id = 0;
  uint32_t number = 0;  // 1, 2, 3... per user operation on the cube
  uint32_t space_id = 0;
  uint16_t kind = kPlaintext;
  CubeState state = CubeState::kActive;
  Timestamp valid_from = 0;
  Timestamp valid_to = kForever;
  Timestamp tx_from = 0;
  Timestamp expires_at = kForever;
  uint64_t lsn = 0;  // the WAL record that committed it
  float importance = 0.0f;
  float trust = 1.0f;
  blob::BlobRef payload;
  std::vector<VectorRef> vectors;  // sorted by field_id
  std::vector<Attr> attrs;         // sorted by key
  std::string source;
  std::string agent;
  std::vector<CubeId> parents;
  std::string episode;  // empty: none

  // The previous (older) version of the same cube, or nullptr. Set before publication; cut
  // (set to nullptr) by retention only.
  ChainLink prev;

  VersionTimes times() const { return {tx_from, valid_from, valid_to, expires_at}; }

  // Field-by-field equality, chain pointer excluded (used by tests and recovery checks).
  bool SameContent(const Version& other) const;
};

// Calls fn(const blob::BlobRef&) once for every distinct non-empty blob (payload or vector) of
// the chain from `head`: an update that keeps a payload or vector shares its predecessor's
// blob. (Blobs are never shared between cubes.)
template <typename Fn>
void ForEachBlobOfChain(const Version* head, Fn&& fn) {
  std::vector<std::pair<uint32_t, uint64_t>> seen;  // generation, offset
  auto visit = [&](const blob::BlobRef& r) {
    const std::pair<uint32_t, uint64_t> at(r.generation, r.offset);
    if (r.empty() || std::find(seen.begin(), seen.end(), at) != seen.end()) return;
    seen.push_back(at);
    fn(r);
  };
  for (const Version* v = head; v != nullptr; v = v->prev) {
    visit(v->payload);
    for (const VectorRef& r : v->vectors) visit(r.blob);
  }
}

// Whether the vector index must see `v`: it has vectors, or its predecessor had some (that
// it may have dropped).
bool TouchesVectors(const Version& v);

// The order versions are applied to the vector index in: commit order, and within one batch by
// id and version number, so an index rebuilt at open has the shape the live one had.
bool IndexOrder(const Version* a, const Version* b);

// v's tx_to as seen at transaction time `as_of`: the earliest commit, among the versions from
// `newest` down to (not including) v that were committed by then, of one overriding part of
// v's valid interval; kForever if none.
Timestamp TxTo(const Version& v, const Version* newest, Timestamp as_of);

// The version of the chain from `head` a read at `p` selects (design.md §1): among those
// committed by p.as_of whose valid interval contains p.valid_at, the one committed last;
// nullptr if none. Whether the read may return it is Readable's question. Every read path
// (Get, Search, the trace queries) walks chains through this one function.
const Version* SelectAt(const Version* head, const ReadPoint& p);

// Whether the cube whose chain starts at `head` has expired at `read_time` (the time expiry is
// judged at: now, whatever the read point). Expiry is the cube's: its newest version's
// expires_at (an update may move it), so a read of any point of its history answers alike.
inline bool CubeExpired(const Version& head, int64_t read_time) {
  return Expired(head.times(), read_time);
}

// Whether a selected version is one a read returns: not a retirement. (Expiry is judged on
// the cube, CubeExpired.)
inline bool Readable(const Version& v) { return v.state != CubeState::kRetired; }

// The version of the chain from `head` a read at `p` returns: SelectAt's, if Readable and the
// cube has not expired at `read_time`.
inline const Version* VisibleAt(const Version* head, const ReadPoint& p, int64_t read_time) {
  if (head == nullptr || CubeExpired(*head, read_time)) return nullptr;
  const Version* v = SelectAt(head, p);
  return v != nullptr && Readable(*v) ? v : nullptr;
}

// For a valid-time window [from, to): the newest version of the chain from `head` that is
// current at `as_of` (CurrentAt), Readable, and valid at some time in the window; nullptr if
// none, or if the cube has expired at `read_time`.
const Version* SelectInWindow(const Version* head, int64_t as_of, int64_t from, int64_t to,
                              int64_t read_time);

// Whether `v` is current at transaction time `as_of`: committed by then and not overridden by
// a later version committed by then (TxTo is kForever). `newest` is its chain's head.
inline bool CurrentAt(const Version& v, const Version* newest, int64_t as_of) {
  return v.tx_from <= as_of && TxTo(v, newest, as_of) == kForever;
}

}  // namespace loci::query

// The engine's record table and codecs use these names unqualified.
namespace loci::engine {
using query::ForEachBlobOfChain;
using query::IndexOrder;
using query::TouchesVectors;
using query::TxTo;
using query::VectorRef;
using query::Version;
}  // namespace loci::engine

#endif  // LOCI_QUERY_VERSION_H_
