// The `memory` scenario: the RAM a Loci database holds per cube. It writes `cubes` cubes — 3
// attributes, one `dim`-d vector field, a `payload_bytes` payload — and updates each to
// `versions` versions (an update rewrites the payload and one attribute, the vector stays),
// closes the database, opens it again and waits for the vector index: what the process then
// holds is what an application that opens this database pays. It reports the anonymous
// resident memory (RssAnon: heap and index; the record table keeps every version's metadata in
// RAM) and the file-backed resident memory (RssFile: arena pages read through the mapping, page
// cache the kernel may evict), each per cube, and the vector index's share (Stats().index_bytes).

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>

#if __has_include(<mimalloc.h>)
#include <mimalloc.h>
#endif

#include "loci/db.h"
#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

struct Rss {
  uint64_t anon = 0;  // bytes
  uint64_t file = 0;
};

Rss ReadRss() {
  std::ifstream status("/proc/self/status");
  std::string line;
  Rss rss;
  while (std::getline(status, line)) {
    unsigned long long kb = 0;
    if (std::sscanf(line.c_str(), "RssAnon: %llu kB", &kb) == 1) rss.anon = kb * 1024;
    if (std::sscanf(line.c_str(), "RssFile: %llu kB", &kb) == 1) rss.file = kb * 1024;
  }
  return rss;
}

Status Populate(Db* db, const MemoryConfig& c) {
  std::mt19937_64 rng(c.seed);
  std::uniform_real_distribution<float> u(-1, 1);
  constexpr size_t kBatch = 256;
  std::string payload(c.payload_bytes, 'p');
  WriteOptions nosync;
  nosync.sync = false;
  std::vector<CubeId> ids;
  ids.reserve(c.cubes);
  for (uint64_t first = 0; first < c.cubes; first += kBatch) {
    WriteBatch batch;
    for (uint64_t i = first; i < std::min<uint64_t>(c.cubes, first + kBatch); ++i) {
      CubeDraft d{.space = "s", .payload = payload};
      d.vectors.push_back({"e", std::vector<float>(c.dim)});
      for (float& x : d.vectors[0].values) x = u(rng);
      d.attrs = {Attr{"user", static_cast<int64_t>(i % 1000)},
                 Attr{"topic", "topic-" + std::to_string(i % 37)},
                 Attr{"turn", static_cast<int64_t>(i)}};
      std::snprintf(payload.data(), payload.size(), "cube %llu",
                    static_cast<unsigned long long>(i));
      d.payload = payload;
      batch.Put(std::move(d));
    }
    WriteResult result;
    LOCI_RETURN_IF_ERROR(db->Write(nosync, batch, &result));
    for (const auto& op : result.ops) ids.push_back(op.id);
  }
  for (int version = 2; version <= c.versions; ++version) {
    for (size_t first = 0; first < ids.size(); first += kBatch) {
      WriteBatch batch;
      for (size_t i = first; i < std::min(ids.size(), first + kBatch); ++i) {
        std::snprintf(payload.data(), payload.size(), "cube %zu version %d", i, version);
        CubePatch p{.payload = payload};
        p.set_attrs = {Attr{"turn", static_cast<int64_t>(i * 100 + version)}};
        batch.Update(ids[i], std::move(p));
      }
      LOCI_RETURN_IF_ERROR(db->Write(nosync, batch, nullptr));
    }
  }
  return db->Checkpoint();
}

}  // namespace

