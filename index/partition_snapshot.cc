// Writing and verifying index snapshot files.

#include "index/partition_snapshot.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "common/coding.h"
#include "common/hash.h"
#include "index/kernels.h"
#include "index/quantizer.h"

namespace loci::index {

namespace {

constexpr char kMagic[8] = {'L', 'O', 'C', 'I', 'I', 'D', 'X', '1'};
constexpr uint32_t kFormat = 1;
constexpr uint64_t kHeaderSeed = 0x4c4f43494944584aull;
constexpr size_t kHeaderSize = 8 + 4 + 16 + 8 + 8;
constexpr size_t kSectionOverhead = 4 + 1 + 8;
constexpr size_t kFlushBytes = 1 << 20;
constexpr size_t kEntryBytes = 8 + 4 + 8 + 4 + 8;
constexpr size_t kPartitionBodyBytes = 4 + 4 + 1 + 4 + 1 + 4 + 4 + 4 + 8 + 4 + 4 + 4;
constexpr uint32_t kPrefixGranule = 64;  // projection.h's widths are multiples of this

enum SectionType : uint8_t {
  kPartition = 1,
  kEntries = 2,
  kList = 3,
  kGroups = 4,
  kEnd = 5,
  kProjection = 6,
};

uint64_t SectionSeed(uint64_t file_number, uint64_t offset) {
  return (file_number << 32) ^ offset ^ 0x1d8a7c0ffee5ull;
}

template <typename T>
void PutArray(std::string* dst, const T* data, size_t n) {
  dst->append(reinterpret_cast<const char*>(data), n * sizeof(T));
}

// Reads n elements of T into *out, after checking the input holds them (so a forged count
// never allocates more than the input's size).
template <typename T, typename Vec>
bool GetArray(Decoder* d, uint64_t n, Vec* out) {
  if (n > d->remaining() / sizeof(T)) return d->Fail();
  std::string_view bytes;
  if (!d->GetBytes(static_cast<size_t>(n) * sizeof(T), &bytes)) return false;
  out->resize(static_cast<size_t>(n));
  if (n > 0) std::memcpy(out->data(), bytes.data(), bytes.size());
  return true;
}

bool ValidMetric(uint8_t m) { return m <= static_cast<uint8_t>(Metric::kL2); }

}  // namespace

IndexSnapshotWriter::IndexSnapshotWriter(Env* env, std::string path, const DbUuid& uuid,
                                         uint64_t file_number)
    : env_(env), path_(std::move(path)), uuid_(uuid), file_number_(file_number) {}

IndexSnapshotWriter::~IndexSnapshotWriter() = default;

Status IndexSnapshotWriter::Open() {
  status_ = env_->NewWritableFile(path_, Env::OpenMode::kCreateNew, &file_);
  if (!status_.ok()) return status_;
  buf_.append(kMagic, sizeof(kMagic));
  PutFixed32(&buf_, kFormat);
  buf_.append(reinterpret_cast<const char*>(uuid_.data()), uuid_.size());
  PutFixed64(&buf_, file_number_);
  PutFixed64(&buf_, Hash64(buf_, kHeaderSeed));
  return status_;
}

void IndexSnapshotWriter::AddSection(uint8_t type, std::string_view body) {
  if (!status_.ok()) return;
  const uint64_t section_offset = offset_ + buf_.size();
  PutFixed32(&buf_, static_cast<uint32_t>(body.size()));
  const size_t hashed_start = buf_.size();
  buf_.push_back(static_cast<char>(type));
  buf_.append(body);
  PutFixed64(&buf_, Hash64(std::string_view(buf_).substr(hashed_start),
                           SectionSeed(file_number_, section_offset)));
  ++sections_;
  if (buf_.size() >= kFlushBytes) status_ = Flush();
}

Status IndexSnapshotWriter::Flush() {
  Status s = file_->Write(offset_, buf_);
  offset_ += buf_.size();
  buf_.clear();
  return s;
}

Status IndexSnapshotWriter::AddPartition(const PartitionSnapshot& p) {
  std::string body;
  PutFixed32(&body, p.space_id);
  PutFixed32(&body, p.field_id);
  body.push_back(static_cast<char>(p.metric));
  PutFixed32(&body, p.dim);
  body.push_back(p.clustered ? 1 : 0);
  PutFixed32(&body, p.page_capacity);
  PutFixed32(&body, p.plane_stride);
  PutFixed32(&body, p.prefix_width);
  PutFixed64(&body, p.split_attempts);
  PutFixed32(&body, static_cast<uint32_t>(p.entries.size()));
  PutFixed32(&body, static_cast<uint32_t>(p.lists.size()));
  PutFixed32(&body, static_cast<uint32_t>(p.groups.size()));
  AddSection(kPartition, body);
  if (p.prefix_width > 0) {
    body.clear();
    PutFixed64(&body, std::bit_cast<uint64_t>(p.prefix_energy));
    PutArray(&body, p.directions.data(), p.directions.size());
    AddSection(kProjection, body);
  }

  for (size_t first = 0; first < p.entries.size(); first += kEntriesPerSection) {
    const size_t n = std::min<size_t>(kEntriesPerSection, p.entries.size() - first);
    body.clear();
    PutFixed32(&body, static_cast<uint32_t>(n));
    for (size_t i = first; i < first + n; ++i) {
      const SnapshotEntry& e = p.entries[i];
      PutFixed64(&body, e.cube);
      PutFixed32(&body, e.source.generation);
      PutFixed64(&body, e.source.offset);
      PutFixed32(&body, e.source.length);
      PutFixed64(&body, e.source.checksum);
    }
    AddSection(kEntries, body);
  }

  for (size_t j = 0; j < p.lists.size(); ++j) {
    const SnapshotList& l = p.lists[j];
    body.clear();
    PutFixed32(&body, static_cast<uint32_t>(j));
    PutFixed32(&body, l.slots);
    PutFixed32(&body, l.split_at);
    PutArray(&body, l.centroid.data(), l.centroid.size());
    PutArray(&body, l.hi.data(), l.hi.size());
    PutArray(&body, l.lo.data(), l.lo.size());
    PutArray(&body, l.scales.data(), l.scales.size());
    PutArray(&body, l.biases.data(), l.biases.size());
    PutArray(&body, l.entries.data(), l.entries.size());
    PutArray(&body, l.prefix.data(), l.prefix.size());
    PutArray(&body, l.prefix_scales.data(), l.prefix_scales.size());
    AddSection(kList, body);
  }

  if (!p.groups.empty()) {
    body.clear();
    PutFixed32(&body, p.grouped_lists);
    for (const SnapshotGroup& g : p.groups) {
      PutArray(&body, g.codes.data(), g.codes.size());
      PutFloat(&body, g.scale);
      PutFloat(&body, g.bias);
      PutFixed32(&body, static_cast<uint32_t>(g.sum));
      PutFixed32(&body, static_cast<uint32_t>(g.members.size()));
      PutArray(&body, g.members.data(), g.members.size());
    }
    AddSection(kGroups, body);
  }
  ++partitions_;
  return status_;
}

Status IndexSnapshotWriter::Finish(uint64_t* bytes) {
  std::string body;
  PutFixed32(&body, partitions_);
  PutFixed32(&body, sections_);
  AddSection(kEnd, body);
  LOCI_RETURN_IF_ERROR(status_);
  LOCI_RETURN_IF_ERROR(Flush());
  LOCI_RETURN_IF_ERROR(file_->Sync());
  *bytes = offset_;
  return Status::OK();
}

namespace {

// Decodes one section body at a time, keeping what the sections before it promised.
class SnapshotDecoder {
 public:
  SnapshotDecoder(const std::string& path, IndexSnapshot* out) : path_(path), out_(out) {}

