// Background zero-filling ahead of appends.

#include "common/zero_filler.h"

#include <algorithm>
#include <string_view>

namespace loci {

namespace {
constexpr uint64_t kMinStep = 64 << 10;
constexpr size_t kWriteChunk = 1 << 20;
}  // namespace

ZeroFiller::ZeroFiller(uint64_t max_step, uint64_t limit, bool background)
    : max_step_(max_step), step_cap_(max_step), limit_(limit), background_(background) {
  if (max_step_ > 0 && background_) thread_ = std::thread([this] { Run(); });
}

ZeroFiller::~ZeroFiller() {
  {
    MutexLock lock(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void ZeroFiller::Reset(WritableFile* file, uint64_t in_use, uint64_t end) {
  MutexLock lock(&mu_);
  while (busy_) cv_.Wait(&mu_);
  file_ = file;
  filled_to_ = std::max(in_use, end);
  wanted_to_ = filled_to_;
}

void ZeroFiller::SetStepCap(uint64_t bytes) {
  MutexLock lock(&mu_);
  step_cap_ = std::clamp(bytes, std::min(kMinStep, max_step_), max_step_);
}

Status ZeroFiller::Reserve(uint64_t end) {
  if (max_step_ == 0) return Status::OK();
  MutexLock lock(&mu_);
  if (!error_.ok()) return error_;
  if (file_ == nullptr) return Status::InvalidArgument("ZeroFiller::Reserve before Reset");
  // Keep a step ahead of the appends: once they come within half a step of what the thread
  // was asked for, ask for a step past them (at least this append, even beyond the limit).
  const uint64_t step = std::min(std::max(filled_to_, kMinStep), step_cap_);
  if (end + step / 2 > wanted_to_) {
    wanted_to_ = std::max(end, std::min(end + step, limit_));
    cv_.SignalAll();
  }
  if (!background_) {
    if (wanted_to_ > filled_to_) FillLocked();
    return error_;
  }
  while (end > filled_to_ && error_.ok()) cv_.Wait(&mu_);
  return error_;
}

void ZeroFiller::FillLocked() {
  static const std::string kZeros(kWriteChunk, '\0');
  WritableFile* file = file_;
  const uint64_t from = filled_to_, to = wanted_to_;
  busy_ = true;
  Status s;
  {
    // busy_ keeps Reset from switching files under the writes.
    MutexUnlock unlock(&mu_);
    for (uint64_t at = from; s.ok() && at < to; at += kWriteChunk) {
      s = file->Write(at,
                      std::string_view(kZeros).substr(0, std::min<uint64_t>(kWriteChunk, to - at)));
    }
    if (s.ok()) s = file->Sync();
  }
  busy_ = false;
  if (s.ok()) {
    filled_to_ = std::max(filled_to_, to);
  } else {
    error_ = s.WithContext("filling " + file->path() + " with zeros ahead of appends");
  }
  cv_.SignalAll();
}

void ZeroFiller::Run() {
  MutexLock lock(&mu_);
  for (;;) {
    while (!(stop_ || (error_.ok() && wanted_to_ > filled_to_))) cv_.Wait(&mu_);
    if (stop_) return;
    FillLocked();
  }
}

}  // namespace loci
