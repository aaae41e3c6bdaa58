// Helpers shared by the tests (see testutil.h).

#include "tests/testutil.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "loci/db.h"
#include "loci/options.h"
#include "loci/search.h"

namespace loci::test {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

std::string ReadWholeFile(Env* env, const std::string& path) {
  std::unique_ptr<RandomAccessFile> f;
  EXPECT_TRUE(env->NewRandomAccessFile(path, &f).ok()) << path;
  std::string out;
  if (f) {
    EXPECT_TRUE(f->Read(0, *f->Size(), &out).ok()) << path;
  }
  return out;
}

void DamageVectorInFile(Env* env, const std::string& path, const std::vector<float>& values) {
  const std::string image = ReadWholeFile(env, path);
  const size_t at = image.find(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
  ASSERT_NE(at, std::string::npos) << path;
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env->NewWritableFile(path, Env::OpenMode::kOpenExisting, &f).ok()) << path;
  ASSERT_TRUE(f->Write(at + 1, std::string(1, static_cast<char>(image[at + 1] ^ 0x10))).ok());
}

Options SmallIndexOptions(Env* env) {
  Options o;
  o.env = env;
  o.create_if_missing = true;
  // Small partitions cluster early and split often, so the clustered paths are exercised.
  o.vector_index.flat_limit = 64;
  o.vector_index.list_target = 8;
  // Replicas too, so that the scan's deduplication is exercised.
  o.vector_index.max_replicas = 2;
  o.vector_index.replica_slack = 0.3f;
  // Checkpoints only when a test asks (or past checkpoint_wal_bytes): the index tests count
  // what each one restores.
  o.checkpoint_wal_ratio = 0;
  return o;
}

std::string HitsLine(const std::vector<SearchHit>& hits) {
  std::string line;
  for (const SearchHit& h : hits) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "%llu/%u/%.6g ", static_cast<unsigned long long>(h.id),
                  h.version, h.score);
    line += buf;
  }
  return line;
}

bool DirectoryHolds(Env* env, const std::string& dir, const std::string& needle) {
  std::vector<std::string> names;
  EXPECT_TRUE(env->GetChildren(dir, &names).ok());
  for (const std::string& name : names) {
    std::unique_ptr<RandomAccessFile> file;
    if (!env->NewRandomAccessFile(dir + "/" + name, &file).ok()) continue;
    std::string bytes;
    EXPECT_TRUE(file->Read(0, size_t{1} << 30, &bytes).ok());
    if (bytes.find(needle) != std::string::npos) return true;
  }
  return false;
}

DbUuid TestUuid(uint8_t tag) {
  DbUuid u;
  for (size_t i = 0; i < u.size(); ++i) u[i] = static_cast<uint8_t>(tag * 16 + i);
  return u;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

std::vector<float> RandomVector(std::mt19937_64& rng, uint32_t dim) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> v(dim);
  for (float& x : v) x = g(rng);
  return v;
}

LowRankVectors::LowRankVectors(std::mt19937_64& rng, uint32_t dim, int rank) : dim_(dim) {
  for (int i = 0; i < rank; ++i) directions_.push_back(RandomVector(rng, dim));
}

std::vector<float> LowRankVectors::Next(std::mt19937_64& rng) const {
  std::vector<float> x = RandomVector(rng, dim_);
  for (float& v : x) v *= 0.02f;
  std::normal_distribution<float> along;
  for (const std::vector<float>& d : directions_) {
    const float z = along(rng);
    for (uint32_t i = 0; i < dim_; ++i) x[i] += z * d[i];
  }
  return x;
}

void WaitForIndex(Db* db) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (db->Stats().index_backlog > 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ADD_FAILURE() << "the vector index did not catch up in a minute";
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

int64_t Utc(int year, int month, int day) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/loci-test-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace loci::test
