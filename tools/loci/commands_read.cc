// The commands that only read a database: get, history, info, check. Each opens it read-only,
// so nothing on disk changes (a torn WAL tail is ignored in memory, not truncated).

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "loci/db.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/json_output.h"
#include "tools/loci/text_output.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

// Arguments of get and history: which cube, and where in (transaction, valid) time to look.
struct ReadArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> as_of;
  std::optional<std::string> valid_at;
  std::optional<std::string> space;
  bool json = false;
};

void AddReadOptions(CLI::App* cmd, ReadArgs* a, bool with_valid_at) {
  cmd->add_option("DIR", a->dir, "Database directory")->required();
  cmd->add_option("ID", a->id, "Cube id")->required();
  cmd->add_option_function<std::string>(
         "--as-of", [a](const std::string& v) { a->as_of = v; },
         "Transaction time: what the database held then (RFC 3339 or microseconds)")
      ->type_name("TIME");
  if (with_valid_at) {
    cmd->add_option_function<std::string>(
           "--valid-at", [a](const std::string& v) { a->valid_at = v; },
           "Valid time: when the fact should hold (default: the --as-of time, else now)")
        ->type_name("TIME");
  }
  cmd->add_option_function<std::string>(
         "--space", [a](const std::string& v) { a->space = v; }, "Only find the cube in this space")
      ->type_name("SPACE");
  cmd->add_flag("--json", a->json, "Print JSON");
}

// Translates the arguments into the cube id and ReadOptions, or says what is wrong.
Status ParseReadArgs(const ReadArgs& a, CubeId* id, ReadOptions* options) {
  Result<CubeId> parsed = ParseCubeId(a.id);
  if (!parsed.ok()) return parsed.status();
  *id = *parsed;
  if (a.as_of) {
    Result<Timestamp> t = ParseTime(*a.as_of);
    if (!t.ok()) return t.status().WithContext("--as-of");
    options->as_of = *t;
  }
  if (a.valid_at) {
    Result<Timestamp> t = ParseTime(*a.valid_at);
    if (!t.ok()) return t.status().WithContext("--valid-at");
    options->valid_at = *t;
  }
  options->space = a.space;
  return Status::OK();
}

int RunGet(const ReadArgs& a) {
  CubeId id;
  ReadOptions options;
  Status s = ParseReadArgs(a, &id, &options);
  if (!s.ok()) return ReportFailure("get", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("get", s);
  MemCube cube;
  s = db->Get(options, id, &cube);
  if (!s.ok()) return ReportFailure("get", s);
  if (a.json) {
    std::cout << DumpJson(CubeToJson(cube)) << '\n';
  } else {
    PrintCube(cube, std::cout);
  }
  return kExitOk;
}

int RunHistory(const ReadArgs& a) {
  CubeId id;
  ReadOptions options;
  Status s = ParseReadArgs(a, &id, &options);
  if (!s.ok()) return ReportFailure("history", s);
  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("history", s);
  std::vector<MemCube> versions;
  s = db->History(options, id, &versions);
  if (!s.ok()) return ReportFailure("history", s);
  if (a.json) {
    std::cout << DumpJson(HistoryToJson(versions)) << '\n';
  } else {
    PrintHistory(versions, std::cout);
  }
  return kExitOk;
}

struct InfoArgs {
  std::string dir;
  bool json = false;
};

int RunInfo(const InfoArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("info", s);
  const DbStats stats = db->Stats();
  UsageReport usage;
  s = db->Usage(&usage);
  if (!s.ok()) return ReportFailure("info", s);
  if (a.json) {
    nlohmann::ordered_json j = StatsToJson(stats);
    j["usage"] = UsageToJson(usage);
    std::cout << DumpJson(j) << '\n';
  } else {
    PrintStats(stats, std::cout);
    PrintUsage(usage, std::cout);
  }
  return kExitOk;
}

struct CheckArgs {
  std::string dir;
};

// Open verifies the superblock and checkpoints and replays the WAL, checking every record;
// Verify then reads every blob. Any damage found either way is Corruption (exit 2).
int RunCheck(const CheckArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadOnly, &db);
  if (!s.ok()) return ReportFailure("check", s);
  const DbStats stats = db->Stats();
  std::cout << "superblock, checkpoints and WAL: ok (last LSN " << stats.last_lsn
            << ", checkpoint LSN " << stats.checkpoint_lsn << ", " << stats.wal_segments
            << " WAL segment(s))\n";
  if (!stats.recovery.empty()) std::cout << "recovery: " << stats.recovery << '\n';
  IntegrityReport report;
  s = db->Verify(&report);
  std::cout << "verified " << report.cubes << " cube(s), " << report.versions << " version(s), "
            << report.blobs << " blob(s) of " << report.blob_bytes << " bytes\n";
  for (const std::string& problem : report.problems) std::cout << "problem: " << problem << '\n';
  if (!s.ok()) return ReportFailure("check", s);
  if (!report.problems.empty()) {
    return ReportFailure("check",
                         Status::Corruption(std::to_string(report.problems.size()) +
                                            " problem(s), first: " + report.problems.front()));
  }
  std::cout << "ok\n";
  return kExitOk;
}

}  // namespace

void RegisterReadCommands(CLI::App* app, std::vector<Command>* commands) {
  auto get = std::make_shared<ReadArgs>();
  CLI::App* cmd = app->add_subcommand("get", "Print the version of cube ID visible at a time");
  AddReadOptions(cmd, get.get(), /*with_valid_at=*/true);
  commands->push_back({cmd, [get] { return RunGet(*get); }});

  auto history = std::make_shared<ReadArgs>();
  cmd = app->add_subcommand("history", "Print every version of cube ID, oldest first");
  AddReadOptions(cmd, history.get(), /*with_valid_at=*/false);
  commands->push_back({cmd, [history] { return RunHistory(*history); }});

  auto info = std::make_shared<InfoArgs>();
  cmd = app->add_subcommand("info", "Print database statistics");
  cmd->add_option("DIR", info->dir, "Database directory")->required();
  cmd->add_flag("--json", info->json, "Print JSON");
  commands->push_back({cmd, [info] { return RunInfo(*info); }});

  auto check = std::make_shared<CheckArgs>();
  cmd = app->add_subcommand("check", "Verify every file and blob; exit 2 on corruption");
  cmd->add_option("DIR", check->dir, "Database directory")->required();
  commands->push_back({cmd, [check] { return RunCheck(*check); }});
}

}  // namespace loci::cli
