// The MemOS operations (loci/db.h): fuse writes a cube derived from others (its parents, and a
// derived_from edge to each, in one batch; opens the database for writing); provenance prints
// where a cube came from as a tree (opens it read-only).

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/space.h"
#include "loci/trace.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/cube_args.h"
#include "tools/loci/json_output.h"
#include "tools/loci/text_output.h"
#include "tools/loci/trace_args.h"

namespace loci::cli {

namespace {

// ---- fuse

struct FuseArgs {
  std::string dir;
  std::vector<std::string> ids;
  std::optional<std::string> space;
  CubeArgs cube;
};

// Parses the fused ids and the draft.
Status BuildFuse(const FuseArgs& a, std::vector<CubeId>* ids, CubeDraft* draft) {
  for (const std::string& text : a.ids) {
    CubeId id;
    LOCI_RETURN_IF_ERROR(ParseIdArg(text, "ID", &id));
    ids->push_back(id);
  }
  return BuildDraft(a.cube, draft);
}

int RunFuse(const FuseArgs& a) {
  std::vector<CubeId> ids;
  CubeDraft draft;
  Status s = BuildFuse(a, &ids, &draft);
  if (!s.ok()) return ReportFailure("fuse", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("fuse", s);
  const WriteOptions options = WriteOptionsFor(a.cube);
  Result<CubeId> id = a.space ? db->Space(*a.space).Fuse(options, ids, std::move(draft))
                              : db->Fuse(options, ids, std::move(draft));
  if (!id.ok()) return ReportFailure("fuse", id.status());
  std::cout << *id << '\n';
  return kExitOk;
}

void RegisterFuse(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<FuseArgs>();
  CLI::App* cmd = app->add_subcommand(
      "fuse",
      "Store a new cube derived from cubes ID...: they become its parents, with a derived_from "
      "edge from it to each, in one atomic write; prints its id");
  cmd->add_option("DIR", a->dir, "Database directory")->required();
  cmd->add_option("ID", a->ids, "The cubes fused (one space; each once)")->required();
  cmd->add_option_function<std::string>(
         "--space", [a](const std::string& v) { a->space = v; },
         "Only fuse cubes of this space (default: the space of the first ID)")
      ->type_name("SPACE");
  AddCubeOptions(cmd, &a->cube, CubeOptionSet::kFuse);
  commands->push_back({cmd, [a] { return RunFuse(*a); }});
}

// ---- provenance

struct ProvenanceArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> space;
  uint32_t depth = 3;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  bool json = false;
};

int RunProvenance(const ProvenanceArgs& a) {
  CubeId id;
  Status s = ParseIdArg(a.id, "ID", &id);
  if (s.ok()) s = CheckRange("--depth", a.depth, 1, kMaxProvenanceDepth);
  ReadOptions options;
  if (s.ok()) s = ParseReadPoint(a.as_of, a.valid_at, &options);
  if (!s.ok()) return ReportFailure("provenance", s);
  options.fill_payload = false;
  options.fill_vectors = false;
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("provenance", s);
  ProvenanceNode root;
  s = a.space ? db->Space(*a.space).Provenance(options, id, a.depth, &root)
              : db->Provenance(options, id, a.depth, &root);
  if (!s.ok()) return ReportFailure("provenance", s);
  if (a.json) {
    std::cout << DumpJson(ProvenanceToJson(root)) << '\n';
  } else {
    PrintProvenance(root, std::cout);
  }
  return kExitOk;
}

void RegisterProvenance(CLI::App* app, std::vector<Command>* commands) {
  auto a = std::make_shared<ProvenanceArgs>();
  CLI::App* cmd = app->add_subcommand(
      "provenance",
      "Print where cube ID came from: its parents and derived_from sources, and theirs, as an "
      "indented tree ('(cycle)': already on the path; '(more...)': cut at --depth or the node "
      "limit)");
  cmd->add_option("DIR", a->dir, "Database directory")->required();
  cmd->add_option("ID", a->id, "Cube id")->required();
  cmd->add_option_function<std::string>(
         "--space", [a](const std::string& v) { a->space = v; }, "Only find the cube in this space")
      ->type_name("SPACE");
  cmd->add_option("--depth", a->depth,
                  "Levels below the cube at most (1.." + std::to_string(kMaxProvenanceDepth) +
                      ", default 3)")
      ->type_name("N");
  cmd->add_option_function<std::string>(
         "--as-of", [a](const std::string& v) { a->as_of = v; },
         "Transaction time: what the database held then (RFC 3339 or microseconds)")
      ->type_name("TIME");
  cmd->add_option_function<std::string>(
         "--valid-at", [a](const std::string& v) { a->valid_at = v; },
         "Valid time: when the facts should hold (default: the --as-of time, else now)")
      ->type_name("TIME");
  cmd->add_flag("--json", a->json,
                "Print nested {id, version, relation, cycle, truncated, sources: [...]}");
  commands->push_back({cmd, [a] { return RunProvenance(*a); }});
}

}  // namespace

void RegisterMemosCommands(CLI::App* app, std::vector<Command>* commands) {
  RegisterFuse(app, commands);
  RegisterProvenance(app, commands);
}

}  // namespace loci::cli
