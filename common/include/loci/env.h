// Env: every file, directory, mapping, lock, clock and io_uring access Loci makes goes through
// this interface (LevelDB style), so tests can run on an in-memory file system and a
// power-loss simulator can sit behind it.
//
// All Env implementations are safe for concurrent use from multiple threads. Files are created
// with mode 0600 and directories with 0700. Nothing here retries a failed sync: after a Sync()
// error the caller must treat everything written since the last successful sync as lost.
//
// A database directory holds only regular files, so every call that opens or sizes a file
// refuses anything else: a symbolic link is never followed (the directory's own path may go
// through links; only the last component is checked), and a FIFO, socket, device or directory
// is reported at once, never waited on. These refusals are Corruption, naming the path and
// what is there (e.g. "d/SUPERBLOCK: not a regular file (a FIFO); a Loci database holds only
// regular files", "d/LOCK: is a symbolic link; database files are never opened through links").

#ifndef LOCI_ENV_H_
#define LOCI_ENV_H_

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"

namespace loci {

// A file written at explicit offsets. Writes to disjoint ranges may run concurrently.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Writes all of `data` at `offset`, growing the file if needed. A short write is an IOError.
  virtual Status Write(uint64_t offset, std::string_view data) = 0;
  // Makes every completed Write and Truncate durable (fdatasync). On error the file's unsynced
  // contents are unknown; the caller must not retry and should poison its instance.
  virtual Status Sync() = 0;
  // Sets the file size (not durable until Sync).
  virtual Status Truncate(uint64_t size) = 0;
  // Reserves space so that [offset, offset + len) reads as zeros and later writes there need
  // no allocation (fallocate); grows the file if needed, never shrinks it or changes bytes
  // already written. Not durable until Sync.
  virtual Status Allocate(uint64_t offset, uint64_t len) = 0;
  // Makes [offset, offset + len) read as zeros, giving its blocks back to the file system
  // where it can (a hole: fallocate PUNCH_HOLE); never changes the size. Not durable until
  // Sync, and a crash may leave the old bytes. This default writes the zeros.
  virtual Status PunchHole(uint64_t offset, uint64_t len);
  // Current size as the file system reports it.
  virtual Result<uint64_t> Size() = 0;
  virtual const std::string& path() const = 0;
};

// A file read at explicit offsets.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;

  // Reads up to `n` bytes at `offset` into `*out` (replacing its contents). Fewer bytes than `n`
  // means end of file.
  virtual Status Read(uint64_t offset, size_t n, std::string* out) const = 0;
  virtual Result<uint64_t> Size() const = 0;
  virtual const std::string& path() const = 0;
};

// A read-only view of a file through an address range reserved once at creation: data() never
// moves, so pointers into it stay valid while the region lives, even as it grows.
class MappedRegion {
 public:
  virtual ~MappedRegion() = default;

  virtual const char* data() const = 0;
  // Bytes of the file readable through data() (a prefix of the file).
  virtual uint64_t size() const = 0;
  // The reserved address range; size() never exceeds it.
  virtual uint64_t reserved() const = 0;
  // Makes [0, new_size) of the file readable. REQUIRES: new_size <= reserved() and the file
  // holds at least new_size bytes. Safe to call while other threads read below size().
  virtual Status Extend(uint64_t new_size) = 0;
  // Makes [0, size) readable (as Extend) and gives back what only growth needs: the address
  // range reserved past `size` and any descriptor held to grow. The region reads as before and
  // never grows again (reserved() becomes `size`). Not thread-safe with Extend. The default
  // only extends.
  virtual Status Freeze(uint64_t size) { return Extend(size); }
};

// One step of a linked I/O submission.
struct IoOp {
  enum class Kind { kWrite, kSync };
  Kind kind;
  WritableFile* file;
  uint64_t offset = 0;    // kWrite only
  std::string_view data;  // kWrite only
};

// Submits chains of linked operations: each starts only after the previous one completed
// successfully (io_uring IOSQE_IO_LINK: write -> fdatasync). One IoQueue is used by one thread
// at a time.
class IoQueue {
 public:
  virtual ~IoQueue() = default;
  // Runs `ops` in order and waits for all of them. Stops at the first failure and returns it.
  virtual Status SubmitLinked(std::span<const IoOp> ops) = 0;
  // True when submissions go through io_uring, false for the pwrite + fdatasync fallback.
  virtual bool uses_io_uring() const = 0;
};

