// Helpers shared by the tests: temporary directories on the real file system.

#ifndef LOCI_TESTS_TESTUTIL_H_
#define LOCI_TESTS_TESTUTIL_H_

#include <cstdint>
#include <string>

#include "loci/env.h"

namespace loci::test {

// Whether `needle` occurs in `haystack` (for checking what an error message names).
bool Contains(const std::string& haystack, const std::string& needle);

// The whole contents of `path` in `env`; a gtest failure (and "") if it cannot be read.
std::string ReadWholeFile(Env* env, const std::string& path);

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
