// Env contract tests, run against PosixEnv (in a temporary directory) and MemEnv alike, plus the
// posix-only parts: file modes, io_uring vs the pwrite fallback, short writes, a directory lock
// held by another process, and links and FIFOs where database files should be.

#include "loci/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <liburing.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/testutil.h"

namespace loci {
namespace {

using test::Contains;

::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

// Deterministic, position-dependent content, so a byte read from the wrong offset shows.
char PatternByte(uint64_t i) { return static_cast<char>('a' + (i * 7 + i / 251) % 26); }
std::string Pattern(uint64_t from, uint64_t n) {
  std::string out(n, '\0');
  for (uint64_t i = 0; i < n; i++) out[i] = PatternByte(from + i);
  return out;
}

uint64_t PageSize() { return static_cast<uint64_t>(sysconf(_SC_PAGESIZE)); }

// Runs `fn` on another thread and tells whether it returned within 5 s. What could block it is
// the FIFO `fifo`: on a timeout it is opened read-write (which never blocks on Linux, and
// releases an open blocked waiting for either end) so that the thread can finish and be joined.
bool ReturnsPromptly(const std::function<void()>& fn, const std::string& fifo) {
  std::promise<void> done;
  std::future<void> finished = done.get_future();
  std::thread thread([&] {
    fn();
    done.set_value();
  });
  const bool prompt = finished.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!prompt) {
    const int fd = open(fifo.c_str(), O_RDWR | O_NONBLOCK);
    finished.wait();
    if (fd >= 0) close(fd);
  }
  thread.join();
  return prompt;
}

// Whether this kernel lets us create a ring at all, independent of the code under test.
bool KernelAllowsIoUring() {
  io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) < 0) return false;
  io_uring_queue_exit(&ring);
  return true;
}

// Sets or clears LOCI_FORCE_PWRITE for the scope, restoring the previous value.
class ScopedForcePwrite {
 public:
  explicit ScopedForcePwrite(bool force) {
    if (const char* old = std::getenv("LOCI_FORCE_PWRITE")) old_ = old;
    if (force) {
      setenv("LOCI_FORCE_PWRITE", "1", 1);
    } else {
      unsetenv("LOCI_FORCE_PWRITE");
    }
  }
  ~ScopedForcePwrite() {
    if (old_) {
      setenv("LOCI_FORCE_PWRITE", old_->c_str(), 1);
    } else {
      unsetenv("LOCI_FORCE_PWRITE");
    }
  }

 private:
  std::optional<std::string> old_;
};

// Lowers RLIMIT_FSIZE for the scope so writes past `limit` come back short, then EFBIG.
class ScopedFileSizeLimit {
 public:
  explicit ScopedFileSizeLimit(rlim_t limit) {
    old_handler_ = signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us for writing past it
    getrlimit(RLIMIT_FSIZE, &old_);
    struct rlimit lowered = old_;
    lowered.rlim_cur = limit;
    ok_ = setrlimit(RLIMIT_FSIZE, &lowered) == 0;
  }
  ~ScopedFileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }
  bool ok() const { return ok_; }

 private:
  struct rlimit old_;
  sighandler_t old_handler_;
  bool ok_ = false;
};

enum class EnvKind { kPosix, kMem };

class EnvTest : public ::testing::TestWithParam<EnvKind> {
 protected:
  void SetUp() override {
    if (posix()) {
      env_ = Env::Default();
      root_ = tmp_.path();
    } else {
      mem_ = NewMemEnv();
      env_ = mem_.get();
      root_ = "/db";
      ASSERT_TRUE(IsOk(env_->CreateDir(root_)));
    }
  }

  bool posix() const { return GetParam() == EnvKind::kPosix; }
  std::string Path(const std::string& name) const { return root_ + "/" + name; }

  void WriteFile(const std::string& path, const std::string& contents) {
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &file)));
    ASSERT_TRUE(IsOk(file->Truncate(0)));
    ASSERT_TRUE(IsOk(file->Write(0, contents)));
  }

  std::string ReadFile(const std::string& path) {
    std::unique_ptr<RandomAccessFile> file;
    Status s = env_->NewRandomAccessFile(path, &file);
    if (!s.ok()) return "<" + s.ToString() + ">";
    std::string out;
    s = file->Read(0, 1 << 20, &out);
    if (!s.ok()) return "<" + s.ToString() + ">";
    return out;
  }

  // The queues to exercise: for posix both io_uring (when the kernel allows it) and the forced
  // pwrite fallback; for MemEnv its single sequential queue.
  std::vector<std::unique_ptr<IoQueue>> Queues() {
    std::vector<std::unique_ptr<IoQueue>> queues;
    if (posix()) {
      {
        ScopedForcePwrite force(false);
        queues.push_back(env_->NewIoQueue());
        EXPECT_EQ(queues.back()->uses_io_uring(), KernelAllowsIoUring());
      }
      ScopedForcePwrite force(true);
      queues.push_back(env_->NewIoQueue());
      EXPECT_FALSE(queues.back()->uses_io_uring());
    } else {
      queues.push_back(env_->NewIoQueue());
      EXPECT_FALSE(queues.back()->uses_io_uring());
    }
    return queues;
  }

  test::TempDir tmp_;
  std::unique_ptr<Env> mem_;  // destroyed after every object a test created
  Env* env_ = nullptr;
  std::string root_;
};

