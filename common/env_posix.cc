// PosixEnv: the production Env over a Linux file system.
//
// Files are written with pwrite at explicit offsets and made durable with fdatasync. The blob
// arena is read through PosixMappedRegion, a read-only MAP_SHARED view placed inside an address
// range reserved once, so pointers into it survive growth (research/storage_reliability.md
// §1.8(f)). Database files are opened only if they are regular files, never through a symlink
// and never blocking on a FIFO (OpenRegularFile). The writer lock is flock(2) on the database
// directory itself: it conflicts between any two open file descriptions, even in one process, and
// no file operation inside the directory can release it. Every descriptor is opened with O_CLOEXEC
// so a fork+exec never inherits one (an inherited lock descriptor would keep the database locked
// after we exit).

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/file_names.h"
#include "common/io_uring_queue.h"
#include "common/mutex.h"
#include "loci/env.h"

namespace loci {
namespace {

constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;
// Small on purpose: one group commit is a handful of write -> fdatasync links; longer chains
// are split into several submissions.
constexpr unsigned kIoUringDepth = 8;
// Reads asking for more than this first check the file size (one fstat) before allocating.
constexpr size_t kReadClampThreshold = size_t{1} << 20;

uint64_t PageSize() {
  static const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return page;
}

uint64_t RoundUpToPage(uint64_t n) {
  const uint64_t page = PageSize();
  return (n + page - 1) / page * page;
}

// open(2) with O_CLOEXEC, retried when a signal interrupts it (possible on FUSE and NFS).
int OpenCloexec(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// What a file of type `mode` is, for NotARegularFile.
const char* FileKind(mode_t mode) {
  if (S_ISLNK(mode)) return "a symbolic link";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISDIR(mode)) return "a directory";
  return "an unknown kind of file";
}

// Opens database file `path` with `flags` (plus O_CLOEXEC), or explains why it cannot be one.
// Never through a symlink: O_NOFOLLOW applies to the last component only, so the database
// directory itself may be reached through links. Never blocking on a FIFO: O_NONBLOCK makes
// such an open return at once, and is cleared again once the file is known to be regular (it
// would turn io_uring writes into EAGAIN). Fails with NotARegularFile for anything but a
// regular file, otherwise with PosixError(path + ": " + what).
Status OpenRegularFile(const std::string& path, int flags, const char* what, int* fd) {
  *fd = OpenCloexec(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, kFileMode);
  struct stat st;
  if (*fd < 0) {
    const int err = errno;
    // ELOOP (a symlink), ENXIO (a FIFO nobody reads, a socket), EISDIR...: say what is there.
    if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return NotARegularFile(path, FileKind(st.st_mode));
    }
    return PosixError(path + ": " + what, err);
  }
  Status s;
  int fl = 0;
  if (::fstat(*fd, &st) != 0) {
    s = PosixError(path + ": fstat", errno);
  } else if (!S_ISREG(st.st_mode)) {
    s = NotARegularFile(path, FileKind(st.st_mode));
  } else if ((fl = ::fcntl(*fd, F_GETFL)) < 0 || ::fcntl(*fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    s = PosixError(path + ": fcntl", errno);
  }
  if (!s.ok()) {
    ::close(*fd);
    *fd = -1;
  }
  return s;
}

Status FileSizeOfFd(int fd, const std::string& path, uint64_t* size) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return PosixError(path + ": fstat", errno);
  *size = static_cast<uint64_t>(st.st_size);
  return Status::OK();
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override { ::close(fd_); }
  PosixWritableFile(const PosixWritableFile&) = delete;
  PosixWritableFile& operator=(const PosixWritableFile&) = delete;

