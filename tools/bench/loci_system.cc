// Loci behind the BenchSystem interface: each record is a cube in space "bench" with the
// payload and one vector in field "emb" (cosine), written with Db::Put and read with Db::Get.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "loci/db.h"
#include "tools/bench/bench_system.h"

namespace loci::bench {

namespace {

constexpr char kSpace[] = "bench";
constexpr char kField[] = "emb";

class LociSystem;

class LociSession final : public BenchSession {
 public:
  explicit LociSession(LociSystem* system);

  Status Put(uint64_t key, std::string_view payload, std::span<const float> vec) override;
  Status LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                   const std::vector<std::vector<float>>& vectors) override;
  Status UpdatePayload(uint64_t key, std::string_view payload, std::span<const float> vec) override;
  Status Get(uint64_t key, ReadMode mode, GetResult* result) override;

 private:
  // Builds draft_ in place, reusing its buffers' capacity.
  void FillDraft(std::string_view payload, std::span<const float> vec);

  LociSystem* const system_;
  CubeDraft draft_;
  CubePatch patch_;
  ReadOptions full_;
  ReadOptions payload_only_;
  MemCube cube_;
};

class LociSystem final : public BenchSystem {
 public:
  LociSystem(const SystemConfig& config, std::string variant)
      : variant_(std::move(variant)),
        keep_versions_(config.loci_keep_versions),
        checkpoint_wal_bytes_(config.loci_checkpoint_wal_bytes) {}

  const char* name() const override { return variant_.c_str(); }
  std::string Describe() const override {
    const char* options = variant_ == "loci-uring"  ? "durable WAL groups through io_uring"
                          : variant_ == "loci-psow" ? "wal_sync_alignment 0 (no padding)"
                                                    : "Options at their defaults";
    return variant_ +
           ": Db::Put/Get/Update, space \"bench\", vector field \"emb\" (cosine); durable = "
           "WriteOptions::sync=true, nosync = sync=false; Get names its space; " +
           options +
           "; rows note the time the vector index took to absorb the backlog after the last put "
           "(index +S s) and the WAL bytes per put";
  }
  bool Supports(ReadMode) const override { return true; }

  Status Open(const std::string& dir, bool durable) override {
    dir_ = dir;
    Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    if (variant_ == "loci-uring") options.wal_submission = Options::WalSubmission::kIoUring;
    if (variant_ == "loci-psow") options.wal_sync_alignment = 0;
    options.retention.keep_versions = keep_versions_;
    if (checkpoint_wal_bytes_ != 0) options.checkpoint_wal_bytes = checkpoint_wal_bytes_;
    LOCI_RETURN_IF_ERROR(Db::Open(options, dir, &db_));
    durable_ = durable;
    ids_.clear();
    dense_ = false;
    start_stats_ = db_->Stats();
    return Status::OK();
  }

  Status NewSession(std::unique_ptr<BenchSession>* session) override {
    *session = std::make_unique<LociSession>(this);
    return Status::OK();
  }

  Status Settle() override {
    // The load is done: from now on keys map to ids arithmetically if the ids are dense.
    dense_ = true;
    for (size_t k = 0; k < ids_.size(); ++k) {
      if (ids_[k] != ids_[0] + k) {
        dense_ = false;
        break;
      }
    }
    if (!ids_.empty()) base_ = ids_[0];
    return db_->Checkpoint();
  }

  void AnnotateRow(ResultRow* row) override {
    const double index_s = WaitForIndex();
    const DbStats now = db_->Stats();
    const uint64_t groups = now.group_commits - start_stats_.group_commits;
    const uint64_t batches = now.batches_committed - start_stats_.batches_committed;
    // WAL bytes per put: meaningful only if no checkpoint deleted segments meanwhile.
    const bool same_wal = now.checkpoint_lsn == start_stats_.checkpoint_lsn;
    const double wal_per_put =
        same_wal && batches > 0
            ? static_cast<double>(now.wal_bytes - start_stats_.wal_bytes) / batches
            : 0;
    start_stats_ = now;
    if (groups == 0) return;
    const double size = static_cast<double>(batches) / static_cast<double>(groups);
    row->extra.emplace_back("group_commits", static_cast<double>(groups));
    row->extra.emplace_back("group_size", size);
    row->extra.emplace_back("index_drain_s", index_s);
    row->extra.emplace_back("ops_per_s_indexed",
                            row->seconds + index_s > 0 ? row->ops / (row->seconds + index_s) : 0);
    if (wal_per_put > 0) row->extra.emplace_back("wal_bytes_per_put", wal_per_put);
    char buf[160];
    std::snprintf(buf, sizeof(buf),
                  "group %.2f batches/commit (%llu commits)%s, index +%.2f s, "
                  "WAL %.0f B/put",
                  size, static_cast<unsigned long long>(groups), now.io_uring ? ", io_uring" : "",
                  index_s, wal_per_put);
    row->notes = buf;
  }

