// Segment scanning with look-ahead past damage.

#include "wal/segment_scan.h"

#include <algorithm>

namespace loci::wal {

namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

const char* Describe(ParseResult r) {
  switch (r) {
    case ParseResult::kTruncated:
      return "record runs past the end of the segment";
    case ParseResult::kBadHeader:
      return "malformed record header";
    case ParseResult::kBadChecksum:
      return "record checksum mismatch";
    case ParseResult::kOk:
      break;
  }
  return "ok";
}

// Looks for intact records past `from` whose LSN is above `after_lsn`: any such record means the
// bytes at the damage were followed by later writes (or, with the damaged LSN itself, that the
// record was written somewhere else).
void LookAhead(std::string_view image, uint64_t from, Lsn after_lsn, uint64_t seed,
               SegmentScan* out) {
  // Every offset, not only aligned ones: misplaced data need not be aligned. This runs only
  // once damage was found, and the header checks reject almost every offset before hashing.
  for (uint64_t q = from; q + kRecordHeaderSize <= image.size(); ++q) {
    RecordHeader h;
    std::string_view payload;
    if (ParseRecord(image.substr(q), seed, &h, &payload) != ParseResult::kOk) continue;
    if (h.lsn <= after_lsn) continue;
    if (h.lsn == after_lsn + 1 && !out->damaged_lsn_elsewhere) {
      out->damaged_lsn_elsewhere = true;
      out->damaged_lsn_offset = q;
    }
    if (!out->valid_after_damage) {
      out->valid_after_damage = true;
      out->first_valid_after_offset = q;
      out->first_valid_after_lsn = h.lsn;
    }
    out->max_synced_lsn_after_damage = std::max(out->max_synced_lsn_after_damage, h.synced_lsn);
  }
}

}  // namespace

Status ScanSegment(std::string_view image, const std::string& file, SegmentScan* out) {
  *out = SegmentScan();
  if (image.size() < kSegmentHeaderBlock) {
    return Status::Corruption(file + ": segment shorter than its header block (" +
                              std::to_string(image.size()) + " bytes)");
  }
  LOCI_RETURN_IF_ERROR(
      DecodeSegmentHeader(image.substr(0, kSegmentHeaderBlock), file, &out->header));
  const uint64_t seed = RecordSeed(out->header);
  Lsn expected_lsn = out->header.first_lsn;
  uint64_t prev_checksum = out->header.prev_checksum;
  uint64_t pos = kSegmentHeaderBlock;

  while (pos < image.size()) {
    std::string_view rest = image.substr(pos);
    RecordHeader h;
    std::string_view payload;
    ParseResult r = ParseRecord(rest, seed, &h, &payload);
    std::string reason;
    if (r != ParseResult::kOk) {
      if (AllZero(rest)) break;  // preallocated or never-written space: a clean end
      reason = Describe(r);
      out->damage_runs_past_end = r == ParseResult::kTruncated && PeekRecordHeader(rest, &h) &&
                                  h.lsn == expected_lsn && h.prev_checksum == prev_checksum;
    } else if (h.lsn != expected_lsn) {
      reason = "expected LSN " + std::to_string(expected_lsn) + ", found " + std::to_string(h.lsn);
    } else if (h.prev_checksum != prev_checksum) {
      reason = "hash chain broken (record does not follow its predecessor)";
    }
    if (!reason.empty()) {
      out->damaged = true;
      out->damage_offset = pos;
      out->damage_reason = std::move(reason);
      LookAhead(image, pos + 1, expected_lsn - 1, seed, out);
      break;
    }
    out->records.push_back(
        ScannedRecord{h.lsn, pos, h.type, h.flags, h.checksum, h.synced_lsn, payload});
    prev_checksum = h.checksum;
    ++expected_lsn;
    pos += RecordSpan(h.length);
  }
  out->end_offset = out->records.empty() ? kSegmentHeaderBlock
                                         : out->records.back().offset +
                                               RecordSpan(out->records.back().payload.size());
  out->last_lsn = expected_lsn - 1;
  out->last_checksum = prev_checksum;
  return Status::OK();
}

}  // namespace loci::wal
