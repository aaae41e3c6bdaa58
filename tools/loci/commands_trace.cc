// The commands of the trace graph (loci/trace.h): link and unlink write edges (opening the
// database for writing); trace, episode, events, changes and list read it and the episodes and
// versions around it (opening it read-only). Every limit the engine documents is checked here
// first, so that bad input is one line naming the option.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/trace.h"
#include "loci/write_batch.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/json_output.h"
#include "tools/loci/text_output.h"
#include "tools/loci/time_format.h"
#include "tools/loci/trace_args.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

// ---- Argument parsing shared by the commands.

// Parses a required time (--from, --to) into *out.
Status ParseRequiredTime(const std::string& text, std::string_view option, Timestamp* out) {
  Result<Timestamp> t = ParseTime(text);
  if (!t.ok()) return t.status().WithContext(option);
  *out = *t;
  return Status::OK();
}

// Parses --from and --to, which must make a non-empty window [from, to).
Status ParseWindow(const std::string& from_text, const std::string& to_text, Timestamp* from,
                   Timestamp* to) {
  LOCI_RETURN_IF_ERROR(ParseRequiredTime(from_text, "--from", from));
  LOCI_RETURN_IF_ERROR(ParseRequiredTime(to_text, "--to", to));
  if (*from >= *to) {
    auto text = [](Timestamp t) { return t == kForever ? std::string("forever") : FormatTime(t); };
    return Status::InvalidArgument("empty time window: --from " + text(*from) +
                                   " is not before --to " + text(*to));
  }
  return Status::OK();
}

Status ParseDirection(const std::string& text, TraceDirection* direction) {
  if (text == "out") {
    *direction = TraceDirection::kOut;
  } else if (text == "in") {
    *direction = TraceDirection::kIn;
  } else if (text == "both") {
    *direction = TraceDirection::kBoth;
  } else {
    return Status::InvalidArgument("--direction: unknown direction '" + text +
                                   "' (expected out, in or both)");
  }
  return Status::OK();
}

// ---- Option registration shared by the commands.

void AddDirArg(CLI::App* cmd, std::string* dir) {
  cmd->add_option("DIR", *dir, "Database directory")->required();
}

// An option stored into an optional, so that "not given" stays distinct from any value.
void AddOptional(CLI::App* cmd, const std::string& name, std::optional<std::string>* target,
                 const std::string& type, const std::string& help) {
  cmd->add_option_function<std::string>(
         name, [target](const std::string& v) { *target = v; }, help)
      ->type_name(type);
}

void AddAsOf(CLI::App* cmd, std::optional<std::string>* as_of) {
  AddOptional(cmd, "--as-of", as_of, "TIME",
              "Transaction time: what the database held then (RFC 3339 or microseconds)");
}

void AddValidAt(CLI::App* cmd, std::optional<std::string>* valid_at) {
  AddOptional(cmd, "--valid-at", valid_at, "TIME",
              "Valid time: when the facts should hold (default: the --as-of time, else now)");
}

void AddRequiredSpace(CLI::App* cmd, std::string* space) {
  cmd->add_option("--space", *space, "The space (tenant) to read")->required()->type_name("SPACE");
}

void AddLimit(CLI::App* cmd, uint32_t* limit, uint32_t max) {
  cmd->add_option(
         "--limit", *limit,
         "Results at most (1.." + std::to_string(max) + ", default " + std::to_string(*limit) + ")")
      ->type_name("N");
}

void AddWindow(CLI::App* cmd, std::string* from, std::string* to, const std::string& axis) {
  cmd->add_option("--from", *from, "Start of the " + axis + " window (inclusive)")
      ->required()
      ->type_name("TIME");
  cmd->add_option("--to", *to, "End of the " + axis + " window (exclusive; 'forever' for none)")
      ->required()
      ->type_name("TIME");
}

// ---- Output shared by the commands.

