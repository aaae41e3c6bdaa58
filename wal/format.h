// The on-disk format of the write-ahead log (design.md §4, research storage_reliability §1.8a).
//
// A WAL is a sequence of segment files "wal-<segment_no>.log". Each segment starts with one
// 4 KiB header block, then records back to back, each 8-byte aligned:
//
//   segment header: magic[8] format_version:u32 flags:u32 db_uuid[16] segment_no:u64 salt:u64
//                   first_lsn:u64 prev_checksum:u64 header_checksum:u64, zero-padded to 4 KiB
//   record:         checksum:u64 length:u32 type:u8 flags:u8 reserved:u16 lsn:u64
//                   prev_checksum:u64 synced_lsn:u64 payload[length] zero padding to 8 bytes
//
// The record checksum is XXH3-64 over bytes 8..40+length, seeded with salt ^ segment_no, so a
// record copied from another segment or database fails as surely as random damage. LSNs
// increase by one per record across segments; prev_checksum chains every record to the one
// before it (the first record of a segment chains to the segment header's prev_checksum), so a
// lost or misplaced record is detected. synced_lsn is the highest LSN known durable when the
// record was written: recovery uses it to tell a torn unsynced tail (truncate) from damage to
// data that was already durable (Corruption).

#ifndef LOCI_WAL_FORMAT_H_
#define LOCI_WAL_FORMAT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/db_uuid.h"
#include "loci/status.h"

namespace loci::wal {

using Lsn = uint64_t;
inline constexpr size_t kSegmentHeaderBlock = 4096;
inline constexpr size_t kSegmentHeaderSize = 8 + 4 + 4 + 16 + 8 + 8 + 8 + 8 + 8;
inline constexpr char kSegmentMagic[8] = {'L', 'O', 'C', 'I', 'W', 'A', 'L', '1'};
inline constexpr uint32_t kFormatVersion = 1;

// Segment header flags.
enum SegmentFlags : uint32_t {
  kGuardedTailFlag = 0x1,  // the segment keeps kTailGuard bytes after its last record
};
inline constexpr size_t kTailGuard = 4096;

inline constexpr size_t kRecordHeaderSize = 40;
inline constexpr size_t kRecordAlignment = 8;
// Sync groups are padded to this boundary by default, so a later write never shares a sector
// with bytes that were acknowledged durable (SQLite's powersafe-overwrite concern; the padding
// unit is an option, Options::wal_sync_alignment).
inline constexpr size_t kSyncAlignment = 4096;
// No single record may exceed this (a batch of small cube records is far below it).
inline constexpr uint32_t kMaxRecordPayload = 256u << 20;

// Record flags.
enum RecordFlags : uint8_t {
  // The record belongs to a sync group: its blobs were durable before it was written, so a
  // missing blob is corruption, never a write that simply did not make it.
  kSyncGroupFlag = 0x01,
  kKnownFlags = kSyncGroupFlag,
};

enum RecordType : uint8_t {
  kBatchRecord = 1,    // one committed batch, the engine's payload
  kPaddingRecord = 2,  // filler up to a sync boundary; payload is zeros
  // Types with this bit set may be skipped by readers that do not know them.
  kSafeToIgnoreBit = 0x80,
  kSealRecord = kSafeToIgnoreBit | 3,  // a clean close (see the file comment); engine payload
};

struct SegmentHeader {
  uint32_t format_version = kFormatVersion;
  uint32_t flags = 0;
  DbUuid db_uuid{};
  uint64_t segment_no = 0;
  uint64_t salt = 0;
  Lsn first_lsn = 0;
  uint64_t prev_checksum = 0;  // checksum of the last record of the previous segment
};

struct RecordHeader {
  uint64_t checksum = 0;
  uint32_t length = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
  Lsn lsn = 0;
  uint64_t prev_checksum = 0;
  Lsn synced_lsn = 0;
};

// The bytes of a segment's header block (kSegmentHeaderBlock long).
std::string EncodeSegmentHeader(const SegmentHeader& header);
// Parses and verifies a header block. Corruption (naming `file`) if it is malformed.
Status DecodeSegmentHeader(std::string_view block, const std::string& file, SegmentHeader* out);

inline uint64_t RecordSeed(const SegmentHeader& h) { return h.salt ^ h.segment_no; }

// Size of a record with `payload_length` bytes on disk, alignment included.
inline size_t RecordSpan(size_t payload_length) {
  return kRecordHeaderSize + ((payload_length + kRecordAlignment - 1) & ~(kRecordAlignment - 1));
}

// Appends a complete record (header, payload, zero padding) to *dst and returns its checksum.
// `header.checksum` and `header.length` are computed here.
uint64_t AppendRecord(std::string* dst, RecordHeader header, std::string_view payload,
                      uint64_t seed);

// Outcome of parsing the bytes at one offset as a record.
enum class ParseResult {
  kOk,
  kTruncated,  // the header, payload or alignment padding runs past the end of the input
  kBadHeader,  // reserved bits, impossible length or unknown type
  kBadChecksum,
};

// Parses the record at the start of `input`. On kOk fills *header and *payload (a view into
// `input`). Never reads outside `input`.
ParseResult ParseRecord(std::string_view input, uint64_t seed, RecordHeader* header,
                        std::string_view* payload);

// Decodes only the 40-byte header at the start of `input` into *header, checking what can be
// checked without the payload (reserved bits, flags, type, length bound, LSNs). False if
// `input` is shorter than a header or the header is not well-formed. Used to tell a record cut
// off by the end of the file from garbage.
bool PeekRecordHeader(std::string_view input, RecordHeader* header);

}  // namespace loci::wal

#endif  // LOCI_WAL_FORMAT_H_
