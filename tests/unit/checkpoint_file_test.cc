// Tests of engine/checkpoint's file format on MemEnv: file names; writer/reader round trips of the
// catalog and versions (empty, typical, larger than the writer's flush size, and with dropped
// vector fields: format 2, their vectors left out of versions); and that a damaged checkpoint is
// always Corruption naming the file and an offset, never a wrong version: a bit flipped at every
// byte, every truncation (with and without field drop entries), a wrong expected size, another
// database's or another number's file, trailing bytes, entries that contradict the header or the
// catalog, and malformed field drop entries with valid checksums. Also that recovery refuses a
// checkpointed version with a vector of a dropped field. The trace graph's entries (versions in
// an episode, edge versions): round trips, bit flips, malformed entries with valid checksums,
// and recovery refusing edges whose ends are not cubes of the edge's space.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/file_names.h"
#include "common/hash.h"
#include "engine/checkpoint.h"
#include "engine/record_codec.h"
#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci::engine {
namespace {

using test::Contains;

const std::string kDir = "/db";
constexpr uint64_t kFileNumber = 7;
constexpr uint64_t kCoversLsn = 1000;

blob::BlobRef Ref(uint32_t generation, uint64_t offset, uint32_t length, uint64_t checksum) {
  blob::BlobRef r;
  r.generation = generation;
  r.offset = offset;
  r.length = length;
  r.checksum = checksum;
  return r;
}

Catalog SampleCatalog() {
  Catalog c;
  c.AddSpace("alpha");
  c.AddField(1, "minilm-384", 384, Metric::kCosine);
  c.AddField(1, "e5", 768, Metric::kInnerProduct);
  c.AddSpace("beta");
  c.AddField(2, "xyz", 3, Metric::kL2);
  c.AddSpace("gamma");
  return c;
}

// SampleCatalog with alpha's minilm-384 (1) dropped and defined again as minilm-384 (3), and
// beta's only field dropped.
Catalog SampleCatalogWithDrops() {
  Catalog c = SampleCatalog();
  c.DropField(1, 1);
  c.AddField(1, "minilm-384", 16, Metric::kL2);
  c.DropField(2, 1);
  return c;
}

// Versions of varied shape in spaces 1..3, with tx_from and lsn set as the reader reports them.
std::vector<Version> SampleVersions(size_t n, size_t source_bytes = 0) {
  std::vector<Version> out;
  for (size_t i = 0; i < n; ++i) {
    Version v;
    v.id = 1 + i / 3;
    v.number = static_cast<uint32_t>(1 + i % 3);
    v.space_id = static_cast<uint32_t>(1 + i % 3);
    v.kind = static_cast<uint16_t>(i % 4 == 0 ? uint64_t{kFirstApplicationKind} + i : 0);
    v.state = static_cast<CubeState>(i % 3);
    v.valid_from = -1'000'000 + static_cast<Timestamp>(i) * 1000;
    v.valid_to = i % 2 ? kForever : v.valid_from + 1;
    v.tx_from = 1'700'000'000'000'000 + static_cast<Timestamp>(i);
    v.expires_at = i % 5 ? kForever : 1'800'000'000'000'000;
    v.lsn = 1 + i * (kCoversLsn - 1) / (n > 1 ? n - 1 : 1);
    v.importance = static_cast<float>(i) / 7.0f;
    v.trust = 1.0f - static_cast<float>(i) / 100.0f;
    if (i % 2 == 0) v.payload = Ref(1, 4096 + 64 * i, static_cast<uint32_t>(1 + i), i * 31);
    if (v.space_id == 1 && i % 4 != 1) {
      v.vectors = {{1, Ref(2, 8 * i + 8, 1536, i)}, {2, Ref(2, 8 * i + 4096, 3072, ~i)}};
    }
    if (i % 3 == 2) {
      v.attrs = {{"n", static_cast<int64_t>(i) - 10}, {"s", "v" + std::to_string(i)}, {"t", true}};
    }
    v.source = "source-" + std::to_string(i) + std::string(source_bytes, 's');
    v.agent = i % 2 ? "agent" : "";
    if (i > 2) v.parents = {1 + i / 4, 1};
    out.push_back(v);
  }
  return out;
}

struct ReadBack {
  Status status;
  CheckpointContents contents;
  std::vector<std::unique_ptr<Version>> versions;
  std::vector<std::unique_ptr<index::EdgeVersion>> edges;
  std::vector<std::pair<uint64_t, uint32_t>> chain_starts;
};

class CheckpointFileTest : public ::testing::Test {
 protected:
  CheckpointFileTest() : env_(NewMemEnv()), uuid_(test::TestUuid(1)) {
    EXPECT_TRUE(env_->CreateDir(kDir).ok());
  }

  std::string PathOf(uint64_t number) { return kDir + "/" + CheckpointFileName(number); }

