// Arena compaction planning: which blob-arena generations are worth copying forward.
//
// The arena (blob/arena.h) only appends. Purges and retention erase dead frames in place
// (BlobArena::Discard punches them out), which gives their blocks back to the file system but
// leaves the files as long as ever, their mappings as wide, and the partial blocks shared with
// live frames. Compaction copies the live frames of mostly dead generations to the active one
// and removes the old files. The engine (engine/db_compact.cc) orchestrates it: it measures
// what is live in each generation, asks PlanCompaction which to empty, has CopyLiveBlobs copy
// their live blobs, moves the references,
// makes the move durable with a base checkpoint, and removes the emptied files once no reader
// can hold a view into them (an epoch grace period).
//
// Policy: a generation is emptied when at most `max_live_fraction` of its frame bytes are live
// and it holds at least one dead byte; never while appends go to it (the active one is sealed
// first, if it qualifies) or while an append not yet committed pins it. Automatic compaction
// runs at a checkpoint once `min_dead_bytes` frame bytes have been erased since the last one.
// The copy costs the live bytes moved; with max_live_fraction 0.5 each byte written is copied
// O(1) times on average (a byte is moved only out of a generation at least half dead).

#ifndef LOCI_GC_ARENA_COMPACTION_H_
#define LOCI_GC_ARENA_COMPACTION_H_

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "blob/arena.h"
#include "loci/status.h"

namespace loci::gc {

struct CompactionPolicy {
  double max_live_fraction = 0.5;  // 1.0: every generation with a dead byte
  uint64_t min_dead_bytes = 64ull << 20;
};

// What compaction knows of one generation.
struct GenerationLiveness {
  uint32_t number = 0;
  uint64_t frame_bytes = 0;  // bytes past the header up to the last append
  uint64_t live_bytes = 0;   // of frames some version still refers to
  bool active = false;       // appends go to it
  bool pinned = false;       // an uncommitted append refers to it
};

// The generations to empty, ascending. Includes the active generation if it qualifies (the
// caller seals it and asks again: a generation pinned by then is left for a later pass).
std::vector<uint32_t> PlanCompaction(std::span<const GenerationLiveness> generations,
                                     const CompactionPolicy& policy);

// Whether an automatic pass is due: `erased_since_last` frame bytes erased since the last pass.
inline bool CompactionDue(uint64_t erased_since_last, const CompactionPolicy& policy) {
  return policy.max_live_fraction > 0 && erased_since_last >= policy.min_dead_bytes;
}

// The copier: copies the blobs of `from` to the arena's active generation, a few MiB per write,
// into to[i] (BlobArena::CopyForward), calling progress(bytes copied, bytes in all) after each
// step if given; *copied gets the payload bytes copied. On failure (a blob that does not
// verify, a failed write) nothing refers to the copies made so far. REQUIRES:
// to.size() == from.size().
Status CopyLiveBlobs(blob::BlobArena* arena, std::span<const blob::BlobRef> from,
                     std::span<blob::BlobRef> to,
                     const std::function<void(uint64_t copied, uint64_t total)>& progress,
                     uint64_t* copied);

}  // namespace loci::gc

#endif  // LOCI_GC_ARENA_COMPACTION_H_