  Status Write(uint64_t offset, std::string_view data) override {
    const char* p = data.data();
    size_t left = data.size();
    uint64_t off = offset;
    // pwrite may write less than asked (signals, RLIMIT_FSIZE, the 2 GiB per-call cap): loop
    // until everything is written or the kernel reports why it cannot be.
    while (left > 0) {
      ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(off));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError(path_ + ": write at offset " + std::to_string(off), errno);
      }
      if (n == 0) {
        return Status::IOError(path_ + ": write at offset " + std::to_string(off) +
                               ": no progress (0 bytes written)");
      }
      p += n;
      left -= static_cast<size_t>(n);
      off += static_cast<uint64_t>(n);
    }
    return Status::OK();
  }

  Status Sync() override {
    // Never retried, not even on EINTR: after a failed fdatasync the kernel may have dropped
    // the dirty pages, so a later success would lie (the "fsyncgate" lesson).
    if (::fdatasync(fd_) != 0) return PosixError(path_ + ": fdatasync", errno);
    return Status::OK();
  }

  Status Truncate(uint64_t size) override {
    int rc;
    do {
      rc = ::ftruncate(fd_, static_cast<off_t>(size));
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return PosixError(path_ + ": ftruncate to " + std::to_string(size), errno);
    return Status::OK();
  }

  Status PunchHole(uint64_t offset, uint64_t len) override {
    if (len == 0) return Status::OK();
    int rc;
    do {
      rc = ::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return Status::OK();
    if (errno != EOPNOTSUPP) {
      return PosixError(path_ + ": punching a hole of " + std::to_string(len) +
                            " bytes at offset " + std::to_string(offset),
                        errno);
    }
    return WritableFile::PunchHole(offset, len);  // a file system without holes: zeros
  }

  Status Allocate(uint64_t offset, uint64_t len) override {
    if (len == 0) return Status::OK();
    int rc;
    do {
      rc = ::fallocate(fd_, 0, static_cast<off_t>(offset), static_cast<off_t>(len));
    } while (rc != 0 && errno == EINTR);
    if (rc == 0) return Status::OK();
    if (errno != EOPNOTSUPP) {
      return PosixError(path_ + ": fallocate " + std::to_string(len) + " bytes at offset " +
                            std::to_string(offset),
                        errno);
    }
    // A file system without fallocate: extend with zeros, but never over existing bytes.
    uint64_t size = 0;
    LOCI_RETURN_IF_ERROR(FileSizeOfFd(fd_, path_, &size));
    if (offset + len <= size) return Status::OK();
    const uint64_t from = std::max(offset, size);
    const std::string zeros(std::min<uint64_t>(offset + len - from, 1 << 20), '\0');
    for (uint64_t at = from; at < offset + len; at += zeros.size()) {
      LOCI_RETURN_IF_ERROR(Write(at, std::string_view(zeros).substr(
                                         0, std::min<uint64_t>(zeros.size(), offset + len - at))));
    }
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    uint64_t size = 0;
    Status s = FileSizeOfFd(fd_, path_, &size);
    if (!s.ok()) return s;
    return size;
  }

  const std::string& path() const override { return path_; }
  int fd() const { return fd_; }

 private:
  const std::string path_;
  const int fd_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }
  PosixRandomAccessFile(const PosixRandomAccessFile&) = delete;
  PosixRandomAccessFile& operator=(const PosixRandomAccessFile&) = delete;

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    if (n > kReadClampThreshold) {
      // "Read the rest" callers pass a huge n: size the buffer by the file, not by n.
      uint64_t size = 0;
      LOCI_RETURN_IF_ERROR(FileSizeOfFd(fd_, path_, &size));
      n = static_cast<size_t>(std::min<uint64_t>(n, size > offset ? size - offset : 0));
    }
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, out->data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        out->clear();
        return PosixError(path_ + ": read at offset " + std::to_string(offset + got), err);
      }
      if (r == 0) break;  // end of file
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return Status::OK();
  }

  Result<uint64_t> Size() const override {
    uint64_t size = 0;
    Status s = FileSizeOfFd(fd_, path_, &size);
    if (!s.ok()) return s;
    return size;
  }

  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  const int fd_;
};

