// loci search: the k nearest cubes of a space by a vector field, with the engine's filters.
// Opens the database read-only.

#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/json_output.h"
#include "tools/loci/text_encoding.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

// A query vector file may not exceed this (a 65536-d vector as text is under 1.5 MiB).
constexpr size_t kMaxVectorFileBytes = 16u << 20;

struct SearchArgs {
  std::string dir;
  std::vector<std::string> spaces;
  std::string field;
  std::optional<std::string> vector;
  std::optional<std::string> vector_file;
  uint32_t k = 10;
  std::vector<std::string> attrs;
  std::vector<std::string> string_attrs;
  std::vector<std::string> kinds;
  std::vector<std::string> states;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  uint32_t probes = 0;
  uint32_t rerank = 0;
  bool json = false;
};

// Components separated by commas and/or white space.
Result<std::vector<float>> ParseComponents(std::string text, const std::string& what) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') c = ',';
  }
  std::string joined;
  bool pending_comma = false;
  for (char c : text) {
    if (c == ',') {
      pending_comma = !joined.empty();
      continue;
    }
    if (pending_comma) joined += ',';
    pending_comma = false;
    joined += c;
  }
  if (joined.empty()) return Status::InvalidArgument(what + ": no components");
  Result<NamedVector> v = ParseVectorArg("q=" + joined);
  if (!v.ok()) return v.status().WithContext(what);
  return std::move(v->values);
}

Status BuildRequest(const SearchArgs& a, SearchRequest* r) {
  r->spaces = a.spaces;
  r->field = a.field;
  r->k = a.k;
  r->probes = a.probes;
  r->rerank = a.rerank;
  if (a.vector.has_value() == a.vector_file.has_value()) {
    return Status::InvalidArgument("give exactly one of --vector and --vector-file");
  }
  if (a.vector) {
    Result<std::vector<float>> q = ParseComponents(*a.vector, "--vector");
    if (!q.ok()) return q.status();
    r->query = std::move(*q);
  } else {
    std::string contents;
    LOCI_RETURN_IF_ERROR(ReadFileBytes(*a.vector_file, &contents));
    if (contents.size() > kMaxVectorFileBytes) {
      return Status::InvalidArgument("--vector-file: larger than " +
                                     std::to_string(kMaxVectorFileBytes) + " bytes");
    }
    Result<std::vector<float>> q = ParseComponents(contents, "--vector-file " + *a.vector_file);
    if (!q.ok()) return q.status();
    r->query = std::move(*q);
  }
  for (bool as_string : {false, true}) {
    for (const std::string& text : as_string ? a.string_attrs : a.attrs) {
      Result<Attr> attr = ParseAttrArg(text, as_string);
      if (!attr.ok()) return attr.status().WithContext(as_string ? "--attr-string" : "--attr");
      r->attrs.push_back(std::move(*attr));
    }
  }
  for (const std::string& text : a.kinds) {
    Result<uint16_t> kind = ParseKind(text);
    if (!kind.ok()) return kind.status();
    r->kinds.push_back(*kind);
  }
  for (const std::string& text : a.states) {
    Result<CubeState> state = ParseWritableState(text);
    if (!state.ok()) return state.status();
    r->states.push_back(*state);
  }
  if (a.as_of) {
    Result<Timestamp> t = ParseTime(*a.as_of);
    if (!t.ok()) return t.status().WithContext("--as-of");
    r->as_of = *t;
  }
  if (a.valid_at) {
    Result<Timestamp> t = ParseTime(*a.valid_at);
    if (!t.ok()) return t.status().WithContext("--valid-at");
    r->valid_at = *t;
  }
  return Status::OK();
}

int RunSearch(const SearchArgs& a) {
  SearchRequest request;
  Status s = BuildRequest(a, &request);
  if (!s.ok()) return ReportFailure("search", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("search", s);
  std::vector<SearchHit> hits;
  s = db->Search(request, &hits);
  if (!s.ok()) return ReportFailure("search", s);
  if (a.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const SearchHit& h : hits) {
      out.push_back({{"id", h.id}, {"version", h.version}, {"score", h.score}, {"space", h.space}});
    }
    std::cout << DumpJson(out) << '\n';
    return kExitOk;
  }
  std::cout << std::left << std::setw(12) << "id" << std::setw(9) << "version" << std::setw(14)
            << "score"
            << "space\n";
  for (const SearchHit& h : hits) {
    std::cout << std::left << std::setw(12) << h.id << std::setw(9) << h.version << std::setw(14)
              << h.score << EscapeText(h.space) << '\n';
  }
  return kExitOk;
}

}  // namespace

void RegisterSearchCommand(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<SearchArgs>();
  CLI::App* cmd = app->add_subcommand(
      "search",
      "Print the K cubes nearest to a vector, best first (cosine and ip: similarity, "
      "higher first; l2: squared distance, lower first)");
  cmd->add_option("DIR", a->dir, "Database directory")->required();
  cmd->add_option("--space", a->spaces, "Space to search (repeat for several)")
      ->required()
      ->type_name("SPACE");
  cmd->add_option("--field", a->field, "Vector field")->required()->type_name("NAME");
  cmd->add_option_function<std::string>(
         "--vector", [a](const std::string& v) { a->vector = v; }, "Query vector x1,x2,...")
      ->type_name("X1,X2,...");
  cmd->add_option_function<std::string>(
         "--vector-file", [a](const std::string& v) { a->vector_file = v; },
         "File with the query's components, separated by commas or white space ('-': stdin)")
      ->type_name("FILE");
  cmd->add_option("--k", a->k, "How many hits (1.." + std::to_string(kMaxSearchK) + ")")
      ->type_name("N");
  cmd->add_option("--attr", a->attrs,
                  "Only cubes with this attribute value, typed as put types it (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--attr-string", a->string_attrs,
                  "Only cubes with this attribute value, always a string (repeatable)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--kind", a->kinds, "Only cubes of this kind (repeatable)")->type_name("KIND");
  cmd->add_option("--state", a->states, "Only cubes in this state: active, archived (repeatable)")
      ->type_name("STATE");
  cmd->add_option_function<std::string>(
         "--as-of", [a](const std::string& v) { a->as_of = v; },
         "Transaction time: search what the database held then")
      ->type_name("TIME");
  cmd->add_option_function<std::string>(
         "--valid-at", [a](const std::string& v) { a->valid_at = v; },
         "Valid time: search the facts that held then (default: the --as-of time, else now)")
      ->type_name("TIME");
  cmd->add_option("--probes", a->probes, "Posting lists probed (0: the default)")->type_name("N");
  cmd->add_option("--rerank", a->rerank, "Candidates re-ranked exactly (0: the default)")
      ->type_name("N");
  cmd->add_flag("--json", a->json, "Print a JSON array of {id, version, score, space}");
  commands->push_back({cmd, [a] { return RunSearch(*a); }});
}

}  // namespace loci::cli
