// Blob arena: generation files, reserved read-only mappings, concurrent appends.

#include "blob/arena.h"

#include <algorithm>
#include <tuple>

namespace loci::blob {

struct BlobArena::Generation {
  uint32_t number = 0;
  std::string path;
  std::unique_ptr<WritableFile> file;  // null when read-only
  std::unique_ptr<MappedRegion> region;
  // Serializes MakeReadable's and ExtendMappings' check-then-Extend, and ReleaseSealed's
  // Freeze, with the writers of a sealed generation's `file` (ReleaseSealed closes it, Discard
  // reopens it). Appends write the active generation's file, which is never closed.
  Mutex map_mu;
  bool released = false;  // ReleaseSealed gave its descriptor and reservation back (map_mu)
  // Appended to since the last sync of the file: any blob, or one not logged in the WAL.
  std::atomic<bool> unsynced{false};
  std::atomic<bool> unlogged{false};
  // Appends into it whose records have not committed or failed yet (Append's `pinned`).
  std::atomic<uint32_t> pins{0};
  uint64_t sealed_end = 0;  // where appends stopped, once sealed in this process (under mu_)
  std::atomic<uint64_t> erased{0};  // frame bytes Discard and EraseAllBut erased here
};

BlobArena::BlobArena(Env* env, std::string dir, ArenaOptions options)
    : env_(env),
      paths_(std::move(dir)),
      options_(options),
      generations_(std::make_unique<std::atomic<Generation*>[]>(kMaxGenerations)),
      filler_(std::make_unique<ZeroFiller>(options.read_only ? 0 : options.preallocate_bytes,
                                           options.generation_bytes, !options.preallocate_inline)) {
}

BlobArena::~BlobArena() {
  filler_.reset();  // its thread may be writing to the active generation
  Generation* active = active_;
  const uint64_t used = next_offset_;
  for (uint32_t i = 0; i <= highest_.load() && i < kMaxGenerations; ++i) {
    Generation* g = generations_[i].load();
    if (g == nullptr) continue;
    g->region.reset();
    // Drop the preallocated zeros past the last append, so the next open can resume appending
    // in this generation. Best effort: if it does not stick, the next open starts a new one.
    if (g == active && g->file) g->file->Truncate(used).PermitUncheckedError();
    delete g;
  }
  MutexLock lock(&mu_);
  removed_.clear();
}

BlobArena::Generation* BlobArena::Find(uint32_t number) const {
  if (number == 0 || number >= kMaxGenerations) return nullptr;
  return generations_[number].load(std::memory_order_acquire);
}

Status BlobArena::OpenGeneration(uint32_t number, uint64_t reserve, bool create, Generation** out,
                                 bool* bad_header) {
  if (bad_header != nullptr) *bad_header = false;
  if (number >= kMaxGenerations) {
    return Status::NotSupported("blob arena: more than " + std::to_string(kMaxGenerations - 1) +
                                " generations");
  }
  auto g = std::make_unique<Generation>();
  g->number = number;
  g->path = paths_.arena_generation(number);
  if (create) {
    LOCI_RETURN_IF_ERROR(env_->NewWritableFile(g->path, Env::OpenMode::kCreateNew, &g->file));
    Status s = g->file->Write(0, EncodeGenerationHeader(options_.db_uuid, number));
    if (s.ok()) s = g->file->Sync();
    if (s.ok()) s = env_->SyncDir(paths_.dir());
    LOCI_RETURN_IF_ERROR(s.WithContext("creating arena generation " + g->path));
  } else {
    std::unique_ptr<RandomAccessFile> reader;
    LOCI_RETURN_IF_ERROR(env_->NewRandomAccessFile(g->path, &reader));
    std::string block;
    LOCI_RETURN_IF_ERROR(reader->Read(0, kGenerationHeaderBlock, &block));
    DbUuid uuid;
    uint32_t stored_number;
    Status header = DecodeGenerationHeader(block, g->path, &uuid, &stored_number);
    if (!header.ok()) {
      if (bad_header != nullptr) *bad_header = true;
      return header;
    }
    if (uuid != options_.db_uuid) {
      return Status::Corruption(g->path + ": arena generation belongs to another database");
    }
    if (stored_number != number) {
      return Status::Corruption(g->path + ": header says generation " +
                                std::to_string(stored_number));
    }
    Result<uint64_t> size = reader->Size();
    if (!size.ok()) return size.status();
    reserve = std::max(reserve, *size);
    if (!options_.read_only) {
      LOCI_RETURN_IF_ERROR(env_->NewWritableFile(g->path, Env::OpenMode::kOpenExisting, &g->file));
    }
  }
  LOCI_RETURN_IF_ERROR(env_->NewMappedRegion(g->path, reserve, &g->region));
  *out = g.get();
  generations_[number].store(g.release(), std::memory_order_release);
  if (number > highest_.load()) highest_.store(number);
  return Status::OK();
}

Status BlobArena::Open() {
  std::vector<std::string> names;
  LOCI_RETURN_IF_ERROR(env_->GetChildren(paths_.dir(), &names));
  std::vector<uint32_t> numbers;
  for (const std::string& name : names) {
    uint32_t n;
    if (ParseArenaGenerationFileName(name, &n)) numbers.push_back(n);
  }
  std::sort(numbers.begin(), numbers.end());
  MutexLock lock(&mu_);
  for (uint32_t n : numbers) {
    Generation* g;
    bool bad_header;
    Status s = OpenGeneration(n, options_.generation_bytes, /*create=*/false, &g, &bad_header);
    if (bad_header) {
      set_aside_.emplace_back(n, s);
      continue;
    }
    LOCI_RETURN_IF_ERROR(s);
  }
  referenced_end_.assign(highest_.load() + 1, 0);
  return Status::OK();
}

Status BlobArena::NoteReferenced(const BlobRef& ref) {
  if (ref.empty()) return Status::OK();
  if (Find(ref.generation) == nullptr) {
    for (const auto& [n, why] : set_aside_) {
      if (n == ref.generation) return why;
    }
    return Status::Corruption(paths_.arena_generation(ref.generation) +
                              ": arena generation missing");
  }
  if (ref.generation >= referenced_end_.size()) referenced_end_.resize(ref.generation + 1, 0);
  referenced_end_[ref.generation] = std::max(referenced_end_[ref.generation], ref.end());
  return Status::OK();
}

Status BlobArena::RemoveUnreferenced() {
  bool removed = false;
  for (const auto& entry : set_aside_) {
    LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.arena_generation(entry.first)));
    removed = true;
  }
  set_aside_.clear();
  const uint32_t highest = highest_.load();
  for (uint32_t n = 1; n < highest; ++n) {
    const bool referenced = n < referenced_end_.size() && referenced_end_[n] != 0;
    if (Find(n) == nullptr || referenced) continue;
    LOCI_RETURN_IF_ERROR(Unlink(n));
    removed = true;
  }
  return removed ? env_->SyncDir(paths_.dir()) : Status::OK();
}