// The reservation is PROT_NONE anonymous memory; the file is mapped over its start with
// MAP_FIXED, page by page as it grows. Only pages holding at least one file byte are mapped:
// touching a page wholly past EOF raises SIGBUS, while the tail of the last partial page
// reads as zeros.
class PosixMappedRegion final : public MappedRegion {
 public:
  static Status Open(const std::string& path, uint64_t reserve_bytes,
                     std::unique_ptr<MappedRegion>* result) {
    if (reserve_bytes == 0 || reserve_bytes > (uint64_t{1} << 56)) {
      return Status::InvalidArgument(path + ": cannot reserve " + std::to_string(reserve_bytes) +
                                     " bytes of address space");
    }
    int fd = -1;
    LOCI_RETURN_IF_ERROR(OpenRegularFile(path, O_RDONLY, "open", &fd));
    uint64_t file_size = 0;
    Status s = FileSizeOfFd(fd, path, &file_size);
    if (!s.ok()) {
      ::close(fd);
      return s;
    }
    const uint64_t span = RoundUpToPage(reserve_bytes);
    void* base =
        ::mmap(nullptr, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return PosixError(path + ": reserve " + std::to_string(span) + " bytes", err);
    }
    auto region = std::unique_ptr<PosixMappedRegion>(
        new PosixMappedRegion(path, fd, static_cast<char*>(base), reserve_bytes, span));
    {
      MutexLock guard(&region->mu_);
      LOCI_RETURN_IF_ERROR(region->MapPrefixLocked(std::min(file_size, reserve_bytes)));
    }
    *result = std::move(region);
    return Status::OK();
  }

  ~PosixMappedRegion() override {
    if (span_ > 0) ::munmap(base_, span_);
    if (fd_ >= 0) ::close(fd_);
  }
  PosixMappedRegion(const PosixMappedRegion&) = delete;
  PosixMappedRegion& operator=(const PosixMappedRegion&) = delete;

  const char* data() const override { return base_; }
  uint64_t size() const override { return size_.load(std::memory_order_acquire); }
  uint64_t reserved() const override { return reserved_; }

  Status Extend(uint64_t new_size) override {
    if (new_size > reserved_) {
      return Status::InvalidArgument(path_ + ": cannot extend mapping to " +
                                     std::to_string(new_size) + " bytes, only " +
                                     std::to_string(reserved_) + " are reserved");
    }
    MutexLock guard(&mu_);
    if (new_size <= size_.load(std::memory_order_relaxed)) return Status::OK();
    // Checked rather than trusted: mapping a page the file does not reach would turn a caller
    // bug into a SIGBUS in some unrelated reader later.
    uint64_t file_size = 0;
    LOCI_RETURN_IF_ERROR(FileSizeOfFd(fd_, path_, &file_size));
    if (file_size < new_size) {
      return Status::InvalidArgument(path_ + ": cannot extend mapping to " +
                                     std::to_string(new_size) + " bytes, the file holds only " +
                                     std::to_string(file_size));
    }
    return MapPrefixLocked(new_size);
  }

  Status Freeze(uint64_t size) override {
    LOCI_RETURN_IF_ERROR(Extend(size));
    MutexLock guard(&mu_);
    const uint64_t keep = RoundUpToPage(size);
    if (keep < span_ && ::munmap(base_ + keep, span_ - keep) != 0) {
      return PosixError(path_ + ": unmap the reservation past " + std::to_string(keep), errno);
    }
    span_ = std::min(span_, keep);
    reserved_ = size;
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    return Status::OK();
  }

 private:
  PosixMappedRegion(std::string path, int fd, char* base, uint64_t reserved, uint64_t span)
      : path_(std::move(path)), fd_(fd), base_(base), reserved_(reserved), span_(span) {}

