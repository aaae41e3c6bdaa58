// gc::PlanCompaction and gc::CompactionDue (gc/arena_compaction.h): a generation is emptied when
// at most the policy's fraction of its frame bytes is live and some byte is dead, never while
// pinned; the active one is proposed like any other (the engine seals it first); a pass is due
// once enough was erased, never with automatic compaction off.

#include "gc/arena_compaction.h"

#include <gtest/gtest.h>

namespace loci::gc {
namespace {

TEST(ArenaCompactionTest, PlansMostlyDeadUnpinnedGenerations) {
  const GenerationLiveness generations[] = {
      {.number = 1, .frame_bytes = 1000, .live_bytes = 100},                // 10% live
      {.number = 2, .frame_bytes = 1000, .live_bytes = 500},                // 50%: at the bound
      {.number = 3, .frame_bytes = 1000, .live_bytes = 501},                // above it
      {.number = 4, .frame_bytes = 1000, .live_bytes = 0, .pinned = true},  // pinned
      {.number = 5, .frame_bytes = 0, .live_bytes = 0},                     // empty: nothing dead
      {.number = 6, .frame_bytes = 1000, .live_bytes = 0, .active = true},  // active, all dead
  };
  EXPECT_EQ(PlanCompaction(generations, CompactionPolicy{.max_live_fraction = 0.5}),
            (std::vector<uint32_t>{1, 2, 6}));
  // 1.0: every generation with a dead byte.
  EXPECT_EQ(PlanCompaction(generations, CompactionPolicy{.max_live_fraction = 1.0}),
            (std::vector<uint32_t>{1, 2, 3, 6}));
  const GenerationLiveness full[] = {{.number = 1, .frame_bytes = 1000, .live_bytes = 1000}};
  EXPECT_TRUE(PlanCompaction(full, CompactionPolicy{.max_live_fraction = 1.0}).empty());
}

TEST(ArenaCompactionTest, DueOnceEnoughWasErased) {
  const CompactionPolicy policy{.max_live_fraction = 0.5, .min_dead_bytes = 64};
  EXPECT_FALSE(CompactionDue(63, policy));
  EXPECT_TRUE(CompactionDue(64, policy));
  EXPECT_FALSE(CompactionDue(1 << 20, CompactionPolicy{.max_live_fraction = 0}))
      << "a fraction of 0 turns automatic compaction off";
}

}  // namespace
}  // namespace loci::gc
