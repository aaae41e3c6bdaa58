// SQLite behind the BenchSystem interface: one table
//   bench(id INTEGER PRIMARY KEY, payload BLOB, vec BLOB)
// in WAL journal mode. A connection must not be shared between threads, so every session opens
// its own (SQLITE_OPEN_NOMUTEX, busy_timeout) with its own prepared statements. SQLite admits
// one writer at a time: concurrent writers wait on the WAL write lock in the busy handler, and
// their throughput is reported as it is.
//
// Durable = PRAGMA synchronous=FULL (the WAL is fsynced at every commit); nosync = NORMAL (WAL
// synced only at checkpoints: survives a process crash, not a power loss). Each Put is one
// transaction (an autocommit INSERT).

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "tools/bench/bench_system.h"

namespace loci::bench {

namespace {

constexpr int kBusyTimeoutMs = 10000;

Status SqliteError(sqlite3* db, const std::string& what) {
  const int code = db != nullptr ? sqlite3_extended_errcode(db) : SQLITE_ERROR;
  std::string msg = "sqlite: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "error");
  if ((code & 0xff) == SQLITE_BUSY || (code & 0xff) == SQLITE_LOCKED) return Status::Busy(msg);
  return Status::IOError(msg);
}

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "error";
    sqlite3_free(err);
    return Status::IOError("sqlite: " + sql + ": " + msg);
  }
  return Status::OK();
}

class SqliteSystem;

// A connection with its statements; finalises them and closes on destruction.
class Connection {
 public:
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    for (sqlite3_stmt* s : {insert_, update_, get_full_, get_payload_, begin_, commit_}) {
      sqlite3_finalize(s);  // null is a no-op
    }
    if (db_ != nullptr) sqlite3_close(db_);
  }

  // Opens `path` with synchronous=FULL (durable) or NORMAL.
  Status Open(const std::string& path, bool durable, size_t mmap_mb) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      return SqliteError(db_, "open " + path);
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    LOCI_RETURN_IF_ERROR(
        Exec(db_, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    if (mmap_mb > 0) {
      LOCI_RETURN_IF_ERROR(Exec(db_, "PRAGMA mmap_size=" + std::to_string(mmap_mb << 20)));
    }
    return Status::OK();
  }

  Status Prepare() {
    LOCI_RETURN_IF_ERROR(
        PrepareOne("INSERT INTO bench(id, payload, vec) VALUES(?1, ?2, ?3)", &insert_));
    LOCI_RETURN_IF_ERROR(PrepareOne("UPDATE bench SET payload = ?2 WHERE id = ?1", &update_));
    LOCI_RETURN_IF_ERROR(PrepareOne("SELECT payload, vec FROM bench WHERE id = ?1", &get_full_));
    LOCI_RETURN_IF_ERROR(PrepareOne("SELECT payload FROM bench WHERE id = ?1", &get_payload_));
    LOCI_RETURN_IF_ERROR(PrepareOne("BEGIN IMMEDIATE", &begin_));
    return PrepareOne("COMMIT", &commit_);
  }

  sqlite3* db() const { return db_; }
  sqlite3_stmt* insert() const { return insert_; }
  sqlite3_stmt* update() const { return update_; }
  sqlite3_stmt* get_full() const { return get_full_; }
  sqlite3_stmt* get_payload() const { return get_payload_; }
  sqlite3_stmt* begin() const { return begin_; }
  sqlite3_stmt* commit() const { return commit_; }

 private:
  Status PrepareOne(const char* sql, sqlite3_stmt** stmt) {
    if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
      return SqliteError(db_, std::string("prepare ") + sql);
    }
    return Status::OK();
  }

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* update_ = nullptr;
  sqlite3_stmt* get_full_ = nullptr;
  sqlite3_stmt* get_payload_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

// Runs a statement that returns no row, then resets it.
Status StepDone(sqlite3* db, sqlite3_stmt* stmt, const char* what) {
  const int rc = sqlite3_step(stmt);
  Status s = rc == SQLITE_DONE ? Status::OK() : SqliteError(db, what);
  sqlite3_reset(stmt);
  return s;
}

class SqliteSession final : public BenchSession {
 public:
  Status Init(const std::string& path, bool durable, size_t mmap_mb) {
    LOCI_RETURN_IF_ERROR(conn_.Open(path, durable, mmap_mb));
    return conn_.Prepare();
  }

  Status Put(uint64_t key, std::string_view payload, std::span<const float> vec) override {
    return Insert(key, payload, vec);
  }

  Status LoadBatch(uint64_t first_key, const std::vector<std::string>& payloads,
                   const std::vector<std::vector<float>>& vectors) override {
    LOCI_RETURN_IF_ERROR(StepDone(conn_.db(), conn_.begin(), "BEGIN"));
    for (size_t i = 0; i < payloads.size(); ++i) {
      Status s = Insert(first_key + i, payloads[i], vectors[i]);
      if (!s.ok()) {
        Exec(conn_.db(), "ROLLBACK").PermitUncheckedError();
        return s;
      }
    }
    return StepDone(conn_.db(), conn_.commit(), "COMMIT");
  }