  // Maps the pages covering [0, new_size) and publishes new_size. REQUIRES: the file holds at
  // least new_size bytes, new_size <= reserved_.
  Status MapPrefixLocked(uint64_t new_size) REQUIRES(mu_) {
    const uint64_t want = RoundUpToPage(new_size);
    if (want > mapped_) {
      void* p = ::mmap(base_ + mapped_, want - mapped_, PROT_READ, MAP_SHARED | MAP_FIXED, fd_,
                       static_cast<off_t>(mapped_));
      if (p == MAP_FAILED) {
        int err = errno;
        // A failed MAP_FIXED may already have unmapped the target range. Put the reservation
        // back so no other mapping can land inside our range (munmap in the destructor would
        // destroy it).
        ::mmap(base_ + mapped_, span_ - mapped_, PROT_NONE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        return PosixError(path_ + ": mmap " + std::to_string(want - mapped_) + " bytes at offset " +
                              std::to_string(mapped_),
                          err);
      }
      mapped_ = want;
    }
    // Release: a reader that sees the new size also sees the mapping.
    size_.store(new_size, std::memory_order_release);
    return Status::OK();
  }

  const std::string path_;
  int fd_;  // -1 once frozen
  char* const base_;
  // As requested, and its page multiple (what the destructor unmaps); both shrink to the
  // frozen size (Freeze, which no Extend may run beside).
  uint64_t reserved_;
  uint64_t span_;
  Mutex mu_;                             // serialises Extend
  uint64_t mapped_ GUARDED_BY(mu_) = 0;  // bytes mapped from the file, a page multiple
  // Written under mu_, read without it: a reader that sees it also sees the mapping.
  std::atomic<uint64_t> size_{0};
};

class PosixDirLock final : public FileLock {
 public:
  explicit PosixDirLock(int fd) : fd_(fd) {}
  // Closing the only descriptor of the open file description releases the flock.
  ~PosixDirLock() override { ::close(fd_); }
  PosixDirLock(const PosixDirLock&) = delete;
  PosixDirLock& operator=(const PosixDirLock&) = delete;

 private:
  const int fd_;
};

// How often LockDir locks again when the directory it locked is no longer the one its path
// names (renamed away, or a symlinked path retargeted, between the open and the check).
constexpr int kLockDirAttempts = 3;

// Whether open descriptor `fd` and `path` (followed, like the open was) are the same inode.
bool IsSameFile(int fd, const std::string& path) {
  struct stat held, named;
  return ::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 &&
         held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

// Writes "pid N" into dir/LOCK, for DescribeLockHolder. Best effort: the lock is the
// directory's, so nothing here may fail it. Whatever LOCK was is unlinked first (unlink removes
// a symlink, never its target; it refuses a directory, and the exclusive create then fails) and
// a new regular file is created: LOCK is never opened through a symlink, and never written
// through a hard link or into a FIFO or device someone put there.
void RecordLockHolder(const std::string& dir) {
  const std::string path = JoinPath(dir, kLockFileName);
  ::unlink(path.c_str());
  const int fd = OpenCloexec(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, kFileMode);
  if (fd < 0) return;
  const std::string text = "pid " + std::to_string(::getpid()) + "\n";
  ssize_t n = ::pwrite(fd, text.data(), text.size(), 0);
  (void)n;
  ::close(fd);
}

// Who holds the lock on `dir`: "process N" when dir/LOCK names a live process, "another
// process" otherwise (no note yet, an unreadable one, or one left by a holder that is gone).
std::string DescribeLockHolder(const std::string& dir) {
  constexpr std::string_view kUnknown = "another process";
  const std::string path = JoinPath(dir, kLockFileName);
  // O_NONBLOCK: a FIFO put in LOCK's place must not block the open.
  const int fd = OpenCloexec(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return std::string(kUnknown);
  struct stat st;
  char buf[64];
  ssize_t n = 0;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) n = ::pread(fd, buf, sizeof(buf), 0);
  ::close(fd);
  std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
  constexpr std::string_view kPrefix = "pid ";
  if (!text.starts_with(kPrefix)) return std::string(kUnknown);
  text.remove_prefix(kPrefix.size());
  long pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || pid <= 0 || end == text.data()) return std::string(kUnknown);
  // A holder that died without a successor rewriting the note leaves its pid behind.
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return std::string(kUnknown);
  return "process " + std::to_string(pid);
}

class PosixEnv final : public Env {
 public:
  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    int flags = O_WRONLY;
    switch (mode) {
      case OpenMode::kCreateNew:
        flags |= O_CREAT | O_EXCL;
        break;
      case OpenMode::kOpenExisting:
        break;
      case OpenMode::kCreateOrOpen:
        flags |= O_CREAT;
        break;
    }
    int fd = -1;
    LOCI_RETURN_IF_ERROR(OpenRegularFile(path, flags, "open for writing", &fd));
    *result = std::make_unique<PosixWritableFile>(path, fd);
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    int fd = -1;
    LOCI_RETURN_IF_ERROR(OpenRegularFile(path, O_RDONLY, "open for reading", &fd));
    *result = std::make_unique<PosixRandomAccessFile>(path, fd);
    return Status::OK();
  }

