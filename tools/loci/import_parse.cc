// Strict parsing of `loci import` lines into drafts and edges.

#include "tools/loci/import_parse.h"

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "loci/write_batch.h"
#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

using json = nlohmann::json;

Status TypeError(std::string_view key, std::string_view expected, const json& value) {
  return Status::InvalidArgument("\"" + std::string(key) + "\": expected " + std::string(expected) +
                                 ", not " + value.type_name());
}

Status GetString(std::string_view key, const json& v, std::string* out) {
  if (!v.is_string()) return TypeError(key, "a string", v);
  *out = v.get<std::string>();
  return Status::OK();
}

// A JSON number as a float: refused if it is too large for one (as ParseFloat refuses it).
Status GetFloat(std::string_view key, const json& v, float* out) {
  if (!v.is_number()) return TypeError(key, "a number", v);
  const double d = v.get<double>();
  if (std::fabs(d) > FLT_MAX) {
    return Status::InvalidArgument("\"" + std::string(key) + "\": " + v.dump() +
                                   " is out of range for a 32-bit float");
  }
  *out = static_cast<float>(d);
  return Status::OK();
}

// A time: a string ParseTime reads, an integer count of microseconds, or null (unset).
Status GetTime(std::string_view key, const json& v, std::optional<Timestamp>* out) {
  if (v.is_null()) return Status::OK();
  if (v.is_number_integer() && !v.is_number_unsigned()) {
    *out = v.get<int64_t>();
    return Status::OK();
  }
  if (v.is_number_unsigned() && v.get<uint64_t>() <= INT64_MAX) {
    *out = static_cast<Timestamp>(v.get<uint64_t>());
    return Status::OK();
  }
  if (!v.is_string()) return TypeError(key, "a time (RFC 3339 string) or null", v);
  Result<Timestamp> t = ParseTime(v.get<std::string>());
  if (!t.ok()) return t.status().WithContext("\"" + std::string(key) + "\"");
  *out = *t;
  return Status::OK();
}

// A cube id (a non-negative integer below kBatchRefBit) or a ref (a non-empty string).
Status GetRef(std::string_view key, const json& v, CubeRef* out) {
  if (v.is_string()) {
    if (v.get<std::string>().empty()) {
      return Status::InvalidArgument("\"" + std::string(key) + "\": empty ref");
    }
    *out = v.get<std::string>();
    return Status::OK();
  }
  if (!v.is_number_unsigned()) return TypeError(key, "a ref (string) or a cube id (integer)", v);
  const uint64_t id = v.get<uint64_t>();
  if (id >= kBatchRefBit) {
    return Status::InvalidArgument("\"" + std::string(key) + "\": cube id " + std::to_string(id) +
                                   " is out of range");
  }
  *out = id;
  return Status::OK();
}

// A name given as a string (parsed by `parse`) or, where codes are allowed, an integer code.
template <typename T, typename Parse>
Status GetNamed(std::string_view key, const json& v, Parse parse, T* out) {
  std::string text;
  if (v.is_number_integer()) {
    text = v.dump();
  } else if (v.is_string()) {
    text = v.get<std::string>();
  } else {
    return TypeError(key, "a name or a code", v);
  }
  Result<T> parsed = parse(text);
  if (!parsed.ok()) return parsed.status().WithContext("\"" + std::string(key) + "\"");
  *out = *parsed;
  return Status::OK();
}

Status GetAttrs(const json& v, std::vector<Attr>* attrs) {
  if (!v.is_object()) return TypeError("attrs", "an object", v);
  for (const auto& [key, value] : v.items()) {
    const std::string name = "attrs." + key;
    if (value.is_boolean()) {
      attrs->push_back({key, value.get<bool>()});
    } else if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() > INT64_MAX) {
        return Status::InvalidArgument("\"" + name + "\": integer " + value.dump() +
                                       " does not fit a 64-bit signed integer");
      }
      attrs->push_back({key, static_cast<int64_t>(value.get<uint64_t>())});
    } else if (value.is_number_integer()) {
      attrs->push_back({key, value.get<int64_t>()});
    } else if (value.is_number_float()) {
      attrs->push_back({key, value.get<double>()});
    } else if (value.is_string()) {
      attrs->push_back({key, value.get<std::string>()});
    } else {
      return TypeError(name, "a boolean, number or string", value);
    }
  }
  return Status::OK();
}

