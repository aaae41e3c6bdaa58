// Arena compaction planning (see the header).

#include "gc/arena_compaction.h"

namespace loci::gc {

std::vector<uint32_t> PlanCompaction(std::span<const GenerationLiveness> generations,
                                     const CompactionPolicy& policy) {
  std::vector<uint32_t> victims;
  for (const GenerationLiveness& g : generations) {
    if (g.pinned || g.live_bytes >= g.frame_bytes) continue;
    const double live_fraction =
        static_cast<double>(g.live_bytes) / static_cast<double>(g.frame_bytes);
    if (live_fraction <= policy.max_live_fraction) victims.push_back(g.number);
  }
  return victims;
}

Status CopyLiveBlobs(blob::BlobArena* arena, std::span<const blob::BlobRef> from,
                     std::span<blob::BlobRef> to,
                     const std::function<void(uint64_t copied, uint64_t total)>& progress,
                     uint64_t* copied) {
  // Steps of a few MiB: one write each, and progress a person can follow.
  constexpr uint64_t kStepBytes = 8ull << 20;
  uint64_t total = 0;
  for (const blob::BlobRef& r : from) total += r.length;
  *copied = 0;
  for (size_t i = 0; i < from.size();) {
    size_t j = i;
    uint64_t step = 0;
    while (j < from.size() && (j == i || step + from[j].length <= kStepBytes)) {
      step += from[j++].length;
    }
    LOCI_RETURN_IF_ERROR(arena->CopyForward(from.subspan(i, j - i), to.subspan(i, j - i)));
    *copied += step;
    if (progress) progress(*copied, total);
    i = j;
  }
  return Status::OK();
}

}  // namespace loci::gc
