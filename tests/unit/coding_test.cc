// Tests of common/coding: little-endian fixed-width encoding, varints at every length boundary,
// rejection of over-long and over-wide varints, zig-zag signed varints, floats, and the bounds of
// length-prefixed strings. The Decoder must never read past its input and must stay failed once
// a read has failed, so callers can decode a whole structure and check ok() once.

#include "common/coding.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace loci {
namespace {

// Copies `s` into a heap buffer of exactly its size, so AddressSanitizer reports any read past it.
class ExactBuffer {
 public:
  explicit ExactBuffer(const std::string& s) : size_(s.size()), data_(new char[s.size()]) {
    if (!s.empty()) std::memcpy(data_.get(), s.data(), s.size());
  }
  std::string_view view() const { return std::string_view(data_.get(), size_); }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;
};

TEST(CodingTest, FixedWidthValuesAreLittleEndian) {
  std::string s;
  PutFixed16(&s, 0x0102);
  PutFixed32(&s, 0x03040506u);
  PutFixed64(&s, 0x0708090a0b0c0d0eull);
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s, std::string("\x02\x01\x06\x05\x04\x03\x0e\x0d\x0c\x0b\x0a\x09\x08\x07", 14));
  EXPECT_EQ(DecodeFixed32(s.data() + 2), 0x03040506u);
  EXPECT_EQ(DecodeFixed64(s.data() + 6), 0x0708090a0b0c0d0eull);

  char buf[8];
  EncodeFixed32(buf, 0xdeadbeefu);
  EXPECT_EQ(std::string(buf, 4), std::string("\xef\xbe\xad\xde", 4));
  EncodeFixed64(buf, 0x1122334455667788ull);
  EXPECT_EQ(std::string(buf, 8), std::string("\x88\x77\x66\x55\x44\x33\x22\x11", 8));
}

TEST(CodingTest, FixedWidthRoundTripAndBounds) {
  std::string s;
  PutFixed16(&s, 0xffff);
  PutFixed32(&s, 0);
  PutFixed64(&s, UINT64_MAX);
  ExactBuffer buf(s);
  Decoder d(buf.view());
  uint16_t a;
  uint32_t b;
  uint64_t c;
  ASSERT_TRUE(d.GetFixed16(&a));
  ASSERT_TRUE(d.GetFixed32(&b));
  ASSERT_TRUE(d.GetFixed64(&c));
  EXPECT_EQ(a, 0xffff);
  EXPECT_EQ(b, 0u);
  EXPECT_EQ(c, UINT64_MAX);
  EXPECT_TRUE(d.empty());
  EXPECT_TRUE(d.ok());

  for (size_t len = 0; len < 8; ++len) {
    ExactBuffer part(std::string(len, '\x5a'));
    Decoder d16(part.view()), d32(part.view()), d64(part.view());
    EXPECT_EQ(d16.GetFixed16(&a), len >= 2) << len;
    EXPECT_EQ(d32.GetFixed32(&b), len >= 4) << len;
    EXPECT_FALSE(d64.GetFixed64(&c)) << len;
    EXPECT_FALSE(d64.ok());
  }
}

// Every boundary where a varint gains a byte: 2^(7k) - 1 takes k bytes, 2^(7k) takes k + 1.
TEST(CodingTest, VarintLengthAtEveryBoundary) {
  for (int k = 1; k <= 9; ++k) {
    const uint64_t last_short = (uint64_t{1} << (7 * k)) - 1;
    std::string a, b;
    PutVarint64(&a, last_short);
    PutVarint64(&b, last_short + 1);
    EXPECT_EQ(a.size(), static_cast<size_t>(k)) << "2^" << 7 * k << "-1";
    EXPECT_EQ(b.size(), static_cast<size_t>(k + 1)) << "2^" << 7 * k;
  }
  std::string zero, max;
  PutVarint64(&zero, 0);
  PutVarint64(&max, UINT64_MAX);
  EXPECT_EQ(zero, std::string(1, '\0'));
  EXPECT_EQ(max.size(), 10u);
  EXPECT_EQ(static_cast<unsigned char>(max.back()), 0x01);
}

TEST(CodingTest, VarintRoundTripsAndConsumesExactlyItsBytes) {
  std::vector<uint64_t> values = {0,
                                  1,
                                  127,
                                  128,
                                  255,
                                  256,
                                  300,
                                  16383,
                                  16384,
                                  UINT32_MAX,
                                  uint64_t{UINT32_MAX} + 1,
                                  (uint64_t{1} << 63) - 1,
                                  uint64_t{1} << 63,
                                  UINT64_MAX - 1,
                                  UINT64_MAX};
  for (int k = 1; k <= 9; ++k) {
    values.push_back((uint64_t{1} << (7 * k)) - 1);
    values.push_back(uint64_t{1} << (7 * k));
  }
  std::string all;
  for (uint64_t v : values) PutVarint64(&all, v);
  all.push_back('\x7f');  // a sentinel that must still be there afterwards
  ExactBuffer buf(all);
  Decoder d(buf.view());
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(d.GetVarint64(&got)) << v;
    EXPECT_EQ(got, v);
  }
  uint8_t sentinel;
  ASSERT_TRUE(d.GetU8(&sentinel));
  EXPECT_EQ(sentinel, 0x7f);
  EXPECT_TRUE(d.empty());
}