  // Writes a checkpoint and returns its size.
  uint64_t Write(const std::string& path, const Catalog* catalog,
                 const std::vector<Version>& versions, uint64_t file_number = kFileNumber,
                 uint64_t covers_lsn = kCoversLsn) {
    CheckpointWriter w(env_.get(), path, uuid_, file_number, covers_lsn);
    const Catalog empty;
    Status s = w.Open(catalog != nullptr ? *catalog : empty);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (const Version& v : versions) w.AddVersion(v);
    uint64_t bytes = 0;
    s = w.Finish(4242, -77, &bytes);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return bytes;
  }

  ReadBack Read(const std::string& path, uint64_t expected_bytes,
                uint64_t file_number = kFileNumber) {
    ReadBack r;
    CheckpointVisitor visitor;
    visitor.on_version = [&](std::unique_ptr<Version> v) {
      r.versions.push_back(std::move(v));
      return Status::OK();
    };
    visitor.on_edge = [&](std::unique_ptr<index::EdgeVersion> e) {
      r.edges.push_back(std::move(e));
      return Status::OK();
    };
    visitor.on_chain_start = [&](uint64_t id, uint32_t first_version) {
      r.chain_starts.emplace_back(id, first_version);
      return Status::OK();
    };
    r.status =
        ReadCheckpoint(env_.get(), path, uuid_, file_number, expected_bytes, visitor, &r.contents);
    return r;
  }

  std::string ReadFile(const std::string& path) { return test::ReadWholeFile(env_.get(), path); }

  void WriteFile(const std::string& path, const std::string& contents) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &f).ok());
    ASSERT_TRUE(f->Truncate(0).ok());
    ASSERT_TRUE(f->Write(0, contents).ok());
  }

  // A checkpoint of `catalog` and SampleVersions(8) written at `path` (replacing any file
  // there): its bytes, its size, and the versions a reader gets from it intact.
  struct Pristine {
    std::string file;
    uint64_t bytes = 0;
    ReadBack good;
  };
  void WritePristine(const std::string& path, const Catalog& catalog, Pristine* out) {
    ASSERT_TRUE(!env_->FileExists(path) || env_->RemoveFile(path).ok());
    out->bytes = Write(path, &catalog, SampleVersions(8));
    out->file = ReadFile(path);
    ASSERT_EQ(out->file.size(), out->bytes);
    out->good = Read(path, out->bytes);
    ASSERT_TRUE(out->good.status.ok()) << out->good.status.ToString();
  }

  // Delivered versions are a prefix of `expected`, each identical to its original.
  static void ExpectPrefix(const ReadBack& r, const std::vector<std::unique_ptr<Version>>& expected,
                           const std::string& context) {
    ASSERT_LE(r.versions.size(), expected.size()) << context;
    for (size_t i = 0; i < r.versions.size(); ++i) {
      ASSERT_TRUE(r.versions[i]->SameContent(*expected[i])) << context << ": version " << i;
    }
  }

  std::unique_ptr<Env> env_;
  DbUuid uuid_;
};

TEST(CheckpointFileNameTest, FormatAndParse) {
  EXPECT_EQ(CheckpointFileName(7), "ckpt-00000007.ckpt");
  EXPECT_EQ(CheckpointFileName(123456789), "ckpt-123456789.ckpt");
  for (uint64_t n : {uint64_t{0}, uint64_t{7}, uint64_t{99999999}, uint64_t{100000000},
                     std::numeric_limits<uint64_t>::max()}) {
    uint64_t got = 1;
    ASSERT_TRUE(ParseCheckpointFileName(CheckpointFileName(n), &got)) << n;
    EXPECT_EQ(got, n);
  }
  for (const char* bad :
       {"", "ckpt-.ckpt", "ckpt-7.ckp", "ckpt-7.ckpt.tmp", "xckpt-7.ckpt", "ckpt--7.ckpt",
        "ckpt-7x.ckpt", "ckpt-18446744073709551616.ckpt", "wal-00000007.log"}) {
    uint64_t got;
    EXPECT_FALSE(ParseCheckpointFileName(bad, &got)) << bad;
  }
}

TEST_F(CheckpointFileTest, CatalogAndVersionsRoundTrip) {
  const Catalog catalog = SampleCatalog();
  const std::vector<Version> versions = SampleVersions(20);
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, versions);
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(PathOf(kFileNumber), &size).ok());
  EXPECT_EQ(bytes, size);

  ReadBack r = Read(PathOf(kFileNumber), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.versions.size(), versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_TRUE(r.versions[i]->SameContent(versions[i])) << i;
  }
  EXPECT_EQ(r.contents.covers_lsn, kCoversLsn);
  EXPECT_EQ(r.contents.next_cube_id, 4242u);
  EXPECT_EQ(r.contents.clock_high_water, -77);
  EXPECT_TRUE(r.contents.catalog == catalog);
  ASSERT_EQ(r.contents.catalog.spaces().size(), 3u);
  EXPECT_EQ(r.contents.catalog.FindSpace("beta")->fields[0].name, "xyz");
}

TEST_F(CheckpointFileTest, EmptyCheckpointRoundTrips) {
  const uint64_t bytes = Write(PathOf(kFileNumber), nullptr, {});
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.versions.empty());
  EXPECT_TRUE(r.contents.catalog.spaces().empty());
  EXPECT_EQ(r.contents.covers_lsn, kCoversLsn);
}

