// The power-loss simulator.

#include "tests/sim/sim_env.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace loci::sim {

namespace {
constexpr int64_t kClockStart = 1767225600LL * 1000000;  // 2026-01-01T00:00:00Z
constexpr uint64_t kSector = 512;

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : (slash == 0 ? "/" : path.substr(0, slash));
}

Status Dead(const std::string& path) {
  return Status::IOError(path + ": handle from before a simulated crash");
}
}  // namespace

struct SimEnv::Node {
  struct Op {
    bool truncate = false;
    uint64_t offset = 0;  // write: where; truncate: the new size
    std::string data;
    bool doomed = false;  // covered by a failed sync: never becomes durable
  };
  struct View {
    char* base;
    const std::atomic<uint64_t>* size;
  };
  std::string durable;
  std::string visible;
  std::vector<Op> pending;
  std::vector<View> views;

  static void Apply(const Op& op, std::string* image) {
    if (op.truncate) {
      image->resize(op.offset, '\0');
      return;
    }
    if (image->size() < op.offset + op.data.size()) image->resize(op.offset + op.data.size(), '\0');
    std::memcpy(image->data() + op.offset, op.data.data(), op.data.size());
  }
};

struct SimEnv::DirOp {
  enum Kind { kCreate, kRemove, kRename } kind;
  std::string from;  // create/remove: the path; rename: the source
  std::string to;    // rename: the target
  std::shared_ptr<Node> node;
};

// ---- handles

class SimEnv::File final : public WritableFile {
 public:
  File(SimEnv* env, std::string path, std::shared_ptr<Node> node, uint64_t epoch)
      : env_(env), path_(std::move(path)), node_(std::move(node)), epoch_(epoch) {}

  Status Write(uint64_t offset, std::string_view data) override {
    std::unique_lock<std::mutex> lock(env_->mu_);
    if (!env_->hold_substring_.empty() && path_.find(env_->hold_substring_) != std::string::npos) {
      env_->hold_substring_.clear();  // only this write is held
      env_->holding_ = true;
      ++env_->held_writes_;
      env_->hold_cv_.notify_all();
      env_->hold_cv_.wait(lock, [&] { return !env_->holding_; });
      --env_->held_writes_;
    }
    if (epoch_ != env_->epoch_) return Dead(path_);
    if (!env_->TickLocked()) return env_->PowerLossLocked(path_ + ": write");
    if (data.empty()) return Status::OK();
    const uint64_t end = offset + data.size();
    if (end > node_->visible.size() &&
        env_->TotalBytesLocked() + (end - node_->visible.size()) > env_->space_limit_) {
      ++env_->stats_.faults_injected;
      return Status::IOError(path_ + ": write at offset " + std::to_string(offset) +
                             ": No space left on device (simulated)");
    }
    bool short_write = false;
    if (env_->short_write_next_) {
      env_->short_write_next_ = false;
      ++env_->stats_.faults_injected;
      short_write = true;
      data = data.substr(0, data.size() / 2);
    }
    if (env_->misdirect_next_ != 0) {
      const int64_t shifted = static_cast<int64_t>(offset) + env_->misdirect_next_;
      env_->misdirect_next_ = 0;
      ++env_->stats_.faults_injected;
      ++env_->stats_.writes_misdirected;
      offset = static_cast<uint64_t>(std::max<int64_t>(0, shifted));
    }
    if (std::getenv("SIM_TRACE") != nullptr) {
      std::printf("  op %llu: write %s @%llu +%zu\n",
                  static_cast<unsigned long long>(env_->stats_.mutating_ops), path_.c_str(),
                  static_cast<unsigned long long>(offset), data.size());
    }
    Node::Op op;
    op.offset = offset;
    op.data.assign(data);
    Node::Apply(op, &node_->visible);
    for (const Node::View& v : node_->views) {  // mappings stay coherent, like MAP_SHARED
      const uint64_t exposed = v.size->load(std::memory_order_relaxed);
      if (offset < exposed) {
        std::memcpy(v.base + offset, data.data(),
                    std::min<uint64_t>(offset + data.size(), exposed) - offset);
      }
    }
    node_->pending.push_back(std::move(op));
    if (short_write) return Status::IOError(path_ + ": short write (simulated)");
    return Status::OK();
  }