Status BlobArena::Unlink(uint32_t number) {
  Generation* g = Find(number);
  if (g == nullptr) return Status::OK();
  MutexLock lock(&mu_);
  if (g == active_) return Status::InvalidArgument("arena generation " + g->path + " is active");
  generations_[number].store(nullptr, std::memory_order_release);
  {
    MutexLock map_lock(&g->map_mu);
    g->region.reset();
    g->file.reset();
  }
  removed_.emplace_back(g);
  removed_count_.fetch_add(1, std::memory_order_relaxed);
  return env_->RemoveFile(g->path);
}

Status BlobArena::RemoveGeneration(uint32_t number) {
  Generation* g = Find(number);
  if (g == nullptr) return Status::OK();
  if (g->pins.load(std::memory_order_acquire) != 0) {
    return Status::InvalidArgument("arena generation " + g->path + " is pinned by an append");
  }
  LOCI_RETURN_IF_ERROR(Unlink(number));
  return env_->SyncDir(paths_.dir());
}

Status BlobArena::StartGeneration(uint64_t span) {
  Generation* g;
  const uint64_t reserve = std::max(options_.generation_bytes, kGenerationHeaderBlock + span);
  uint32_t number = highest_.load() + 1;
  for (const auto& entry : set_aside_) number = std::max(number, entry.first + 1);
  LOCI_RETURN_IF_ERROR(OpenGeneration(number, reserve, /*create=*/true, &g));
  Generation* sealed = active_;
  const uint64_t sealed_end = next_offset_;
  active_ = g;
  next_offset_ = kGenerationHeaderBlock;
  filler_->Reset(g->file.get(), kGenerationHeaderBlock, kGenerationHeaderBlock);
  // The filler has left it: give back the zeros preallocated past its last frame. (Best
  // effort, like the destructor's: the next open resumes in the newest generation only.)
  if (sealed != nullptr) {
    sealed->sealed_end = sealed_end;
    if (sealed->file) sealed->file->Truncate(sealed_end).PermitUncheckedError();
  }
  return Status::OK();
}