  Status Close() override {
    db_.reset();
    return Status::OK();
  }

  Db* db() { return db_.get(); }
  const WriteOptions& write_options() const { return durable_ ? sync_ : nosync_; }
  const WriteOptions& nosync_options() const { return nosync_; }

  // Loading (one thread, before Settle) records each key's id.
  void RecordLoadedIds(uint64_t first_key, const WriteResult& result) {
    if (ids_.size() < first_key + result.ops.size()) ids_.resize(first_key + result.ops.size());
    for (size_t i = 0; i < result.ops.size(); ++i) ids_[first_key + i] = result.ops[i].id;
  }
  // REQUIRES: `key` was loaded and Settle() was called.
  CubeId IdFor(uint64_t key) const { return dense_ ? base_ + key : ids_[key]; }

 private:
  // Seconds until the vector index has absorbed every put (Stats().index_backlog reaches 0).
  double WaitForIndex() {
    const uint64_t start = NowNanos();
    while (db_->Stats().index_backlog > 0) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return static_cast<double>(NowNanos() - start) / 1e9;
  }

  const std::string variant_;
  const uint32_t keep_versions_;         // Options::retention.keep_versions
  const uint64_t checkpoint_wal_bytes_;  // Options::checkpoint_wal_bytes, 0: the default
  std::unique_ptr<Db> db_;
  bool durable_ = true;
  WriteOptions sync_{.sync = true};
  WriteOptions nosync_{.sync = false};
  DbStats start_stats_;
  std::vector<CubeId> ids_;  // key -> id of loaded records
  bool dense_ = false;       // ids_[k] == base_ + k for every k
  CubeId base_ = 0;
};

LociSession::LociSession(LociSystem* system) : system_(system) {
  draft_.space = kSpace;
  full_.space = kSpace;
  payload_only_.space = kSpace;
  payload_only_.fill_vectors = false;
}

void LociSession::FillDraft(std::string_view payload, std::span<const float> vec) {
  draft_.payload.assign(payload.data(), payload.size());
  if (vec.empty()) {
    draft_.vectors.clear();
    return;
  }
  draft_.vectors.resize(1);
  draft_.vectors[0].field = kField;
  draft_.vectors[0].values.assign(vec.begin(), vec.end());
}

Status LociSession::Put(uint64_t key, std::string_view payload, std::span<const float> vec) {
  (void)key;  // Loci assigns the id
  FillDraft(payload, vec);
  Result<CubeId> id = system_->db()->Put(system_->write_options(), draft_);
  return id.status();
}

Status LociSession::LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                              const std::vector<std::vector<float>>& vectors) {
  WriteBatch batch;
  for (size_t i = 0; i < payloads.size(); ++i) {
    FillDraft(payloads[i], vectors[i]);
    batch.Put(draft_);
  }
  WriteResult result;
  LOCI_RETURN_IF_ERROR(system_->db()->Write(system_->nosync_options(), batch, &result));
  system_->RecordLoadedIds(first_key, result);
  return Status::OK();
}

Status LociSession::UpdatePayload(uint64_t key, std::string_view payload,
                                  std::span<const float> vec) {
  (void)vec;  // the cube keeps its vector
  if (!patch_.payload) patch_.payload.emplace();
  patch_.payload->assign(payload.data(), payload.size());
  Result<uint32_t> version =
      system_->db()->Update(system_->nosync_options(), system_->IdFor(key), patch_);
  return version.status();
}

Status LociSession::Get(uint64_t key, ReadMode mode, GetResult* result) {
  LOCI_RETURN_IF_ERROR(system_->db()->Get(mode == ReadMode::kFull ? full_ : payload_only_,
                                          system_->IdFor(key), &cube_));
  result->payload_bytes = cube_.payload.size();
  result->vector_bytes = 0;
  for (const NamedVector& v : cube_.vectors)
    result->vector_bytes += v.values.size() * sizeof(float);
  return Status::OK();
}

}  // namespace

std::unique_ptr<BenchSystem> NewLociSystem(const SystemConfig& config, const std::string& variant) {
  return std::make_unique<LociSystem>(config, variant);
}

}  // namespace loci::bench
