// Retention: see retention.h.

#include "gc/retention.h"

namespace loci::gc {

size_t VersionsKept(const RetentionRule& rule, std::span<const int64_t> tx_from, int64_t now,
                    int64_t pinned_until) {
  const size_t n = tx_from.size();
  if (n <= 1 || rule.keeps_everything()) return n;
  // The oldest version kept decides: everything from it to the newest stays. Walk from the
  // oldest while versions may go.
  size_t kept = n;
  while (kept > 1) {
    const size_t i = kept - 1;  // the oldest version still kept
    const bool beyond_count = rule.keep_versions == 0 || i >= rule.keep_versions;
    const int64_t superseded_at = tx_from[i - 1];
    // With an age rule, a version stays while it was superseded within keep_for of now.
    const bool aged_out = rule.keep_for == 0 || superseded_at <= now - rule.keep_for;
    const bool pinned = tx_from[i] <= pinned_until;
    if (!beyond_count || !aged_out || pinned) break;
    --kept;
  }
  return kept;
}

}  // namespace loci::gc
