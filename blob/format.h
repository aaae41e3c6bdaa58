// The on-disk format of the blob arena (design.md §4, research storage_reliability §1.8f).
//
// The arena is a set of append-only generation files "arena-<generation>.blob". Each starts with
// a 4 KiB header block (magic "LOCIBLB1", format version, database uuid, generation, checksum),
// followed by 8-byte aligned frames:
//
//   frame: magic:u32 length:u32 generation:u32 header_check:u32 checksum:u64 payload[length]
//
// checksum is XXH3-64 of the payload seeded with the generation and the frame's offset, so a
// frame written to the wrong place fails verification; header_check covers the frame header.
// Payloads start 8-byte aligned, so vectors can be read in place as floats.

#ifndef LOCI_BLOB_FORMAT_H_
#define LOCI_BLOB_FORMAT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/db_uuid.h"
#include "loci/status.h"

namespace loci::blob {

inline constexpr size_t kGenerationHeaderBlock = 4096;
inline constexpr size_t kFrameHeaderSize = 24;
inline constexpr size_t kFrameAlignment = 8;
inline constexpr uint32_t kFrameMagic = 0x424f4c42;  // "BLOB"
inline constexpr uint32_t kMaxBlobLength = 0xffffffe0u;

// Where a blob lives and what it must hash to. generation 0 means "no blob" (empty payload).
struct BlobRef {
  uint32_t generation = 0;
  uint64_t offset = 0;    // of the frame
  uint32_t length = 0;    // of the payload
  uint64_t checksum = 0;  // of the payload
  bool empty() const { return generation == 0; }
  uint64_t end() const { return offset + FrameSpan(length); }
  static uint64_t FrameSpan(uint64_t length) {
    return (kFrameHeaderSize + length + kFrameAlignment - 1) & ~uint64_t{kFrameAlignment - 1};
  }
  bool operator==(const BlobRef&) const = default;
};

uint64_t PayloadChecksum(std::string_view payload, uint32_t generation, uint64_t offset);

// Appends the frame (header, payload, zero padding) for `payload` at `offset` to *dst.
void AppendFrame(std::string* dst, std::string_view payload, uint32_t generation, uint64_t offset,
                 uint64_t checksum);

// Verifies the frame `frame` (at least FrameSpan bytes, read from where `ref` points) against
// `ref` and returns the payload view. Corruption naming `file` and the offset otherwise.
Status VerifyFrame(std::string_view frame, const BlobRef& ref, const std::string& file,
                   std::string_view* payload);

std::string EncodeGenerationHeader(const DbUuid& uuid, uint32_t generation);
Status DecodeGenerationHeader(std::string_view block, const std::string& file, DbUuid* uuid,
                              uint32_t* generation);

}  // namespace loci::blob

#endif  // LOCI_BLOB_FORMAT_H_