TEST_F(CheckpointFileTest, CheckpointLargerThanTheFlushSizeRoundTrips) {
  const Catalog catalog = SampleCatalog();
  const std::vector<Version> versions = SampleVersions(400, 4000);
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, versions);
  ASSERT_GT(bytes, 1u << 20);
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.versions.size(), versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    ASSERT_TRUE(r.versions[i]->SameContent(versions[i])) << i;
  }
}

TEST_F(CheckpointFileTest, CreatingOverAnExistingFileFails) {
  Write(PathOf(kFileNumber), nullptr, {});
  CheckpointWriter w(env_.get(), PathOf(kFileNumber), uuid_, kFileNumber, kCoversLsn);
  EXPECT_FALSE(w.Open(Catalog()).ok());
}

// Every byte of the file with one bit flipped (all eight bits, in turn).
TEST_F(CheckpointFileTest, EveryBitFlipIsCorruptionWithFileAndOffsetNeverAWrongVersion) {
  for (const Catalog& catalog : {SampleCatalog(), SampleCatalogWithDrops()}) {
    const std::string path = PathOf(kFileNumber);
    Pristine p;
    ASSERT_NO_FATAL_FAILURE(WritePristine(path, catalog, &p));
    const std::string& pristine = p.file;
    size_t cases = 0;
    for (size_t byte = 0; byte < pristine.size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string damaged = pristine;
        damaged[byte] ^= static_cast<char>(1 << bit);
        WriteFile(path, damaged);
        ReadBack r = Read(path, p.bytes);
        const std::string context = "byte " + std::to_string(byte) + " bit " + std::to_string(bit);
        ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
        ASSERT_TRUE(Contains(r.status.message(), path)) << context << ": " << r.status.ToString();
        ASSERT_TRUE(Contains(r.status.message(), "offset"))
            << context << ": " << r.status.ToString();
        ExpectPrefix(r, p.good.versions, context);
        ++cases;
      }
    }
    std::printf("%zu-byte checkpoint: %zu bit flips, all Corruption\n", pristine.size(), cases);
  }
}

TEST_F(CheckpointFileTest, EveryTruncationIsCorruption) {
  for (const Catalog& catalog : {SampleCatalog(), SampleCatalogWithDrops()}) {
    const std::string path = PathOf(kFileNumber);
    Pristine p;
    ASSERT_NO_FATAL_FAILURE(WritePristine(path, catalog, &p));
    const std::string& pristine = p.file;
    for (size_t len = 0; len < pristine.size(); ++len) {
      WriteFile(path, pristine.substr(0, len));
      const std::string context = "cut at " + std::to_string(len);
      // The superblock's size disagrees...
      ReadBack r = Read(path, p.bytes);
      ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), path)) << context;
      // ...and even if it agreed, the file itself shows it was cut.
      r = Read(path, len);
      ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), path)) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), "offset")) << context << ": " << r.status.ToString();
      ExpectPrefix(r, p.good.versions, context);
    }
  }
}

TEST_F(CheckpointFileTest, WrongExpectedSizeIsCorruption) {
  const Catalog catalog = SampleCatalog();
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, SampleVersions(3));
  for (uint64_t expected : {bytes - 1, bytes + 1, uint64_t{0}}) {
    ReadBack r = Read(PathOf(kFileNumber), expected);
    EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), PathOf(kFileNumber))) << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), std::to_string(bytes))) << r.status.ToString();
    EXPECT_TRUE(r.versions.empty());
  }
}

TEST_F(CheckpointFileTest, BytesAfterTheEndEntryAreCorruption) {
  const uint64_t bytes = Write(PathOf(kFileNumber), nullptr, {});
  WriteFile(PathOf(kFileNumber), ReadFile(PathOf(kFileNumber)) + std::string(1, '\0'));
  ReadBack r = Read(PathOf(kFileNumber), bytes + 1);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), "offset " + std::to_string(bytes)))
      << r.status.ToString();
}

TEST_F(CheckpointFileTest, AnotherDatabasesCheckpointIsCorruption) {
  const uint64_t bytes = Write(PathOf(kFileNumber), nullptr, SampleVersions(0));
  uuid_ = test::TestUuid(2);
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), PathOf(kFileNumber))) << r.status.ToString();
}

TEST_F(CheckpointFileTest, CheckpointUnderAnotherNumberIsCorruption) {
  const Catalog catalog = SampleCatalog();
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, SampleVersions(3));
  ASSERT_TRUE(env_->RenameFile(PathOf(kFileNumber), PathOf(8)).ok());
  ReadBack r = Read(PathOf(8), bytes, 8);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), PathOf(8))) << r.status.ToString();
  EXPECT_TRUE(r.versions.empty());
}

TEST_F(CheckpointFileTest, VersionBeyondTheCoveredLsnIsCorruption) {
  const Catalog catalog = SampleCatalog();
  std::vector<Version> versions = SampleVersions(3);
  versions[2].lsn = kCoversLsn + 1;
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, versions);
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), "offset")) << r.status.ToString();
  EXPECT_EQ(r.versions.size(), 2u);
}

