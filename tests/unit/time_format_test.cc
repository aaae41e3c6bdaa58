// FormatRfc3339 (common/time_format.h), the formatter behind every time a message shows: the
// calendar (leap years, times before 1970), fractional microseconds, the two ends of time and
// the years RFC 3339 cannot write.

#include "common/time_format.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace loci {
namespace {

using Timestamp = int64_t;
constexpr Timestamp kSecond = 1'000'000;
// loci/cube.h's ends of time (an engine header; common/ is below it).
constexpr Timestamp kForever = std::numeric_limits<int64_t>::max();
constexpr Timestamp kBeginningOfTime = std::numeric_limits<int64_t>::min();

TEST(Rfc3339Test, FormatsUtcWithMicrosecondsOnlyWhenThereAreAny) {
  EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1683554160 * kSecond), "2023-05-08T13:56:00Z");
  EXPECT_EQ(FormatRfc3339(1683554160 * kSecond + 1), "2023-05-08T13:56:00.000001Z");
  EXPECT_EQ(FormatRfc3339(1683554160 * kSecond + 250'000), "2023-05-08T13:56:00.250000Z");
  EXPECT_EQ(FormatRfc3339(1688299200 * kSecond), "2023-07-02T12:00:00Z");
}

TEST(Rfc3339Test, LeapDaysAndCenturies) {
  EXPECT_EQ(FormatRfc3339(951782400 * kSecond), "2000-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(1709164800 * kSecond), "2024-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(4107542400 * kSecond), "2100-03-01T00:00:00Z");  // 2100: no leap day
}

TEST(Rfc3339Test, TimesBefore1970FallInTheDayThatHoldsThem) {
  EXPECT_EQ(FormatRfc3339(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(-kSecond), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339(-86'400 * kSecond), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-2208988800 * kSecond), "1900-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(-62167219200 * kSecond), "0000-01-01T00:00:00Z");
}

TEST(Rfc3339Test, EndsOfTimeAreWordsAndUnwritableYearsAreMicroseconds) {
  EXPECT_EQ(FormatRfc3339(kForever), "forever");
  EXPECT_EQ(FormatRfc3339(kBeginningOfTime), "the beginning of time");
  EXPECT_EQ(FormatRfc3339(kForever - 1), "9223372036854775806");
  EXPECT_EQ(FormatRfc3339(kBeginningOfTime + 1), "-9223372036854775807");
  EXPECT_EQ(FormatRfc3339(-62167219200 * kSecond - 1), "-62167219200000001");
  EXPECT_EQ(FormatRfc3339(253402300799 * kSecond + 999'999), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339(253402300800 * kSecond), "253402300800000000");
}

}  // namespace
}  // namespace loci
