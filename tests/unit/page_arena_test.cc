// PageArena: aligned blocks carved from huge-page chunks, freed blocks reused by size.

#include "index/page_arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <set>
#include <vector>

namespace loci::index {
namespace {

TEST(PageArenaTest, BlocksAreAlignedDisjointAndWritable) {
  PageArena arena;
  constexpr size_t kBytes = 12345;  // not a multiple of 64: the arena rounds it up
  std::vector<char*> blocks;
  // More than one chunk's worth, so a second chunk is mapped.
  const size_t count = 2 * PageArena::kChunkBytes / kBytes + 3;
  for (size_t i = 0; i < count; ++i) {
    auto* b = static_cast<char*>(arena.Allocate(kBytes));
    ASSERT_EQ(reinterpret_cast<uintptr_t>(b) % 64, 0u);
    std::memset(b, static_cast<int>(i & 0xff), kBytes);
    blocks.push_back(b);
  }
  EXPECT_GE(arena.reserved_bytes(), 3 * PageArena::kChunkBytes);
  for (size_t i = 0; i < count; ++i) {
    // Each block still holds its own fill: no two overlap.
    for (size_t off = 0; off < kBytes; off += 997) {
      ASSERT_EQ(static_cast<unsigned char>(blocks[i][off]), i & 0xff) << "block " << i;
    }
  }
  for (char* b : blocks) arena.Free(b, kBytes);
}

TEST(PageArenaTest, FreedBlocksAreReusedForTheSameSizeOnly) {
  PageArena arena;
  void* a = arena.Allocate(4096);
  void* b = arena.Allocate(8192);
  arena.Free(a, 4096);
  arena.Free(b, 8192);
  EXPECT_EQ(arena.Allocate(8192), b);
  EXPECT_EQ(arena.Allocate(4096), a);
  void* c = arena.Allocate(4096);
  EXPECT_NE(c, a);
  EXPECT_EQ(arena.reserved_bytes(), PageArena::kChunkBytes);
}

TEST(PageArenaTest, RefusesBlocksLargerThanItsLimit) {
  PageArena arena;
  EXPECT_THROW(arena.Allocate(PageArena::kMaxBlockBytes + 1), std::bad_alloc);
  EXPECT_NE(arena.Allocate(PageArena::kMaxBlockBytes), nullptr);
}

}  // namespace
}  // namespace loci::index