TEST_P(EnvTest, OpenModes) {
  const std::string path = Path("f");
  std::unique_ptr<WritableFile> file;

  Status s = env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &file);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
  EXPECT_FALSE(env_->FileExists(path));

  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  EXPECT_EQ(file->path(), path);
  ASSERT_TRUE(IsOk(file->Write(0, "abc")));
  file.reset();
  EXPECT_TRUE(env_->FileExists(path));

  s = env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "File exists")) << s.ToString();

  // Both other modes keep existing contents.
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &file)));
  ASSERT_TRUE(IsOk(file->Write(3, "d")));
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &file)));
  ASSERT_TRUE(IsOk(file->Write(4, "e")));
  EXPECT_EQ(ReadFile(path), "abcde");

  ASSERT_TRUE(IsOk(env_->NewWritableFile(Path("g"), Env::OpenMode::kCreateOrOpen, &file)));
  EXPECT_TRUE(env_->FileExists(Path("g")));

  s = env_->NewWritableFile(Path("nodir/h"), Env::OpenMode::kCreateOrOpen, &file);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

TEST_P(EnvTest, WriteAndReadAtOffsets) {
  const std::string path = Path("f");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  ASSERT_TRUE(IsOk(file->Write(10, "world")));  // leaves a hole at [0, 10)
  ASSERT_TRUE(IsOk(file->Write(0, "hello")));
  ASSERT_TRUE(IsOk(file->Sync()));
  Result<uint64_t> size = file->Size();
  ASSERT_TRUE(IsOk(size.status()));
  EXPECT_EQ(*size, 15u);
  uint64_t stat_size = 0;
  ASSERT_TRUE(IsOk(env_->GetFileSize(path, &stat_size)));
  EXPECT_EQ(stat_size, 15u);

  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_TRUE(IsOk(env_->NewRandomAccessFile(path, &reader)));
  EXPECT_EQ(reader->path(), path);
  std::string out = "stale";
  ASSERT_TRUE(IsOk(reader->Read(0, 15, &out)));
  EXPECT_EQ(out, std::string("hello\0\0\0\0\0world", 15));
  ASSERT_TRUE(IsOk(reader->Read(11, 3, &out)));
  EXPECT_EQ(out, "orl");
  ASSERT_TRUE(IsOk(reader->Read(12, 100, &out)));  // short read = end of file
  EXPECT_EQ(out, "rld");
  ASSERT_TRUE(IsOk(reader->Read(1000, 10, &out)));
  EXPECT_EQ(out, "");
  ASSERT_TRUE(IsOk(reader->Read(10, SIZE_MAX, &out)));  // "the rest of the file"
  EXPECT_EQ(out, "world");
  ASSERT_TRUE(IsOk(file->Write(100, "")));  // an empty write does not grow the file
  ASSERT_TRUE(IsOk(env_->GetFileSize(path, &stat_size)));
  EXPECT_EQ(stat_size, 15u);
  Result<uint64_t> reader_size = reader->Size();
  ASSERT_TRUE(IsOk(reader_size.status()));
  EXPECT_EQ(*reader_size, 15u);

  // Overwrite in the middle does not change the size.
  ASSERT_TRUE(IsOk(file->Write(5, "12345")));
  ASSERT_TRUE(IsOk(reader->Read(0, 100, &out)));
  EXPECT_EQ(out, "hello12345world");
}

TEST_P(EnvTest, Truncate) {
  const std::string path = Path("f");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  ASSERT_TRUE(IsOk(file->Write(0, "0123456789")));
  ASSERT_TRUE(IsOk(file->Truncate(4)));
  EXPECT_EQ(ReadFile(path), "0123");
  ASSERT_TRUE(IsOk(file->Truncate(6)));  // growing zero-fills
  EXPECT_EQ(ReadFile(path), std::string("0123\0\0", 6));
  Result<uint64_t> size = file->Size();
  ASSERT_TRUE(IsOk(size.status()));
  EXPECT_EQ(*size, 6u);
}

TEST_P(EnvTest, ConcurrentDisjointWrites) {
  const std::string path = Path("f");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  constexpr int kThreads = 4;
  constexpr int kWritesPerThread = 64;
  constexpr uint64_t kChunk = 300;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      // Thread t owns chunks t, t + kThreads, ...: interleaved, so the file grows from all sides.
      for (int i = 0; i < kWritesPerThread; i++) {
        uint64_t offset = (static_cast<uint64_t>(i) * kThreads + t) * kChunk;
        if (!file->Write(offset, Pattern(offset, kChunk)).ok()) failures++;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(ReadFile(path), Pattern(0, kThreads * kWritesPerThread * kChunk));
}

TEST_P(EnvTest, RenameReplacesAtomically) {
  WriteFile(Path("a"), "new");
  WriteFile(Path("b"), "old contents");
  ASSERT_TRUE(IsOk(env_->RenameFile(Path("a"), Path("b"))));
  EXPECT_FALSE(env_->FileExists(Path("a")));
  EXPECT_EQ(ReadFile(Path("b")), "new");

  Status s = env_->RenameFile(Path("a"), Path("c"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), Path("a"))) << s.ToString();
  EXPECT_FALSE(env_->FileExists(Path("c")));
}

