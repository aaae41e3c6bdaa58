// Blob frames and generation headers.

#include "blob/format.h"

#include <cstring>

#include "common/coding.h"
#include "common/hash.h"

namespace loci::blob {

namespace {
constexpr char kGenerationMagic[8] = {'L', 'O', 'C', 'I', 'B', 'L', 'B', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint64_t kHeaderSeed = 0x4c4f4349424c4842ull;
constexpr size_t kGenerationHeaderSize = 8 + 4 + 16 + 4 + 8;

uint32_t FrameHeaderCheck(const char* header12, uint64_t offset) {
  return static_cast<uint32_t>(Hash64(header12, 12, offset ^ kHeaderSeed));
}
}  // namespace

uint64_t PayloadChecksum(std::string_view payload, uint32_t generation, uint64_t offset) {
  return Hash64(payload, (uint64_t{generation} << 40) ^ offset);
}

void AppendFrame(std::string* dst, std::string_view payload, uint32_t generation, uint64_t offset,
                 uint64_t checksum) {
  const size_t start = dst->size();
  dst->resize(start + BlobRef::FrameSpan(payload.size()), '\0');
  char* p = dst->data() + start;
  EncodeFixed32(p, kFrameMagic);
  EncodeFixed32(p + 4, static_cast<uint32_t>(payload.size()));
  EncodeFixed32(p + 8, generation);
  EncodeFixed32(p + 12, FrameHeaderCheck(p, offset));
  EncodeFixed64(p + 16, checksum);
  if (!payload.empty()) std::memcpy(p + kFrameHeaderSize, payload.data(), payload.size());
}

Status VerifyFrame(std::string_view frame, const BlobRef& ref, const std::string& file,
                   std::string_view* payload) {
  auto corrupt = [&](const char* what) {
    return Status::Corruption(file + " at offset " + std::to_string(ref.offset) + ": " + what);
  };
  if (frame.size() < kFrameHeaderSize + ref.length) return corrupt("blob frame truncated");
  const char* p = frame.data();
  if (DecodeFixed32(p) != kFrameMagic) return corrupt("bad blob frame magic");
  if (DecodeFixed32(p + 12) != FrameHeaderCheck(p, ref.offset)) {
    return corrupt("blob frame header checksum mismatch");
  }
  if (DecodeFixed32(p + 4) != ref.length || DecodeFixed32(p + 8) != ref.generation) {
    return corrupt("blob frame does not match its reference (length or generation)");
  }
  // Alignment padding is zero: one encoding per frame (the checksum does not cover it).
  const uint64_t span = BlobRef::FrameSpan(ref.length);
  for (uint64_t i = kFrameHeaderSize + ref.length; i < span && i < frame.size(); ++i) {
    if (frame[i] != 0) return corrupt("non-zero blob frame padding");
  }
  std::string_view body = frame.substr(kFrameHeaderSize, ref.length);
  const uint64_t stored = DecodeFixed64(p + 16);
  if (stored != ref.checksum || PayloadChecksum(body, ref.generation, ref.offset) != stored) {
    return corrupt("blob payload checksum mismatch");
  }
  *payload = body;
  return Status::OK();
}

std::string EncodeGenerationHeader(const DbUuid& uuid, uint32_t generation) {
  std::string out(kGenerationMagic, sizeof(kGenerationMagic));
  PutFixed32(&out, kFormatVersion);
  out.append(reinterpret_cast<const char*>(uuid.data()), uuid.size());
  PutFixed32(&out, generation);
  PutFixed64(&out, Hash64(out, kHeaderSeed));
  out.resize(kGenerationHeaderBlock, '\0');
  return out;
}

Status DecodeGenerationHeader(std::string_view block, const std::string& file, DbUuid* uuid,
                              uint32_t* generation) {
  if (block.size() < kGenerationHeaderSize) {
    return Status::Corruption(file + ": arena generation header truncated");
  }
  if (std::memcmp(block.data(), kGenerationMagic, sizeof(kGenerationMagic)) != 0) {
    return Status::Corruption(file + ": bad arena generation magic at offset 0");
  }
  const size_t checked = kGenerationHeaderSize - 8;
  if (Hash64(block.substr(0, checked), kHeaderSeed) != DecodeFixed64(block.data() + checked)) {
    return Status::Corruption(file + ": arena generation header checksum mismatch at offset 0");
  }
  const uint32_t version = DecodeFixed32(block.data() + 8);
  if (version != kFormatVersion) {
    return Status::NotSupported(file + ": arena format version " + std::to_string(version));
  }
  std::memcpy(uuid->data(), block.data() + 12, uuid->size());
  *generation = DecodeFixed32(block.data() + 28);
  return Status::OK();
}

}  // namespace loci::blob
