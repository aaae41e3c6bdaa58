// loci search: the k nearest cubes of a space by a vector field, with the engine's filters, a
// valid-time window and trace expansion of the hits (loci/search.h). Opens the database
// read-only.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/json_output.h"
#include "tools/loci/text_output.h"
#include "tools/loci/time_format.h"
#include "tools/loci/trace_args.h"
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
  std::optional<std::string> window;  // FROM,TO
  uint32_t expand = 0;
  std::vector<std::string> expand_types;
  bool expand_episode = false;
  bool expand_episode_only = false;
  std::optional<std::string> expand_decay;
  std::optional<uint32_t> expand_limit;
  std::optional<std::string> recency_weight;
  std::optional<std::string> half_life;  // DURATION: 30d, 12h, 45m, 90s
  std::optional<std::string> importance_weight;
  bool json = false;
};

// --recency-weight, --half-life, --importance-weight.
Status ParseRanking(const SearchArgs& a, SearchRequest* r) {
  auto weight = [](const std::optional<std::string>& text, const char* what, float max,
                   float* out) -> Status {
    if (!text) return Status::OK();
    Result<float> w = ParseFloat(*text);
    if (!w.ok()) return w.status().WithContext(what);
    if (!(*w >= 0 && *w <= max)) {
      return Status::InvalidArgument(std::string(what) + " " + *text + " is out of range (0.." +
                                     (max == 1 ? "1" : "100") + ")");
    }
    *out = *w;
    return Status::OK();
  };
  LOCI_RETURN_IF_ERROR(weight(a.recency_weight, "--recency-weight", 1, &r->recency_weight));
  LOCI_RETURN_IF_ERROR(
      weight(a.importance_weight, "--importance-weight", 100, &r->importance_weight));
  if (a.half_life) {
    if (!a.recency_weight) return Status::InvalidArgument("--half-life needs --recency-weight");
    Result<Timestamp> h = ParseDuration(*a.half_life, "--half-life");
    if (!h.ok()) return h.status();
    r->recency_half_life = *h;
  }
  return Status::OK();
}

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

// One bound of --window: empty for an open bound, else a time.
Status ParseWindowBound(std::string_view text, std::optional<Timestamp>* bound) {
  if (text.empty()) return Status::OK();
  Result<Timestamp> t = ParseTime(text);
  if (!t.ok()) return t.status().WithContext("--window");
  *bound = *t;
  return Status::OK();
}

// --window FROM,TO: a non-empty valid-time window [FROM, TO), either bound open when empty;
// it replaces the read point's valid time, so --valid-at may not be given with it.
Status ParseSearchWindow(const SearchArgs& a, SearchRequest* r) {
  if (!a.window) return Status::OK();
  const std::string& text = *a.window;
  const size_t comma = text.find(',');
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) {
    return Status::InvalidArgument("--window: expected FROM,TO (either may be empty), not '" +
                                   text + "'");
  }
  if (a.valid_at) {
    return Status::InvalidArgument(
        "--window replaces --valid-at (the window is the valid time): give one of them");
  }
  LOCI_RETURN_IF_ERROR(ParseWindowBound(std::string_view(text).substr(0, comma), &r->window_from));
  LOCI_RETURN_IF_ERROR(ParseWindowBound(std::string_view(text).substr(comma + 1), &r->window_to));
  // An open FROM is the beginning of time, so that ",TO" and "," are windows too.
  if (!r->window_from) r->window_from = kBeginningOfTime;
  if (*r->window_from >= r->window_to.value_or(kForever)) {
    return Status::InvalidArgument("--window: empty time window: FROM is not before TO in '" +
                                   text + "'");
  }
  return Status::OK();
}