TEST_F(CheckpointFileTest, VersionOfAnUnknownSpaceIsCorruption) {
  const Catalog catalog = SampleCatalog();
  std::vector<Version> versions = SampleVersions(2);
  versions[1].space_id = 9;
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, versions);
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), PathOf(kFileNumber))) << r.status.ToString();
  EXPECT_EQ(r.versions.size(), 1u);
}

TEST_F(CheckpointFileTest, ChainStartsRoundTripBeforeTheVersions) {
  const Catalog catalog = SampleCatalog();
  CheckpointWriter w(env_.get(), PathOf(kFileNumber), uuid_, kFileNumber, kCoversLsn);
  ASSERT_TRUE(w.Open(catalog).ok());
  w.AddChainStart(7, 3);
  w.AddChainStart(1ull << 40, 0xffffffffu);
  for (const Version& v : SampleVersions(2)) w.AddVersion(v);
  uint64_t bytes = 0;
  ASSERT_TRUE(w.Finish(4242, -77, &bytes).ok());
  ReadBack r = Read(PathOf(kFileNumber), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  const std::vector<std::pair<uint64_t, uint32_t>> want = {{7, 3}, {1ull << 40, 0xffffffffu}};
  EXPECT_EQ(r.chain_starts, want);
  EXPECT_EQ(r.versions.size(), 2u);
}

TEST_F(CheckpointFileTest, ChainStartBelowTwoIsMalformed) {
  uint64_t id;
  uint32_t first;
  std::string body;
  PutVarint64(&body, 7);
  PutVarint64(&body, 1);  // version 1 is every chain's start: no entry names it
  EXPECT_FALSE(DecodeCheckpointChainStart(body, &id, &first));
  body.clear();
  PutVarint64(&body, 0);  // no cube has id 0
  PutVarint64(&body, 5);
  EXPECT_FALSE(DecodeCheckpointChainStart(body, &id, &first));
  body.clear();
  PutVarint64(&body, 7);
  PutVarint64(&body, 1ull << 32);  // beyond a version number
  EXPECT_FALSE(DecodeCheckpointChainStart(body, &id, &first));
  body.clear();
  PutVarint64(&body, 7);
  PutVarint64(&body, 5);
  ASSERT_TRUE(DecodeCheckpointChainStart(body, &id, &first));
  EXPECT_EQ(id, 7u);
  EXPECT_EQ(first, 5u);
}

TEST_F(CheckpointFileTest, CallbackErrorStopsReadingAndNamesWhere) {
  const Catalog catalog = SampleCatalog();
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, SampleVersions(6));
  int calls = 0;
  CheckpointContents contents;
  CheckpointVisitor visitor;
  visitor.on_version = [&](std::unique_ptr<Version>) {
    return ++calls == 3 ? Status::IOError("no room") : Status::OK();
  };
  visitor.on_edge = [](std::unique_ptr<index::EdgeVersion>) { return Status::OK(); };
  Status s = ReadCheckpoint(env_.get(), PathOf(kFileNumber), uuid_, kFileNumber, bytes, visitor,
                            &contents);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "no room")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), PathOf(kFileNumber))) << s.ToString();
  EXPECT_EQ(calls, 3);
}

TEST_F(CheckpointFileTest, CatalogWithoutDropsIsFormat1) {
  const Catalog catalog = SampleCatalog();
  Write(PathOf(kFileNumber), &catalog, SampleVersions(3));
  EXPECT_EQ(DecodeFixed32(ReadFile(PathOf(kFileNumber)).data() + 8), 1u);
}

TEST_F(CheckpointFileTest, DroppedFieldsRoundTripInFormat2WithoutTheirVectors) {
  const Catalog catalog = SampleCatalogWithDrops();
  std::vector<Version> versions = SampleVersions(12);
  // Space 1's versions have vectors of fields 1 (dropped) and 2; give one a vector of the new
  // field 3 too, and space 2's one a vector of its dropped field.
  versions[3].vectors.push_back({3, Ref(2, 64, 64, 7)});
  versions[1].vectors = {{1, Ref(2, 128, 12, 8)}};
  ASSERT_EQ(versions[1].space_id, 2u);
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, versions);
  const std::string file = ReadFile(PathOf(kFileNumber));
  EXPECT_EQ(DecodeFixed32(file.data() + 8), 2u);

  ReadBack r = Read(PathOf(kFileNumber), bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_TRUE(r.contents.catalog == catalog);
  const SpaceDef& alpha = *r.contents.catalog.FindSpace("alpha");
  EXPECT_TRUE(alpha.fields[0].dropped);
  EXPECT_EQ(alpha.FindField("minilm-384")->id, 3u);
  EXPECT_EQ(r.contents.catalog.FindSpace("beta")->FindField("xyz"), nullptr);
  ASSERT_EQ(r.versions.size(), versions.size());
  size_t stripped = 0;
  for (size_t i = 0; i < versions.size(); ++i) {
    Version expected = versions[i];
    const size_t before = expected.vectors.size();
    std::erase_if(expected.vectors, [&](const VectorRef& ref) {
      return catalog.SpaceById(expected.space_id)->FieldById(ref.field_id)->dropped;
    });
    stripped += before - expected.vectors.size();
    EXPECT_TRUE(r.versions[i]->SameContent(expected)) << i;
  }
  EXPECT_GT(stripped, 3u);
  EXPECT_EQ(r.versions[3]->vectors.size(), 2u);  // fields 2 and 3 kept
}