  // Decodes the section of `type` at file offset `pos`.
  Status Section(uint8_t type, uint64_t pos, std::string_view body, bool* ended);
  // After the last section.
  Status Done(uint64_t pos) {
    if (open_ != nullptr) return Corrupt(pos, "end", "partition incomplete at the end");
    return Status::OK();
  }

 private:
  Status Corrupt(uint64_t pos, const std::string& section, const std::string& what) const {
    std::string where = path_ + " at offset " + std::to_string(pos) + ": " + section + " section";
    if (open_ != nullptr) {
      where += " of partition (space " + std::to_string(open_->space_id) + ", field " +
               std::to_string(open_->field_id) + ")";
    }
    return Status::Corruption(where + ": " + what);
  }
  Status DecodePartition(uint64_t pos, Decoder* d);
  Status DecodeProjection(uint64_t pos, Decoder* d);
  // Whether the open partition's projection, if it has one, has been decoded.
  bool HasProjection() const { return open_->prefix_width == 0 || !open_->directions.empty(); }
  Status DecodeEntries(uint64_t pos, Decoder* d);
  Status DecodeList(uint64_t pos, Decoder* d);
  Status DecodeGroups(uint64_t pos, Decoder* d);
  // Closes the open partition once it has everything its header announced.
  void MaybeClose() {
    if (open_ != nullptr && HasProjection() && open_->entries.size() == expected_entries_ &&
        open_->lists.size() == expected_lists_ &&
        (expected_groups_ == 0 || !open_->groups.empty())) {
      open_ = nullptr;
    }
  }