// --expand N and the options that tune it, which need N >= 1.
Status ParseExpansion(const SearchArgs& a, SearchRequest* r) {
  LOCI_RETURN_IF_ERROR(CheckRange("--expand", a.expand, 0, kMaxTraceHops));
  const bool tuned = !a.expand_types.empty() || a.expand_episode || a.expand_episode_only ||
                     a.expand_decay || a.expand_limit;
  if (a.expand == 0 && tuned) {
    return Status::InvalidArgument(
        "--expand-types, --expand-episode, --expand-episode-only, --expand-decay and "
        "--expand-limit need --expand N (N >= 1)");
  }
  for (const std::string& text : a.expand_types) {
    EdgeType type;
    LOCI_RETURN_IF_ERROR(ParseEdgeTypeArg(text, "--expand-types", &type));
    r->expand_types.push_back(type);
  }
  if (a.expand_episode_only && !a.expand_episode) {
    return Status::InvalidArgument("--expand-episode-only needs --expand-episode");
  }
  if (a.expand_decay) {
    Result<float> decay = ParseFloat(*a.expand_decay);
    if (!decay.ok()) return decay.status().WithContext("--expand-decay");
    if (!(*decay > 0 && *decay <= 1)) {
      return Status::InvalidArgument("--expand-decay " + *a.expand_decay +
                                     " is out of range (above 0, at most 1)");
    }
    r->expand_decay = *decay;
  }
  if (a.expand_limit)
    LOCI_RETURN_IF_ERROR(CheckRange("--expand-limit", *a.expand_limit, 0, kMaxSearchK));
  r->expand_hops = a.expand;
  r->expand_episode = a.expand_episode;
  r->expand_episode_only = a.expand_episode_only;
  r->expand_limit = a.expand_limit.value_or(0);
  return Status::OK();
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
  LOCI_RETURN_IF_ERROR(ParseSearchWindow(a, r));
  LOCI_RETURN_IF_ERROR(ParseRanking(a, r));
  return ParseExpansion(a, r);
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
    std::cout << DumpJson(SearchHitsToJson(hits)) << '\n';
  } else {
    PrintSearchHits(hits, std::cout);
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
  cmd->add_option_function<std::string>(
         "--window", [a](const std::string& v) { a->window = v; },
         "Valid-time window [FROM, TO): cubes valid at some time in it (FROM or TO empty: open; "
         "replaces --valid-at)")
      ->type_name("FROM,TO");
  cmd->add_option("--expand", a->expand,
                  "Add the cubes up to N edges away from each hit, in both directions (0.." +
                      std::to_string(kMaxTraceHops) + ", default 0: none)")
      ->type_name("N");
  cmd->add_option("--expand-types", a->expand_types,
                  std::string("Expand along edges of these types only (comma-separated, "
                              "repeatable): ") +
                      kEdgeTypeForms)
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("TYPE,...");
  cmd->add_flag("--expand-episode", a->expand_episode,
                "Also expand along the episode order (shown as 'next' edges)");
  cmd->add_flag("--expand-episode-only", a->expand_episode_only,
                "Expand along the episode order only, no stored edge (needs --expand-episode)");
  cmd->add_option_function<std::string>(
         "--expand-decay", [a](const std::string& v) { a->expand_decay = v; },
         "Score factor per hop, in (0, 1] (default 0.5)")
      ->type_name("F");
  cmd->add_option_function<uint32_t>(
         "--expand-limit", [a](uint32_t v) { a->expand_limit = v; },
         "Expanded hits at most (0.." + std::to_string(kMaxSearchK) + ", default 0: K)")
      ->type_name("N");
  cmd->add_option_function<std::string>(
         "--recency-weight", [a](const std::string& v) { a->recency_weight = v; },
         "Rank recent memories higher: weight in [0, 1] of 2^(-age / half-life)")
      ->type_name("F");
  cmd->add_option_function<std::string>(
         "--half-life", [a](const std::string& v) { a->half_life = v; },
         "Half-life of --recency-weight: 30d, 12h, 45m, 90s (default 30d)")
      ->type_name("DURATION");
  cmd->add_option_function<std::string>(
         "--importance-weight", [a](const std::string& v) { a->importance_weight = v; },
         "Rank important memories higher: score x (1 + F x importance), F in [0, 100]")
      ->type_name("F");
  cmd->add_flag("--json", a->json,
                "Print a JSON array of {id, version, score, space, hop, via}; via is null for a "
                "direct hit (hop 0), else the edge of the last hop {type, from, to, weight}");
  commands->push_back({cmd, [a] { return RunSearch(*a); }});
}

}  // namespace loci::cli
