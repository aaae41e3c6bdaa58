// Writing a salvaged database: arena, base checkpoint, empty WAL, superblock.

#include "engine/salvage_writer.h"

#include <algorithm>

#include "common/hash.h"
#include "engine/checkpoint.h"
#include "engine/superblock.h"
#include "wal/log_writer.h"

namespace loci::engine {

namespace {
// The one checkpoint file; the next checkpoint takes the number after it.
constexpr uint64_t kCheckpointFileNumber = 1;
}  // namespace

Status CheckSalvageTarget(Env* env, const std::string& dir) {
  if (!env->FileExists(dir)) return Status::OK();
  std::vector<std::string> names;
  Status s = env->GetChildren(dir, &names);
  if (!s.ok()) {
    return Status::InvalidArgument(
        dir + ": exists and is not a directory salvage can write into (" + s.message() + ")");
  }
  if (!names.empty()) {
    return Status::InvalidArgument(dir +
                                   ": not empty; salvage writes into a new or empty directory, "
                                   "never over anything");
  }
  return Status::OK();
}

SalvageWriter::SalvageWriter(Env* env, const Options& options, std::string dir)
    : env_(env), options_(options), paths_(std::move(dir)) {
  RandomBytes(uuid_.data(), uuid_.size());
}

SalvageWriter::~SalvageWriter() = default;

Status SalvageWriter::Create() {
  LOCI_RETURN_IF_ERROR(CheckSalvageTarget(env_, paths_.dir()));
  LOCI_RETURN_IF_ERROR(env_->CreateDir(paths_.dir()));
  blob::ArenaOptions arena_options;
  arena_options.db_uuid = uuid_;
  arena_options.generation_bytes = options_.arena_generation_bytes;
  // Every blob is synced once at the end: zeros ahead of the appends would save nothing.
  arena_options.preallocate_bytes = 0;
  arena_options.preallocate_inline = true;
  arena_ = std::make_unique<blob::BlobArena>(env_, paths_.dir(), arena_options);
  return arena_->Open();
}

Status SalvageWriter::Finish(const Catalog& catalog, const std::vector<const Version*>& versions,
                             const std::vector<const index::EdgeVersion*>& edges,
                             const SalvageRoot& root) {
  // Blobs first, then the checkpoint that refers to them.
  LOCI_RETURN_IF_ERROR(arena_->SyncAll());
  arena_.reset();
  uint64_t checkpoint_bytes = 0;
  LOCI_RETURN_IF_ERROR(WriteCheckpoint(catalog, versions, edges, root, &checkpoint_bytes));
  // The WAL continues the checkpoint, as after any checkpoint: the first record it will hold
  // has the LSN after the last the checkpoint covers and chains to the superblock's checksum.
  wal::LogWriterOptions log_options;
  log_options.db_uuid = uuid_;
  log_options.segment_bytes = options_.wal_segment_bytes;
  log_options.preallocate_bytes = std::min<uint64_t>(1ull << 20, options_.wal_segment_bytes);
  log_options.preallocate_inline = options_.deterministic_io;
  std::unique_ptr<IoQueue> io = env_->NewIoQueue();
  {
    wal::LogWriter log(env_, paths_.dir(), log_options, io.get());
    LOCI_RETURN_IF_ERROR(log.StartSegment(1, root.last_lsn + 1, /*prev_checksum=*/0));
  }
  LOCI_RETURN_IF_ERROR(env_->SyncDir(paths_.dir()));
  return WriteSuperblock(root, checkpoint_bytes);
}

Status SalvageWriter::WriteCheckpoint(const Catalog& catalog,
                                      const std::vector<const Version*>& versions,
                                      const std::vector<const index::EdgeVersion*>& edges,
                                      const SalvageRoot& root, uint64_t* bytes) {
  CheckpointWriter writer(env_, paths_.checkpoint(kCheckpointFileNumber), uuid_,
                          kCheckpointFileNumber, root.last_lsn);
  LOCI_RETURN_IF_ERROR(writer.Open(catalog));
  for (const Version* v : versions) writer.AddVersion(*v);
  for (const index::EdgeVersion* e : edges) writer.AddEdge(*e);
  return writer.Finish(root.next_cube_id, root.clock_high_water, bytes);
}

Status SalvageWriter::WriteSuperblock(const SalvageRoot& root, uint64_t checkpoint_bytes) {
  Superblock sb;
  sb.db_uuid = uuid_;
  sb.created = root.created;
  sb.checkpoint_lsn = root.last_lsn;
  sb.checkpoint_checksum = 0;
  sb.wal_first_segment = 1;
  sb.next_file_number = kCheckpointFileNumber + 1;
  sb.clock_high_water = root.clock_high_water;
  sb.next_cube_id = root.next_cube_id;
  sb.cube_id_limit = root.cube_id_limit;
  sb.checkpoints = {CheckpointFile{kCheckpointFileNumber, checkpoint_bytes}};
  sb.flags = root.flags;
  return CreateSuperblockFile(env_, paths_, sb);  // as a new database's
}

}  // namespace loci::engine
