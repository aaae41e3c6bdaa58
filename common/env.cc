// Pieces shared by the Env implementations: the sequential IoQueue (MemEnv's queue and the
// posix pwrite + fdatasync fallback), the zero-writing PunchHole, and error formatting.

#include "loci/env.h"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <string>

#include "common/io_uring_queue.h"

namespace loci {

Status WritableFile::PunchHole(uint64_t offset, uint64_t len) {
  const std::string zeros(std::min<uint64_t>(len, 1 << 20), '\0');
  for (uint64_t at = offset; at < offset + len; at += zeros.size()) {
    const uint64_t n = std::min<uint64_t>(zeros.size(), offset + len - at);
    LOCI_RETURN_IF_ERROR(Write(at, std::string_view(zeros).substr(0, n)));
  }
  return Status::OK();
}

Status PosixError(std::string_view context, int err) {
  char buf[128];
  // GNU strerror_r: thread-safe, returns a pointer to the message (maybe not into buf).
  const char* text = strerror_r(err, buf, sizeof(buf));
  std::string msg(context);
  msg += ": ";
  msg += text;
  return err == ENOENT ? Status::NotFound(msg) : Status::IOError(msg);
}

Status NotARegularFile(std::string_view path, std::string_view kind) {
  std::string msg(path);
  if (kind == "a symbolic link") {
    msg += ": is a symbolic link; database files are never opened through links";
  } else {
    msg += ": not a regular file (";
    msg += kind;
    msg += "); a Loci database holds only regular files";
  }
  return Status::Corruption(msg);
}

Status RunIoOpsSequentially(std::span<const IoOp> ops) {
  for (const IoOp& op : ops) {
    assert(op.file != nullptr);
    switch (op.kind) {
      case IoOp::Kind::kWrite:
        LOCI_RETURN_IF_ERROR(op.file->Write(op.offset, op.data));
        break;
      case IoOp::Kind::kSync:
        LOCI_RETURN_IF_ERROR(op.file->Sync());
        break;
    }
  }
  return Status::OK();
}

namespace {

class SequentialIoQueue final : public IoQueue {
 public:
  Status SubmitLinked(std::span<const IoOp> ops) override { return RunIoOpsSequentially(ops); }
  bool uses_io_uring() const override { return false; }
};

}  // namespace

std::unique_ptr<IoQueue> NewSequentialIoQueue() { return std::make_unique<SequentialIoQueue>(); }

}  // namespace loci
