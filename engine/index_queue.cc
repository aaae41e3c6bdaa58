// The queue of versions and field drops between publication and the vector index.

#include "engine/index_queue.h"

#include <algorithm>
#include <cassert>

namespace loci::engine {

IndexQueue::IndexQueue(gc::EpochDomain* epochs) : epochs_(epochs), directory_(new Directory()) {}

IndexQueue::~IndexQueue() {
  const Directory* dir = directory_.load();
  for (Chunk* c : dir->chunks) delete c;
  delete dir;
}

void IndexQueue::SwapDirectory(const std::function<void(Directory*)>& change) {
  MutexLock lock(&mu_);
  const Directory* old = directory_.load(std::memory_order_relaxed);
  auto next = std::make_unique<Directory>(*old);
  change(next.get());
  directory_.store(next.release(), std::memory_order_release);
  epochs_->RetireDelete(const_cast<Directory*>(old));
}

void IndexQueue::Append(const IndexEntry& entry) {
  const uint64_t seq = published_.load(std::memory_order_relaxed);
  if (seq % kChunkEntries == 0) {
    // A new chunk, in the directory before any entry of it is published.
    tail_ = new Chunk();
    Chunk* chunk = tail_;
    SwapDirectory([&](Directory* d) {
      if (d->chunks.empty()) d->first = seq / kChunkEntries;
      d->chunks.push_back(chunk);
    });
  }
  tail_->entries[seq % kChunkEntries] = entry;
  published_.store(seq + 1, std::memory_order_release);
}

const IndexEntry& IndexQueue::Front() const {
  const uint64_t seq = indexed_.load(std::memory_order_relaxed);
  assert(seq < published());
  // Only the consumer drops chunks, so the one found stays; the directory may be swapped by
  // the producer meanwhile, hence the pin while it is read.
  gc::EpochDomain::Guard guard = epochs_->Pin();
  const Directory* dir = directory_.load(std::memory_order_acquire);
  return dir->chunks[seq / kChunkEntries - dir->first]->entries[seq % kChunkEntries];
}

void IndexQueue::PopFront() {
  const uint64_t seq = indexed_.load(std::memory_order_relaxed);
  indexed_.store(seq + 1, std::memory_order_release);
  if ((seq + 1) % kChunkEntries != 0) return;
  // Every entry of the front chunk is indexed: readers that start now skip it.
  Chunk* done = nullptr;
  SwapDirectory([&](Directory* d) {
    done = d->chunks.front();
    d->chunks.erase(d->chunks.begin());
    ++d->first;
  });
  epochs_->RetireDelete(done);
}

void IndexQueue::ForEachPending(const std::function<void(const IndexEntry&)>& fn) const {
  const uint64_t indexed = indexed_.load(std::memory_order_acquire);
  const uint64_t published = published_.load(std::memory_order_acquire);
  const Directory* dir = directory_.load(std::memory_order_acquire);
  const uint64_t start = std::max(indexed, dir->first * kChunkEntries);
  for (uint64_t seq = start; seq < published; ++seq) {
    fn(dir->chunks[seq / kChunkEntries - dir->first]->entries[seq % kChunkEntries]);
  }
}

}  // namespace loci::engine