// Entries re-framed by the test, with valid checksums, so that a reader check can be reached
// that no writer output and no random damage gets to. Mirrors the framing of checkpoint.h.
struct Entry {
  uint8_t type;
  std::string body;
};
constexpr size_t kHeaderSize = 52;
constexpr uint8_t kVersionType = 3;
constexpr uint8_t kFieldDropType = 5;

std::vector<Entry> Entries(const std::string& file) {
  std::vector<Entry> out;
  for (size_t pos = kHeaderSize; pos < file.size();) {
    const uint32_t len = DecodeFixed32(file.data() + pos);
    out.push_back({static_cast<uint8_t>(file[pos + 4]), file.substr(pos + 5, len)});
    pos += 4 + 1 + len + 8;
  }
  return out;
}

std::string Frame(const std::string& file, uint32_t format, const std::vector<Entry>& entries,
                  uint64_t file_number = kFileNumber) {
  std::string out = file.substr(0, kHeaderSize - 8);
  EncodeFixed32(out.data() + 8, format);
  PutFixed64(&out, Hash64(out, 0x4c4f4349434b5048ull));
  for (const Entry& e : entries) {
    const uint64_t offset = out.size();
    PutFixed32(&out, static_cast<uint32_t>(e.body.size()));
    std::string hashed(1, static_cast<char>(e.type));
    hashed += e.body;
    out += hashed;
    PutFixed64(&out, Hash64(hashed, (file_number << 32) ^ offset ^ 0x5eedc4ec4b0110ull));
  }
  return out;
}

TEST_F(CheckpointFileTest, MalformedFieldDropEntriesAreCorruptionNamingFileAndOffset) {
  const Catalog catalog = SampleCatalogWithDrops();
  const std::string path = PathOf(kFileNumber);
  Write(path, &catalog, SampleVersions(3));
  const std::string file = ReadFile(path);
  const std::vector<Entry> entries = Entries(file);
  // Re-framing what the writer wrote changes nothing: the helpers agree with the format.
  ASSERT_EQ(Frame(file, 2, entries), file);
  size_t first_drop = 0;
  while (entries[first_drop].type != kFieldDropType) ++first_drop;
  auto body = [](uint64_t space_id, uint64_t field_id) {
    std::string b;
    PutVarint64(&b, space_id);
    PutVarint64(&b, field_id);
    return b;
  };
  struct Case {
    const char* what;
    uint32_t format;
    std::vector<Entry> entries;
    const char* names;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, const char* names, auto mutate, uint32_t format = 2) {
    std::vector<Entry> e = entries;
    mutate(e);
    cases.push_back({what, format, e, names});
  };
  with("drop entry with a trailing byte", "malformed field drop entry",
       [&](auto& e) { e[first_drop].body += '\0'; });
  with("drop entry cut short", "malformed field drop entry",
       [&](auto& e) { e[first_drop].body.resize(1); });
  with("empty drop entry", "malformed field drop entry",
       [&](auto& e) { e[first_drop].body.clear(); });
  with("drop of field 0", "malformed field drop entry",
       [&](auto& e) { e[first_drop].body = body(1, 0); });
  with("drop of space 0", "malformed field drop entry",
       [&](auto& e) { e[first_drop].body = body(0, 1); });
  with("drop of an unknown field", "field id 9", [&](auto& e) { e[first_drop].body = body(1, 9); });
  with("drop of an unknown space", "unknown space id 7",
       [&](auto& e) { e[first_drop].body = body(7, 1); });
  with("the same drop twice", "already dropped",
       [&](auto& e) { e.insert(e.begin() + first_drop, e[first_drop]); });
  with(
      "drop entries in a format 1 file", "format 1", [](auto&) {}, 1);
  with(
      "an unknown format", "unknown checkpoint format", [](auto&) {}, 3);
  for (const Case& c : cases) {
    const std::string damaged = Frame(file, c.format, c.entries);
    WriteFile(path, damaged);
    ReadBack r = Read(path, damaged.size());
    EXPECT_TRUE(r.status.IsCorruption()) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), path)) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), "offset")) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), c.names)) << c.what << ": " << r.status.ToString();
  }
}