void BlobArena::ResumeNewest() {
  const uint32_t highest = highest_.load();
  if (active_ != nullptr || highest == 0) return;
  // Resume in the newest generation right after its last referenced blob: what follows is
  // preallocated space or garbage of writes never committed, and appends overwrite it (the
  // mapping is coherent with the file, and only committed blobs are ever read).
  Generation* g = Find(highest);
  const uint64_t end = highest < referenced_end_.size() ? referenced_end_[highest] : 0;
  const uint64_t used = std::max<uint64_t>(end, kGenerationHeaderBlock);
  uint64_t size = 0;
  if (g != nullptr && g->file && env_->GetFileSize(g->path, &size).ok()) {
    active_ = g;
    next_offset_ = used;
    filler_->Reset(g->file.get(), used, std::max(used, size));
  }
}

Status BlobArena::Reserve(uint64_t span, Generation** gen, uint64_t* offset) {
  ResumeNewest();
  const bool full = active_ != nullptr && next_offset_ + span > active_->region->reserved();
  const bool past_size = active_ != nullptr && next_offset_ > kGenerationHeaderBlock &&
                         next_offset_ + span > options_.generation_bytes;
  if (active_ == nullptr || full || past_size) LOCI_RETURN_IF_ERROR(StartGeneration(span));
  const uint64_t end = next_offset_ + span;
  LOCI_RETURN_IF_ERROR(filler_->Reserve(end));
  *gen = active_;
  *offset = next_offset_;
  next_offset_ = end;
  return Status::OK();
}

Status BlobArena::Append(std::span<const std::string_view> payloads, std::span<BlobRef> refs,
                         uint32_t* pinned) {
  if (pinned != nullptr) *pinned = 0;
  if (options_.read_only) return Status::NotSupported("blob arena is read-only");
  uint64_t total = 0;
  for (std::string_view p : payloads) {
    if (p.size() > kMaxBlobLength) {
      return Status::InvalidArgument("blob of " + std::to_string(p.size()) + " bytes is too large");
    }
    if (!p.empty()) total += BlobRef::FrameSpan(p.size());
  }
  for (BlobRef& r : refs) r = BlobRef();
  if (total == 0) return Status::OK();

  Generation* gen;
  uint64_t offset;
  {
    MutexLock lock(&mu_);
    LOCI_RETURN_IF_ERROR(Reserve(total, &gen, &offset));
    // Under mu_: Generations() sees the pin together with the reservation.
    // The caller's pin, or ours until the write is done: ReleaseSealed must not close the file
    // under it.
    gen->pins.fetch_add(1, std::memory_order_relaxed);
    if (pinned != nullptr) *pinned = gen->number;
  }
  thread_local std::string buf;
  buf.clear();
  uint64_t at = offset;
  for (size_t i = 0; i < payloads.size(); ++i) {
    if (payloads[i].empty()) continue;
    BlobRef& r = refs[i];
    r.generation = gen->number;
    r.offset = at;
    r.length = static_cast<uint32_t>(payloads[i].size());
    r.checksum = PayloadChecksum(payloads[i], gen->number, at);
    AppendFrame(&buf, payloads[i], gen->number, at, r.checksum);
    at += BlobRef::FrameSpan(r.length);
  }
  Status written = gen->file->Write(offset, buf);
  if (!written.ok() || pinned == nullptr) Unpin(gen->number);
  if (!written.ok()) {
    if (pinned != nullptr) *pinned = 0;
    return written;
  }
  // Set after the write: a group that takes the flag later covers this write with its sync.
  const bool unlogged = std::any_of(payloads.begin(), payloads.end(), [&](std::string_view p) {
    return p.size() > options_.logged_blob_bytes;
  });
  if (unlogged) gen->unlogged.store(true, std::memory_order_release);
  gen->unsynced.store(true, std::memory_order_release);
  return Status::OK();
}

