// Db::Salvage: copies every version that verifies out of a database Open refuses into a new
// database (design.md §4; research/storage_reliability.md §1.8e: like sqlite's .recover and
// RocksDB's `ldb repair`, but never in place).
//
// In five steps, each in a file of its own:
//  1. gather (salvage_scan.h): read every file of the source, strictly read-only, keeping
//     every superblock copy, checkpoint entry and WAL record that verifies, and noting the
//     damage with what it still appears to hold;
//  2. catalog (salvage_catalog.h): merge what the sources say of spaces and fields, and
//     number them afresh for the new database;
//  3. select (salvage_select.h): merge the copies of each version, leave out what cannot be
//     copied faithfully;
//  4. copy blobs (salvage_blobs.h): a version goes over only with all its blobs verified;
//  5. write (salvage_writer.h) the new database, account for the losses
//     (salvage_losses.h), and check that the result opens and verifies like any database.
//
// Lost middle versions. Versions are whole (every version carries every field; an update is
// not a delta), so when damage takes version 2 of a cube but not version 3, version 3 is
// still exactly what was committed. It is copied, with its number: cube ids and version
// numbers are what applications keep and what History shows, and renumbering would make the
// new database name versions that never existed (its "version 2" would be the old 3). The
// cost is that version numbers of such a cube skip, which recovery and Verify otherwise
// refuse; the superblock's kVersionGapsFlag records that this database may have gaps, set only
// when it does. The reads are what they would be with the lost versions' valid times simply
// not covered by them: the report names every such loss. (Copying only each cube's unbroken
// prefix of versions would have needed no flag, but would have thrown away the newest state
// of every cube that lost an old version — usually the state the user cares most about.)

#include <algorithm>
#include <map>

#include "engine/record_table.h"
#include "engine/salvage_blobs.h"
#include "engine/salvage_catalog.h"
#include "engine/salvage_losses.h"
#include "engine/salvage_scan.h"
#include "engine/salvage_select.h"
#include "engine/salvage_writer.h"
#include "engine/superblock.h"
#include "loci/db.h"

namespace loci {

namespace {

using engine::FoundVersion;
using engine::Version;

// The most ids the engine reserves ahead of the limit it last recorded (db_open.cc): its
// recovery refuses a new cube whose id is this far above the superblock's cube_id_limit.
constexpr CubeId kMaxIdReservation = CubeId{1} << 20;

// Ids the source could have issued are below this: what its own recovery allows (the
// superblock's limit plus one reservation), or, without a valid superblock copy, the next id
// its checkpoints or seals recorded plus one reservation. A version above it was never written
// by the engine, and copying it would make every walk over ids (Verify, a base checkpoint)
// cover billions of ids. Never above the largest id a database holds.
CubeId IdBound(const engine::SourceFinds& finds) {
  const CubeId base = finds.superblock ? finds.superblock_id_limit : finds.recorded_next_id;
  const CubeId end = engine::RecordTable::kMaxId + 1;
  return base >= end - kMaxIdReservation ? end : base + kMaxIdReservation;
}

// `path` without "." components, repeated or trailing separators (no link or ".." is
// resolved: this only catches the same path written twice, or a subdirectory of it).
std::string Lexical(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(std::move(part));
    start = end + 1;
  }
  std::string out = !path.empty() && path[0] == '/' ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i > 0 ? "/" : "") + parts[i];
  return out;
}

Status CheckPaths(Env* env, const std::string& src, const std::string& dst) {
  if (src.empty() || dst.empty()) {
    return Status::InvalidArgument("salvage needs a source and a destination directory");
  }
  const std::string s = Lexical(src), d = Lexical(dst);
  if (d == s ||
      (d.size() > s.size() && d.compare(0, s.size(), s) == 0 && (d[s.size()] == '/' || s == "/"))) {
    return Status::InvalidArgument(dst + ": inside the source database " + src +
                                   "; salvage writes nothing there");
  }
  return engine::CheckSalvageTarget(env, dst);
}

