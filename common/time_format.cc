// RFC 3339 formatting over the C++20 <chrono> calendar (proleptic Gregorian, UTC).

#include "common/time_format.h"

#include <chrono>
#include <cstdio>
#include <limits>

namespace loci {

namespace {

using std::chrono::days;
using std::chrono::microseconds;
using std::chrono::sys_days;

constexpr int64_t kMicrosPerDay = int64_t{86'400} * 1'000'000;
// RFC 3339 years have four digits: 0000-01-01 .. 9999-12-31.
constexpr sys_days kFirstDay = std::chrono::year{0} / std::chrono::January / 1;
constexpr sys_days kLastDay = std::chrono::year{9999} / std::chrono::December / 31;

// Floor division: times before 1970 fall in the day that contains them.
int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace

std::string FormatRfc3339(int64_t t) {
  if (t == std::numeric_limits<int64_t>::max()) return "forever";
  if (t == std::numeric_limits<int64_t>::min()) return "the beginning of time";
  // Split into whole days and the (non-negative) microseconds into the day before building
  // any chrono value: the day count of every int64 time fits an int32 comfortably, while a
  // sys_time<microseconds> near the int64 ends would overflow on conversion.
  const int64_t day_number = FloorDiv(t, kMicrosPerDay);
  const sys_days day{days{day_number}};
  if (day < kFirstDay || day > kLastDay) return std::to_string(t);
  const std::chrono::year_month_day date{day};
  const std::chrono::hh_mm_ss<microseconds> time{microseconds{t - day_number * kMicrosPerDay}};
  char buf[40];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d",
                        static_cast<int>(date.year()), static_cast<unsigned>(date.month()),
                        static_cast<unsigned>(date.day()), static_cast<int>(time.hours().count()),
                        static_cast<int>(time.minutes().count()),
                        static_cast<int>(time.seconds().count()));
  if (time.subseconds().count() != 0) {
    n += std::snprintf(buf + n, sizeof(buf) - n, ".%06lld",
                       static_cast<long long>(time.subseconds().count()));
  }
  std::snprintf(buf + n, sizeof(buf) - n, "Z");
  return buf;
}

}  // namespace loci
