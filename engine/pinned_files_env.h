// PinnedFilesEnv: an Env through which files opened early stay readable after a writer deletes
// them.
//
// A read-only open takes no lock, so a live writer's checkpoint may delete the WAL segments and
// checkpoint files named by the superblock the open read, while the open is still loading them
// (loading a checkpoint and replaying the WAL take the whole recovery). Pinning every one of
// them right after reading the superblock shrinks that race to the time a directory listing
// and a few opens take: a deleted file stays readable through a descriptor opened before. The
// listing is frozen too, so the recovery reads the WAL segments that existed then and no
// later one, which the writer may create and a later checkpoint delete while it reads: what
// it reads is the database as it was when the files were pinned (the last segment possibly
// grown since, which replay handles as for any live tail). A race lost even in that window is
// retried by Db::Open.
//
// Everything else goes to the target Env unchanged. Not thread-safe: one recovery uses it.

#ifndef LOCI_ENGINE_PINNED_FILES_ENV_H_
#define LOCI_ENGINE_PINNED_FILES_ENV_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "loci/env.h"
#include "loci/status.h"

namespace loci::engine {

class PinnedFilesEnv : public EnvWrapper {
 public:
  // `target` must outlive this Env.
  explicit PinnedFilesEnv(Env* target) : EnvWrapper(target) {}

  // Opens `path` now, for reading. Later NewRandomAccessFile(path) reads through that
  // descriptor, whether or not the file still exists.
  // Errors: as the target's NewRandomAccessFile (NotFound if it is already gone).
  Status Pin(const std::string& path);

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override;
  // The names of the files pinned in `dir`, whatever the directory holds now.
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override;

 private:
  std::map<std::string, std::shared_ptr<RandomAccessFile>> pinned_;  // by path
};

}  // namespace loci::engine

#endif  // LOCI_ENGINE_PINNED_FILES_ENV_H_
