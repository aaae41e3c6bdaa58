// Opening a database: locking, creation, recovery (superblock -> checkpoint -> WAL replay),
// and closing it.

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "common/coding.h"
#include "common/hash.h"
#include "engine/checkpoint.h"
#include "engine/db_impl.h"
#include "engine/record_codec.h"
#include "index/partition_snapshot.h"
#include "wal/format.h"

namespace loci {

namespace {

// A read-only open takes no lock, so the writer may change the files while it reads them: a
// checkpoint deletes the WAL segments and checkpoint file the superblock it read named, a
// group's records land behind a pipelined one's, an arena generation appears. What the open
// read is then inconsistent rather than damaged, and reading again from the superblock gives
// a consistent state. Damage that is really there persists: after these attempts it is
// reported as it is.
constexpr int kLiveOpenAttempts = 6;
constexpr auto kFirstLiveRetryPause = std::chrono::milliseconds(1);

// Whether `s`, the failure of a read-only open, may come from reading files a writer was
// changing. A directory without a database is not such a race.
bool MayBeRacingAWriter(const Options& options, const std::string& path, const Status& s) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  return (s.IsCorruption() || s.IsNotFound()) &&
         env->FileExists(JoinPath(path, kSuperblockFileName));
}

// `retried`: the failures of earlier attempts (noted in the opened database's Stats().recovery).
Status OpenOnce(const Options& options, const std::string& path, const std::vector<Status>& retried,
                std::unique_ptr<Db>* db) {
  auto impl = std::make_unique<engine::DbImpl>(options, path);
  LOCI_RETURN_IF_ERROR(impl->Open());
  if (!retried.empty()) {
    impl->AddRecoveryNote(
        "read the files " + std::to_string(retried.size() + 1) +
        " times while a writer changed them (first try: " + retried.front().ToString() + ")");
  }
  *db = std::move(impl);
  return Status::OK();
}

}  // namespace

Status Db::Open(const Options& options, const std::string& path, std::unique_ptr<Db>* db) {
  db->reset();
  if (path.empty()) return Status::InvalidArgument("database path is empty");
  std::vector<Status> failures;
  if (!options.read_only) return OpenOnce(options, path, failures, db);
  auto pause = kFirstLiveRetryPause;
  for (int attempt = 1;; ++attempt) {
    Status s = OpenOnce(options, path, failures, db);
    if (s.ok() || attempt == kLiveOpenAttempts || !MayBeRacingAWriter(options, path, s)) return s;
    failures.push_back(s);
    std::this_thread::sleep_for(pause);
    pause *= 3;
  }
}

namespace {

// The entries of `dir` a database owns besides SUPERBLOCK and LOCK.
Status ListDataFiles(Env* env, const std::string& dir, std::vector<std::string>* ours) {
  std::vector<std::string> names;
  Status listed = env->GetChildren(dir, &names);
  if (listed.IsNotFound()) return Status::NotFound(dir + ": no such directory");
  LOCI_RETURN_IF_ERROR(listed);
  ours->clear();
  for (const std::string& name : names) {
    if (IsDataFileName(name)) ours->push_back(name);
  }
  return Status::OK();
}

}  // namespace

Status DestroyDb(const std::string& path, Env* env) {
  if (env == nullptr) env = Env::Default();
  const DbPaths paths(path);
  std::vector<std::string> ours;
  // Checked before locking, so that a directory that holds no database gets no LOCK either.
  LOCI_RETURN_IF_ERROR(ListDataFiles(env, path, &ours));
  if (!env->FileExists(paths.superblock()) && ours.empty()) {
    return Status::NotFound(path + ": no Loci database (no SUPERBLOCK)");
  }
  std::unique_ptr<FileLock> lock;
  LOCI_RETURN_IF_ERROR(env->LockDir(path, &lock));
  // Listed again under the lock: a writer that held it until now may have added files.
  LOCI_RETURN_IF_ERROR(ListDataFiles(env, path, &ours));
  for (const std::string& name : ours) LOCI_RETURN_IF_ERROR(env->RemoveFile(paths.file(name)));
  // The superblock last: a crash before this leaves a database that still names its files (a
  // second DestroyDb finishes the job).
  if (env->FileExists(paths.superblock())) {
    LOCI_RETURN_IF_ERROR(env->RemoveFile(paths.superblock()));
  }
  // Only the holder's note: removing it does not unlock anything, and it may be missing.
  Status removed = env->RemoveFile(paths.lock());
  if (!removed.ok() && !removed.IsNotFound()) return removed;
  return env->SyncDir(path);
}

