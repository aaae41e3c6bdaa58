// Little-endian and varint encoding.

#include "common/coding.h"

namespace loci {

void PutFixed16(std::string* dst, uint16_t v) { dst->append(reinterpret_cast<char*>(&v), 2); }
void PutFixed32(std::string* dst, uint32_t v) { dst->append(reinterpret_cast<char*>(&v), 4); }
void PutFixed64(std::string* dst, uint64_t v) { dst->append(reinterpret_cast<char*>(&v), 8); }

void PutVarint64(std::string* dst, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  dst->append(buf, n);
}

void PutVarsint64(std::string* dst, int64_t v) {
  PutVarint64(dst, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutFloat(std::string* dst, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  PutFixed32(dst, bits);
}

void PutLengthPrefixed(std::string* dst, std::string_view s) {
  PutVarint64(dst, s.size());
  dst->append(s.data(), s.size());
}

bool Decoder::GetU8(uint8_t* v) {
  if (!ok_ || rest_.empty()) return Fail();
  *v = static_cast<uint8_t>(rest_[0]);
  rest_.remove_prefix(1);
  return true;
}

bool Decoder::GetFixed16(uint16_t* v) {
  if (!ok_ || rest_.size() < 2) return Fail();
  std::memcpy(v, rest_.data(), 2);
  rest_.remove_prefix(2);
  return true;
}

bool Decoder::GetFixed32(uint32_t* v) {
  if (!ok_ || rest_.size() < 4) return Fail();
  *v = DecodeFixed32(rest_.data());
  rest_.remove_prefix(4);
  return true;
}

bool Decoder::GetFixed64(uint64_t* v) {
  if (!ok_ || rest_.size() < 8) return Fail();
  *v = DecodeFixed64(rest_.data());
  rest_.remove_prefix(8);
  return true;
}

bool Decoder::GetVarint64(uint64_t* v) {
  if (!ok_) return false;
  uint64_t result = 0;
  for (int shift = 0, i = 0; shift <= 63 && i < static_cast<int>(rest_.size()); shift += 7, ++i) {
    uint64_t byte = static_cast<unsigned char>(rest_[i]);
    if (shift == 63 && byte > 1) break;  // would overflow 64 bits
    if (i > 0 && byte == 0) break;       // a redundant zero byte: not the canonical encoding
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      rest_.remove_prefix(i + 1);
      return true;
    }
  }
  return Fail();
}

bool Decoder::GetVarint32(uint32_t* v) {
  uint64_t wide;
  if (!GetVarint64(&wide)) return false;
  if (wide > UINT32_MAX) return Fail();
  *v = static_cast<uint32_t>(wide);
  return true;
}

bool Decoder::GetVarsint64(int64_t* v) {
  uint64_t zz;
  if (!GetVarint64(&zz)) return false;
  *v = static_cast<int64_t>((zz >> 1) ^ (~(zz & 1) + 1));
  return true;
}

bool Decoder::GetFloat(float* v) {
  uint32_t bits;
  if (!GetFixed32(&bits)) return false;
  std::memcpy(v, &bits, 4);
  return true;
}

bool Decoder::GetLengthPrefixed(std::string_view* s, size_t max_len) {
  uint64_t len;
  if (!GetVarint64(&len)) return false;
  if (len > max_len || len > rest_.size()) return Fail();
  *s = rest_.substr(0, len);
  rest_.remove_prefix(len);
  return true;
}

bool Decoder::GetBytes(size_t n, std::string_view* s) {
  if (!ok_ || rest_.size() < n) return Fail();
  *s = rest_.substr(0, n);
  rest_.remove_prefix(n);
  return true;
}

}  // namespace loci
