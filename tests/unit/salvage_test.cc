// Db::Salvage (issue 13): a healthy database salvages to an identical one; for every flipped
// byte of every file of a small database, salvage completes, the copy opens and verifies,
// holds nothing but versions identical to the original's, and the report names a loss
// whenever a version is missing; lost middle versions keep the later ones (with a gap); the
// source is never modified; bad arguments are refused.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "common/file_names.h"
#include "common/hash.h"
#include "engine/superblock.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"
#include "wal/format.h"
#include "wal/segment_scan.h"

namespace loci {
namespace {

using test::Contains;
using test::Utc;

const std::string kSrc = "/src";
const std::string kDst = "/dst";

using VersionKey = std::pair<CubeId, uint32_t>;

// Every stored field of a version, as text (tx_to aside: it is derived from the versions that
// follow, and changes when one of them is lost).
std::string Render(const MemCube& c) {
  std::string out = std::to_string(c.id) + "v" + std::to_string(c.version) + " " + c.space +
                    " kind " + std::to_string(c.kind) + " state " + CubeStateName(c.state) +
                    " valid [" + std::to_string(c.valid_from) + "," + std::to_string(c.valid_to) +
                    ") tx " + std::to_string(c.tx_from) + " payload '" + c.payload + "' source '" +
                    c.source + "' agent '" + c.agent + "' importance " +
                    std::to_string(c.importance) + " trust " + std::to_string(c.trust) +
                    " expires " + (c.expires_at ? std::to_string(*c.expires_at) : "-");
  for (const NamedVector& v : c.vectors) {
    out += " vector " + v.field + "=" +
           std::string(reinterpret_cast<const char*>(v.values.data()),
                       v.values.size() * sizeof(float));
  }
  for (const Attr& a : c.attrs) out += " attr " + a.key + "#" + std::to_string(a.value.index());
  for (CubeId p : c.parents) out += " parent " + std::to_string(p);
  return out;
}

// Every version of every cube with an id below `end`, by id and number.
std::map<VersionKey, std::string> AllVersions(Db* db, CubeId end) {
  std::map<VersionKey, std::string> all;
  for (CubeId id = 1; id < end; ++id) {
    std::vector<MemCube> history;
    if (!db->History(ReadOptions(), id, &history).ok()) continue;
    for (const MemCube& c : history) all[{c.id, c.version}] = Render(c);
  }
  return all;
}

std::vector<float> Vec(float a) { return {a, 1 - a, 0.5f, 0.25f}; }

class SalvageTest : public ::testing::Test {
 protected:
  SalvageTest() : env_(NewMemEnv()) {}

