// libFuzzer target: recovery over arbitrary database directory images. The input is split into
// a SUPERBLOCK, 0-3 WAL segments and optionally an arena generation and checkpoint files,
// written into a fresh in-memory Env; then Db::Open runs read-only, and if it opens, Verify and a
// few Get / History calls. Checks:
//  - Open returns OK, NotFound, Corruption, NotSupported or InvalidArgument; never crashes,
//    never reads out of bounds, never allocates without bound (-malloc_limit_mb in the smoke
//    test); Verify returns OK or Corruption (with problems iff Corruption); reads return OK,
//    NotFound, Corruption or InvalidArgument; a full History is versions 1..n in order;
//  - recovery is idempotent: a second Open gives the same status code and, if it opened, the
//    same Stats (versions, cubes, last_lsn, checkpoint_lsn, clock) and the same read results.
//
// Input (fuzz_input.h, front to back):
//   flags:u8     bits 0-1: number of WAL segments (0-3); bit 2: an arena generation file;
//                bit 3: a checkpoint file; bit 7: another checkpoint file (a base and a delta);
//                bit 4: RecoveryMode::kPointInTime; bit 5: reseal — recompute the checksums of
//                superblock slots, segment headers and records after splitting, so that
//                mutations reach the decoders and the recovery policy behind them instead of
//                stopping at a checksum; bit 6 (with bit 5): also re-link the hash chain (record
//                and segment-header prev_checksum)
//   SUPERBLOCK   u32 length + bytes
//   segments     (segment_no:u32, u32 length + bytes) each          -> wal-<n>.log
//   arena        (generation:u32, u32 length + bytes) if bit 2      -> arena-<n>.blob
//   checkpoints  (file_number:u32, u32 length + bytes) if bit 3, 7  -> ckpt-<n>.ckpt
//   the rest     probes: (id:u8, time choice:u8) pairs, at most 8
// fuzz/make_seeds.py packs real databases into this form.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "blob/format.h"
#include "common/coding.h"
#include "common/file_names.h"
#include "common/hash.h"
#include "engine/checkpoint.h"
#include "engine/superblock.h"
#include "fuzz/fuzz_input.h"
#include "loci/db.h"
#include "loci/env.h"
#include "wal/format.h"

