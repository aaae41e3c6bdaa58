// The system registry and the file helpers shared by the BenchSystem implementations.

#include "tools/bench/bench_system.h"

#include <filesystem>
#include <system_error>

namespace loci::bench {

uint64_t BenchSystem::DiskBytes() const { return DirectoryBytes(dir_); }

std::unique_ptr<BenchSystem> MakeSystem(const std::string& name, const SystemConfig& config,
                                        std::string* why_not) {
  if (name == "loci" || name == "loci-uring" || name == "loci-psow") {
    return NewLociSystem(config, name);
  }
  if (name == "rocksdb") {
#ifdef LOCI_BENCH_HAVE_ROCKSDB
    return NewRocksDbSystem(config);
#else
    *why_not =
        "RocksDB was not found when loci-bench was configured (apt-get install "
        "librocksdb-dev, then re-run cmake)";
    return nullptr;
#endif
  }
  if (name == "sqlite" || name == "sqlite-autovacuum") {
#ifdef LOCI_BENCH_HAVE_SQLITE
    SystemConfig sqlite = config;
    sqlite.sqlite_auto_vacuum = name == "sqlite-autovacuum";
    return NewSqliteSystem(sqlite);
#else
    *why_not =
        "SQLite was not found when loci-bench was configured (apt-get install "
        "libsqlite3-dev, then re-run cmake)";
    return nullptr;
#endif
  }
  *why_not =
      "unknown system (known: loci, loci-uring, loci-psow, rocksdb, sqlite, sqlite-autovacuum)";
  return nullptr;
}

Status RemoveDirectory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) return Status::IOError(dir + ": " + ec.message());
  return Status::OK();
}

}  // namespace loci::bench