  Options DbOptions() {
    Options o;
    o.env = env_.get();
    o.create_if_missing = true;
    o.checkpoint_wal_bytes = 0;  // checkpoints only where a test takes them
    o.deterministic_io = true;
    o.arena_generation_bytes = 1 << 20;  // the address range each open reserves
    o.wal_segment_bytes = 64 << 10;      // and the zeros each new segment is given
    return o;
  }
  void OpenSrc() { ASSERT_TRUE(Db::Open(DbOptions(), kSrc, &db_).ok()); }
  CubeId Put(CubeDraft draft) {
    Result<CubeId> id = db_->Put(WriteOptions(), draft);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  void Update(CubeId id, const CubePatch& patch) {
    Result<uint32_t> v = db_->Update(WriteOptions(), id, patch);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
  }
  void Retire(CubeId id) { ASSERT_TRUE(db_->Retire(WriteOptions(), id).ok()); }
  void Write(const WriteBatch& batch, WriteResult* result = nullptr) {
    Status s = db_->Write(WriteOptions(), batch, result);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A small database of every kind of write: puts, updates, retires, batches, vectors, a
  // dropped field, two spaces; a base checkpoint, a delta after it, and WAL after both.
  void BuildSmallDatabase() {
    OpenSrc();
    const CubeId a = Put({.space = "alice",
                          .payload = "likes green tea",
                          .vectors = {{"e", Vec(0.1f)}},
                          .attrs = {{"topic", std::string("drinks")}},
                          .source = "chat:1",
                          .agent = "a1",
                          .valid_from = Utc(2023, 5, 8)});
    const CubeId b = Put({.space = "alice",
                          .payload = "walks daily",
                          .vectors = {{"e", Vec(0.2f)}, {"old", {1.0f, 2.0f}}},
                          .attrs = {{"n", int64_t{3}}}});
    const CubeId c = Put({.space = "bob", .payload = "bob's note", .importance = 0.5f});
    const CubeId d = Put({.space = "alice", .payload = "derived", .parents = {a}});
    Update(a, CubePatch{.payload = "likes black coffee", .valid_from = Utc(2023, 6, 1)});
    Update(b, CubePatch{.set_attrs = {{"n", int64_t{4}}}});
    Retire(c);
    WriteBatch batch;
    batch.Put({.space = "alice", .payload = "from a batch", .vectors = {{"e", Vec(0.4f)}}});
    batch.Update(d, CubePatch{.payload = "derived, revised"});
    batch.DropVectorField("alice", "old");
    Write(batch);
    ASSERT_TRUE(db_->Checkpoint().ok());  // the base

    Update(a, CubePatch{.set_vectors = {{"e", Vec(0.3f)}}});
    Put({.space = "bob", .payload = "second bob", .trust = 0.5f});
    Update(d, CubePatch{.importance = 0.9f});
    ASSERT_TRUE(db_->Checkpoint().ok());  // a delta

    Update(a, CubePatch{.payload = "likes matcha"});
    const CubeId g =
        Put({.space = "alice", .payload = "after the checkpoint", .vectors = {{"e", Vec(0.6f)}}});
    Retire(b);
    WriteBatch last;
    last.Update(g, CubePatch{.payload = "after, revised"});
    last.Put({.space = "bob", .payload = "last put", .source = "s"});
    Write(last);
    end_id_ = db_->Stats().cubes + 2;
    pristine_ = AllVersions(db_.get(), end_id_);
    db_.reset();
    int checkpoints = 0, segments = 0;
    for (const std::string& name : SrcFiles()) {
      uint64_t n;
      checkpoints += ParseCheckpointFileName(name, &n);
      segments += ParseWalSegmentFileName(name, &n);
    }
    ASSERT_EQ(checkpoints, 2);  // the base and the delta
    ASSERT_GE(segments, 1);
  }

  Status Salvage(SalvageReport* report, const std::string& dst = kDst) {
    return Db::Salvage(DbOptions(), kSrc, dst, report);
  }
  std::unique_ptr<Db> OpenDst(bool read_only = true) {
    Options o = DbOptions();
    o.create_if_missing = false;
    o.read_only = read_only;
    std::unique_ptr<Db> db;
    Status s = Db::Open(o, kDst, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return db;
  }
  void RemoveDst() {
    std::vector<std::string> names;
    ASSERT_TRUE(env_->GetChildren(kDst, &names).ok());
    for (const std::string& name : names) ASSERT_TRUE(env_->RemoveFile(kDst + "/" + name).ok());
  }
  std::vector<std::string> SrcFiles() {
    std::vector<std::string> names;
    EXPECT_TRUE(env_->GetChildren(kSrc, &names).ok());
    std::sort(names.begin(), names.end());
    return names;
  }
  // Every file of the source with a hash of its contents.
  std::map<std::string, uint64_t> SrcHashes() {
    std::map<std::string, uint64_t> hashes;
    for (const std::string& name : SrcFiles()) {
      hashes[name] = Hash64(test::ReadWholeFile(env_.get(), kSrc + "/" + name), 0);
    }
    return hashes;
  }
  void CreateFile(const std::string& path, const std::string& bytes) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kCreateNew, &f).ok()) << path;
    ASSERT_TRUE(f->Write(0, bytes).ok());
  }
  void WriteAt(const std::string& path, uint64_t offset, const std::string& bytes) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kOpenExisting, &f).ok());
    ASSERT_TRUE(f->Write(offset, bytes).ok());
  }
  void FlipBit(const std::string& path, uint64_t offset, int bit) {
    const std::string image = test::ReadWholeFile(env_.get(), path);
    ASSERT_LT(offset, image.size());
    WriteAt(path, offset, std::string(1, static_cast<char>(image[offset] ^ (1 << bit))));
  }
  // The batch records of WAL segment `n` of the source.
  std::vector<wal::ScannedRecord> BatchRecords(uint64_t n, std::string* image) {
    const std::string path = kSrc + "/" + WalSegmentFileName(n);
    *image = test::ReadWholeFile(env_.get(), path);
    wal::SegmentScan scan;
    EXPECT_TRUE(wal::ScanSegment(*image, path, &scan).ok());
    std::vector<wal::ScannedRecord> batches;
    for (const wal::ScannedRecord& r : scan.records) {
      if (r.type == wal::kBatchRecord) batches.push_back(r);
    }
    return batches;
  }
  uint64_t LastSegment() {
    uint64_t last = 0;
    for (const std::string& name : SrcFiles()) {
      uint64_t n;
      if (ParseWalSegmentFileName(name, &n)) last = std::max(last, n);
    }
    return last;
  }

  std::unique_ptr<Env> env_;
  std::unique_ptr<Db> db_;
  CubeId end_id_ = 0;
  std::map<VersionKey, std::string> pristine_;
};