namespace engine {

namespace {

// Cube ids reserved at a time (see ReserveIds): at least this many, or a quarter of the ids
// assigned so far, so reservations cost O(log n) superblock writes, and a crash skips at most
// that many ids.
constexpr CubeId kMinIdReservation = 1024;
constexpr CubeId kMaxIdReservation = CubeId{1} << 20;

// Whether `path` is what an interrupted creation leaves: no more than a header block and the
// first WAL segment's tail guard, nothing but zeros after the header block. Anything else is
// someone's data.
Status HoldsOnlyAHeader(Env* env, const std::string& path, bool* only_a_header) {
  *only_a_header = false;
  uint64_t size = 0;
  LOCI_RETURN_IF_ERROR(env->GetFileSize(path, &size));
  if (size > wal::kSegmentHeaderBlock + wal::kTailGuard) return Status::OK();
  std::unique_ptr<RandomAccessFile> file;
  LOCI_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  std::string bytes;
  LOCI_RETURN_IF_ERROR(file->Read(0, size, &bytes));
  *only_a_header = bytes.size() <= wal::kSegmentHeaderBlock ||
                   bytes.find_first_not_of('\0', wal::kSegmentHeaderBlock) == std::string::npos;
  return Status::OK();
}

// Groups whose I/O may be in flight at once: concurrent fdatasyncs overlap on the devices we
// measured (4 chains in flight gave about twice the throughput of one).
constexpr int kGroupsInFlight = 4;

wal::LogWriterOptions LogOptions(const Options& o, const Superblock& sb) {
  wal::LogWriterOptions w;
  w.db_uuid = sb.db_uuid;
  w.segment_bytes = o.wal_segment_bytes;
  w.preallocate_bytes = std::min<uint64_t>(1ull << 20, o.wal_segment_bytes);
  w.preallocate_inline = o.deterministic_io;
  w.sync_alignment = o.wal_sync_alignment;
  return w;
}

// Options that would let a write through that recovery could not read back, or that cannot work.
Status CheckOptions(const Options& o) {
  auto invalid = [](const std::string& what) {
    return Status::InvalidArgument("Options: " + what);
  };
  if (o.recovery_mode == RecoveryMode::kPointInTime && !o.read_only) {
    return invalid("point-in-time recovery is only allowed read-only");
  }
  if (o.max_name_bytes == 0 || o.max_name_bytes > kMaxDecodedName) {
    return invalid("max_name_bytes must be 1.." + std::to_string(kMaxDecodedName));
  }
  if (o.max_text_field_bytes > kMaxDecodedText) {
    return invalid("max_text_field_bytes must be at most " + std::to_string(kMaxDecodedText));
  }
  if (o.max_vector_dim == 0 || o.max_vector_dim > kMaxDecodedDim) {
    return invalid("max_vector_dim must be 1.." + std::to_string(kMaxDecodedDim));
  }
  if (o.max_payload_bytes > blob::kMaxBlobLength) {
    return invalid("max_payload_bytes must be at most " + std::to_string(blob::kMaxBlobLength));
  }
  if (o.wal_segment_bytes < (16 << 10) || o.arena_generation_bytes < (16 << 10)) {
    return invalid("wal_segment_bytes and arena_generation_bytes must be at least 16 KiB");
  }
  if (o.max_group_bytes == 0) return invalid("max_group_bytes must be positive");
  if (!(o.arena_compaction_live_fraction >= 0 && o.arena_compaction_live_fraction <= 1)) {
    return invalid("arena_compaction_live_fraction must lie in [0, 1]");
  }
  if (!(o.checkpoint_wal_ratio >= 0 && o.checkpoint_wal_ratio <= 1e6)) {
    return invalid("checkpoint_wal_ratio must be a number from 0 to 1e6");
  }
  const uint64_t a = o.wal_sync_alignment;
  if (a != 0 && (a < 512 || a > 65536 || (a & (a - 1)) != 0)) {
    return invalid("wal_sync_alignment must be 0 or a power of two from 512 to 65536");
  }
  const VectorIndexOptions& v = o.vector_index;
  if (v.flat_limit == 0 || v.list_target == 0 || v.max_replicas == 0 || v.probes == 0 ||
      v.rerank == 0) {
    return invalid(
        "vector_index counts (flat_limit, list_target, max_replicas, probes, rerank) "
        "must be positive");
  }
  if (v.rerank > kMaxSearchRerank || v.probes > kMaxSearchProbes) {
    return invalid("vector_index.rerank must be at most " + std::to_string(kMaxSearchRerank) +
                   " and probes at most " + std::to_string(kMaxSearchProbes));
  }
  if (!(v.replica_slack >= 0 && v.replica_slack <= 100) ||
      !(v.probe_slack >= 0 && v.probe_slack <= 100)) {
    return invalid("vector_index slacks must be in [0, 100]");
  }
  if (v.page_bytes < 4096 || v.page_bytes > (64u << 20)) {
    return invalid("vector_index.page_bytes must be 4 KiB..64 MiB");
  }
  return Status::OK();
}

}  // namespace

DbImpl::DbImpl(const Options& options, std::string dir)
    : options_(options),
      env_(options.env != nullptr ? options.env : Env::Default()),
      paths_(std::move(dir)),
      commit_queue_(options.max_group_bytes),
      clock_(env_) {
  index::PartitionOptions index_options;
  const VectorIndexOptions& v = options.vector_index;
  index_options.flat_limit = v.flat_limit;
  index_options.list_target = v.list_target;
  index_options.page_bytes = v.page_bytes;
  index_options.max_replicas = v.max_replicas;
  index_options.replica_slack = v.replica_slack;
  index_options.probe_slack = v.probe_slack;
  atlas_ = std::make_unique<index::Atlas>(index_options, &epochs_);
}

DbImpl::~DbImpl() {
  StopIndexer();  // it writes the index, which points into the arena
  if (log_ && !poisoned_.load()) {
    // A clean close makes non-sync writes durable too, blobs before the records that refer to
    // them, then seals the log so the next open knows nothing was lost (ResumeIdAssignment).
    // Nothing to do on failure: the WAL is replayed at the next open.
    if (arena_->SyncUnsynced().ok()) {
      if ((sealed_at_open_.load() && log_->last_lsn() == lsn_at_open_) || log_->last_lsn() == 0) {
        // Still sealed, or an empty log: nothing to certify, and no id to remember.
        log_->Sync().PermitUncheckedError();
      } else {
        log_->Seal(EncodeSealPayload(next_id_)).PermitUncheckedError();
      }
    }
  }
  log_.reset();
  FreePurgedVersions();
  {
    // Versions a retention cut unlinked and no checkpoint recorded (it failed).
    MutexLock lock(&checkpoint_mu_);
    PurgedChains chains;
    chains.versions = std::move(unrecorded_cut_.chains);
    FreeChains(chains);
  }
  atlas_.reset();  // points into the arena's mapping
  arena_.reset();
  delete catalog_.load();
}

Status DbImpl::Open() {
  LOCI_RETURN_IF_ERROR(CheckOptions(options_));
  const std::string superblock_path = paths_.superblock();
  if (options_.create_if_missing && !options_.read_only) {
    LOCI_RETURN_IF_ERROR(env_->CreateDir(paths_.dir()));
  }
  if (!env_->FileExists(superblock_path) && (options_.read_only || !options_.create_if_missing)) {
    return Status::NotFound(paths_.dir() + ": no Loci database here (no SUPERBLOCK)");
  }
  // A read-only open takes no lock: it must neither wait for nor block a writer (design.md §2).
  if (!options_.read_only) LOCI_RETURN_IF_ERROR(env_->LockDir(paths_.dir(), &lock_));
  if (!env_->FileExists(superblock_path)) {
    LOCI_RETURN_IF_ERROR(CreateDatabase());
  } else if (options_.error_if_exists) {
    return Status::InvalidArgument(paths_.dir() + ": a database already exists");
  }
  LOCI_RETURN_IF_ERROR(Recover());
  // The log held a purge whose bytes a crash may have left on disk: erase them now. (A
  // read-only open reads the purge but leaves the erasure to the next read-write one.)
  if (options_.read_only) return Status::OK();
  LOCI_RETURN_IF_ERROR(CompletePurges());
  // Cubes that expired while the database was closed. Best effort: they read as missing
  // anyway, and a database on a full disk must still open to make room.
  Status reclaimed = ReclaimExpired();
  if (!reclaimed.ok()) {
    recovery_notes_ += (recovery_notes_.empty() ? "" : "; ") +
                       std::string("expired cubes not erased at open: ") + reclaimed.ToString();
  }
  return Status::OK();
}

Status DbImpl::CreateDatabase() {
  // Files of ours without a SUPERBLOCK can only be left by an interrupted creation, which never
  // wrote data; anything bigger than an empty file is someone's data, and we refuse to touch it.
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  std::vector<std::string> leftovers;
  for (const std::string& name : names) {
    if (!IsDataFileName(name)) continue;
    // A temporary superblock was never installed, so no database ever used these files.
    if (name != kSuperblockTempFileName) {
      bool only_a_header = false;
      LOCI_RETURN_IF_ERROR(HoldsOnlyAHeader(env_, paths_.file(name), &only_a_header));
      if (!only_a_header) {
        return Status::Corruption(paths_.file(name) +
                                  ": Loci data file in a directory without SUPERBLOCK; refusing "
                                  "to create a database over it");
      }
    }
    leftovers.push_back(name);
  }
  for (const std::string& name : leftovers) {
    LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.file(name)));
  }

  Superblock sb;
  RandomBytes(sb.db_uuid.data(), sb.db_uuid.size());
  sb.created = env_->NowMicros();
  sb.wal_first_segment = 1;
  std::unique_ptr<IoQueue> io = env_->NewIoQueue();
  wal::LogWriter log(env_, paths_.dir(), LogOptions(options_, sb), io.get());
  LOCI_RETURN_IF_ERROR(log.StartSegment(1, 1, 0));
  return CreateSuperblockFile(env_, paths_, sb);
}

