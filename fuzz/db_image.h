// A database directory as a fuzz input, shared by the targets that run over whole databases
// (fuzz_wal_replay: recovery; fuzz_salvage: salvage): the input is split into a SUPERBLOCK,
// 0-3 WAL segments and optionally an arena generation and checkpoint files, which are written
// into a directory of an in-memory Env.
//
// Input (fuzz_input.h, front to back):
//   flags:u8     bits 0-1: number of WAL segments (0-3); bit 2: an arena generation file;
//                bit 3: a checkpoint file; bit 7: another checkpoint file (a base and a delta);
//                bit 4: the target's own (wal_replay: RecoveryMode::kPointInTime); bit 5:
//                reseal — recompute the checksums of superblock slots, segment headers and
//                records after splitting, so that mutations reach the decoders and the policy
//                behind them instead of stopping at a checksum; bit 6 (with bit 5): also re-link
//                the hash chain (record and segment-header prev_checksum)
//   SUPERBLOCK   u32 length + bytes
//   segments     (segment_no:u32, u32 length + bytes) each          -> wal-<n>.log
//   arena        (generation:u32, u32 length + bytes) if bit 2      -> arena-<n>.blob
//   checkpoints  (file_number:u32, u32 length + bytes) if bit 3, 7  -> ckpt-<n>.ckpt
//   the rest     the target's own
// fuzz/make_seeds.py packs real databases into this form.

#ifndef LOCI_FUZZ_DB_IMAGE_H_
#define LOCI_FUZZ_DB_IMAGE_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "common/coding.h"
#include "common/file_names.h"
#include "common/hash.h"
#include "engine/superblock.h"
#include "fuzz/fuzz_input.h"
#include "loci/env.h"
#include "wal/format.h"

