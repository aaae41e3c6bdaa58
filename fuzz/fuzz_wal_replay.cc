// libFuzzer target: recovery over arbitrary database directory images. The input is split into
// a SUPERBLOCK, 0-3 WAL segments and optionally an arena generation and checkpoint files,
// written into a fresh in-memory Env; then Db::Open runs read-only, and if it opens, Verify and a
// few Get / History calls. Checks:
//  - Open returns OK, NotFound, Corruption, NotSupported or InvalidArgument; never crashes,
//    never reads out of bounds, never allocates without bound (-malloc_limit_mb in the smoke
//    test); Verify returns OK or Corruption (with problems iff Corruption); reads return OK,
//    NotFound, Corruption or InvalidArgument; a full History is versions 1..n in order (or,
//    in a database with kVersionGapsFlag, increasing versions);
//  - recovery is idempotent: a second Open gives the same status code and, if it opened, the
//    same Stats (versions, cubes, last_lsn, checkpoint_lsn, clock) and the same read results.
//
// Input: a database image (fuzz/db_image.h), whose flag bit 4 selects
// RecoveryMode::kPointInTime; then probes: (id:u8, time choice:u8) pairs, at most 8.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/superblock.h"
#include "fuzz/db_image.h"
#include "fuzz/fuzz_input.h"
#include "loci/db.h"
#include "loci/env.h"

namespace {

using loci::Status;

constexpr char kDir[] = "/db";
constexpr size_t kMaxProbes = 8;

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

// Whether a copy of the image's SUPERBLOCK sets kVersionGapsFlag: then a cube's versions need
// only increase (recovery may use either copy).
bool MayHaveVersionGaps(const loci::fuzz::DbImage& image) {
  const std::string& file = image.files.front().bytes;
  for (size_t start : {size_t{0}, loci::engine::kSuperblockSlotSize}) {
    loci::engine::Superblock sb;
    std::string_view slot = start < file.size() ? std::string_view(file).substr(start) : "";
    if (loci::engine::DecodeSuperblockSlot(slot.substr(0, loci::engine::kSuperblockSlotSize), &sb)
            .ok() &&
        (sb.flags & loci::engine::kVersionGapsFlag) != 0) {
      return true;
    }
  }
  return false;
}

// `gaps`: a superblock copy allows version gaps (kVersionGapsFlag, a salvaged database).
Observation Recover(const loci::Options& options, const std::vector<Probe>& probes, bool gaps) {
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
      if (!ro.as_of && !gaps && history[i].version != i + 1) __builtin_trap();
      if (i > 0 && history[i].version <= history[i - 1].version) __builtin_trap();
      line += " " + Describe(history[i]);
    }
    o.reads.push_back(line);
  }
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loci::fuzz::FuzzInput in(data, size);
  const loci::fuzz::DbImage image = loci::fuzz::ReadDbImage(&in);
  std::vector<Probe> probes;
  while (probes.size() < kMaxProbes && in.remaining() >= 2) {
    const uint8_t id = in.U8();
    probes.push_back({id, in.U8()});
  }

  std::unique_ptr<loci::Env> env = loci::NewMemEnv();
  loci::fuzz::WriteDbImage(image, env.get(), kDir);

  loci::Options options;
  options.env = env.get();
  options.read_only = true;
  options.recovery_mode =
      (image.flags & 0x10) ? loci::RecoveryMode::kPointInTime : loci::RecoveryMode::kStrictTail;
  // Generation files here are at most the input's size; a small reservation is plenty.
  options.arena_generation_bytes = 8 << 20;
  const bool gaps = MayHaveVersionGaps(image);
  const Observation first = Recover(options, probes, gaps);
  const Observation second = Recover(options, probes, gaps);
  if (!(first == second)) __builtin_trap();
  return 0;
}