Status DbImpl::Recover() {
  Superblock sb;
  std::string damaged_copy;
  // A read-only open holds no lock: it may catch a copy being rewritten, whole a moment later.
  LOCI_RETURN_IF_ERROR(ReadSuperblock(env_, paths_.superblock(), &sb, &damaged_copy,
                                      /*settle_reads=*/options_.read_only ? 3 : 0));
  if (!damaged_copy.empty()) {
    AddRecoveryNote("SUPERBLOCK " + damaged_copy + ": damaged, the other copy was used" +
                    (options_.read_only ? "" : " (the next checkpoint rewrites both)"));
  }
  // A read-only open reads what the superblock names through descriptors opened now, before a
  // live writer's next checkpoint can delete them.
  PinnedFilesEnv pinned(env_);
  if (options_.read_only) LOCI_RETURN_IF_ERROR(PinFilesNamedBy(sb, &pinned));
  Env* const recovery_env = options_.read_only ? &pinned : env_;
  db_uuid_ = sb.db_uuid;
  version_gaps_ = (sb.flags & kVersionGapsFlag) != 0;
  recovery_id_bound_ = sb.cube_id_limit + kMaxIdReservation;
  io_ = NewWalIoQueue();

  blob::ArenaOptions arena_options;
  arena_options.db_uuid = sb.db_uuid;
  arena_options.generation_bytes = options_.arena_generation_bytes;
  arena_options.preallocate_bytes = std::min<uint64_t>(2ull << 20, options_.arena_generation_bytes);
  arena_options.preallocate_inline = options_.deterministic_io;
  arena_options.read_only = options_.read_only;
  arena_options.logged_blob_bytes = options_.max_logged_blob_bytes;
  arena_ = std::make_unique<blob::BlobArena>(env_, paths_.dir(), arena_options);
  LOCI_RETURN_IF_ERROR(arena_->Open());

  {
    MutexLock lock(&superblock_mu_);
    superblock_ = sb;
    // A damaged copy is rewritten by the next checkpoint, even one with nothing new to write.
    superblock_damaged_ = !damaged_copy.empty();
  }
  recovery_catalog_ = std::make_unique<Catalog>();
  LOCI_RETURN_IF_ERROR(LoadCheckpoints(sb, recovery_env));
  clock_.Observe(sb.clock_high_water);
  if (sb.next_cube_id != next_id_) {
    return Status::Corruption(paths_.superblock() + ": next cube id " +
                              std::to_string(sb.next_cube_id) + ", the checkpoint says " +
                              std::to_string(next_id_));
  }

  wal::ReplayOptions replay_options;
  replay_options.first_segment_no = sb.wal_first_segment;
  replay_options.after_lsn = sb.checkpoint_lsn;
  replay_options.after_checksum = sb.checkpoint_checksum;
  replay_options.stop_at_damage = options_.recovery_mode == RecoveryMode::kPointInTime;
  replay_options.uncertified_ok = [this](wal::Lsn lsn, std::string_view payload) {
    return BlobsSurvived(lsn, payload);
  };
  wal::ReplayResult replay;
  LOCI_RETURN_IF_ERROR(wal::ReplayWal(
      recovery_env, paths_.dir(), sb.db_uuid, replay_options,
      [this](wal::Lsn lsn, std::string_view payload) { return ApplyLoggedBatch(lsn, payload); },
      &replay));

  // A read-only open may have replayed records a live writer appended after the arena was
  // mapped: map what the files hold now (blobs are written before the records naming them).
  arena_->ExtendMappings();
  catalog_.store(recovery_catalog_.release(), std::memory_order_release);
  published_ts_.store(clock_.high_water(), std::memory_order_release);
  last_lsn_.store(replay.last_lsn);
  checkpoint_lsn_.store(sb.checkpoint_lsn);
  checkpoint_files_.store(sb.checkpoints.size());
  wal_segments_.store(replay.live_segments.size());
  wal_bytes_.store(replay.live_bytes);
  if (replay.torn_tail) {
    AddRecoveryNote("torn WAL tail dropped at " + replay.torn_tail->file + " offset " +
                    std::to_string(replay.torn_tail->offset) + " (" + replay.torn_tail->reason +
                    ")");
  }
  if (replay.stopped_at) AddRecoveryNote("replay stopped at damage: " + *replay.stopped_at);
  if (const uint64_t n = arena_->restored_from_log(); n > 0) {
    AddRecoveryNote(std::to_string(n) + " blob(s) restored from their WAL copies (the arena's " +
                    "did not verify: not yet synced when a crash came, or damaged)" +
                    (options_.read_only ? "; read-only: held in memory" : ""));
  }
  ResumeIdAssignment(replay, sb);
  recovery_chain_starts_.clear();
  RebuildIndex(*LoadCatalog());
  if (options_.read_only) return Status::OK();
  {
    // The policies given to this open may prune what earlier opens kept: the first
    // checkpoint looks at every cube.
    MutexLock lock(&checkpoint_mu_);
    retention_full_scan_ = RetentionConfigured();
  }
  return PrepareForWrites(replay);
}