void BlobArena::Unpin(uint32_t generation) {
  if (generation == 0) return;
  if (Generation* g = Find(generation)) g->pins.fetch_sub(1, std::memory_order_release);
}

void BlobArena::SetPreallocationCap(uint64_t bytes) {
  MutexLock lock(&mu_);
  filler_->SetStepCap(bytes);
}

Status BlobArena::Seal() {
  MutexLock lock(&mu_);
  ResumeNewest();
  if (active_ == nullptr) return Status::OK();  // no generation yet
  return StartGeneration(0);
}

bool BlobArena::IsActive(const Generation* g) const {
  // Before the first append after Open, the newest generation is the one appends resume in.
  return g == active_ || (active_ == nullptr && g->number == highest_.load());
}

uint64_t BlobArena::EndOf(const Generation* g) const {
  if (g == active_) return next_offset_;
  return g->sealed_end != 0 ? g->sealed_end : g->region->size();
}

bool BlobArena::MapsInto(uint32_t number, const char* p) const {
  Generation* g = Find(number);
  if (g == nullptr) return false;
  MutexLock lock(&g->map_mu);
  if (!g->region) return false;  // removed meanwhile
  const char* data = g->region->data();
  return p >= data && p < data + g->region->reserved();
}

std::vector<GenerationUse> BlobArena::Generations() const {
  std::vector<GenerationUse> uses;
  MutexLock lock(&mu_);
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    if (g == nullptr) continue;
    GenerationUse use;
    use.number = i;
    use.active = IsActive(g);
    use.end = EndOf(g);
    use.pinned = g->pins.load(std::memory_order_acquire) != 0;
    uses.push_back(use);
  }
  return uses;
}

Status BlobArena::CopyForward(std::span<const BlobRef> refs, std::span<BlobRef> moved) {
  std::vector<std::string_view> payloads(refs.size());
  for (size_t i = 0; i < refs.size(); ++i) {
    LOCI_RETURN_IF_ERROR(View(refs[i], &payloads[i]).WithContext("compacting the blob arena"));
  }
  LOCI_RETURN_IF_ERROR(Append(payloads, moved));
  for (const BlobRef& r : moved) LOCI_RETURN_IF_ERROR(MakeReadable(r));
  return Status::OK();
}

void BlobArena::TakeUnloggedFiles(std::vector<WritableFile*>* files) {
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    // The flag first: a released generation (whose file may be closed) never has it set.
    if (g != nullptr && g->unlogged.exchange(false, std::memory_order_acq_rel) && g->file) {
      files->push_back(g->file.get());
    }
  }
}

Status BlobArena::SyncUnlogged() {
  std::vector<WritableFile*> files;
  TakeUnloggedFiles(&files);
  for (WritableFile* f : files) LOCI_RETURN_IF_ERROR(f->Sync());
  return Status::OK();
}

Status BlobArena::SyncUnsynced() {
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    if (g == nullptr || options_.read_only) continue;
    // Both flags go before the sync: an append after it sets them again.
    const bool unlogged = g->unlogged.exchange(false, std::memory_order_acq_rel);
    if (g->unsynced.exchange(false, std::memory_order_acq_rel) || unlogged) {
      MutexLock lock(&g->map_mu);  // a released generation's file is reopened only under it
      if (g->file) LOCI_RETURN_IF_ERROR(g->file->Sync());
    }
  }
  return Status::OK();
}

Status BlobArena::SyncAll() {
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    if (g != nullptr && g->file) LOCI_RETURN_IF_ERROR(g->file->Sync());
  }
  return Status::OK();
}