Status GetVectors(const json& v, std::vector<NamedVector>* vectors) {
  if (!v.is_object()) return TypeError("vectors", "an object of arrays of numbers", v);
  for (const auto& [field, values] : v.items()) {
    const std::string name = "vectors." + field;
    if (!values.is_array()) return TypeError(name, "an array of numbers", values);
    NamedVector vector{field, {}};
    for (const json& x : values) {
      float f;
      LOCI_RETURN_IF_ERROR(GetFloat(name, x, &f));
      vector.values.push_back(f);
    }
    vectors->push_back(std::move(vector));
  }
  return Status::OK();
}

Status GetParents(const json& v, std::vector<CubeRef>* parents) {
  if (!v.is_array()) return TypeError("parents", "an array of refs and ids", v);
  for (size_t i = 0; i < v.size(); ++i) {
    CubeRef ref;
    LOCI_RETURN_IF_ERROR(GetRef("parents[" + std::to_string(i) + "]", v[i], &ref));
    parents->push_back(std::move(ref));
  }
  return Status::OK();
}

Status GetPayload(std::string_view key, const json& v, CubeDraft* d) {
  LOCI_RETURN_IF_ERROR(GetString(key, v, &d->payload));
  if (key == "payload_base64") {
    std::string bytes;
    if (!Base64Decode(d->payload, &bytes)) {
      return Status::InvalidArgument("\"payload_base64\": not base64 (RFC 4648, '=' padded)");
    }
    d->payload = std::move(bytes);
  }
  return Status::OK();
}

using CubeField = std::function<Status(const json&, ImportCube*)>;

// Every key a cube line may have, and how its value is parsed.
const std::map<std::string, CubeField, std::less<>>& CubeFields() {
  static const auto* fields = new std::map<std::string, CubeField, std::less<>>{
      {"ref",
       [](const json& v, ImportCube* c) {
         std::string ref;
         LOCI_RETURN_IF_ERROR(GetString("ref", v, &ref));
         if (ref.empty()) return Status::InvalidArgument("\"ref\": empty");
         c->ref = std::move(ref);
         return Status::OK();
       }},
      {"space",
       [](const json& v, ImportCube* c) { return GetString("space", v, &c->draft.space); }},
      {"episode",
       [](const json& v, ImportCube* c) { return GetString("episode", v, &c->draft.episode); }},
      {"text", [](const json& v, ImportCube* c) { return GetPayload("text", v, &c->draft); }},
      {"payload_base64",
       [](const json& v, ImportCube* c) { return GetPayload("payload_base64", v, &c->draft); }},
      {"kind",
       [](const json& v, ImportCube* c) {
         return GetNamed<uint16_t>("kind", v, ParseKind, &c->draft.kind);
       }},
      {"state",
       [](const json& v, ImportCube* c) {
         if (!v.is_string()) return TypeError("state", "a string", v);
         return GetNamed<CubeState>("state", v, ParseWritableState, &c->draft.state);
       }},
      {"valid_from",
       [](const json& v, ImportCube* c) { return GetTime("valid_from", v, &c->draft.valid_from); }},
      {"valid_to",
       [](const json& v, ImportCube* c) { return GetTime("valid_to", v, &c->draft.valid_to); }},
      {"expires_at",
       [](const json& v, ImportCube* c) { return GetTime("expires_at", v, &c->draft.expires_at); }},
      {"attrs", [](const json& v, ImportCube* c) { return GetAttrs(v, &c->draft.attrs); }},
      {"vectors", [](const json& v, ImportCube* c) { return GetVectors(v, &c->draft.vectors); }},
      {"metric",
       [](const json& v, ImportCube* c) {
         if (!v.is_string()) return TypeError("metric", "a string", v);
         Metric metric;
         LOCI_RETURN_IF_ERROR(GetNamed<Metric>("metric", v, ParseMetric, &metric));
         c->metric = metric;
         return Status::OK();
       }},
      {"source",
       [](const json& v, ImportCube* c) { return GetString("source", v, &c->draft.source); }},
      {"agent",
       [](const json& v, ImportCube* c) { return GetString("agent", v, &c->draft.agent); }},
      {"parents", [](const json& v, ImportCube* c) { return GetParents(v, &c->parents); }},
      {"importance", [](const json& v,
                        ImportCube* c) { return GetFloat("importance", v, &c->draft.importance); }},
      {"trust", [](const json& v, ImportCube* c) { return GetFloat("trust", v, &c->draft.trust); }},
  };
  return *fields;
}

