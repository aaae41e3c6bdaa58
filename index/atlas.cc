// Atlas: a copy-on-write directory of partitions, replaced by the writer, read lock-free.

#include "index/atlas.h"

#include <algorithm>

namespace loci::index {

Atlas::Atlas(const PartitionOptions& options, gc::EpochDomain* epochs)
    : options_(options), epochs_(epochs), directory_(new Directory) {}

Atlas::~Atlas() { delete directory_.load(std::memory_order_acquire); }

Atlas::Directory::const_iterator Atlas::Lookup(const Directory& dir, uint64_t key) {
  return std::lower_bound(dir.begin(), dir.end(), key,
                          [](const auto& entry, uint64_t k) { return entry.first < k; });
}

Partition* Atlas::Writable(uint32_t space_id, uint32_t field_id, Metric metric, uint32_t dim) {
  const Directory* dir = directory_.load(std::memory_order_relaxed);
  const uint64_t key = Key(space_id, field_id);
  auto it = Lookup(*dir, key);
  if (it != dir->end() && it->first == key) return it->second;
  owned_.push_back(std::make_unique<Partition>(metric, dim, options_, epochs_));
  Partition* p = owned_.back().get();
  auto* next = new Directory(*dir);
  next->insert(next->begin() + (it - dir->begin()), {key, p});
  directory_.store(next, std::memory_order_release);
  epochs_->RetireDelete(const_cast<Directory*>(dir));
  return p;
}

void Atlas::Drop(uint32_t space_id, uint32_t field_id) {
  const Directory* dir = directory_.load(std::memory_order_relaxed);
  const uint64_t key = Key(space_id, field_id);
  auto it = Lookup(*dir, key);
  if (it == dir->end() || it->first != key) return;
  Partition* p = it->second;
  auto* next = new Directory(*dir);
  next->erase(next->begin() + (it - dir->begin()));
  directory_.store(next, std::memory_order_release);
  epochs_->RetireDelete(const_cast<Directory*>(dir));
  auto owned = std::find_if(owned_.begin(), owned_.end(),
                            [&](const std::unique_ptr<Partition>& q) { return q.get() == p; });
  owned->release();  // freed by the retire callback below
  owned_.erase(owned);
  // Charged at its size, so that dropping a large partition counts against the retire backlog.
  // The writer's own stats: nothing else changes the partition any more.
  epochs_->Retire([p] { delete p; }, p->Stats().bytes);
}

const Partition* Atlas::Find(uint32_t space_id, uint32_t field_id) const {
  const Directory* dir = directory_.load(std::memory_order_acquire);
  const uint64_t key = Key(space_id, field_id);
  auto it = Lookup(*dir, key);
  return it != dir->end() && it->first == key ? it->second : nullptr;
}

}  // namespace loci::index
