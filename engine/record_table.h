// RecordTable: cube id -> the newest version of that cube. Ids are dense (1, 2, 3...), so the
// table is a two-level array of atomic head pointers: a fixed directory of chunk pointers,
// chunks allocated as ids grow and never moved, so readers index it without locks while the
// commit leader appends.

#ifndef LOCI_ENGINE_RECORD_TABLE_H_
#define LOCI_ENGINE_RECORD_TABLE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

class RecordTable {
 public:
  static constexpr int kChunkBits = 16;
  static constexpr uint64_t kChunkSize = uint64_t{1} << kChunkBits;
  static constexpr uint64_t kMaxChunks = uint64_t{1} << 16;
  // Ids run from 1 to kMaxId.
  static constexpr CubeId kMaxId = kChunkSize * kMaxChunks - 1;

  RecordTable();
  // Deletes every version. REQUIRES: no reader is active.
  ~RecordTable();
  RecordTable(const RecordTable&) = delete;
  RecordTable& operator=(const RecordTable&) = delete;

  // The newest published version of `id`, or nullptr. Lock-free; safe from any thread.
  const Version* Head(CubeId id) const;

  // Makes `v` the newest version of v->id, taking ownership. REQUIRES: v->prev == Head(v->id),
  // 1 <= v->id <= kMaxId, a single writer at a time.
  void Publish(Version* v);

  // Recovery: inserts `v` (taking ownership) into its cube's chain by version number, whatever
  // order versions arrive in. Corruption if that version number is already present.
  // Single-threaded, before readers exist.
  Status Insert(std::unique_ptr<Version> v);

  // Purge: unlinks the chain of `id` — reads find no version of it from now on — and returns
  // its head (nullptr if there was none), which the caller now owns: it frees the versions once
  // no reader or queue can hold them. REQUIRES: a single writer at a time.
  const Version* Purge(CubeId id);

  // Retention: unlinks the versions older than `tail` (a published version) from its chain —
  // reads started from now on never reach them, reads already past `tail` may still follow
  // them — and returns the newest of them (nullptr if there were none): the caller owns them
  // and frees them once no reader, queue or list can hold them. REQUIRES: a single writer at a
  // time.
  const Version* CutBelow(const Version* tail);

  // Compaction: makes `head` (a chain of copies of the versions of head->id, with their blobs
  // moved) the chain of its cube, taking ownership, and returns the chain it replaces, which the
  // caller owns: readers already in it may still follow it, so it is freed once they have
  // unpinned. REQUIRES: the cube has a chain of as many versions; a single writer at a time.
  const Version* Replace(Version* head);

  // Recovery (a checkpoint's chain-start entry): deletes the versions of `id` numbered below
  // `first`. Single-threaded, before readers exist.
  void DropBelow(CubeId id, uint32_t first);

  // One past the highest id with a version (the commit leader keeps its own next-id counter).
  CubeId end_id() const { return end_id_.load(std::memory_order_acquire); }
  uint64_t cubes() const { return cubes_.load(std::memory_order_relaxed); }
  uint64_t versions() const { return versions_.load(std::memory_order_relaxed); }

 private:
  using HeadSlot = std::atomic<const Version*>;
  HeadSlot* Slot(CubeId id, bool create);

  // chunks_[c] points to kChunkSize head slots for ids [c * kChunkSize, (c + 1) * kChunkSize).
  std::unique_ptr<std::atomic<HeadSlot*>[]> chunks_;
  std::atomic<CubeId> end_id_{1};
  std::atomic<uint64_t> cubes_{0};
  std::atomic<uint64_t> versions_{0};
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_RECORD_TABLE_H_