TEST_P(EnvTest, OpenHandlesOutliveRemoveAndReplace) {
  WriteFile(Path("a"), "first");
  std::unique_ptr<RandomAccessFile> reader;
  ASSERT_TRUE(IsOk(env_->NewRandomAccessFile(Path("a"), &reader)));
  WriteFile(Path("tmp"), "second");
  ASSERT_TRUE(IsOk(env_->RenameFile(Path("tmp"), Path("a"))));
  std::string out;
  ASSERT_TRUE(IsOk(reader->Read(0, 100, &out)));
  EXPECT_EQ(out, "first");  // the old file, not the one renamed over it
  ASSERT_TRUE(IsOk(env_->RemoveFile(Path("a"))));
  ASSERT_TRUE(IsOk(reader->Read(0, 100, &out)));
  EXPECT_EQ(out, "first");
}

TEST_P(EnvTest, RenameDirectoryMovesItsEntries) {
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d1"))));
  WriteFile(Path("d1/x"), "x");
  ASSERT_TRUE(IsOk(env_->RenameFile(Path("d1"), Path("d2"))));
  EXPECT_FALSE(env_->FileExists(Path("d1")));
  EXPECT_FALSE(env_->FileExists(Path("d1/x")));
  EXPECT_EQ(ReadFile(Path("d2/x")), "x");
}

TEST_P(EnvTest, RemoveFile) {
  WriteFile(Path("f"), "data");
  ASSERT_TRUE(IsOk(env_->RemoveFile(Path("f"))));
  EXPECT_FALSE(env_->FileExists(Path("f")));
  Status s = env_->RemoveFile(Path("f"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), Path("f"))) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "No such file or directory")) << s.ToString();
  uint64_t size = 0;
  EXPECT_TRUE(env_->GetFileSize(Path("f"), &size).IsNotFound());
}

TEST_P(EnvTest, GetChildrenListsDirectChildrenOnly) {
  WriteFile(Path("a"), "1");
  WriteFile(Path("b"), "2");
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("sub"))));
  WriteFile(Path("sub/nested"), "3");
  std::vector<std::string> names = {"leftover"};
  ASSERT_TRUE(IsOk(env_->GetChildren(root_, &names)));
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "sub"}));
  ASSERT_TRUE(IsOk(env_->GetChildren(Path("sub"), &names)));
  EXPECT_EQ(names, (std::vector<std::string>{"nested"}));

  Status s = env_->GetChildren(Path("missing"), &names);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), Path("missing"))) << s.ToString();
  EXPECT_FALSE(env_->GetChildren(Path("a"), &names).ok());  // a file, not a directory
}

TEST_P(EnvTest, CreateDir) {
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d"))));
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d"))));  // idempotent
  EXPECT_TRUE(env_->FileExists(Path("d")));
  ASSERT_TRUE(IsOk(env_->SyncDir(Path("d"))));
  ASSERT_TRUE(IsOk(env_->SyncDir(root_)));

  Status s = env_->CreateDir(Path("missing/d"));  // one level only
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  WriteFile(Path("f"), "");
  s = env_->CreateDir(Path("f"));
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "not a directory")) << s.ToString();
  EXPECT_TRUE(env_->SyncDir(Path("missing")).IsNotFound());
}

