// Reading verified blobs from a source arena and copying them into the salvaged database.

#include "engine/salvage_blobs.h"

#include <algorithm>
#include <span>

#include "engine/salvage_scan_util.h"

namespace loci::engine {

SourceArena::SourceArena(Env* env, std::string dir) : env_(env), paths_(std::move(dir)) {}

SourceArena::~SourceArena() = default;

SourceArena::Generation* SourceArena::Open(uint32_t generation) {
  auto [it, added] = generations_.try_emplace(generation);
  Generation* g = &it->second;
  if (!added) return g;
  const std::string path = paths_.arena_generation(generation);
  g->status = env_->NewRandomAccessFile(path, &g->file);
  if (g->status.IsNotFound()) {
    g->status = Status::NotFound("arena generation file missing");
  } else if (g->status.ok()) {
    Result<uint64_t> size = g->file->Size();
    g->status = size.status();
    if (size.ok()) g->size = *size;
  }
  if (!g->status.ok() && !g->status.IsNotFound()) {
    g->status =
        Status::IOError("cannot be read: " + salvage_scan::WithoutFile(g->status.message(), path));
  }
  return g;
}

void SourceArena::AddLoggedCopy(const blob::BlobRef& ref, std::string bytes) {
  logged_.try_emplace(KeyOfBlob(ref), std::move(bytes));
}

Status SourceArena::Read(const blob::BlobRef& ref, std::string* payload) {
  payload->clear();
  if (ref.empty()) return Status::OK();
  Status s = ReadFrame(ref, payload);
  if (s.ok()) return s;
  auto logged = logged_.find(KeyOfBlob(ref));
  if (logged == logged_.end()) return s;
  *payload = logged->second;
  read_from_log_.insert(logged->first);
  return Status::OK();
}

Status SourceArena::ReadFrame(const blob::BlobRef& ref, std::string* payload) {
  Generation* g = Open(ref.generation);
  if (!g->status.ok()) return g->status;
  if (ref.offset < blob::kGenerationHeaderBlock || ref.end() > g->size || ref.end() < ref.offset) {
    return Status::Corruption("blob lies outside the file (" + std::to_string(g->size) + " bytes)");
  }
  std::string frame;
  LOCI_RETURN_IF_ERROR(g->file->Read(ref.offset, ref.end() - ref.offset, &frame));
  std::string_view view;
  const std::string path = file(ref);
  Status s = blob::VerifyFrame(frame, ref, path, &view);
  if (!s.ok()) {
    return Status::Corruption(
        salvage_scan::WithoutFile(s.message(), path + " at offset " + std::to_string(ref.offset)));
  }
  payload->assign(view.data(), view.size());
  return Status::OK();
}

BlobCopier::BlobCopier(SourceArena* source, blob::BlobArena* dest) : source_(source), dest_(dest) {}

void BlobCopier::NoteLost(size_t loss, const Version& v) {
  std::vector<LostVersion>& versions = losses_[loss].versions;
  const LostVersion lost{v.id, v.number, v.tx_from, /*certain=*/true};
  if (std::find(versions.begin(), versions.end(), lost) == versions.end()) {
    versions.push_back(lost);
  }
}

bool BlobCopier::ReadNew(const Version& v, const std::vector<const blob::BlobRef*>& refs,
                         std::vector<std::pair<BlobKey, std::string>>* pending) {
  bool all_ok = true;
  for (const blob::BlobRef* ref : refs) {
    const BlobKey key = KeyOfBlob(*ref);
    auto done = done_.find(key);
    if (done != done_.end()) {
      if (!done->second.ok) {
        NoteLost(done->second.loss, v);
        all_ok = false;
      }
      continue;
    }
    auto same = [&key](const auto& p) { return p.first == key; };
    if (std::any_of(pending->begin(), pending->end(), same)) continue;
    std::string payload;
    Status s = source_->Read(*ref, &payload);
    if (!s.ok()) {
      losses_.push_back(salvage_scan::Damage(source_->file(*ref), ref->offset,
                                             blob::BlobRef::FrameSpan(ref->length), s.message()));
      done_[key] = Outcome{false, {}, losses_.size() - 1};
      NoteLost(losses_.size() - 1, v);
      all_ok = false;
      continue;
    }
    pending->emplace_back(key, std::move(payload));
  }
  return all_ok;
}

Status BlobCopier::Copy(Version* v, bool* copied) {
  *copied = false;
  std::vector<const blob::BlobRef*> refs;
  if (!v->payload.empty()) refs.push_back(&v->payload);
  for (const VectorRef& r : v->vectors) refs.push_back(&r.blob);
  std::vector<std::pair<BlobKey, std::string>> pending;
  if (!ReadNew(*v, refs, &pending)) return Status::OK();

  std::vector<std::string_view> payloads;
  for (const auto& p : pending) payloads.push_back(p.second);
  std::vector<blob::BlobRef> copies(payloads.size());
  LOCI_RETURN_IF_ERROR(dest_->Append(payloads, copies));
  for (size_t i = 0; i < pending.size(); ++i) {
    done_[pending[i].first] = Outcome{true, copies[i], 0};
    ++blobs_;
    blobs_from_log_ += source_->ReadFromLog(pending[i].first);
    blob_bytes_ += copies[i].length;
  }
  auto copy_of = [this](const blob::BlobRef& ref) {
    return ref.empty() ? ref : done_.at(KeyOfBlob(ref)).copy;
  };
  v->payload = copy_of(v->payload);
  for (VectorRef& r : v->vectors) r.blob = copy_of(r.blob);
  *copied = true;
  return Status::OK();
}

}  // namespace loci::engine
