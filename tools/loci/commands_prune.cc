// loci prune: applies a retention policy now (Options::retention, space_retention): a
// checkpoint under the policy prunes the versions it does not keep. Without --yes it only says
// what the policy would apply to and exits 1, as purge does: pruned history is gone for good.

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

struct PruneArgs {
  std::string dir;
  std::optional<std::string> space;  // every space if not given
  uint32_t keep_versions = 0;
  std::optional<std::string> keep_for;  // DURATION
  bool yes = false;
};

// "space alice (3 cubes, 5 versions)" for each space the policy applies to.
Status DescribeSpaces(Db* db, const std::optional<std::string>& space, std::string* out) {
  UsageReport usage;
  LOCI_RETURN_IF_ERROR(db->Usage(&usage));
  out->clear();
  for (const SpaceUsage& s : usage.spaces) {
    if (space && s.name != *space) continue;
    if (!out->empty()) *out += ", ";
    *out += "space " + s.name + " (" + std::to_string(s.cubes) + " cube" +
            (s.cubes == 1 ? "" : "s") + ", " + std::to_string(s.versions) + " version" +
            (s.versions == 1 ? "" : "s") + ")";
  }
  if (space && out->empty()) return Status::NotFound("space '" + *space + "' does not exist");
  if (out->empty()) *out = "no space";
  return Status::OK();
}

std::string DescribePolicy(const PruneArgs& a) {
  std::string rule;
  if (a.keep_versions > 0) {
    rule = "the newest " + std::to_string(a.keep_versions) + " version" +
           (a.keep_versions == 1 ? "" : "s") + " of each cube";
  }
  if (a.keep_for) {
    rule += (rule.empty() ? "" : ", and ") + std::string("the versions superseded within ") +
            *a.keep_for;
  }
  return rule;
}

int RunPrune(const PruneArgs& a) {
  if (a.keep_versions == 0 && !a.keep_for) {
    return ReportUsage("prune", "give --keep-versions N and/or --keep-for DURATION");
  }
  Options options;
  RetentionPolicy policy{.keep_versions = a.keep_versions};
  if (a.keep_for) {
    Result<Timestamp> micros = ParseDuration(*a.keep_for, "--keep-for");
    if (!micros.ok()) return ReportFailure("prune", micros.status());
    policy.keep_for = std::chrono::microseconds(*micros);
  }
  if (a.space) {
    options.space_retention[*a.space] = policy;
  } else {
    options.retention = policy;
  }
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, options, &db);
  if (!s.ok()) return ReportFailure("prune", s);
  std::string spaces;
  s = DescribeSpaces(db.get(), a.space, &spaces);
  if (!s.ok()) return ReportFailure("prune", s);
  if (!a.yes) {
    std::cout << "would keep " << DescribePolicy(a) << " in " << spaces << '\n';
    return ReportUsage("prune", "nothing pruned: pass --yes to drop older versions for good");
  }
  s = db->Checkpoint();
  if (!s.ok()) return ReportFailure("prune", s);
  const uint64_t pruned = db->Stats().versions_pruned;
  s = DescribeSpaces(db.get(), a.space, &spaces);
  if (!s.ok()) return ReportFailure("prune", s);
  std::cout << "pruned " << pruned << " version" << (pruned == 1 ? "" : "s") << "; kept " << spaces
            << '\n';
  return kExitOk;
}

}  // namespace

void RegisterPruneCommand(CLI::App* app, std::vector<Command>* commands) {
  auto prune = std::make_shared<PruneArgs>();
  CLI::App* cmd = app->add_subcommand(
      "prune",
      "Drop the versions a retention policy does not keep, now: the newest N of each cube "
      "and/or those superseded within a duration (without --yes, only print what it applies "
      "to)");
  cmd->add_option("DIR", prune->dir, "Database directory")->required();
  cmd->add_option_function<std::string>(
         "--space", [prune](const std::string& v) { prune->space = v; },
         "Only this space (default: every space)")
      ->type_name("SPACE");
  cmd->add_option("--keep-versions", prune->keep_versions,
                  "Keep the newest N versions of each cube")
      ->type_name("N");
  cmd->add_option_function<std::string>(
         "--keep-for", [prune](const std::string& v) { prune->keep_for = v; },
         "Keep the versions superseded within this long (30d, 12h, 45m, 90s)")
      ->type_name("DURATION");
  cmd->add_flag("--yes", prune->yes, "Prune (without it, nothing is pruned)");
  commands->push_back({cmd, [prune] { return RunPrune(*prune); }});
}

}  // namespace loci::cli