// Prints `cubes` as a JSON array of cube objects, or one line each; in text, the cube `mark_id`
// (if any) is marked with '*'.
void PrintCubes(const std::vector<MemCube>& cubes, bool json, std::optional<CubeId> mark_id) {
  if (json) {
    std::cout << DumpJson(CubesToJson(cubes)) << '\n';
    return;
  }
  for (const MemCube& c : cubes) {
    PrintCubeLine(c, !mark_id ? "" : (c.id == *mark_id ? "* " : "  "), std::cout);
  }
}

// ---- link, unlink

struct EdgeArgs {
  std::string dir;
  std::string from;
  std::string to;
  std::string type;
  std::optional<std::string> weight;  // link only
  std::optional<std::string> time;    // link: --valid-from; unlink: --valid-to
  std::optional<std::string> space;
};

// The parsed ends and type of an edge.
struct EdgeKeyArgs {
  CubeId from = 0;
  CubeId to = 0;
  EdgeType type = EdgeType::kRefers;
};

Status ParseEdgeKey(const EdgeArgs& a, EdgeKeyArgs* key) {
  LOCI_RETURN_IF_ERROR(ParseIdArg(a.from, "FROM", &key->from));
  LOCI_RETURN_IF_ERROR(ParseIdArg(a.to, "TO", &key->to));
  return ParseEdgeTypeArg(a.type, "--type", &key->type);
}

// Builds the one-operation batch of `loci link`.
Status BuildLink(const EdgeArgs& a, WriteBatch* batch) {
  EdgeKeyArgs key;
  LOCI_RETURN_IF_ERROR(ParseEdgeKey(a, &key));
  float weight = 1.0f;
  if (a.weight) {
    Result<float> w = ParseFloat(*a.weight);
    if (!w.ok()) return w.status().WithContext("--weight");
    weight = *w;
  }
  std::optional<Timestamp> valid_from;
  LOCI_RETURN_IF_ERROR(ParseTimeOption(a.time, "--valid-from", &valid_from));
  batch->Link(a.space, key.from, key.to, key.type, weight, valid_from);
  return Status::OK();
}

// Builds the one-operation batch of `loci unlink`.
Status BuildUnlink(const EdgeArgs& a, WriteBatch* batch) {
  EdgeKeyArgs key;
  LOCI_RETURN_IF_ERROR(ParseEdgeKey(a, &key));
  std::optional<Timestamp> valid_to;
  LOCI_RETURN_IF_ERROR(ParseTimeOption(a.time, "--valid-to", &valid_to));
  batch->Unlink(a.space, key.from, key.to, key.type, valid_to);
  return Status::OK();
}

// Writes the batch `build` makes from `a` and prints the edge's new version number.
int RunEdgeWrite(std::string_view command, const EdgeArgs& a,
                 Status (*build)(const EdgeArgs&, WriteBatch*)) {
  WriteBatch batch;
  Status s = build(a, &batch);
  if (!s.ok()) return ReportFailure(command, s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure(command, s);
  WriteResult result;
  s = db->Write(WriteOptions(), batch, &result);
  if (!s.ok()) return ReportFailure(command, s);
  std::cout << result.ops.back().version << '\n';
  return kExitOk;
}

void AddEdgeArgs(CLI::App* cmd, EdgeArgs* a) {
  AddDirArg(cmd, &a->dir);
  cmd->add_option("FROM", a->from, "Cube id the edge leaves")->required();
  cmd->add_option("TO", a->to, "Cube id the edge reaches")->required();
  cmd->add_option("--type", a->type, std::string("Edge type: ") + kEdgeTypeForms)
      ->required()
      ->type_name("TYPE");
  AddOptional(cmd, "--space", &a->space, "SPACE", "Only act if FROM and TO belong to this space");
}

// ---- trace

struct TraceArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> space;
  uint32_t hops = 1;
  std::vector<std::string> types;
  std::string direction = "out";
  bool episode_order = false;
  uint32_t limit = 100;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  bool json = false;
};