TEST_P(EnvTest, FileAndDirectoryModes) {
  if (!posix()) GTEST_SKIP() << "modes are a posix property";
  WriteFile(Path("f"), "x");
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d"))));
  std::unique_ptr<FileLock> lock;
  ASSERT_TRUE(IsOk(env_->LockDir(root_, &lock)));
  struct stat st;
  ASSERT_EQ(stat(Path("f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat(Path("LOCK").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(stat(Path("d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST_P(EnvTest, MappedRegionGrowsInPlace) {
  const uint64_t page = PageSize();
  const uint64_t reserve = 64 * page;
  const std::string path = Path("arena");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  ASSERT_TRUE(IsOk(file->Write(0, Pattern(0, 100))));

  std::unique_ptr<MappedRegion> region;
  ASSERT_TRUE(IsOk(env_->NewMappedRegion(path, reserve, &region)));
  EXPECT_EQ(region->reserved(), reserve);
  ASSERT_EQ(region->size(), 100u);
  const char* base = region->data();
  EXPECT_EQ(std::string(base, 100), Pattern(0, 100));

  // Grow across several pages, ending inside a page.
  const uint64_t grown = 3 * page + 17;
  ASSERT_TRUE(IsOk(file->Write(100, Pattern(100, grown - 100))));
  ASSERT_TRUE(IsOk(region->Extend(grown)));
  EXPECT_EQ(region->data(), base);
  ASSERT_EQ(region->size(), grown);
  EXPECT_EQ(std::string(base, grown), Pattern(0, grown));

  // Shrinking requests and no-op extends keep what is visible.
  ASSERT_TRUE(IsOk(region->Extend(50)));
  EXPECT_EQ(region->size(), grown);

  // Beyond the file or the reservation: refused, nothing changes.
  Status s = region->Extend(grown + 1);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
  s = region->Extend(reserve + 1);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(region->size(), grown);

  // Up to exactly the reservation.
  ASSERT_TRUE(IsOk(file->Write(grown, Pattern(grown, reserve - grown))));
  ASSERT_TRUE(IsOk(region->Extend(reserve)));
  EXPECT_EQ(region->data(), base);
  EXPECT_EQ(std::string(base, reserve), Pattern(0, reserve));
}

TEST_P(EnvTest, MappedRegionOverEmptyFile) {
  const std::string path = Path("empty");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  std::unique_ptr<MappedRegion> region;
  ASSERT_TRUE(IsOk(env_->NewMappedRegion(path, 1 << 20, &region)));
  EXPECT_EQ(region->size(), 0u);
  EXPECT_EQ(region->reserved(), uint64_t{1} << 20);
  const char* base = region->data();
  ASSERT_NE(base, nullptr);
  ASSERT_TRUE(IsOk(file->Write(0, "0123456789")));
  ASSERT_TRUE(IsOk(region->Extend(10)));
  EXPECT_EQ(region->data(), base);
  EXPECT_EQ(std::string(base, 10), "0123456789");
}

TEST_P(EnvTest, MappedRegionCappedByReservation) {
  const uint64_t page = PageSize();
  WriteFile(Path("big"), Pattern(0, 3 * page));
  std::unique_ptr<MappedRegion> region;
  ASSERT_TRUE(IsOk(env_->NewMappedRegion(Path("big"), page + 5, &region)));
  EXPECT_EQ(region->size(), page + 5);
  EXPECT_EQ(std::string(region->data(), page + 5), Pattern(0, page + 5));

  Status s = env_->NewMappedRegion(Path("missing"), page, &region);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
}

// Readers check bytes below size() while a writer appends and extends: under TSan this also
// checks that size() publishes the bytes.
TEST_P(EnvTest, MappedRegionConcurrentReaders) {
  const std::string path = Path("arena");
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
  constexpr uint64_t kStep = 1000;
  constexpr int kSteps = 200;
  std::unique_ptr<MappedRegion> region;
  ASSERT_TRUE(IsOk(env_->NewMappedRegion(path, kStep * kSteps, &region)));

  std::atomic<bool> done{false};
  std::atomic<int> mismatches{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; r++) {
    readers.emplace_back([&] {
      const char* base = region->data();
      while (!done.load(std::memory_order_acquire)) {
        uint64_t size = region->size();
        if (size == 0) continue;
        // Spot-check the newest byte and a few older ones.
        for (uint64_t i : {size - 1, size / 2, uint64_t{0}}) {
          if (base[i] != PatternByte(i)) mismatches++;
        }
      }
    });
  }
  for (int step = 0; step < kSteps; step++) {
    uint64_t offset = step * kStep;
    ASSERT_TRUE(IsOk(file->Write(offset, Pattern(offset, kStep))));
    ASSERT_TRUE(IsOk(region->Extend(offset + kStep)));
  }
  done.store(true, std::memory_order_release);
  for (auto& reader : readers) reader.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(std::string(region->data(), kStep * kSteps), Pattern(0, kStep * kSteps));
}

TEST_P(EnvTest, IoQueueWriteSyncChain) {
  for (auto& queue : Queues()) {
    SCOPED_TRACE(queue->uses_io_uring() ? "io_uring" : "sequential");
    std::unique_ptr<WritableFile> a, b;
    ASSERT_TRUE(IsOk(env_->NewWritableFile(Path("a"), Env::OpenMode::kCreateOrOpen, &a)));
    ASSERT_TRUE(IsOk(env_->NewWritableFile(Path("b"), Env::OpenMode::kCreateOrOpen, &b)));
    ASSERT_TRUE(IsOk(a->Truncate(0)));
    ASSERT_TRUE(IsOk(b->Truncate(0)));
    // The group-commit shape: blob arena write + sync, then WAL write + sync.
    const std::string blob = Pattern(0, 5000);
    const std::vector<IoOp> ops = {
        {IoOp::Kind::kWrite, a.get(), 0, blob},
        {IoOp::Kind::kSync, a.get()},
        {IoOp::Kind::kWrite, b.get(), 0, "record-1"},
        {IoOp::Kind::kWrite, b.get(), 8, "record-2"},
        {IoOp::Kind::kSync, b.get()},
    };
    ASSERT_TRUE(IsOk(queue->SubmitLinked(ops)));
    EXPECT_EQ(ReadFile(Path("a")), blob);
    EXPECT_EQ(ReadFile(Path("b")), "record-1record-2");
    ASSERT_TRUE(IsOk(queue->SubmitLinked({})));  // empty submission is a no-op
  }
}

// More ops than the ring holds: they are split into several submissions, and order is kept
// across the splits (later writes to byte 0 must win).
TEST_P(EnvTest, IoQueueSplitsLongChainsInOrder) {
  for (auto& queue : Queues()) {
    SCOPED_TRACE(queue->uses_io_uring() ? "io_uring" : "sequential");
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(IsOk(env_->NewWritableFile(Path("f"), Env::OpenMode::kCreateOrOpen, &file)));
    ASSERT_TRUE(IsOk(file->Truncate(0)));
    constexpr int kRounds = 45;  // 3 ops each: well past any small ring depth
    std::vector<std::string> bytes;
    for (int i = 0; i < kRounds; i++) bytes.emplace_back(1, static_cast<char>('A' + i % 26));
    std::vector<IoOp> ops;
    for (int i = 0; i < kRounds; i++) {
      ops.push_back({IoOp::Kind::kWrite, file.get(), 0, bytes[i]});
      ops.push_back({IoOp::Kind::kWrite, file.get(), 1 + static_cast<uint64_t>(i), bytes[i]});
      ops.push_back({IoOp::Kind::kSync, file.get()});
    }
    ASSERT_TRUE(IsOk(queue->SubmitLinked(ops)));
    std::string expected = bytes.back();
    for (int i = 0; i < kRounds; i++) expected += bytes[i];
    EXPECT_EQ(ReadFile(Path("f")), expected);
  }
}

// A write that comes back short (RLIMIT_FSIZE lets only part of it through) must not be
// reported as success; the rest is retried, fails with EFBIG at the limit, and nothing after
// it in the chain runs.
TEST_P(EnvTest, IoQueueShortWriteIsCompletedOrReported) {
  if (!posix()) GTEST_SKIP() << "needs a real file size limit";
  for (auto& queue : Queues()) {
    SCOPED_TRACE(queue->uses_io_uring() ? "io_uring" : "sequential");
    const std::string path = Path("f");
    env_->RemoveFile(path).PermitUncheckedError();  // left by the previous queue's run
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
    const std::string big = Pattern(0, 8192);
    const std::vector<IoOp> ops = {
        {IoOp::Kind::kWrite, file.get(), 0, big},
        {IoOp::Kind::kSync, file.get()},
        {IoOp::Kind::kWrite, file.get(), 0, "Z"},  // would succeed if it ran
    };
    Status s;
    {
      ScopedFileSizeLimit limit(4096);
      ASSERT_TRUE(limit.ok());
      s = queue->SubmitLinked(ops);
    }
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), path)) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "offset 4096")) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "File too large")) << s.ToString();
    EXPECT_EQ(ReadFile(path), big.substr(0, 4096));
  }
}

