// Times as people read them: the one formatter behind every time an engine message or the CLI
// shows (RFC 3339 in UTC), so that "retired (from valid time 2023-07-02T12:00:00Z)" reads the
// same wherever it comes from.

#ifndef LOCI_COMMON_TIME_FORMAT_H_
#define LOCI_COMMON_TIME_FORMAT_H_

#include <cstdint>
#include <string>

namespace loci {

// Formats `t` (microseconds since the Unix epoch) as RFC 3339 in UTC: "2023-05-08T13:56:00Z",
// with six fractional digits when the microseconds are not zero ("2023-05-08T13:56:00.000001Z").
// Times before 1970 are formatted like any other ("1969-12-31T23:59:59.999999Z").
// INT64_MAX (kForever, the open end of an interval) is "forever" and INT64_MIN
// (kBeginningOfTime) is "the beginning of time". Other times outside years 0000-9999, which
// RFC 3339 cannot write, are the decimal count of microseconds ("-62167219200000001").
std::string FormatRfc3339(int64_t t);

}  // namespace loci

#endif  // LOCI_COMMON_TIME_FORMAT_H_
