// Scanning one WAL segment image: the valid record chain from its start, and — when something
// other than a clean end stops the chain — what lies beyond the damage, which is what recovery
// needs to tell a torn tail from mid-log corruption.

#ifndef LOCI_WAL_SEGMENT_SCAN_H_
#define LOCI_WAL_SEGMENT_SCAN_H_

#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"
#include "wal/format.h"

namespace loci::wal {

struct ScannedRecord {
  Lsn lsn;
  uint64_t offset;
  uint8_t type;
  uint8_t flags;
  uint64_t checksum;
  Lsn synced_lsn;
  std::string_view payload;  // a view into the scanned image
};

struct SegmentScan {
  SegmentHeader header;
  std::vector<ScannedRecord> records;  // the intact chain, in order
  uint64_t end_offset = 0;             // just past the last intact record
  Lsn last_lsn = 0;                    // of the chain (header.first_lsn - 1 when empty)
  uint64_t last_checksum = 0;          // of the chain (header.prev_checksum when empty)

  // Set when the chain stops before the end of the image at something that is not all zeros.
  bool damaged = false;
  uint64_t damage_offset = 0;
  std::string damage_reason;
  // The damage is a record whose header is intact and continues the chain (expected LSN and
  // predecessor checksum) but whose body runs past the end of the image: the file ends inside a
  // record that was written whole, unless the writer let records grow the file (see
  // kGuardedTailFlag in wal/format.h).
  bool damage_runs_past_end = false;
  // Intact records found past the damage (at any offset, LSN above the chain's).
  bool valid_after_damage = false;
  uint64_t first_valid_after_offset = 0;
  Lsn first_valid_after_lsn = 0;
  Lsn max_synced_lsn_after_damage = 0;  // the highest synced_lsn they claim
  // An intact record carrying the very LSN expected at the damage, found at another offset:
  // records are only ever written in place, so this is misplaced data (a misdirected write),
  // never a torn one.
  bool damaged_lsn_elsewhere = false;
  uint64_t damaged_lsn_offset = 0;
};

// Scans `image` (a whole segment file, header block included). A header that fails
// verification returns Corruption naming `file`; damage after the header is reported in *out,
// not as an error. Never reads outside `image`.
Status ScanSegment(std::string_view image, const std::string& file, SegmentScan* out);

}  // namespace loci::wal

#endif  // LOCI_WAL_SEGMENT_SCAN_H_