Status BlobArena::MakeReadable(const BlobRef& ref) {
  if (ref.empty()) return Status::OK();
  Generation* g = Find(ref.generation);
  if (g == nullptr) {
    return Status::Corruption(paths_.arena_generation(ref.generation) +
                              ": arena generation missing");
  }
  if (ref.end() <= g->region->size()) return Status::OK();
  MutexLock lock(&g->map_mu);
  if (ref.end() <= g->region->size()) return Status::OK();
  uint64_t size = 0;
  LOCI_RETURN_IF_ERROR(env_->GetFileSize(g->path, &size));
  size = std::min(size, g->region->reserved());
  if (size < ref.end()) {
    return Status::Corruption(g->path + ": blob at offset " + std::to_string(ref.offset) +
                              " runs past the end of the file (" + std::to_string(size) +
                              " bytes)");
  }
  return g->region->Extend(size);
}

void BlobArena::ExtendMappings() {
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    if (g == nullptr) continue;
    uint64_t size = 0;
    if (!env_->GetFileSize(g->path, &size).ok()) continue;
    MutexLock lock(&g->map_mu);
    size = std::min(size, g->region->reserved());
    if (size > g->region->size()) g->region->Extend(size).PermitUncheckedError();
  }
}

Status BlobArena::RestoreFromLog(const BlobRef& ref, std::string_view bytes) {
  Generation* g = Find(ref.generation);
  if (g == nullptr) {
    return Status::Corruption(paths_.arena_generation(ref.generation) +
                              ": arena generation missing");
  }
  MakeReadable(ref).PermitUncheckedError();  // a live writer may have grown the file since Open
  std::string_view mapped;
  if (View(ref, &mapped).ok()) return Status::OK();
  ++restored_from_log_;
  if (options_.read_only) {
    restored_[{ref.generation, ref.offset}] = std::string(bytes);
    return Status::OK();
  }
  std::string frame;
  AppendFrame(&frame, bytes, ref.generation, ref.offset, ref.checksum);
  LOCI_RETURN_IF_ERROR(g->file->Write(ref.offset, frame).WithContext("restoring a logged blob"));
  g->unsynced.store(true, std::memory_order_release);
  LOCI_RETURN_IF_ERROR(MakeReadable(ref));
  return View(ref, &mapped);
}

Result<uint64_t> BlobArena::Discard(std::vector<BlobRef> refs) {
  std::erase_if(refs, [](const BlobRef& r) { return r.empty(); });
  std::sort(refs.begin(), refs.end(), [](const BlobRef& a, const BlobRef& b) {
    return std::tie(a.generation, a.offset) < std::tie(b.generation, b.offset);
  });
  uint64_t punched = 0;
  for (size_t i = 0; i < refs.size();) {
    // A run of frames each ending where the next begins (a frame listed twice adds nothing).
    const uint32_t generation = refs[i].generation;
    const uint64_t begin = refs[i].offset;
    uint64_t end = refs[i].end();
    size_t j = i + 1;
    while (j < refs.size() && refs[j].generation == generation && refs[j].offset <= end) {
      end = std::max(end, refs[j].end());
      ++j;
    }
    i = j;
    Generation* g = Find(generation);
    // A generation compaction removed holds nothing any more: its frames are gone already.
    if (g == nullptr && generation != 0 && generation < highest_.load()) continue;
    if (g == nullptr || options_.read_only) {
      return Status::Corruption(paths_.arena_generation(generation) +
                                ": arena generation missing or read-only");
    }
    discarded_bytes_.fetch_add(end - begin, std::memory_order_relaxed);
    g->erased.fetch_add(end - begin, std::memory_order_relaxed);
    Result<uint64_t> erased = EraseRange(g, begin, end);
    if (!erased.ok()) return erased.status();
    punched += *erased;
  }
  return punched;
}

