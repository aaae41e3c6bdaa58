// Little-endian fixed-width and varint encoding, and a bounds-checked decoder.
//
// Encoders append to a std::string. Decoder never reads past its input: every Get* returns
// false once the input is exhausted or malformed, and stays failed, so a caller can decode a
// whole structure and check ok() once.

#ifndef LOCI_COMMON_CODING_H_
#define LOCI_COMMON_CODING_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace loci {

inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, 4); }  // x86/ARM LE
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, 8); }
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Loci formats are little-endian");

void PutFixed16(std::string* dst, uint16_t v);
void PutFixed32(std::string* dst, uint32_t v);
void PutFixed64(std::string* dst, uint64_t v);
void PutVarint64(std::string* dst, uint64_t v);
// Zig-zag varint for signed values.
void PutVarsint64(std::string* dst, int64_t v);
void PutFloat(std::string* dst, float v);
// Varint length followed by the bytes.
void PutLengthPrefixed(std::string* dst, std::string_view s);

class Decoder {
 public:
  explicit Decoder(std::string_view input) : rest_(input) {}

  bool ok() const { return ok_; }
  bool empty() const { return rest_.empty(); }
  size_t remaining() const { return rest_.size(); }
  std::string_view rest() const { return rest_; }

  bool GetU8(uint8_t* v);
  bool GetFixed16(uint16_t* v);
  bool GetFixed32(uint32_t* v);
  bool GetFixed64(uint64_t* v);
  bool GetVarint64(uint64_t* v);
  bool GetVarint32(uint32_t* v);  // fails if the value does not fit 32 bits
  bool GetVarsint64(int64_t* v);
  bool GetFloat(float* v);
  // A length-prefixed string of at most `max_len` bytes, as a view into the input.
  bool GetLengthPrefixed(std::string_view* s, size_t max_len = SIZE_MAX);
  bool GetBytes(size_t n, std::string_view* s);
  // Marks the decode failed (e.g. a value out of range) and returns false.
  bool Fail() {
    ok_ = false;
    return false;
  }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

}  // namespace loci

#endif  // LOCI_COMMON_CODING_H_