  const std::string& path_;
  IndexSnapshot* const out_;
  PartitionSnapshot* open_ = nullptr;  // the partition whose sections come next
  uint32_t expected_entries_ = 0;
  uint32_t expected_lists_ = 0;
  uint32_t expected_groups_ = 0;
  std::unordered_set<uint64_t> keys_;
  uint32_t sections_ = 0;
};

Status SnapshotDecoder::Section(uint8_t type, uint64_t pos, std::string_view body, bool* ended) {
  Decoder d(body);
  Status s;
  switch (type) {
    case kPartition:
      s = DecodePartition(pos, &d);
      break;
    case kEntries:
      s = DecodeEntries(pos, &d);
      break;
    case kList:
      s = DecodeList(pos, &d);
      break;
    case kGroups:
      s = DecodeGroups(pos, &d);
      break;
    case kProjection:
      s = DecodeProjection(pos, &d);
      break;
    case kEnd: {
      uint32_t partitions = 0, sections = 0;
      if (!d.GetFixed32(&partitions) || !d.GetFixed32(&sections) || !d.empty()) {
        return Corrupt(pos, "end", "malformed");
      }
      if (open_ != nullptr) return Corrupt(pos, "end", "partition incomplete");
      if (partitions != out_->partitions.size() || sections != sections_) {
        return Corrupt(pos, "end", "counts do not match the sections before it");
      }
      *ended = true;
      return Status::OK();
    }
    default:
      return Corrupt(pos, "unknown", "type " + std::to_string(type));
  }
  if (!s.ok()) return s;
  ++sections_;
  MaybeClose();
  return Status::OK();
}

Status SnapshotDecoder::DecodePartition(uint64_t pos, Decoder* d) {
  if (open_ != nullptr) return Corrupt(pos, "partition", "previous partition incomplete");
  PartitionSnapshot p;
  uint8_t metric = 0, clustered = 0;
  uint32_t entries = 0, lists = 0, groups = 0;
  if (!d->GetFixed32(&p.space_id) || !d->GetFixed32(&p.field_id) || !d->GetU8(&metric) ||
      !d->GetFixed32(&p.dim) || !d->GetU8(&clustered) || !d->GetFixed32(&p.page_capacity) ||
      !d->GetFixed32(&p.plane_stride) || !d->GetFixed32(&p.prefix_width) ||
      !d->GetFixed64(&p.split_attempts) || !d->GetFixed32(&entries) || !d->GetFixed32(&lists) ||
      !d->GetFixed32(&groups) || !d->empty()) {
    return Corrupt(pos, "partition", "malformed header");
  }
  static_assert(kPartitionBodyBytes == 46);
  const std::string key =
      "(space " + std::to_string(p.space_id) + ", field " + std::to_string(p.field_id) + ")";
  if (!ValidMetric(metric) || clustered > 1) {
    return Corrupt(pos, "partition", key + ": unknown metric or shape");
  }
  if (p.dim == 0 || p.dim > kMaxSnapshotDim || p.plane_stride != NibbleStride(p.dim)) {
    return Corrupt(pos, "partition", key + ": bad dimension or plane stride");
  }
  if (p.page_capacity == 0) return Corrupt(pos, "partition", key + ": page capacity 0");
  if (p.prefix_width != 0 &&
      (clustered == 0 || p.prefix_width % kPrefixGranule != 0 || p.prefix_width >= p.dim)) {
    return Corrupt(pos, "partition", key + ": bad prefix width");
  }
  if (lists == 0 || (clustered == 0 && (lists != 1 || groups != 0)) || groups > lists) {
    return Corrupt(pos, "partition", key + ": bad list or group count");
  }
  if (!keys_.insert((uint64_t{p.space_id} << 32) | p.field_id).second) {
    return Corrupt(pos, "partition", key + ": appears twice");
  }
  p.metric = static_cast<Metric>(metric);
  p.clustered = clustered == 1;
  out_->partitions.push_back(std::move(p));
  open_ = &out_->partitions.back();
  expected_entries_ = entries;
  expected_lists_ = lists;
  expected_groups_ = groups;
  // Counts are only promises: the containers grow as sections actually arrive.
  return Status::OK();
}

Status SnapshotDecoder::DecodeProjection(uint64_t pos, Decoder* d) {
  if (open_ == nullptr || open_->prefix_width == 0 || !open_->directions.empty() ||
      !open_->entries.empty() || !open_->lists.empty()) {
    return Corrupt(pos, "projection", "not right after a partition header with a prefix");
  }
  uint64_t energy_bits = 0;
  const uint64_t floats = uint64_t{open_->prefix_width} * open_->dim;
  if (!d->GetFixed64(&energy_bits) || d->remaining() != floats * 4 ||
      !GetArray<float>(d, floats, &open_->directions)) {
    return Corrupt(pos, "projection", "length does not match");
  }
  open_->prefix_energy = std::bit_cast<double>(energy_bits);
  if (!(open_->prefix_energy >= 0 && open_->prefix_energy <= 1)) {
    return Corrupt(pos, "projection", "energy out of range");
  }
  for (float v : open_->directions) {
    if (!std::isfinite(v)) return Corrupt(pos, "projection", "direction not finite");
  }
  return Status::OK();
}

Status SnapshotDecoder::DecodeEntries(uint64_t pos, Decoder* d) {
  if (open_ == nullptr || !open_->lists.empty() || !HasProjection()) {
    return Corrupt(pos, "entries", "not right after a partition header (and its projection)");
  }
  uint32_t n = 0;
  if (!d->GetFixed32(&n) || n == 0 || n > kEntriesPerSection || d->remaining() != n * kEntryBytes) {
    return Corrupt(pos, "entries", "bad count");
  }
  if (n > expected_entries_ - open_->entries.size()) {
    return Corrupt(pos, "entries", "more entries than the partition header says");
  }
  for (uint32_t i = 0; i < n; ++i) {
    SnapshotEntry e;
    d->GetFixed64(&e.cube);
    d->GetFixed32(&e.source.generation);
    d->GetFixed64(&e.source.offset);
    d->GetFixed32(&e.source.length);
    d->GetFixed64(&e.source.checksum);
    open_->entries.push_back(e);
  }
  return Status::OK();
}

Status SnapshotDecoder::DecodeList(uint64_t pos, Decoder* d) {
  if (open_ == nullptr || open_->entries.size() != expected_entries_ || !HasProjection()) {
    return Corrupt(pos, "list", "not after the partition's entries (and its projection)");
  }
  uint32_t index = 0, slots = 0, split_at = 0;
  if (!d->GetFixed32(&index) || !d->GetFixed32(&slots) || !d->GetFixed32(&split_at)) {
    return Corrupt(pos, "list", "malformed");
  }
  const std::string name = "list " + std::to_string(index);
  if (index != open_->lists.size()) return Corrupt(pos, "list", name + ": out of order");
  // A flat list is never split; a list splits in two only past 2 vectors.
  if (open_->clustered ? split_at < 2 : split_at != UINT32_MAX) {
    return Corrupt(pos, "list", name + ": bad split threshold");
  }
  SnapshotList l;
  l.slots = slots;
  l.split_at = split_at;
  const uint64_t ps = open_->plane_stride;
  const uint64_t prefix_stride = open_->prefix_width / 2;
  // Everything the slots take, checked before anything is allocated.
  const uint64_t need =
      (open_->clustered ? uint64_t{open_->dim} * 4 : 0) +
      uint64_t{slots} * (2 * ps + 4 + 4 + 4 + (prefix_stride != 0 ? prefix_stride + 4 : 0));
  if (need != d->remaining()) return Corrupt(pos, "list", name + ": length does not match");
  if (open_->clustered) {
    if (!GetArray<float>(d, open_->dim, &l.centroid)) {
      return Corrupt(pos, "list", name + ": centroid");
    }
    for (float c : l.centroid) {
      if (!std::isfinite(c)) return Corrupt(pos, "list", name + ": centroid not finite");
    }
  }
  if (!GetArray<uint8_t>(d, slots * ps, &l.hi) || !GetArray<uint8_t>(d, slots * ps, &l.lo) ||
      !GetArray<float>(d, slots, &l.scales) || !GetArray<float>(d, slots, &l.biases) ||
      !GetArray<uint32_t>(d, slots, &l.entries) ||
      !GetArray<uint8_t>(d, slots * prefix_stride, &l.prefix) ||
      !GetArray<float>(d, prefix_stride != 0 ? slots : 0, &l.prefix_scales) || !d->empty()) {
    return Corrupt(pos, "list", name + ": malformed slots");
  }
  for (uint32_t s = 0; s < slots; ++s) {
    if (l.entries[s] >= open_->entries.size()) {
      return Corrupt(pos, "list",
                     name + " slot " + std::to_string(s) + ": entry " +
                         std::to_string(l.entries[s]) + " out of range");
    }
  }
  open_->lists.push_back(std::move(l));
  return Status::OK();
}

Status SnapshotDecoder::DecodeGroups(uint64_t pos, Decoder* d) {
  if (open_ == nullptr || open_->lists.size() != expected_lists_ || expected_groups_ == 0) {
    return Corrupt(pos, "groups", "not after the partition's lists, or not announced");
  }
  if (!d->GetFixed32(&open_->grouped_lists) || open_->grouped_lists == 0) {
    return Corrupt(pos, "groups", "malformed");
  }
  const size_t stride = CodeStride(open_->dim);
  std::vector<bool> seen(open_->lists.size(), false);
  std::vector<SnapshotGroup> groups;
  for (uint32_t g = 0; g < expected_groups_; ++g) {
    const std::string name = "group " + std::to_string(g);
    SnapshotGroup group;
    uint32_t members = 0, sum = 0;
    if (!GetArray<int8_t>(d, stride, &group.codes) || !d->GetFloat(&group.scale) ||
        !d->GetFloat(&group.bias) || !d->GetFixed32(&sum) || !d->GetFixed32(&members) ||
        !GetArray<uint32_t>(d, members, &group.members)) {
      return Corrupt(pos, "groups", name + ": malformed");
    }
    group.sum = static_cast<int32_t>(sum);
    // The sum is the codes' (the scan's correction term): any other value is damage, and a
    // large one would overflow the correction.
    if (group.sum != SumS8(group.codes.data(), stride)) {
      return Corrupt(pos, "groups", name + ": code sum does not match its codes");
    }
    for (uint32_t j : group.members) {
      if (j >= seen.size() || seen[j]) {
        return Corrupt(pos, "groups",
                       name + ": list " + std::to_string(j) + " out of range or in two groups");
      }
      seen[j] = true;
    }
    groups.push_back(std::move(group));
  }
  if (!d->empty()) return Corrupt(pos, "groups", "bytes after the last group");
  for (bool in : seen) {
    if (!in) return Corrupt(pos, "groups", "a list is in no group");
  }
  open_->groups = std::move(groups);
  return Status::OK();
}

}  // namespace

Status DecodeIndexSnapshot(std::string_view data, const std::string& path, const DbUuid& uuid,
                           uint64_t file_number, IndexSnapshot* out) {
  *out = IndexSnapshot();
  auto corrupt = [&](uint64_t offset, const std::string& what) {
    return Status::Corruption(path + " at offset " + std::to_string(offset) + ": " + what);
  };
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt(0, "not an index snapshot (bad magic)");
  }
  if (Hash64(data.substr(0, kHeaderSize - 8), kHeaderSeed) !=
      DecodeFixed64(data.data() + kHeaderSize - 8)) {
    return corrupt(0, "header checksum mismatch");
  }
  if (DecodeFixed32(data.data() + 8) != kFormat) return corrupt(8, "unknown format");
  if (std::memcmp(data.data() + 12, uuid.data(), uuid.size()) != 0) {
    return corrupt(12, "belongs to another database");
  }
  if (DecodeFixed64(data.data() + 28) != file_number) {
    return corrupt(28, "file number does not match its name");
  }
  SnapshotDecoder decoder(path, out);
  uint64_t pos = kHeaderSize;
  bool ended = false;
  while (!ended) {
    if (data.size() - pos < kSectionOverhead) return corrupt(pos, "truncated");
    const uint32_t len = DecodeFixed32(data.data() + pos);
    if (len > data.size() - pos - kSectionOverhead) return corrupt(pos, "section length too large");
    std::string_view hashed = data.substr(pos + 4, 1 + size_t{len});
    if (Hash64(hashed, SectionSeed(file_number, pos)) !=
        DecodeFixed64(data.data() + pos + 5 + len)) {
      return corrupt(pos, "section checksum mismatch");
    }
    Status s = decoder.Section(static_cast<uint8_t>(hashed[0]), pos, hashed.substr(1), &ended);
    if (!s.ok()) {
      *out = IndexSnapshot();
      return s;
    }
    pos += kSectionOverhead + len;
  }
  if (pos != data.size()) return corrupt(pos, "bytes after the end section");
  return decoder.Done(pos);
}