// Recovery refuses a checkpointed version that still has a vector of a field the checkpoint's
// catalog dropped (DbImpl::ApplyRecoveredVersion). The writer never leaves one (AddVersion
// strips them), so the test forges it: the checkpoint of a real database, its one version's
// vector moved from the live field B to the dropped field A (same length, valid checksums).
TEST_F(CheckpointFileTest, RecoveryRefusesAVersionWithAVectorOfADroppedField) {
  const std::string dir = "/recovery";
  Options o;
  o.env = env_.get();
  o.create_if_missing = true;
  {
    std::unique_ptr<Db> db;
    ASSERT_TRUE(Db::Open(o, dir, &db).ok());
    WriteBatch b;
    b.DefineVectorField("s", "A", 2, Metric::kL2);  // field 1
    b.DefineVectorField("s", "B", 2, Metric::kL2);  // field 2
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"B", {1, 2}});
    b.Put(d);
    b.DropVectorField("s", "A");
    ASSERT_TRUE(db->Write(WriteOptions(), b, nullptr).ok());
    ASSERT_TRUE(db->Checkpoint().ok());
  }
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir, &names).ok());
  uint64_t number = 0;
  std::string path;
  for (const std::string& name : names) {
    if (ParseCheckpointFileName(name, &number)) path = dir + "/" + name;
  }
  ASSERT_FALSE(path.empty());
  const std::string file = ReadFile(path);
  std::vector<Entry> entries = Entries(file);
  ASSERT_EQ(Frame(file, 2, entries, number), file);
  size_t forged = 0;
  for (Entry& e : entries) {
    if (e.type != kVersionType) continue;
    Decoder d(e.body);
    int64_t tx_from;
    uint64_t lsn;
    Version v;
    ASSERT_TRUE(d.GetVarsint64(&tx_from) && d.GetVarint64(&lsn) && DecodeVersionBody(&d, &v));
    ASSERT_EQ(v.vectors.size(), 1u);
    ASSERT_EQ(v.vectors[0].field_id, 2u);
    v.vectors[0].field_id = 1;
    e.body.clear();
    PutVarsint64(&e.body, tx_from);
    PutVarint64(&e.body, lsn);
    EncodeVersionBody(v, &e.body);
    ++forged;
  }
  ASSERT_EQ(forged, 1u);
  const std::string damaged = Frame(file, 2, entries, number);
  ASSERT_EQ(damaged.size(), file.size());
  WriteFile(path, damaged);
  std::unique_ptr<Db> db;
  Status s = Db::Open(o, dir, &db);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "vector of dropped field 'A'")) << s.ToString();
}

// The superblock names the file, so it was durable before the superblock was: a missing one is
// damage to the database (exit 2 in the CLI), not a missing database, and the message names it.
TEST_F(CheckpointFileTest, MissingFileIsCorruptionNamingIt) {
  ReadBack r = Read(PathOf(99), 100);
  EXPECT_TRUE(r.status.IsCorruption()) << r.status.ToString();
  EXPECT_TRUE(Contains(r.status.message(), PathOf(99) + ": checkpoint file named by the "
                                                        "superblock is missing"))
      << r.status.ToString();
}

// --- the trace graph's entries: versions in an episode (type 6) and edge versions (type 7)

constexpr uint8_t kEpisodeVersionType = 6;
constexpr uint8_t kEdgeType = 7;

std::vector<Version> SampleEpisodeVersions() {
  std::vector<Version> versions = SampleVersions(9);
  for (size_t i = 0; i < versions.size(); ++i) {
    if (i % 3 != 1)
      versions[i].episode = i == 0 ? std::string("\0\xff", 2) : "episode-" + std::to_string(i % 2);
  }
  return versions;
}

// Edge versions of every shape (the reader checks each entry, not how they chain).
std::vector<index::EdgeVersion> SampleEdges() {
  std::vector<index::EdgeVersion> edges;
  for (uint32_t i = 0; i < 5; ++i) {
    index::EdgeVersion e;
    e.key = {1 + i % 3, 1 + (i + 1) % 3, i == 4 ? 4000u : 1 + i};
    e.space_id = 1 + i % 3;
    e.number = 1 + i / 3;
    e.weight = static_cast<float>(i) - 1.5f;
    e.unlinked = i == 3;
    e.valid_from = -1000 + static_cast<int64_t>(i);
    e.valid_to = i % 2 ? kForever : 1'800'000'000'000'000;
    e.tx_from = 1'700'000'000'000'100 + static_cast<int64_t>(i);
    e.lsn = 10 * (i + 1);
    edges.push_back(e);
  }
  return edges;
}

class CheckpointTraceTest : public CheckpointFileTest {
 protected:
  uint64_t WriteTrace(const std::string& path, const std::vector<Version>& versions,
                      const std::vector<index::EdgeVersion>& edges) {
    const Catalog catalog = SampleCatalog();
    CheckpointWriter w(env_.get(), path, uuid_, kFileNumber, kCoversLsn);
    Status s = w.Open(catalog);
    EXPECT_TRUE(s.ok()) << s.ToString();
    for (const Version& v : versions) w.AddVersion(v);
    for (const index::EdgeVersion& e : edges) w.AddEdge(e);
    uint64_t bytes = 0;
    s = w.Finish(4242, -77, &bytes);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return bytes;
  }
};

