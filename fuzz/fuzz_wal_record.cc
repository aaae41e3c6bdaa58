// libFuzzer target: one WAL record (wal::ParseRecord) over arbitrary bytes.
//
// Input: seed:u64 (the checksum seed, salt ^ segment_no) then the record bytes. Checks:
//  - parsing never reads outside the input (ASan) and never crashes;
//  - a record that parses lies inside the input: its payload is the view at offset 40 of
//    `length` bytes and its whole span (RecordSpan: header, payload, padding) fits;
//  - canonical form: wal::AppendRecord with the same header fields, payload and seed reproduces
//    the input byte for byte over the record span (padding included) and returns the checksum;
//  - decode(encode(x)) == x for a record x built from the same bytes.
// LOCI_FUZZ_IGNORE_PADDING=1 in the environment limits the canonical-form check to header and
// payload, to keep fuzzing the rest while non-zero padding is accepted (fuzz/README.md).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz/fuzz_input.h"
#include "wal/format.h"

namespace {

using loci::wal::ParseResult;
using loci::wal::RecordHeader;

bool SameHeader(const RecordHeader& a, const RecordHeader& b) {
  return a.checksum == b.checksum && a.length == b.length && a.type == b.type &&
         a.flags == b.flags && a.lsn == b.lsn && a.prev_checksum == b.prev_checksum &&
         a.synced_lsn == b.synced_lsn;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loci::fuzz::FuzzInput in(data, size);
  const uint64_t seed = in.U64();
  const std::string_view record = in.Rest();

  RecordHeader h;
  std::string_view payload;
  if (loci::wal::ParseRecord(record, seed, &h, &payload) == ParseResult::kOk) {
    const size_t span = loci::wal::RecordSpan(h.length);
    if (span > record.size() || payload.size() != h.length ||
        payload.data() != record.data() + loci::wal::kRecordHeaderSize) {
      __builtin_trap();
    }
    std::string again;
    if (loci::wal::AppendRecord(&again, h, payload, seed) != h.checksum) __builtin_trap();
    static const bool ignore_padding = std::getenv("LOCI_FUZZ_IGNORE_PADDING") != nullptr;
    const size_t compared = ignore_padding ? loci::wal::kRecordHeaderSize + payload.size() : span;
    if (std::string_view(again).substr(0, compared) != record.substr(0, compared)) {
      __builtin_trap();  // not canonical (with the whole span compared: non-zero padding)
    }
  }

  // Round trip of a record built from the input: the header fields from the first bytes of
  // `record` made valid (known type, no flags, 0 <= synced_lsn < lsn), the rest as payload.
  loci::fuzz::FuzzInput gen(reinterpret_cast<const uint8_t*>(record.data()), record.size());
  RecordHeader x;
  const uint8_t t = gen.U8();
  x.type = (t & 1)   ? loci::wal::kBatchRecord
           : (t & 2) ? loci::wal::kPaddingRecord
                     : (t | loci::wal::kSafeToIgnoreBit);
  x.lsn = gen.U64() | 1;
  x.synced_lsn = gen.U64() % x.lsn;
  x.prev_checksum = gen.U64();
  const std::string_view body = gen.Rest();
  std::string encoded;
  x.checksum = loci::wal::AppendRecord(&encoded, x, body, seed);
  x.length = static_cast<uint32_t>(body.size());
  if (encoded.size() != loci::wal::RecordSpan(body.size())) __builtin_trap();
  RecordHeader y;
  std::string_view decoded;
  if (loci::wal::ParseRecord(encoded, seed, &y, &decoded) != ParseResult::kOk ||
      !SameHeader(x, y) || decoded != body) {
    __builtin_trap();
  }
  // One byte short of the span is a torn record, never a record.
  if (loci::wal::ParseRecord(std::string_view(encoded).substr(0, encoded.size() - 1), seed, &y,
                             &decoded) != ParseResult::kTruncated) {
    __builtin_trap();
  }
  return 0;
}
