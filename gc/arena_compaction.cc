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

}  // namespace loci::gc