  Status UpdatePayload(uint64_t key, std::string_view payload,
                       std::span<const float> vec) override {
    (void)vec;  // the row keeps its vector column
    sqlite3_stmt* stmt = conn_.update();
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(key));
    sqlite3_bind_blob(stmt, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    Status s = StepDone(conn_.db(), stmt, "UPDATE");
    sqlite3_clear_bindings(stmt);
    return s;
  }

  Status Get(uint64_t key, ReadMode mode, GetResult* result) override {
    sqlite3_stmt* stmt = mode == ReadMode::kFull ? conn_.get_full() : conn_.get_payload();
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(key));
    const int rc = sqlite3_step(stmt);
    Status s;
    if (rc == SQLITE_ROW) {
      // Copy out, as the other systems do: the statement's buffers die at reset.
      payload_.assign(static_cast<const char*>(sqlite3_column_blob(stmt, 0)),
                      static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
      vec_.clear();
      if (mode == ReadMode::kFull) {
        const void* v = sqlite3_column_blob(stmt, 1);
        if (v != nullptr) {
          vec_.assign(static_cast<const char*>(v),
                      static_cast<size_t>(sqlite3_column_bytes(stmt, 1)));
        }
      }
      result->payload_bytes = payload_.size();
      result->vector_bytes = vec_.size();
    } else if (rc == SQLITE_DONE) {
      s = Status::NotFound("sqlite: no row " + std::to_string(key));
    } else {
      s = SqliteError(conn_.db(), "SELECT");
    }
    sqlite3_reset(stmt);
    return s;
  }

 private:
  Status Insert(uint64_t key, std::string_view payload, std::span<const float> vec) {
    sqlite3_stmt* stmt = conn_.insert();
    sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(key));
    sqlite3_bind_blob(stmt, 2, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 3, vec.data(), static_cast<int>(vec.size_bytes()), SQLITE_STATIC);
    Status s = StepDone(conn_.db(), stmt, "INSERT");
    sqlite3_clear_bindings(stmt);
    return s;
  }

  Connection conn_;
  std::string payload_;
  std::string vec_;
};

class SqliteSystem final : public BenchSystem {
 public:
  explicit SqliteSystem(const SystemConfig& config) : config_(config) {}

  const char* name() const override {
    return config_.sqlite_auto_vacuum ? "sqlite-autovacuum" : "sqlite";
  }
  std::string Describe() const override {
    return std::string("sqlite ") + sqlite3_libversion() +
           ": table bench(id INTEGER PRIMARY KEY, payload BLOB, vec BLOB), journal_mode=WAL; "
           "durable = synchronous=FULL, nosync = NORMAL; one connection per thread "
           "(busy_timeout " +
           std::to_string(kBusyTimeoutMs) + " ms), one transaction per put; page cache default, " +
           (config_.sqlite_auto_vacuum ? "auto_vacuum=FULL, " : "") +
           (config_.sqlite_mmap_mb > 0
                ? "mmap_size " + std::to_string(config_.sqlite_mmap_mb) + " MiB"
                : std::string("no mmap"));
  }
  bool Supports(ReadMode) const override { return true; }

  Status Open(const std::string& dir, bool durable) override {
    dir_ = dir;
    durable_ = durable;
    if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IOError(dir + ": " + std::strerror(errno));
    }
    path_ = dir + "/bench.db";
    setup_ = std::make_unique<Connection>();
    LOCI_RETURN_IF_ERROR(setup_->Open(path_, durable, 0));
    // Before the first table: auto_vacuum is fixed when the database file is created.
    if (config_.sqlite_auto_vacuum) {
      LOCI_RETURN_IF_ERROR(Exec(setup_->db(), "PRAGMA auto_vacuum=FULL"));
    }
    LOCI_RETURN_IF_ERROR(Exec(setup_->db(), "PRAGMA journal_mode=WAL"));
    return Exec(setup_->db(), "CREATE TABLE bench(id INTEGER PRIMARY KEY, payload BLOB, vec BLOB)");
  }

  Status NewSession(std::unique_ptr<BenchSession>* session) override {
    auto s = std::make_unique<SqliteSession>();
    LOCI_RETURN_IF_ERROR(s->Init(path_, durable_, config_.sqlite_mmap_mb));
    *session = std::move(s);
    return Status::OK();
  }

  Status Settle() override { return Exec(setup_->db(), "PRAGMA wal_checkpoint(TRUNCATE)"); }

  Status Close() override {
    setup_.reset();
    return Status::OK();
  }

 private:
  const SystemConfig config_;
  bool durable_ = true;
  std::string path_;
  std::unique_ptr<Connection> setup_;  // keeps the database open between sessions
};

}  // namespace

std::unique_ptr<BenchSystem> NewSqliteSystem(const SystemConfig& config) {
  return std::make_unique<SqliteSystem>(config);
}

}  // namespace loci::bench