TEST_F(CheckpointTraceTest, EpisodeVersionsAndEdgesRoundTrip) {
  const std::vector<Version> versions = SampleEpisodeVersions();
  const std::vector<index::EdgeVersion> edges = SampleEdges();
  const std::string path = PathOf(kFileNumber);
  const uint64_t bytes = WriteTrace(path, versions, edges);
  ReadBack r = Read(path, bytes);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ASSERT_EQ(r.versions.size(), versions.size());
  for (size_t i = 0; i < versions.size(); ++i) {
    EXPECT_TRUE(r.versions[i]->SameContent(versions[i])) << i;
    EXPECT_EQ(r.versions[i]->episode, versions[i].episode) << i;
  }
  ASSERT_EQ(r.edges.size(), edges.size());
  for (size_t i = 0; i < edges.size(); ++i) {
    EXPECT_TRUE(r.edges[i]->SameContent(edges[i])) << i;  // tx_from and lsn included
  }
  // Versions in an episode are type 6, the others type 3, edges type 7, after the versions.
  const std::vector<Entry> entries = Entries(ReadFile(path));
  size_t v = 0, e = 0;
  for (const Entry& entry : entries) {
    if (entry.type == kVersionType || entry.type == kEpisodeVersionType) {
      EXPECT_EQ(e, 0u) << "a version after an edge";
      EXPECT_EQ(entry.type, versions[v].episode.empty() ? kVersionType : kEpisodeVersionType) << v;
      ++v;
    } else if (entry.type == kEdgeType) {
      ++e;
    }
  }
  EXPECT_EQ(v, versions.size());
  EXPECT_EQ(e, edges.size());
}

TEST_F(CheckpointTraceTest, EveryBitFlipOfATraceCheckpointIsCorruption) {
  const std::string path = PathOf(kFileNumber);
  const uint64_t bytes = WriteTrace(path, SampleEpisodeVersions(), SampleEdges());
  const std::string pristine = ReadFile(path);
  ReadBack good = Read(path, bytes);
  ASSERT_TRUE(good.status.ok());
  for (size_t byte = 0; byte < pristine.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = pristine;
      damaged[byte] ^= static_cast<char>(1 << bit);
      WriteFile(path, damaged);
      ReadBack r = Read(path, bytes);
      const std::string context = "byte " + std::to_string(byte) + " bit " + std::to_string(bit);
      ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), "offset")) << context;
      ASSERT_LE(r.edges.size(), good.edges.size()) << context;
      for (size_t i = 0; i < r.edges.size(); ++i) {
        ASSERT_TRUE(r.edges[i]->SameContent(*good.edges[i])) << context << ": edge " << i;
      }
      ExpectPrefix(r, good.versions, context);
    }
  }
}

// Entries that verify (valid checksums) but break an invariant of the trace entries.
TEST_F(CheckpointTraceTest, MalformedTraceEntriesAreCorruptionNamingFileAndOffset) {
  const std::string path = PathOf(kFileNumber);
  WriteTrace(path, SampleEpisodeVersions(), SampleEdges());
  const std::string file = ReadFile(path);
  const std::vector<Entry> entries = Entries(file);
  ASSERT_EQ(Frame(file, 1, entries), file);
  size_t first_edge = 0, first_episode = 0;
  while (entries[first_edge].type != kEdgeType) ++first_edge;
  while (entries[first_episode].type != kEpisodeVersionType) ++first_episode;
  auto edge_body = [](index::EdgeVersion e) {
    std::string b;
    PutVarsint64(&b, e.tx_from);
    PutVarint64(&b, e.lsn);
    EncodeEdgeBody(e, &b);
    return b;
  };
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    const char* names;
  };
  std::vector<Case> cases;
  auto with = [&](const char* what, const char* names, auto mutate) {
    std::vector<Entry> e = entries;
    mutate(e);
    cases.push_back({what, e, names});
  };
  auto edge_with = [&](const char* what, const char* names, auto mutate) {
    with(what, names, [&](auto& e) {
      index::EdgeVersion edge = SampleEdges()[0];
      mutate(edge);
      e[first_edge].body = edge_body(edge);
    });
  };
  edge_with("self-loop", "malformed edge entry", [](auto& e) { e.key.to = e.key.from; });
  edge_with("type 7", "malformed edge entry", [](auto& e) { e.key.type = 7; });
  edge_with("NaN weight", "malformed edge entry",
            [](auto& e) { e.weight = std::numeric_limits<float>::quiet_NaN(); });
  edge_with("valid_from == valid_to", "malformed edge entry",
            [](auto& e) { e.valid_to = e.valid_from; });
  edge_with("valid_from > valid_to", "malformed edge entry",
            [](auto& e) { e.valid_from = e.valid_to + 1; });
  edge_with("version 0", "malformed edge entry", [](auto& e) { e.number = 0; });
  edge_with("an LSN past the checkpoint's", "malformed edge entry",
            [](auto& e) { e.lsn = kCoversLsn + 1; });
  edge_with("unknown space", "edge of unknown space 9", [](auto& e) { e.space_id = 9; });
  with("edge entry with a trailing byte", "malformed edge entry",
       [&](auto& e) { e[first_edge].body += '\0'; });
  with("edge entry cut short", "malformed edge entry",
       [&](auto& e) { e[first_edge].body.pop_back(); });
  with("episode version with an empty episode", "malformed version entry", [&](auto& e) {
    Entry& entry = e[first_episode];
    Version v;
    ASSERT_TRUE(DecodeCheckpointEpisodeVersion(entry.body, &v));
    entry.body.clear();
    PutVarsint64(&entry.body, v.tx_from);
    PutVarint64(&entry.body, v.lsn);
    EncodeVersionBody(v, &entry.body);
    PutLengthPrefixed(&entry.body, "");
  });
  with("episode version without its episode", "malformed version entry", [&](auto& e) {
    // A plain version body under the episode-version type.
    Entry& entry = e[first_episode];
    Decoder d(entry.body);
    int64_t tx_from;
    uint64_t lsn;
    Version v;
    ASSERT_TRUE(d.GetVarsint64(&tx_from) && d.GetVarint64(&lsn) && DecodeVersionBody(&d, &v));
    entry.body.clear();
    PutVarsint64(&entry.body, tx_from);
    PutVarint64(&entry.body, lsn);
    EncodeVersionBody(v, &entry.body);
  });
  for (const Case& c : cases) {
    const std::string damaged = Frame(file, 1, c.entries);
    WriteFile(path, damaged);
    ReadBack r = Read(path, damaged.size());
    EXPECT_TRUE(r.status.IsCorruption()) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), path)) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), "offset")) << c.what << ": " << r.status.ToString();
    EXPECT_TRUE(Contains(r.status.message(), c.names)) << c.what << ": " << r.status.ToString();
  }
}

