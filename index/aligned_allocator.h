// An allocator for std::vector whose storage starts on a 64-byte boundary: the SIMD kernels
// load a full cache line at a time and run up to twice as fast on aligned rows.

#ifndef LOCI_INDEX_ALIGNED_ALLOCATOR_H_
#define LOCI_INDEX_ALIGNED_ALLOCATOR_H_

#include <cstddef>
#include <new>
#include <vector>

namespace loci::index {

template <typename T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};

  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}  // NOLINT: rebinding is implicit

  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlignment)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlignment); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};

template <typename T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

}  // namespace loci::index

#endif  // LOCI_INDEX_ALIGNED_ALLOCATOR_H_