// Whether a loss names version `version` of cube `id` (for certain, if `certain_only`; with
// the damaged file, if `with_file`).
bool Names(const SalvageReport& report, CubeId id, uint32_t version, bool certain_only,
           bool with_file = false) {
  for (const SalvageLoss& loss : report.losses) {
    if (with_file && loss.file.empty()) continue;
    for (const LostVersion& v : loss.versions) {
      if (v.id == id && v.version == version && (v.certain || !certain_only)) return true;
    }
  }
  return false;
}

// A loss that does not say what it held, or only guesses: what a version missing from the copy
// may have been lost to when no loss names it.
bool HasVagueLoss(const SalvageReport& report) {
  for (const SalvageLoss& loss : report.losses) {
    if (loss.versions.empty()) return true;
    bool all_uncertain = true;
    for (const LostVersion& v : loss.versions) all_uncertain &= !v.certain;
    if (all_uncertain) return true;
  }
  return false;
}

std::string ReportText(const SalvageReport& report) {
  std::string out;
  for (const SalvageLoss& loss : report.losses) {
    out += "loss: " + loss.file + " @" + std::to_string(loss.offset) + " +" +
           std::to_string(loss.length) + " " + loss.what;
    for (const LostVersion& v : loss.versions) {
      out += " " + std::to_string(v.id) + "v" + std::to_string(v.version) + (v.certain ? "" : "?");
    }
    out += "\n";
  }
  for (const std::string& note : report.notes) out += "note: " + note + "\n";
  return out;
}

// 1. A healthy database salvages to an identical one.
TEST_F(SalvageTest, AHealthyDatabaseSalvagesToAnIdenticalOne) {
  BuildSmallDatabase();
  SalvageReport report;
  Status s = Salvage(&report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(report.losses.empty()) << ReportText(report);
  EXPECT_TRUE(report.notes.empty()) << ReportText(report);
  EXPECT_FALSE(report.version_gaps);
  EXPECT_EQ(report.versions, pristine_.size());
  EXPECT_EQ(report.spaces, 2u);

  std::unique_ptr<Db> dst = OpenDst();
  ASSERT_NE(dst, nullptr);
  IntegrityReport integrity;
  EXPECT_TRUE(dst->Verify(&integrity).ok());
  EXPECT_EQ(AllVersions(dst.get(), end_id_), pristine_);

  // tx_to too, every read point, and Search answer the same.
  Options o = DbOptions();
  o.read_only = true;
  std::unique_ptr<Db> src;
  ASSERT_TRUE(Db::Open(o, kSrc, &src).ok());
  EXPECT_EQ(dst->Stats().cubes, src->Stats().cubes);
  for (CubeId id = 1; id < end_id_; ++id) {
    std::vector<MemCube> a, b;
    ASSERT_EQ(src->History(ReadOptions(), id, &a).ok(), dst->History(ReadOptions(), id, &b).ok());
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].tx_to, b[i].tx_to) << id;
    for (const Timestamp at : {Utc(2023, 5, 20), Utc(2023, 7, 1), src->Now()}) {
      ReadOptions read;
      read.valid_at = at;
      MemCube x, y;
      Status sx = src->Get(read, id, &x), sy = dst->Get(read, id, &y);
      ASSERT_EQ(sx.code(), sy.code()) << id;
      if (sx.ok()) {
        EXPECT_EQ(Render(x), Render(y));
      }
    }
  }
  SearchRequest request;
  request.spaces = {"alice"};
  request.field = "e";
  request.query = Vec(0.35f);
  std::vector<SearchHit> a, b;
  ASSERT_TRUE(src->Search(request, &a).ok());
  ASSERT_TRUE(dst->Search(request, &b).ok());
  EXPECT_FALSE(a.empty());
  EXPECT_EQ(test::HitsLine(a), test::HitsLine(b));

  // The copy is a database like any other: writable, new ids above every old one.
  dst.reset();
  dst = OpenDst(/*read_only=*/false);
  Result<CubeId> id = dst->Put(WriteOptions(), CubeDraft{.space = "alice", .payload = "new"});
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_GE(*id, end_id_);
  Status checkpointed = dst->Checkpoint();
  EXPECT_TRUE(checkpointed.ok()) << checkpointed.ToString();
}

