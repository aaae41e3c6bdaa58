// Writing and verifying checkpoint files.

#include "engine/checkpoint.h"

#include <algorithm>
#include <cstring>

#include "common/coding.h"
#include "common/hash.h"
#include "engine/record_codec.h"

namespace loci::engine {

namespace {
constexpr char kMagic[8] = {'L', 'O', 'C', 'I', 'C', 'K', 'P', '1'};
// Without field drop entries, and with (checkpoint.h).
constexpr uint32_t kFormat = 1;
constexpr uint32_t kFormatWithDrops = 2;
constexpr uint64_t kHeaderSeed = 0x4c4f4349434b5048ull;
constexpr size_t kHeaderSize = 8 + 4 + 16 + 8 + 8 + 8;
constexpr size_t kEntryOverhead = 4 + 1 + 8;
constexpr size_t kFlushBytes = 1 << 20;

enum EntryType : uint8_t {
  kSpace = 1,
  kField = 2,
  kVersion = 3,
  kEnd = 4,
  kFieldDrop = 5,
  kEpisodeVersion = 6,
  kEdge = 7,
  kChainStart = 8,
};

bool HasDroppedField(const Catalog& catalog) {
  for (const SpaceDef& space : catalog.spaces()) {
    for (const FieldDef& field : space.fields) {
      if (field.dropped) return true;
    }
  }
  return false;
}

// Whether `r` is a vector of a field `space` (may be nullptr) has dropped.
bool IsDroppedVector(const SpaceDef* space, const VectorRef& r) {
  const FieldDef* field = space != nullptr ? space->FieldById(r.field_id) : nullptr;
  return field != nullptr && field->dropped;
}

uint64_t EntrySeed(uint64_t file_number, uint64_t offset) {
  return (file_number << 32) ^ offset ^ 0x5eedc4ec4b0110ull;
}
}  // namespace

CheckpointWriter::CheckpointWriter(Env* env, std::string path, const DbUuid& uuid,
                                   uint64_t file_number, uint64_t covers_lsn)
    : env_(env),
      path_(std::move(path)),
      uuid_(uuid),
      file_number_(file_number),
      covers_lsn_(covers_lsn) {}

CheckpointWriter::~CheckpointWriter() = default;

Status CheckpointWriter::Open(const Catalog& catalog) {
  catalog_ = &catalog;
  status_ = env_->NewWritableFile(path_, Env::OpenMode::kCreateNew, &file_);
  if (!status_.ok()) return status_;
  buf_.append(kMagic, sizeof(kMagic));
  has_drops_ = HasDroppedField(catalog);
  PutFixed32(&buf_, has_drops_ ? kFormatWithDrops : kFormat);
  buf_.append(reinterpret_cast<const char*>(uuid_.data()), uuid_.size());
  PutFixed64(&buf_, file_number_);
  PutFixed64(&buf_, covers_lsn_);
  PutFixed64(&buf_, Hash64(buf_, kHeaderSeed));
  std::string body;
  for (const SpaceDef& space : catalog.spaces()) {
    body.clear();
    EncodeSpace(space.id, space.name, &body);
    AddEntry(kSpace, body);
    for (const FieldDef& field : space.fields) {
      body.clear();
      EncodeField(space.id, field, &body);
      AddEntry(kField, body);
      if (!field.dropped) continue;
      body.clear();
      EncodeFieldDrop(FieldDropEntry{space.id, field.id}, &body);
      AddEntry(kFieldDrop, body);
    }
  }
  return status_;
}

void CheckpointWriter::AddEntry(uint8_t type, std::string_view body) {
  if (!status_.ok()) return;
  const uint64_t entry_offset = offset_ + buf_.size();
  PutFixed32(&buf_, static_cast<uint32_t>(body.size()));
  const size_t hashed_start = buf_.size();
  buf_.push_back(static_cast<char>(type));
  buf_.append(body);
  const uint64_t checksum =
      Hash64(std::string_view(buf_).substr(hashed_start), EntrySeed(file_number_, entry_offset));
  PutFixed64(&buf_, checksum);
  ++entries_;
  if (buf_.size() >= kFlushBytes) status_ = Flush();
}

Status CheckpointWriter::Flush() {
  Status s = file_->Write(offset_, buf_);
  offset_ += buf_.size();
  buf_.clear();
  return s;
}

void CheckpointWriter::AddVersion(const Version& v) {
  thread_local std::string body;
  body.clear();
  PutVarsint64(&body, v.tx_from);
  PutVarint64(&body, v.lsn);
  const SpaceDef* space = has_drops_ ? catalog_->SpaceById(v.space_id) : nullptr;
  auto dropped = [space](const VectorRef& r) { return IsDroppedVector(space, r); };
  if (has_drops_ && std::any_of(v.vectors.begin(), v.vectors.end(), dropped)) {
    // Versions committed before a drop keep their refs in memory; the checkpoint lets them go.
    Version kept = v;
    std::erase_if(kept.vectors, dropped);
    EncodeVersionBody(kept, &body);
  } else {
    EncodeVersionBody(v, &body);
  }
  if (v.episode.empty()) {
    AddEntry(kVersion, body);
  } else {
    PutLengthPrefixed(&body, v.episode);
    AddEntry(kEpisodeVersion, body);
  }
}

void CheckpointWriter::AddEdge(const index::EdgeVersion& e) {
  std::string body;
  PutVarsint64(&body, e.tx_from);
  PutVarint64(&body, e.lsn);
  EncodeEdgeBody(e, &body);
  AddEntry(kEdge, body);
}

void CheckpointWriter::AddChainStart(uint64_t id, uint32_t first_version) {
  std::string body;
  PutVarint64(&body, id);
  PutVarint64(&body, first_version);
  AddEntry(kChainStart, body);
}

Status CheckpointWriter::Finish(uint64_t next_cube_id, int64_t clock_high_water, uint64_t* bytes) {
  std::string body;
  PutVarint64(&body, entries_);
  PutVarint64(&body, next_cube_id);
  PutVarsint64(&body, clock_high_water);
  AddEntry(kEnd, body);
  LOCI_RETURN_IF_ERROR(status_);
  LOCI_RETURN_IF_ERROR(Flush());
  LOCI_RETURN_IF_ERROR(file_->Sync());
  *bytes = offset_;
  return Status::OK();
}

Status ReadCheckpoint(Env* env, const std::string& path, const DbUuid& uuid, uint64_t file_number,
                      uint64_t expected_bytes, const CheckpointVisitor& visitor,
                      CheckpointContents* contents) {
  std::unique_ptr<RandomAccessFile> file;
  Status opened = env->NewRandomAccessFile(path, &file);
  if (opened.IsNotFound()) {
    // The superblock names it, so it was durable before the superblock was: losing it is
    // damage to the database, not a missing database.
    return Status::Corruption(path + ": checkpoint file named by the superblock is missing");
  }
  LOCI_RETURN_IF_ERROR(opened);
  Result<uint64_t> size = file->Size();
  if (!size.ok()) return size.status();
  if (*size != expected_bytes) {
    return Status::Corruption(path + ": checkpoint is " + std::to_string(*size) +
                              " bytes, the superblock says " + std::to_string(expected_bytes));
  }
  std::string data;
  LOCI_RETURN_IF_ERROR(file->Read(0, *size, &data));
  if (data.size() != *size) return Status::IOError(path + ": short read");

  auto corrupt = [&](uint64_t offset, const std::string& what) {
    return Status::Corruption(path + " at offset " + std::to_string(offset) + ": " + what);
  };
  if (data.size() < kHeaderSize || std::memcmp(data.data(), kMagic, sizeof(kMagic)) != 0) {
    return corrupt(0, "not a checkpoint file (bad magic)");
  }
  if (Hash64(std::string_view(data).substr(0, kHeaderSize - 8), kHeaderSeed) !=
      DecodeFixed64(data.data() + kHeaderSize - 8)) {
    return corrupt(0, "checkpoint header checksum mismatch");
  }
  const uint32_t format = DecodeFixed32(data.data() + 8);
  if (format != kFormat && format != kFormatWithDrops) {
    return corrupt(8, "unknown checkpoint format");
  }
  if (std::memcmp(data.data() + 12, uuid.data(), uuid.size()) != 0) {
    return corrupt(12, "checkpoint belongs to another database");
  }
  if (DecodeFixed64(data.data() + 28) != file_number) {
    return corrupt(28, "checkpoint file number does not match its name");
  }
  *contents = CheckpointContents();
  contents->covers_lsn = DecodeFixed64(data.data() + 36);

  uint64_t pos = kHeaderSize;
  uint64_t entries = 0;
  bool ended = false;
  while (!ended) {
    if (data.size() - pos < kEntryOverhead) return corrupt(pos, "checkpoint truncated");
    const uint32_t len = DecodeFixed32(data.data() + pos);
    if (len > data.size() - pos - kEntryOverhead) return corrupt(pos, "entry length too large");
    std::string_view hashed(data.data() + pos + 4, 1 + len);
    if (Hash64(hashed, EntrySeed(file_number, pos)) != DecodeFixed64(data.data() + pos + 5 + len)) {
      return corrupt(pos, "checkpoint entry checksum mismatch");
    }
    const uint8_t type = static_cast<uint8_t>(hashed[0]);
    Decoder d(hashed.substr(1));
    Status s;
    switch (type) {
      case kSpace: {
        SpaceEntry space;
        if (!DecodeSpace(&d, &space) || !d.empty()) return corrupt(pos, "malformed space entry");
        s = contents->catalog.ApplySpace(space.id, std::move(space.name));
        break;
      }
      case kField: {
        FieldEntry f;
        if (!DecodeField(&d, &f) || !d.empty()) return corrupt(pos, "malformed field entry");
        s = contents->catalog.ApplyField(f.space_id, f.field.id, f.field.name, f.field.dim,
                                         f.field.metric);
        break;
      }
      case kFieldDrop: {
        if (format == kFormat) return corrupt(pos, "field drop entry in a format 1 checkpoint");
        FieldDropEntry drop;
        if (!DecodeFieldDrop(&d, &drop) || !d.empty()) {
          return corrupt(pos, "malformed field drop entry");
        }
        s = contents->catalog.ApplyFieldDrop(drop.space_id, drop.field_id);
        break;
      }
      case kVersion:
      case kEpisodeVersion: {
        auto v = std::make_unique<Version>();
        if (!d.GetVarsint64(&v->tx_from) || !d.GetVarint64(&v->lsn) ||
            !DecodeVersionBody(&d, v.get()) ||
            (type == kEpisodeVersion && (!DecodeEpisode(&d, v.get()) || v->episode.empty())) ||
            !d.empty() || v->lsn > contents->covers_lsn) {
          return corrupt(pos, "malformed version entry");
        }
        if (contents->catalog.SpaceById(v->space_id) == nullptr) {
          return corrupt(pos, "version of unknown space " + std::to_string(v->space_id));
        }
        s = visitor.on_version(std::move(v));
        break;
      }
      case kEdge: {
        auto e = std::make_unique<index::EdgeVersion>();
        if (!DecodeCheckpointEdge(hashed.substr(1), e.get()) || e->lsn > contents->covers_lsn) {
          return corrupt(pos, "malformed edge entry");
        }
        if (contents->catalog.SpaceById(e->space_id) == nullptr) {
          return corrupt(pos, "edge of unknown space " + std::to_string(e->space_id));
        }
        s = visitor.on_edge(std::move(e));
        break;
      }
      case kChainStart: {
        uint64_t id;
        uint32_t first_version;
        if (!DecodeCheckpointChainStart(hashed.substr(1), &id, &first_version)) {
          return corrupt(pos, "malformed chain start entry");
        }
        s = visitor.on_chain_start(id, first_version);
        break;
      }
      case kEnd: {
        uint64_t count;
        if (!d.GetVarint64(&count) || !d.GetVarint64(&contents->next_cube_id) ||
            !d.GetVarsint64(&contents->clock_high_water) || !d.empty() || count != entries) {
          return corrupt(pos, "malformed end entry");
        }
        ended = true;
        break;
      }
      default:
        return corrupt(pos, "unknown checkpoint entry type " + std::to_string(type));
    }
    if (!s.ok()) return s.WithContext(path + " at offset " + std::to_string(pos));
    ++entries;
    pos += kEntryOverhead + len;
  }
  if (pos != data.size()) return corrupt(pos, "bytes after the end entry");
  return Status::OK();
}

static_assert(static_cast<uint8_t>(CheckpointEntryType::kSpace) == kSpace &&
              static_cast<uint8_t>(CheckpointEntryType::kField) == kField &&
              static_cast<uint8_t>(CheckpointEntryType::kVersion) == kVersion &&
              static_cast<uint8_t>(CheckpointEntryType::kEnd) == kEnd &&
              static_cast<uint8_t>(CheckpointEntryType::kFieldDrop) == kFieldDrop &&
              static_cast<uint8_t>(CheckpointEntryType::kEpisodeVersion) == kEpisodeVersion &&
              static_cast<uint8_t>(CheckpointEntryType::kEdge) == kEdge &&
              static_cast<uint8_t>(CheckpointEntryType::kChainStart) == kChainStart);

uint64_t CheckpointEntriesOffset() { return kHeaderSize; }

Status DecodeCheckpointHeader(std::string_view image, CheckpointHeader* header) {
  if (image.size() < kHeaderSize || std::memcmp(image.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("not a checkpoint file (bad magic)");
  }
  if (Hash64(image.substr(0, kHeaderSize - 8), kHeaderSeed) !=
      DecodeFixed64(image.data() + kHeaderSize - 8)) {
    return Status::Corruption("checkpoint header checksum mismatch");
  }
  header->format = DecodeFixed32(image.data() + 8);
  if (header->format != kFormat && header->format != kFormatWithDrops) {
    return Status::Corruption("unknown checkpoint format " + std::to_string(header->format));
  }
  std::memcpy(header->db_uuid.data(), image.data() + 12, header->db_uuid.size());
  header->file_number = DecodeFixed64(image.data() + 28);
  header->covers_lsn = DecodeFixed64(image.data() + 36);
  return Status::OK();
}

uint64_t CheckpointEntryCost(std::string_view image, uint64_t offset) {
  if (offset > image.size() || image.size() - offset < kEntryOverhead) return 0;
  const uint32_t len = DecodeFixed32(image.data() + offset);
  const uint8_t type = static_cast<uint8_t>(image[offset + 4]);
  if (len > image.size() - offset - kEntryOverhead || type < kSpace || type > kChainStart) return 0;
  return 1 + uint64_t{len};
}

bool ParseCheckpointEntry(std::string_view image, uint64_t file_number, uint64_t offset,
                          CheckpointEntry* entry) {
  if (CheckpointEntryCost(image, offset) == 0) return false;
  const uint32_t len = DecodeFixed32(image.data() + offset);
  std::string_view hashed = image.substr(offset + 4, 1 + len);
  if (Hash64(hashed, EntrySeed(file_number, offset)) !=
      DecodeFixed64(image.data() + offset + 5 + len)) {
    return false;
  }
  *entry = CheckpointEntry{static_cast<uint8_t>(hashed[0]), hashed.substr(1),
                           kEntryOverhead + uint64_t{len}};
  return true;
}

bool PeekCheckpointEntry(std::string_view image, uint64_t offset, uint64_t end,
                         CheckpointEntry* entry) {
  end = std::min<uint64_t>(end, image.size());
  if (offset > end || end - offset < kEntryOverhead) return false;
  const uint64_t len =
      std::min<uint64_t>(DecodeFixed32(image.data() + offset), end - offset - kEntryOverhead);
  *entry = CheckpointEntry{static_cast<uint8_t>(image[offset + 4]), image.substr(offset + 5, len),
                           kEntryOverhead + len};
  return true;
}

bool DecodeCheckpointVersion(std::string_view body, Version* v) {
  Decoder d(body);
  return d.GetVarsint64(&v->tx_from) && d.GetVarint64(&v->lsn) && DecodeVersionBody(&d, v) &&
         d.empty();
}

bool DecodeCheckpointEpisodeVersion(std::string_view body, Version* v) {
  Decoder d(body);
  return d.GetVarsint64(&v->tx_from) && d.GetVarint64(&v->lsn) && DecodeVersionBody(&d, v) &&
         DecodeEpisode(&d, v) && !v->episode.empty() && d.empty();
}

bool DecodeCheckpointEdge(std::string_view body, index::EdgeVersion* e) {
  Decoder d(body);
  return d.GetVarsint64(&e->tx_from) && d.GetVarint64(&e->lsn) && DecodeEdgeBody(&d, e) &&
         d.empty();
}

bool DecodeCheckpointChainStart(std::string_view body, uint64_t* id, uint32_t* first_version) {
  Decoder d(body);
  return d.GetVarint64(id) && d.GetVarint32(first_version) && d.empty() && *id != 0 &&
         *first_version >= 2;
}

bool DecodeCheckpointEnd(std::string_view body, uint64_t* entries, uint64_t* next_cube_id,
                         int64_t* clock_high_water) {
  Decoder d(body);
  return d.GetVarint64(entries) && d.GetVarint64(next_cube_id) &&
         d.GetVarsint64(clock_high_water) && d.empty();
}

}  // namespace loci::engine
