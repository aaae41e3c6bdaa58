// Index snapshots: Atlas's partitions written beside a base checkpoint, so that an open restores
// them instead of clustering, routing and encoding every vector again (design.md §6). A snapshot
// is a validated cache, never a source of truth: an entry is used only if a recovered version
// still has the very vector it names, and any damage makes the open rebuild instead.
//
//   file:    magic[8] format:u32 db_uuid[16] file_number:u64 header_checksum:u64 section*
//   section: length:u32 type:u8 body[length] checksum:u64  (XXH3 of type+body, seeded with the
//                                                           file number and the section's offset)
//   types, per partition in this order:
//     partition: space_id:u32 field_id:u32 metric:u8 dim:u32 clustered:u8 page_capacity:u32
//                plane_stride:u32 prefix_width:u32 split_attempts:u64 entries:u32 lists:u32
//                groups:u32
//     projection (only when prefix_width > 0): energy:f64 directions:f32[prefix_width*dim]
//     entries:   count:u32 (cube:u64 generation:u32 offset:u64 length:u32 checksum:u64)*count
//                (as many sections as it takes, at most kEntriesPerSection each)
//     list:      index:u32 slots:u32 split_at:u32 centroid:f32[dim, or 0 when flat]
//                hi[slots*plane_stride] lo[slots*plane_stride] scale:f32[slots]
//                bias:f32[slots] entry:u32[slots]
//                and when prefix_width > 0: prefix[slots*prefix_width/2] prefix_scale:f32[slots]
//     groups:    grouped_lists:u32, per group: codes[CodeStride(dim)] scale:f32 bias:f32
//                sum:i32 members:u32 member:u32[members]   (only when groups > 0)
//   then one end section: partitions:u32 sections:u32 (the sections before it).
//
// An entry is identified by its cube and the blob reference of the vector it was encoded from;
// the index does not interpret the reference (it is the engine's blob::BlobRef).

#ifndef LOCI_INDEX_PARTITION_SNAPSHOT_H_
#define LOCI_INDEX_PARTITION_SNAPSHOT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/db_uuid.h"
#include "index/aligned_allocator.h"
#include "loci/env.h"
#include "loci/metric.h"
#include "loci/status.h"

namespace loci::index {

// Where an entry's vector is stored (the engine's blob reference, carried opaquely).
struct VectorSource {
  uint32_t generation = 0;  // 0: unknown (the entry can never be matched)
  uint64_t offset = 0;
  uint32_t length = 0;
  uint64_t checksum = 0;
  bool operator==(const VectorSource&) const = default;
};

struct SnapshotEntry {
  uint64_t cube = 0;
  VectorSource source;
  // Not in the file. Export: the vector the entry was encoded from (to find its source).
  const float* vector = nullptr;
};

// A posting list's slots, column by column as a page holds them.
struct SnapshotList {
  std::vector<float> centroid;  // empty for a flat partition's list
  uint32_t slots = 0;
  uint32_t split_at = 0;        // the list is split past this size
  std::vector<uint8_t> hi, lo;  // slots * plane_stride bytes each
  std::vector<float> scales, biases;
  std::vector<uint32_t> entries;  // indexes into PartitionSnapshot::entries
  std::vector<uint8_t> prefix;    // slots * prefix_width / 2 bytes (projection.h)
  std::vector<float> prefix_scales;
};

struct SnapshotGroup {
  AlignedVector<int8_t> codes;  // CodeStride(dim) bytes
  float scale = 0;
  float bias = 0;
  int32_t sum = 0;
  std::vector<uint32_t> members;  // list indexes
};

struct PartitionSnapshot {
  uint32_t space_id = 0;
  uint32_t field_id = 0;
  Metric metric = Metric::kCosine;
  uint32_t dim = 0;
  bool clustered = false;
  uint32_t page_capacity = 0;
  uint32_t plane_stride = 0;
  // The projection the pages' prefix planes were encoded with (0 and empty: none).
  uint32_t prefix_width = 0;
  double prefix_energy = 0;
  std::vector<float> directions;  // prefix_width rows of dim floats
  // The partition's split count so far (its splits' k-means seeds): with it and the lists'
  // split_at, a restored partition grows exactly as the one it was taken from.
  uint64_t split_attempts = 0;
  std::vector<SnapshotEntry> entries;  // in the order the partition numbered them
  std::vector<SnapshotList> lists;
  std::vector<SnapshotGroup> groups;  // empty while every list is scored
  uint32_t grouped_lists = 0;
};

struct IndexSnapshot {
  std::vector<PartitionSnapshot> partitions;  // distinct (space_id, field_id)
};

// Largest dimension a snapshot may declare (the engine's limit on vector fields).
inline constexpr uint32_t kMaxSnapshotDim = 1 << 16;
inline constexpr uint32_t kEntriesPerSection = 1 << 16;

// Streams partitions into a new snapshot file.
class IndexSnapshotWriter {
 public:
  IndexSnapshotWriter(Env* env, std::string path, const DbUuid& uuid, uint64_t file_number);
  ~IndexSnapshotWriter();
  IndexSnapshotWriter(const IndexSnapshotWriter&) = delete;
  IndexSnapshotWriter& operator=(const IndexSnapshotWriter&) = delete;

  // Creates the file (it must not exist) and writes the header.
  Status Open();
  // Appends `p`'s sections. REQUIRES: Open succeeded; `p` is consistent (as Partition::Export
  // makes it); each (space_id, field_id) added once.
  Status AddPartition(const PartitionSnapshot& p);
  // Writes the end section and syncs the file. On success *bytes is the file size.
  Status Finish(uint64_t* bytes);

 private:
  void AddSection(uint8_t type, std::string_view body);
  Status Flush();

  Env* const env_;
  const std::string path_;
  const DbUuid uuid_;
  const uint64_t file_number_;
  std::unique_ptr<WritableFile> file_;
  std::string buf_;
  uint64_t offset_ = 0;  // bytes written to the file so far
  uint32_t partitions_ = 0;
  uint32_t sections_ = 0;
  Status status_;
};

// Decodes and verifies a whole snapshot file's bytes. `path` names the file in messages. OK
// with *out filled, or Corruption naming the file, the section (and partition, list) and the
// offset at fault for any malformed input; never allocates more than the input could hold.
Status DecodeIndexSnapshot(std::string_view data, const std::string& path, const DbUuid& uuid,
                           uint64_t file_number, IndexSnapshot* out);

// For tests and fuzzing: a snapshot file made of the header and these raw sections (type,
// body), checksums right, so that a decoder's checks past the checksums can be reached.
std::string FrameIndexSnapshot(const DbUuid& uuid, uint64_t file_number,
                               const std::vector<std::pair<uint8_t, std::string>>& sections);

// Reads `path` through `env` and decodes it (DecodeIndexSnapshot).
Status ReadIndexSnapshot(Env* env, const std::string& path, const DbUuid& uuid,
                         uint64_t file_number, IndexSnapshot* out);

}  // namespace loci::index

#endif  // LOCI_INDEX_PARTITION_SNAPSHOT_H_
