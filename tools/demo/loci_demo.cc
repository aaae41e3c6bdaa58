// loci-demo: the main job. Creates a database in a local directory, writes a small built-in
// conversation as MemCubes, updates some of what the agent learned, and prints Get, History and
// as-of results — the bitemporal story of design.md §1 on real API calls.
//
// Usage: loci-demo [DIR]   (default ./demo-db). DIR must not exist, be an empty directory, or
// hold a database an earlier run of the demo created (it is replaced); anything else is refused
// and left as it is: the demo deletes nothing it did not create.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "loci/db.h"

namespace {

using loci::CubeDraft;
using loci::CubeId;
using loci::CubePatch;
using loci::MemCube;
using loci::ReadOptions;
using loci::Status;
using loci::Timestamp;
using loci::WriteOptions;

Timestamp Utc(int year, int month, int day, int hour = 12) {
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  return static_cast<Timestamp>(timegm(&tm)) * 1000000;
}

std::string Date(Timestamp t) {
  if (t == loci::kForever) return "∞";
  std::time_t secs = static_cast<std::time_t>(t / 1000000);
  char buf[48];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", std::gmtime(&secs));
  if (t % 1000000 != 0)
    std::snprintf(buf + n, sizeof(buf) - n, ".%06lld", (long long)(t % 1000000));
  return buf;
}

// A tiny deterministic "embedding" (hashed bag of words), so the demo needs no model.
std::vector<float> Embed(const std::string& text) {
  std::vector<float> v(16, 0.0f);
  size_t h = 1469598103934665603ull;
  for (char c : text) {
    if (c == ' ') {
      v[h % 16] += 1.0f;
      h = 1469598103934665603ull;
    } else {
      h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    }
  }
  v[h % 16] += 1.0f;
  return v;
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "loci-demo: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

struct Turn {
  int year, month, day;
  const char* speaker;
  const char* text;
};

// A conversation spread over weeks, as an agent would remember it.
const Turn kConversation[] = {
    {2023, 5, 8, "user", "I start every morning with a cup of green tea."},
    {2023, 5, 8, "assistant", "Noted: you drink green tea in the morning."},
    {2023, 5, 12, "user", "I live in Paris, near the canal Saint-Martin."},
    {2023, 5, 12, "assistant", "Paris, canal Saint-Martin. Got it."},
    {2023, 5, 20, "user", "My sister Ana is visiting next month."},
    {2023, 6, 1, "user", "New job, new habits: I switched to black coffee."},
    {2023, 6, 1, "assistant", "Switching your morning drink to black coffee."},
    {2023, 6, 15, "user", "We are moving to Lyon in July."},
    {2023, 7, 2, "user", "Ana's visit is cancelled, sadly."},
};

}  // namespace

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

int main(int argc, char** argv) {
  CLI::App app{
      "loci-demo: stores a short conversation as MemCubes in a new database and shows "
      "Get, History and as-of reads"};
  std::string dir = "demo-db";
  app.add_option("DIR", dir,
                 "where to create the database: a new path, an empty directory, or a database "
                 "an earlier run created (replaced)");
  CLI11_PARSE(app, argc, argv);
  if (Status s = PrepareDirectory(dir); !s.ok()) {
    std::fprintf(stderr, "loci-demo: %s\n", s.message().c_str());
    return 1;
  }

  loci::Options options;
  options.create_if_missing = true;
  std::unique_ptr<loci::Db> db;
  Check(loci::Db::Open(options, dir, &db), "open");
  CubeDraft marker;
  marker.space = kMarkerSpace;
  marker.payload = kMarkerPayload;
  Check(db->Put(WriteOptions(), marker).status(), "mark the database as the demo's");
  std::printf("Loci demo: database in %s\n\n", dir.c_str());

  // 1. The conversation, one episodic cube per turn, in one atomic batch.
  loci::WriteBatch turns;
  for (const Turn& t : kConversation) {
    CubeDraft d;
    d.space = "alice";
    d.payload = t.text;
    d.vectors = {{"bow-16", Embed(t.text)}};
    d.attrs = {{"speaker", std::string(t.speaker)}, {"session", std::string("chat-2023")}};
    d.source = "chat-2023";
    d.valid_from = Utc(t.year, t.month, t.day);
    turns.Put(d);
  }
  loci::WriteResult turn_ids;
  Check(db->Write(WriteOptions(), turns, &turn_ids), "write conversation");
  std::printf("Stored %zu conversation turns as cubes %llu..%llu\n", turn_ids.ops.size(),
              static_cast<unsigned long long>(turn_ids.ops.front().id),
              static_cast<unsigned long long>(turn_ids.ops.back().id));

  // 2. Facts the agent derived, each with its provenance.
  auto fact = [&](const char* text, Timestamp valid_from, CubeId from_turn) {
    CubeDraft d;
    d.space = "alice";
    d.payload = text;
    d.vectors = {{"bow-16", Embed(text)}};
    d.attrs = {{"type", std::string("fact")}};
    d.source = "derived";
    d.parents = {from_turn};
    d.importance = 0.8f;
    d.valid_from = valid_from;
    loci::Result<CubeId> id = db->Put(WriteOptions(), d);
    Check(id.status(), "put fact");
    return *id;
  };
  const CubeId drink =
      fact("Alice drinks green tea in the morning", Utc(2023, 5, 8), turn_ids.ops[0].id);
  const CubeId home = fact("Alice lives in Paris", Utc(2023, 5, 12), turn_ids.ops[2].id);
  const CubeId visit = fact("Ana visits Alice in June", Utc(2023, 5, 20), turn_ids.ops[4].id);
  std::printf("Derived facts: drink=%llu home=%llu visit=%llu\n\n",
              static_cast<unsigned long long>(drink), static_cast<unsigned long long>(home),
              static_cast<unsigned long long>(visit));

  // 3. Time passes; the agent learns things that change what is true.
  const Timestamp before_updates = db->Now();
  CubePatch coffee;
  coffee.payload = "Alice drinks black coffee in the morning";
  coffee.set_vectors = {{"bow-16", Embed(*coffee.payload)}};
  coffee.parents = std::vector<CubeId>{turn_ids.ops[5].id};
  coffee.valid_from = Utc(2023, 6, 1);
  loci::Result<uint32_t> v = db->Update(WriteOptions(), drink, coffee);
  Check(v.status(), "update drink");
  std::printf("Update drink -> version %u (valid from %s)\n", *v, Date(Utc(2023, 6, 1)).c_str());

  CubePatch lyon;
  lyon.payload = "Alice lives in Lyon";
  lyon.valid_from = Utc(2023, 7, 1);
  v = db->Update(WriteOptions(), home, lyon);
  Check(v.status(), "update home");
  std::printf("Update home  -> version %u (valid from %s)\n", *v, Date(Utc(2023, 7, 1)).c_str());

  Check(db->Retire(WriteOptions(), visit, Utc(2023, 7, 2)), "retire visit");
  std::printf("Retire visit (valid until %s)\n\n", Date(Utc(2023, 7, 2)).c_str());

  // 4. What does the agent know — now, at other valid times, and as it believed before?
  auto show = [&](const char* label, CubeId id, ReadOptions ro) {
    MemCube c;
    Status s = db->Get(ro, id, &c);
    if (s.ok()) {
      std::printf("  %-44s v%u  %s\n", label, c.version, c.payload.c_str());
    } else {
      std::printf("  %-44s --  (%s)\n", label, s.message().c_str());
    }
  };
  ReadOptions now, may20, before, before_july;
  may20.valid_at = Utc(2023, 5, 20);
  before.as_of = before_updates;
  before_july.as_of = before_updates;
  before_july.valid_at = Utc(2023, 7, 1);
  std::printf("Get:\n");
  show("drink, now", drink, now);
  show("drink, valid on 2023-05-20", drink, may20);
  show("drink, as believed before the updates", drink, before);
  show("drink, before the updates, valid 2023-07-01", drink, before_july);
  show("home, now", home, now);
  show("home, valid on 2023-05-20", home, may20);
  show("visit, now", visit, now);
  show("visit, valid on 2023-05-20", visit, may20);

  std::printf("\nHistory of drink (cube %llu):\n", static_cast<unsigned long long>(drink));
  std::vector<MemCube> history;
  Check(db->History(ReadOptions(), drink, &history), "history");
  for (const MemCube& c : history) {
    std::printf("  v%u  valid [%s, %s)  committed [%s, %s)  %s\n", c.version,
                Date(c.valid_from).c_str(), Date(c.valid_to).c_str(), Date(c.tx_from).c_str(),
                Date(c.tx_to).c_str(), c.payload.c_str());
  }

  // 5. Durability: checkpoint, close, reopen, and read the same answers back.
  Check(db->Checkpoint(), "checkpoint");
  db.reset();
  Check(loci::Db::Open(options, dir, &db), "reopen");
  std::printf("\nAfter checkpoint + reopen:\n");
  show("drink, now", drink, now);
  show("drink, as believed before the updates", drink, before);
  loci::DbStats stats = db->Stats();
  std::printf("\n%llu cubes, %llu versions, %llu spaces; WAL via %s\n",
              static_cast<unsigned long long>(stats.cubes),
              static_cast<unsigned long long>(stats.versions),
              static_cast<unsigned long long>(stats.spaces),
              stats.io_uring ? "io_uring" : "pwrite+fdatasync");
  std::printf("Inspect it with: build/release/tools/loci/loci history %s %llu --json\n",
              dir.c_str(), static_cast<unsigned long long>(drink));
  return 0;
}
