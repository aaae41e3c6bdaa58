// IdSlots: a Slot per cube id, for per-cube state that readers reach without a search. Cube ids
// are dense (1, 2, 3...), so this is a two-level array, as the record table's
// (engine/record_table.h): a fixed directory of chunk pointers and chunks of kChunkSize slots,
// allocated on first use and never moved or freed before the IdSlots.
//
// Contract
//   - Mutable() (which may allocate a chunk) is called by one thread at a time.
//   - Find() runs on any thread, concurrently with Mutable(), without locks: it returns null
//     or a slot whose default construction happened before (release/acquire on the chunk
//     pointer). What a Slot's own fields promise to concurrent readers is the Slot's business
//     (use atomics).

#ifndef LOCI_INDEX_ID_SLOTS_H_
#define LOCI_INDEX_ID_SLOTS_H_

#include <atomic>
#include <cstdint>
#include <memory>

namespace loci::index {

template <class Slot>
class IdSlots {
 public:
  static constexpr int kChunkBits = 16;
  static constexpr uint64_t kChunkSize = uint64_t{1} << kChunkBits;
  static constexpr uint64_t kMaxChunks = uint64_t{1} << 16;

  IdSlots() : chunks_(std::make_unique<std::atomic<Slot*>[]>(kMaxChunks)) {}
  ~IdSlots() {
    for (uint64_t c = 0; c < kMaxChunks; ++c) delete[] chunks_[c].load(std::memory_order_relaxed);
  }
  IdSlots(const IdSlots&) = delete;
  IdSlots& operator=(const IdSlots&) = delete;

  // The slot of `id`, or null if no slot of its chunk was ever asked for with Mutable (or
  // `id` is beyond every chunk). Lock-free.
  const Slot* Find(uint64_t id) const {
    const uint64_t c = id >> kChunkBits;
    if (c >= kMaxChunks) return nullptr;
    const Slot* chunk = chunks_[c].load(std::memory_order_acquire);
    return chunk == nullptr ? nullptr : &chunk[id & (kChunkSize - 1)];
  }

  // The slot of `id`, its chunk allocated if needed; null if `id` is beyond every chunk.
  // REQUIRES: one caller at a time.
  Slot* Mutable(uint64_t id) {
    const uint64_t c = id >> kChunkBits;
    if (c >= kMaxChunks) return nullptr;
    Slot* chunk = chunks_[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) {
      chunk = new Slot[kChunkSize]();
      chunks_[c].store(chunk, std::memory_order_release);
      bytes_.fetch_add(sizeof(Slot) * kChunkSize, std::memory_order_relaxed);
    }
    return &chunk[id & (kChunkSize - 1)];
  }

  uint64_t memory_bytes() const {
    return bytes_.load(std::memory_order_relaxed) + sizeof(std::atomic<Slot*>) * kMaxChunks;
  }

 private:
  std::unique_ptr<std::atomic<Slot*>[]> chunks_;
  std::atomic<uint64_t> bytes_{0};
};

}  // namespace loci::index

#endif  // LOCI_INDEX_ID_SLOTS_H_
