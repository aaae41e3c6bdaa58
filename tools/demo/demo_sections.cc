#include "tools/demo/demo_sections.h"

#include <cstdio>

#include "tools/demo/demo_common.h"

namespace loci::demo {
namespace {

// Reads cube `id` as it is now, for printing what a trace or search reached.
MemCube Read(SpaceHandle space, CubeId id) {
  MemCube cube;
  Check(space.Get(ReadOptions(), id, &cube), "get");
  return cube;
}

std::string EdgeText(const Edge& edge) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%s #%llu->#%llu", EdgeTypeName(edge.type).c_str(),
                static_cast<unsigned long long>(edge.from),
                static_cast<unsigned long long>(edge.to));
  return buf;
}

// Prints `cubes` as lines "  <time>  <cube>", at most max_lines of them.
void PrintEvents(const std::vector<MemCube>& cubes, size_t max_lines,
                 const std::set<CubeId>* marks) {
  for (size_t i = 0; i < cubes.size() && i < max_lines; ++i) {
    std::printf("  %s  %s\n", Time(cubes[i].valid_from).c_str(), CubeLine(cubes[i], marks).c_str());
  }
  if (cubes.size() > max_lines) std::printf("  ... and %zu more\n", cubes.size() - max_lines);
}

const char* ChangeName(const MemCube& version) {
  if (version.state == CubeState::kRetired) return "retire";
  return version.version == 1 ? "put   " : "update";
}

}  // namespace

SearchRequest ExpandedSearch(const std::vector<float>& query, uint32_t k) {
  SearchRequest request;
  request.field = kField;
  request.query = query;
  request.k = k;
  request.expand_hops = 1;  // every edge type, both directions
  request.expand_limit = k;
  request.fill_cubes = true;
  request.fill_payload = true;
  return request;
}

std::vector<SearchHit> ShowSearch(SpaceHandle space, SearchRequest request,
                                  const std::set<CubeId>* marks) {
  std::vector<SearchHit> hits;
  Check(space.Search(request, &hits), "search");
  bool expanded_header = false;
  std::printf("  direct hits (cosine similarity):\n");
  for (const SearchHit& hit : hits) {
    if (hit.hop > 0 && !expanded_header) {
      std::printf("  expanded (score = hit's x weight x 0.5^hop):\n");
      expanded_header = true;
    }
    std::string via =
        hit.via ? "  hop " + std::to_string(hit.hop) + " via " + EdgeText(*hit.via) : std::string();
    std::printf("    %.3f  %s%s\n", hit.score, CubeLine(hit.cube, marks).c_str(), via.c_str());
  }
  if (!expanded_header) std::printf("  (no expanded hits)\n");
  return hits;
}

CubeId FirstTurn(const std::vector<SearchHit>& hits) {
  for (const SearchHit& hit : hits) {
    if (hit.cube.kind == kTurnKind) return hit.id;
  }
  return 0;
}

void ShowEpisode(SpaceHandle space, CubeId id, const std::set<CubeId>* marks) {
  EpisodeRequest request;
  request.id = id;
  request.before = 2;
  request.after = 2;
  std::vector<MemCube> events;
  Check(space.Episode(request, &events), "episode");
  if (!events.empty()) std::printf("  episode \"%s\"\n", events.front().episode.c_str());
  for (const MemCube& c : events) {
    std::printf("  %s %s  %s\n", c.id == id ? "*" : " ", Time(c.valid_from).c_str(),
                CubeLine(c, marks).c_str());
  }
}

void ShowEvents(SpaceHandle space, Timestamp from, Timestamp to, size_t max_lines,
                const std::set<CubeId>* marks) {
  EventsRequest request;
  request.space = space.name();
  request.from = from;
  request.to = to;
  std::vector<MemCube> events;
  Check(space.Events(request, &events), "events");
  std::printf("  valid time [%s, %s): %zu events\n", Time(from).c_str(), Time(to).c_str(),
              events.size());
  PrintEvents(events, max_lines, marks);
}

void ShowChanges(SpaceHandle space, Timestamp from, Timestamp to, size_t max_lines) {
  ChangesRequest request;
  request.space = space.name();
  request.from = from;
  request.to = to;
  std::vector<MemCube> versions;
  Check(space.Changes(request, &versions), "changes");
  std::printf("  transaction time [%s, %s): %zu versions\n", Time(from).c_str(), Time(to).c_str(),
              versions.size());
  for (size_t i = 0; i < versions.size() && i < max_lines; ++i) {
    const MemCube& v = versions[i];
    std::string valid =
        (v.state == CubeState::kRetired ? "from valid time " : "valid from ") + Time(v.valid_from);
    std::printf("  %s  %s  (%s)\n", ChangeName(v), CubeLine(v).c_str(), valid.c_str());
  }
  if (versions.size() > max_lines) std::printf("  ... and %zu more\n", versions.size() - max_lines);
}

void ShowGet(SpaceHandle space, const char* what, CubeId id, const ReadOptions& at) {
  MemCube cube;
  Status s = space.Get(at, id, &cube);
  if (s.ok()) {
    std::printf("  %-40s %s\n", what, CubeLine(cube).c_str());
  } else {
    std::printf("  %-40s (%s)\n", what, s.message().c_str());
  }
}

void ShowHistory(SpaceHandle space, CubeId id) {
  std::vector<MemCube> versions;
  Check(space.History(ReadOptions(), id, &versions), "history");
  for (const MemCube& v : versions) {
    std::printf("  v%u %-7s valid [%s, %s)  committed [%s, %s)\n       \"%s\"\n", v.version,
                CubeStateName(v.state), Time(v.valid_from).c_str(), Time(v.valid_to).c_str(),
                Time(v.tx_from).c_str(), Time(v.tx_to).c_str(), Clip(v.payload, 90).c_str());
  }
}

void ShowTrace(SpaceHandle space, CubeId start, uint32_t hops, const std::set<CubeId>* marks) {
  TraceRequest request;
  request.start = start;
  request.hops = hops;
  std::vector<TraceStep> steps;
  Check(space.Trace(request, &steps), "trace");
  std::printf("  from %s\n", CubeLine(Read(space, start), marks).c_str());
  for (const TraceStep& step : steps) {
    std::printf("    hop %u via %-24s %s\n", step.hop, EdgeText(step.via).c_str(),
                CubeLine(Read(space, step.id), marks).c_str());
  }
  if (steps.empty()) std::printf("    (nothing reachable)\n");
}

}  // namespace loci::demo
