// PostingList: a chain of fixed-size pages of INT8-encoded vectors, the unit Atlas scans.
//
// A page stores its vectors column by column (the hi nibble plane of the codes, the lo plane,
// then scales, biases and entry numbers; see quantizer.h for the planes), so a scan streams the
// hi plane alone and reads the lo plane only for the candidates it refines. The single writer (the
// commit leader) fills a slot and then publishes it by raising the page's count with release order;
// readers load the count with acquire order and scan that many slots, without locks, while the
// writer appends.

#ifndef LOCI_INDEX_POSTING_LIST_H_
#define LOCI_INDEX_POSTING_LIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "index/quantizer.h"

namespace loci::index {

// Bytes a page slot takes beside its codes: scale, bias, entry (4 each), live_from (8).
inline constexpr uint32_t kSlotOverhead = 20;

class Page {
 public:
  // A page of `capacity` slots whose planes are `stride` bytes each.
  static Page* New(uint32_t capacity, uint32_t stride);
  static void Delete(Page* page);
  // Bytes a page of this shape occupies.
  static size_t Bytes(uint32_t capacity, uint32_t stride);
  // Where the columns after the planes (scales, biases, entries, live_from) start in a page of
  // this shape, and the bytes they span: a scan prefetches them, since the hardware prefetcher
  // follows the hi plane it streams but not the jump past the lo plane.
  static size_t ColumnsOffset(uint32_t capacity, uint32_t stride);
  static size_t ColumnsBytes(uint32_t capacity);

  // Slots readable now (acquire: their contents are visible).
  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  Page* next() const { return next_.load(std::memory_order_acquire); }

  // The hi plane: count() rows of stride bytes, right after the header (computed, not loaded,
  // so a scan can prefetch a page's codes before its header has arrived).
  const uint8_t* hi() const { return reinterpret_cast<const uint8_t*>(this) + kHeaderBytes; }
  const uint8_t* lo() const { return lo_; }  // the lo plane, the same shape
  const float* scales() const { return scales_; }
  const float* biases() const { return biases_; }
  const uint32_t* entries() const { return entries_; }
  // Per slot, a copy of its entry's EntryInfo::live_from, kept beside the codes so the scan's
  // fast visibility check reads memory it is already streaming.
  const std::atomic<int64_t>* live_from() const { return live_from_; }
  void SetLiveFrom(uint32_t slot, int64_t value) {
    live_from_[slot].store(value, std::memory_order_release);
  }

 private:
  friend class PostingList;
  static constexpr size_t kHeaderBytes = 64;
  Page() = default;
  uint8_t* hi_mutable() { return reinterpret_cast<uint8_t*>(this) + kHeaderBytes; }

  std::atomic<uint32_t> count_{0};
  std::atomic<Page*> next_{nullptr};
  uint32_t capacity_ = 0;
  uint8_t* lo_ = nullptr;
  float* scales_ = nullptr;
  float* biases_ = nullptr;
  uint32_t* entries_ = nullptr;
  std::atomic<int64_t>* live_from_ = nullptr;
};

class PostingList {
 public:
  // `centroid` (dim floats, or empty for a flat partition's single list) is what the list's
  // vectors are encoded against.
  PostingList(uint32_t page_capacity, uint32_t stride, std::vector<float> centroid)
      : page_capacity_(page_capacity), stride_(stride), centroid_(std::move(centroid)) {}
  // Frees every page. REQUIRES: no reader can reach the list any more.
  ~PostingList();
  PostingList(const PostingList&) = delete;
  PostingList& operator=(const PostingList&) = delete;

  // Appends one vector (its planes of `stride` bytes each) and returns where it went. Single
  // writer.
  std::pair<Page*, uint32_t> Append(uint32_t entry, const uint8_t* hi, const uint8_t* lo,
                                    const EncodedVector& encoded, int64_t live_from);

  // Empty for a flat list.
  const std::vector<float>& centroid() const { return centroid_; }
  const float* center() const { return centroid_.empty() ? nullptr : centroid_.data(); }

  const Page* first() const { return first_.load(std::memory_order_acquire); }
  // Vectors appended (the writer's count).
  uint32_t size() const { return size_; }
  size_t bytes() const { return pages_ * Page::Bytes(page_capacity_, stride_); }

 private:
  const uint32_t page_capacity_;
  const uint32_t stride_;
  const std::vector<float> centroid_;
  std::atomic<Page*> first_{nullptr};
  Page* last_ = nullptr;  // the writer's
  uint32_t size_ = 0;
  size_t pages_ = 0;
};

}  // namespace loci::index

#endif  // LOCI_INDEX_POSTING_LIST_H_
