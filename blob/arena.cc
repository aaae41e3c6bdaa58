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
  // Serializes MakeReadable's and ExtendMappings' check-then-Extend. Guards no field: the
  // region's size is atomic and the region itself set before the generation is published.
  Mutex map_mu;
  // Appended to since the last sync of the file: any blob, or one not logged in the WAL.
  std::atomic<bool> unsynced{false};
  std::atomic<bool> unlogged{false};
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

Status BlobArena::RemoveUnreferencedDamaged() {
  if (set_aside_.empty()) return Status::OK();
  for (const auto& entry : set_aside_) {
    LOCI_RETURN_IF_ERROR(env_->RemoveFile(paths_.arena_generation(entry.first)));
  }
  set_aside_.clear();
  return env_->SyncDir(paths_.dir());
}

Status BlobArena::Reserve(uint64_t span, Generation** gen, uint64_t* offset) {
  const uint32_t highest = highest_.load();
  if (active_ == nullptr && highest != 0) {
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
  const bool full = active_ != nullptr && next_offset_ + span > active_->region->reserved();
  const bool past_size = active_ != nullptr && next_offset_ > kGenerationHeaderBlock &&
                         next_offset_ + span > options_.generation_bytes;
  if (active_ == nullptr || full || past_size) {
    Generation* g;
    const uint64_t reserve = std::max(options_.generation_bytes, kGenerationHeaderBlock + span);
    uint32_t number = highest + 1;
    for (const auto& entry : set_aside_) number = std::max(number, entry.first + 1);
    LOCI_RETURN_IF_ERROR(OpenGeneration(number, reserve, /*create=*/true, &g));
    active_ = g;
    next_offset_ = kGenerationHeaderBlock;
    filler_->Reset(g->file.get(), kGenerationHeaderBlock, kGenerationHeaderBlock);
  }
  const uint64_t end = next_offset_ + span;
  LOCI_RETURN_IF_ERROR(filler_->Reserve(end));
  *gen = active_;
  *offset = next_offset_;
  next_offset_ = end;
  return Status::OK();
}

Status BlobArena::Append(std::span<const std::string_view> payloads, std::span<BlobRef> refs) {
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
  LOCI_RETURN_IF_ERROR(gen->file->Write(offset, buf));
  // Set after the write: a group that takes the flag later covers this write with its sync.
  const bool unlogged = std::any_of(payloads.begin(), payloads.end(), [&](std::string_view p) {
    return p.size() > options_.logged_blob_bytes;
  });
  if (unlogged) gen->unlogged.store(true, std::memory_order_release);
  gen->unsynced.store(true, std::memory_order_release);
  return Status::OK();
}

void BlobArena::TakeUnloggedFiles(std::vector<WritableFile*>* files) {
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    Generation* g = Find(i);
    if (g != nullptr && g->file && g->unlogged.exchange(false, std::memory_order_acq_rel)) {
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
    if (g == nullptr || !g->file) continue;
    // Both flags go before the sync: an append after it sets them again.
    const bool unlogged = g->unlogged.exchange(false, std::memory_order_acq_rel);
    if (g->unsynced.exchange(false, std::memory_order_acq_rel) || unlogged) {
      LOCI_RETURN_IF_ERROR(g->file->Sync());
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
    if (g == nullptr || !g->file) {
      return Status::Corruption(paths_.arena_generation(generation) +
                                ": arena generation missing or read-only");
    }
    // [first, last): the whole blocks of the run, punched; the rest of it is zeroed.
    const uint64_t first = (begin + kDiscardBlock - 1) / kDiscardBlock * kDiscardBlock;
    const uint64_t last = std::max(first, end / kDiscardBlock * kDiscardBlock);
    // The base class's PunchHole writes zeros: what a block shared with a live frame needs.
    auto zero = [&](uint64_t from, uint64_t to) {
      return from < to ? g->file->WritableFile::PunchHole(from, to - from) : Status::OK();
    };
    if (first >= end) {
      LOCI_RETURN_IF_ERROR(zero(begin, end).WithContext("erasing dead blobs"));
    } else {
      LOCI_RETURN_IF_ERROR(zero(begin, first).WithContext("erasing dead blobs"));
      if (last > first) {
        LOCI_RETURN_IF_ERROR(
            g->file->PunchHole(first, last - first).WithContext("erasing dead blobs"));
        punched += last - first;
      }
      LOCI_RETURN_IF_ERROR(zero(last, end).WithContext("erasing dead blobs"));
    }
    g->unsynced.store(true, std::memory_order_release);
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
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    if (Generation* g = Find(i)) {
      ++stats.generations;
      stats.bytes += g->region->size();
    }
  }
  return stats;
}

std::vector<std::string> BlobArena::Files() const {
  std::vector<std::string> files;
  const uint32_t highest = highest_.load();
  for (uint32_t i = 1; i <= highest; ++i) {
    if (Generation* g = Find(i)) files.push_back(g->path);
  }
  return files;
}

}  // namespace loci::blob