Result<uint64_t> BlobArena::EraseRange(Generation* g, uint64_t begin, uint64_t end) {
  MutexLock lock(&g->map_mu);
  Result<WritableFile*> writable = WritableOf(g);
  if (!writable.ok()) return writable.status();
  WritableFile* file = *writable;
  uint64_t punched = 0;
  // [first, last): the whole blocks of the run, punched; the rest of it is zeroed.
  const uint64_t first = (begin + kDiscardBlock - 1) / kDiscardBlock * kDiscardBlock;
  const uint64_t last = std::max(first, end / kDiscardBlock * kDiscardBlock);
  // The base class's PunchHole writes zeros: what a block shared with a live frame needs.
  auto zero = [&](uint64_t from, uint64_t to) {
    return from < to ? file->WritableFile::PunchHole(from, to - from) : Status::OK();
  };
  if (first >= end) {
    LOCI_RETURN_IF_ERROR(zero(begin, end).WithContext("erasing dead blobs"));
  } else {
    LOCI_RETURN_IF_ERROR(zero(begin, first).WithContext("erasing dead blobs"));
    if (last > first) {
      LOCI_RETURN_IF_ERROR(file->PunchHole(first, last - first).WithContext("erasing dead blobs"));
      punched += last - first;
    }
    LOCI_RETURN_IF_ERROR(zero(last, end).WithContext("erasing dead blobs"));
  }
  g->unsynced.store(true, std::memory_order_release);
  return punched;
}

Result<WritableFile*> BlobArena::WritableOf(Generation* g) {
  if (g->file) return g->file.get();
  if (options_.read_only) return Status::NotSupported("blob arena is read-only");
  LOCI_RETURN_IF_ERROR(env_->NewWritableFile(g->path, Env::OpenMode::kOpenExisting, &g->file));
  return g->file.get();
}

Result<uint32_t> BlobArena::ReleaseSealed() {
  std::vector<std::pair<Generation*, uint64_t>> sealed;  // and where it ends
  {
    MutexLock lock(&mu_);
    const uint32_t highest = highest_.load();
    for (uint32_t i = 1; i <= highest; ++i) {
      Generation* g = Find(i);
      if (g == nullptr || IsActive(g) || g->pins.load(std::memory_order_acquire) != 0) continue;
      sealed.emplace_back(g, g->sealed_end);
    }
  }
  uint32_t released = 0;
  for (auto [g, end] : sealed) {
    MutexLock lock(&g->map_mu);
    if (g->unsynced.load() || g->unlogged.load()) continue;
    if (!g->released) {
      if (end == 0) {  // sealed by an earlier process: its file ends with its last frame
        LOCI_RETURN_IF_ERROR(env_->GetFileSize(g->path, &end));
      }
      LOCI_RETURN_IF_ERROR(g->region->Freeze(std::max(end, g->region->size())));
      g->released = true;
    }
    if (!g->file) continue;  // released before, and not reopened since
    g->file.reset();
    ++released;
  }
  return released;
}

Result<uint64_t> BlobArena::EraseAllBut(std::vector<BlobRef> live) {
  std::erase_if(live, [](const BlobRef& r) { return r.empty(); });
  std::sort(live.begin(), live.end(), [](const BlobRef& a, const BlobRef& b) {
    return std::tie(a.generation, a.offset) < std::tie(b.generation, b.offset);
  });
  uint64_t punched = 0;
  size_t i = 0;
  const uint32_t highest = highest_.load();
  for (uint32_t n = 1; n <= highest; ++n) {
    Generation* g = Find(n);
    while (i < live.size() && live[i].generation < n) ++i;
    if (g == nullptr || options_.read_only) continue;
    uint64_t size = 0;
    LOCI_RETURN_IF_ERROR(env_->GetFileSize(g->path, &size));
    // In the newest generation, past the last blob a committed record referred to lie only
    // preallocated zeros and the garbage of writes never acknowledged, which appends overwrite.
    if (n == highest) size = std::min(size, n < referenced_end_.size() ? referenced_end_[n] : 0);
    uint64_t at = kGenerationHeaderBlock;  // erased up to here
    auto erase_to = [&](uint64_t to) -> Status {
      if (to <= at) return Status::OK();
      Result<uint64_t> erased = EraseRange(g, at, to);
      if (!erased.ok()) return erased.status();
      punched += *erased;
      discarded_bytes_.fetch_add(to - at, std::memory_order_relaxed);
      g->erased.fetch_add(to - at, std::memory_order_relaxed);
      return Status::OK();
    };
    for (; i < live.size() && live[i].generation == n; ++i) {
      LOCI_RETURN_IF_ERROR(erase_to(std::min(live[i].offset, size)));
      at = std::max(at, live[i].end());
    }
    LOCI_RETURN_IF_ERROR(erase_to(size));
  }
  return punched;
}

