// Retention: which of a cube's versions a retention policy keeps (design.md §8).
//
// A policy keeps the newest `keep_versions` versions of every cube, and/or the versions
// superseded within `keep_for` of now; a version either rule keeps is kept (the rules add up,
// they do not narrow each other), and a policy with neither rule keeps everything. A version's
// superseded time is the commit time of the next version of its cube; the newest version is
// never superseded, so it is always kept.
//
// Pruning removes the oldest versions only, so a cube's retained history is always a run of
// its newest versions: every read that the retained versions answer is answered as before (a
// newer version committed by a read point always wins over an older one), and a read that
// finds none of them — a read point older than what was retained — can say so.
//
// Readers that must not lose a version pin it: no version committed at or before `pinned_until`
// (the time of the newest live snapshot) is pruned, since a snapshot may read any version
// committed by its time (History, a valid time in the past). This module only decides; the
// engine cuts the chains, frees the versions through the epoch domain and records the cut in
// its checkpoints.

#ifndef LOCI_GC_RETENTION_H_
#define LOCI_GC_RETENTION_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>

namespace loci::gc {

struct RetentionRule {
  uint32_t keep_versions = 0;  // the newest versions every cube keeps; 0: no count rule
  int64_t keep_for = 0;        // microseconds a superseded version is kept; 0: no age rule
  bool keeps_everything() const { return keep_versions == 0 && keep_for == 0; }
};

inline constexpr int64_t kNothingPinned = std::numeric_limits<int64_t>::min();

// How many of a cube's versions `rule` keeps, counted from the newest: at least 1, at most
// tx_from.size(). `tx_from` holds the commit times of its versions, newest first (so they
// decrease); `now` is the time ages are measured at; no version with tx_from <= pinned_until
// is pruned (kNothingPinned: none is pinned). A version is pruned only if every older one is.
size_t VersionsKept(const RetentionRule& rule, std::span<const int64_t> tx_from, int64_t now,
                    int64_t pinned_until);

}  // namespace loci::gc

#endif  // LOCI_GC_RETENTION_H_
