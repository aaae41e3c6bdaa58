// MemEnv: an Env whose files and directories live in RAM, for fast tests.
//
// It mirrors PosixEnv's observable behaviour (OpenMode rules, one-level CreateDir, atomic
// rename-replace, NotFound for missing entries, same error texts), so code tested on it behaves
// the same on disk. Every write is immediately "durable": Sync and SyncDir only check their
// argument. A power-loss simulator is meant to wrap this Env (forwarding every call and keeping
// its own log of unsynced writes, truncates and namespace changes); on a simulated crash it
// rewrites the affected files through this same interface. Nothing here needs to know about it.
//
// Namespace model: one tree rooted at "/", which always exists. Paths are normalised ("a//b/",
// "/a/./b" and "/a/c/../b" are "/a/b"; a relative path is taken from "/"). File contents are
// shared (like an inode) by every handle and mapping of the file, so a removed or replaced file
// stays readable through handles opened before.

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "common/io_uring_queue.h"
#include "common/mutex.h"
#include "loci/env.h"

namespace loci {
namespace {

// Writes past this offset fail with EFBIG instead of trying to allocate it.
constexpr uint64_t kMaxFileSize = uint64_t{1} << 36;

// The contents of one file, and the mapped views of it: a write is copied into every view that
// already exposes the bytes it changes, so mappings stay coherent with the file like a posix
// MAP_SHARED mapping (the engine maps preallocated zeros and later writes blobs over them).
struct MemFile {
  struct View {
    char* base;
    const std::atomic<uint64_t>* size;
  };
  MemFile() = default;
  // A file with `contents`, before anyone else can see it.
  explicit MemFile(std::string contents) : data(std::move(contents)) {}

  mutable SharedMutex mu;
  std::string data GUARDED_BY(mu);
  std::vector<View> views GUARDED_BY(mu);
};

std::string NormalizePath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  if (parts.empty()) return "/";
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

// REQUIRES: `path` is normalised. The parent of "/" is "/".
std::string ParentOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? std::string("/") : path.substr(0, slash);
}

class MemWritableFile final : public WritableFile {
 public:
  MemWritableFile(std::string path, std::shared_ptr<MemFile> file)
      : path_(std::move(path)), file_(std::move(file)) {}

  Status Write(uint64_t offset, std::string_view data) override {
    if (offset > kMaxFileSize || data.size() > kMaxFileSize - offset) {
      return PosixError(path_ + ": write at offset " + std::to_string(offset), EFBIG);
    }
    if (data.empty()) return Status::OK();  // like pwrite: does not grow the file
    // Exclusive even for disjoint ranges: growing the string may move it.
    WriterMutexLock lock(&file_->mu);
    const size_t end = static_cast<size_t>(offset + data.size());
    if (end > file_->data.size()) file_->data.resize(end, '\0');
    std::memcpy(file_->data.data() + offset, data.data(), data.size());
    for (const MemFile::View& view : file_->views) {
      const uint64_t exposed = view.size->load(std::memory_order_relaxed);
      if (offset < exposed) {
        std::memcpy(view.base + offset, data.data(), std::min<uint64_t>(end, exposed) - offset);
      }
    }
    return Status::OK();
  }

  Status Sync() override { return Status::OK(); }

  Status Truncate(uint64_t size) override {
    if (size > kMaxFileSize) {
      return PosixError(path_ + ": ftruncate to " + std::to_string(size), EFBIG);
    }
    WriterMutexLock lock(&file_->mu);
    file_->data.resize(static_cast<size_t>(size), '\0');
    return Status::OK();
  }

  Status Allocate(uint64_t offset, uint64_t len) override {
    if (offset > kMaxFileSize || len > kMaxFileSize - offset) {
      return PosixError(path_ + ": fallocate at offset " + std::to_string(offset), EFBIG);
    }
    WriterMutexLock lock(&file_->mu);
    if (offset + len > file_->data.size())
      file_->data.resize(static_cast<size_t>(offset + len), '\0');
    return Status::OK();
  }

  Result<uint64_t> Size() override {
    ReaderMutexLock lock(&file_->mu);
    return static_cast<uint64_t>(file_->data.size());
  }

  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  const std::shared_ptr<MemFile> file_;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  MemRandomAccessFile(std::string path, std::shared_ptr<MemFile> file)
      : path_(std::move(path)), file_(std::move(file)) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    ReaderMutexLock lock(&file_->mu);
    if (offset >= file_->data.size()) {
      out->clear();
    } else {
      out->assign(file_->data, static_cast<size_t>(offset), n);  // clamps at end of file
    }
    return Status::OK();
  }