Status DbImpl::PinFilesNamedBy(const Superblock& sb, PinnedFilesEnv* pinned) {
  // A file already gone is left to the loading, which says what is missing.
  auto pin = [pinned](const std::string& path) {
    Status s = pinned->Pin(path);
    return s.IsNotFound() ? Status::OK() : s;
  };
  for (const CheckpointFile& file : sb.checkpoints) {
    LOCI_RETURN_IF_ERROR(pin(paths_.checkpoint(file.file_number)));
  }
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  for (const std::string& name : names) {
    uint64_t n;
    if (ParseWalSegmentFileName(name, &n) && n >= sb.wal_first_segment) {
      LOCI_RETURN_IF_ERROR(pin(paths_.file(name)));
    }
  }
  return Status::OK();
}

Status DbImpl::LoadCheckpoints(const Superblock& sb, Env* env) {
  uint64_t covered = 0;
  for (size_t i = 0; i < sb.checkpoints.size(); ++i) {
    const CheckpointFile& file = sb.checkpoints[i];
    CheckpointContents contents;
    CheckpointVisitor visitor;
    visitor.on_version = [&](std::unique_ptr<Version> v) {
      return ApplyRecoveredVersion(std::move(v), contents.catalog, nullptr);
    };
    visitor.on_edge = [&](std::unique_ptr<index::EdgeVersion> e) {
      return ApplyRecoveredEdge(std::move(e), contents.catalog, nullptr);
    };
    visitor.on_chain_start = [&](uint64_t id, uint32_t first) {
      return ApplyChainStart(id, first);
    };
    LOCI_RETURN_IF_ERROR(ReadCheckpoint(env, paths_.checkpoint(file.file_number), sb.db_uuid,
                                        file.file_number, file.bytes, visitor, &contents));
    if (contents.covers_lsn < covered) {
      return Status::Corruption(paths_.checkpoint(file.file_number) +
                                ": checkpoint chain out of order");
    }
    covered = contents.covers_lsn;
    clock_.Observe(contents.clock_high_water);
    // Ids may skip (ReserveIds), so the next id is the checkpoint's, but no cube may hold it.
    if (contents.next_cube_id < next_id_) {
      return Status::Corruption(paths_.checkpoint(file.file_number) +
                                ": says the next cube id is " +
                                std::to_string(contents.next_cube_id) + " but holds cubes up to " +
                                std::to_string(next_id_ - 1));
    }
    next_id_ = contents.next_cube_id;
    *recovery_catalog_ = std::move(contents.catalog);
    if (i == 0) {
      MutexLock lock(&checkpoint_mu_);
      checkpoint_base_bytes_ = file.bytes;
    }
  }
  if (covered != sb.checkpoint_lsn) {
    return Status::Corruption(paths_.dir() + ": checkpoint files cover LSN " +
                              std::to_string(covered) + ", the superblock says " +
                              std::to_string(sb.checkpoint_lsn));
  }
  return Status::OK();
}

