// loci purge: erases cubes for good (Db::Purge). Without --yes it only says what it would erase
// and exits 1, so that a mistyped id costs nothing.

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
  bool yes = false;
};

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
      "database (without --yes, only print what would be erased)");
  cmd->add_option("DIR", purge->dir, "Database directory")->required();
  cmd->add_option("ID", purge->ids, "Cube ids")->required();
  cmd->add_option_function<std::string>(
         "--space", [purge](const std::string& v) { purge->space = v; },
         "Only erase cubes of this space (another space's id is not found)")
      ->type_name("SPACE");
  cmd->add_flag("--yes", purge->yes, "Erase (without it, nothing is erased)");
  commands->push_back({cmd, [purge] { return RunPurge(*purge); }});
}

}  // namespace loci::cli
