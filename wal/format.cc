// Encoding and verification of WAL segment headers and records.

#include "wal/format.h"

#include <cstring>

#include "common/coding.h"
#include "common/hash.h"

namespace loci::wal {

namespace {
constexpr uint64_t kHeaderSeed = 0x4c4f43495741484cull;  // "LOCIWAHL": segment headers
constexpr size_t kChecksumOffset = 0;
constexpr size_t kLengthOffset = 8;
constexpr size_t kTypeOffset = 12;
constexpr size_t kFlagsOffset = 13;
constexpr size_t kReservedOffset = 14;
constexpr size_t kLsnOffset = 16;
constexpr size_t kPrevOffset = 24;
constexpr size_t kSyncedOffset = 32;
}  // namespace

std::string EncodeSegmentHeader(const SegmentHeader& h) {
  std::string out;
  out.reserve(kSegmentHeaderBlock);
  out.append(kSegmentMagic, sizeof(kSegmentMagic));
  PutFixed32(&out, h.format_version);
  PutFixed32(&out, h.flags);
  out.append(reinterpret_cast<const char*>(h.db_uuid.data()), h.db_uuid.size());
  PutFixed64(&out, h.segment_no);
  PutFixed64(&out, h.salt);
  PutFixed64(&out, h.first_lsn);
  PutFixed64(&out, h.prev_checksum);
  PutFixed64(&out, Hash64(out, kHeaderSeed));
  out.resize(kSegmentHeaderBlock, '\0');
  return out;
}

Status DecodeSegmentHeader(std::string_view block, const std::string& file, SegmentHeader* out) {
  if (block.size() < kSegmentHeaderSize) {
    return Status::Corruption(file + ": segment header truncated (" + std::to_string(block.size()) +
                              " bytes)");
  }
  if (std::memcmp(block.data(), kSegmentMagic, sizeof(kSegmentMagic)) != 0) {
    return Status::Corruption(file + ": bad segment magic at offset 0");
  }
  const size_t checked = kSegmentHeaderSize - 8;
  if (Hash64(block.substr(0, checked), kHeaderSeed) != DecodeFixed64(block.data() + checked)) {
    return Status::Corruption(file + ": segment header checksum mismatch at offset 0");
  }
  Decoder d(block.substr(sizeof(kSegmentMagic), checked - sizeof(kSegmentMagic)));
  SegmentHeader h;
  std::string_view uuid;
  d.GetFixed32(&h.format_version);
  d.GetFixed32(&h.flags);
  d.GetBytes(h.db_uuid.size(), &uuid);
  d.GetFixed64(&h.segment_no);
  d.GetFixed64(&h.salt);
  d.GetFixed64(&h.first_lsn);
  d.GetFixed64(&h.prev_checksum);
  if (!d.ok()) return Status::Corruption(file + ": segment header malformed");
  if (h.format_version != kFormatVersion) {
    return Status::NotSupported(file + ": WAL format version " + std::to_string(h.format_version) +
                                " (this build reads " + std::to_string(kFormatVersion) + ")");
  }
  std::memcpy(h.db_uuid.data(), uuid.data(), h.db_uuid.size());
  *out = h;
  return Status::OK();
}

uint64_t AppendRecord(std::string* dst, RecordHeader header, std::string_view payload,
                      uint64_t seed) {
  const size_t start = dst->size();
  const size_t span = RecordSpan(payload.size());
  dst->resize(start + span, '\0');
  char* p = dst->data() + start;
  EncodeFixed32(p + kLengthOffset, static_cast<uint32_t>(payload.size()));
  p[kTypeOffset] = static_cast<char>(header.type);
  p[kFlagsOffset] = static_cast<char>(header.flags);
  EncodeFixed64(p + kLsnOffset, header.lsn);
  EncodeFixed64(p + kPrevOffset, header.prev_checksum);
  EncodeFixed64(p + kSyncedOffset, header.synced_lsn);
  if (!payload.empty()) std::memcpy(p + kRecordHeaderSize, payload.data(), payload.size());
  const uint64_t checksum =
      Hash64(p + kLengthOffset, kRecordHeaderSize - kLengthOffset + payload.size(), seed);
  EncodeFixed64(p + kChecksumOffset, checksum);
  return checksum;
}

bool PeekRecordHeader(std::string_view input, RecordHeader* header) {
  if (input.size() < kRecordHeaderSize) return false;
  const char* p = input.data();
  RecordHeader h;
  h.checksum = DecodeFixed64(p + kChecksumOffset);
  h.length = DecodeFixed32(p + kLengthOffset);
  h.type = static_cast<uint8_t>(p[kTypeOffset]);
  h.flags = static_cast<uint8_t>(p[kFlagsOffset]);
  uint16_t reserved;
  std::memcpy(&reserved, p + kReservedOffset, 2);
  h.lsn = DecodeFixed64(p + kLsnOffset);
  h.prev_checksum = DecodeFixed64(p + kPrevOffset);
  h.synced_lsn = DecodeFixed64(p + kSyncedOffset);
  const bool known_type =
      h.type == kBatchRecord || h.type == kPaddingRecord || (h.type & kSafeToIgnoreBit) != 0;
  if (reserved != 0 || (h.flags & ~kKnownFlags) != 0 || !known_type ||
      h.length > kMaxRecordPayload || h.lsn == 0 || h.synced_lsn >= h.lsn) {
    return false;
  }
  *header = h;
  return true;
}

ParseResult ParseRecord(std::string_view input, uint64_t seed, RecordHeader* header,
                        std::string_view* payload) {
  if (input.size() < kRecordHeaderSize) return ParseResult::kTruncated;
  RecordHeader h;
  if (!PeekRecordHeader(input, &h)) return ParseResult::kBadHeader;
  const char* p = input.data();
  // The writer always writes the padded span; a record cut inside its padding is a torn write,
  // and accepting it would put the end of the log past the end of the file.
  if (input.size() < RecordSpan(h.length)) return ParseResult::kTruncated;
  // Alignment padding is zero: one encoding per record (the checksum does not cover it).
  for (size_t i = kRecordHeaderSize + h.length; i < RecordSpan(h.length); ++i) {
    if (p[i] != 0) return ParseResult::kBadHeader;
  }
  const uint64_t actual =
      Hash64(p + kLengthOffset, kRecordHeaderSize - kLengthOffset + h.length, seed);
  if (actual != h.checksum) return ParseResult::kBadChecksum;
  *header = h;
  *payload = input.substr(kRecordHeaderSize, h.length);
  return ParseResult::kOk;
}

}  // namespace loci::wal
