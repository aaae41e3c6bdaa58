// Reading and writing the times the loci CLI accepts and prints.
//
// A time on the command line is either RFC 3339 ("2023-05-08T13:56:00Z",
// "2023-05-08T15:56:00.25+02:00") or an integer count of microseconds since the Unix epoch
// ("1683554160000000", "-5"). "forever" names the open end of an interval (kForever).
// Output uses RFC 3339 in UTC, with six fractional digits when the microseconds are not zero.

#ifndef LOCI_TOOLS_LOCI_TIME_FORMAT_H_
#define LOCI_TOOLS_LOCI_TIME_FORMAT_H_

#include <string>
#include <string_view>

#include "loci/cube.h"
#include "loci/status.h"

namespace loci::cli {

// Parses `text` as described above. Fractional seconds take 1 to 9 digits; digits beyond the
// microsecond are truncated (towards the earlier time). Years 0000-9999, offsets up to
// +-23:59, "T"/"t" and "Z"/"z" are accepted; leap seconds (":60") are not, since a Timestamp
// cannot represent them. On failure returns InvalidArgument saying what is wrong with `text`.
Result<Timestamp> ParseTime(std::string_view text);

// Formats `t` as RFC 3339 UTC ("2023-05-08T13:56:00Z", "2023-05-08T13:56:00.000001Z") with
// FormatRfc3339 (common/time_format.h), the formatter engine messages use too. Times outside
// years 0000-9999 (including kForever and kBeginningOfTime) come out as the decimal microsecond
// count, which ParseTime reads back to the same value.
std::string FormatTime(Timestamp t);

}  // namespace loci::cli

#endif  // LOCI_TOOLS_LOCI_TIME_FORMAT_H_