// Held while the process owns a lock (see Env::LockDir); destroying it releases the lock.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  enum class OpenMode {
    kCreateNew,     // fail with IOError if the file exists
    kOpenExisting,  // fail with NotFound if it does not
    kCreateOrOpen,  // either; existing contents are kept
  };

  virtual ~Env() = default;

  // The process-wide posix Env (io_uring when the kernel allows it; setting the environment
  // variable LOCI_FORCE_PWRITE=1 forces the pwrite + fdatasync fallback). Never deleted.
  static Env* Default();

  // Opens regular file `path` for writing as `mode` says. On success stores the file in
  // *result. Failure: IOError (kCreateNew and the name exists) or NotFound (kOpenExisting and
  // it does not, or a missing parent), Corruption if `path` is a symlink (dangling or not: its
  // target is never created) or not a regular file, IOError for other file system errors.
  virtual Status NewWritableFile(const std::string& path, OpenMode mode,
                                 std::unique_ptr<WritableFile>* result) = 0;
  // Opens regular file `path` for reading. Failure: NotFound, Corruption if it is a symlink or
  // not a regular file, IOError.
  virtual Status NewRandomAccessFile(const std::string& path,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  // Reserves `reserve_bytes` of address space for a read-only view of regular file `path`,
  // initially covering min(file size, reserve_bytes) rounded down to what is mapped safely.
  // Failures as NewRandomAccessFile, plus InvalidArgument for a reservation of 0 or > 2^56.
  virtual Status NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                                 std::unique_ptr<MappedRegion>* result) = 0;
  virtual std::unique_ptr<IoQueue> NewIoQueue() = 0;

  // Whether the entry `path` exists, whatever it is; a symlink exists even if its target does
  // not (it is not followed).
  virtual bool FileExists(const std::string& path) = 0;
  // Names (not paths) of the entries of `dir`, excluding "." and "..".
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* names) = 0;
  // The size of regular file `path` (not followed if a symlink). Failure: NotFound,
  // Corruption if it is not a regular file, IOError.
  virtual Status GetFileSize(const std::string& path, uint64_t* size) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  // Creates `dir` (one level); OK if it already exists as a directory.
  virtual Status CreateDir(const std::string& dir) = 0;
  // Makes creations, renames and removals of `dir`'s entries durable.
  virtual Status SyncDir(const std::string& dir) = 0;

  // Locks directory `dir` exclusively: the one-writer lock of a database. The lock belongs to
  // the directory itself, not to a file in it, so removing, replacing or symlinking any of its
  // entries neither releases nor duplicates it. It conflicts with every other LockDir of the
  // same directory, from this process or another; a read needs no lock. The holder's pid is
  // also written to `dir`/LOCK (see common/file_names.h) so a second locker can be told who
  // holds it: best effort, never through a link, never a reason to fail.
  // Success: *lock holds the lock until it is destroyed (or, posix, the process exits).
  // Failure: Busy "<dir> is locked by process N" ("by another process" when the holder is not
  // known) if it is held; NotFound or IOError if `dir` is not a directory that can be opened.
  // *lock is left unchanged.
  virtual Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) = 0;

  // Wall-clock microseconds since the Unix epoch (not steady_clock: timestamps must mean the
  // same thing across restarts).
  virtual int64_t NowMicros() = 0;
};

// An IoQueue that runs each op through WritableFile::Write / Sync in order, on the calling
// thread (no io_uring). It works with files of any Env: an Env that wraps another's files must
// return this from NewIoQueue(), since the posix io_uring queue needs posix files. It holds no
// state, so unlike other queues any number of threads may submit through one at once.
std::unique_ptr<IoQueue> NewSequentialIoQueue();

// Forwards every call to another Env; a test overrides only what it changes (a clock, an error).
class EnvWrapper : public Env {
 public:
  // `target` must outlive the wrapper.
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    return target_->NewWritableFile(path, mode, result);
  }
  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    return target_->NewRandomAccessFile(path, result);
  }
  Status NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                         std::unique_ptr<MappedRegion>* result) override {
    return target_->NewMappedRegion(path, reserve_bytes, result);
  }
  std::unique_ptr<IoQueue> NewIoQueue() override { return target_->NewIoQueue(); }
  bool FileExists(const std::string& path) override { return target_->FileExists(path); }
  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    return target_->GetChildren(dir, names);
  }
  Status GetFileSize(const std::string& path, uint64_t* size) override {
    return target_->GetFileSize(path, size);
  }
  Status RemoveFile(const std::string& path) override { return target_->RemoveFile(path); }
  Status RenameFile(const std::string& from, const std::string& to) override {
    return target_->RenameFile(from, to);
  }
  Status CreateDir(const std::string& dir) override { return target_->CreateDir(dir); }
  Status SyncDir(const std::string& dir) override { return target_->SyncDir(dir); }
  Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) override {
    return target_->LockDir(dir, lock);
  }
  int64_t NowMicros() override { return target_->NowMicros(); }

 private:
  Env* const target_;
};

// A new in-memory Env: files live in RAM, syncs cost nothing, the clock is the real clock.
// The caller owns the result; every object it handed out must be destroyed before it.
std::unique_ptr<Env> NewMemEnv();

}  // namespace loci

#endif  // LOCI_ENV_H_
