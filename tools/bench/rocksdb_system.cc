// RocksDB behind the BenchSystem interface: key = the record number as 8 bytes big-endian,
// value = the payload followed by the vector's float32 bytes (the same bytes Loci stores).
//
// Settings: defaults except compression off (the data is random; Loci does not compress
// either) and an LRU block cache of SystemConfig::rocksdb_block_cache_mb. Durable writes use
// WriteOptions::sync = true; non-durable ones keep the WAL (survive a process crash), like
// Loci's sync = false. Concurrent writers are group-committed by RocksDB itself.

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>

#include "tools/bench/bench_system.h"

namespace loci::bench {

namespace {

Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return Status::OK();
  if (s.IsNotFound()) return Status::NotFound("rocksdb: " + s.ToString());
  if (s.IsCorruption()) return Status::Corruption("rocksdb: " + s.ToString());
  if (s.IsInvalidArgument()) return Status::InvalidArgument("rocksdb: " + s.ToString());
  if (s.IsBusy()) return Status::Busy("rocksdb: " + s.ToString());
  return Status::IOError("rocksdb: " + s.ToString());
}

struct Key {
  explicit Key(uint64_t k) {
    for (int i = 7; i >= 0; --i) {
      bytes[i] = static_cast<char>(k & 0xff);
      k >>= 8;
    }
  }
  rocksdb::Slice slice() const { return rocksdb::Slice(bytes, sizeof(bytes)); }
  char bytes[8];
};

void BuildValue(std::string_view payload, std::span<const float> vec, std::string* value) {
  value->assign(payload.data(), payload.size());
  value->append(reinterpret_cast<const char*>(vec.data()), vec.size_bytes());
}

class RocksDbSystem;

class RocksDbSession final : public BenchSession {
 public:
  explicit RocksDbSession(RocksDbSystem* system) : system_(system) {}

  Status Put(uint64_t key, std::string_view payload, std::span<const float> vec) override;
  Status LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                   const std::vector<std::vector<float>>& vectors) override;
  Status UpdatePayload(uint64_t key, std::string_view payload, std::span<const float> vec) override;
  Status Get(uint64_t key, ReadMode mode, GetResult* result) override;

 private:
  RocksDbSystem* const system_;
  std::string value_;
};

class RocksDbSystem final : public BenchSystem {
 public:
  explicit RocksDbSystem(const SystemConfig& config) : config_(config) {}

  const char* name() const override { return "rocksdb"; }
  std::string Describe() const override {
    return "rocksdb " + std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
           std::to_string(ROCKSDB_PATCH) +
           ": key = 8-byte big-endian record number, value = payload + vector bytes; "
           "compression off, LRU block cache " +
           std::to_string(config_.rocksdb_block_cache_mb) +
           " MiB, other options default; durable = WriteOptions.sync=true, nosync = sync=false "
           "with the WAL on";
  }
  bool Supports(ReadMode mode) const override { return mode == ReadMode::kFull; }
  bool UpdateRewritesVector() const override { return true; }

  Status Open(const std::string& dir, bool durable) override {
    dir_ = dir;
    rocksdb::Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    options.compression = rocksdb::kNoCompression;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(config_.rocksdb_block_cache_mb << 20);
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    LOCI_RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, dir, &db)));
    db_.reset(db);
    write_.sync = durable;
    nosync_.sync = false;
    return Status::OK();
  }

  Status NewSession(std::unique_ptr<BenchSession>* session) override {
    *session = std::make_unique<RocksDbSession>(this);
    return Status::OK();
  }

  Status Settle() override {
    rocksdb::FlushOptions flush;
    flush.wait = true;
    LOCI_RETURN_IF_ERROR(FromRocks(db_->Flush(flush)));
    return FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr));
  }

  Status Close() override {
    Status s;
    if (db_) s = FromRocks(db_->Close());
    db_.reset();
    return s;
  }

  rocksdb::DB* db() { return db_.get(); }
  const rocksdb::WriteOptions& write_options() const { return write_; }
  const rocksdb::WriteOptions& nosync_options() const { return nosync_; }
  const rocksdb::ReadOptions& read_options() const { return read_; }
  size_t payload_bytes() const { return config_.payload_bytes; }

 private:
  const SystemConfig config_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_;
  rocksdb::WriteOptions nosync_;
  rocksdb::ReadOptions read_;
};

Status RocksDbSession::Put(uint64_t key, std::string_view payload, std::span<const float> vec) {
  BuildValue(payload, vec, &value_);
  return FromRocks(system_->db()->Put(system_->write_options(), Key(key).slice(), value_));
}

Status RocksDbSession::LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                                 const std::vector<std::vector<float>>& vectors) {
  rocksdb::WriteBatch batch;
  for (size_t i = 0; i < payloads.size(); ++i) {
    BuildValue(payloads[i], vectors[i], &value_);
    LOCI_RETURN_IF_ERROR(FromRocks(batch.Put(Key(first_key + i).slice(), value_)));
  }
  return FromRocks(system_->db()->Write(system_->nosync_options(), &batch));
}

Status RocksDbSession::UpdatePayload(uint64_t key, std::string_view payload,
                                     std::span<const float> vec) {
  BuildValue(payload, vec, &value_);
  return FromRocks(system_->db()->Put(system_->nosync_options(), Key(key).slice(), value_));
}

Status RocksDbSession::Get(uint64_t key, ReadMode mode, GetResult* result) {
  (void)mode;  // only kFull: the value is one blob
  LOCI_RETURN_IF_ERROR(
      FromRocks(system_->db()->Get(system_->read_options(), Key(key).slice(), &value_)));
  // The value is payload then vector; the payload size is fixed per run.
  result->payload_bytes = std::min(value_.size(), system_->payload_bytes());
  result->vector_bytes = value_.size() - result->payload_bytes;
  return Status::OK();
}

}  // namespace

std::unique_ptr<BenchSystem> NewRocksDbSystem(const SystemConfig& config) {
  return std::make_unique<RocksDbSystem>(config);
}

}  // namespace loci::bench
