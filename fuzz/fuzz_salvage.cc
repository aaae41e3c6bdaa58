// libFuzzer target: Db::Salvage over arbitrary database directory images. Salvage's scanners
// read whatever bytes they are given, past damage, so every input must leave them bounded.
// Checks:
//  - Salvage returns OK, NotFound, NotSupported or Corruption (only when nothing could be
//    read: never a copy that fails its own verification); never crashes, never reads out of
//    bounds, never allocates without bound (-malloc_limit_mb in the smoke test), never hangs
//    (the smoke test's -timeout);
//  - the source is never modified: its files are byte for byte what they were;
//  - when it succeeds, the copy opens read-only and Verify finds nothing, it holds the
//    versions the report counts, and each cube's versions increase; and every version a strict
//    recovery of the source reads (when that succeeds and verifies) is in the copy, identical
//    (tx_to aside), or named for certain by a loss;
//  - salvage is deterministic: a second run reports the same.
//
// Input: a database image (fuzz/db_image.h; flag bit 4 unused), the rest ignored.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fuzz/db_image.h"
#include "fuzz/fuzz_input.h"
#include "loci/db.h"
#include "loci/env.h"

namespace {

using loci::Status;

constexpr char kSrc[] = "/db";
// Ids whose versions are compared between the source and the copy (forged ids may be huge).
constexpr loci::CubeId kComparedIds = 64;

// Corruption only when nothing at all could be read: any other is a copy that does not verify,
// which salvage reports rather than hands over, and which is a bug in salvage.
bool Allowed(const Status& s) {
  return s.ok() || s.IsNotFound() || s.IsNotSupported() ||
         (s.IsCorruption() && s.message().find("nothing in it could be read") != std::string::npos);
}

std::string Describe(const loci::MemCube& c) {
  std::string out = std::to_string(c.id) + "v" + std::to_string(c.version) + " " + c.space + " [" +
                    std::to_string(c.valid_from) + "," + std::to_string(c.valid_to) + ") tx " +
                    std::to_string(c.tx_from) + " " + c.payload + " " + c.source + " " + c.agent +
                    " " + std::to_string(c.state == loci::CubeState::kRetired);
  for (const loci::NamedVector& v : c.vectors) {
    out += " " + v.field + ":" + std::to_string(v.values.size());
  }
  return out;
}

std::string ReportLine(const loci::SalvageReport& r) {
  std::string line = std::to_string(r.spaces) + " " + std::to_string(r.cubes) + " " +
                     std::to_string(r.versions) + " " + std::to_string(r.blobs) + " " +
                     std::to_string(r.version_gaps);
  for (const loci::SalvageLoss& loss : r.losses) {
    line += "|" + loss.file + "@" + std::to_string(loss.offset) + "+" +
            std::to_string(loss.length) + " " + loss.what;
    for (const loci::LostVersion& v : loss.versions) {
      line += " " + std::to_string(v.id) + "v" + std::to_string(v.version) + (v.certain ? "" : "?");
    }
  }
  for (const std::string& note : r.notes) line += "|" + note;
  return line;
}

std::map<std::string, std::string> Files(loci::Env* env, const std::string& dir) {
  std::map<std::string, std::string> files;
  std::vector<std::string> names;
  if (!env->GetChildren(dir, &names).ok()) __builtin_trap();
  for (const std::string& name : names) {
    std::unique_ptr<loci::RandomAccessFile> f;
    std::string bytes;
    if (!env->NewRandomAccessFile(dir + "/" + name, &f).ok() ||
        !f->Read(0, *f->Size(), &bytes).ok()) {
      __builtin_trap();
    }
    files[name] = std::move(bytes);
  }
  return files;
}

// Every version of the ids compared, by "id v number", described.
std::map<std::string, std::string> Versions(loci::Db* db) {
  std::map<std::string, std::string> all;
  for (loci::CubeId id = 1; id <= kComparedIds; ++id) {
    std::vector<loci::MemCube> history;
    if (!db->History(loci::ReadOptions(), id, &history).ok()) continue;
    for (size_t i = 0; i < history.size(); ++i) {
      if (i > 0 && history[i].version <= history[i - 1].version) __builtin_trap();
      all[std::to_string(id) + "v" + std::to_string(history[i].version)] = Describe(history[i]);
    }
  }
  return all;
}

// The versions of the source a strict read-only recovery reads, if it succeeds and verifies.
std::optional<std::map<std::string, std::string>> StrictVersions(const loci::Options& options) {
  loci::Options strict = options;
  strict.read_only = true;
  std::unique_ptr<loci::Db> db;
  loci::IntegrityReport report;
  if (!loci::Db::Open(strict, kSrc, &db).ok() || !db->Verify(&report).ok()) return std::nullopt;
  return Versions(db.get());
}

bool NamedForCertain(const loci::SalvageReport& r, const std::string& key) {
  for (const loci::SalvageLoss& loss : r.losses) {
    for (const loci::LostVersion& v : loss.versions) {
      if (v.certain && std::to_string(v.id) + "v" + std::to_string(v.version) == key) return true;
    }
  }
  return false;
}

// Opens the copy and checks it against the report and the source's strict recovery.
void CheckCopy(const loci::Options& options, const std::string& dst,
               const loci::SalvageReport& report,
               const std::optional<std::map<std::string, std::string>>& strict) {
  loci::Options read_only = options;
  read_only.read_only = true;
  std::unique_ptr<loci::Db> db;
  loci::IntegrityReport integrity;
  if (!loci::Db::Open(read_only, dst, &db).ok() || !db->Verify(&integrity).ok() ||
      db->Stats().versions != report.versions || db->Stats().cubes != report.cubes) {
    __builtin_trap();
  }
  if (!strict) return;
  const std::map<std::string, std::string> copied = Versions(db.get());
  for (const auto& [key, text] : *strict) {
    auto it = copied.find(key);
    if (it == copied.end() ? !NamedForCertain(report, key) : it->second != text) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loci::fuzz::FuzzInput in(data, size);
  const loci::fuzz::DbImage image = loci::fuzz::ReadDbImage(&in);
  std::unique_ptr<loci::Env> env = loci::NewMemEnv();
  loci::fuzz::WriteDbImage(image, env.get(), kSrc);
  const std::map<std::string, std::string> before = Files(env.get(), kSrc);

  loci::Options options;
  options.env = env.get();
  // Generation files here are at most the input's size; a small reservation is plenty.
  options.arena_generation_bytes = 8 << 20;
  options.wal_segment_bytes = 64 << 10;
  loci::SalvageReport first, second;
  const Status s = loci::Db::Salvage(options, kSrc, "/copy", &first);
  if (!Allowed(s) || Files(env.get(), kSrc) != before) __builtin_trap();
  if (!s.ok()) return 0;
  CheckCopy(options, "/copy", first, StrictVersions(options));
  if (!loci::Db::Salvage(options, kSrc, "/again", &second).ok() ||
      ReportLine(first) != ReportLine(second)) {
    __builtin_trap();
  }
  return 0;
}