std::string FrameIndexSnapshot(const DbUuid& uuid, uint64_t file_number,
                               const std::vector<std::pair<uint8_t, std::string>>& sections) {
  std::string out(kMagic, sizeof(kMagic));
  PutFixed32(&out, kFormat);
  out.append(reinterpret_cast<const char*>(uuid.data()), uuid.size());
  PutFixed64(&out, file_number);
  PutFixed64(&out, Hash64(out, kHeaderSeed));
  for (const auto& [type, body] : sections) {
    const uint64_t offset = out.size();
    PutFixed32(&out, static_cast<uint32_t>(body.size()));
    const size_t hashed_start = out.size();
    out.push_back(static_cast<char>(type));
    out.append(body);
    PutFixed64(
        &out, Hash64(std::string_view(out).substr(hashed_start), SectionSeed(file_number, offset)));
  }
  return out;
}

Status ReadIndexSnapshot(Env* env, const std::string& path, const DbUuid& uuid,
                         uint64_t file_number, IndexSnapshot* out) {
  std::unique_ptr<RandomAccessFile> file;
  LOCI_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  Result<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  std::string data;
  LOCI_RETURN_IF_ERROR(file->Read(0, *size, &data));
  if (data.size() != *size) return Status::IOError(path + ": short read");
  return DecodeIndexSnapshot(data, path, uuid, file_number, out);
}

}  // namespace loci::index
