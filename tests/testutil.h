// Helpers shared by the tests: temporary directories on the real file system, test data
// (vectors, bytes, database ids) and small formatting and option helpers.

#ifndef LOCI_TESTS_TESTUTIL_H_
#define LOCI_TESTS_TESTUTIL_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/db_uuid.h"
#include "loci/env.h"

namespace loci {
class Db;
struct Options;
struct SearchHit;
}  // namespace loci

namespace loci::test {

// Whether `needle` occurs in `haystack` (for checking what an error message names).
bool Contains(const std::string& haystack, const std::string& needle);

// The whole contents of `path` in `env`; a gtest failure (and "") if it cannot be read.
std::string ReadWholeFile(Env* env, const std::string& path);
// Flips a bit of the first copy of `values`' bytes in `path` (a vector's blob in an arena
// generation), so that the blob fails verification. Fails the test if the bytes are not there.
void DamageVectorInFile(Env* env, const std::string& path, const std::vector<float>& values);

// Whether any file of directory `dir` in `env` contains `needle` (erasure tests scan every
// byte of every file for what a purge or reclamation must have removed).
bool DirectoryHolds(Env* env, const std::string& dir, const std::string& needle);

// An Env whose clock reads `now`, which the test sets (TTL, ranking by age, commit times).
class SetClockEnv : public EnvWrapper {
 public:
  explicit SetClockEnv(Env* target) : EnvWrapper(target) {}
  int64_t NowMicros() override { return now.load(); }
  std::atomic<int64_t> now{0};
};

// A database uuid whose bytes are tag * 16 + i: distinct tags give distinct databases.
DbUuid TestUuid(uint8_t tag);

// `n` pseudo-random bytes, the same for the same seed.
std::string RandomBytes(size_t n, uint32_t seed);

// "id/version/score " per hit, in order: a search answer as text, to compare answers exactly.
std::string HitsLine(const std::vector<SearchHit>& hits);

// Options on `env` (created if missing) with a small vector index: partitions cluster early and
// split often, with replicas, so that the clustered paths and the scan's deduplication run.
Options SmallIndexOptions(Env* env);

// Waits until `db`'s vector index has absorbed every version published so far (indexing runs on
// a background thread): for tests that compare answers or index statistics across reopens,
// where the index must have its final shape. Fails the test after a minute.
void WaitForIndex(Db* db);

// `dim` standard-normal floats drawn from `rng`.
std::vector<float> RandomVector(std::mt19937_64& rng, uint32_t dim);

// Vectors near a `rank`-dimensional subspace: a normal combination of `rank` fixed random
// directions plus 0.02 x RandomVector noise. Wide partitions of them learn a projection and
// carry prefix planes (index/projection.h).
class LowRankVectors {
 public:
  // Draws the directions from `rng`.
  LowRankVectors(std::mt19937_64& rng, uint32_t dim, int rank);
  std::vector<float> Next(std::mt19937_64& rng) const;

 private:
  uint32_t dim_;
  std::vector<std::vector<float>> directions_;
};

// The unsigned integer in environment variable `name`, or `fallback` if it is unset or empty
// (for test lengths and seeds: SIM_ITERATIONS, LOCI_KILL_SEED...).
uint64_t EnvU64(const char* name, uint64_t fallback);

// Microseconds since the epoch of midnight UTC on a calendar date.
int64_t Utc(int year, int month, int day);

// A fresh, empty directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // path()/name
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace loci::test

#endif  // LOCI_TESTS_TESTUTIL_H_