TEST(CodingTest, TenByteVarintWithTopBitOnlyIsTheLargestAccepted) {
  std::string s(9, '\xff');
  s.push_back('\x01');
  ExactBuffer buf(s);
  Decoder d(buf.view());
  uint64_t v;
  ASSERT_TRUE(d.GetVarint64(&v));
  EXPECT_EQ(v, UINT64_MAX);
}

TEST(CodingTest, VarintWiderThan64BitsIsRejected) {
  // Tenth byte carries more than the one remaining bit.
  for (int last = 2; last < 0x80; last <<= 1) {
    std::string s(9, '\x80');
    s.push_back(static_cast<char>(last));
    ExactBuffer buf(s);
    Decoder d(buf.view());
    uint64_t v;
    EXPECT_FALSE(d.GetVarint64(&v)) << "tenth byte " << last;
    EXPECT_FALSE(d.ok());
  }
}

TEST(CodingTest, ElevenByteVarintIsRejected) {
  std::string s(10, '\x80');
  s.push_back('\0');
  ExactBuffer buf(s);
  Decoder d(buf.view());
  uint64_t v;
  EXPECT_FALSE(d.GetVarint64(&v));
  EXPECT_FALSE(d.ok());

  // Ten continuation bytes whose value would still fit: still too long.
  std::string t(9, '\x80');
  t.push_back('\x81');
  t.push_back('\0');
  ExactBuffer buf2(t);
  Decoder d2(buf2.view());
  EXPECT_FALSE(d2.GetVarint64(&v));
}

TEST(CodingTest, VarintCutShortIsRejectedWithoutReadingPastTheInput) {
  std::string full;
  PutVarint64(&full, UINT64_MAX);
  for (size_t len = 0; len < full.size(); ++len) {
    ExactBuffer buf(full.substr(0, len));
    Decoder d(buf.view());
    uint64_t v;
    EXPECT_FALSE(d.GetVarint64(&v)) << len;
    EXPECT_FALSE(d.ok());
  }
}

TEST(CodingTest, Varint32RejectsValuesAbove32Bits) {
  std::string s;
  PutVarint64(&s, UINT32_MAX);
  PutVarint64(&s, uint64_t{UINT32_MAX} + 1);
  ExactBuffer buf(s);
  Decoder d(buf.view());
  uint32_t v;
  ASSERT_TRUE(d.GetVarint32(&v));
  EXPECT_EQ(v, UINT32_MAX);
  EXPECT_FALSE(d.GetVarint32(&v));
  EXPECT_FALSE(d.ok());
}

TEST(CodingTest, ZigZagMapsSmallMagnitudesToSmallCodes) {
  const std::pair<int64_t, uint8_t> cases[] = {{0, 0}, {-1, 1},    {1, 2},   {-2, 3},
                                               {2, 4}, {-64, 127}, {63, 126}};
  for (auto [value, code] : cases) {
    std::string s;
    PutVarsint64(&s, value);
    ASSERT_EQ(s.size(), 1u) << value;
    EXPECT_EQ(static_cast<uint8_t>(s[0]), code) << value;
  }
  std::string s;
  PutVarsint64(&s, 64);
  EXPECT_EQ(s.size(), 2u);
}