// 2. The bit-flip sweep: every non-zero byte of every file (and a sample of the zeros).
TEST_F(SalvageTest, BitFlipSweep) {
  BuildSmallDatabase();
  const auto start = std::chrono::steady_clock::now();
  uint64_t flips = 0, versions_copied = 0, losses = 0, flips_losing = 0, missing = 0, named = 0,
           named_certain = 0, named_with_file = 0;
  for (const std::string& name : SrcFiles()) {
    const std::string path = kSrc + "/" + name;
    const std::string image = test::ReadWholeFile(env_.get(), path);
    for (uint64_t offset = 0; offset < image.size(); ++offset) {
      if (image[offset] == 0 && offset % 509 != 0) continue;
      const int bit = static_cast<int>(offset % 8);
      const std::string where =
          name + " offset " + std::to_string(offset) + " bit " + std::to_string(bit);
      FlipBit(path, offset, bit);
      SalvageReport report;
      Status s = Salvage(&report);
      ASSERT_TRUE(s.ok()) << where << ": " << s.ToString();
      std::unique_ptr<Db> dst = OpenDst();
      ASSERT_NE(dst, nullptr) << where;
      IntegrityReport integrity;
      ASSERT_TRUE(dst->Verify(&integrity).ok()) << where;
      const std::map<VersionKey, std::string> copied = AllVersions(dst.get(), end_id_);
      ASSERT_EQ(copied.size(), dst->Stats().versions) << where << ": ids outside the original's";
      for (const auto& [key, text] : copied) {
        auto original = pristine_.find(key);
        ASSERT_NE(original, pristine_.end()) << where << ": invented " << text;
        ASSERT_EQ(text, original->second) << where;
      }
      for (const auto& [key, text] : pristine_) {
        if (copied.count(key) != 0) continue;
        ++missing;
        const bool is_named = Names(report, key.first, key.second, /*certain_only=*/false);
        named += is_named;
        named_certain += Names(report, key.first, key.second, /*certain_only=*/true);
        named_with_file += Names(report, key.first, key.second, false, /*with_file=*/true);
        ASSERT_TRUE(is_named || HasVagueLoss(report))
            << where << ": cube " << key.first << " version " << key.second
            << " is missing and no loss accounts for it\n"
            << ReportText(report);
      }
      ++flips;
      versions_copied += copied.size();
      losses += report.losses.size();
      flips_losing += copied.size() < pristine_.size();
      dst.reset();
      RemoveDst();
      FlipBit(path, offset, bit);  // and back
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf(
      "bit-flip sweep: %llu flips in %.1f s; versions copied %.2f of %zu on average; %llu flips "
      "lost versions; %llu losses reported; %llu versions missing, %llu named by a loss (%llu "
      "for certain, %llu with the damaged file)\n",
      static_cast<unsigned long long>(flips), seconds,
      static_cast<double>(versions_copied) / static_cast<double>(flips), pristine_.size(),
      static_cast<unsigned long long>(flips_losing), static_cast<unsigned long long>(losses),
      static_cast<unsigned long long>(missing), static_cast<unsigned long long>(named),
      static_cast<unsigned long long>(named_certain),
      static_cast<unsigned long long>(named_with_file));
  EXPECT_GT(flips, 1000u);
}

// A lost middle version: the later ones are copied with their numbers, the gap is recorded,
// and the copy goes on working as a database.
TEST_F(SalvageTest, ALostMiddleVersionKeepsTheLaterOnes) {
  OpenSrc();
  const CubeId x = Put({.space = "s", .payload = "one"});
  const CubeId y = Put({.space = "s", .payload = "other"});
  ASSERT_TRUE(db_->Checkpoint().ok());
  Update(x, CubePatch{.payload = "two"});
  Update(x, CubePatch{.payload = "three"});
  db_.reset();
  std::string image;
  const std::vector<wal::ScannedRecord> batches = BatchRecords(LastSegment(), &image);
  ASSERT_EQ(batches.size(), 2u);
  const std::string segment = kSrc + "/" + WalSegmentFileName(LastSegment());
  FlipBit(segment, batches[0].offset + wal::kRecordHeaderSize + 5, 2);

  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_TRUE(report.version_gaps);
  EXPECT_EQ(report.versions, 3u);
  ASSERT_EQ(report.losses.size(), 1u) << ReportText(report);
  const SalvageLoss& loss = report.losses[0];
  EXPECT_EQ(loss.file, segment);
  EXPECT_EQ(loss.offset, batches[0].offset);
  ASSERT_EQ(loss.versions.size(), 1u);
  EXPECT_EQ(loss.versions[0], (LostVersion{x, 2, loss.versions[0].committed, true}));
  EXPECT_TRUE(loss.versions[0].committed.has_value());

  std::unique_ptr<Db> dst = OpenDst(/*read_only=*/false);
  std::vector<MemCube> history;
  ASSERT_TRUE(dst->History(ReadOptions(), x, &history).ok());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version, 1u);
  EXPECT_EQ(history[1].version, 3u);
  EXPECT_EQ(history[1].payload, "three");
  Result<uint32_t> next = dst->Update(WriteOptions(), x, CubePatch{.payload = "four"});
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(*next, 4u);
  ASSERT_TRUE(dst->Checkpoint().ok());
  dst.reset();
  dst = OpenDst();
  IntegrityReport integrity;
  EXPECT_TRUE(dst->Verify(&integrity).ok());
  MemCube cube;
  ASSERT_TRUE(dst->Get(ReadOptions(), y, &cube).ok());
  EXPECT_EQ(cube.payload, "other");
  dst.reset();
  // The flag survives the checkpoint that rewrote the superblock.
  engine::Superblock sb;
  ASSERT_TRUE(engine::ReadSuperblock(env_.get(), kDst + "/SUPERBLOCK", &sb).ok());
  EXPECT_NE(sb.flags & engine::kVersionGapsFlag, 0u);
}

// A cube whose first version is lost begins at its first surviving one, even when cubes with
// higher ids began before it did.
// Damage to the blob copy a WAL batch carries (most of a record's bytes): the record is lost,
// and the report still says what it held, read from the intact part before the copies.
TEST_F(SalvageTest, DamageInALoggedBlobCopyStillNamesTheVersion) {
  OpenSrc();
  const CubeId x = Put({.space = "s", .payload = "one"});
  Update(x, CubePatch{.payload = "a payload long enough to be hit: 0123456789"});
  db_.reset();
  std::string image;
  const std::vector<wal::ScannedRecord> batches = BatchRecords(LastSegment(), &image);
  ASSERT_EQ(batches.size(), 2u);
  const size_t at = image.find("long enough to be hit", batches[1].offset);
  ASSERT_NE(at, std::string::npos);
  const std::string segment = kSrc + "/" + WalSegmentFileName(LastSegment());
  FlipBit(segment, at, 3);

  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  ASSERT_EQ(report.losses.size(), 1u) << ReportText(report);
  EXPECT_EQ(report.losses[0].offset, batches[1].offset);
  EXPECT_TRUE(Names(report, x, 2, /*certain_only=*/false)) << ReportText(report);
  EXPECT_EQ(report.versions, 1u);
}

TEST_F(SalvageTest, ACubeMayBeginAboveVersionOne) {
  OpenSrc();
  Put({.space = "s", .payload = "creates the space"});
  const CubeId x = Put({.space = "s", .payload = "x1"});
  const CubeId y = Put({.space = "s", .payload = "y1"});
  Update(x, CubePatch{.payload = "x2"});
  db_.reset();
  std::string image;
  const std::vector<wal::ScannedRecord> batches = BatchRecords(LastSegment(), &image);
  ASSERT_EQ(batches.size(), 4u);
  FlipBit(kSrc + "/" + WalSegmentFileName(LastSegment()), batches[1].offset + 20, 0);
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_TRUE(Names(report, x, 1, /*certain_only=*/true)) << ReportText(report);
  std::unique_ptr<Db> dst = OpenDst();
  std::vector<MemCube> history;
  ASSERT_TRUE(dst->History(ReadOptions(), x, &history).ok());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, 2u);
  MemCube cube;
  ASSERT_TRUE(dst->Get(ReadOptions(), y, &cube).ok());
  EXPECT_EQ(cube.payload, "y1");
}