  Status NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                         std::unique_ptr<MappedRegion>* result) override {
    return PosixMappedRegion::Open(path, reserve_bytes, result);
  }

  std::unique_ptr<IoQueue> NewIoQueue() override {
    // Read on every call (not cached) so a test can flip it between queues.
    const char* force = std::getenv("LOCI_FORCE_PWRITE");
    if (force == nullptr || std::strcmp(force, "1") != 0) {
      if (std::unique_ptr<IoQueue> queue = NewIoUringQueue(kIoUringDepth)) return queue;
    }
    return NewSequentialIoQueue();
  }

  // lstat, not access(2): a symlink is an entry that exists, whether or not its target does.
  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::lstat(path.c_str(), &st) == 0;
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    int fd = OpenCloexec(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return PosixError(dir + ": open directory", errno);
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      ::close(fd);
      return PosixError(dir + ": fdopendir", err);
    }
    for (;;) {
      errno = 0;
      struct dirent* entry = ::readdir(d);
      if (entry == nullptr) break;
      std::string_view name(entry->d_name);
      if (name == "." || name == "..") continue;
      names->emplace_back(name);
    }
    int err = errno;
    ::closedir(d);  // also closes fd
    if (err != 0) return PosixError(dir + ": readdir", err);
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0) return PosixError(path + ": stat", errno);
    if (!S_ISREG(st.st_mode)) return NotARegularFile(path, FileKind(st.st_mode));
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError(path + ": unlink", errno);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError(from + ": rename to " + to, errno);
    }
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    if (::mkdir(dir.c_str(), kDirMode) == 0) return Status::OK();
    int err = errno;
    if (err == EEXIST) {
      struct stat st;
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::OK();
      return Status::IOError(dir + ": mkdir: exists and is not a directory");
    }
    return PosixError(dir + ": mkdir", err);
  }

  Status SyncDir(const std::string& dir) override {
    int fd = OpenCloexec(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return PosixError(dir + ": open directory", errno);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return PosixError(dir + ": fsync directory", err);
    return Status::OK();
  }

  Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) override {
    for (int attempt = 1;; ++attempt) {
      const int fd = OpenCloexec(dir, O_RDONLY | O_DIRECTORY);
      if (fd < 0) return PosixError(dir + ": open directory to lock it", errno);
      int rc;
      do {
        rc = ::flock(fd, LOCK_EX | LOCK_NB);
      } while (rc != 0 && errno == EINTR);
      if (rc != 0) {
        const int err = errno;
        ::close(fd);
        if (err != EWOULDBLOCK) return PosixError(dir + ": lock", err);
        return Status::Busy(dir + " is locked by " + DescribeLockHolder(dir));
      }
      // The path may have come to name another directory after the open: then what we hold
      // does not protect the files the caller will open through `dir`.
      if (IsSameFile(fd, dir)) {
        RecordLockHolder(dir);
        *lock = std::make_unique<PosixDirLock>(fd);
        return Status::OK();
      }
      ::close(fd);
      if (attempt == kLockDirAttempts) {
        return Status::IOError(dir + ": lock: the path kept naming another directory");
      }
    }
  }

  int64_t NowMicros() override {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
  }
};

}  // namespace

int PosixFileDescriptor(WritableFile* file) {
  assert(dynamic_cast<PosixWritableFile*>(file) != nullptr &&
         "IoQueue ops must use files created by the same (posix) Env");
  return static_cast<PosixWritableFile*>(file)->fd();
}

Env* Env::Default() {
  // Leaked on purpose: static destructors and detached threads may still use it at exit.
  static Env* const env = new PosixEnv();
  return env;
}

}  // namespace loci