namespace {

using loci::Status;

constexpr char kDir[] = "/db";
constexpr size_t kMaxProbes = 8;

// The superblock slot checksum seed (engine/superblock.cc). Checked against a real encoding
// once, so a change there stops the fuzzer instead of silently disabling resealing.
constexpr uint64_t kSuperblockSeed = 0x4c4f434953555042ull;
constexpr size_t kSuperblockSlotHeader = 16;  // magic[8] format:u32 body_length:u32

void ResealSuperblockSlot(std::string* file, size_t start) {
  if (file->size() < start + kSuperblockSlotHeader + 8) return;
  const uint32_t body = loci::DecodeFixed32(file->data() + start + 12);
  const size_t end = std::min(file->size(), start + loci::engine::kSuperblockSlotSize);
  if (body > end - start - kSuperblockSlotHeader - 8) return;
  const size_t checked = kSuperblockSlotHeader + body;
  loci::EncodeFixed64(file->data() + start + checked,
                      loci::Hash64(file->data() + start, checked, kSuperblockSeed));
}

void CheckSuperblockSeed() {
  static const bool checked = [] {
    std::string slot;
    if (!loci::engine::EncodeSuperblockSlot(loci::engine::Superblock(), &slot).ok()) {
      __builtin_trap();
    }
    std::string resealed = slot;
    ResealSuperblockSlot(&resealed, 0);
    if (resealed != slot) __builtin_trap();  // update kSuperblockSeed from engine/superblock.cc
    return true;
  }();
  (void)checked;
}

// Recomputes a segment's header checksum and the checksum of every record that is structurally
// there, linking the hash chain if `link`. *prev carries the chain across segments.
void ResealSegment(std::string* image, bool link, uint64_t* prev) {
  using namespace loci::wal;
  if (image->size() < kSegmentHeaderBlock) return;
  const char* h = image->data();
  if (std::memcmp(h, kSegmentMagic, sizeof(kSegmentMagic)) != 0) return;
  SegmentHeader header;
  header.format_version = loci::DecodeFixed32(h + 8);
  header.flags = loci::DecodeFixed32(h + 12);
  std::memcpy(header.db_uuid.data(), h + 16, header.db_uuid.size());
  header.segment_no = loci::DecodeFixed64(h + 32);
  header.salt = loci::DecodeFixed64(h + 40);
  header.first_lsn = loci::DecodeFixed64(h + 48);
  header.prev_checksum = link ? *prev : loci::DecodeFixed64(h + 56);
  const std::string block = EncodeSegmentHeader(header);
  image->replace(0, kSegmentHeaderSize, block, 0, kSegmentHeaderSize);

  const uint64_t seed = RecordSeed(header);
  uint64_t chain = header.prev_checksum;
  size_t pos = kSegmentHeaderBlock;
  while (pos + kRecordHeaderSize <= image->size()) {
    const char* p = image->data() + pos;
    RecordHeader r;
    r.length = loci::DecodeFixed32(p + 8);
    if (r.length > kMaxRecordPayload || RecordSpan(r.length) > image->size() - pos) break;
    r.type = static_cast<uint8_t>(p[12]);
    r.flags = static_cast<uint8_t>(p[13]);
    r.lsn = loci::DecodeFixed64(p + 16);
    r.prev_checksum = link ? chain : loci::DecodeFixed64(p + 24);
    r.synced_lsn = loci::DecodeFixed64(p + 32);
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

bool AllowedOpen(const Status& s) {
  return s.ok() || s.IsNotFound() || s.IsCorruption() || s.IsNotSupported() ||
         s.IsInvalidArgument();
}

bool AllowedRead(const Status& s) {
  return s.ok() || s.IsNotFound() || s.IsCorruption() || s.IsInvalidArgument();
}

// What one recovery produced, compared between two opens.
struct Observation {
  Status::Code open = Status::Code::kOk;
  uint64_t cubes = 0, versions = 0, last_lsn = 0, checkpoint_lsn = 0, wal_segments = 0;
  int64_t clock = 0;
  std::string recovery;
  std::vector<std::string> reads;  // one line per probe
  bool operator==(const Observation&) const = default;
};

struct Probe {
  uint8_t id;
  uint8_t time;
};

loci::Timestamp PickTime(uint8_t choice, const loci::DbStats& stats) {
  switch (choice % 6) {
    case 0:
      return stats.clock_high_water;
    case 1:
      return stats.clock_high_water - 1;
    case 2:
      return 0;
    case 3:
      return loci::kBeginningOfTime;
    case 4:
      return loci::kForever;
    default:
      return stats.clock_high_water / 2;
  }
}

std::string Describe(const loci::MemCube& c) {
  return std::to_string(c.id) + "v" + std::to_string(c.version) + " " + c.space + " [" +
         std::to_string(c.valid_from) + "," + std::to_string(c.valid_to) + ") tx [" +
         std::to_string(c.tx_from) + "," + std::to_string(c.tx_to) + ") " +
         std::to_string(c.payload.size()) + "B " + std::to_string(c.vectors.size()) + "v";
}

Observation Recover(const loci::Options& options, const std::vector<Probe>& probes) {
  Observation o;
  std::unique_ptr<loci::Db> db;
  Status s = loci::Db::Open(options, kDir, &db);
  if (!AllowedOpen(s)) __builtin_trap();
  o.open = s.code();
  if (!s.ok()) return o;
  const loci::DbStats stats = db->Stats();
  if (!stats.read_only || stats.checkpoint_lsn > stats.last_lsn) __builtin_trap();
  o.cubes = stats.cubes;
  o.versions = stats.versions;
  o.last_lsn = stats.last_lsn;
  o.checkpoint_lsn = stats.checkpoint_lsn;
  o.wal_segments = stats.wal_segments;
  o.clock = stats.clock_high_water;
  o.recovery = stats.recovery;

  loci::IntegrityReport report;
  s = db->Verify(&report);
  if (!(s.ok() || s.IsCorruption()) || s.ok() != report.problems.empty()) __builtin_trap();
  o.reads.push_back("verify " + std::to_string(static_cast<int>(s.code())) + " " +
                    std::to_string(report.versions) + " " + std::to_string(report.blobs));

  // Every cube id up to a few past the count, then the probes of the input.
  std::vector<Probe> all;
  for (uint64_t id = 0; id <= std::min<uint64_t>(stats.cubes + 1, 8); ++id) {
    all.push_back({static_cast<uint8_t>(id), static_cast<uint8_t>(id)});
  }
  all.insert(all.end(), probes.begin(), probes.end());
  for (const Probe& p : all) {
    loci::ReadOptions ro;
    if (p.time & 0x40) ro.as_of = PickTime(p.time, stats);
    if (p.time & 0x80) ro.valid_at = PickTime(p.time >> 3, stats);
    loci::MemCube cube;
    s = db->Get(ro, p.id, &cube);
    if (!AllowedRead(s)) __builtin_trap();
    o.reads.push_back("get " + std::to_string(static_cast<int>(s.code())) +
                      (s.ok() ? " " + Describe(cube) : ""));
    std::vector<loci::MemCube> history;
    s = db->History(ro.as_of ? ro : loci::ReadOptions(), p.id, &history);
    if (!AllowedRead(s)) __builtin_trap();
    std::string line = "history " + std::to_string(static_cast<int>(s.code()));
    // (On failure the vector's contents are unspecified.)
    for (size_t i = 0; s.ok() && i < history.size(); ++i) {
      if (!ro.as_of && history[i].version != i + 1) __builtin_trap();
      line += " " + Describe(history[i]);
    }
    o.reads.push_back(line);
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  CheckSuperblockSeed();
  loci::fuzz::FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool reseal = flags & 0x20;
  const bool link = flags & 0x40;

  struct File {
    std::string name;
    std::string bytes;
  };
  std::vector<File> files;
  files.push_back({"SUPERBLOCK", std::string(in.LengthPrefixed())});
  if (reseal) {
    ResealSuperblockSlot(&files.back().bytes, 0);
    ResealSuperblockSlot(&files.back().bytes, loci::engine::kSuperblockSlotSize);
  }
  uint64_t chain = 0;
  for (int i = 0; i < (flags & 3); ++i) {
    const uint32_t n = in.U32();
    files.push_back({loci::WalSegmentFileName(n), std::string(in.LengthPrefixed())});
    if (reseal) ResealSegment(&files.back().bytes, link, &chain);
  }
  if (flags & 4) {
    const uint32_t n = in.U32();
    files.push_back({loci::ArenaGenerationFileName(n), std::string(in.LengthPrefixed())});
  }
  for (const uint8_t bit : {0x08, 0x80}) {
    if ((flags & bit) == 0) continue;
    const uint32_t n = in.U32();
    files.push_back({loci::CheckpointFileName(n), std::string(in.LengthPrefixed())});
  }
  std::vector<Probe> probes;
  while (probes.size() < kMaxProbes && in.remaining() >= 2) {
    const uint8_t id = in.U8();
    probes.push_back({id, in.U8()});
  }

  std::unique_ptr<loci::Env> env = loci::NewMemEnv();
  if (!env->CreateDir(kDir).ok()) __builtin_trap();
  for (const File& f : files) {
    std::unique_ptr<loci::WritableFile> w;
    // Two entries with the same name: the later one wins, as a later write would.
    if (!env->NewWritableFile(std::string(kDir) + "/" + f.name, loci::Env::OpenMode::kCreateOrOpen,
                              &w)
             .ok() ||
        !w->Truncate(0).ok() || (!f.bytes.empty() && !w->Write(0, f.bytes).ok())) {
      __builtin_trap();
    }
  }

  loci::Options options;
  options.env = env.get();
  options.read_only = true;
  options.recovery_mode =
      (flags & 0x10) ? loci::RecoveryMode::kPointInTime : loci::RecoveryMode::kStrictTail;
  // Generation files here are at most the input's size; a small reservation is plenty.
  options.arena_generation_bytes = 8 << 20;
  const Observation first = Recover(options, probes);
  const Observation second = Recover(options, probes);
  if (!(first == second)) __builtin_trap();
  return 0;
}
