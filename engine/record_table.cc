// The chunked array of version-chain heads.

#include "engine/record_table.h"

#include <algorithm>
#include <cassert>

namespace loci::engine {

// make_unique<T[]> value-initializes: every chunk pointer starts null.
RecordTable::RecordTable() : chunks_(std::make_unique<std::atomic<HeadSlot*>[]>(kMaxChunks)) {}

RecordTable::~RecordTable() {
  // Ids are dense: nothing lives at or past end_id, so neither do chunks.
  const CubeId end = end_id_.load(std::memory_order_relaxed);
  for (uint64_t c = 0; c <= (end >> kChunkBits) && c < kMaxChunks; ++c) {
    HeadSlot* chunk = chunks_[c].load(std::memory_order_relaxed);
    if (chunk == nullptr) continue;
    const uint64_t slots = std::min<uint64_t>(kChunkSize, end - (c << kChunkBits));
    for (uint64_t i = 0; i < slots; ++i) {
      const Version* v = chunk[i].load(std::memory_order_relaxed);
      while (v != nullptr) {
        const Version* prev = v->prev;
        delete v;
        v = prev;
      }
    }
    delete[] chunk;
  }
}

RecordTable::HeadSlot* RecordTable::Slot(CubeId id, bool create) {
  const uint64_t c = id >> kChunkBits;
  if (c >= kMaxChunks) return nullptr;
  HeadSlot* chunk = chunks_[c].load(std::memory_order_acquire);
  if (chunk == nullptr) {
    if (!create) return nullptr;
    chunk = new HeadSlot[kChunkSize]();  // value-initialized: all null
    chunks_[c].store(chunk, std::memory_order_release);
  }
  return &chunk[id & (kChunkSize - 1)];
}

const Version* RecordTable::Head(CubeId id) const {
  if (id == 0 || id > kMaxId) return nullptr;
  HeadSlot* chunk = chunks_[id >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return nullptr;
  return chunk[id & (kChunkSize - 1)].load(std::memory_order_acquire);
}

void RecordTable::Publish(Version* v) {
  HeadSlot* slot = Slot(v->id, /*create=*/true);
  assert(slot != nullptr && slot->load(std::memory_order_relaxed) == v->prev);
  if (v->prev == nullptr) cubes_.fetch_add(1, std::memory_order_relaxed);
  versions_.fetch_add(1, std::memory_order_relaxed);
  slot->store(v, std::memory_order_release);
  if (v->id >= end_id_.load(std::memory_order_relaxed)) {
    end_id_.store(v->id + 1, std::memory_order_release);
  }
}

Status RecordTable::Insert(std::unique_ptr<Version> v) {
  if (v->id == 0 || v->id > kMaxId) {
    return Status::Corruption("cube id " + std::to_string(v->id) + " out of range");
  }
  HeadSlot* slot = Slot(v->id, /*create=*/true);
  // Find where the chain goes from newer than v to older than v.
  const Version* newer = nullptr;
  const Version* older = slot->load(std::memory_order_relaxed);
  while (older != nullptr && older->number > v->number) {
    newer = older;
    older = older->prev;
  }
  if (older != nullptr && older->number == v->number) {
    return Status::Corruption("cube " + std::to_string(v->id) + " has version " +
                              std::to_string(v->number) + " twice");
  }
  v->prev = older;
  if (older == nullptr && newer == nullptr) cubes_.fetch_add(1, std::memory_order_relaxed);
  versions_.fetch_add(1, std::memory_order_relaxed);
  Version* raw = v.release();
  if (newer == nullptr) {
    slot->store(raw, std::memory_order_release);
  } else {
    const_cast<Version*>(newer)->prev = raw;
  }
  if (raw->id >= end_id_.load(std::memory_order_relaxed)) {
    end_id_.store(raw->id + 1, std::memory_order_release);
  }
  return Status::OK();
}

const Version* RecordTable::Purge(CubeId id) {
  HeadSlot* slot = Slot(id, /*create=*/false);
  if (slot == nullptr) return nullptr;
  const Version* head = slot->load(std::memory_order_relaxed);
  if (head == nullptr) return nullptr;
  slot->store(nullptr, std::memory_order_release);
  uint64_t n = 0;
  for (const Version* v = head; v != nullptr; v = v->prev) ++n;
  cubes_.fetch_sub(1, std::memory_order_relaxed);
  versions_.fetch_sub(n, std::memory_order_relaxed);
  return head;
}

const Version* RecordTable::CutBelow(const Version* tail) {
  const Version* older = tail->prev;
  if (older == nullptr) return nullptr;
  uint64_t n = 0;
  for (const Version* v = older; v != nullptr; v = v->prev) ++n;
  // The only change to a published version: its link, which readers load atomically.
  const_cast<Version*>(tail)->prev = nullptr;
  versions_.fetch_sub(n, std::memory_order_relaxed);
  return older;
}

const Version* RecordTable::Replace(Version* head) {
  HeadSlot* slot = Slot(head->id, /*create=*/false);
  const Version* old = slot->load(std::memory_order_relaxed);
  slot->store(head, std::memory_order_release);
  return old;
}

void RecordTable::DropBelow(CubeId id, uint32_t first) {
  HeadSlot* slot = Slot(id, /*create=*/false);
  if (slot == nullptr) return;
  const Version* newer = nullptr;  // the oldest version kept
  const Version* v = slot->load(std::memory_order_relaxed);
  while (v != nullptr && v->number >= first) {
    newer = v;
    v = v->prev;
  }
  if (v == nullptr) return;
  if (newer == nullptr) {
    slot->store(nullptr, std::memory_order_relaxed);
    cubes_.fetch_sub(1, std::memory_order_relaxed);
  } else {
    const_cast<Version*>(newer)->prev = nullptr;
  }
  while (v != nullptr) {
    const Version* prev = v->prev;
    delete v;
    versions_.fetch_sub(1, std::memory_order_relaxed);
    v = prev;
  }
}

}  // namespace loci::engine
