// Tests of engine/checkpoint's file format on MemEnv: file names; writer/reader round trips of the
// catalog and versions (empty, typical, and larger than the writer's flush size); and that a
// damaged checkpoint is always Corruption naming the file and an offset, never a wrong version:
// a bit flipped at every byte, every truncation, a wrong expected size, another database's or
// another number's file, trailing bytes, and entries that contradict the header or the catalog.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "engine/checkpoint.h"
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
    Status s = w.Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (catalog != nullptr) w.AddCatalog(*catalog);
    for (const Version& v : versions) w.AddVersion(v);
    uint64_t bytes = 0;
    s = w.Finish(4242, -77, &bytes);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return bytes;
  }

  ReadBack Read(const std::string& path, uint64_t expected_bytes,
                uint64_t file_number = kFileNumber) {
    ReadBack r;
    r.status = ReadCheckpoint(
        env_.get(), path, uuid_, file_number, expected_bytes,
        [&](std::unique_ptr<Version> v) {
          r.versions.push_back(std::move(v));
          return Status::OK();
        },
        &r.contents);
    return r;
  }

  std::string ReadFile(const std::string& path) { return test::ReadWholeFile(env_.get(), path); }

  void WriteFile(const std::string& path, const std::string& contents) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &f).ok());
    ASSERT_TRUE(f->Truncate(0).ok());
    ASSERT_TRUE(f->Write(0, contents).ok());
  }

  // Delivered versions are a prefix of `expected`, each identical to its original.
  static void ExpectPrefix(const ReadBack& r, const std::vector<Version>& expected,
                           const std::string& context) {
    ASSERT_LE(r.versions.size(), expected.size()) << context;
    for (size_t i = 0; i < r.versions.size(); ++i) {
      ASSERT_TRUE(r.versions[i]->SameContent(expected[i])) << context << ": version " << i;
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
  EXPECT_FALSE(w.Open().ok());
}

// Every byte of the file with one bit flipped (all eight bits, in turn).
TEST_F(CheckpointFileTest, EveryBitFlipIsCorruptionWithFileAndOffsetNeverAWrongVersion) {
  const Catalog catalog = SampleCatalog();
  const std::vector<Version> versions = SampleVersions(8);
  const std::string path = PathOf(kFileNumber);
  const uint64_t bytes = Write(path, &catalog, versions);
  const std::string pristine = ReadFile(path);
  ASSERT_EQ(pristine.size(), bytes);
  size_t cases = 0;
  for (size_t byte = 0; byte < pristine.size(); ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string damaged = pristine;
      damaged[byte] ^= static_cast<char>(1 << bit);
      WriteFile(path, damaged);
      ReadBack r = Read(path, bytes);
      const std::string context = "byte " + std::to_string(byte) + " bit " + std::to_string(bit);
      ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), path)) << context << ": " << r.status.ToString();
      ASSERT_TRUE(Contains(r.status.message(), "offset")) << context << ": " << r.status.ToString();
      ExpectPrefix(r, versions, context);
      ++cases;
    }
  }
  std::printf("%zu-byte checkpoint: %zu bit flips, all Corruption\n", pristine.size(), cases);
}

TEST_F(CheckpointFileTest, EveryTruncationIsCorruption) {
  const Catalog catalog = SampleCatalog();
  const std::vector<Version> versions = SampleVersions(8);
  const std::string path = PathOf(kFileNumber);
  const uint64_t bytes = Write(path, &catalog, versions);
  const std::string pristine = ReadFile(path);
  for (size_t len = 0; len < pristine.size(); ++len) {
    WriteFile(path, pristine.substr(0, len));
    const std::string context = "cut at " + std::to_string(len);
    // The superblock's size disagrees...
    ReadBack r = Read(path, bytes);
    ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
    ASSERT_TRUE(Contains(r.status.message(), path)) << context;
    // ...and even if it agreed, the file itself shows it was cut.
    r = Read(path, len);
    ASSERT_TRUE(r.status.IsCorruption()) << context << ": " << r.status.ToString();
    ASSERT_TRUE(Contains(r.status.message(), path)) << context << ": " << r.status.ToString();
    ASSERT_TRUE(Contains(r.status.message(), "offset")) << context << ": " << r.status.ToString();
    ExpectPrefix(r, versions, context);
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

TEST_F(CheckpointFileTest, CallbackErrorStopsReadingAndNamesWhere) {
  const Catalog catalog = SampleCatalog();
  const uint64_t bytes = Write(PathOf(kFileNumber), &catalog, SampleVersions(6));
  int calls = 0;
  CheckpointContents contents;
  Status s = ReadCheckpoint(
      env_.get(), PathOf(kFileNumber), uuid_, kFileNumber, bytes,
      [&](std::unique_ptr<Version>) {
        return ++calls == 3 ? Status::IOError("no room") : Status::OK();
      },
      &contents);
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "no room")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), PathOf(kFileNumber))) << s.ToString();
  EXPECT_EQ(calls, 3);
}

TEST_F(CheckpointFileTest, MissingFileIsNotFound) {
  ReadBack r = Read(PathOf(99), 100);
  EXPECT_TRUE(r.status.IsNotFound()) << r.status.ToString();
}

}  // namespace
}  // namespace loci::engine
