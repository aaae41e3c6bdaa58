// loci purge: erases cubes for good (Db::Purge), or every cube of a space (Db::PurgeSpace, with
// --all). Without --yes it only says what it would erase and exits 1, so that a mistyped id
// costs nothing.

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/write_batch.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

struct PurgeArgs {
  std::string dir;
  std::vector<std::string> ids;
  std::optional<std::string> space;  // only cubes of this space
  bool all = false;                  // every cube of `space`
  bool yes = false;
};

// "every cube of space alice (3 cubes, 5 versions)"; NotFound if the space does not exist.
Status DescribeSpace(Db* db, const std::string& space, std::string* line) {
  UsageReport usage;
  LOCI_RETURN_IF_ERROR(db->Usage(&usage));
  for (const SpaceUsage& s : usage.spaces) {
    if (s.name != space) continue;
    *line = "every cube of space " + space + " (" + std::to_string(s.cubes) + " cube" +
            (s.cubes == 1 ? "" : "s") + ", " + std::to_string(s.versions) + " version" +
            (s.versions == 1 ? "" : "s") + ")";
    return Status::OK();
  }
  return Status::NotFound("space '" + space + "' does not exist");
}

int RunPurgeSpace(const PurgeArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("purge", s);
  std::string line;
  s = DescribeSpace(db.get(), *a.space, &line);
  if (!s.ok()) return ReportFailure("purge", s);
  if (!a.yes) {
    std::cout << "would erase " << line << '\n';
    return ReportUsage("purge",
                       "nothing erased: pass --yes to erase these cubes, every version and edge, "
                       "for good");
  }
  Result<uint64_t> erased = db->PurgeSpace(WriteOptions(), *a.space);
  if (!erased.ok()) return ReportFailure("purge", erased.status());
  std::cout << "erased " << *erased << " cube" << (*erased == 1 ? "" : "s") << " of space "
            << *a.space << '\n';
  return kExitOk;
}

// "cube 7 (space alice, 3 versions)" for each id, as the purge would find it; the first id
// that does not exist (in the space, when given) is the error.
Status Describe(Db* db, const std::vector<CubeId>& ids, const std::optional<std::string>& space,
                std::vector<std::string>* lines) {
  ReadOptions read;
  read.space = space;
  read.fill_payload = false;
  read.fill_vectors = false;
  for (CubeId id : ids) {
    std::vector<MemCube> history;
    LOCI_RETURN_IF_ERROR(db->History(read, id, &history));
    lines->push_back("cube " + std::to_string(id) + " (space " + history.back().space + ", " +
                     std::to_string(history.size()) + " version" +
                     (history.size() == 1 ? "" : "s") + ")");
  }
  return Status::OK();
}

int RunPurge(const PurgeArgs& a) {
  if (a.all) {
    if (!a.space) return ReportUsage("purge", "--all needs --space: the space to empty");
    if (!a.ids.empty()) return ReportUsage("purge", "give cube ids or --all, not both");
    return RunPurgeSpace(a);
  }
  if (a.ids.empty()) return ReportUsage("purge", "no cube ids given (or --space S --all)");
  std::vector<CubeId> ids;
  for (const std::string& text : a.ids) {
    Result<CubeId> id = ParseCubeId(text);
    if (!id.ok()) return ReportFailure("purge", id.status());
    ids.push_back(*id);
  }
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("purge", s);
  std::vector<std::string> lines;
  s = Describe(db.get(), ids, a.space, &lines);
  if (!s.ok()) return ReportFailure("purge", s);
  if (!a.yes) {
    for (const std::string& line : lines) std::cout << "would erase " << line << '\n';
    return ReportUsage("purge",
                       "nothing erased: pass --yes to erase these cubes, every version and edge, "
                       "for good");
  }
  WriteBatch batch;
  for (CubeId id : ids) batch.Purge(id, a.space);
  s = db->Write(WriteOptions(), batch, nullptr);
  if (!s.ok()) return ReportFailure("purge", s);
  for (const std::string& line : lines) std::cout << "erased " << line << '\n';
  return kExitOk;
}

}  // namespace

void RegisterPurgeCommand(CLI::App* app, std::vector<Command>* commands) {
  auto purge = std::make_shared<PurgeArgs>();
  CLI::App* cmd = app->add_subcommand(
      "purge",
      "Erase cubes for good: every version, vector, attribute and edge, from every file of the "
      "database; with --space S --all, every cube of space S (without --yes, only print what "
      "would be erased)");
  cmd->add_option("DIR", purge->dir, "Database directory")->required();
  cmd->add_option("ID", purge->ids, "Cube ids");
  cmd->add_option_function<std::string>(
         "--space", [purge](const std::string& v) { purge->space = v; },
         "Only erase cubes of this space (another space's id is not found)")
      ->type_name("SPACE");
  cmd->add_flag("--all", purge->all, "Erase every cube of the space --space names");
  cmd->add_flag("--yes", purge->yes, "Erase (without it, nothing is erased)");
  commands->push_back({cmd, [purge] { return RunPurge(*purge); }});
}

}  // namespace loci::cli