  Status Sync() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return Dead(path_);
    if (!env_->TickLocked()) return env_->PowerLossLocked(path_ + ": fdatasync");
    if (env_->sync_failures_ != 0) {
      if (env_->sync_failures_ > 0) --env_->sync_failures_;
      ++env_->stats_.faults_injected;
      // fsyncgate: the kernel marks the pages clean; that data never reaches the disk.
      for (Node::Op& op : node_->pending) op.doomed = true;
      return Status::IOError(path_ + ": fdatasync: Input/output error (simulated)");
    }
    for (const Node::Op& op : node_->pending) {
      if (!op.doomed) Node::Apply(op, &node_->durable);
    }
    node_->pending.clear();
    return Status::OK();
  }

  Status Truncate(uint64_t size) override { return Resize(size, /*grow_only=*/false); }
  Status Allocate(uint64_t offset, uint64_t len) override {
    return Resize(offset + len, /*grow_only=*/true);
  }

  Result<uint64_t> Size() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return Dead(path_);
    return static_cast<uint64_t>(node_->visible.size());
  }

  const std::string& path() const override { return path_; }

 private:
  Status Resize(uint64_t size, bool grow_only) {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return Dead(path_);
    if (!env_->TickLocked()) return env_->PowerLossLocked(path_ + ": truncate");
    if (grow_only && size <= node_->visible.size()) return Status::OK();
    Node::Op op;
    op.truncate = true;
    op.offset = size;
    Node::Apply(op, &node_->visible);
    node_->pending.push_back(std::move(op));
    return Status::OK();
  }

  SimEnv* const env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  const uint64_t epoch_;
};

class SimEnv::Reader final : public RandomAccessFile {
 public:
  Reader(SimEnv* env, std::string path, std::shared_ptr<Node> node, uint64_t epoch)
      : env_(env), path_(std::move(path)), node_(std::move(node)), epoch_(epoch) {}

  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return Dead(path_);
    if (env_->read_failures_ > 0) {
      --env_->read_failures_;
      ++env_->stats_.faults_injected;
      return Status::IOError(path_ + ": read at offset " + std::to_string(offset) +
                             ": Input/output error (simulated)");
    }
    const std::string& data = node_->visible;
    if (offset >= data.size()) {
      out->clear();
    } else {
      out->assign(data, offset, n);
    }
    return Status::OK();
  }

  Result<uint64_t> Size() const override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return Dead(path_);
    return static_cast<uint64_t>(node_->visible.size());
  }

  const std::string& path() const override { return path_; }

 private:
  SimEnv* const env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  const uint64_t epoch_;
};

// A reserved anonymous range holding a copy of the file, kept coherent by File::Write.
class SimEnv::Region final : public MappedRegion {
 public:
  Region(SimEnv* env, std::string path, std::shared_ptr<Node> node, char* base, uint64_t reserved,
         uint64_t span)
      : env_(env),
        path_(std::move(path)),
        node_(std::move(node)),
        base_(base),
        reserved_(reserved),
        span_(span) {}

  ~Region() override {
    {
      std::lock_guard<std::mutex> lock(env_->mu_);
      std::erase_if(node_->views, [&](const Node::View& v) { return v.base == base_; });
    }
    ::munmap(base_, span_);
  }

  const char* data() const override { return base_; }
  uint64_t size() const override { return size_.load(std::memory_order_acquire); }
  uint64_t reserved() const override { return reserved_; }

  Status Extend(uint64_t new_size) override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (new_size > reserved_ || new_size > node_->visible.size()) {
      return Status::InvalidArgument(path_ + ": cannot map " + std::to_string(new_size) + " bytes");
    }
    CopyLocked(new_size);
    return Status::OK();
  }

  // REQUIRES: env_->mu_ held.
  void CopyLocked(uint64_t new_size) {
    const uint64_t old = size_.load(std::memory_order_relaxed);
    if (new_size <= old) return;
    std::memcpy(base_ + old, node_->visible.data() + old, new_size - old);
    size_.store(new_size, std::memory_order_release);
  }
  void RegisterLocked() { node_->views.push_back(Node::View{base_, &size_}); }

 private:
  SimEnv* const env_;
  const std::string path_;
  const std::shared_ptr<Node> node_;
  char* const base_;
  const uint64_t reserved_;
  const uint64_t span_;
  std::atomic<uint64_t> size_{0};
};