TEST(CodingTest, ZigZagRoundTripsExtremes) {
  const int64_t values[] = {0,
                            1,
                            -1,
                            63,
                            -64,
                            64,
                            -65,
                            std::numeric_limits<int64_t>::max(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::min() + 1,
                            std::numeric_limits<int64_t>::max() - 1,
                            int64_t{1} << 40,
                            -(int64_t{1} << 40)};
  std::string s;
  for (int64_t v : values) PutVarsint64(&s, v);
  ExactBuffer buf(s);
  Decoder d(buf.view());
  for (int64_t v : values) {
    int64_t got = 0;
    ASSERT_TRUE(d.GetVarsint64(&got)) << v;
    EXPECT_EQ(got, v);
  }
  EXPECT_TRUE(d.empty());
  std::string min;
  PutVarsint64(&min, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(min.size(), 10u);
}

TEST(CodingTest, FloatsKeepTheirExactBits) {
  const float values[] = {0.0f,
                          -0.0f,
                          1.5f,
                          -3.25e-38f,
                          std::numeric_limits<float>::denorm_min(),
                          std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()};
  std::string s;
  for (float v : values) PutFloat(&s, v);
  ASSERT_EQ(s.size(), 4 * std::size(values));
  Decoder d(s);
  for (float v : values) {
    float got;
    ASSERT_TRUE(d.GetFloat(&got));
    uint32_t a, b;
    std::memcpy(&a, &v, 4);
    std::memcpy(&b, &got, 4);
    EXPECT_EQ(a, b);
  }
}

TEST(CodingTest, LengthPrefixedRoundTrip) {
  const std::string payloads[] = {"",
                                  "x",
                                  std::string(127, 'a'),
                                  std::string(128, 'b'),
                                  std::string("\0\xff\0", 3),
                                  std::string(20000, 'z')};
  std::string s;
  for (const std::string& p : payloads) PutLengthPrefixed(&s, p);
  ExactBuffer buf(s);
  Decoder d(buf.view());
  for (const std::string& p : payloads) {
    std::string_view got;
    ASSERT_TRUE(d.GetLengthPrefixed(&got));
    EXPECT_EQ(got, p);
  }
  EXPECT_TRUE(d.empty());
}

TEST(CodingTest, LengthPrefixedHonoursMaxLen) {
  std::string s;
  PutLengthPrefixed(&s, "12345");
  {
    Decoder d(s);
    std::string_view v;
    EXPECT_TRUE(d.GetLengthPrefixed(&v, 5));
    EXPECT_EQ(v, "12345");
  }
  {
    Decoder d(s);
    std::string_view v;
    EXPECT_FALSE(d.GetLengthPrefixed(&v, 4));
    EXPECT_FALSE(d.ok());
  }
}

TEST(CodingTest, LengthPrefixedLongerThanTheInputIsRejected) {
  // Every truncation of a valid string, and lengths far beyond the input (no allocation, no read).
  std::string s;
  PutLengthPrefixed(&s, std::string(300, 'q'));
  for (size_t len = 0; len < s.size(); ++len) {
    ExactBuffer buf(s.substr(0, len));
    Decoder d(buf.view());
    std::string_view v;
    EXPECT_FALSE(d.GetLengthPrefixed(&v)) << len;
  }
  for (uint64_t huge : {uint64_t{1} << 32, uint64_t{1} << 62, UINT64_MAX}) {
    std::string h;
    PutVarint64(&h, huge);
    h += "abc";
    ExactBuffer buf(h);
    Decoder d(buf.view());
    std::string_view v;
    EXPECT_FALSE(d.GetLengthPrefixed(&v)) << huge;
    EXPECT_FALSE(d.ok());
  }
}

TEST(CodingTest, GetBytesBounds) {
  ExactBuffer buf(std::string("abcdef"));
  Decoder d(buf.view());
  std::string_view v;
  ASSERT_TRUE(d.GetBytes(0, &v));
  EXPECT_TRUE(v.empty());
  ASSERT_TRUE(d.GetBytes(4, &v));
  EXPECT_EQ(v, "abcd");
  EXPECT_EQ(d.remaining(), 2u);
  EXPECT_FALSE(d.GetBytes(3, &v));
  EXPECT_FALSE(d.ok());
}

TEST(CodingTest, FailureIsSticky) {
  std::string s;
  PutVarint64(&s, 5);
  PutFixed64(&s, 9);
  Decoder d(s);
  uint32_t big;
  EXPECT_FALSE(d.GetFixed32(&big) && d.GetFixed32(&big) && d.GetFixed32(&big));
  ASSERT_FALSE(d.ok());
  // Enough bytes may remain, yet every later read fails.
  uint8_t u8;
  uint64_t u64;
  std::string_view sv;
  EXPECT_FALSE(d.GetU8(&u8));
  EXPECT_FALSE(d.GetVarint64(&u64));
  EXPECT_FALSE(d.GetBytes(0, &sv));
  EXPECT_FALSE(d.ok());

  Decoder e(s);
  EXPECT_FALSE(e.Fail());
  EXPECT_FALSE(e.GetU8(&u8));
}

TEST(CodingTest, EmptyInputFailsEveryRead) {
  Decoder d(std::string_view{});
  EXPECT_TRUE(d.empty());
  uint8_t u8;
  EXPECT_FALSE(d.GetU8(&u8));
  Decoder d2(std::string_view{});
  uint64_t v;
  EXPECT_FALSE(d2.GetVarint64(&v));
  Decoder d3(std::string_view{});
  int64_t sv;
  EXPECT_FALSE(d3.GetVarsint64(&sv));
  Decoder d4(std::string_view{});
  float f;
  EXPECT_FALSE(d4.GetFloat(&f));
}

}  // namespace
}  // namespace loci