// The first failing op's error is returned, not the cancellations after it.
TEST_P(EnvTest, IoQueueStopsAtFirstFailure) {
  if (!posix()) GTEST_SKIP() << "needs a real file size limit";
  for (auto& queue : Queues()) {
    SCOPED_TRACE(queue->uses_io_uring() ? "io_uring" : "sequential");
    const std::string path = Path("f");
    env_->RemoveFile(path).PermitUncheckedError();
    std::unique_ptr<WritableFile> file;
    ASSERT_TRUE(IsOk(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &file)));
    const std::vector<IoOp> ops = {
        {IoOp::Kind::kWrite, file.get(), 0, "ok"},
        {IoOp::Kind::kWrite, file.get(), 1 << 20, "past the limit"},
        {IoOp::Kind::kSync, file.get()},
        {IoOp::Kind::kWrite, file.get(), 0, "NO"},
    };
    Status s;
    {
      ScopedFileSizeLimit limit(4096);
      ASSERT_TRUE(limit.ok());
      s = queue->SubmitLinked(ops);
    }
    EXPECT_TRUE(s.IsIOError()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "offset 1048576")) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "File too large")) << s.ToString();
    EXPECT_FALSE(Contains(s.message(), "canceled")) << s.ToString();
    EXPECT_EQ(ReadFile(path), "ok");
  }
}

TEST_P(EnvTest, DirLockConflictsUntilReleased) {
  const std::string busy = root_ + " is locked by process " + std::to_string(getpid());
  std::unique_ptr<FileLock> first;
  ASSERT_TRUE(IsOk(env_->LockDir(root_, &first)));
  EXPECT_EQ(ReadFile(Path("LOCK")), "pid " + std::to_string(getpid()) + "\n");

  std::unique_ptr<FileLock> second;
  Status s = env_->LockDir(root_, &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(s.message(), busy);
  EXPECT_EQ(second, nullptr);

  // Another directory is another lock.
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("other"))));
  std::unique_ptr<FileLock> other;
  EXPECT_TRUE(IsOk(env_->LockDir(Path("other"), &other)));

  first.reset();  // releasing makes it available again
  ASSERT_TRUE(IsOk(env_->LockDir(root_, &second)));
}

// The defect the directory lock fixes: with a lock on the file LOCK, removing or replacing that
// file let a second writer in.
TEST_P(EnvTest, DirLockSurvivesRemovingOrReplacingLock) {
  std::unique_ptr<FileLock> first, second;
  ASSERT_TRUE(IsOk(env_->LockDir(root_, &first)));
  ASSERT_TRUE(IsOk(env_->RemoveFile(Path("LOCK"))));
  Status s = env_->LockDir(root_, &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();

  WriteFile(Path("elsewhere"), "pid 1\n");
  ASSERT_TRUE(IsOk(env_->RenameFile(Path("elsewhere"), Path("LOCK"))));
  s = env_->LockDir(root_, &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(second, nullptr);
}

// The lock belongs to the directory: it moves with a rename, and a new directory under the old
// name is a new lock.
TEST_P(EnvTest, DirLockFollowsTheDirectory) {
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d1"))));
  std::unique_ptr<FileLock> held, other;
  ASSERT_TRUE(IsOk(env_->LockDir(Path("d1"), &held)));
  ASSERT_TRUE(IsOk(env_->RenameFile(Path("d1"), Path("d2"))));
  Status s = env_->LockDir(Path("d2"), &other);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d1"))));
  EXPECT_TRUE(IsOk(env_->LockDir(Path("d1"), &other)));
}

TEST_P(EnvTest, DirLockNeedsADirectory) {
  std::unique_ptr<FileLock> lock;
  Status s = env_->LockDir(Path("missing"), &lock);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), Path("missing"))) << s.ToString();
  WriteFile(Path("f"), "x");
  s = env_->LockDir(Path("f"), &lock);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), Path("f"))) << s.ToString();
  EXPECT_EQ(lock, nullptr);
  EXPECT_EQ(ReadFile(Path("f")), "x");
}