// The record that created a space is lost: the versions of that space cannot be copied (their
// space has no name), and the report says so for each.
TEST_F(SalvageTest, VersionsOfASpaceWhoseCreationWasLostAreReported) {
  OpenSrc();
  const CubeId x = Put({.space = "s", .payload = "x1"});
  Update(x, CubePatch{.payload = "x2"});
  db_.reset();
  std::string image;
  const std::vector<wal::ScannedRecord> batches = BatchRecords(LastSegment(), &image);
  ASSERT_EQ(batches.size(), 2u);
  FlipBit(kSrc + "/" + WalSegmentFileName(LastSegment()), batches[0].offset + 20, 0);
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_EQ(report.versions, 0u);
  EXPECT_TRUE(Names(report, x, 2, /*certain_only=*/true)) << ReportText(report);
  bool said_why = false;
  for (const SalvageLoss& loss : report.losses) said_why |= Contains(loss.what, "space (id 1)");
  EXPECT_TRUE(said_why) << ReportText(report);
}

// A blob that fails its checksum costs every version that shares it, named with the arena
// file and the frame's offset; versions with intact blobs are copied.
TEST_F(SalvageTest, ADamagedBlobLosesTheVersionsThatShareIt) {
  Options o = DbOptions();
  o.max_logged_blob_bytes = 0;  // no copy in the WAL: the arena's is the only one
  ASSERT_TRUE(Db::Open(o, kSrc, &db_).ok());
  const CubeId x = Put({.space = "s", .payload = "payload-marker-0123456789"});
  Update(x, CubePatch{.set_attrs = {{"k", true}}});  // shares the payload blob
  Update(x, CubePatch{.payload = "new payload"});
  db_.reset();
  const std::string arena = kSrc + "/" + ArenaGenerationFileName(1);
  const std::string bytes = test::ReadWholeFile(env_.get(), arena);
  const size_t at = bytes.find("payload-marker");
  ASSERT_NE(at, std::string::npos);
  FlipBit(arena, at + 3, 1);
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  ASSERT_EQ(report.losses.size(), 1u) << ReportText(report);
  EXPECT_EQ(report.losses[0].file, arena);
  EXPECT_EQ(report.losses[0].offset, at - 24);  // the frame header precedes the payload
  EXPECT_TRUE(Contains(report.losses[0].what, "checksum")) << report.losses[0].what;
  EXPECT_TRUE(Names(report, x, 1, true) && Names(report, x, 2, true)) << ReportText(report);
  std::unique_ptr<Db> dst = OpenDst();
  std::vector<MemCube> history;
  ASSERT_TRUE(dst->History(ReadOptions(), x, &history).ok());
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0].version, 3u);
  EXPECT_EQ(history[0].payload, "new payload");
}

