// PostingList: a chain of fixed-size pages of INT8-encoded vectors, the unit Atlas scans.
//
// A page stores its vectors column by column (the hi nibble plane of the codes, the lo plane, an
// optional prefix plane, then scales, biases and entry numbers; see quantizer.h and
// projection.h for the planes), so a scan streams one plane and reads the others only for the
// candidates it refines. The single writer (the
// commit leader) fills a slot and then publishes it by raising the page's count with release order;
// readers load the count with acquire order and scan that many slots, without locks, while the
// writer appends.

#ifndef LOCI_INDEX_POSTING_LIST_H_
#define LOCI_INDEX_POSTING_LIST_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "index/page_arena.h"
#include "index/quantizer.h"

namespace loci::index {

// Bytes a page slot takes beside its codes: scale, bias, entry (4 each), live_from (8), and
// with a prefix plane its scale (4).
inline constexpr uint32_t kSlotOverhead = 20;
inline constexpr uint32_t kPrefixSlotOverhead = 4;

// What a page holds per slot: two 4-bit planes of `stride` bytes each and, if `prefix_stride`
// is not 0, a third 4-bit plane of that many bytes (projection.h's prefix codes) with a scale.
struct PageShape {
  uint32_t capacity = 0;
  uint32_t stride = 0;
  uint32_t prefix_stride = 0;
};

// A page, one allocation of Page::Bytes(shape): the 64-byte header, then
//   without a prefix: hi plane, lo plane, columns
//   with a prefix:    prefix plane, columns, hi plane, lo plane
// where the columns are scales, biases, entries, live_from (and prefix scales). Either way the
// plane a scan streams comes first, right after the header, with the columns it reads for every
// slot close by.
class Page {
 public:
  // A page from `arena` if given (and the page is not too large for it), else operator new.
  static Page* New(const PageShape& shape, PageArena* arena);
  // Frees a page New(shape, arena) returned.
  static void Delete(Page* page, const PageShape& shape, PageArena* arena);
  // Bytes a page of this shape occupies.
  static size_t Bytes(const PageShape& shape);
  // Where the columns start in a page of this shape, and the bytes they span: a scan prefetches
  // them, since the hardware prefetcher follows the plane it streams but not a jump past another.
  static size_t ColumnsOffset(const PageShape& shape);
  static size_t ColumnsBytes(const PageShape& shape);
  // Where the plane a scan streams ends (the header and that plane precede it); with `both`,
  // where the lo plane after it ends (pages without a prefix plane only).
  static size_t ScanPlaneEnd(const PageShape& shape, bool both);

  // Slots readable now (acquire: their contents are visible).
  uint32_t count() const { return count_.load(std::memory_order_acquire); }
  Page* next() const { return next_.load(std::memory_order_acquire); }
  // The page after next (nullptr until there is one): a scan prefetches two pages ahead, since
  // scoring one page's prefix takes less time than fetching the next page's header.
  Page* after_next() const { return after_next_.load(std::memory_order_acquire); }

  // The plane a scan streams (the prefix plane if the page has one, else the hi plane): computed,
  // not loaded, so a scan can prefetch a page's rows before its header has arrived.
  const uint8_t* scan_plane() const {
    return reinterpret_cast<const uint8_t*>(this) + kHeaderBytes;
  }
  // The planes: count() rows of stride (prefix_stride) bytes each.
  const uint8_t* hi() const { return hi_; }
  const uint8_t* lo() const { return lo_; }
  const uint8_t* prefix() const { return prefix_; }  // nullptr without a prefix plane
  const float* scales() const { return ScalesColumn(); }
  const float* biases() const { return BiasesColumn(); }
  const uint32_t* entries() const { return EntriesColumn(); }
  const float* prefix_scales() const { return PrefixScalesColumn(); }
  // Per slot, a copy of its entry's EntryInfo::live_from, kept beside the codes so the scan's
  // fast visibility check reads memory it is already streaming.
  const std::atomic<int64_t>* live_from() const { return LiveFromColumn(); }
  void SetLiveFrom(uint32_t slot, int64_t value) {
    LiveFromColumn()[slot].store(value, std::memory_order_release);
  }