// Recovery (DbImpl::ApplyRecoveredEdge) refuses checkpointed edges that decode but contradict
// the database: an end that is not a cube of the edge's space, two versions with one number.
// The checkpoint of a real database, its edge entry forged (valid checksums).
TEST_F(CheckpointTraceTest, RecoveryRefusesEdgesThatContradictTheCubes) {
  const std::string dir = "/recovery";
  Options o;
  o.env = env_.get();
  o.create_if_missing = true;
  CubeId a = 0, b = 0, x = 0;
  {
    std::unique_ptr<Db> db;
    ASSERT_TRUE(Db::Open(o, dir, &db).ok());
    CubeDraft d;
    d.space = "s";
    a = *db->Put(WriteOptions(), d);
    b = *db->Put(WriteOptions(), d);
    d.space = "t";
    x = *db->Put(WriteOptions(), d);
    ASSERT_TRUE(db->Link(WriteOptions(), a, b, EdgeType::kCaused).ok());
    ASSERT_TRUE(db->Checkpoint().ok());
  }
  std::vector<std::string> names;
  ASSERT_TRUE(env_->GetChildren(dir, &names).ok());
  uint64_t number = 0;
  std::string path;
  for (const std::string& name : names) {
    if (ParseCheckpointFileName(name, &number)) path = dir + "/" + name;
  }
  ASSERT_FALSE(path.empty());
  const std::string file = ReadFile(path);
  const std::vector<Entry> entries = Entries(file);
  ASSERT_EQ(Frame(file, 1, entries, number), file);
  size_t edge_at = 0;
  while (edge_at < entries.size() && entries[edge_at].type != kEdgeType) ++edge_at;
  ASSERT_LT(edge_at, entries.size());
  index::EdgeVersion edge;
  ASSERT_TRUE(DecodeCheckpointEdge(entries[edge_at].body, &edge));
  auto reencode = [](const index::EdgeVersion& e) {
    std::string body;
    PutVarsint64(&body, e.tx_from);
    PutVarint64(&body, e.lsn);
    EncodeEdgeBody(e, &body);
    return body;
  };
  struct Case {
    const char* what;
    std::vector<Entry> entries;
    std::string names;
  };
  std::vector<Case> cases;
  {
    std::vector<Entry> e = entries;
    index::EdgeVersion forged = edge;
    forged.key.to = x;  // a cube of another space
    e[edge_at].body = reencode(forged);
    cases.push_back({"an end in another space", e, "does not exist in its space"});
  }
  {
    std::vector<Entry> e = entries;
    index::EdgeVersion forged = edge;
    forged.key.to = x + 100;  // no such cube
    e[edge_at].body = reencode(forged);
    cases.push_back({"a missing end", e, "does not exist in its space"});
  }
  {
    std::vector<Entry> e = entries;
    index::EdgeVersion forged = edge;
    forged.space_id = 2;  // space t: the ends are in s
    e[edge_at].body = reencode(forged);
    cases.push_back({"another space's edge", e, "does not exist in its space"});
  }
  for (const Case& c : cases) {
    const std::string damaged = Frame(file, 1, c.entries, number);
    // The superblock records the file's size: the forgeries keep it.
    ASSERT_EQ(damaged.size(), file.size()) << c.what;
    WriteFile(path, damaged);
    std::unique_ptr<Db> db;
    Status s = Db::Open(o, dir, &db);
    EXPECT_TRUE(s.IsCorruption()) << c.what << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.message(), c.names)) << c.what << ": " << s.ToString();
  }
  WriteFile(path, file);
  std::unique_ptr<Db> db;
  Status s = Db::Open(o, dir, &db);
  EXPECT_TRUE(s.ok()) << "the original opens: " << s.ToString();
}

}  // namespace
}  // namespace loci::engine