// A blob small enough to travel in its WAL batch: when the arena's copy does not verify (as
// after a power loss that kept the WAL but not the unsynced arena write), the logged copy
// saves every version that shares it.
TEST_F(SalvageTest, ADamagedBlobWithAWalCopyIsTakenFromTheWal) {
  OpenSrc();
  const CubeId x = Put({.space = "s", .payload = "payload-marker-0123456789"});
  Update(x, CubePatch{.set_attrs = {{"k", true}}});  // shares the payload blob
  db_.reset();
  const std::string arena = kSrc + "/" + ArenaGenerationFileName(1);
  const std::string bytes = test::ReadWholeFile(env_.get(), arena);
  const size_t at = bytes.find("payload-marker");
  ASSERT_NE(at, std::string::npos);
  FlipBit(arena, at + 3, 1);
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_TRUE(report.losses.empty()) << ReportText(report);
  bool noted = false;
  for (const std::string& note : report.notes) noted |= Contains(note, "1 blob(s)");
  EXPECT_TRUE(noted) << ReportText(report);
  std::unique_ptr<Db> dst = OpenDst();
  std::vector<MemCube> history;
  ASSERT_TRUE(dst->History(ReadOptions(), x, &history).ok());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].payload, "payload-marker-0123456789");
  EXPECT_EQ(history[1].payload, "payload-marker-0123456789");
}

