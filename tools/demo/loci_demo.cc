// loci-demo: the main job. Creates a database in a local directory, stores a short built-in
// conversation (three sessions between a user and her agent, written for this project) as
// episodes of turn cubes, with the facts the agent derived linked to their turns by edges and
// corrected later, then prints the queries an agent asks of its memory: search with trace
// expansion, the episode around a hit, events in a window of valid time, what changed between
// two transaction times, as-of reads and history, and a trace from a fact to its sources.
// `--locomo [FILE]` does the same on LoCoMo's first conversation and one of its questions.
//
// Usage: loci-demo [DIR] [--locomo [FILE]] [--question N]   (DIR default ./demo-db). DIR must
// not exist, be an empty directory, or hold a database an earlier run of the demo created (it is
// replaced); anything else is refused and left as it is: the demo deletes nothing it did not
// create.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "loci/db.h"
#include "tools/bench/locomo_data.h"
#include "tools/demo/demo_common.h"
#include "tools/demo/demo_locomo.h"
#include "tools/demo/demo_story.h"

namespace {

using loci::CubeDraft;
using loci::MemCube;
using loci::ReadOptions;
using loci::Status;
using loci::WriteOptions;
using loci::demo::Check;

// The demo's first cube, in a space of its own: what tells a database it created.
constexpr char kMarkerSpace[] = "loci-demo";
constexpr char kMarkerPayload[] = "created by loci-demo; a later run may replace this database";

// Whether `dir` holds a database whose first cube is the demo's marker.
bool IsDemoDatabase(const std::string& dir) {
  loci::Options options;
  options.read_only = true;
  std::unique_ptr<loci::Db> db;
  if (!loci::Db::Open(options, dir, &db).ok()) return false;
  ReadOptions in_marker_space;
  in_marker_space.space = kMarkerSpace;
  MemCube marker;
  return db->Get(in_marker_space, 1, &marker).ok() && marker.payload == kMarkerPayload;
}

// Makes `dir` ready for a new database: nothing there, an empty directory, or a demo database
// (destroyed). Anything else is refused with a line saying why.
Status PrepareDirectory(const std::string& dir) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::symlink_status(dir, ec);
  if (ec || st.type() == std::filesystem::file_type::not_found) return Status::OK();
  if (st.type() != std::filesystem::file_type::directory) {
    return Status::InvalidArgument(dir + " exists and is not a directory; give a new path");
  }
  if (std::filesystem::is_empty(dir, ec) && !ec) return Status::OK();
  if (!IsDemoDatabase(dir)) {
    return Status::InvalidArgument(
        dir +
        " is not empty and holds no database loci-demo created; "
        "the demo deletes nothing it did not create: give a new or empty directory");
  }
  return loci::DestroyDb(dir);
}

struct Args {
  std::string dir = "demo-db";
  bool locomo = false;
  std::string locomo_file;
  size_t question = 1;
};

// Opens (creating) the database in args.dir and marks it as the demo's.
std::unique_ptr<loci::Db> Create(const Args& args) {
  loci::Options options;
  options.create_if_missing = true;
  std::unique_ptr<loci::Db> db;
  Check(loci::Db::Open(options, args.dir, &db), "open");
  CubeDraft marker;
  marker.space = kMarkerSpace;
  marker.payload = kMarkerPayload;
  Check(db->Put(WriteOptions(), marker).status(), "mark the database as the demo's");
  return db;
}

// Durability: checkpoint, close, reopen, and say what the database holds and how to look.
void Reopen(const Args& args, const std::string& space, std::unique_ptr<loci::Db>* db) {
  Check((*db)->Checkpoint(), "checkpoint");
  db->reset();
  loci::Options options;
  Check(loci::Db::Open(options, args.dir, db), "reopen");
  const loci::DbStats stats = (*db)->Stats();
  std::printf("\nAfter checkpoint + reopen: %llu cubes, %llu versions, %llu spaces in %s\n",
              static_cast<unsigned long long>(stats.cubes),
              static_cast<unsigned long long>(stats.versions),
              static_cast<unsigned long long>(stats.spaces), args.dir.c_str());
  std::printf("Inspect it with the CLI: loci list %s --space %s, loci trace %s ID --hops 2, ...\n",
              args.dir.c_str(), space.c_str(), args.dir.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "loci-demo: stores a short conversation (episodes, derived facts, edges, corrections) in "
      "a new database and shows search with trace expansion, an episode, events in a valid-time "
      "window, changes between two transaction times, as-of reads, history and a trace"};
  Args args;
  app.add_option("DIR", args.dir,
                 "where to create the database: a new path, an empty directory, or a database "
                 "an earlier run created (replaced)");
  CLI::Option* locomo =
      app.add_option("--locomo", args.locomo_file,
                     "run on LoCoMo's first conversation instead; FILE defaults to "
                     "$LOCI_DATA/locomo/locomo10.json (see tools/bench/locomo_data.h). Give DIR "
                     "before it, or FILE too")
          ->expected(0, 1)
          ->type_name("[FILE]");
  app.add_option("--question", args.question, "with --locomo: the question to search for (1-based)")
      ->type_name("N")
      ->needs(locomo);
  CLI11_PARSE(app, argc, argv);
  args.locomo = locomo->count() > 0;
  if (args.locomo && args.locomo_file.empty()) args.locomo_file = loci::bench::DefaultLocomoPath();
  loci::demo::LocomoDemo locomo_demo;
  if (args.locomo) {
    if (Status s = loci::demo::LoadLocomoDemo(args.locomo_file, args.question, &locomo_demo);
        !s.ok()) {
      std::fprintf(stderr, "loci-demo: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (Status s = PrepareDirectory(args.dir); !s.ok()) {
    std::fprintf(stderr, "loci-demo: %s\n", s.message().c_str());
    return 1;
  }
  std::unique_ptr<loci::Db> db = Create(args);
  std::printf("Loci demo: database in %s\n\n", args.dir.c_str());
  if (args.locomo) {
    loci::demo::RunLocomo(db.get(), locomo_demo);
  } else {
    loci::demo::RunStory(db.get());
  }
  Reopen(args, args.locomo ? locomo_demo.data.conversations.front().sample_id : "maya", &db);
  return 0;
}