  Result<uint64_t> Size() const override {
    ReaderMutexLock lock(&file_->mu);
    return static_cast<uint64_t>(file_->data.size());
  }

  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  const std::shared_ptr<MemFile> file_;
};

// Same contract as the posix region, built by copying: the reservation is anonymous memory,
// Extend copies file bytes [size(), new_size) into it, and later writes to exposed bytes are
// copied in by MemWritableFile::Write (coherent, like MAP_SHARED). Truncation does not shrink
// the view; touching truncated bytes is an error on posix (SIGBUS) and Loci never does.
class MemMappedRegion final : public MappedRegion {
 public:
  static Status Open(const std::string& path, std::shared_ptr<MemFile> file, uint64_t reserve_bytes,
                     std::unique_ptr<MappedRegion>* result) {
    if (reserve_bytes == 0 || reserve_bytes > (uint64_t{1} << 56)) {
      return Status::InvalidArgument(path + ": cannot reserve " + std::to_string(reserve_bytes) +
                                     " bytes of address space");
    }
    const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
    const uint64_t span = (reserve_bytes + page - 1) / page * page;
    void* base = ::mmap(nullptr, span, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
      return PosixError(path + ": reserve " + std::to_string(span) + " bytes", errno);
    }
    auto region = std::unique_ptr<MemMappedRegion>(
        new MemMappedRegion(path, std::move(file), static_cast<char*>(base), reserve_bytes, span));
    {
      MutexLock guard(&region->mu_);
      WriterMutexLock lock(&region->file_->mu);
      region->CopyPrefixLocked(std::min<uint64_t>(region->file_->data.size(), reserve_bytes));
      region->file_->views.push_back(MemFile::View{region->base_, &region->size_});
    }
    *result = std::move(region);
    return Status::OK();
  }

  ~MemMappedRegion() override {
    {
      WriterMutexLock lock(&file_->mu);
      std::erase_if(file_->views, [&](const MemFile::View& v) { return v.base == base_; });
    }
    ::munmap(base_, span_);
  }
  MemMappedRegion(const MemMappedRegion&) = delete;
  MemMappedRegion& operator=(const MemMappedRegion&) = delete;

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
    ReaderMutexLock lock(&file_->mu);
    if (file_->data.size() < new_size) {
      return Status::InvalidArgument(path_ + ": cannot extend mapping to " +
                                     std::to_string(new_size) + " bytes, the file holds only " +
                                     std::to_string(file_->data.size()));
    }
    CopyPrefixLocked(new_size);
    return Status::OK();
  }

 private:
  MemMappedRegion(std::string path, std::shared_ptr<MemFile> file, char* base, uint64_t reserved,
                  uint64_t span)
      : path_(std::move(path)),
        file_(std::move(file)),
        base_(base),
        reserved_(reserved),
        span_(span) {}

  // Copies file bytes [size(), new_size) and publishes new_size. REQUIRES: new_size <=
  // min(file size, reserved_). Readers only touch bytes below size(), so the copy never races
  // with them.
  void CopyPrefixLocked(uint64_t new_size) REQUIRES(mu_) REQUIRES_SHARED(file_->mu) {
    const uint64_t old_size = size_.load(std::memory_order_relaxed);
    if (new_size <= old_size) return;
    std::memcpy(base_ + old_size, file_->data.data() + old_size, new_size - old_size);
    size_.store(new_size, std::memory_order_release);
  }

  const std::string path_;
  const std::shared_ptr<MemFile> file_;
  char* const base_;
  const uint64_t reserved_;
  const uint64_t span_;
  // Serialises Extend: the copy into base_ past size_, and size_'s increase. size_ is read
  // without it.
  Mutex mu_;
  std::atomic<uint64_t> size_{0};
};

class MemEnv;

class MemDirLock final : public FileLock {
 public:
  MemDirLock(MemEnv* env, uint64_t dir_id) : env_(env), dir_id_(dir_id) {}
  ~MemDirLock() override;
  MemDirLock(const MemDirLock&) = delete;
  MemDirLock& operator=(const MemDirLock&) = delete;

 private:
  MemEnv* const env_;
  const uint64_t dir_id_;
};

class MemEnv final : public Env {
 public:
  MemEnv() { nodes_.emplace("/", NewDirNodeLocked()); }
  ~MemEnv() override { assert(locked_dirs_.empty() && "a FileLock outlived its MemEnv"); }