class SimEnv::Lock final : public FileLock {
 public:
  Lock(SimEnv* env, std::string dir, uint64_t epoch)
      : env_(env), dir_(std::move(dir)), epoch_(epoch) {}
  ~Lock() override {
    std::lock_guard<std::mutex> lock(env_->mu_);
    if (epoch_ != env_->epoch_) return;  // released by the crash
    env_->locked_dirs_.erase(dir_);
  }

 private:
  SimEnv* const env_;
  const std::string dir_;
  const uint64_t epoch_;
};

// ---- SimEnv

SimEnv::SimEnv(uint64_t seed) : rng_(seed) { dirs_.push_back("/"); }
SimEnv::~SimEnv() = default;

bool SimEnv::TickLocked() {
  if (powered_off_) return false;
  ++stats_.mutating_ops;
  if (power_off_at_ != 0 && --power_off_at_ == 0) {
    powered_off_ = true;
    return false;
  }
  return true;
}

Status SimEnv::PowerLossLocked(const std::string& what) const {
  return Status::IOError(what + ": power lost (simulated)");
}

std::shared_ptr<SimEnv::Node> SimEnv::FindLocked(const std::string& path) const {
  auto it = names_.find(path);
  return it == names_.end() ? nullptr : it->second;
}

uint64_t SimEnv::TotalBytesLocked() const {
  uint64_t total = 0;
  for (const auto& [name, node] : names_) total += node->visible.size();
  return total;
}

Status SimEnv::NewWritableFile(const std::string& path, OpenMode mode,
                               std::unique_ptr<WritableFile>* result) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (node && mode == OpenMode::kCreateNew) {
    return Status::IOError(path + ": open: File exists");
  }
  if (!node && mode == OpenMode::kOpenExisting) {
    return Status::NotFound(path + ": open: No such file or directory");
  }
  if (!node) {
    if (std::find(dirs_.begin(), dirs_.end(), ParentOf(path)) == dirs_.end()) {
      return Status::NotFound(path + ": open: No such file or directory");
    }
    if (!TickLocked()) return PowerLossLocked(path + ": create");
    node = std::make_shared<Node>();
    names_[path] = node;
    pending_dir_ops_.push_back(DirOp{DirOp::kCreate, path, "", node});
  }
  *result = std::make_unique<File>(this, path, node, epoch_);
  return Status::OK();
}

Status SimEnv::NewRandomAccessFile(const std::string& path,
                                   std::unique_ptr<RandomAccessFile>* result) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (!node) return Status::NotFound(path + ": open: No such file or directory");
  *result = std::make_unique<Reader>(this, path, node, epoch_);
  return Status::OK();
}

Status SimEnv::NewMappedRegion(const std::string& path, uint64_t reserve_bytes,
                               std::unique_ptr<MappedRegion>* result) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (!node) return Status::NotFound(path + ": open: No such file or directory");
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t span = (reserve_bytes + page - 1) / page * page;
  void* base = ::mmap(nullptr, span, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return Status::IOError(path + ": cannot reserve address space");
  auto region =
      std::make_unique<Region>(this, path, node, static_cast<char*>(base), reserve_bytes, span);
  region->CopyLocked(std::min<uint64_t>(node->visible.size(), reserve_bytes));
  region->RegisterLocked();
  *result = std::move(region);
  return Status::OK();
}

bool SimEnv::FileExists(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  return names_.count(path) != 0 || std::find(dirs_.begin(), dirs_.end(), path) != dirs_.end();
}

Status SimEnv::GetChildren(const std::string& dir, std::vector<std::string>* names) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) {
    return Status::NotFound(dir + ": opendir: No such file or directory");
  }
  names->clear();
  for (const auto& [path, node] : names_) {
    if (ParentOf(path) == dir) names->push_back(path.substr(path.rfind('/') + 1));
  }
  for (const std::string& d : dirs_) {
    if (d != dir && ParentOf(d) == dir) names->push_back(d.substr(d.rfind('/') + 1));
  }
  return Status::OK();
}

Status SimEnv::GetFileSize(const std::string& path, uint64_t* size) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (!node) return Status::NotFound(path + ": stat: No such file or directory");
  *size = node->visible.size();
  return Status::OK();
}

