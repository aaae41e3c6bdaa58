// PostingList: a chain of fixed-size pages of INT8-encoded vectors, the unit Atlas scans.
//
// A page stores its vectors column by column (codes, then scales, biases, code sums and entry
// numbers), so a scan streams contiguous memory. The single writer (the commit leader) fills a
// slot and then publishes it by raising the page's count with release order; readers load the
// count with acquire order and scan that many slots, without locks, while the writer appends.

#ifndef LOCI_INDEX_POSTING_LIST_H_
#define LOCI_INDEX_POSTING_LIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "index/quantizer.h"

namespace loci::index {

// Bytes a page slot takes beside its codes: scale, bias, code sum, entry (4 each), live_from (8).
inline constexpr uint32_t kSlotOverhead = 24;

class Page {
 public:
  // A page of `capacity` slots of `stride`-byte codes.
  static Page* New(uint32_t capacity, uint32_t stride);
  static void Delete(Page* page);
  // Bytes a page of this shape occupies.
  static size_t Bytes(uint32_t capacity, uint32_t stride);

  // Slots readable now (acquire: their contents are visible).
  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  Page* next() const { return next_.load(std::memory_order_acquire); }

  const int8_t* codes() const { return codes_; }  // count() rows of stride bytes
  const float* scales() const { return scales_; }
  const float* biases() const { return biases_; }
  const int32_t* sums() const { return sums_; }
  const uint32_t* entries() const { return entries_; }
  // Per slot, a copy of its entry's EntryInfo::live_from, kept beside the codes so the scan's
  // fast visibility check reads memory it is already streaming.
  const std::atomic<int64_t>* live_from() const { return live_from_; }
  void SetLiveFrom(uint32_t slot, int64_t value) {
    live_from_[slot].store(value, std::memory_order_release);
  }

 private:
  friend class PostingList;
  Page() = default;

  std::atomic<uint32_t> count_{0};
  std::atomic<Page*> next_{nullptr};
  uint32_t capacity_ = 0;
  uint32_t stride_ = 0;
  int8_t* codes_ = nullptr;
  float* scales_ = nullptr;
  float* biases_ = nullptr;
  int32_t* sums_ = nullptr;
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

  // Appends one vector (codes of `stride` bytes) and returns where it went. Single writer.
  std::pair<Page*, uint32_t> Append(uint32_t entry, const int8_t* codes,
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