// The kept versions: those whose blobs all verified, with references to their copies.
Status CopyBlobs(std::vector<FoundVersion> selected, engine::BlobCopier* copier,
                 std::vector<std::unique_ptr<Version>>* kept) {
  for (FoundVersion& f : selected) {
    bool copied = false;
    LOCI_RETURN_IF_ERROR(copier->Copy(f.version.get(), &copied));
    if (copied) kept->push_back(std::move(f.version));
  }
  return Status::OK();
}

// Renumbers the LSNs of `kept` and `edges` 1, 2, 3... in their order (the new log starts
// afresh; what was committed together keeps one LSN). Returns the last.
uint64_t RenumberLsns(const std::vector<std::unique_ptr<Version>>& kept,
                      const std::vector<std::unique_ptr<index::EdgeVersion>>& edges) {
  std::vector<uint64_t> lsns;
  for (const auto& v : kept) lsns.push_back(v->lsn);
  for (const auto& e : edges) lsns.push_back(e->lsn);
  std::sort(lsns.begin(), lsns.end());
  lsns.erase(std::unique(lsns.begin(), lsns.end()), lsns.end());
  auto renumber = [&](uint64_t lsn) {
    return static_cast<uint64_t>(std::lower_bound(lsns.begin(), lsns.end(), lsn) - lsns.begin() +
                                 1);
  };
  for (const auto& v : kept) v->lsn = renumber(v->lsn);
  for (const auto& e : edges) e->lsn = renumber(e->lsn);
  return lsns.size();
}

using CopiedVersions = std::map<CubeId, std::vector<engine::CopiedVersion>>;

// Per cube, the versions kept, ascending (`kept` is in cube and number order), with the LSNs
// the source logged them at.
CopiedVersions ByCube(const std::vector<std::unique_ptr<Version>>& kept) {
  CopiedVersions copied;
  for (const auto& v : kept) copied[v->id].push_back({v->number, v->lsn});
  return copied;
}

bool HasGaps(const CopiedVersions& copied) {
  return std::any_of(copied.begin(), copied.end(), [](const auto& cube) {
    return cube.second.front().number != 1 || cube.second.back().number != cube.second.size();
  });
}

engine::SalvageRoot RootFor(Env* env, const engine::SourceFinds& finds, Timestamp newest_commit,
                            const std::vector<std::unique_ptr<Version>>& kept) {
  engine::SalvageRoot root;
  root.created = finds.superblock ? finds.superblock->created : env->NowMicros();
  root.clock_high_water = std::max(finds.clock_high_water, newest_commit);
  root.next_cube_id = kept.empty() ? 1 : kept.back()->id + 1;
  // New ids of the copy start above every id the source may have issued: its superblock's
  // limit or, without one, the whole bound its ids were checked against.
  const CubeId limit = finds.superblock ? finds.superblock_id_limit : IdBound(finds);
  root.cube_id_limit = std::max(root.next_cube_id, limit);
  return root;
}

// Opens the new database as any reader would and verifies it: salvage must never hand over a
// database that does not open or verify.
Status CheckCopy(const Options& options, const std::string& dst, uint64_t versions) {
  Options read_only = options;
  read_only.create_if_missing = false;
  read_only.error_if_exists = false;
  read_only.read_only = true;
  read_only.recovery_mode = RecoveryMode::kStrictTail;
  std::unique_ptr<Db> db;
  Status s = Db::Open(read_only, dst, &db);
  IntegrityReport integrity;
  if (s.ok()) s = db->Verify(&integrity);
  if (s.ok() && db->Stats().versions != versions) {
    s = Status::Corruption("holds " + std::to_string(db->Stats().versions) + " versions, not " +
                           std::to_string(versions));
  }
  if (s.ok()) return s;
  return Status::Corruption(
      dst + ": the salvaged database does not verify (a bug in salvage): " + s.ToString());
}

}  // namespace