void BlobArena::Prefetch(const BlobRef& ref) const {
  Generation* g = Find(ref.generation);
  if (g == nullptr || ref.end() > g->region->size()) return;
  const char* p = g->region->data() + ref.offset;
  const uint64_t span = std::min<uint64_t>(ref.end() - ref.offset, 512);
  for (uint64_t at = 0; at < span; at += 64) __builtin_prefetch(p + at);
}

Status BlobArena::View(const BlobRef& ref, std::string_view* payload) const {
  if (ref.empty()) {
    *payload = std::string_view();
    return Status::OK();
  }
  Generation* g = Find(ref.generation);
  if (g == nullptr) {
    return Status::Corruption(paths_.arena_generation(ref.generation) +
                              ": arena generation missing");
  }
  if (!restored_.empty()) {
    auto it = restored_.find({ref.generation, ref.offset});
    if (it != restored_.end() && it->second.size() == ref.length) {
      *payload = it->second;
      return Status::OK();
    }
  }
  const uint64_t mapped = g->region->size();
  if (ref.offset < kGenerationHeaderBlock || ref.end() > mapped || ref.end() < ref.offset) {
    return Status::Corruption(g->path + ": blob at offset " + std::to_string(ref.offset) +
                              " lies outside the file (" + std::to_string(mapped) +
                              " bytes readable)");
  }
  return VerifyFrame(std::string_view(g->region->data() + ref.offset, ref.end() - ref.offset), ref,
                     g->path, payload);
}

const char* BlobArena::Locate(const BlobRef& ref) const {
  if (ref.empty()) return nullptr;
  if (!restored_.empty()) {
    auto it = restored_.find({ref.generation, ref.offset});
    if (it != restored_.end()) return it->second.data();
  }
  Generation* g = Find(ref.generation);
  if (g == nullptr || ref.offset < kGenerationHeaderBlock || ref.end() > g->region->size() ||
      ref.end() < ref.offset) {
    return nullptr;
  }
  return g->region->data() + ref.offset + kFrameHeaderSize;
}

Status BlobArena::Read(const BlobRef& ref, std::string* payload) const {
  std::string_view view;
  LOCI_RETURN_IF_ERROR(View(ref, &view));
  payload->assign(view.data(), view.size());
  return Status::OK();
}

ArenaStats BlobArena::Stats() const {
  ArenaStats stats;
  stats.discarded_bytes = discarded_bytes_.load(std::memory_order_relaxed);
  stats.generations_removed = removed_count_.load(std::memory_order_relaxed);
  std::vector<Generation*> generations;
  {
    MutexLock lock(&mu_);  // the append state
    const uint32_t highest = highest_.load();
    for (uint32_t i = 1; i <= highest; ++i) {
      Generation* g = Find(i);
      if (g == nullptr) continue;
      generations.push_back(g);
      const uint64_t end = EndOf(g);
      const uint64_t frames = end - std::min<uint64_t>(end, kGenerationHeaderBlock);
      stats.live_bytes_estimate += frames - std::min(frames, g->erased.load());
    }
  }
  // Each under its own mutex only (SyncUnsynced holds it across an fsync, which must not stall
  // appends). A generation removed meanwhile has no region any more: it no longer counts.
  for (Generation* g : generations) {
    MutexLock map_lock(&g->map_mu);
    if (!g->region) continue;
    ++stats.generations;
    stats.bytes += g->region->size();
    stats.reserved_bytes += g->region->reserved();
    if (g->file) ++stats.open_files;
  }
  return stats;
}

std::vector<std::string> BlobArena::Files() const {
  std::vector<std::string> files;
  MutexLock lock(&mu_);
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    if (Generation* g = Find(i)) files.push_back(g->path);
  }
  return files;
}

}  // namespace loci::blob