Status RunMemoryScenario(const MemoryConfig& config) {
  const std::string dir = config.dir + "/memory";
  LOCI_RETURN_IF_ERROR(RemoveDirectory(dir));
  std::filesystem::create_directories(config.dir);
  std::printf(
      "memory: %llu cubes x %d versions (3 attrs, one %u-d vector, %zu-byte payload; updates\n"
      "rewrite the payload and an attribute), written, closed, reopened; then the process's\n"
      "resident memory against before the open. Retention keeps %u version(s) (0: all).\n\n",
      static_cast<unsigned long long>(config.cubes), config.versions, config.dim,
      config.payload_bytes, config.keep_versions);
  Options options;
  options.create_if_missing = true;
  options.retention.keep_versions = config.keep_versions;
  const uint64_t t0 = NowNanos();
  // Written by a child process, so that what the writes allocated (and the allocator kept)
  // is not counted against the open measured here.
  const pid_t child = fork();
  if (child < 0) return Status::IOError(std::string("fork: ") + std::strerror(errno));
  if (child == 0) {
    std::unique_ptr<Db> db;
    Status s = Db::Open(options, dir, &db);
    if (s.ok()) s = Populate(db.get(), config);
    db.reset();
    if (!s.ok()) std::fprintf(stderr, "loci-bench memory: %s\n", s.ToString().c_str());
    _exit(s.ok() ? 0 : 1);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::IOError("the writing process failed");
  }
  const double write_s = static_cast<double>(NowNanos() - t0) / 1e9;
  const Rss before = ReadRss();
  const uint64_t t1 = NowNanos();
  std::unique_ptr<Db> db;
  LOCI_RETURN_IF_ERROR(Db::Open(options, dir, &db));
  while (db->Stats().index_backlog > 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const double open_s = static_cast<double>(NowNanos() - t1) / 1e9;
  // What the open freed (checkpoint and snapshot buffers) goes back to the system first, so
  // that RssAnon is what the database holds, not what the allocator kept.
#if __has_include(<mimalloc.h>)
  mi_collect(true);
#endif
  const Rss after = ReadRss();
  const DbStats stats = db->Stats();
  const double cubes = static_cast<double>(config.cubes);
  const double anon = static_cast<double>(after.anon > before.anon ? after.anon - before.anon : 0);
  const double file = static_cast<double>(after.file > before.file ? after.file - before.file : 0);
  const double index = static_cast<double>(stats.index_bytes);
  const uint64_t disk = DirectoryBytes(dir);
  const uint64_t allocated = AllocatedBytes(dir);
  std::printf("%-26s %14s %14s\n", "", "total", "per cube");
  std::printf("%-26s %14s %14.0f\n", "RssAnon (heap, index)", FormatBytes(anon).c_str(),
              anon / cubes);
  std::printf("%-26s %14s %14.0f\n", "  of which vector index", FormatBytes(index).c_str(),
              index / cubes);
  std::printf("%-26s %14s %14.0f\n", "  the rest (records...)", FormatBytes(anon - index).c_str(),
              (anon - index) / cubes);
  std::printf("%-26s %14s %14.0f\n", "RssFile (mapped arena)", FormatBytes(file).c_str(),
              file / cubes);
  std::printf("%-26s %14s %14.0f\n", "directory (file sizes)",
              FormatBytes(static_cast<double>(disk)).c_str(), static_cast<double>(disk) / cubes);
  std::printf("%-26s %14s %14.0f\n", "directory (allocated)",
              FormatBytes(static_cast<double>(allocated)).c_str(),
              static_cast<double>(allocated) / cubes);
  std::printf(
      "\nversions %llu; written in %.1f s; reopened and indexed in %.1f s (%s)\n",
      static_cast<unsigned long long>(stats.versions), write_s, open_s,
      stats.index_restored_vectors > 0 ? "index restored from its snapshot" : "index rebuilt");
  if (!config.json.empty()) {
    std::ofstream out(config.json, std::ios::app);
    out << nlohmann::json{{"scenario", "memory"},        {"cubes", config.cubes},
                          {"versions", config.versions}, {"keep_versions", config.keep_versions},
                          {"dim", config.dim},           {"payload_bytes", config.payload_bytes},
                          {"rss_anon_bytes", anon},      {"rss_anon_per_cube", anon / cubes},
                          {"index_bytes", index},        {"rss_file_bytes", file},
                          {"disk_bytes", disk},          {"allocated_bytes", allocated},
                          {"open_seconds", open_s}}
               .dump()
        << '\n';
  }
  db.reset();
  if (!config.keep) RemoveDirectory(dir).PermitUncheckedError();
  return Status::OK();
}

}  // namespace loci::bench
