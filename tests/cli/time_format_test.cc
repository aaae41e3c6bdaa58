// Tests of the loci CLI's time parser and formatter (tools/loci/time_format.h): the calendar
// (leap years, times before 1970), UTC offsets, fractional seconds, the integer form, and
// refusal of malformed input.

#include "tools/loci/time_format.h"

#include <gtest/gtest.h>

#include <string>

namespace loci::cli {
namespace {

constexpr Timestamp kSecond = 1'000'000;
constexpr Timestamp kDay = 86'400 * kSecond;

Timestamp Parsed(const std::string& text) {
  Result<Timestamp> t = ParseTime(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status().ToString();
  return t.ok() ? *t : 0;
}

void ExpectRejected(const std::string& text, const std::string& reason_part) {
  Result<Timestamp> t = ParseTime(text);
  ASSERT_FALSE(t.ok()) << "'" << text << "' was accepted as " << *t;
  EXPECT_TRUE(t.status().IsInvalidArgument());
  EXPECT_NE(t.status().message().find(reason_part), std::string::npos) << t.status().message();
}

TEST(TimeFormatTest, ParsesTheEpochAndAKnownDate) {
  EXPECT_EQ(Parsed("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Parsed("2023-05-08T13:56:00Z"), 1683554160 * kSecond);
  EXPECT_EQ(Parsed("2000-01-01T00:00:00Z"), 946684800 * kSecond);
}

TEST(TimeFormatTest, LeapYears) {
  EXPECT_EQ(Parsed("2024-03-01T00:00:00Z") - Parsed("2024-02-28T00:00:00Z"), 2 * kDay);
  EXPECT_EQ(Parsed("2023-03-01T00:00:00Z") - Parsed("2023-02-28T00:00:00Z"), kDay);
  EXPECT_EQ(Parsed("2000-02-29T00:00:00Z"), 951782400 * kSecond);  // divisible by 400
  ExpectRejected("1900-02-29T00:00:00Z", "day out of range");      // divisible by 100 only
  ExpectRejected("2023-02-29T00:00:00Z", "day out of range");
  EXPECT_EQ(Parsed("2024-12-31T00:00:00Z") - Parsed("2024-01-01T00:00:00Z"), 365 * kDay);
}

TEST(TimeFormatTest, TimesBefore1970AreNegative) {
  EXPECT_EQ(Parsed("1969-12-31T23:59:59Z"), -kSecond);
  EXPECT_EQ(Parsed("1969-12-31T23:59:59.999999Z"), -1);
  EXPECT_EQ(Parsed("1900-01-01T00:00:00Z"), -2208988800 * kSecond);
  EXPECT_EQ(Parsed("0000-01-01T00:00:00Z"), -62167219200 * kSecond);
  EXPECT_EQ(Parsed("-5"), -5);
}

TEST(TimeFormatTest, OffsetsAreSubtracted) {
  const Timestamp utc = Parsed("2023-05-08T13:56:00Z");
  EXPECT_EQ(Parsed("2023-05-08T15:56:00+02:00"), utc);
  EXPECT_EQ(Parsed("2023-05-08T08:26:00-05:30"), utc);
  EXPECT_EQ(Parsed("2023-05-08T13:56:00-00:00"), utc);
  EXPECT_EQ(Parsed("2023-05-08t13:56:00z"), utc);
  // An offset can move the date across a day, month and year boundary.
  EXPECT_EQ(Parsed("2024-01-01T01:00:00+02:00"), Parsed("2023-12-31T23:00:00Z"));
}

TEST(TimeFormatTest, FractionalSecondsUpToNineDigitsTruncateBeyondMicroseconds) {
  const Timestamp base = Parsed("2023-05-08T13:56:00Z");
  EXPECT_EQ(Parsed("2023-05-08T13:56:00.5Z"), base + 500'000);
  EXPECT_EQ(Parsed("2023-05-08T13:56:00.000001Z"), base + 1);
  EXPECT_EQ(Parsed("2023-05-08T13:56:00.1234567Z"), base + 123'456);
  EXPECT_EQ(Parsed("2023-05-08T13:56:00.999999999Z"), base + 999'999);
  EXPECT_EQ(Parsed("1969-12-31T23:59:59.0000009Z"), -kSecond);
  ExpectRejected("2023-05-08T13:56:00.1234567890Z", "more than 9 fractional digits");
  ExpectRejected("2023-05-08T13:56:00.Z", "no digits after the decimal point");
}

TEST(TimeFormatTest, IntegerMicroseconds) {
  EXPECT_EQ(Parsed("0"), 0);
  EXPECT_EQ(Parsed("1683554160000000"), 1683554160 * kSecond);
  EXPECT_EQ(Parsed("9223372036854775807"), kForever);
  EXPECT_EQ(Parsed("-9223372036854775808"), kBeginningOfTime);
  EXPECT_EQ(Parsed("forever"), kForever);
  ExpectRejected("9223372036854775808", "out of range");
  ExpectRejected("-", "not an integer");
  ExpectRejected("+5", "expected RFC 3339");
  ExpectRejected("12x", "expected RFC 3339");
}

TEST(TimeFormatTest, RejectsMalformedInput) {
  ExpectRejected("", "empty");
  ExpectRejected("2023-13-01T00:00:00Z", "month out of range");
  ExpectRejected("2023-00-01T00:00:00Z", "month out of range");
  ExpectRejected("2023-04-31T00:00:00Z", "day out of range");
  ExpectRejected("2023-04-00T00:00:00Z", "day out of range");
  ExpectRejected("2023-05-08T24:00:00Z", "hour out of range");
  ExpectRejected("2023-05-08T13:60:00Z", "minute out of range");
  ExpectRejected("2023-05-08T13:56:61Z", "second out of range");
  ExpectRejected("2016-12-31T23:59:60Z", "leap second");
  ExpectRejected("2023-05-08T13:56:00Zjunk", "unexpected characters");
  ExpectRejected("2023-05-08T13:56:00Z ", "unexpected characters");
  ExpectRejected("2023-05-08T13:56:00", "missing time zone");
  ExpectRejected("2023-05-08T13:56:00+0200", "malformed UTC offset");
  ExpectRejected("2023-05-08T13:56:00+24:00", "UTC offset out of range");
  ExpectRejected("2023-05-08 13:56:00Z", "expected YYYY-MM-DD");
  ExpectRejected("2023-5-8T13:56:00Z", "expected YYYY-MM-DD");
  ExpectRejected("2023-05-08", "expected YYYY-MM-DD");
  ExpectRejected(" 2023-05-08T13:56:00Z", "expected RFC 3339");
  ExpectRejected("yesterday", "expected RFC 3339");
}

TEST(TimeFormatTest, Formats) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(1683554160 * kSecond), "2023-05-08T13:56:00Z");
  EXPECT_EQ(FormatTime(1683554160 * kSecond + 1), "2023-05-08T13:56:00.000001Z");
  EXPECT_EQ(FormatTime(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTime(951782400 * kSecond), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatTime(-62167219200 * kSecond), "0000-01-01T00:00:00Z");
  EXPECT_EQ(FormatTime(Parsed("9999-12-31T23:59:59.999999Z")), "9999-12-31T23:59:59.999999Z");
  // Outside years 0000-9999 the microsecond count is printed instead.
  EXPECT_EQ(FormatTime(-62167219200 * kSecond - 1), "-62167219200000001");
  EXPECT_EQ(FormatTime(kForever), "9223372036854775807");
  EXPECT_EQ(FormatTime(kBeginningOfTime), "-9223372036854775808");
}

TEST(TimeFormatTest, FormatThenParseRoundTrips) {
  // Every day boundary of several 400-year cycles, and assorted times around them.
  for (Timestamp day = -800 * 365; day < 800 * 365; day += 37) {
    for (Timestamp t : {day * kDay, day * kDay + 1, day * kDay - 1, day * kDay + 45296789012}) {
      const std::string text = FormatTime(t);
      ASSERT_EQ(Parsed(text), t) << text;
    }
  }
  for (Timestamp t : {kForever, kBeginningOfTime, Timestamp{-62167219200 * kSecond - 1}}) {
    EXPECT_EQ(Parsed(FormatTime(t)), t);
  }
}

}  // namespace
}  // namespace loci::cli