Status DbImpl::ApplyRecoveredVersion(std::unique_ptr<Version> v, const Catalog& catalog,
                                     const Version** applied) {
  const SpaceDef* space = catalog.SpaceById(v->space_id);
  const std::string what =
      "cube " + std::to_string(v->id) + " version " + std::to_string(v->number);
  if (space == nullptr) return Status::Corruption(what + " belongs to an unknown space");
  for (const VectorRef& r : v->vectors) {
    const FieldDef* field = space->FieldById(r.field_id);
    if (field == nullptr) return Status::Corruption(what + " has a vector of an unknown field");
    // Versions logged or checkpointed after a drop never keep the dropped field's vectors.
    if (field->dropped) {
      return Status::Corruption(what + " has a vector of dropped field '" + field->name + "'");
    }
    LOCI_RETURN_IF_ERROR(arena_->NoteReferenced(r.blob).WithContext(what));
  }
  const Version* head = table_.Head(v->id);
  // A chain begins at version 1, or where a chain-start entry says (retention pruned what
  // was before; in a delta, maybe every version an earlier file held: the cube continues).
  auto start = recovery_chain_starts_.find(v->id);
  const uint32_t first = start == recovery_chain_starts_.end() ? 1 : start->second;
  const bool continues = head == nullptr && first > 1 && v->id < next_id_;
  // Ids grow: a new cube takes an id above every earlier one, and below the bound the
  // superblock sets. (This also bounds every loop over ids, whatever the input.) In a
  // database with version gaps (kVersionGapsFlag) a cube may begin above version `first`.
  const bool new_cube = head == nullptr && !continues;
  if (new_cube && (v->id < next_id_ || v->id >= recovery_id_bound_)) {
    return Status::Corruption(what + ": a new cube's id must be at least " +
                              std::to_string(next_id_) + " and below " +
                              std::to_string(recovery_id_bound_));
  }
  const uint32_t expected = head == nullptr ? first : head->number + 1;
  const bool in_order = version_gaps_ ? v->number >= expected : v->number == expected;
  if (!in_order) {
    return Status::Corruption(what + " follows version " + std::to_string(head ? head->number : 0));
  }
  LOCI_RETURN_IF_ERROR(arena_->NoteReferenced(v->payload).WithContext(what));
  clock_.Observe(v->tx_from);
  next_id_ = std::max(next_id_, v->id + 1);
  if (applied != nullptr) *applied = v.get();
  IndexEvents(*v);
  TrackVersion(*v);
  return table_.Insert(std::move(v));
}