// A directory where a file is expected is refused the same way by every Env.
TEST_P(EnvTest, DirectoryIsNotAFile) {
  ASSERT_TRUE(IsOk(env_->CreateDir(Path("d"))));
  const std::string what = Path("d") + ": not a regular file (a directory)";
  std::unique_ptr<WritableFile> writer;
  std::unique_ptr<RandomAccessFile> reader;
  std::unique_ptr<MappedRegion> region;
  uint64_t size = 0;
  for (Status s :
       {env_->NewWritableFile(Path("d"), Env::OpenMode::kOpenExisting, &writer),
        env_->NewWritableFile(Path("d"), Env::OpenMode::kCreateOrOpen, &writer),
        env_->NewRandomAccessFile(Path("d"), &reader),
        env_->NewMappedRegion(Path("d"), 4096, &region), env_->GetFileSize(Path("d"), &size)}) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), what)) << s.ToString();
  }
}

TEST_P(EnvTest, ErrorsNameThePath) {
  std::unique_ptr<RandomAccessFile> reader;
  Status s = env_->NewRandomAccessFile(Path("nope"), &reader);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), Path("nope"))) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "No such file or directory")) << s.ToString();
}

TEST_P(EnvTest, NowMicrosIsWallClock) {
  const int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t now = env_->NowMicros();
  EXPECT_GE(now, before);
  EXPECT_LT(now - before, 5'000'000);
}

std::string EnvName(const ::testing::TestParamInfo<EnvKind>& param) {
  return param.param == EnvKind::kPosix ? "Posix" : "Mem";
}
INSTANTIATE_TEST_SUITE_P(AllEnvs, EnvTest, ::testing::Values(EnvKind::kPosix, EnvKind::kMem),
                         EnvName);

TEST(PosixEnvTest, DefaultIsOneInstance) { EXPECT_EQ(Env::Default(), Env::Default()); }

TEST(PosixEnvTest, IoQueueUsesIoUringWhenTheKernelAllows) {
  ScopedForcePwrite force(false);
  std::unique_ptr<IoQueue> queue = Env::Default()->NewIoQueue();
  const bool available = KernelAllowsIoUring();
  EXPECT_EQ(queue->uses_io_uring(), available);
  RecordProperty("io_uring", available ? "available" : "unavailable");
}

// A lock held by another process names that process, and removing or replacing LOCK (which
// only names the holder) lets nobody else in.
TEST(PosixEnvTest, DirLockHeldByAnotherProcessNamesItsPid) {
  test::TempDir dir;
  Env* env = Env::Default();
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::unique_ptr<FileLock> lock;
    char c = env->LockDir(dir.path(), &lock).ok() ? 'y' : 'n';
    (void)!write(ready[1], &c, 1);
    (void)!read(release[0], &c, 1);
    _exit(0);  // the kernel drops the lock with the descriptor
  }
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  EXPECT_EQ(c, 'y');

  std::unique_ptr<FileLock> lock;
  Status named = env->LockDir(dir.path(), &lock);
  unlink(dir.Join("LOCK").c_str());
  Status unlinked = env->LockDir(dir.path(), &lock);
  ASSERT_EQ(symlink("/dev/null", dir.Join("LOCK").c_str()), 0);
  Status symlinked = env->LockDir(dir.path(), &lock);
  ASSERT_EQ(write(release[1], "x", 1), 1);
  int wstatus = 0;
  ASSERT_EQ(waitpid(child, &wstatus, 0), child);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);

  EXPECT_TRUE(named.IsBusy()) << named.ToString();
  EXPECT_EQ(named.message(), dir.path() + " is locked by process " + std::to_string(child));
  for (const Status& s : {unlinked, symlinked}) {
    EXPECT_TRUE(s.IsBusy()) << s.ToString();
    EXPECT_EQ(s.message(), dir.path() + " is locked by another process");
  }
  // The child is gone, and so is its lock.
  EXPECT_TRUE(IsOk(env->LockDir(dir.path(), &lock)));
}