  Status NewWritableFile(const std::string& path, OpenMode mode,
                         std::unique_ptr<WritableFile>* result) override {
    const std::string context = path + ": open for writing";
    const std::string key = NormalizePath(path);
    std::shared_ptr<MemFile> file;
    {
      MutexLock guard(&mu_);
      auto it = nodes_.find(key);
      if (it != nodes_.end()) {
        if (it->second.is_dir()) return NotARegularFile(path, "a directory");
        if (mode == OpenMode::kCreateNew) return PosixError(context, EEXIST);
        file = it->second.file;
      } else {
        if (mode == OpenMode::kOpenExisting) return PosixError(context, ENOENT);
        LOCI_RETURN_IF_ERROR(CheckParentLocked(key, context));
        file = std::make_shared<MemFile>();
        nodes_.emplace(key, Node{file});
      }
    }
    *result = std::make_unique<MemWritableFile>(path, std::move(file));
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& path,
                             std::unique_ptr<RandomAccessFile>* result) override {
    std::shared_ptr<MemFile> file;
    LOCI_RETURN_IF_ERROR(FindFile(path, path + ": open for reading", &file));
    *result = std::make_unique<MemRandomAccessFile>(path, std::move(file));
    return Status::OK();
  }

  Status NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                         std::unique_ptr<MappedRegion>* result) override {
    std::shared_ptr<MemFile> file;
    LOCI_RETURN_IF_ERROR(FindFile(path, path + ": open", &file));
    return MemMappedRegion::Open(path, std::move(file), reserve_bytes, result);
  }

  std::unique_ptr<IoQueue> NewIoQueue() override { return NewSequentialIoQueue(); }

  bool FileExists(const std::string& path) override {
    MutexLock guard(&mu_);
    return nodes_.count(NormalizePath(path)) != 0;
  }

  Status GetChildren(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    const std::string key = NormalizePath(dir);
    MutexLock guard(&mu_);
    LOCI_RETURN_IF_ERROR(CheckDirLocked(key, dir + ": open directory"));
    const std::string prefix = key == "/" ? key : key + "/";
    // Descendants of `dir` sort contiguously right after `prefix`.
    for (auto it = nodes_.lower_bound(prefix);
         it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      std::string_view rest = std::string_view(it->first).substr(prefix.size());
      if (!rest.empty() && rest.find('/') == std::string_view::npos) names->emplace_back(rest);
    }
    return Status::OK();
  }

  Status GetFileSize(const std::string& path, uint64_t* size) override {
    MutexLock guard(&mu_);
    auto it = nodes_.find(NormalizePath(path));
    if (it == nodes_.end()) return PosixError(path + ": stat", ENOENT);
    if (it->second.is_dir()) return NotARegularFile(path, "a directory");
    ReaderMutexLock lock(&it->second.file->mu);
    *size = it->second.file->data.size();
    return Status::OK();
  }

  Status RemoveFile(const std::string& path) override {
    const std::string context = path + ": unlink";
    MutexLock guard(&mu_);
    auto it = nodes_.find(NormalizePath(path));
    if (it == nodes_.end()) return PosixError(context, ENOENT);
    if (it->second.is_dir()) return PosixError(context, EISDIR);
    nodes_.erase(it);
    return Status::OK();
  }

  Status RenameFile(const std::string& from, const std::string& to) override {
    const std::string context = from + ": rename to " + to;
    const std::string src = NormalizePath(from);
    const std::string dst = NormalizePath(to);
    MutexLock guard(&mu_);
    auto src_it = nodes_.find(src);
    if (src_it == nodes_.end()) return PosixError(context, ENOENT);
    if (src == dst) return Status::OK();
    LOCI_RETURN_IF_ERROR(CheckParentLocked(dst, context));
    auto dst_it = nodes_.find(dst);
    if (!src_it->second.is_dir()) {
      if (dst_it != nodes_.end() && dst_it->second.is_dir()) return PosixError(context, EISDIR);
      nodes_[dst] = src_it->second;  // replaces any existing file in one step
      nodes_.erase(src);
      return Status::OK();
    }
    // Renaming a directory moves its whole subtree; like rename(2) the target may only be a
    // missing name or an empty directory, and never inside the source.
    if (dst.compare(0, src.size() + 1, src + "/") == 0) return PosixError(context, EINVAL);
    if (dst_it != nodes_.end()) {
      if (!dst_it->second.is_dir()) return PosixError(context, ENOTDIR);
      auto child = nodes_.lower_bound(dst + "/");
      if (child != nodes_.end() && child->first.compare(0, dst.size() + 1, dst + "/") == 0) {
        return PosixError(context, ENOTEMPTY);
      }
      nodes_.erase(dst_it);
    }
    std::vector<std::pair<std::string, Node>> moved;
    moved.emplace_back(dst, src_it->second);
    const std::string src_prefix = src + "/";
    for (auto it = nodes_.lower_bound(src_prefix);
         it != nodes_.end() && it->first.compare(0, src_prefix.size(), src_prefix) == 0;) {
      moved.emplace_back(dst + it->first.substr(src.size()), it->second);
      it = nodes_.erase(it);
    }
    nodes_.erase(src);
    for (auto& [key, node] : moved) nodes_[key] = std::move(node);
    return Status::OK();
  }

  Status CreateDir(const std::string& dir) override {
    const std::string key = NormalizePath(dir);
    MutexLock guard(&mu_);
    auto it = nodes_.find(key);
    if (it != nodes_.end()) {
      if (it->second.is_dir()) return Status::OK();
      return Status::IOError(dir + ": mkdir: exists and is not a directory");
    }
    LOCI_RETURN_IF_ERROR(CheckParentLocked(key, dir + ": mkdir"));
    nodes_.emplace(key, NewDirNodeLocked());
    return Status::OK();
  }

  Status SyncDir(const std::string& dir) override {
    MutexLock guard(&mu_);
    return CheckDirLocked(NormalizePath(dir), dir + ": open directory");
  }

  // Like the posix lock, it belongs to the directory (its identity follows a rename) and every
  // holder is this process.
  Status LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) override {
    const std::string key = NormalizePath(dir);
    const std::string holder = "process " + std::to_string(::getpid());
    MutexLock guard(&mu_);
    LOCI_RETURN_IF_ERROR(CheckDirLocked(key, dir + ": open directory to lock it"));
    const uint64_t dir_id = nodes_.at(key).dir_id;
    if (!locked_dirs_.insert(dir_id).second) return Status::Busy(dir + " is locked by " + holder);
    // The posix lock's note, replacing whatever file was there (a directory there stays).
    const std::string note = JoinPath(key, kLockFileName);
    auto it = nodes_.find(note);
    if (it == nodes_.end() || !it->second.is_dir()) {
      nodes_[note] = Node{std::make_shared<MemFile>("pid " + std::to_string(::getpid()) + "\n")};
    }
    *lock = std::make_unique<MemDirLock>(this, dir_id);
    return Status::OK();
  }

  int64_t NowMicros() override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Called by ~MemDirLock.
  void Unlock(uint64_t dir_id) EXCLUDES(mu_) {
    MutexLock guard(&mu_);
    [[maybe_unused]] const size_t erased = locked_dirs_.erase(dir_id);
    assert(erased == 1);
  }

 private:
  // A directory (file == nullptr) or a file.
  struct Node {
    std::shared_ptr<MemFile> file;
    uint64_t dir_id = 0;  // a directory's identity: what LockDir locks; kept across renames
    bool is_dir() const { return file == nullptr; }
  };

  // Also called by the constructor, which the analysis does not check.
  Node NewDirNodeLocked() REQUIRES(mu_) { return Node{nullptr, ++last_dir_id_}; }

  // OK when normalised `key` names a directory; else ENOENT or ENOTDIR under `context`.
  Status CheckDirLocked(const std::string& key, const std::string& context) const REQUIRES(mu_) {
    auto it = nodes_.find(key);
    if (it == nodes_.end()) return PosixError(context, ENOENT);
    if (!it->second.is_dir()) return PosixError(context, ENOTDIR);
    return Status::OK();
  }

  // What open(O_CREAT), mkdir and rename(2) check: the new entry's parent is a directory.
  Status CheckParentLocked(const std::string& key, const std::string& context) const REQUIRES(mu_) {
    return CheckDirLocked(ParentOf(key), context);
  }

  Status FindFile(const std::string& path, const std::string& context,
                  std::shared_ptr<MemFile>* file) EXCLUDES(mu_) {
    MutexLock guard(&mu_);
    auto it = nodes_.find(NormalizePath(path));
    if (it == nodes_.end()) return PosixError(context, ENOENT);
    if (it->second.is_dir()) return NotARegularFile(path, "a directory");
    *file = it->second.file;
    return Status::OK();
  }

  Mutex mu_;
  // Every file and directory by normalised path; "/" is always present.
  std::map<std::string, Node> nodes_ GUARDED_BY(mu_);
  uint64_t last_dir_id_ GUARDED_BY(mu_) = 0;
  // Identities of the directories LockDir holds.
  std::set<uint64_t> locked_dirs_ GUARDED_BY(mu_);
};

MemDirLock::~MemDirLock() { env_->Unlock(dir_id_); }

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace loci