// The note counts the logged copies salvage copied, not the ones it read: a version whose payload
// comes from its WAL copy but whose vector (not logged) is damaged is lost, and so is the copy
// it read.
TEST_F(SalvageTest, ALoggedCopyOfALostVersionIsNotCountedAsTaken) {
  Options o = DbOptions();
  o.max_logged_blob_bytes = 24;  // the payload travels in the WAL, the 8-d vector does not
  ASSERT_TRUE(Db::Open(o, kSrc, &db_).ok());
  const std::vector<float> vec = {0.5f, 1, 2, 3, 4, 5, 6, 7};
  const CubeId x = Put({.space = "s", .payload = "logged-marker", .vectors = {{"e", vec}}});
  db_.reset();
  const std::string arena = kSrc + "/" + ArenaGenerationFileName(1);
  const std::string bytes = test::ReadWholeFile(env_.get(), arena);
  const size_t payload_at = bytes.find("logged-marker");
  const size_t vector_at =
      bytes.find(std::string(reinterpret_cast<const char*>(vec.data()), vec.size() * 4));
  ASSERT_NE(payload_at, std::string::npos);
  ASSERT_NE(vector_at, std::string::npos);
  FlipBit(arena, payload_at + 2, 1);
  FlipBit(arena, vector_at + 5, 1);
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_TRUE(Names(report, x, 1, /*certain_only=*/true)) << ReportText(report);
  for (const std::string& note : report.notes) {
    EXPECT_FALSE(Contains(note, "from their WAL copies")) << ReportText(report);
  }
  EXPECT_EQ(report.versions, 0u);
}

// Both superblock copies damaged: the files are found by name, and new ids start far above
// every id the source may have issued.
TEST_F(SalvageTest, WithoutAnySuperblockCopy) {
  BuildSmallDatabase();
  WriteAt(kSrc + "/SUPERBLOCK", 0, "XXXX");
  WriteAt(kSrc + "/SUPERBLOCK", engine::kSuperblockSlotSize, "XXXX");
  SalvageReport report;
  Status s = Salvage(&report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(report.versions, pristine_.size()) << ReportText(report);
  EXPECT_TRUE(report.losses.empty()) << ReportText(report);
  ASSERT_EQ(report.notes.size(), 2u) << ReportText(report);
  EXPECT_TRUE(Contains(report.notes[1], "no copy is valid")) << report.notes[1];
  std::unique_ptr<Db> dst = OpenDst(/*read_only=*/false);
  EXPECT_EQ(AllVersions(dst.get(), end_id_), pristine_);
  Result<CubeId> id = dst->Put(WriteOptions(), CubeDraft{.space = "s", .payload = "p"});
  ASSERT_TRUE(id.ok());
  EXPECT_GE(*id, end_id_ + (1u << 20) - 2);
}

// A flipped bit in a segment header's salt: the records verify under the salt corrected by
// one bit, and nothing is lost.
TEST_F(SalvageTest, ASegmentHeaderWithADamagedSaltStillYieldsItsRecords) {
  BuildSmallDatabase();
  FlipBit(kSrc + "/" + WalSegmentFileName(LastSegment()), 43, 5);  // salt: bytes 40..47
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_TRUE(report.losses.empty()) << ReportText(report);
  ASSERT_EQ(report.notes.size(), 1u) << ReportText(report);
  EXPECT_TRUE(Contains(report.notes[0], "corrected by one bit")) << report.notes[0];
  EXPECT_EQ(report.versions, pristine_.size());
}

// A file of another database among the source's (its header says so) is not copied, and the
// report says so: a loss, not a note, so that a wrong superblock cannot hide the whole log.
TEST_F(SalvageTest, AFileOfAnotherDatabaseIsALossNotCopied) {
  BuildSmallDatabase();
  Options other = DbOptions();
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(other, "/other", &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), CubeDraft{.space = "x", .payload = "foreign"}).ok());
  db.reset();
  const std::string foreign = kSrc + "/" + WalSegmentFileName(LastSegment() + 1);
  CreateFile(foreign, test::ReadWholeFile(env_.get(), "/other/" + WalSegmentFileName(1)));
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  EXPECT_EQ(report.versions, pristine_.size());
  ASSERT_EQ(report.losses.size(), 1u) << ReportText(report);
  EXPECT_EQ(report.losses[0].file, foreign);
  EXPECT_TRUE(Contains(report.losses[0].what, "another database")) << report.losses[0].what;
}