// LOCK is never opened through a link: a symlink (dangling or not) or a hard link to a file
// elsewhere leaves that file as it was, while the lock still excludes a second holder.
TEST(PosixEnvTest, DirLockNeverWritesThroughLinks) {
  test::TempDir dir, outside;
  Env* env = Env::Default();
  const std::string lock_path = dir.Join("LOCK");
  const std::string victim = outside.Join("victim");
  {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(IsOk(env->NewWritableFile(victim, Env::OpenMode::kCreateNew, &f)));
    ASSERT_TRUE(IsOk(f->Write(0, "precious")));
  }
  auto victim_intact = [&] {
    std::unique_ptr<RandomAccessFile> f;
    std::string got;
    return env->NewRandomAccessFile(victim, &f).ok() && f->Read(0, 100, &got).ok() &&
           got == "precious";
  };
  auto lock_is_regular = [&] {
    struct stat st;
    return lstat(lock_path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1;
  };

  // A symlink in place of LOCK before the lock is taken: replaced, not followed.
  ASSERT_EQ(symlink(victim.c_str(), lock_path.c_str()), 0);
  std::unique_ptr<FileLock> first, second;
  ASSERT_TRUE(IsOk(env->LockDir(dir.path(), &first)));
  EXPECT_TRUE(victim_intact());
  EXPECT_TRUE(lock_is_regular());

  // ... and while it is held: a second locker is still refused, and touches nothing.
  ASSERT_EQ(unlink(lock_path.c_str()), 0);
  ASSERT_EQ(symlink(victim.c_str(), lock_path.c_str()), 0);
  Status s = env->LockDir(dir.path(), &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_TRUE(victim_intact());
  first.reset();

  // A hard link.
  ASSERT_EQ(unlink(lock_path.c_str()), 0);
  ASSERT_EQ(link(victim.c_str(), lock_path.c_str()), 0);
  ASSERT_TRUE(IsOk(env->LockDir(dir.path(), &first)));
  EXPECT_TRUE(victim_intact());
  EXPECT_TRUE(lock_is_regular());
  first.reset();

  // A dangling symlink: its target is not created.
  const std::string ghost = outside.Join("ghost");
  ASSERT_EQ(unlink(lock_path.c_str()), 0);
  ASSERT_EQ(symlink(ghost.c_str(), lock_path.c_str()), 0);
  ASSERT_TRUE(IsOk(env->LockDir(dir.path(), &first)));
  EXPECT_FALSE(env->FileExists(ghost));
  EXPECT_TRUE(lock_is_regular());
}

// A FIFO in place of LOCK blocks neither the lock nor the Busy message of a second locker.
TEST(PosixEnvTest, DirLockIsNotBlockedByAFifo) {
  test::TempDir dir;
  Env* env = Env::Default();
  const std::string lock_path = dir.Join("LOCK");
  ASSERT_EQ(mkfifo(lock_path.c_str(), 0600), 0);
  std::unique_ptr<FileLock> first, second;
  Status locked, busy;
  EXPECT_TRUE(ReturnsPromptly([&] { locked = env->LockDir(dir.path(), &first); }, lock_path));
  EXPECT_TRUE(IsOk(locked));
  ASSERT_EQ(unlink(lock_path.c_str()), 0);
  ASSERT_EQ(mkfifo(lock_path.c_str(), 0600), 0);
  EXPECT_TRUE(ReturnsPromptly([&] { busy = env->LockDir(dir.path(), &second); }, lock_path));
  EXPECT_TRUE(busy.IsBusy()) << busy.ToString();
}

// The opens and sizes of a database file, each returning its status: what must refuse an
// entry that is not a regular file.
std::vector<std::pair<std::string, Status>> OpenEveryWay(Env* env, const std::string& path) {
  std::unique_ptr<WritableFile> writer;
  std::unique_ptr<RandomAccessFile> reader;
  std::unique_ptr<MappedRegion> region;
  uint64_t size = 0;
  return {
      {"NewWritableFile kOpenExisting",
       env->NewWritableFile(path, Env::OpenMode::kOpenExisting, &writer)},
      {"NewWritableFile kCreateOrOpen",
       env->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &writer)},
      {"NewWritableFile kCreateNew",
       env->NewWritableFile(path, Env::OpenMode::kCreateNew, &writer)},
      {"NewRandomAccessFile", env->NewRandomAccessFile(path, &reader)},
      {"NewMappedRegion", env->NewMappedRegion(path, 1 << 20, &region)},
      {"GetFileSize", env->GetFileSize(path, &size)},
  };
}

// Writes `contents` to a new file at `path` through the posix Env.
void CreatePosixFile(const std::string& path, const std::string& contents) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(IsOk(Env::Default()->NewWritableFile(path, Env::OpenMode::kCreateNew, &f)));
  ASSERT_TRUE(IsOk(f->Write(0, contents)));
}

std::string ReadPosixFile(const std::string& path) {
  std::unique_ptr<RandomAccessFile> f;
  std::string out;
  Status s = Env::Default()->NewRandomAccessFile(path, &f);
  if (s.ok()) s = f->Read(0, 1 << 20, &out);
  return s.ok() ? out : "<" + s.ToString() + ">";
}

// A symlink where a database file should be is never followed, by any open: with O_NOFOLLOW
// missing, the writes went to the target.
TEST(PosixEnvTest, SymlinkedFileIsRefusedAndItsTargetUntouched) {
  test::TempDir dir, outside;
  Env* env = Env::Default();
  const std::string target = outside.Join("target");
  CreatePosixFile(target, "precious");
  const std::string link = dir.Join("wal-00000001.log");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);

  for (const auto& [how, s] : OpenEveryWay(env, link)) {
    EXPECT_TRUE(s.IsCorruption()) << how << ": " << s.ToString();
    EXPECT_EQ(s.message(), link +
                               ": is a symbolic link; database files are never opened "
                               "through links")
        << how;
  }
  EXPECT_TRUE(env->FileExists(link));
  EXPECT_EQ(ReadPosixFile(target), "precious");
  struct stat st;
  ASSERT_EQ(stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8);
}

