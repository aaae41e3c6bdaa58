// Atlas: a copy-on-write directory of partitions, replaced by the writer, read lock-free.

#include "index/atlas.h"

#include <algorithm>

namespace loci::index {

Atlas::Atlas(const PartitionOptions& options, gc::EpochDomain* epochs)
    : options_(options), epochs_(epochs), directory_(new Directory) {}

Atlas::~Atlas() { delete directory_.load(std::memory_order_acquire); }

Partition* Atlas::Writable(uint32_t space_id, uint32_t field_id, Metric metric, uint32_t dim) {
  const Directory* dir = directory_.load(std::memory_order_relaxed);
  const uint64_t key = Key(space_id, field_id);
  auto it = std::lower_bound(dir->begin(), dir->end(), std::make_pair(key, (Partition*)nullptr),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  if (it != dir->end() && it->first == key) return it->second;
  owned_.push_back(std::make_unique<Partition>(metric, dim, options_, epochs_));
  Partition* p = owned_.back().get();
  auto* next = new Directory(*dir);
  next->insert(next->begin() + (it - dir->begin()), {key, p});
  directory_.store(next, std::memory_order_release);
  epochs_->RetireDelete(const_cast<Directory*>(dir));
  return p;
}

const Partition* Atlas::Find(uint32_t space_id, uint32_t field_id) const {
  const Directory* dir = directory_.load(std::memory_order_acquire);
  const uint64_t key = Key(space_id, field_id);
  auto it = std::lower_bound(dir->begin(), dir->end(), std::make_pair(key, (Partition*)nullptr),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  return it != dir->end() && it->first == key ? it->second : nullptr;
}

}  // namespace loci::index
