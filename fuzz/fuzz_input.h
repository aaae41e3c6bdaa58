// FuzzInput: splits a fuzz input into typed pieces, front to back. It plays the role of
// libFuzzer's FuzzedDataProvider but is a few lines of our own, so the targets build with gcc
// (the fuzz_<what>_replay binaries) as well as with clang, and a seed can be written by a script
// that appends fields in order (little-endian integers, u32-length-prefixed byte strings).
// Reads past the end yield zeros and empty strings, never an error.

#ifndef LOCI_FUZZ_FUZZ_INPUT_H_
#define LOCI_FUZZ_FUZZ_INPUT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loci::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }

  // Little-endian, zero-filled when fewer bytes remain.
  uint64_t Uint(size_t bytes) {
    uint64_t v = 0;
    const size_t n = std::min(bytes, rest_.size());
    for (size_t i = 0; i < n; ++i) v |= uint64_t{static_cast<uint8_t>(rest_[i])} << (8 * i);
    rest_.remove_prefix(n);
    return v;
  }
  uint8_t U8() { return static_cast<uint8_t>(Uint(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Uint(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Uint(4)); }
  uint64_t U64() { return Uint(8); }
  bool Bool() { return (U8() & 1) != 0; }
  // A value in [0, n) from one byte (n <= 256); 0 when n == 0.
  size_t Pick(size_t n) { return n == 0 ? 0 : U8() % n; }

  // The next min(n, remaining()) bytes.
  std::string_view Bytes(size_t n) {
    std::string_view out = rest_.substr(0, std::min(n, rest_.size()));
    rest_.remove_prefix(out.size());
    return out;
  }
  // A u32 length, then that many bytes (fewer if the input ends first).
  std::string_view LengthPrefixed() { return Bytes(U32()); }
  // A u8 length, then that many bytes.
  std::string_view ShortString() { return Bytes(U8()); }
  std::string_view Rest() { return Bytes(rest_.size()); }

 private:
  std::string_view rest_;
};

}  // namespace loci::fuzz

#endif  // LOCI_FUZZ_FUZZ_INPUT_H_
