// The commands that change a database: init, put, update, retire, drop-field, checkpoint. Each
// opens the database for writing (init creates it), so it fails with Busy while another process
// has it.

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "loci/db.h"
#include "loci/write_batch.h"
#include "tools/loci/cli_support.h"
#include "tools/loci/commands.h"
#include "tools/loci/cube_args.h"
#include "tools/loci/time_format.h"
#include "tools/loci/value_parse.h"

namespace loci::cli {

namespace {

// Declares, ahead of the write in `batch`, each vector field of `vectors` in `space` with the
// vector's dimension and `metric`: a no-op for a field that exists with both, an error for one
// that exists with others, and the creation of a field that does not exist yet.
void DefineFields(const std::string& space, const std::vector<NamedVector>& vectors, Metric metric,
                  WriteBatch* batch) {
  for (const NamedVector& v : vectors) {
    batch->DefineVectorField(space, v.field, static_cast<uint32_t>(v.values.size()), metric);
  }
}

struct InitArgs {
  std::string dir;
};

int RunInit(const InitArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kCreate, &db);
  if (!s.ok()) return ReportFailure("init", s);
  std::cout << "created database " << a.dir << '\n';
  return kExitOk;
}

struct PutArgs {
  std::string dir;
  std::string space;
  CubeArgs cube;
};

int RunPut(const PutArgs& a) {
  CubeDraft draft;
  draft.space = a.space;
  Status s = BuildDraft(a.cube, &draft);
  if (!s.ok()) return ReportFailure("put", s);
  Result<std::optional<Metric>> metric = ParsedMetric(a.cube);
  if (!metric.ok()) return ReportFailure("put", metric.status());

  WriteBatch batch;
  if (*metric) DefineFields(draft.space, draft.vectors, **metric, &batch);
  batch.Put(std::move(draft));

  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("put", s);
  WriteResult result;
  s = db->Write(WriteOptionsFor(a.cube), batch, &result);
  if (!s.ok()) return ReportFailure("put", s);
  std::cout << result.ops.back().id << '\n';
  return kExitOk;
}

struct UpdateArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> space;  // confine the update to this space
  CubeArgs cube;
};

// Adds --space: the space the cube must belong to. Optional, so that scripts written before it
// keep working; with it, a cube of another space is "cube ID does not exist".
void AddScopeOption(CLI::App* cmd, std::optional<std::string>* space) {
  cmd->add_option_function<std::string>(
         "--space", [space](const std::string& v) { *space = v; },
         "Only act on the cube if it belongs to this space")
      ->type_name("SPACE");
}

int RunUpdate(const UpdateArgs& a) {
  Result<CubeId> id = ParseCubeId(a.id);
  if (!id.ok()) return ReportFailure("update", id.status());
  CubePatch patch;
  Status s = BuildPatch(a.cube, &patch);
  if (!s.ok()) return ReportFailure("update", s);
  Result<std::optional<Metric>> metric = ParsedMetric(a.cube);
  if (!metric.ok()) return ReportFailure("update", metric.status());

  std::unique_ptr<Db> db;
  s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("update", s);
  WriteBatch batch;
  if (*metric && !patch.set_vectors.empty()) {
    // The fields belong to the cube's space: the one named, or the one its versions name.
    // (With --space, a cube of another space fails the update, and so the whole batch.)
    std::string space;
    if (a.space) {
      space = *a.space;
    } else {
      ReadOptions latest;
      latest.fill_payload = false;
      latest.fill_vectors = false;
      std::vector<MemCube> versions;
      s = db->History(latest, *id, &versions);
      if (!s.ok()) return ReportFailure("update", s);
      space = versions.back().space;
    }
    DefineFields(space, patch.set_vectors, **metric, &batch);
  }
  batch.Update(*id, std::move(patch), a.space);
  WriteResult result;
  s = db->Write(WriteOptionsFor(a.cube), batch, &result);
  if (!s.ok()) return ReportFailure("update", s);
  std::cout << result.ops.back().version << '\n';
  return kExitOk;
}

struct RetireArgs {
  std::string dir;
  std::string id;
  std::optional<std::string> valid_to;
  std::optional<std::string> space;  // confine the retirement to this space
  bool no_sync = false;
};

int RunRetire(const RetireArgs& a) {
  Result<CubeId> id = ParseCubeId(a.id);
  if (!id.ok()) return ReportFailure("retire", id.status());
  std::optional<Timestamp> valid_to;
  if (a.valid_to) {
    Result<Timestamp> t = ParseTime(*a.valid_to);
    if (!t.ok()) return ReportFailure("retire", t.status().WithContext("--valid-to"));
    valid_to = *t;
  }
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("retire", s);
  WriteBatch batch;
  batch.Retire(*id, valid_to, a.space);
  WriteOptions options;
  options.sync = !a.no_sync;
  WriteResult result;
  s = db->Write(options, batch, &result);
  if (!s.ok()) return ReportFailure("retire", s);
  std::cout << result.ops.back().version << '\n';
  return kExitOk;
}