Status DbImpl::ApplyRecoveredEdge(std::unique_ptr<index::EdgeVersion> e, const Catalog& catalog,
                                  const index::EdgeVersion** applied) {
  const std::string what = "edge " + std::to_string(e->key.from) + " -> " +
                           std::to_string(e->key.to) + " version " + std::to_string(e->number);
  if (catalog.SpaceById(e->space_id) == nullptr) {
    return Status::Corruption(what + " belongs to an unknown space");
  }
  // Both ends were written before the edge (earlier in its batch, or in an earlier one).
  for (CubeId end : {e->key.from, e->key.to}) {
    const Version* head = table_.Head(end);
    if (head == nullptr || head->space_id != e->space_id) {
      return Status::Corruption(what + ": cube " + std::to_string(end) +
                                " does not exist in its space");
    }
  }
  clock_.Observe(e->tx_from);
  if (applied != nullptr) *applied = e.get();
  return graph_.Insert(std::move(e));
}

bool DbImpl::BlobsSurvived(wal::Lsn lsn, std::string_view payload) {
  BatchContents batch;
  // A batch that does not decode is the handler's to report as corruption.
  if (!DecodeBatch(payload, "WAL record LSN " + std::to_string(lsn), &batch).ok()) return true;
  std::string_view bytes;
  arena_->ExtendMappings();  // a live writer's blobs may postdate the mapping (read-only opens)
  // A logged blob survived with the record itself.
  std::set<std::pair<uint32_t, uint64_t>> logged;
  for (const BlobCopy& c : batch.copies) logged.emplace(c.ref.generation, c.ref.offset);
  auto survived = [&](const blob::BlobRef& ref) {
    return ref.empty() || logged.count({ref.generation, ref.offset}) != 0 ||
           arena_->View(ref, &bytes).ok();
  };
  for (const auto& v : batch.versions) {
    if (!survived(v->payload)) return false;
    for (const VectorRef& r : v->vectors) {
      if (!survived(r.blob)) return false;
    }
  }
  return true;
}

