// JSON rendering of cubes, histories and database statistics.

#include "tools/loci/json_output.h"

#include <cmath>
#include <cstdlib>
#include <type_traits>
#include <variant>

#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

using json = nlohmann::ordered_json;

json TimeJson(Timestamp t) { return t == kForever ? json(nullptr) : json(FormatTime(t)); }

// A float as the JSON number with the shortest text that reads back as the same float (0.1f
// shows as 0.1, not 0.10000000149011612). JSON has no NaN or infinity: those become null.
json FloatJson(float value) {
  if (!std::isfinite(value)) return nullptr;
  return std::strtod(FormatFloat(value).c_str(), nullptr);
}

json AttrValueJson(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, double>) {
          return std::isfinite(v) ? json(v) : json(nullptr);
        } else {
          return json(v);
        }
      },
      value);
}

}  // namespace

json CubeToJson(const MemCube& cube) {
  json j = json::object();
  j["id"] = cube.id;
  j["version"] = cube.version;
  j["space"] = cube.space;
  j["kind"] = KindName(cube.kind);
  j["state"] = CubeStateName(cube.state);
  if (IsValidUtf8(cube.payload)) {
    j["text"] = cube.payload;
  } else {
    j["payload_base64"] = Base64Encode(cube.payload);
  }
  j["payload_size"] = cube.payload_size;
  j["valid_from"] = TimeJson(cube.valid_from);
  j["valid_to"] = TimeJson(cube.valid_to);
  j["tx_from"] = TimeJson(cube.tx_from);
  j["tx_to"] = TimeJson(cube.tx_to);
  json attrs = json::object();
  for (const Attr& a : cube.attrs) attrs[a.key] = AttrValueJson(a.value);
  j["attrs"] = std::move(attrs);
  j["source"] = cube.source;
  j["agent"] = cube.agent;
  j["episode"] = cube.episode;
  j["parents"] = cube.parents;
  j["importance"] = FloatJson(cube.importance);
  j["trust"] = FloatJson(cube.trust);
  j["expires_at"] = cube.expires_at ? TimeJson(*cube.expires_at) : json(nullptr);
  json vectors = json::object();
  for (const NamedVector& v : cube.vectors) {
    json values = json::array();
    for (float x : v.values) values.push_back(FloatJson(x));
    vectors[v.field] = std::move(values);
  }
  j["vectors"] = std::move(vectors);
  return j;
}

json HistoryToJson(const std::vector<MemCube>& versions) { return CubesToJson(versions); }

json CubesToJson(const std::vector<MemCube>& cubes) {
  json j = json::array();
  for (const MemCube& c : cubes) j.push_back(CubeToJson(c));
  return j;
}

json TraceToJson(const std::vector<TraceStep>& steps) {
  json j = json::array();
  for (const TraceStep& s : steps) {
    json step = json::object();
    step["id"] = s.id;
    step["version"] = s.version;
    step["hop"] = s.hop;
    step["type"] = EdgeTypeName(s.via.type);
    step["from"] = s.via.from;
    step["to"] = s.via.to;
    step["weight"] = FloatJson(s.via.weight);
    j.push_back(std::move(step));
  }
  return j;
}

namespace {

json EdgeJson(const Edge& e) {
  json j = json::object();
  j["type"] = EdgeTypeName(e.type);
  j["from"] = e.from;
  j["to"] = e.to;
  j["weight"] = FloatJson(e.weight);
  return j;
}

}  // namespace

json SearchHitsToJson(const std::vector<SearchHit>& hits) {
  json j = json::array();
  for (const SearchHit& h : hits) {
    json hit = json::object();
    hit["id"] = h.id;
    hit["version"] = h.version;
    hit["score"] = h.score;
    hit["space"] = h.space;
    hit["hop"] = h.hop;
    hit["via"] = h.via ? EdgeJson(*h.via) : json(nullptr);
    j.push_back(std::move(hit));
  }
  return j;
}

json ProvenanceToJson(const ProvenanceNode& node) {
  json j = json::object();
  j["id"] = node.id;
  j["version"] = node.version;
  j["relation"] = node.relation;
  j["cycle"] = node.cycle;
  j["truncated"] = node.truncated;
  json sources = json::array();
  for (const ProvenanceNode& s : node.sources) sources.push_back(ProvenanceToJson(s));
  j["sources"] = std::move(sources);
  return j;
}

json StatsToJson(const DbStats& s) {
  json j = json::object();
  j["cubes"] = s.cubes;
  j["versions"] = s.versions;
  j["spaces"] = s.spaces;
  j["last_lsn"] = s.last_lsn;
  j["checkpoint_lsn"] = s.checkpoint_lsn;
  j["wal_segments"] = s.wal_segments;
  j["wal_bytes"] = s.wal_bytes;
  j["arena_generations"] = s.arena_generations;
  j["arena_bytes"] = s.arena_bytes;
  j["checkpoint_files"] = s.checkpoint_files;
  j["group_commits"] = s.group_commits;
  j["batches_committed"] = s.batches_committed;
  j["clock_high_water"] =
      s.clock_high_water == 0 ? json(nullptr) : json(FormatTime(s.clock_high_water));
  j["clock_high_water_us"] = s.clock_high_water;
  j["io_uring"] = s.io_uring;
  j["poisoned"] = s.poisoned;
  j["read_only"] = s.read_only;
  j["recovery"] = s.recovery;
  json fields = json::array();
  for (const VectorFieldInfo& f : s.vector_fields) {
    fields.push_back({{"space", f.space}, {"name", f.name}, {"dim", f.dim}, {"metric", f.metric}});
  }
  j["vector_fields"] = std::move(fields);
  return j;
}

json UsageToJson(const UsageReport& usage) {
  json spaces = json::array();
  for (const SpaceUsage& s : usage.spaces) {
    spaces.push_back({{"name", s.name},
                      {"cubes", s.cubes},
                      {"versions", s.versions},
                      {"blob_bytes", s.blob_bytes}});
  }
  json files = json::array();
  for (const FileUsage& f : usage.files) {
    files.push_back({{"kind", f.kind},
                     {"files", f.files},
                     {"bytes", f.bytes},
                     {"live_bytes", f.live_bytes},
                     {"dead_bytes", f.dead_bytes()}});
  }
  return {{"spaces", std::move(spaces)}, {"files", std::move(files)}};
}

std::string DumpJson(const json& value) {
  return value.dump(2, ' ', /*ensure_ascii=*/false, json::error_handler_t::replace);
}

}  // namespace loci::cli
