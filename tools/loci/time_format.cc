// RFC 3339 and integer-microsecond times: a strict hand-written parser over the proleptic
// Gregorian calendar; formatting is common/time_format.h's.

#include "tools/loci/time_format.h"

#include <charconv>
#include <cstdint>
#include <string>

#include "common/time_format.h"

namespace loci::cli {

namespace {

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kSecondsPerDay = 86'400;
// Days from 0000-01-01 to 1970-01-01 in the proleptic Gregorian calendar.
constexpr int64_t kEpochDayFromYearZero = 719'528;

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int month) {
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && IsLeapYear(y) ? 29 : kDays[month - 1];
}

// Days from 0000-01-01 to January 1 of year `y`. REQUIRES: y >= 0.
int64_t DaysBeforeYear(int64_t y) {
  // Leap years among 0 .. y-1: multiples of 4, minus multiples of 100, plus multiples of 400.
  return 365 * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

// Days from 1970-01-01 to y-m-d. REQUIRES: 0 <= y, a valid month and day.
int64_t DaysFromCivil(int64_t y, int month, int day) {
  int64_t days = DaysBeforeYear(y) - kEpochDayFromYearZero;
  for (int m = 1; m < month; ++m) days += DaysInMonth(y, m);
  return days + day - 1;
}

Status Invalid(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid time '" + std::string(text) + "': " + std::string(why));
}

// Reads exactly `width` decimal digits at `pos` into *value.
bool ReadDigits(std::string_view s, size_t pos, size_t width, int* value) {
  if (pos + width > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + width; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *value = v;
  return true;
}

bool Expect(std::string_view s, size_t pos, char c) { return pos < s.size() && s[pos] == c; }

Result<Timestamp> ParseMicros(std::string_view text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return Invalid(text, "microsecond count out of range");
  }
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Invalid(text, "not an integer microsecond count");
  }
  return Timestamp{value};
}

Result<Timestamp> ParseRfc3339(std::string_view s) {
  constexpr std::string_view kShape = "expected YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)";
  int year, month, day, hour, minute, second;
  if (!ReadDigits(s, 0, 4, &year) || !Expect(s, 4, '-') || !ReadDigits(s, 5, 2, &month) ||
      !Expect(s, 7, '-') || !ReadDigits(s, 8, 2, &day) ||
      !(Expect(s, 10, 'T') || Expect(s, 10, 't')) || !ReadDigits(s, 11, 2, &hour) ||
      !Expect(s, 13, ':') || !ReadDigits(s, 14, 2, &minute) || !Expect(s, 16, ':') ||
      !ReadDigits(s, 17, 2, &second)) {
    return Invalid(s, kShape);
  }
  size_t pos = 19;
  int64_t fraction_micros = 0;
  if (Expect(s, pos, '.')) {
    ++pos;
    size_t digits = 0;
    int64_t scale = 100'000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {
        fraction_micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) return Invalid(s, "no digits after the decimal point");
    if (digits > 9) return Invalid(s, "more than 9 fractional digits");
  }
  int offset_minutes = 0;
  if (Expect(s, pos, 'Z') || Expect(s, pos, 'z')) {
    ++pos;
  } else if (Expect(s, pos, '+') || Expect(s, pos, '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    int offset_hour, offset_minute;
    if (!ReadDigits(s, pos + 1, 2, &offset_hour) || !Expect(s, pos + 3, ':') ||
        !ReadDigits(s, pos + 4, 2, &offset_minute)) {
      return Invalid(s, "malformed UTC offset (expected +hh:mm or -hh:mm)");
    }
    if (offset_hour > 23 || offset_minute > 59) return Invalid(s, "UTC offset out of range");
    offset_minutes = sign * (offset_hour * 60 + offset_minute);
    pos += 6;
  } else {
    return Invalid(s, "missing time zone (Z or +hh:mm)");
  }
  if (pos != s.size()) return Invalid(s, "unexpected characters after the time");

  if (month < 1 || month > 12) return Invalid(s, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) return Invalid(s, "day out of range");
  if (hour > 23) return Invalid(s, "hour out of range");
  if (minute > 59) return Invalid(s, "minute out of range");
  if (second == 60) return Invalid(s, "leap seconds are not representable");
  if (second > 59) return Invalid(s, "second out of range");

  // Years 0-9999 keep every intermediate far inside int64 microseconds.
  const int64_t seconds = DaysFromCivil(year, month, day) * kSecondsPerDay + hour * 3600 +
                          minute * 60 + second - int64_t{offset_minutes} * 60;
  return Timestamp{seconds * kMicrosPerSecond + fraction_micros};
}

}  // namespace

Result<Timestamp> ParseTime(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("invalid time '': empty");
  if (text == "forever") return kForever;
  const bool integer =
      text.find_first_not_of("0123456789", text[0] == '-' ? 1 : 0) == std::string_view::npos;
  if (integer) return ParseMicros(text);
  if (text.size() >= 5 && text[4] == '-') return ParseRfc3339(text);
  return Invalid(text,
                 "expected RFC 3339 (e.g. 2023-05-08T13:56:00Z) or integer microseconds since "
                 "the epoch");
}

std::string FormatTime(Timestamp t) {
  // The shared formatter writes the two ends of time as words for people; here they stay the
  // microsecond counts ParseTime reads back (and JSON consumers already expect).
  if (t == kForever || t == kBeginningOfTime) return std::to_string(t);
  return FormatRfc3339(t);
}

}  // namespace loci::cli