Status Db::Salvage(const Options& options, const std::string& src, const std::string& dst,
                   SalvageReport* report) {
  *report = SalvageReport();
  Env* env = options.env != nullptr ? options.env : Env::Default();
  LOCI_RETURN_IF_ERROR(CheckPaths(env, src, dst));

  engine::SourceFinds finds;
  LOCI_RETURN_IF_ERROR(engine::GatherSource(env, src, &finds));
  if (!finds.read_anything) {
    return Status::Corruption(src +
                              ": nothing in it could be read (no superblock copy, "
                              "checkpoint entry or WAL record verifies)");
  }
  // A purge the source committed holds in the copy too, whatever its files still hold of the
  // cube (a crash may have come before the purge erased them).
  std::erase_if(finds.versions,
                [&](const FoundVersion& f) { return finds.purged.count(f.version->id) != 0; });
  std::erase_if(finds.edges, [&](const engine::FoundEdge& f) {
    return finds.purged.count(f.edge->key.from) != 0 || finds.purged.count(f.edge->key.to) != 0;
  });
  // So does a retention cut: versions a chain-start entry pruned are not copied (older files
  // may still hold them). Not losses: the source had let them go.
  std::erase_if(finds.versions, [&](const FoundVersion& f) {
    auto start = finds.chain_starts.find(f.version->id);
    return start != finds.chain_starts.end() && f.version->number < start->second;
  });
  Timestamp newest_commit = 0;
  for (const FoundVersion& f : finds.versions) {
    newest_commit = std::max(newest_commit, f.version->tx_from);
  }

  engine::Catalog catalog;
  engine::CatalogMap map;
  finds.catalog.Build(&catalog, &map, &finds.notes);
  std::vector<FoundVersion> selected =
      engine::SelectVersions(std::move(finds.versions), map, IdBound(finds), &finds.losses);

  engine::SalvageWriter writer(env, options, dst);
  LOCI_RETURN_IF_ERROR(writer.Create());
  engine::SourceArena source(env, src);
  for (auto& [ref, bytes] : finds.logged_blobs) source.AddLoggedCopy(ref, std::move(bytes));
  engine::BlobCopier copier(&source, writer.arena());
  std::vector<std::unique_ptr<Version>> kept;
  LOCI_RETURN_IF_ERROR(CopyBlobs(std::move(selected), &copier, &kept));
  for (SalvageLoss& loss : copier.TakeLosses()) finds.losses.push_back(std::move(loss));
  if (copier.blobs_from_log() > 0) {
    finds.notes.push_back(
        std::to_string(copier.blobs_from_log()) +
        " blob(s) whose arena copy did not verify were taken from their WAL copies");
  }

  std::vector<std::unique_ptr<index::EdgeVersion>> edges =
      engine::SelectEdges(std::move(finds.edges), map, kept, &finds.notes);
  for (const auto& e : edges) newest_commit = std::max(newest_commit, e->tx_from);
  const CopiedVersions copied = ByCube(kept);  // before the LSNs are renumbered
  engine::SalvageRoot root = RootFor(env, finds, newest_commit, kept);
  root.last_lsn = RenumberLsns(kept, edges);
  report->version_gaps = HasGaps(copied);
  if (report->version_gaps) root.flags |= engine::kVersionGapsFlag;
  std::vector<const Version*> versions;
  for (const auto& v : kept) versions.push_back(v.get());
  std::vector<const index::EdgeVersion*> edge_versions;
  for (const auto& e : edges) edge_versions.push_back(e.get());
  LOCI_RETURN_IF_ERROR(writer.Finish(catalog, versions, edge_versions, root));
  LOCI_RETURN_IF_ERROR(CheckCopy(options, dst, kept.size()));

  engine::AccountLosses(copied, finds.chain_starts, finds.lsn_windows, &finds.losses);
  report->spaces = catalog.spaces().size();
  report->cubes = copied.size();
  report->versions = kept.size();
  report->blobs = copier.blobs();
  report->blob_bytes = copier.blob_bytes();
  report->losses = std::move(finds.losses);
  report->notes = std::move(finds.notes);
  return Status::OK();
}

}  // namespace loci
