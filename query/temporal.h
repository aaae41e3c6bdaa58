// Bitemporal visibility (design.md §1): which version of a cube a read at
// (transaction time T, valid time V) sees. Used by Get, History and, later, Search and Trace,
// so every read path applies the same rule.

#ifndef LOCI_QUERY_TEMPORAL_H_
#define LOCI_QUERY_TEMPORAL_H_

#include <cstdint>

namespace loci::query {

// The point a read looks at.
struct ReadPoint {
  int64_t as_of;     // transaction time T: versions committed at or before it
  int64_t valid_at;  // valid time V: versions whose [valid_from, valid_to) contains it
};

// The times of one version.
struct VersionTimes {
  int64_t tx_from;
  int64_t valid_from;
  int64_t valid_to;    // exclusive
  int64_t expires_at;  // INT64_MAX when the version never expires
};

inline bool CommittedBy(const VersionTimes& v, int64_t as_of) { return v.tx_from <= as_of; }

inline bool ValidAt(const VersionTimes& v, int64_t valid_at) {
  return v.valid_from <= valid_at && valid_at < v.valid_to;
}

// A version is a candidate for a read when it was committed by T and is valid at V. Among the
// candidates of one cube the read sees the one committed last (the newest in its chain).
inline bool Candidate(const VersionTimes& v, const ReadPoint& p) {
  return CommittedBy(v, p.as_of) && ValidAt(v, p.valid_at);
}

// TTL: whether expiry `expires_at` has passed at `read_time` — the time the read happens, now,
// whatever its read point (an expired cube is being erased: a read of the past must not see
// what the next one will not). Applied to a cube's newest version (CubeExpired, version.h).
// Without one (INT64_MAX) nothing expires.
inline bool Expired(const VersionTimes& v, int64_t read_time) {
  return v.expires_at != INT64_MAX && v.expires_at <= read_time;
}

// Whether a later version overrides part of an earlier one's valid interval (which ends the
// earlier one's transaction interval, tx_to).
inline bool Overlaps(const VersionTimes& earlier, const VersionTimes& later) {
  return later.valid_from < earlier.valid_to && earlier.valid_from < later.valid_to;
}

}  // namespace loci::query

#endif  // LOCI_QUERY_TEMPORAL_H_
