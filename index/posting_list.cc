// Pages and posting lists: one allocation per page, columns aligned for SIMD loads.

#include "index/posting_list.h"

#include <cstring>
#include <new>

namespace loci::index {

namespace {

constexpr size_t kAlign = 64;

size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

}  // namespace

size_t Page::ColumnsOffset(uint32_t capacity, uint32_t stride) {
  return kHeaderBytes + 2 * AlignUp(size_t{capacity} * stride);
}

size_t Page::ColumnsBytes(uint32_t capacity) {
  return 3 * AlignUp(size_t{capacity} * 4) + AlignUp(size_t{capacity} * 8);
}

size_t Page::Bytes(uint32_t capacity, uint32_t stride) {
  static_assert(sizeof(Page) <= kHeaderBytes);
  return ColumnsOffset(capacity, stride) + ColumnsBytes(capacity);
}

Page* Page::New(uint32_t capacity, uint32_t stride) {
  const size_t bytes = Bytes(capacity, stride);
  char* raw = static_cast<char*>(::operator new (bytes, std::align_val_t{kAlign}));
  Page* page = new (raw) Page();
  page->capacity_ = capacity;
  page->lo_ = reinterpret_cast<uint8_t*>(raw + kHeaderBytes + AlignUp(size_t{capacity} * stride));
  char* p = raw + ColumnsOffset(capacity, stride);
  page->scales_ = reinterpret_cast<float*>(p);
  p += AlignUp(size_t{capacity} * 4);
  page->biases_ = reinterpret_cast<float*>(p);
  p += AlignUp(size_t{capacity} * 4);
  page->entries_ = reinterpret_cast<uint32_t*>(p);
  p += AlignUp(size_t{capacity} * 4);
  page->live_from_ = reinterpret_cast<std::atomic<int64_t>*>(p);
  for (uint32_t i = 0; i < capacity; ++i) new (&page->live_from_[i]) std::atomic<int64_t>(0);
  return page;
}

void Page::Delete(Page* page) {
  page->~Page();
  ::operator delete (page, std::align_val_t{kAlign});
}

PostingList::~PostingList() {
  Page* p = first_.load(std::memory_order_relaxed);
  while (p != nullptr) {
    Page* next = p->next_.load(std::memory_order_relaxed);
    Page::Delete(p);
    p = next;
  }
}

std::pair<Page*, uint32_t> PostingList::Append(uint32_t entry, const uint8_t* hi, const uint8_t* lo,
                                               const EncodedVector& encoded, int64_t live_from) {
  if (last_ == nullptr || last_->count_.load(std::memory_order_relaxed) == last_->capacity_) {
    Page* page = Page::New(page_capacity_, stride_);
    if (last_ == nullptr) {
      first_.store(page, std::memory_order_release);
    } else {
      last_->next_.store(page, std::memory_order_release);
    }
    last_ = page;
    ++pages_;
  }
  const uint32_t slot = last_->count_.load(std::memory_order_relaxed);
  std::memcpy(last_->hi_mutable() + size_t{slot} * stride_, hi, stride_);
  std::memcpy(last_->lo_ + size_t{slot} * stride_, lo, stride_);
  last_->scales_[slot] = encoded.scale;
  last_->biases_[slot] = encoded.bias;
  last_->entries_[slot] = entry;
  last_->live_from_[slot].store(live_from, std::memory_order_relaxed);
  last_->count_.store(slot + 1, std::memory_order_release);  // publishes the slot
  ++size_;
  return {last_, slot};
}

}  // namespace loci::index
