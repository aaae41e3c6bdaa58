// EntryTable: what Atlas knows about each vector it indexes, by entry number. An entry is one
// full-precision vector of one cube (a version that changes the vector adds an entry; one that
// keeps it does not), shared by all the pages that hold a replica of it.
//
// Append-only and never moved (a fixed directory of chunks), so readers index it without locks
// while the single writer appends; the writer publishes an entry before any page refers to it.

#ifndef LOCI_INDEX_ENTRY_TABLE_H_
#define LOCI_INDEX_ENTRY_TABLE_H_

#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>

namespace loci::index {

// live_from when an entry may not be accepted without checking its cube's versions.
inline constexpr int64_t kNotLive = std::numeric_limits<int64_t>::max();

// Where an entry's full-precision vector is. Set by the single writer when the entry is added,
// and moved only by a compaction of the blob arena (Partition::Relocate), while readers may
// load it: both places then hold the same floats until every reader that could have loaded the
// old one has unpinned. Reads like the pointer it holds.
class VectorLocation {
 public:
  VectorLocation& operator=(const float* v) {
    at_.store(v, std::memory_order_release);
    return *this;
  }
  const float* get() const { return at_.load(std::memory_order_acquire); }
  operator const float*() const { return get(); }  // NOLINT: reads like the pointer it holds

 private:
  std::atomic<const float*> at_{nullptr};
};

struct EntryInfo {
  uint64_t cube = 0;
  // The full-precision vector, as stored (in the blob arena's read-only mapping).
  VectorLocation vector;
  // 1/|x| (cosine), used by the exact re-rank.
  float inv_norm = 1;
  // While this entry is the vector of its cube's newest version and that version is visible at
  // every valid time from its commit on (active or archived, open-ended, no expiry), the
  // commit time from which that holds; kNotLive otherwise. A read at transaction time T >=
  // live_from, at a valid time >= T and without kind/state/attribute filters, may accept the
  // entry without walking the cube's versions. Written by the single writer before the
  // versions it describes are published.
  std::atomic<int64_t> live_from{kNotLive};
};

class EntryTable {
 public:
  static constexpr int kChunkBits = 12;
  static constexpr uint32_t kChunkSize = 1u << kChunkBits;
  // Chunk pointers live in blocks of kBlockSize, allocated as the table grows, so an empty
  // table (most partitions are small) costs one 4 KiB directory of block pointers.
  static constexpr int kBlockBits = 9;
  static constexpr uint32_t kBlockSize = 1u << kBlockBits;
  static constexpr uint32_t kMaxBlocks = 1u << 9;  // 2^30 entries in all

  EntryTable() : blocks_(new std::atomic<Block*>[kMaxBlocks]()) {}
  ~EntryTable() {
    for (uint32_t b = 0; b < kMaxBlocks; ++b) {
      Block* block = blocks_[b].load(std::memory_order_relaxed);
      if (block == nullptr) break;  // blocks are allocated in order
      for (auto& chunk : block->chunks) delete[] chunk.load(std::memory_order_relaxed);
      delete block;
    }
  }
  EntryTable(const EntryTable&) = delete;
  EntryTable& operator=(const EntryTable&) = delete;

  // REQUIRES: e < size() as seen through a page that refers to it.
  EntryInfo& at(uint32_t e) const {
    const Block* block = blocks_[e >> (kChunkBits + kBlockBits)].load(std::memory_order_acquire);
    EntryInfo* chunk =
        block->chunks[(e >> kChunkBits) & (kBlockSize - 1)].load(std::memory_order_acquire);
    return chunk[e & (kChunkSize - 1)];
  }

  // A new entry, not yet referred to by any page; nullptr if the table is full. Single writer.
  EntryInfo* Add(uint32_t* number) {
    const uint64_t size = size_.load(std::memory_order_relaxed);
    if (size == uint64_t{kChunkSize} * kBlockSize * kMaxBlocks) return nullptr;
    const uint32_t e = static_cast<uint32_t>(size);
    if ((e & (kChunkSize - 1)) == 0) {
      const uint32_t chunk_no = e >> kChunkBits;
      if ((chunk_no & (kBlockSize - 1)) == 0) {
        blocks_[chunk_no >> kBlockBits].store(new Block(), std::memory_order_release);
      }
      blocks_[chunk_no >> kBlockBits]
          .load(std::memory_order_relaxed)
          ->chunks[chunk_no & (kBlockSize - 1)]
          .store(new EntryInfo[kChunkSize], std::memory_order_release);
    }
    size_.store(size + 1, std::memory_order_relaxed);
    *number = e;
    return &at(e);
  }

  // Entries added (exact for the writer; a recent value for readers).
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  // Memory held: the directory, the blocks and the chunks.
  size_t bytes() const {
    const uint64_t chunks = (size() + kChunkSize - 1) / kChunkSize;
    const uint64_t blocks = (chunks + kBlockSize - 1) / kBlockSize;
    return kMaxBlocks * sizeof(std::atomic<Block*>) + blocks * sizeof(Block) +
           chunks * kChunkSize * sizeof(EntryInfo);
  }

 private:
  struct Block {
    std::atomic<EntryInfo*> chunks[kBlockSize] = {};
  };

  std::unique_ptr<std::atomic<Block*>[]> blocks_;
  std::atomic<uint64_t> size_{0};  // written by the writer only
};

}  // namespace loci::index

#endif  // LOCI_INDEX_ENTRY_TABLE_H_