Status DbImpl::ApplyLoggedBatch(wal::Lsn lsn, std::string_view payload) {
  BatchContents batch;
  const std::string where = "WAL record LSN " + std::to_string(lsn);
  LOCI_RETURN_IF_ERROR(DecodeBatch(payload, where, &batch));
  LOCI_RETURN_IF_ERROR(ApplyCatalogChanges(batch, where, recovery_catalog_.get()));
  clock_.Observe(batch.commit_time);
  // The record is the durable copy of its logged blobs: an arena copy the crash took is
  // written again from it.
  for (const BlobCopy& c : batch.copies) {
    LOCI_RETURN_IF_ERROR(arena_->RestoreFromLog(c.ref, c.bytes).WithContext(where));
  }
  for (std::unique_ptr<Version>& v : batch.versions) {
    v->lsn = lsn;
    const Version* applied = nullptr;
    LOCI_RETURN_IF_ERROR(
        ApplyRecoveredVersion(std::move(v), *recovery_catalog_, &applied).WithContext(where));
    // Not in any checkpoint file yet: the next delta must hold it.
    MutexLock lock(&dirty_mu_);
    dirty_.push_back(applied);
  }
  for (std::unique_ptr<index::EdgeVersion>& e : batch.edges) {
    e->lsn = lsn;
    const index::EdgeVersion* applied = nullptr;
    LOCI_RETURN_IF_ERROR(
        ApplyRecoveredEdge(std::move(e), *recovery_catalog_, &applied).WithContext(where));
    MutexLock lock(&dirty_mu_);
    dirty_edges_.push_back(applied);
  }
  // A cube already gone is fine: a checkpoint written after the purge was published may not
  // cover its record. What is found is scrubbed again when the open completes (CompletePurges).
  PurgeFromMemory(batch.purges);
  return Status::OK();
}

