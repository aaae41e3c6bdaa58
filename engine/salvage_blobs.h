// Salvage's blobs: reading them out of the source's arena generation files, verified, and
// copying them into the new database's arena.
//
// A version is copied only with every blob it refers to (payload and vectors): a version with
// a payload or vector that does not verify would be wrong data, and a version without them
// would not be the version that was committed. A frame is verified against the reference
// (length, generation and checksum, which is seeded with the generation and offset), so the
// generation file's header is not needed: its damage costs nothing.

#ifndef LOCI_ENGINE_SALVAGE_BLOBS_H_
#define LOCI_ENGINE_SALVAGE_BLOBS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "blob/arena.h"
#include "blob/format.h"
#include "common/file_names.h"
#include "loci/env.h"
#include "loci/salvage.h"
#include "loci/status.h"
#include "query/version.h"

namespace loci::engine {

// A blob's identity: generation, offset, length and checksum.
using BlobKey = std::tuple<uint32_t, uint64_t, uint32_t, uint64_t>;
inline BlobKey KeyOfBlob(const blob::BlobRef& ref) {
  return {ref.generation, ref.offset, ref.length, ref.checksum};
}

// The arena generation files of a source directory, read-only.
class SourceArena {
 public:
  SourceArena(Env* env, std::string dir);
  ~SourceArena();

  // Adds a copy of blob `ref` that verified inside a WAL batch (its bytes hash to
  // ref.checksum). Read falls back to it when the arena's frame does not verify.
  void AddLoggedCopy(const blob::BlobRef& ref, std::string bytes);

  // Reads the payload of blob `ref` into *payload if its frame verifies, or else if a logged
  // copy of it was added. Otherwise returns what is wrong with the frame (Corruption, or
  // NotFound / IOError for a missing or unreadable file), without the file's name, which
  // file(ref) gives. Reads nothing beyond the file's end.
  Status Read(const blob::BlobRef& ref, std::string* payload);
  // Whether Read took blob `key` from its logged copy.
  bool ReadFromLog(const BlobKey& key) const { return read_from_log_.count(key) != 0; }

  std::string file(const blob::BlobRef& ref) const {
    return paths_.arena_generation(ref.generation);
  }

 private:
  struct Generation {
    Status status;  // why it cannot be read, if it cannot
    std::unique_ptr<RandomAccessFile> file;
    uint64_t size = 0;
  };
  Generation* Open(uint32_t generation);
  Status ReadFrame(const blob::BlobRef& ref, std::string* payload);

  Env* const env_;
  const DbPaths paths_;
  std::map<uint32_t, Generation> generations_;
  std::map<BlobKey, std::string> logged_;
  std::set<BlobKey> read_from_log_;
};

// Copies the blobs of the versions salvage keeps into the new arena, each blob once however
// many versions share it.
class BlobCopier {
 public:
  // `source` and `dest` must outlive the copier.
  BlobCopier(SourceArena* source, blob::BlobArena* dest);

  // Copies every blob `v` refers to and points v's references at the copies (*copied true).
  // If one of them does not verify, copies none, leaves v as it was, adds v to that blob's
  // loss and sets *copied false. Errors: writing to the new arena failed.
  Status Copy(Version* v, bool* copied);

  // One loss per blob that did not verify, naming the versions it cost.
  std::vector<SalvageLoss> TakeLosses() { return std::move(losses_); }
  uint64_t blobs() const { return blobs_; }
  // Of those, the blobs copied from their WAL copies (the arena's did not verify).
  uint64_t blobs_from_log() const { return blobs_from_log_; }
  uint64_t blob_bytes() const { return blob_bytes_; }

 private:
  struct Outcome {
    bool ok = false;
    blob::BlobRef copy;  // if ok
    size_t loss = 0;     // index in losses_ if not
  };
  // Reads and verifies the blobs of `refs` not copied yet into *pending (key, payload);
  // false if one of them, or one that failed before, does not verify (v is then in its loss).
  bool ReadNew(const Version& v, const std::vector<const blob::BlobRef*>& refs,
               std::vector<std::pair<BlobKey, std::string>>* pending);
  void NoteLost(size_t loss, const Version& v);

  SourceArena* const source_;
  blob::BlobArena* const dest_;
  std::map<BlobKey, Outcome> done_;
  std::vector<SalvageLoss> losses_;
  uint64_t blobs_ = 0;
  uint64_t blobs_from_log_ = 0;
  uint64_t blob_bytes_ = 0;
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_SALVAGE_BLOBS_H_
