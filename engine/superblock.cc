// Superblock slots: encoding, verification, newest-valid-wins, and the two-copy update.

#include "engine/superblock.h"

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "common/coding.h"
#include "common/hash.h"

namespace loci::engine {

namespace {
constexpr char kMagic[8] = {'L', 'O', 'C', 'I', 'S', 'U', 'P', '1'};
constexpr uint32_t kOldestFormat = 1;
// The newest format without flags (see superblock.h: a state without flags is written in it).
constexpr uint32_t kFormatWithoutFlags = 2;
constexpr uint64_t kSeed = 0x4c4f434953555042ull;
constexpr size_t kSlotHeader = 8 + 4 + 4;
constexpr size_t kMaxCheckpoints = 64;
// Between re-reads of a copy that is not valid (see ReadSuperblock's settle_reads): longer than
// a 4 KiB pwrite into the page cache takes, short enough not to be noticed.
constexpr auto kSettlePause = std::chrono::microseconds(300);

// Decodes a slot into copies[i], with the check that it sits in the slot of its sequence number.
Status DecodeCopy(std::string_view file_bytes, int i, Superblock* copy) {
  const size_t start = i * kSuperblockSlotSize;
  std::string_view slot = start < file_bytes.size() ? file_bytes.substr(start, kSuperblockSlotSize)
                                                    : std::string_view();
  Status s = DecodeSuperblockSlot(slot, copy);
  if (s.ok() && copy->seq % 2 != static_cast<uint64_t>(i)) {
    return Status::Corruption("copy in the wrong slot");
  }
  return s;
}

std::string CopyName(int i) {
  return "slot " + std::to_string(i) + " (offset " + std::to_string(i * kSuperblockSlotSize) + ")";
}

}  // namespace

Status EncodeSuperblockSlot(const Superblock& sb, std::string* slot) {
  std::string body;
  PutVarint64(&body, sb.seq);
  body.append(reinterpret_cast<const char*>(sb.db_uuid.data()), sb.db_uuid.size());
  PutVarsint64(&body, sb.created);
  PutVarint64(&body, sb.checkpoint_lsn);
  PutFixed64(&body, sb.checkpoint_checksum);
  PutVarint64(&body, sb.wal_first_segment);
  PutVarint64(&body, sb.next_file_number);
  PutVarsint64(&body, sb.clock_high_water);
  PutVarint64(&body, sb.next_cube_id);
  PutVarint64(&body, sb.checkpoints.size());
  for (const CheckpointFile& c : sb.checkpoints) {
    PutVarint64(&body, c.file_number);
    PutVarint64(&body, c.bytes);
  }
  PutVarint64(&body, sb.cube_id_limit);
  if (sb.flags != 0) PutVarint64(&body, sb.flags);
  if ((sb.flags & ~uint64_t{kKnownSuperblockFlags}) != 0) {
    return Status::InvalidArgument("unknown superblock flags");
  }
  if (sb.checkpoints.size() > kMaxCheckpoints ||
      kSlotHeader + body.size() + 8 > kSuperblockSlotSize) {
    return Status::InvalidArgument("superblock does not fit its slot");
  }
  slot->assign(kMagic, sizeof(kMagic));
  PutFixed32(slot, sb.flags != 0 ? kSuperblockFormat : kFormatWithoutFlags);
  PutFixed32(slot, static_cast<uint32_t>(body.size()));
  slot->append(body);
  PutFixed64(slot, Hash64(*slot, kSeed));
  slot->resize(kSuperblockSlotSize, '\0');
  return Status::OK();
}

Status DecodeSuperblockSlot(std::string_view slot, Superblock* sb) {
  if (slot.size() < kSlotHeader + 8) return Status::Corruption("slot truncated");
  if (std::memcmp(slot.data(), kMagic, sizeof(kMagic)) != 0) {
    return Status::Corruption("bad magic");
  }
  const uint32_t format = DecodeFixed32(slot.data() + 8);
  const uint32_t body_len = DecodeFixed32(slot.data() + 12);
  if (body_len > slot.size() - kSlotHeader - 8) return Status::Corruption("bad body length");
  const size_t checked = kSlotHeader + body_len;
  if (Hash64(slot.substr(0, checked), kSeed) != DecodeFixed64(slot.data() + checked)) {
    return Status::Corruption("checksum mismatch");
  }
  if (format > kSuperblockFormat) {
    return Status::NotSupported("written by a newer Loci: superblock format " +
                                std::to_string(format) + ", this build reads formats " +
                                std::to_string(kOldestFormat) + " to " +
                                std::to_string(kSuperblockFormat));
  }
  if (format < kOldestFormat) {
    return Status::Corruption("unknown superblock format " + std::to_string(format));
  }
  Decoder d(slot.substr(kSlotHeader, body_len));
  Superblock out;
  std::string_view uuid;
  uint64_t n = 0;
  d.GetVarint64(&out.seq);
  d.GetBytes(out.db_uuid.size(), &uuid);
  d.GetVarsint64(&out.created);
  d.GetVarint64(&out.checkpoint_lsn);
  d.GetFixed64(&out.checkpoint_checksum);
  d.GetVarint64(&out.wal_first_segment);
  d.GetVarint64(&out.next_file_number);
  d.GetVarsint64(&out.clock_high_water);
  d.GetVarint64(&out.next_cube_id);
  d.GetVarint64(&n);
  if (!d.ok() || n > kMaxCheckpoints) return Status::Corruption("malformed body");
  out.checkpoints.resize(n);
  for (CheckpointFile& c : out.checkpoints) {
    d.GetVarint64(&c.file_number);
    d.GetVarint64(&c.bytes);
  }
  out.cube_id_limit = out.next_cube_id;
  if (format >= 2) d.GetVarint64(&out.cube_id_limit);
  if (format >= 3) d.GetVarint64(&out.flags);
  // Format 3 exists to carry flags: without any it is not this build's encoding of anything.
  if (!d.ok() || !d.empty() || out.wal_first_segment == 0 || out.next_cube_id == 0 ||
      out.cube_id_limit < out.next_cube_id || (format >= 3 && out.flags == 0)) {
    return Status::Corruption("malformed body");
  }
  if ((out.flags & ~uint64_t{kKnownSuperblockFlags}) != 0) {
    return Status::NotSupported("written by a newer Loci: superblock flags " +
                                std::to_string(out.flags) + ", this build knows " +
                                std::to_string(kKnownSuperblockFlags));
  }
  std::memcpy(out.db_uuid.data(), uuid.data(), out.db_uuid.size());
  *sb = out;
  return Status::OK();
}

Status ReadSuperblock(Env* env, const std::string& path, Superblock* sb, std::string* damaged_copy,
                      int settle_reads) {
  std::unique_ptr<RandomAccessFile> file;
  LOCI_RETURN_IF_ERROR(env->NewRandomAccessFile(path, &file));
  std::string data;
  Superblock copies[2];
  Status status[2];
  for (int read = 0;; ++read) {
    LOCI_RETURN_IF_ERROR(file->Read(0, 2 * kSuperblockSlotSize, &data));
    for (int i = 0; i < 2; ++i) status[i] = DecodeCopy(data, i, &copies[i]);
    if ((status[0].ok() && status[1].ok()) || read >= settle_reads) break;
    std::this_thread::sleep_for(kSettlePause);
  }
  for (const Status& s : status) {
    if (s.IsNotSupported()) return s.WithContext(path);
  }
  if (!status[0].ok() && !status[1].ok()) {
    return Status::Corruption(path + ": no valid copy (" + CopyName(0) + ": " +
                              status[0].message() + "; " + CopyName(1) + ": " +
                              status[1].message() + ")");
  }
  const int best = !status[0].ok()   ? 1
                   : !status[1].ok() ? 0
                                     : (copies[1].seq > copies[0].seq ? 1 : 0);
  if (damaged_copy != nullptr) {
    damaged_copy->clear();
    const int other = 1 - best;
    if (!status[other].ok()) *damaged_copy = CopyName(other) + ": " + status[other].message();
  }
  *sb = copies[best];
  return Status::OK();
}

Status WriteSuperblock(WritableFile* file, const Superblock& sb) {
  std::string slot;
  LOCI_RETURN_IF_ERROR(EncodeSuperblockSlot(sb, &slot));
  LOCI_RETURN_IF_ERROR(file->Write((sb.seq % 2) * kSuperblockSlotSize, slot));
  return file->Sync();
}

Status WriteSuperblockCopies(WritableFile* file, Superblock* sb) {
  for (int copy = 0; copy < 2; ++copy) {
    ++sb->seq;
    LOCI_RETURN_IF_ERROR(WriteSuperblock(file, *sb));
  }
  return Status::OK();
}

Status CreateSuperblockFile(Env* env, const DbPaths& paths, Superblock sb) {
  const std::string tmp = paths.superblock_temp();
  std::unique_ptr<WritableFile> file;
  LOCI_RETURN_IF_ERROR(env->NewWritableFile(tmp, Env::OpenMode::kCreateNew, &file));
  for (uint64_t seq : {0, 1}) {
    sb.seq = seq;
    std::string slot;
    LOCI_RETURN_IF_ERROR(EncodeSuperblockSlot(sb, &slot));
    LOCI_RETURN_IF_ERROR(file->Write(seq * kSuperblockSlotSize, slot));
  }
  LOCI_RETURN_IF_ERROR(file->Sync());
  file.reset();
  LOCI_RETURN_IF_ERROR(env->RenameFile(tmp, paths.superblock()));
  return env->SyncDir(paths.dir());
}

}  // namespace loci::engine