Status DbImpl::PrepareForWrites(const wal::ReplayResult& replay) {
  if (replay.torn_tail) LOCI_RETURN_IF_ERROR(wal::RepairTornTail(env_, *replay.torn_tail));
  bool removed = false;
  for (const auto* list : {&replay.headerless_segments, &replay.obsolete_segments}) {
    for (uint64_t n : *list) {
      LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.wal_segment(n)));
      removed = true;
    }
  }
  // Checkpoint files the superblock does not list, and segments still under their temporary
  // name, were being written when a crash came.
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  const Superblock current = CurrentSuperblock();
  // Index snapshots go with the base checkpoint; others are older or were being written.
  std::optional<uint64_t> base;
  if (!current.checkpoints.empty()) base = current.checkpoints.front().file_number;
  for (const std::string& name : names) {
    uint64_t n;
    bool stray = false;
    if (ParseCheckpointFileName(name, &n)) {
      stray = std::none_of(current.checkpoints.begin(), current.checkpoints.end(),
                           [n](const CheckpointFile& c) { return c.file_number == n; });
    } else if (ParseIndexSnapshotFileName(name, &n)) {
      stray = n != base;
    } else {
      stray = ParseWalSegmentTempFileName(name, &n);  // a segment whose creation a crash cut
    }
    if (stray) {
      LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.file(name)));
      removed = true;
    }
  }
  if (removed) LOCI_RETURN_IF_ERROR(env_->SyncDir(paths_.dir()));
  LOCI_RETURN_IF_ERROR(arena_->RemoveUnreferenced());
  // Without the seal of a clean close, a crash may have cut an erasure short: the frames a
  // retention checkpoint pruned are erased after its switch, so nothing durable knows them
  // any more. Every frame no recovered version refers to is erased now, so that a later Purge
  // of the cube (or nothing at all) leaves none of their bytes.
  if (!replay.seal) LOCI_RETURN_IF_ERROR(EraseUnreferencedBlobs());
  // Blobs first, then the WAL: the order a commit makes them durable in.
  LOCI_RETURN_IF_ERROR(arena_->SyncAll());

  LOCI_RETURN_IF_ERROR(
      env_->NewWritableFile(paths_.superblock(), Env::OpenMode::kOpenExisting, &superblock_file_));
  log_ = std::make_unique<wal::LogWriter>(env_, paths_.dir(), LogOptions(options_, current),
                                          io_.get());
  working_catalog_ = std::make_unique<Catalog>(*catalog_.load());
  {
    MutexLock lock(&pipeline_mu_);
    for (int i = 0; i < kGroupsInFlight; ++i) {
      io_pool_.push_back(NewWalIoQueue());
      free_io_.push_back(io_pool_.back().get());
    }
  }
  const uint64_t last_segment = replay.live_segments.back();
  const uint64_t end = replay.torn_tail ? replay.torn_tail->offset : replay.end_offset;
  LOCI_RETURN_IF_ERROR(
      log_->ResumeSegment(last_segment, end, replay.last_lsn + 1, replay.last_checksum));
  ScaleToData();
  StartIndexer();
  return Status::OK();
}

Status DbImpl::EraseUnreferencedBlobs() {
  std::vector<blob::BlobRef> live;
  for (CubeId id = 1; id < table_.end_id(); ++id) {
    ForEachBlobOfChain(table_.Head(id), [&](const blob::BlobRef& r) { live.push_back(r); });
  }
  Result<uint64_t> punched = arena_->EraseAllBut(std::move(live));
  if (!punched.ok()) return punched.status().WithContext("erasing unreferenced blobs");
  arena_discarded_bytes_.fetch_add(*punched, std::memory_order_relaxed);
  return Status::OK();
}

void DbImpl::ResumeIdAssignment(const wal::ReplayResult& replay, const Superblock& sb) {
  CubeId sealed_next = 0;
  const bool sealed =
      replay.seal && DecodeSealPayload(*replay.seal, &sealed_next) && sealed_next == next_id_;
  sealed_at_open_.store(sealed);
  lsn_at_open_ = replay.last_lsn;
  seal_pending_ = sealed;
  cube_id_limit_ = sb.cube_id_limit;
  if (!sealed) next_id_ = std::max(next_id_, sb.cube_id_limit);
}

std::unique_ptr<IoQueue> DbImpl::NewWalIoQueue() {
  return options_.wal_submission == Options::WalSubmission::kIoUring ? env_->NewIoQueue()
                                                                     : NewSequentialIoQueue();
}

Superblock DbImpl::CurrentSuperblock() const {
  MutexLock lock(&superblock_mu_);
  return superblock_;
}

Status DbImpl::InstallSuperblock(const std::function<void(Superblock*)>& change) {
  MutexLock lock(&superblock_mu_);
  Superblock next = superblock_;
  change(&next);
  Status s = WriteSuperblockCopies(superblock_file_.get(), &next);
  if (!s.ok()) {
    Poison(s);
    return s;
  }
  superblock_ = next;
  superblock_damaged_ = false;
  return Status::OK();
}

Status DbImpl::ReserveIds(CubeId next_id) {
  if (next_id <= cube_id_limit_) return Status::OK();
  const CubeId room = std::clamp(next_id / 4, kMinIdReservation, kMaxIdReservation);
  const CubeId limit = std::min(next_id + room, RecordTable::kMaxId + 1);
  LOCI_RETURN_IF_ERROR(InstallSuperblock(
      [limit](Superblock* sb) { sb->cube_id_limit = std::max(sb->cube_id_limit, limit); }));
  cube_id_limit_ = limit;
  return Status::OK();
}

}  // namespace engine
}  // namespace loci
