// The posix IoQueue over io_uring: each submission is one chain of SQEs linked with
// IOSQE_IO_LINK, so a fdatasync starts only after the writes before it completed (an unlinked
// fsync may complete before a write it was meant to cover is even issued; io_uring_enter(2)).
//
// Chains longer than the ring are split into consecutive submissions, each waited for before the
// next is prepared, so order is kept across the split. When the kernel refuses (part of) a
// submission the queue stops using io_uring for good and runs the rest with pwrite + fdatasync.

#include "common/io_uring_queue.h"

#include <liburing.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace loci {
namespace {

// One SQE never carries more than this, so the 32-bit SQE length cannot overflow. Larger
// writes come back "short" and their remainder is finished with pwrite.
constexpr size_t kMaxSqeWrite = size_t{1} << 30;

class IoUringQueue final : public IoQueue {
 public:
  // nullptr when the kernel refuses io_uring_queue_init.
  static std::unique_ptr<IoQueue> Create(unsigned depth) {
    auto queue = std::unique_ptr<IoUringQueue>(new IoUringQueue());
    if (io_uring_queue_init(depth, &queue->ring_, 0) < 0) {
      queue->ring_ok_ = false;
      return nullptr;
    }
    queue->depth_ = queue->ring_.sq.ring_entries;
    return queue;
  }

  ~IoUringQueue() override {
    if (ring_ok_) io_uring_queue_exit(&ring_);
  }
  IoUringQueue(const IoUringQueue&) = delete;
  IoUringQueue& operator=(const IoUringQueue&) = delete;

  Status SubmitLinked(std::span<const IoOp> ops) override {
    while (!ops.empty()) {
      if (!ring_ok_) return RunIoOpsSequentially(ops);
      const size_t n = std::min<size_t>(ops.size(), depth_);
      bool chain_done = false;  // true when the chunk's outcome also settled the rest of `ops`
      Status s = RunChunk(ops, n, &chain_done);
      if (!s.ok() || chain_done) return s;
      ops = ops.subspan(n);
    }
    return Status::OK();
  }

  bool uses_io_uring() const override { return ring_ok_; }

 private:
  // Submits ops[0, n) as one linked chain and waits for every completion. Sets *chain_done when
  // it also ran or settled ops[n, end) (after a short write, or after giving up on io_uring).
  Status RunChunk(std::span<const IoOp> ops, size_t n, bool* chain_done) {
    for (size_t i = 0; i < n; i++) {
      const IoOp& op = ops[i];
      assert(op.file != nullptr);
      io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
      assert(sqe != nullptr && "the previous chunk was fully reaped, so the SQ has room");
      const int fd = PosixFileDescriptor(op.file);
      if (op.kind == IoOp::Kind::kWrite) {
        const size_t len = std::min(op.data.size(), kMaxSqeWrite);
        io_uring_prep_write(sqe, fd, op.data.data(), static_cast<unsigned>(len), op.offset);
      } else {
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      }
      io_uring_sqe_set_data64(sqe, i);
      if (i + 1 < n) sqe->flags |= IOSQE_IO_LINK;
    }

    // Normally one io_uring_submit takes the whole chain. If the kernel stops early (it may
    // take fewer SQEs, or refuse with e.g. -ENOMEM), the part it took still runs in order; the
    // rest is left in the SQ and must never run against the caller's buffers later, so the ring
    // is closed after reaping and the rest is done with pwrite + fdatasync.
    size_t submitted = 0;
    while (submitted < n) {
      int rc = io_uring_submit(&ring_);
      if (rc == -EINTR) continue;
      if (rc <= 0) break;
      submitted += static_cast<size_t>(rc);
    }

    std::vector<int> results(submitted, 0);
    Status reap = Reap(submitted, &results);
    if (!reap.ok() || submitted < n) {
      // Closing the ring cancels whatever is still queued; later submissions use pwrite.
      io_uring_queue_exit(&ring_);
      ring_ok_ = false;
      *chain_done = true;
      if (!reap.ok()) return reap;  // without the completions we cannot tell what ran
    }

    for (size_t i = 0; i < submitted; i++) {
      const IoOp& op = ops[i];
      const int res = results[i];
      if (op.kind == IoOp::Kind::kSync) {
        // -ECANCELED here would mean an earlier link failed, which was already returned.
        if (res < 0) return PosixError(op.file->path() + ": fdatasync (io_uring)", -res);
        continue;
      }
      if (res < 0) {
        return PosixError(
            op.file->path() + ": write at offset " + std::to_string(op.offset) + " (io_uring)",
            -res);
      }
      const size_t done = static_cast<size_t>(res);
      if (done < op.data.size()) {
        // A short write broke the link (the kernel cancels the rest), or an oversized write
        // completed its first SQE-sized piece while the links after it ran early. Either way:
        // finish this write with pwrite, then redo everything after it in order. Redoing a
        // write or a sync that already ran is harmless.
        *chain_done = true;
        LOCI_RETURN_IF_ERROR(op.file->Write(op.offset + done, op.data.substr(done)));
        return RunIoOpsSequentially(ops.subspan(i + 1));
      }
    }
    if (submitted < n) return RunIoOpsSequentially(ops.subspan(submitted));
    return Status::OK();
  }

  // Waits for `n` completions and stores each result at its op's index.
  Status Reap(size_t n, std::vector<int>* results) {
    for (size_t reaped = 0; reaped < n; reaped++) {
      io_uring_cqe* cqe = nullptr;
      int rc;
      do {
        rc = io_uring_wait_cqe(&ring_, &cqe);
      } while (rc == -EINTR);
      if (rc < 0) {
        // Cannot happen with a healthy ring; without the CQEs we do not know what ran.
        return PosixError("io_uring_wait_cqe", -rc);
      }
      const uint64_t index = io_uring_cqe_get_data64(cqe);
      if (index < results->size()) (*results)[index] = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
    }
    return Status::OK();
  }

  IoUringQueue() = default;

  // Initialised in place: liburing does not promise that a ring survives being copied.
  io_uring ring_ = {};
  size_t depth_ = 0;  // SQ entries: the longest chain submitted at once
  bool ring_ok_ = true;
};

}  // namespace

std::unique_ptr<IoQueue> NewIoUringQueue(unsigned depth) { return IoUringQueue::Create(depth); }

}  // namespace loci
