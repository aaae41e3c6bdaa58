// PageArena: chunks from mmap, advised for transparent huge pages.

#include "index/page_arena.h"

#include <sys/mman.h>

#include <cstdint>
#include <new>

namespace loci::index {

namespace {

constexpr size_t kAlign = 64;

// A kChunkBytes mapping aligned to kChunkBytes (a huge page can only back an aligned 2 MiB).
char* MapChunk() {
  const size_t span = 2 * PageArena::kChunkBytes;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned =
      (start + PageArena::kChunkBytes - 1) & ~(uintptr_t{PageArena::kChunkBytes} - 1);
  // Trim the unaligned head and the tail past the chunk.
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t tail = aligned + PageArena::kChunkBytes;
  if (start + span > tail) munmap(reinterpret_cast<void*>(tail), start + span - tail);
  char* chunk = reinterpret_cast<char*>(aligned);
  // Advice only: without transparent huge pages (or with them disabled) the chunk stays in
  // small pages and works the same.
#ifdef MADV_HUGEPAGE
  madvise(chunk, PageArena::kChunkBytes, MADV_HUGEPAGE);
#endif
  return chunk;
}

}  // namespace

PageArena::~PageArena() {
  for (char* chunk : chunks_) munmap(chunk, kChunkBytes);
}

void* PageArena::Allocate(size_t bytes) {
  if (bytes > kMaxBlockBytes) throw std::bad_alloc();
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  MutexLock lock(&mu_);
  auto it = free_.find(bytes);
  if (it != free_.end() && !it->second.empty()) {
    void* block = it->second.back();
    it->second.pop_back();
    return block;
  }
  if (static_cast<size_t>(end_ - next_) < bytes) {
    chunks_.reserve(chunks_.size() + 1);  // so that push_back cannot throw past the mapping
    next_ = MapChunk();
    end_ = next_ + kChunkBytes;
    chunks_.push_back(next_);
  }
  void* block = next_;
  next_ += bytes;
  return block;
}

void PageArena::Free(void* block, size_t bytes) {
  bytes = (bytes + kAlign - 1) & ~(kAlign - 1);
  MutexLock lock(&mu_);
  try {
    free_[bytes].push_back(block);
  } catch (const std::bad_alloc&) {
    // Out of memory for the free list (a free must not throw): the block stays unused until
    // the arena unmaps its chunk.
  }
}

size_t PageArena::reserved_bytes() const {
  MutexLock lock(&mu_);
  return chunks_.size() * kChunkBytes;
}

}  // namespace loci::index