struct DropFieldArgs {
  std::string dir;
  std::string space;
  std::string field;
};

int RunDropField(const DropFieldArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("drop-field", s);
  WriteBatch batch;
  batch.DropVectorField(a.space, a.field);
  s = db->Write(WriteOptions(), batch, nullptr);
  if (!s.ok()) return ReportFailure("drop-field", s);
  std::cout << "dropped vector field " << a.field << " of space " << a.space << '\n';
  return kExitOk;
}

struct CheckpointArgs {
  std::string dir;
};

int RunCheckpoint(const CheckpointArgs& a) {
  std::unique_ptr<Db> db;
  Status s = OpenDb(a.dir, OpenMode::kReadWrite, &db);
  if (!s.ok()) return ReportFailure("checkpoint", s);
  s = db->Checkpoint();
  if (!s.ok()) return ReportFailure("checkpoint", s);
  const DbStats stats = db->Stats();
  std::cout << "checkpoint written: covers LSN " << stats.checkpoint_lsn << ", "
            << stats.checkpoint_files << " checkpoint file(s), " << stats.wal_segments
            << " WAL segment(s) left\n";
  return kExitOk;
}

}  // namespace

void RegisterWriteCommands(CLI::App* app, std::vector<Command>* commands) {
  auto init = std::make_shared<InitArgs>();
  CLI::App* cmd = app->add_subcommand("init", "Create a new database in DIR");
  cmd->add_option("DIR", init->dir, "Database directory")->required();
  commands->push_back({cmd, [init] { return RunInit(*init); }});

  auto put = std::make_shared<PutArgs>();
  cmd = app->add_subcommand("put", "Store a new cube; prints its id");
  cmd->add_option("DIR", put->dir, "Database directory")->required();
  cmd->add_option("--space", put->space, "The space (tenant) of the cube")
      ->required()
      ->type_name("SPACE");
  AddCubeOptions(cmd, &put->cube, CubeOptionSet::kPut);
  commands->push_back({cmd, [put] { return RunPut(*put); }});

  auto update = std::make_shared<UpdateArgs>();
  cmd = app->add_subcommand("update", "Write a new version of cube ID; prints its number");
  cmd->add_option("DIR", update->dir, "Database directory")->required();
  cmd->add_option("ID", update->id, "Cube id")->required();
  AddScopeOption(cmd, &update->space);
  AddCubeOptions(cmd, &update->cube, CubeOptionSet::kUpdate);
  commands->push_back({cmd, [update] { return RunUpdate(*update); }});

  auto retire = std::make_shared<RetireArgs>();
  cmd = app->add_subcommand("retire", "End the validity of cube ID; prints the new version");
  cmd->add_option("DIR", retire->dir, "Database directory")->required();
  cmd->add_option("ID", retire->id, "Cube id")->required();
  cmd->add_option_function<std::string>(
         "--valid-to", [retire](const std::string& v) { retire->valid_to = v; },
         "Valid time the cube stops being valid (default: commit time)")
      ->type_name("TIME");
  AddScopeOption(cmd, &retire->space);
  cmd->add_flag("--no-sync", retire->no_sync,
                "Acknowledge before the write is durable against power loss");
  commands->push_back({cmd, [retire] { return RunRetire(*retire); }});

  auto drop = std::make_shared<DropFieldArgs>();
  cmd = app->add_subcommand(
      "drop-field",
      "Drop a vector field of a space: its vectors are no longer searched or returned, from any "
      "version; put --metric defines the name anew");
  cmd->add_option("DIR", drop->dir, "Database directory")->required();
  cmd->add_option("--space", drop->space, "The space of the field")->required()->type_name("SPACE");
  cmd->add_option("--field", drop->field, "The vector field to drop")
      ->required()
      ->type_name("FIELD");
  commands->push_back({cmd, [drop] { return RunDropField(*drop); }});

  auto checkpoint = std::make_shared<CheckpointArgs>();
  cmd = app->add_subcommand("checkpoint", "Write a checkpoint and drop the WAL it covers");
  cmd->add_option("DIR", checkpoint->dir, "Database directory")->required();
  commands->push_back({cmd, [checkpoint] { return RunCheckpoint(*checkpoint); }});
}

}  // namespace loci::cli