Status BuildTrace(const TraceArgs& a, TraceRequest* r) {
  LOCI_RETURN_IF_ERROR(ParseIdArg(a.id, "ID", &r->start));
  LOCI_RETURN_IF_ERROR(CheckRange("--hops", a.hops, 1, kMaxTraceHops));
  LOCI_RETURN_IF_ERROR(CheckRange("--limit", a.limit, 1, kMaxTraceResults));
  for (const std::string& text : a.types) {
    EdgeType type;
    LOCI_RETURN_IF_ERROR(ParseEdgeTypeArg(text, "--types", &type));
    r->types.push_back(type);
  }
  LOCI_RETURN_IF_ERROR(ParseDirection(a.direction, &r->direction));
  LOCI_RETURN_IF_ERROR(ParseReadPoint(a.as_of, a.valid_at, r));
  r->space = a.space;
  r->hops = a.hops;
  r->limit = a.limit;
  r->episode_order = a.episode_order;
  return Status::OK();
}

int RunTrace(const TraceArgs& a) {
  TraceRequest request;
  Status s = BuildTrace(a, &request);
  if (!s.ok()) return ReportFailure("trace", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("trace", s);
  std::vector<TraceStep> steps;
  s = db->Trace(request, &steps);
  if (!s.ok()) return ReportFailure("trace", s);
  if (a.json) {
    std::cout << DumpJson(TraceToJson(steps)) << '\n';
  } else {
    PrintTrace(steps, std::cout);
  }
  return kExitOk;
}

void RegisterTrace(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<TraceArgs>();
  CLI::App* cmd = app->add_subcommand(
      "trace",
      "Print the cubes reachable from cube ID by edges, nearest hop first, each once with the "
      "edge that reached it first");
  AddDirArg(cmd, &a->dir);
  cmd->add_option("ID", a->id, "The cube to start from (not itself reported)")->required();
  AddOptional(cmd, "--space", &a->space, "SPACE", "Only find the start cube in this space");
  cmd->add_option("--hops", a->hops,
                  "Edges followed at most (1.." + std::to_string(kMaxTraceHops) + ", default 1)")
      ->type_name("N");
  cmd->add_option(
         "--types", a->types,
         std::string("Only edges of these types (comma-separated, repeatable): ") + kEdgeTypeForms)
      ->delimiter(',')
      ->allow_extra_args(false)
      ->type_name("TYPE,...");
  cmd->add_option("--direction", a->direction,
                  "Follow edges out of each cube, into it, or both (default out)")
      ->type_name("out|in|both");
  cmd->add_flag("--episode-order", a->episode_order,
                "Also step to the next event of the episode (out) and the previous one (in), "
                "shown as 'next' edges");
  AddLimit(cmd, &a->limit, kMaxTraceResults);
  AddAsOf(cmd, &a->as_of);
  AddValidAt(cmd, &a->valid_at);
  cmd->add_flag("--json", a->json,
                "Print a JSON array of {id, version, hop, type, from, to, weight}");
  commands->push_back({cmd, [a] { return RunTrace(*a); }});
}

// ---- episode

struct EpisodeArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> space;
  uint32_t before = 5;
  uint32_t after = 5;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  bool json = false;
};

Status BuildEpisode(const EpisodeArgs& a, EpisodeRequest* r) {
  LOCI_RETURN_IF_ERROR(ParseIdArg(a.id, "ID", &r->id));
  LOCI_RETURN_IF_ERROR(CheckRange("--before", a.before, 0, kMaxEpisodeWindow));
  LOCI_RETURN_IF_ERROR(CheckRange("--after", a.after, 0, kMaxEpisodeWindow));
  LOCI_RETURN_IF_ERROR(ParseReadPoint(a.as_of, a.valid_at, r));
  r->space = a.space;
  r->before = a.before;
  r->after = a.after;
  return Status::OK();
}

