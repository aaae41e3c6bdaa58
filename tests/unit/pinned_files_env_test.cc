// PinnedFilesEnv: a file pinned before a writer deletes it stays readable; listings name the
// pinned files only; files not pinned are read as the target has them.

#include "engine/pinned_files_env.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "loci/env.h"
#include "tests/testutil.h"

namespace loci::engine {
namespace {

class PinnedFilesEnvTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      dir_ = "/db";
      ASSERT_TRUE(env_->CreateDir(dir_).ok());
    } else {
      env_ = Env::Default();
      dir_ = tmp_.path();
    }
  }
  void Create(const std::string& name, const std::string& bytes) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(dir_ + "/" + name, Env::OpenMode::kCreateNew, &f).ok());
    ASSERT_TRUE(f->Write(0, bytes).ok());
  }
  std::vector<std::string> List(Env* env) {
    std::vector<std::string> names;
    EXPECT_TRUE(env->GetChildren(dir_, &names).ok());
    std::sort(names.begin(), names.end());
    return names;
  }

  std::unique_ptr<Env> mem_;
  Env* env_ = nullptr;
  test::TempDir tmp_;
  std::string dir_;
};

TEST_P(PinnedFilesEnvTest, APinnedFileOutlivesItsDeletion) {
  Create("a", "pinned bytes");
  Create("b", "other");
  PinnedFilesEnv pinned(env_);
  ASSERT_TRUE(pinned.Pin(dir_ + "/a").ok());
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/a").ok());
  ASSERT_TRUE(env_->RemoveFile(dir_ + "/b").ok());

  std::unique_ptr<RandomAccessFile> file;
  ASSERT_TRUE(pinned.NewRandomAccessFile(dir_ + "/a", &file).ok());
  std::string out;
  ASSERT_TRUE(file->Read(0, 100, &out).ok());
  EXPECT_EQ(out, "pinned bytes");
  EXPECT_EQ(List(&pinned), std::vector<std::string>{"a"});
  EXPECT_TRUE(List(env_).empty());
  // Not pinned: gone, as the target says.
  EXPECT_TRUE(pinned.NewRandomAccessFile(dir_ + "/b", &file).IsNotFound());
}

TEST_P(PinnedFilesEnvTest, ListingsNameThePinnedFilesOnly) {
  Create("a", "x");
  Create("c", "y");
  PinnedFilesEnv pinned(env_);
  ASSERT_TRUE(pinned.Pin(dir_ + "/a").ok());
  ASSERT_TRUE(pinned.Pin(dir_ + "/a").ok());
  ASSERT_TRUE(pinned.Pin(dir_ + "/c").ok());
  Create("later", "z");  // created after the pins: not in the frozen listing
  EXPECT_EQ(List(&pinned), (std::vector<std::string>{"a", "c"}));
  std::unique_ptr<RandomAccessFile> file;
  EXPECT_TRUE(pinned.NewRandomAccessFile(dir_ + "/later", &file).ok());
  EXPECT_TRUE(pinned.Pin(dir_ + "/missing").IsNotFound());
}

INSTANTIATE_TEST_SUITE_P(Envs, PinnedFilesEnvTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Mem" : "Posix"; });

}  // namespace
}  // namespace loci::engine
