// Salvage's reading of a source directory: which files to read, in what order, and what is
// missing. Only reads: nothing in the directory is created, written, truncated or renamed.

#include <algorithm>
#include <map>

#include "blob/format.h"
#include "common/file_names.h"
#include "engine/checkpoint.h"
#include "engine/salvage_scan.h"
#include "engine/salvage_scan_util.h"
#include "wal/format.h"

namespace loci::engine {

namespace {

using salvage_scan::Damage;

// The largest file salvage reads whole: a full WAL segment plus one maximal record (as replay
// bounds it), so that garbage cannot make it allocate without bound. Checkpoints may be
// larger; those are read as recovery reads them, whole.
constexpr uint64_t kMaxSegmentFileBytes = (4ull << 30) + wal::kMaxRecordPayload;

// The database files of a directory, by kind and number (ascending).
struct Listing {
  bool superblock = false;
  std::vector<uint64_t> checkpoints;
  std::vector<uint64_t> segments;
  std::vector<uint32_t> generations;
  bool empty() const { return !superblock && checkpoints.empty() && segments.empty(); }
};

Status ListDatabase(Env* env, const std::string& dir, Listing* listing) {
  std::vector<std::string> names;
  Status s = env->GetChildren(dir, &names);
  if (s.IsNotFound()) return Status::NotFound(dir + ": no such directory");
  LOCI_RETURN_IF_ERROR(s);
  for (const std::string& name : names) {
    uint64_t n;
    uint32_t g;
    if (name == kSuperblockFileName) {
      listing->superblock = true;
    } else if (ParseCheckpointFileName(name, &n)) {
      listing->checkpoints.push_back(n);
    } else if (ParseWalSegmentFileName(name, &n)) {
      listing->segments.push_back(n);
    } else if (ParseArenaGenerationFileName(name, &g)) {
      listing->generations.push_back(g);
    }
  }
  std::sort(listing->checkpoints.begin(), listing->checkpoints.end());
  std::sort(listing->segments.begin(), listing->segments.end());
  std::sort(listing->generations.begin(), listing->generations.end());
  return Status::OK();
}

// Reads up to `max_bytes` of `path` into *image. A file that cannot be read, or is larger
// than `whole_limit`, is a loss, added to *losses if not null (false).
bool ReadFileImage(Env* env, const std::string& path, uint64_t max_bytes, uint64_t whole_limit,
                   std::string* image, std::vector<SalvageLoss>* losses) {
  std::unique_ptr<RandomAccessFile> file;
  Status s = env->NewRandomAccessFile(path, &file);
  uint64_t size = 0;
  if (s.ok()) {
    Result<uint64_t> got = file->Size();
    s = got.status();
    if (got.ok()) size = *got;
  }
  if (s.ok() && size > whole_limit) {
    s = Status::Corruption("file of " + std::to_string(size) + " bytes, larger than any such file");
  }
  if (s.ok()) s = file->Read(0, std::min(size, max_bytes), image);
  if (s.ok()) return true;
  if (losses != nullptr) {
    losses->push_back(
        Damage(path, 0, size, "cannot be read: " + salvage_scan::WithoutFile(s.message(), path)));
  }
  return false;
}

// Without a valid superblock copy: the identity most file headers carry, so files of another
// database found in the directory are still told apart. (A file unreadable here is read, and
// reported, again by the scans.)
void VoteUuid(Env* env, const DbPaths& paths, const Listing& listing, SourceFinds* finds) {
  std::map<DbUuid, int> votes;
  std::string block;
  for (uint64_t n : listing.segments) {
    wal::SegmentHeader h;
    const std::string path = paths.wal_segment(n);
    if (ReadFileImage(env, path, wal::kSegmentHeaderBlock, UINT64_MAX, &block, nullptr) &&
        wal::DecodeSegmentHeader(block, path, &h).ok()) {
      ++votes[h.db_uuid];
    }
  }
  for (uint64_t n : listing.checkpoints) {
    CheckpointHeader h;
    if (ReadFileImage(env, paths.checkpoint(n), CheckpointEntriesOffset(), UINT64_MAX, &block,
                      nullptr) &&
        DecodeCheckpointHeader(block, &h).ok()) {
      ++votes[h.db_uuid];
    }
  }
  for (uint32_t g : listing.generations) {
    DbUuid uuid;
    uint32_t number;
    const std::string path = paths.arena_generation(g);
    if (ReadFileImage(env, path, blob::kGenerationHeaderBlock, UINT64_MAX, &block, nullptr) &&
        blob::DecodeGenerationHeader(block, path, &uuid, &number).ok()) {
      ++votes[uuid];
    }
  }
  auto best = std::max_element(votes.begin(), votes.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  if (best != votes.end()) finds->uuid = best->first;
}

// Files the superblock names that are not there.
void ReportMissing(const DbPaths& paths, const Listing& listing, SourceFinds* finds) {
  const Superblock& sb = *finds->superblock;
  for (const CheckpointFile& c : sb.checkpoints) {
    if (!std::binary_search(listing.checkpoints.begin(), listing.checkpoints.end(),
                            c.file_number)) {
      finds->losses.push_back(Damage(paths.checkpoint(c.file_number), 0, c.bytes,
                                     "checkpoint file named by the superblock is missing"));
    }
  }
  // Live segments run from the superblock's first one to the last present, without gaps.
  uint64_t expected = sb.wal_first_segment;
  for (uint64_t n : listing.segments) {
    if (n < expected) continue;
    if (n > expected) {
      finds->losses.push_back(Damage(paths.wal_segment(expected), 0, 0,
                                     n == expected + 1 ? "WAL segment missing (a later one exists)"
                                                       : "WAL segments missing, up to " +
                                                             WalSegmentFileName(n - 1) +
                                                             " (a later one exists)"));
    }
    expected = n + 1;
  }
  if (expected == sb.wal_first_segment) {
    finds->losses.push_back(Damage(paths.wal_segment(expected), 0, 0,
                                   "WAL segment named by the superblock is missing"));
  }
}

}  // namespace

Status GatherSource(Env* env, const std::string& dir, SourceFinds* finds) {
  Listing listing;
  LOCI_RETURN_IF_ERROR(ListDatabase(env, dir, &listing));
  if (listing.empty()) {
    return Status::NotFound(dir +
                            ": no Loci database here (no SUPERBLOCK, WAL segment or checkpoint)");
  }
  const DbPaths paths(dir);
  std::string image;
  if (listing.superblock && ReadFileImage(env, paths.superblock(), 2 * kSuperblockSlotSize,
                                          UINT64_MAX, &image, &finds->losses)) {
    LOCI_RETURN_IF_ERROR(ScanSuperblockImage(image, paths.superblock(), finds));
  }
  if (!listing.superblock) {
    finds->notes.push_back(paths.superblock() + ": missing; the files were read by their names");
  }
  if (finds->superblock) {
    ReportMissing(paths, listing, finds);
  } else {
    VoteUuid(env, paths, listing, finds);
  }
  // Every checkpoint file, named or not: what a file no superblock names holds was committed
  // too (it was being written, or was about to be deleted), and versions never change.
  for (uint64_t n : listing.checkpoints) {
    const std::string path = paths.checkpoint(n);
    if (ReadFileImage(env, path, UINT64_MAX, UINT64_MAX, &image, &finds->losses)) {
      ScanCheckpointImage(image, n, path, finds);
    }
  }
  // Every segment present, not only those the superblock names as live.
  for (uint64_t n : listing.segments) {
    const std::string path = paths.wal_segment(n);
    if (ReadFileImage(env, path, kMaxSegmentFileBytes, kMaxSegmentFileBytes, &image,
                      &finds->losses)) {
      ScanWalSegmentImage(image, n, path, finds);
    }
  }
  return Status::OK();
}

}  // namespace loci::engine
