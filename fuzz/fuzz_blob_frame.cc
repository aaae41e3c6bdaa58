// libFuzzer target: blob arena frames (blob::VerifyFrame) and generation headers
// (blob::DecodeGenerationHeader) over arbitrary bytes.
//
// Input: mode:u8 offset:u64 generation:u32 length:u32 checksum:u64, then the frame bytes. The
// BlobRef verified against is {generation, offset, length, checksum} when mode bit 0 is set;
// otherwise it takes generation, length and checksum from the frame's own header, so that
// consistent references (the common case on disk) are easy to reach. Checks:
//  - verification never reads outside the input and never crashes; it fails only with
//    Corruption;
//  - an accepted frame's payload is the view at offset 24 of ref.length bytes, and
//    blob::AppendFrame(payload, generation, offset, checksum) reproduces the input byte for
//    byte over the frame span (header, payload, zero padding — as much of it as the input has);
//  - a frame built with AppendFrame and PayloadChecksum from the input verifies and returns
//    the payload (round trip);
//  - the same bytes as a generation header: decoding fails only with Corruption/NotSupported,
//    and an accepted header re-encodes (EncodeGenerationHeader) to the same checked bytes.
// LOCI_FUZZ_IGNORE_PADDING=1 in the environment limits the canonical-form check of frames to
// header and payload, to keep fuzzing the rest while non-zero padding is accepted.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "blob/format.h"
#include "common/coding.h"
#include "fuzz/fuzz_input.h"

namespace {

// magic[8] version:u32 uuid[16] generation:u32 checksum:u64: the bytes the decoder checks.
constexpr size_t kCheckedGenerationHeaderBytes = 8 + 4 + 16 + 4 + 8;

void CheckFrame(std::string_view frame, const loci::blob::BlobRef& ref) {
  std::string_view payload;
  loci::Status s = loci::blob::VerifyFrame(frame, ref, "fuzz.blob", &payload);
  if (!s.ok()) {
    if (!s.IsCorruption()) __builtin_trap();
    return;
  }
  if (payload.size() != ref.length ||
      payload.data() != frame.data() + loci::blob::kFrameHeaderSize) {
    __builtin_trap();
  }
  std::string again;
  loci::blob::AppendFrame(&again, payload, ref.generation, ref.offset, ref.checksum);
  if (again.size() != loci::blob::BlobRef::FrameSpan(ref.length)) __builtin_trap();
  static const bool ignore_padding = std::getenv("LOCI_FUZZ_IGNORE_PADDING") != nullptr;
  const size_t n = std::min(
      ignore_padding ? loci::blob::kFrameHeaderSize + payload.size() : again.size(), frame.size());
  if (std::string_view(again).substr(0, n) != frame.substr(0, n)) {
    __builtin_trap();  // not canonical (with the whole span compared: non-zero padding)
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  loci::fuzz::FuzzInput in(data, size);
  const uint8_t mode = in.U8();
  loci::blob::BlobRef ref;
  ref.offset = in.U64();
  ref.generation = in.U32();
  ref.length = in.U32();
  ref.checksum = in.U64();
  const std::string_view frame = in.Rest();
  if ((mode & 1) == 0 && frame.size() >= loci::blob::kFrameHeaderSize) {
    ref.length = loci::DecodeFixed32(frame.data() + 4);
    ref.generation = loci::DecodeFixed32(frame.data() + 8);
    ref.checksum = loci::DecodeFixed64(frame.data() + 16);
  }
  CheckFrame(frame, ref);

  // Round trip: the frame bytes as a payload, framed where `ref` says.
  std::string built;
  const uint64_t checksum = loci::blob::PayloadChecksum(frame, ref.generation, ref.offset);
  loci::blob::AppendFrame(&built, frame, ref.generation, ref.offset, checksum);
  loci::blob::BlobRef good{ref.generation, ref.offset, static_cast<uint32_t>(frame.size()),
                           checksum};
  std::string_view payload;
  if (!loci::blob::VerifyFrame(built, good, "fuzz.blob", &payload).ok() || payload != frame) {
    __builtin_trap();
  }
  // The same frame read from another offset must not verify (frames are bound to their place).
  loci::blob::BlobRef moved = good;
  moved.offset ^= 8;
  if (loci::blob::VerifyFrame(built, moved, "fuzz.blob", &payload).ok()) __builtin_trap();

  loci::DbUuid uuid{};
  uint32_t generation = 0;
  loci::Status s = loci::blob::DecodeGenerationHeader(frame, "fuzz.blob", &uuid, &generation);
  if (s.ok()) {
    const std::string again = loci::blob::EncodeGenerationHeader(uuid, generation);
    if (again.compare(0, kCheckedGenerationHeaderBytes, frame.data(),
                      kCheckedGenerationHeaderBytes) != 0) {
      __builtin_trap();
    }
  } else if (!s.IsCorruption() && !s.IsNotSupported()) {
    __builtin_trap();
  }
  return 0;
}
