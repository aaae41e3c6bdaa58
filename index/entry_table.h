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

struct EntryInfo {
  uint64_t cube = 0;
  // The full-precision vector, as stored (in the blob arena's read-only mapping).
  const float* vector = nullptr;
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
  static constexpr uint32_t kMaxChunks = 1u << 18;  // 2^30 entries

  EntryTable() : chunks_(new std::atomic<EntryInfo*>[kMaxChunks]()) {}
  ~EntryTable() {
    for (uint32_t c = 0; c < kMaxChunks; ++c) delete[] chunks_[c].load(std::memory_order_relaxed);
  }
  EntryTable(const EntryTable&) = delete;
  EntryTable& operator=(const EntryTable&) = delete;

  // REQUIRES: e < size() as seen through a page that refers to it.
  EntryInfo& at(uint32_t e) const {
    return chunks_[e >> kChunkBits].load(std::memory_order_acquire)[e & (kChunkSize - 1)];
  }

  // A new entry, not yet referred to by any page; nullptr if the table is full. Single writer.
  EntryInfo* Add(uint32_t* number) {
    const uint64_t size = size_.load(std::memory_order_relaxed);
    if (size == uint64_t{kChunkSize} * kMaxChunks) return nullptr;
    const uint32_t e = static_cast<uint32_t>(size);
    if ((e & (kChunkSize - 1)) == 0) {
      chunks_[e >> kChunkBits].store(new EntryInfo[kChunkSize], std::memory_order_release);
    }
    size_.store(size + 1, std::memory_order_relaxed);
    *number = e;
    return &at(e);
  }

  // Entries added (exact for the writer; a recent value for readers).
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  size_t bytes() const {
    return (size() + kChunkSize - 1) / kChunkSize * kChunkSize * sizeof(EntryInfo);
  }

 private:
  std::unique_ptr<std::atomic<EntryInfo*>[]> chunks_;
  std::atomic<uint64_t> size_{0};  // written by the writer only
};

}  // namespace loci::index

#endif  // LOCI_INDEX_ENTRY_TABLE_H_
