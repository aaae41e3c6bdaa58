// What both stories of loci-demo share: the vector field, output helpers, and how a cube is
// named in the output (attribute "label": "s2.4" or a LoCoMo dia_id for a turn, "fact" or
// "observation" for a memory the agent derived; `agent`: who said or wrote it).

#ifndef LOCI_TOOLS_DEMO_DEMO_COMMON_H_
#define LOCI_TOOLS_DEMO_DEMO_COMMON_H_

#include <set>
#include <string>
#include <string_view>

#include "loci/db.h"

namespace loci::demo {

// The vector field of every cube: a LexicalEmbedder vector (384 dimensions, cosine).
inline constexpr char kField[] = "lexical-384";
// Cube kinds: a conversation turn, and a memory the agent derived from turns.
inline constexpr uint16_t kTurnKind = kFirstApplicationKind;
inline constexpr uint16_t kMemoryKind = kFirstApplicationKind + 1;

// Exits with a line on stderr unless `s` is OK.
void Check(const Status& s, const char* what);

// RFC 3339, UTC ("2024-03-18T19:02:00Z").
std::string Time(Timestamp t);

// "== 3. title ==" with a blank line before it.
void Section(int number, const char* title);

// `text` on one line, cut to `max` bytes (at a UTF-8 boundary) with "..." when longer.
std::string Clip(std::string_view text, size_t max = 64);

// "#14 v1  s2.4 maya: \"In Kyoto we'd love...\"" — `marks`, if given, adds "  <- evidence"
// to the cubes it holds.
std::string CubeLine(const MemCube& cube, const std::set<CubeId>* marks = nullptr);

// The label attribute of `cube` ("?" if it has none).
std::string Label(const MemCube& cube);

// A UTC time from its parts.
Timestamp Utc(int year, int month, int day, int hour = 0, int minute = 0);

}  // namespace loci::demo

#endif  // LOCI_TOOLS_DEMO_DEMO_COMMON_H_
