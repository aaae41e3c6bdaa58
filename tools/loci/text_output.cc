// Readable rendering of cubes, histories and database statistics.

#include "tools/loci/text_output.h"

#include <cstdio>
#include <iomanip>
#include <string>
#include <type_traits>
#include <variant>

#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

std::string TimeText(Timestamp t) { return t == kForever ? "forever" : FormatTime(t); }

std::string AttrText(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          char buf[32];
          std::snprintf(buf, sizeof(buf), "%.17g", v);
          return buf;
        } else {
          return "\"" + EscapeText(v) + "\"";
        }
      },
      value);
}

void Line(std::ostream& out, std::string_view label, std::string_view value) {
  out << label << ':' << std::string(label.size() < 15 ? 15 - label.size() : 1, ' ') << value
      << '\n';
}

}  // namespace

// Names (spaces, attribute keys, vector fields) are stored bytes like any value and are escaped
// like values, so that a name holding a newline or an escape sequence cannot forge or hide lines.
void PrintCube(const MemCube& cube, std::ostream& out) {
  Line(out, "id", std::to_string(cube.id));
  Line(out, "version", std::to_string(cube.version));
  Line(out, "space", EscapeText(cube.space));
  Line(out, "kind", KindName(cube.kind));
  Line(out, "state", CubeStateName(cube.state));
  Line(out, "valid", TimeText(cube.valid_from) + " .. " + TimeText(cube.valid_to));
  Line(out, "tx", TimeText(cube.tx_from) + " .. " + TimeText(cube.tx_to));
  Line(out, "payload", std::to_string(cube.payload_size) + " bytes");
  if (IsValidUtf8(cube.payload)) {
    Line(out, "text", EscapeText(cube.payload));
  } else {
    Line(out, "base64", Base64Encode(cube.payload));
  }
  for (const Attr& a : cube.attrs) {
    Line(out, "attr", EscapeText(a.key) + " = " + AttrText(a.value));
  }
  if (!cube.source.empty()) Line(out, "source", EscapeText(cube.source));
  if (!cube.agent.empty()) Line(out, "agent", EscapeText(cube.agent));
  if (!cube.episode.empty()) Line(out, "episode", EscapeText(cube.episode));
  if (!cube.parents.empty()) {
    std::string parents;
    for (CubeId p : cube.parents) parents += (parents.empty() ? "" : " ") + std::to_string(p);
    Line(out, "parents", parents);
  }
  Line(out, "importance", FormatFloat(cube.importance));
  Line(out, "trust", FormatFloat(cube.trust));
  if (cube.expires_at) Line(out, "expires_at", TimeText(*cube.expires_at));
  for (const NamedVector& v : cube.vectors) {
    std::string values;
    for (float x : v.values) values += (values.empty() ? "" : ",") + FormatFloat(x);
    Line(out, "vector",
         EscapeText(v.field) + " (" + std::to_string(v.values.size()) + " dims) = " + values);
  }
}

void PrintHistory(const std::vector<MemCube>& versions, std::ostream& out) {
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i > 0) out << '\n';
    PrintCube(versions[i], out);
  }
}

void PrintCubeLine(const MemCube& cube, std::string_view mark, std::ostream& out) {
  out << mark << "id " << cube.id << " v" << cube.version << ' ' << CubeStateName(cube.state)
      << " valid " << TimeText(cube.valid_from) << ".." << TimeText(cube.valid_to) << " tx "
      << TimeText(cube.tx_from) << ".." << TimeText(cube.tx_to);
  if (!cube.episode.empty()) out << " episode \"" << EscapeText(cube.episode) << '"';
  if (IsValidUtf8(cube.payload)) {
    out << " text \"" << EscapeText(cube.payload) << "\"\n";
  } else {
    out << " binary " << cube.payload_size << " bytes\n";
  }
}

void PrintTrace(const std::vector<TraceStep>& steps, std::ostream& out) {
  for (const TraceStep& s : steps) {
    out << "hop " << s.hop << " id " << s.id << " version " << s.version << " via " << s.via.from
        << " -" << EdgeTypeName(s.via.type) << "-> " << s.via.to << " weight "
        << FormatFloat(s.via.weight) << '\n';
  }
}

void PrintSearchHits(const std::vector<SearchHit>& hits, std::ostream& out) {
  out << std::left << std::setw(12) << "id" << std::setw(9) << "version" << std::setw(14) << "score"
      << "space\n";
  for (const SearchHit& h : hits) {
    out << std::left << std::setw(12) << h.id << std::setw(9) << h.version << std::setw(14)
        << h.score << EscapeText(h.space);
    if (h.via) {
      out << "  hop " << h.hop << " via " << h.via->from << " -" << EdgeTypeName(h.via->type)
          << "-> " << h.via->to << " weight " << FormatFloat(h.via->weight);
    }
    out << '\n';
  }
}

namespace {

void PrintProvenanceNode(const ProvenanceNode& node, size_t depth, std::ostream& out) {
  out << std::string(2 * depth, ' ') << "id " << node.id << " v" << node.version;
  if (!node.relation.empty()) out << ' ' << node.relation;
  if (node.cycle) out << " (cycle)";
  if (node.truncated) out << " (more...)";
  out << '\n';
  for (const ProvenanceNode& s : node.sources) PrintProvenanceNode(s, depth + 1, out);
}

}  // namespace

void PrintProvenance(const ProvenanceNode& root, std::ostream& out) {
  PrintProvenanceNode(root, 0, out);
}

void PrintStats(const DbStats& s, std::ostream& out) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  Line(out, "cubes", n(s.cubes));
  Line(out, "versions", n(s.versions));
  Line(out, "spaces", n(s.spaces));
  Line(out, "last_lsn", n(s.last_lsn));
  Line(out, "checkpoint_lsn", n(s.checkpoint_lsn));
  Line(out, "wal", n(s.wal_segments) + " segment(s), " + n(s.wal_bytes) + " bytes");
  Line(out, "arena", n(s.arena_generations) + " generation(s), " + n(s.arena_bytes) + " bytes");
  Line(out, "checkpoints", n(s.checkpoint_files) + " file(s)");
  Line(out, "commits",
       n(s.batches_committed) + " batch(es) in " + n(s.group_commits) + " group commit(s)");
  Line(out, "clock",
       s.clock_high_water == 0 ? std::string("(no commits)") : FormatTime(s.clock_high_water));
  Line(out, "io_uring", s.io_uring ? "yes" : "no");
  Line(out, "mode",
       std::string(s.read_only ? "read-only" : "read-write") + (s.poisoned ? ", poisoned" : ""));
  Line(out, "recovery", s.recovery.empty() ? "clean" : EscapeText(s.recovery));
  for (const VectorFieldInfo& f : s.vector_fields) {
    Line(out, "field",
         EscapeText(f.space) + "/" + EscapeText(f.name) + " dim " + std::to_string(f.dim) + " " +
             f.metric);
  }
}

void PrintUsage(const UsageReport& usage, std::ostream& out) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  for (const SpaceUsage& s : usage.spaces) {
    Line(out, "space",
         EscapeText(s.name) + ": " + n(s.cubes) + " cube(s), " + n(s.versions) + " version(s), " +
             n(s.blob_bytes) + " blob bytes");
  }
  for (const FileUsage& f : usage.files) {
    Line(out, f.kind,
         n(f.files) + " file(s), " + n(f.bytes) + " bytes: " + n(f.live_bytes) + " live, " +
             n(f.dead_bytes()) + " dead");
  }
}

}  // namespace loci::cli
