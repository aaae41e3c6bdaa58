// Tests of the loci CLI's argument value parsers (tools/loci/value_parse.h) and payload
// encodings (tools/loci/text_encoding.h).

#include "tools/loci/value_parse.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "tools/loci/text_encoding.h"

namespace loci::cli {
namespace {

TEST(ValueParseTest, CubeIds) {
  EXPECT_EQ(*ParseCubeId("42"), 42u);
  EXPECT_EQ(*ParseCubeId("18446744073709551615"), std::numeric_limits<CubeId>::max());
  for (const char* bad : {"", "-1", "1x", " 1", "18446744073709551616", "0x10"}) {
    EXPECT_FALSE(ParseCubeId(bad).ok()) << bad;
  }
}

TEST(ValueParseTest, FloatsPassNanAndInfinityThroughButRefuseGarbage) {
  EXPECT_EQ(*ParseFloat("0.5"), 0.5f);
  EXPECT_EQ(*ParseFloat("+2"), 2.0f);
  EXPECT_EQ(*ParseFloat("-1e3"), -1000.0f);
  EXPECT_TRUE(std::isnan(*ParseFloat("nan")));
  EXPECT_TRUE(std::isinf(*ParseFloat("inf")));
  EXPECT_TRUE(std::isinf(*ParseFloat("-inf")));
  EXPECT_EQ(*ParseFloat("1e-50"), 0.0f);  // underflow is a value, not an error
  for (const char* bad : {"", "+", "++1", "1,5", "abc", "1.5x", " 1", "1e999", "0x1p3"}) {
    EXPECT_FALSE(ParseFloat(bad).ok()) << bad;
  }
}

TEST(ValueParseTest, Vectors) {
  Result<NamedVector> v = ParseVectorArg("e=0.1,0.2,-3");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->field, "e");
  EXPECT_EQ(v->values, (std::vector<float>{0.1f, 0.2f, -3.0f}));
  v = ParseVectorArg("e=nan,1");
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(std::isnan(v->values[0]));
  EXPECT_TRUE(ParseVectorArg("e=")->values.empty());
  for (const char* bad : {"e", "e=1,,2", "e=1,", "e=,1", "e=1;2", "e=1, 2"}) {
    EXPECT_FALSE(ParseVectorArg(bad).ok()) << bad;
  }
}

TEST(ValueParseTest, AttributesAreTypedByForm) {
  EXPECT_EQ(ParseAttrArg("k=true", false)->value, AttrValue(true));
  EXPECT_EQ(ParseAttrArg("k=-12", false)->value, AttrValue(int64_t{-12}));
  EXPECT_EQ(ParseAttrArg("k=1.5", false)->value, AttrValue(1.5));
  EXPECT_EQ(ParseAttrArg("k=1e3", false)->value, AttrValue(1000.0));
  EXPECT_EQ(ParseAttrArg("k=nan", false)->value, AttrValue(std::string("nan")));
  EXPECT_EQ(ParseAttrArg("k=a=b", false)->value, AttrValue(std::string("a=b")));
  EXPECT_EQ(ParseAttrArg("k=", false)->value, AttrValue(std::string()));
  EXPECT_EQ(ParseAttrArg("k=12", true)->value, AttrValue(std::string("12")));
  EXPECT_EQ(ParseAttrArg("topic=drinks", false)->key, "topic");
  EXPECT_FALSE(ParseAttrArg("novalue", false).ok());
}

// An integer is stored exactly or refused: read as the nearest double, 2^64 - 1 would be stored
// (and matched in searches) as 2^64, a different integer.
TEST(ValueParseTest, IntegersStayExactOrAreRefused) {
  EXPECT_EQ(ParseAttrArg("k=9223372036854775807", false)->value,
            AttrValue(int64_t{9223372036854775807}));
  EXPECT_EQ(ParseAttrArg("k=-9223372036854775808", false)->value,
            AttrValue(std::numeric_limits<int64_t>::min()));
  EXPECT_EQ(ParseAttrArg("k=9007199254740993", false)->value,
            AttrValue(int64_t{9007199254740993}));  // 2^53 + 1: no double holds it
  EXPECT_EQ(ParseAttrArg("k=+5", false)->value, AttrValue(int64_t{5}));
  EXPECT_EQ(ParseAttrArg("k=007", false)->value, AttrValue(int64_t{7}));
  for (const char* text : {"acct=18446744073709551615", "acct=9223372036854775808",
                           "acct=-9223372036854775809", "acct=+99999999999999999999"}) {
    Result<Attr> attr = ParseAttrArg(text, false);
    ASSERT_FALSE(attr.ok()) << text;
    EXPECT_TRUE(attr.status().IsInvalidArgument());
    EXPECT_NE(attr.status().message().find("--attr-string"), std::string::npos)
        << attr.status().message();
  }
  EXPECT_EQ(ParseAttrArg("acct=18446744073709551615", true)->value,
            AttrValue(std::string("18446744073709551615")));
  // Decimals and exponents are still doubles.
  EXPECT_EQ(ParseAttrArg("k=1.8446744073709552e19", false)->value,
            AttrValue(1.8446744073709552e19));
}

TEST(ValueParseTest, KindsStatesMetrics) {
  EXPECT_EQ(*ParseKind("activation"), kActivation);
  EXPECT_EQ(*ParseKind("1001"), 1001);
  EXPECT_EQ(KindName(1001), "1001");
  EXPECT_EQ(KindName(kParametric), "parametric");
  EXPECT_FALSE(ParseKind("65536").ok());
  EXPECT_FALSE(ParseKind("text").ok());
  EXPECT_EQ(*ParseWritableState("archived"), CubeState::kArchived);
  EXPECT_FALSE(ParseWritableState("retired").ok());
  EXPECT_EQ(*ParseMetric("l2"), Metric::kL2);
  EXPECT_FALSE(ParseMetric("L2").ok());
}

TEST(ValueParseTest, FormatFloatIsShortest) {
  EXPECT_EQ(FormatFloat(0.1f), "0.1");
  EXPECT_EQ(FormatFloat(1.0f), "1");
  EXPECT_EQ(FormatFloat(std::nanf("")), "nan");
}

TEST(TextEncodingTest, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("likes green tea"));
  EXPECT_TRUE(IsValidUtf8("th\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8D\xB5"));  // é € 🍵
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(TextEncodingTest, Base64) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode(std::string("\0\xFF\xFE", 3)), "AP/+");
}

TEST(TextEncodingTest, EscapeTextKeepsEverythingOnOneLine) {
  EXPECT_EQ(EscapeText("alice"), "alice");
  EXPECT_EQ(EscapeText("caf\xC3\xA9"), "caf\xC3\xA9");  // UTF-8 passes through
  EXPECT_EQ(EscapeText("a\nspace:          forged"), "a\\nspace:          forged");
  EXPECT_EQ(EscapeText("\x1b[31mred\r\t\"q\"\\"), "\\x1b[31mred\\x0d\\t\\\"q\\\"\\\\");
  EXPECT_EQ(EscapeText(std::string("\0\x7f", 2)), "\\x00\\x7f");
}

}  // namespace
}  // namespace loci::cli
