// Internal to common/: the IoQueue implementations and the posix helpers they share with
// env_posix.cc. Nothing outside common/ (other than env_test) includes this header.
//
// Two IoQueues exist:
//   - the sequential queue (env.cc): runs each op through WritableFile::Write / Sync in order.
//     It works for files of any Env, and is both MemEnv's queue and the posix fallback.
//   - the io_uring queue (io_uring_queue.cc): posix only, one linked SQE chain per submission.

#ifndef LOCI_COMMON_IO_URING_QUEUE_H_
#define LOCI_COMMON_IO_URING_QUEUE_H_

#include <memory>
#include <span>
#include <string_view>

#include "loci/env.h"
#include "loci/status.h"

namespace loci {

// Runs `ops` one after the other through the WritableFile interface and returns the first
// failure (later ops are not run). Defined in env.cc.
Status RunIoOpsSequentially(std::span<const IoOp> ops);

// An io_uring IoQueue with `depth` submission entries, or nullptr when io_uring_queue_init
// fails (kernel without io_uring, seccomp, io_uring_disabled): the caller then falls back to
// NewSequentialIoQueue(). Longer op chains are split into several linked submissions.
// REQUIRES: every IoOp::file passed to it was created by the posix Env. Defined in
// io_uring_queue.cc.
std::unique_ptr<IoQueue> NewIoUringQueue(unsigned depth);

// The file descriptor behind a posix WritableFile. REQUIRES: `file` was created by the posix
// Env (checked by assert in debug builds). Defined in env_posix.cc.
int PosixFileDescriptor(WritableFile* file);

// "<context>: <strerror(err)>", NotFound for ENOENT and IOError otherwise. `context` should
// name the path and, where it helps, the operation and offset. Defined in env.cc.
Status PosixError(std::string_view context, int err);

// Corruption for an entry of a database directory that is not a regular file, `kind` saying
// what it is ("a FIFO", "a directory"...): "<path>: not a regular file (<kind>); a Loci
// database holds only regular files". For "a symbolic link" the message says instead that
// database files are never opened through links. Corruption because the directory holds
// something a Loci database never does. Defined in env.cc.
Status NotARegularFile(std::string_view path, std::string_view kind);

}  // namespace loci

#endif  // LOCI_COMMON_IO_URING_QUEUE_H_