int RunEpisode(const EpisodeArgs& a) {
  EpisodeRequest request;
  Status s = BuildEpisode(a, &request);
  if (!s.ok()) return ReportFailure("episode", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("episode", s);
  std::vector<MemCube> events;
  s = db->Episode(request, &events);
  if (!s.ok()) return ReportFailure("episode", s);
  PrintCubes(events, a.json, request.id);
  return kExitOk;
}

void RegisterEpisode(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<EpisodeArgs>();
  CLI::App* cmd = app->add_subcommand(
      "episode",
      "Print the events of cube ID's episode around it in valid-time order, the cube itself "
      "included (marked '*')");
  AddDirArg(cmd, &a->dir);
  cmd->add_option("ID", a->id, "Cube id")->required();
  AddOptional(cmd, "--space", &a->space, "SPACE", "Only find the cube in this space");
  const std::string window = " (0.." + std::to_string(kMaxEpisodeWindow) + ", default 5)";
  cmd->add_option("--before", a->before, "Events before the cube at most" + window)->type_name("N");
  cmd->add_option("--after", a->after, "Events after the cube at most" + window)->type_name("N");
  AddAsOf(cmd, &a->as_of);
  AddValidAt(cmd, &a->valid_at);
  cmd->add_flag("--json", a->json, "Print a JSON array of cubes (as get --json prints them)");
  commands->push_back({cmd, [a] { return RunEpisode(*a); }});
}

// ---- events

struct EventsArgs {
  std::string dir;
  std::string space;
  std::optional<std::string> episode;
  std::string from;
  std::string to;
  std::optional<std::string> as_of;
  uint32_t limit = 1000;
  bool json = false;
};

Status BuildEvents(const EventsArgs& a, EventsRequest* r) {
  LOCI_RETURN_IF_ERROR(ParseWindow(a.from, a.to, &r->from, &r->to));
  LOCI_RETURN_IF_ERROR(CheckRange("--limit", a.limit, 1, kMaxListResults));
  LOCI_RETURN_IF_ERROR(ParseTimeOption(a.as_of, "--as-of", &r->as_of));
  r->space = a.space;
  r->episode = a.episode;
  r->limit = a.limit;
  return Status::OK();
}

int RunEvents(const EventsArgs& a) {
  EventsRequest request;
  Status s = BuildEvents(a, &request);
  if (!s.ok()) return ReportFailure("events", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("events", s);
  std::vector<MemCube> events;
  s = db->Events(request, &events);
  if (!s.ok()) return ReportFailure("events", s);
  PrintCubes(events, a.json, std::nullopt);
  return kExitOk;
}

void RegisterEvents(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<EventsArgs>();
  CLI::App* cmd = app->add_subcommand(
      "events",
      "Print the events of a space (or of one episode) whose valid_from lies in [--from, --to), "
      "in valid-time order");
  AddDirArg(cmd, &a->dir);
  AddRequiredSpace(cmd, &a->space);
  AddOptional(cmd, "--episode", &a->episode, "EPISODE", "Only the events of this episode");
  AddWindow(cmd, &a->from, &a->to, "valid-time");
  AddAsOf(cmd, &a->as_of);
  AddLimit(cmd, &a->limit, kMaxListResults);
  cmd->add_flag("--json", a->json, "Print a JSON array of cubes (as get --json prints them)");
  commands->push_back({cmd, [a] { return RunEvents(*a); }});
}

// ---- changes

struct ChangesArgs {
  std::string dir;
  std::string space;
  std::string from;
  std::string to;
  uint32_t limit = 1000;
  bool json = false;
};

Status BuildChanges(const ChangesArgs& a, ChangesRequest* r) {
  LOCI_RETURN_IF_ERROR(ParseWindow(a.from, a.to, &r->from, &r->to));
  LOCI_RETURN_IF_ERROR(CheckRange("--limit", a.limit, 1, kMaxListResults));
  r->space = a.space;
  r->limit = a.limit;
  return Status::OK();
}

int RunChanges(const ChangesArgs& a) {
  ChangesRequest request;
  Status s = BuildChanges(a, &request);
  if (!s.ok()) return ReportFailure("changes", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("changes", s);
  std::vector<MemCube> versions;
  s = db->Changes(request, &versions);
  if (!s.ok()) return ReportFailure("changes", s);
  PrintCubes(versions, a.json, std::nullopt);
  return kExitOk;
}

void RegisterChanges(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<ChangesArgs>();
  CLI::App* cmd = app->add_subcommand(
      "changes",
      "Print every version of a space committed in [--from, --to) (transaction time), "
      "retirements included, in commit order");
  AddDirArg(cmd, &a->dir);
  AddRequiredSpace(cmd, &a->space);
  AddWindow(cmd, &a->from, &a->to, "transaction-time");
  AddLimit(cmd, &a->limit, kMaxListResults);
  cmd->add_flag("--json", a->json, "Print a JSON array of versions (as get --json prints them)");
  commands->push_back({cmd, [a] { return RunChanges(*a); }});
}

// ---- list

struct ListArgs {
  std::string dir;
  std::string space;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  uint32_t limit = 100;
  std::optional<std::string> after;
  bool json = false;
};

Status BuildList(const ListArgs& a, ListRequest* r) {
  LOCI_RETURN_IF_ERROR(CheckRange("--limit", a.limit, 1, kMaxListResults));
  if (a.after) LOCI_RETURN_IF_ERROR(ParseIdArg(*a.after, "--after", &r->after));
  LOCI_RETURN_IF_ERROR(ParseReadPoint(a.as_of, a.valid_at, r));
  r->space = a.space;
  r->limit = a.limit;
  return Status::OK();
}

int RunList(const ListArgs& a) {
  ListRequest request;
  Status s = BuildList(a, &request);
  if (!s.ok()) return ReportFailure("list", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("list", s);
  std::vector<MemCube> cubes;
  s = db->List(request, &cubes);
  if (!s.ok()) return ReportFailure("list", s);
  PrintCubes(cubes, a.json, std::nullopt);
  return kExitOk;
}

void RegisterList(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<ListArgs>();
  CLI::App* cmd = app->add_subcommand(
      "list",
      "Print the cubes of a space visible at a time, by increasing id, one page (the next page: "
      "--after the last id printed)");
  AddDirArg(cmd, &a->dir);
  AddRequiredSpace(cmd, &a->space);
  AddAsOf(cmd, &a->as_of);
  AddValidAt(cmd, &a->valid_at);
  AddLimit(cmd, &a->limit, kMaxListResults);
  AddOptional(cmd, "--after", &a->after, "ID", "Start after this cube id");
  cmd->add_flag("--json", a->json, "Print a JSON array of cubes (as get --json prints them)");
  commands->push_back({cmd, [a] { return RunList(*a); }});
}

void RegisterLinkCommands(CLI::App* app, std::vector<Command>* commands) {
  auto link = std::make_shared<EdgeArgs>();
  CLI::App* cmd = app->add_subcommand(
      "link", "Link cube FROM to cube TO (one space) by an edge of a type; prints its version");
  AddEdgeArgs(cmd, link.get());
  AddOptional(cmd, "--weight", &link->weight, "W", "Weight of the edge (finite, default 1)");
  AddOptional(cmd, "--valid-from", &link->time, "TIME",
              "Valid time the edge holds from (default: commit time)");
  commands->push_back({cmd, [link] { return RunEdgeWrite("link", *link, BuildLink); }});

  auto unlink = std::make_shared<EdgeArgs>();
  cmd = app->add_subcommand("unlink",
                            "End the validity of the edge FROM -TYPE-> TO; prints its new version");
  AddEdgeArgs(cmd, unlink.get());
  AddOptional(cmd, "--valid-to", &unlink->time, "TIME",
              "Valid time the edge stops holding (default: commit time)");
  commands->push_back({cmd, [unlink] { return RunEdgeWrite("unlink", *unlink, BuildUnlink); }});
}

}  // namespace

void RegisterTraceCommands(CLI::App* app, std::vector<Command>* commands) {
  RegisterLinkCommands(app, commands);
  RegisterTrace(app, commands);
  RegisterEpisode(app, commands);
  RegisterEvents(app, commands);
  RegisterChanges(app, commands);
  RegisterList(app, commands);
}

}  // namespace loci::cli