Status SimEnv::RemoveFile(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (!node) return Status::NotFound(path + ": unlink: No such file or directory");
  if (!TickLocked()) return PowerLossLocked(path + ": unlink");
  names_.erase(path);
  pending_dir_ops_.push_back(DirOp{DirOp::kRemove, path, "", node});
  return Status::OK();
}

Status SimEnv::RenameFile(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(from);
  if (!node) return Status::NotFound(from + ": rename: No such file or directory");
  if (!TickLocked()) return PowerLossLocked(from + ": rename");
  names_.erase(from);
  names_[to] = node;
  pending_dir_ops_.push_back(DirOp{DirOp::kRename, from, to, node});
  return Status::OK();
}

// Directories are modelled as durable once created (Loci creates its one directory before
// anything else and syncs its parent implicitly through the first SyncDir).
Status SimEnv::CreateDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::find(dirs_.begin(), dirs_.end(), dir) != dirs_.end()) return Status::OK();
  if (names_.count(dir) != 0) return Status::IOError(dir + ": mkdir: File exists");
  if (std::find(dirs_.begin(), dirs_.end(), ParentOf(dir)) == dirs_.end()) {
    return Status::NotFound(dir + ": mkdir: No such file or directory");
  }
  if (!TickLocked()) return PowerLossLocked(dir + ": mkdir");
  dirs_.push_back(dir);
  return Status::OK();
}

void SimEnv::ApplyDirOpLocked(const DirOp& op,
                              std::map<std::string, std::shared_ptr<Node>>* names) {
  switch (op.kind) {
    case DirOp::kCreate:
      (*names)[op.from] = op.node;
      break;
    case DirOp::kRemove:
      names->erase(op.from);
      break;
    case DirOp::kRename:
      names->erase(op.from);
      (*names)[op.to] = op.node;
      break;
  }
}

Status SimEnv::SyncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!TickLocked()) return PowerLossLocked(dir + ": fsync directory");
  std::vector<DirOp> rest;
  for (const DirOp& op : pending_dir_ops_) {
    const bool here = ParentOf(op.from) == dir || (!op.to.empty() && ParentOf(op.to) == dir);
    if (here) {
      ApplyDirOpLocked(op, &durable_names_);
    } else {
      rest.push_back(op);
    }
  }
  pending_dir_ops_ = std::move(rest);
  return Status::OK();
}

// No LOCK note: the simulator has one process, and a note would be one more file for crashes
// and faults to act on, none of which recovery may depend on.
Status SimEnv::LockDir(const std::string& dir, std::unique_ptr<FileLock>* lock) {
  std::lock_guard<std::mutex> guard(mu_);
  if (std::find(dirs_.begin(), dirs_.end(), dir) == dirs_.end()) {
    return Status::NotFound(dir + ": open directory to lock it: No such file or directory");
  }
  if (!locked_dirs_.insert(dir).second) {
    return Status::Busy(dir + " is locked by process " + std::to_string(::getpid()));
  }
  *lock = std::make_unique<Lock>(this, dir, epoch_);
  return Status::OK();
}

int64_t SimEnv::NowMicros() {
  std::lock_guard<std::mutex> lock(mu_);
  clock_ += 1000;
  return kClockStart + clock_;
}

void SimEnv::PowerOffAfter(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  power_off_at_ = n;
}

bool SimEnv::powered_off() const {
  std::lock_guard<std::mutex> lock(mu_);
  return powered_off_;
}

