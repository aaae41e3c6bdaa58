// Pages and posting lists: one allocation per page, columns aligned for SIMD loads.

#include "index/posting_list.h"

#include <cstring>
#include <new>

namespace loci::index {

namespace {

constexpr size_t kAlign = 64;

size_t AlignUp(size_t n) { return (n + kAlign - 1) & ~(kAlign - 1); }

}  // namespace

size_t Page::ColumnsOffset(const PageShape& shape) {
  const size_t prefix = AlignUp(size_t{shape.capacity} * shape.prefix_stride);
  return kHeaderBytes +
         (shape.prefix_stride != 0 ? prefix : 2 * AlignUp(size_t{shape.capacity} * shape.stride));
}

size_t Page::ScanPlaneEnd(const PageShape& shape, bool both) {
  if (shape.prefix_stride != 0) {
    return kHeaderBytes + AlignUp(size_t{shape.capacity} * shape.prefix_stride);
  }
  return kHeaderBytes + (both ? 2 : 1) * AlignUp(size_t{shape.capacity} * shape.stride);
}

size_t Page::ColumnsBytes(const PageShape& shape) {
  const size_t column = AlignUp(size_t{shape.capacity} * 4);
  return (shape.prefix_stride != 0 ? 4 : 3) * column + AlignUp(size_t{shape.capacity} * 8);
}

size_t Page::Bytes(const PageShape& shape) {
  static_assert(sizeof(Page) <= kHeaderBytes);
  const size_t planes = 2 * AlignUp(size_t{shape.capacity} * shape.stride) +
                        AlignUp(size_t{shape.capacity} * shape.prefix_stride);
  return kHeaderBytes + planes + ColumnsBytes(shape);
}

namespace {
bool FromArena(size_t bytes, const PageArena* arena) {
  return arena != nullptr && bytes <= PageArena::kMaxBlockBytes;
}
}  // namespace

Page* Page::New(const PageShape& shape, PageArena* arena) {
  const size_t bytes = Bytes(shape);
  char* raw = static_cast<char*>(FromArena(bytes, arena)
                                     ? arena->Allocate(bytes)
                                     : ::operator new (bytes, std::align_val_t{kAlign}));
  Page* page = new (raw) Page();
  page->capacity_ = shape.capacity;
  page->column_bytes_ = static_cast<uint32_t>(AlignUp(size_t{shape.capacity} * 4));
  page->live_from_bytes_ = static_cast<uint32_t>(AlignUp(size_t{shape.capacity} * 8));
  const size_t plane = AlignUp(size_t{shape.capacity} * shape.stride);
  page->columns_ = raw + ColumnsOffset(shape);
  if (shape.prefix_stride != 0) {
    page->prefix_ = reinterpret_cast<uint8_t*>(raw + kHeaderBytes);
    page->hi_ = reinterpret_cast<uint8_t*>(page->columns_ + ColumnsBytes(shape));
  } else {
    page->hi_ = reinterpret_cast<uint8_t*>(raw + kHeaderBytes);
  }
  page->lo_ = page->hi_ + plane;
  std::atomic<int64_t>* live_from = page->LiveFromColumn();
  for (uint32_t i = 0; i < shape.capacity; ++i) new (&live_from[i]) std::atomic<int64_t>(0);
  return page;
}

void Page::Delete(Page* page, const PageShape& shape, PageArena* arena) {
  page->~Page();
  const size_t bytes = Bytes(shape);
  if (FromArena(bytes, arena)) {
    arena->Free(page, bytes);
  } else {
    ::operator delete (page, std::align_val_t{kAlign});
  }
}

PostingList::~PostingList() {
  Page* p = first_.load(std::memory_order_relaxed);
  while (p != nullptr) {
    Page* next = p->next_.load(std::memory_order_relaxed);
    Page::Delete(p, shape_, arena_.get());
    p = next;
  }
}

std::pair<Page*, uint32_t> PostingList::Append(uint32_t entry, const uint8_t* hi, const uint8_t* lo,
                                               const EncodedVector& encoded, const uint8_t* prefix,
                                               float prefix_scale, int64_t live_from) {
  if (last_ == nullptr || last_->count_.load(std::memory_order_relaxed) == last_->capacity_) {
    Page* page = Page::New(shape_, arena_.get());
    if (last_ == nullptr) {
      first_.store(page, std::memory_order_release);
    } else {
      last_->next_.store(page, std::memory_order_release);
    }
    if (before_last_ != nullptr) before_last_->after_next_.store(page, std::memory_order_release);
    before_last_ = last_;
    last_ = page;
    ++pages_;
  }
  Page* page = last_;
  const uint32_t slot = page->count_.load(std::memory_order_relaxed);
  const size_t stride = shape_.stride;
  std::memcpy(page->hi_ + slot * stride, hi, stride);
  std::memcpy(page->lo_ + slot * stride, lo, stride);
  page->ScalesColumn()[slot] = encoded.scale;
  page->BiasesColumn()[slot] = encoded.bias;
  page->EntriesColumn()[slot] = entry;
  if (shape_.prefix_stride != 0) {
    std::memcpy(page->prefix_ + size_t{slot} * shape_.prefix_stride, prefix, shape_.prefix_stride);
    page->PrefixScalesColumn()[slot] = prefix_scale;
  }
  page->LiveFromColumn()[slot].store(live_from, std::memory_order_relaxed);
  page->count_.store(slot + 1, std::memory_order_release);  // publishes the slot
  ++size_;
  return {page, slot};
}

std::pair<Page*, uint32_t> PostingList::AppendCopy(const Page& from, uint32_t slot) {
  const size_t row = size_t{slot} * shape_.stride;
  const size_t prefix_row = size_t{slot} * shape_.prefix_stride;
  EncodedVector encoded;
  encoded.scale = from.scales()[slot];
  encoded.bias = from.biases()[slot];
  const bool prefix = shape_.prefix_stride != 0;
  return Append(from.entries()[slot], from.hi() + row, from.lo() + row, encoded,
                prefix ? from.prefix() + prefix_row : nullptr,
                prefix ? from.prefix_scales()[slot] : 0.0f,
                from.live_from()[slot].load(std::memory_order_relaxed));
}

}  // namespace loci::index