 private:
  friend class PostingList;
  static constexpr size_t kHeaderBytes = 64;
  Page() = default;

  // The columns, in their order (ColumnsBytes): writable, the writer fills slots through them.
  template <typename T>
  T* Column(size_t offset) const {
    return reinterpret_cast<T*>(columns_ + offset);
  }
  float* ScalesColumn() const { return Column<float>(0); }
  float* BiasesColumn() const { return Column<float>(column_bytes_); }
  uint32_t* EntriesColumn() const { return Column<uint32_t>(2 * column_bytes_); }
  std::atomic<int64_t>* LiveFromColumn() const {
    return Column<std::atomic<int64_t>>(3 * column_bytes_);
  }
  float* PrefixScalesColumn() const { return Column<float>(3 * column_bytes_ + live_from_bytes_); }

  std::atomic<uint32_t> count_{0};
  uint32_t capacity_ = 0;
  std::atomic<Page*> next_{nullptr};
  std::atomic<Page*> after_next_{nullptr};
  // Into the same allocation (the header has room for little more than these: kHeaderBytes).
  uint8_t* hi_ = nullptr;
  uint8_t* lo_ = nullptr;
  uint8_t* prefix_ = nullptr;
  char* columns_ = nullptr;
  uint32_t column_bytes_ = 0;     // each 4-byte column, aligned
  uint32_t live_from_bytes_ = 0;  // the live_from column, aligned
};

class PostingList {
 public:
  // `centroid` (dim floats, or empty for a flat partition's single list) is what the list's
  // vectors are encoded against; the pages come from `arena` if not null (shared: a retired
  // list may outlive its partition until the readers that could see it are gone).
  PostingList(const PageShape& shape, std::vector<float> centroid, std::shared_ptr<PageArena> arena)
      : shape_(shape), centroid_(std::move(centroid)), arena_(std::move(arena)) {}
  // Frees every page. REQUIRES: no reader can reach the list any more.
  ~PostingList();
  PostingList(const PostingList&) = delete;
  PostingList& operator=(const PostingList&) = delete;

  // Appends one vector (its planes of shape.stride bytes each, and its prefix plane of
  // shape.prefix_stride bytes with its scale if the shape has one) and returns where it went.
  // Single writer.
  std::pair<Page*, uint32_t> Append(uint32_t entry, const uint8_t* hi, const uint8_t* lo,
                                    const EncodedVector& encoded, const uint8_t* prefix,
                                    float prefix_scale, int64_t live_from);

  // Appends a copy of slot `slot` of `from`, a page of a list of the same shape (codes, columns
  // and live_from as they are: the list must have the same centroid). Single writer.
  std::pair<Page*, uint32_t> AppendCopy(const Page& from, uint32_t slot);

  const PageShape& shape() const { return shape_; }
  // Empty for a flat list.
  const std::vector<float>& centroid() const { return centroid_; }
  const float* center() const { return centroid_.empty() ? nullptr : centroid_.data(); }

  const Page* first() const { return first_.load(std::memory_order_acquire); }
  // Vectors appended (the writer's count).
  uint32_t size() const { return size_; }
  size_t bytes() const { return pages_ * Page::Bytes(shape_); }

 private:
  const PageShape shape_;
  const std::vector<float> centroid_;
  const std::shared_ptr<PageArena> arena_;
  std::atomic<Page*> first_{nullptr};
  Page* last_ = nullptr;         // the writer's
  Page* before_last_ = nullptr;  // the writer's
  uint32_t size_ = 0;
  size_t pages_ = 0;
};

}  // namespace loci::index

#endif  // LOCI_INDEX_POSTING_LIST_H_
