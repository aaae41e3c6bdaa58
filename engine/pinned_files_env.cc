// PinnedFilesEnv: files opened early, readable after they are deleted.

#include "engine/pinned_files_env.h"

#include "common/file_names.h"

namespace loci::engine {

namespace {

// A handle to a pinned file: every reader shares the one descriptor opened by Pin.
class SharedFile : public RandomAccessFile {
 public:
  explicit SharedFile(std::shared_ptr<RandomAccessFile> file) : file_(std::move(file)) {}
  Status Read(uint64_t offset, size_t n, std::string* out) const override {
    return file_->Read(offset, n, out);
  }
  Result<uint64_t> Size() const override { return file_->Size(); }
  const std::string& path() const override { return file_->path(); }

 private:
  const std::shared_ptr<RandomAccessFile> file_;
};

}  // namespace

Status PinnedFilesEnv::Pin(const std::string& path) {
  if (pinned_.count(path) != 0) return Status::OK();
  std::unique_ptr<RandomAccessFile> file;
  LOCI_RETURN_IF_ERROR(target()->NewRandomAccessFile(path, &file));
  pinned_.emplace(path, std::move(file));
  return Status::OK();
}

Status PinnedFilesEnv::NewRandomAccessFile(const std::string& path,
                                           std::unique_ptr<RandomAccessFile>* result) {
  auto it = pinned_.find(path);
  if (it == pinned_.end()) return target()->NewRandomAccessFile(path, result);
  *result = std::make_unique<SharedFile>(it->second);
  return Status::OK();
}

Status PinnedFilesEnv::GetChildren(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  for (const auto& [path, file] : pinned_) {
    const std::string name = path.substr(path.rfind('/') + 1);  // all of it if no '/'
    if (JoinPath(dir, name) == path) names->push_back(name);
  }
  return Status::OK();
}

}  // namespace loci::engine
