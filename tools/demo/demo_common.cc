#include "tools/demo/demo_common.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "common/time_format.h"

namespace loci::demo {

void Check(const Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "loci-demo: %s: %s\n", what, s.ToString().c_str());
  std::exit(1);
}

std::string Time(Timestamp t) { return FormatRfc3339(t); }

void Section(int number, const char* title) { std::printf("\n== %d. %s ==\n", number, title); }

std::string Clip(std::string_view text, size_t max) {
  std::string out;
  for (char c : text) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  if (out.size() <= max) return out;
  size_t cut = max - 3;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  return out.substr(0, cut) + "...";
}

std::string Label(const MemCube& cube) {
  for (const Attr& a : cube.attrs) {
    if (a.key == "label" && std::holds_alternative<std::string>(a.value)) {
      return std::get<std::string>(a.value);
    }
  }
  return "?";
}

std::string CubeLine(const MemCube& cube, const std::set<CubeId>* marks) {
  char head[64];
  std::snprintf(head, sizeof(head), "#%llu v%u  ", static_cast<unsigned long long>(cube.id),
                cube.version);
  std::string line = head + Label(cube) + " " + cube.agent + ": \"" + Clip(cube.payload) + "\"";
  if (cube.state == CubeState::kRetired) line += "  [retired]";
  if (marks != nullptr && marks->contains(cube.id)) line += "  <- evidence";
  return line;
}

Timestamp Utc(int year, int month, int day, int hour, int minute) {
  using namespace std::chrono;
  const sys_days date =
      year_month_day{std::chrono::year(year), std::chrono::month(month), std::chrono::day(day)};
  const auto t = date + hours(hour) + minutes(minute);
  return duration_cast<microseconds>(t.time_since_epoch()).count();
}

}  // namespace loci::demo