// A dangling symlink: creating through it would create its target elsewhere.
TEST(PosixEnvTest, DanglingSymlinkCreatesNothing) {
  test::TempDir dir, outside;
  Env* env = Env::Default();
  const std::string ghost = outside.Join("ghost");
  const std::string link = dir.Join("SUPERBLOCK.tmp");
  ASSERT_EQ(symlink(ghost.c_str(), link.c_str()), 0);
  EXPECT_TRUE(env->FileExists(link));  // the link is an entry, whatever it points to
  for (const auto& [how, s] : OpenEveryWay(env, link)) {
    EXPECT_TRUE(s.IsCorruption()) << how << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "symbolic link")) << how << ": " << s.ToString();
  }
  struct stat st;
  EXPECT_NE(lstat(ghost.c_str(), &st), 0);
}

// A FIFO where a database file should be: every open returns at once with an error naming it
// (a plain read open blocked forever, waiting for a writer).
TEST(PosixEnvTest, FifoIsRefusedPromptly) {
  test::TempDir dir;
  const std::string fifo = dir.Join("SUPERBLOCK");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::vector<std::pair<std::string, Status>> results;
  EXPECT_TRUE(ReturnsPromptly([&] { results = OpenEveryWay(Env::Default(), fifo); }, fifo));
  ASSERT_EQ(results.size(), 6u);
  for (const auto& [how, s] : results) {
    EXPECT_TRUE(s.IsCorruption()) << how << ": " << s.ToString();
    EXPECT_EQ(s.message(),
              fifo + ": not a regular file (a FIFO); a Loci database holds only regular files")
        << how;
  }
}

// ... also when a reader holds the FIFO open, which lets a write open through.
TEST(PosixEnvTest, FifoWithAReaderIsRefused) {
  test::TempDir dir;
  const std::string fifo = dir.Join("wal-00000001.log");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  std::unique_ptr<WritableFile> writer;
  Status s;
  EXPECT_TRUE(ReturnsPromptly(
      [&] { s = Env::Default()->NewWritableFile(fifo, Env::OpenMode::kOpenExisting, &writer); },
      fifo));
  close(reader);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "(a FIFO)")) << s.ToString();
}

TEST(PosixEnvTest, SocketIsRefused) {
  test::TempDir dir;
  const std::string path = dir.Join("ckpt-00000001.ckpt");
  const int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(sock, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(bind(sock, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  for (const auto& [how, s] : OpenEveryWay(Env::Default(), path)) {
    EXPECT_TRUE(s.IsCorruption()) << how << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "not a regular file (a socket)"))
        << how << ": " << s.ToString();
  }
  close(sock);
}

// Users put a database behind a symlinked directory: only the files inside are protected, the
// path to them may go through links. The lock is the directory's, whichever path names it.
TEST(PosixEnvTest, DatabaseDirectoryMayBeASymlink) {
  test::TempDir real, links;
  Env* env = Env::Default();
  const std::string via = links.Join("db");
  ASSERT_EQ(symlink(real.path().c_str(), via.c_str()), 0);
  CreatePosixFile(via + "/SUPERBLOCK", "sb");
  EXPECT_EQ(ReadPosixFile(real.Join("SUPERBLOCK")), "sb");
  uint64_t size = 0;
  ASSERT_TRUE(IsOk(env->GetFileSize(via + "/SUPERBLOCK", &size)));
  EXPECT_EQ(size, 2u);
  std::unique_ptr<FileLock> first, second;
  ASSERT_TRUE(IsOk(env->LockDir(via, &first)));
  Status s = env->LockDir(real.path(), &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
}

TEST(MemEnvTest, PathsAreNormalised) {
  std::unique_ptr<Env> env = NewMemEnv();
  ASSERT_TRUE(IsOk(env->CreateDir("/d/")));
  std::unique_ptr<WritableFile> file;
  ASSERT_TRUE(IsOk(env->NewWritableFile("/d//f", Env::OpenMode::kCreateNew, &file)));
  EXPECT_TRUE(env->FileExists("/d/f"));
  EXPECT_TRUE(env->FileExists("/d/./x/../f"));
  Status s = env->NewWritableFile("/d/f", Env::OpenMode::kCreateNew, &file);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  std::vector<std::string> names;
  ASSERT_TRUE(IsOk(env->GetChildren("/", &names)));
  EXPECT_EQ(names, std::vector<std::string>{"d"});
}

// Objects are destroyed before the Env, and the Env then goes away cleanly (ASan checks the
// rest).
TEST(MemEnvTest, DestroyedAfterItsObjects) {
  std::unique_ptr<Env> env = NewMemEnv();
  std::unique_ptr<WritableFile> file;
  std::unique_ptr<MappedRegion> region;
  std::unique_ptr<FileLock> lock;
  ASSERT_TRUE(IsOk(env->NewWritableFile("/f", Env::OpenMode::kCreateNew, &file)));
  ASSERT_TRUE(IsOk(file->Write(0, "abc")));
  ASSERT_TRUE(IsOk(env->NewMappedRegion("/f", 4096, &region)));
  ASSERT_TRUE(IsOk(env->LockDir("/", &lock)));
  // Another MemEnv has its own lock table.
  std::unique_ptr<Env> other = NewMemEnv();
  std::unique_ptr<FileLock> other_lock;
  EXPECT_TRUE(IsOk(other->LockDir("/", &other_lock)));
  other_lock.reset();
  other.reset();
  lock.reset();
  region.reset();
  file.reset();
  env.reset();
}

}  // namespace
}  // namespace loci