std::string SimEnv::RebuildLocked(Node* node, CrashMode mode) {
  std::string image = node->durable;
  size_t keep = node->pending.size();
  if (mode == CrashMode::kDropAll) keep = 0;
  if (mode == CrashMode::kRandomPrefix) keep = rng_() % (node->pending.size() + 1);
  for (size_t i = 0; i < node->pending.size(); ++i) {
    const Node::Op& op = node->pending[i];
    if (op.doomed || i >= keep) {
      ++stats_.writes_dropped;
      continue;
    }
    if (mode != CrashMode::kReorder || op.truncate) {
      if (mode != CrashMode::kReorder || rng_() % 2 == 0) Node::Apply(op, &image);
      ++stats_.writes_applied;
      continue;
    }
    const uint64_t fate = rng_() % 100;
    if (fate < 50) {
      Node::Apply(op, &image);
      ++stats_.writes_applied;
    } else if (fate < 70) {
      ++stats_.writes_dropped;
    } else {
      // Torn (some sectors reach the disk) or garbled (the sectors it covers hold garbage).
      const bool garble = fate >= 90;
      const uint64_t sector = rng_() % 2 == 0 ? kSector : 8 * kSector;
      const uint64_t end = op.offset + op.data.size();
      if (image.size() < end) image.resize(end, '\0');
      for (uint64_t s = op.offset / sector * sector; s < end; s += sector) {
        const uint64_t from = std::max(s, op.offset), to = std::min(s + sector, end);
        if (garble) {
          for (uint64_t b = from; b < to; ++b) image[b] = static_cast<char>(rng_());
        } else if (rng_() % 2 == 0) {
          std::memcpy(image.data() + from, op.data.data() + (from - op.offset), to - from);
        }
      }
      ++(garble ? stats_.writes_garbled : stats_.writes_torn);
    }
  }
  return image;
}

void SimEnv::Crash(CrashMode mode) {
  std::lock_guard<std::mutex> lock(mu_);
  if (mode == CrashMode::kAny) mode = static_cast<CrashMode>(rng_() % 3);
  // Directory operations reach the disk in order (the metadata journal): a random prefix.
  const size_t keep = mode == CrashMode::kDropAll ? 0 : rng_() % (pending_dir_ops_.size() + 1);
  for (size_t i = 0; i < pending_dir_ops_.size(); ++i) {
    if (i < keep) {
      ApplyDirOpLocked(pending_dir_ops_[i], &durable_names_);
    } else {
      ++stats_.dir_ops_undone;
    }
  }
  pending_dir_ops_.clear();
  std::set<Node*> rebuilt;
  for (auto& [path, node] : durable_names_) {
    if (!rebuilt.insert(node.get()).second) continue;
    node->durable = RebuildLocked(node.get(), mode);
    node->visible = node->durable;
    node->pending.clear();
  }
  names_ = durable_names_;
  locked_dirs_.clear();
  ++epoch_;
  powered_off_ = false;
  power_off_at_ = 0;
  // A reboot clears transient faults.
  sync_failures_ = 0;
  short_write_next_ = false;
  misdirect_next_ = 0;
  read_failures_ = 0;
  space_limit_ = UINT64_MAX;
  ++stats_.crashes;
}

void SimEnv::FailSyncs(int count) {
  std::lock_guard<std::mutex> lock(mu_);
  sync_failures_ = count;
}

void SimEnv::LimitSpace(uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  space_limit_ = bytes == UINT64_MAX ? UINT64_MAX : TotalBytesLocked() + bytes;
}

void SimEnv::ShortWriteNext() {
  std::lock_guard<std::mutex> lock(mu_);
  short_write_next_ = true;
}

void SimEnv::FailReads(int count) {
  std::lock_guard<std::mutex> lock(mu_);
  read_failures_ = count;
}

void SimEnv::MisdirectNextWrite(int64_t shift) {
  std::lock_guard<std::mutex> lock(mu_);
  misdirect_next_ = shift;
}

bool SimEnv::FlipDurableBit(const std::string& path, uint64_t offset, int bit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<Node> node = FindLocked(path);
  if (!node || offset >= node->durable.size() || offset >= node->visible.size()) return false;
  node->durable[offset] ^= static_cast<char>(1 << (bit & 7));
  node->visible[offset] ^= static_cast<char>(1 << (bit & 7));
  ++stats_.faults_injected;
  return true;
}

void SimEnv::HoldNextWrite(const std::string& substring) {
  std::lock_guard<std::mutex> lock(mu_);
  hold_substring_ = substring;
}

void SimEnv::ReleaseWrites() {
  std::lock_guard<std::mutex> lock(mu_);
  hold_substring_.clear();
  holding_ = false;
  hold_cv_.notify_all();
}

int SimEnv::held_writes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return held_writes_;
}

SimStats SimEnv::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::vector<std::string> SimEnv::Files() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> files;
  for (const auto& [path, node] : names_) files.push_back(path);
  return files;
}

}  // namespace loci::sim