Status ParseCube(const json& object, ImportCube* cube) {
  for (const auto& [key, value] : object.items()) {
    auto field = CubeFields().find(key);
    if (field == CubeFields().end()) {
      return Status::InvalidArgument("unknown key \"" + key + "\"");
    }
    LOCI_RETURN_IF_ERROR(field->second(value, cube));
  }
  if (!object.contains("space")) return Status::InvalidArgument("a cube needs \"space\"");
  if (object["space"].is_string() && object["space"].get_ref<const std::string&>().empty()) {
    return Status::InvalidArgument("\"space\" is empty");
  }
  if (object.contains("text") && object.contains("payload_base64")) {
    return Status::InvalidArgument("give one of \"text\" and \"payload_base64\", not both");
  }
  if (cube->metric && cube->draft.vectors.empty()) {
    return Status::InvalidArgument("\"metric\" without \"vectors\" applies to nothing");
  }
  return Status::OK();
}

Status ParseEdge(const json& object, ImportEdge* edge) {
  if (!object.is_object()) return TypeError("edge", "an object", object);
  for (const char* required : {"from", "to", "type"}) {
    if (!object.contains(required)) {
      return Status::InvalidArgument("\"edge\" needs \"" + std::string(required) + "\"");
    }
  }
  for (const auto& [key, value] : object.items()) {
    if (key == "from") {
      LOCI_RETURN_IF_ERROR(GetRef("edge.from", value, &edge->from));
    } else if (key == "to") {
      LOCI_RETURN_IF_ERROR(GetRef("edge.to", value, &edge->to));
    } else if (key == "type") {
      std::string name;
      if (value.is_number_unsigned()) {
        name = value.dump();
      } else {
        LOCI_RETURN_IF_ERROR(GetString("edge.type", value, &name));
      }
      if (!ParseEdgeType(name, &edge->type)) {
        return Status::InvalidArgument("\"edge.type\": unknown edge type '" + name + "'");
      }
    } else if (key == "weight") {
      LOCI_RETURN_IF_ERROR(GetFloat("edge.weight", value, &edge->weight));
    } else if (key == "valid_from") {
      LOCI_RETURN_IF_ERROR(GetTime("edge.valid_from", value, &edge->valid_from));
    } else {
      return Status::InvalidArgument("\"edge\": unknown key \"" + key + "\"");
    }
  }
  return Status::OK();
}

// The useful part of a nlohmann parse error: "column C: what".
std::string ParseErrorText(const json::parse_error& e) {
  std::string what = e.what();
  const size_t column = what.find("column ");
  return column == std::string::npos ? what : what.substr(column);
}

}  // namespace

namespace {

Status ParseLine(std::string_view text, ImportLine* line) {
  json object;
  try {
    object = json::parse(text);
  } catch (const json::parse_error& e) {
    return Status::InvalidArgument("malformed JSON at " + ParseErrorText(e));
  } catch (const json::out_of_range&) {
    // A number beyond a double's range (1e400): nlohmann reports it apart from syntax errors
    // (found by fuzz_import_line: it used to end the process).
    return Status::InvalidArgument("a number is out of range");
  } catch (const json::exception&) {
    return Status::InvalidArgument("malformed JSON");
  }
  if (!object.is_object()) {
    return Status::InvalidArgument(std::string("expected a JSON object, not ") +
                                   object.type_name());
  }
  if (object.contains("edge")) {
    if (object.size() != 1) {
      return Status::InvalidArgument("an edge line has the one key \"edge\"");
    }
    ImportEdge edge;
    LOCI_RETURN_IF_ERROR(ParseEdge(object["edge"], &edge));
    *line = std::move(edge);
    return Status::OK();
  }
  ImportCube cube;
  LOCI_RETURN_IF_ERROR(ParseCube(object, &cube));
  *line = std::move(cube);
  return Status::OK();
}

// `message` with its control characters escaped (\n, \xNN): the names it quotes come from
// the input and may hold anything, and an error is one line.
std::string OneLine(std::string_view message) {
  std::string out;
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

Status ParseImportLine(std::string_view text, ImportLine* line) {
  Status s = ParseLine(text, line);
  if (s.ok()) return s;
  return Status::InvalidArgument(OneLine(s.message()));
}

}  // namespace loci::cli
