// Atlas: the vector index of a database, one Partition per (space, vector field).
//
// One writer (the commit leader) creates partitions, applies versions to them and drops them;
// readers find partitions without locks. Readers hold an epoch of the EpochDomain given at
// construction while they use a partition (a dropped one is freed only after they unpin).

#ifndef LOCI_INDEX_ATLAS_H_
#define LOCI_INDEX_ATLAS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "gc/epoch.h"
#include "index/partition.h"

namespace loci::index {

class Atlas {
 public:
  Atlas(const PartitionOptions& options, gc::EpochDomain* epochs);
  // REQUIRES: no reader is active.
  ~Atlas();
  Atlas(const Atlas&) = delete;
  Atlas& operator=(const Atlas&) = delete;

  // Writer: the partition of (space_id, field_id), created with `metric` and `dim` if new.
  Partition* Writable(uint32_t space_id, uint32_t field_id, Metric metric, uint32_t dim);

  // Writer: removes the partition of (space_id, field_id), if there is one, and retires it
  // through the epoch domain: searches that already hold it finish safely, later Finds return
  // nullptr. A later Writable() for the same key would create an empty partition.
  void Drop(uint32_t space_id, uint32_t field_id);

  // Reader (epoch pinned): the partition, or nullptr if no vector was ever indexed there (or it
  // was dropped).
  const Partition* Find(uint32_t space_id, uint32_t field_id) const;

  const PartitionOptions& options() const { return options_; }

  // Writer: calls fn(Partition*) for every partition.
  template <typename Fn>
  void ForEachWritable(Fn&& fn) {
    for (const auto& [key, partition] : *directory_.load(std::memory_order_relaxed)) fn(partition);
  }

  // One number for a partition's (space_id, field_id).
  static uint64_t Key(uint32_t space_id, uint32_t field_id) {
    return (uint64_t{space_id} << 32) | field_id;
  }

 private:
  using Directory = std::vector<std::pair<uint64_t, Partition*>>;  // sorted by key
  // Where `key` is or would be in `dir`.
  static Directory::const_iterator Lookup(const Directory& dir, uint64_t key);

  const PartitionOptions options_;
  gc::EpochDomain* const epochs_;
  std::atomic<const Directory*> directory_;
  std::vector<std::unique_ptr<Partition>> owned_;  // the writer's
};

}  // namespace loci::index

#endif  // LOCI_INDEX_ATLAS_H_