// 3. The source is only read, whatever its state; the destination must be new or empty.
TEST_F(SalvageTest, TheSourceIsNeverModified) {
  BuildSmallDatabase();
  std::string image;
  const std::vector<wal::ScannedRecord> batches = BatchRecords(LastSegment(), &image);
  ASSERT_FALSE(batches.empty());
  FlipBit(kSrc + "/" + WalSegmentFileName(LastSegment()), batches[0].offset + 50, 3);
  for (int round = 0; round < 2; ++round) {
    const std::map<std::string, uint64_t> before = SrcHashes();
    SalvageReport report;
    ASSERT_TRUE(Salvage(&report).ok());
    EXPECT_EQ(report.losses.empty(), round == 1) << ReportText(report);
    EXPECT_EQ(SrcHashes(), before);
    RemoveDst();
    FlipBit(kSrc + "/" + WalSegmentFileName(LastSegment()), batches[0].offset + 50, 3);
  }
}

TEST_F(SalvageTest, ADestinationThatIsNotNewOrEmptyIsRefused) {
  BuildSmallDatabase();
  const std::map<std::string, uint64_t> before = SrcHashes();
  SalvageReport report;
  ASSERT_TRUE(env_->CreateDir(kDst).ok());
  CreateFile(kDst + "/keep", "x");
  Status s = Salvage(&report);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), kDst + ": not empty")) << s.ToString();
  EXPECT_EQ(test::ReadWholeFile(env_.get(), kDst + "/keep"), "x");
  CreateFile("/file", "y");
  s = Salvage(&report, "/file");
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_EQ(test::ReadWholeFile(env_.get(), "/file"), "y");
  for (const std::string& inside : {kSrc, kSrc + "/", kSrc + "/./out", kSrc + "//out/"}) {
    s = Salvage(&report, inside);
    EXPECT_TRUE(s.IsInvalidArgument()) << inside << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "inside the source database")) << s.ToString();
  }
  EXPECT_FALSE(env_->FileExists(kSrc + "/out"));
  EXPECT_EQ(SrcHashes(), before);
  // An empty directory will do.
  ASSERT_TRUE(env_->RemoveFile(kDst + "/keep").ok());
  s = Salvage(&report);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(SalvageTest, ASourceThatIsNotADatabaseIsAClearError) {
  SalvageReport report;
  Status s = Db::Salvage(DbOptions(), "/missing", kDst, &report);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "/missing: no such directory")) << s.ToString();
  ASSERT_TRUE(env_->CreateDir("/empty").ok());
  s = Db::Salvage(DbOptions(), "/empty", kDst, &report);
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "/empty: no Loci database here")) << s.ToString();
  // Files with a database's names, none of which verifies: nothing could be read.
  ASSERT_TRUE(env_->CreateDir("/junk").ok());
  CreateFile("/junk/SUPERBLOCK", std::string(8192, 'j'));
  CreateFile("/junk/" + WalSegmentFileName(1), std::string(8192, 'w'));
  CreateFile("/junk/" + CheckpointFileName(1), std::string(100, 'c'));
  s = Db::Salvage(DbOptions(), "/junk", kDst, &report);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "/junk: nothing in it could be read")) << s.ToString();
  EXPECT_FALSE(env_->FileExists(kDst));
}

// Salvaging a salvaged database changes nothing: it is a database like any other.
TEST_F(SalvageTest, SalvagingACopyAgainChangesNothing) {
  BuildSmallDatabase();
  SalvageReport report;
  ASSERT_TRUE(Salvage(&report).ok());
  ASSERT_TRUE(Db::Salvage(DbOptions(), kDst, "/again", &report).ok());
  EXPECT_TRUE(report.losses.empty()) << ReportText(report);
  Options o = DbOptions();
  o.read_only = true;
  std::unique_ptr<Db> again;
  ASSERT_TRUE(Db::Open(o, "/again", &again).ok());
  EXPECT_EQ(AllVersions(again.get(), end_id_), pristine_);
}

}  // namespace
}  // namespace loci