namespace loci::fuzz {

// The superblock slot checksum seed (engine/superblock.cc). Checked against a real encoding
// once, so a change there stops the fuzzer instead of silently disabling resealing.
inline constexpr uint64_t kSuperblockSeed = 0x4c4f434953555042ull;
inline constexpr size_t kSuperblockSlotHeader = 16;  // magic[8] format:u32 body_length:u32

inline void ResealSuperblockSlot(std::string* file, size_t start) {
  if (file->size() < start + kSuperblockSlotHeader + 8) return;
  const uint32_t body = DecodeFixed32(file->data() + start + 12);
  const size_t end = std::min(file->size(), start + engine::kSuperblockSlotSize);
  if (body > end - start - kSuperblockSlotHeader - 8) return;
  const size_t checked = kSuperblockSlotHeader + body;
  EncodeFixed64(file->data() + start + checked,
                Hash64(file->data() + start, checked, kSuperblockSeed));
}

inline void CheckSuperblockSeed() {
  static const bool checked = [] {
    std::string slot;
    if (!engine::EncodeSuperblockSlot(engine::Superblock(), &slot).ok()) __builtin_trap();
    std::string resealed = slot;
    ResealSuperblockSlot(&resealed, 0);
    if (resealed != slot) __builtin_trap();  // update kSuperblockSeed from engine/superblock.cc
    return true;
  }();
  (void)checked;
}

// Recomputes a segment's header checksum and the checksum of every record that is structurally
// there, linking the hash chain if `link`. *prev carries the chain across segments.
inline void ResealSegment(std::string* image, bool link, uint64_t* prev) {
  using namespace loci::wal;
  if (image->size() < kSegmentHeaderBlock) return;
  const char* h = image->data();
  if (std::memcmp(h, kSegmentMagic, sizeof(kSegmentMagic)) != 0) return;
  SegmentHeader header;
  header.format_version = DecodeFixed32(h + 8);
  header.flags = DecodeFixed32(h + 12);
  std::memcpy(header.db_uuid.data(), h + 16, header.db_uuid.size());
  header.segment_no = DecodeFixed64(h + 32);
  header.salt = DecodeFixed64(h + 40);
  header.first_lsn = DecodeFixed64(h + 48);
  header.prev_checksum = link ? *prev : DecodeFixed64(h + 56);
  const std::string block = EncodeSegmentHeader(header);
  image->replace(0, kSegmentHeaderSize, block, 0, kSegmentHeaderSize);

  const uint64_t seed = RecordSeed(header);
  uint64_t chain = header.prev_checksum;
  size_t pos = kSegmentHeaderBlock;
  while (pos + kRecordHeaderSize <= image->size()) {
    const char* p = image->data() + pos;
    RecordHeader r;
    r.length = DecodeFixed32(p + 8);
    if (r.length > kMaxRecordPayload || RecordSpan(r.length) > image->size() - pos) break;
    r.type = static_cast<uint8_t>(p[12]);
    r.flags = static_cast<uint8_t>(p[13]);
    r.lsn = DecodeFixed64(p + 16);
    r.prev_checksum = link ? chain : DecodeFixed64(p + 24);
    r.synced_lsn = DecodeFixed64(p + 32);
    if (r.lsn == 0) break;  // zeros: the clean end of the log
    std::string record;
    chain = AppendRecord(&record, r, std::string_view(p + kRecordHeaderSize, r.length), seed);
    // Header and payload only: the reserved bytes and the padding stay as the input has them.
    image->replace(pos, 14, record, 0, 14);
    image->replace(pos + 16, kRecordHeaderSize - 16 + r.length, record, 16,
                   kRecordHeaderSize - 16 + r.length);
    pos += RecordSpan(r.length);
  }
  *prev = chain;
}

struct DbImageFile {
  std::string name;
  std::string bytes;
};

struct DbImage {
  uint8_t flags = 0;
  std::vector<DbImageFile> files;
};

// Splits the front of `in` into a database image (see the file comment), resealed as its
// flags say.
inline DbImage ReadDbImage(FuzzInput* in) {
  CheckSuperblockSeed();
  DbImage image;
  image.flags = in->U8();
  const bool reseal = image.flags & 0x20;
  const bool link = image.flags & 0x40;
  std::vector<DbImageFile>& files = image.files;
  files.push_back({kSuperblockFileName, std::string(in->LengthPrefixed())});
  if (reseal) {
    ResealSuperblockSlot(&files.back().bytes, 0);
    ResealSuperblockSlot(&files.back().bytes, engine::kSuperblockSlotSize);
  }
  uint64_t chain = 0;
  for (int i = 0; i < (image.flags & 3); ++i) {
    const uint32_t n = in->U32();
    files.push_back({WalSegmentFileName(n), std::string(in->LengthPrefixed())});
    if (reseal) ResealSegment(&files.back().bytes, link, &chain);
  }
  if (image.flags & 4) {
    const uint32_t n = in->U32();
    files.push_back({ArenaGenerationFileName(n), std::string(in->LengthPrefixed())});
  }
  for (const uint8_t bit : {0x08, 0x80}) {
    if ((image.flags & bit) == 0) continue;
    const uint32_t n = in->U32();
    files.push_back({CheckpointFileName(n), std::string(in->LengthPrefixed())});
  }
  return image;
}

// Creates directory `dir` in `env` and writes the image's files into it; traps on failure.
inline void WriteDbImage(const DbImage& image, Env* env, const std::string& dir) {
  if (!env->CreateDir(dir).ok()) __builtin_trap();
  for (const DbImageFile& f : image.files) {
    std::unique_ptr<WritableFile> w;
    // Two entries with the same name: the later one wins, as a later write would.
    if (!env->NewWritableFile(dir + "/" + f.name, Env::OpenMode::kCreateOrOpen, &w).ok() ||
        !w->Truncate(0).ok() || (!f.bytes.empty() && !w->Write(0, f.bytes).ok())) {
      __builtin_trap();
    }
  }
}

}  // namespace loci::fuzz

#endif  // LOCI_FUZZ_DB_IMAGE_H_
