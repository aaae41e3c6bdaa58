// IndexQueue: what the commit path has published but the vector index has not absorbed yet —
// new versions and field drops, in commit order — readable without locks.
//
// Indexing a vector (routing it, encoding it, now and then splitting a posting list or
// clustering a partition) costs tens of microseconds and occasionally far more. It is off the
// commit path: the commit leader appends each published version here and a background indexer
// applies the entries to Atlas in order. A search stays exact about what is visible: it scans
// the entries not yet indexed, [indexed(), published()), with full-precision distances, and
// Atlas for everything before. An entry indexed while a search runs may be met both ways; the
// search keeps one hit per cube.
//
// Storage is a list of fixed-size chunks behind an immutable directory, swapped whole when a
// chunk is added or dropped and retired through the epoch domain, so a reader that loaded a
// directory under its epoch can read every chunk it names. A chunk is dropped once every entry
// in it is indexed.
//
// Threads: one producer (the commit leader: Append), one consumer (the indexer: Front,
// PopFront), any number of readers (ForEachPending). Producer and consumer take mu_ only to
// swap the directory, once per chunk.
//
// Why it is correct for readers: entries are written before published_ is advanced (release),
// and indexed_ is advanced (release) only after Atlas holds the entry; chunks leave the
// directory only below indexed_. A reader loads indexed_, published_ and then the directory
// (acquire): entries below the directory's first chunk were indexed before that directory was
// published, so a search of Atlas started after loading it finds them; entries from
// max(indexed, first) to published are in the directory's chunks.

#ifndef LOCI_ENGINE_INDEX_QUEUE_H_
#define LOCI_ENGINE_INDEX_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "common/mutex.h"
#include "gc/epoch.h"
#include "query/version.h"

namespace loci::engine {

// One unit of indexing work.
struct IndexEntry {
  const Version* version = nullptr;  // a version to apply, or nullptr for a drop or a purge
  uint32_t drop_space_id = 0;        // the field a drop removes from the index
  uint32_t drop_field_id = 0;
  uint32_t purge_space_id = 0;  // the cube a purge removes from the index (0: not a purge)
  uint64_t purge_id = 0;
};

class IndexQueue {
 public:
  static constexpr uint64_t kChunkEntries = 1024;

  explicit IndexQueue(gc::EpochDomain* epochs);
  // REQUIRES: no reader, producer or consumer is active.
  ~IndexQueue();
  IndexQueue(const IndexQueue&) = delete;
  IndexQueue& operator=(const IndexQueue&) = delete;

  // Producer: appends `entry` as sequence number published() and publishes it.
  void Append(const IndexEntry& entry);

  // Consumer: the oldest entry not yet indexed. REQUIRES: indexed() < published().
  const IndexEntry& Front() const;
  // Consumer: Front() is in the index now. Drops the chunk it emptied, if any.
  void PopFront();

  // Entries ever appended; entries applied to the index. Acquire loads.
  uint64_t published() const { return published_.load(std::memory_order_acquire); }
  uint64_t indexed() const { return indexed_.load(std::memory_order_acquire); }
  uint64_t backlog() const { return published() - indexed(); }

  // Reader (epoch pinned): calls `fn` for each entry not yet in the index when called, oldest
  // first, stopping at published() as of the call. Every entry published before the call is
  // either passed to `fn` or in the index for a search of Atlas that starts after this returns.
  void ForEachPending(const std::function<void(const IndexEntry&)>& fn) const;

 private:
  struct Chunk {
    IndexEntry entries[kChunkEntries];
  };
  // Immutable once published: chunks[i] holds sequence numbers (first + i) * kChunkEntries...
  struct Directory {
    uint64_t first = 0;  // chunk number of chunks[0]
    std::vector<Chunk*> chunks;
  };

  // Publishes a copy of the directory changed by `change`, retiring the old one.
  void SwapDirectory(const std::function<void(Directory*)>& change) EXCLUDES(mu_);

  gc::EpochDomain* const epochs_;
  std::atomic<const Directory*> directory_;
  std::atomic<uint64_t> published_{0};
  std::atomic<uint64_t> indexed_{0};
  Chunk* tail_ = nullptr;  // the producer's: the chunk it appends to
  Mutex mu_;               // serializes directory swaps between producer and consumer
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_INDEX_QUEUE_H_
