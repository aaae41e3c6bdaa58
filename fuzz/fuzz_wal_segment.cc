// libFuzzer target: WAL segment scanning over arbitrary bytes. The scan must never read outside
// its input or crash, and every record it accepts must re-parse identically.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wal/format.h"
#include "wal/segment_scan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  loci::wal::SegmentScan scan;
  if (!loci::wal::ScanSegment(image, "fuzz.log", &scan).ok()) return 0;
  const uint64_t seed = loci::wal::RecordSeed(scan.header);
  for (const loci::wal::ScannedRecord& r : scan.records) {
    loci::wal::RecordHeader h;
    std::string_view payload;
    if (loci::wal::ParseRecord(image.substr(r.offset), seed, &h, &payload) !=
            loci::wal::ParseResult::kOk ||
        h.lsn != r.lsn || payload != r.payload) {
      __builtin_trap();
    }
  }
  if (scan.end_offset > size && !scan.records.empty()) __builtin_trap();
  return 0;
}
