// Tests of the blob arena (blob/arena, blob/format) on MemEnv: append/read round trips around the
// 8-byte frame alignment and up to 1 MiB, the frame layout on disk, concurrent appends, rotation
// through tiny generations (blobs larger than a generation included), reopening, the read view's
// MakeReadable contract, detection of damaged payloads, frame headers and generation headers,
// references that do not match their frame (generation, offset, length, checksum), missing and
// foreign generation files, and where appends resume after a reopen.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "blob/arena.h"
#include "blob/format.h"
#include "common/coding.h"
#include "common/file_names.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci::blob {
namespace {

using test::Contains;

const std::string kDir = "/db";

std::string Payload(size_t n, uint32_t seed) {
  return test::RandomBytes(n, seed * 31 + static_cast<uint32_t>(n));
}

std::string GenPath(uint32_t generation) {
  return kDir + "/" + ArenaGenerationFileName(generation);
}

class BlobArenaTest : public ::testing::Test {
 protected:
  BlobArenaTest() : env_(NewMemEnv()) { EXPECT_TRUE(env_->CreateDir(kDir).ok()); }

  ArenaOptions Options(uint64_t generation_bytes = 4 << 20, uint64_t preallocate_bytes = 64 << 10,
                       DbUuid uuid = test::TestUuid(1)) {
    ArenaOptions o;
    o.db_uuid = uuid;
    o.generation_bytes = generation_bytes;
    o.preallocate_bytes = preallocate_bytes;
    return o;
  }

  std::unique_ptr<BlobArena> Open(const ArenaOptions& o) {
    auto a = std::make_unique<BlobArena>(env_.get(), kDir, o);
    Status s = a->Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return a;
  }

  std::vector<BlobRef> Append(BlobArena* a, const std::vector<std::string>& payloads) {
    std::vector<std::string_view> views(payloads.begin(), payloads.end());
    std::vector<BlobRef> refs(payloads.size());
    Status s = a->Append(views, refs);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return refs;
  }

  BlobRef AppendOne(BlobArena* a, const std::string& payload) { return Append(a, {payload})[0]; }

  void ExpectReadable(BlobArena* a, const BlobRef& ref, const std::string& payload) {
    Status s = a->MakeReadable(ref);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ExpectViewable(a, ref, payload);
  }

  void ExpectViewable(const BlobArena* a, const BlobRef& ref, const std::string& payload) {
    std::string_view view;
    Status s = a->View(ref, &view);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_TRUE(view == payload) << "payload of " << payload.size() << " bytes differs";
    std::string copy;
    ASSERT_TRUE(a->Read(ref, &copy).ok());
    EXPECT_TRUE(copy == payload);
  }

  std::string ReadFile(const std::string& path) { return test::ReadWholeFile(env_.get(), path); }

  void WriteAt(const std::string& path, uint64_t offset, std::string_view bytes) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(path, Env::OpenMode::kCreateOrOpen, &f).ok());
    ASSERT_TRUE(f->Write(offset, bytes).ok());
  }

  void FlipByte(const std::string& path, uint64_t offset, uint8_t mask) {
    std::string image = ReadFile(path);
    ASSERT_LT(offset, image.size());
    char c = static_cast<char>(image[offset] ^ mask);
    WriteAt(path, offset, std::string_view(&c, 1));
  }

  uint64_t FileSize(const std::string& path) {
    uint64_t size = 0;
    EXPECT_TRUE(env_->GetFileSize(path, &size).ok());
    return size;
  }

  // A Corruption that names `file` and the frame's offset.
  static void ExpectCorruptionAt(const Status& s, const std::string& file, uint64_t offset) {
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), file)) << s.ToString();
    EXPECT_TRUE(Contains(s.message(), "offset " + std::to_string(offset))) << s.ToString();
  }

  std::unique_ptr<Env> env_;
};

TEST_F(BlobArenaTest, AppendAndReadBackAroundTheFrameAlignment) {
  auto a = Open(Options());
  const size_t sizes[] = {1,  2,  7,  8,  9,    15,   16,   17,    23,     24,
                          25, 63, 64, 65, 4095, 4096, 4097, 65536, 1 << 20};
  std::vector<std::string> payloads;
  std::vector<BlobRef> refs;
  for (size_t n : sizes) {
    payloads.push_back(Payload(n, 1));
    refs.push_back(AppendOne(a.get(), payloads.back()));
  }
  for (size_t i = 0; i < refs.size(); ++i) {
    SCOPED_TRACE("payload of " + std::to_string(sizes[i]) + " bytes");
    const BlobRef& r = refs[i];
    EXPECT_EQ(r.generation, 1u);
    EXPECT_EQ(r.length, sizes[i]);
    EXPECT_GE(r.offset, kGenerationHeaderBlock);
    EXPECT_EQ(r.offset % kFrameAlignment, 0u);
    EXPECT_EQ(r.end(), r.offset + ((kFrameHeaderSize + sizes[i] + 7) & ~uint64_t{7}));
    EXPECT_EQ(r.checksum, PayloadChecksum(payloads[i], r.generation, r.offset));
    if (i > 0) {
      EXPECT_EQ(r.offset, refs[i - 1].end());
    }
    ExpectReadable(a.get(), r, payloads[i]);
    std::string_view view;
    ASSERT_TRUE(a->View(r, &view).ok());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(view.data()) % 8, 0u) << "payloads are 8-aligned";
  }
  EXPECT_EQ(refs.front().offset, kGenerationHeaderBlock);
}

TEST_F(BlobArenaTest, OneAppendOfSeveralPayloadsSkipsEmptyOnes) {
  auto a = Open(Options());
  const std::vector<std::string> payloads = {"alpha", "", "bravo-charlie", "", "d"};
  std::vector<BlobRef> refs = Append(a.get(), payloads);
  EXPECT_TRUE(refs[1].empty());
  EXPECT_TRUE(refs[3].empty());
  EXPECT_EQ(refs[1], BlobRef());
  EXPECT_EQ(refs[2].offset, refs[0].end());
  EXPECT_EQ(refs[4].offset, refs[2].end());
  for (size_t i = 0; i < payloads.size(); ++i) ExpectReadable(a.get(), refs[i], payloads[i]);
}

TEST_F(BlobArenaTest, AppendingOnlyEmptyPayloadsCreatesNothing) {
  auto a = Open(Options());
  std::vector<BlobRef> refs = Append(a.get(), {"", ""});
  EXPECT_TRUE(refs[0].empty() && refs[1].empty());
  EXPECT_TRUE(a->Files().empty());
  EXPECT_EQ(a->Stats().generations, 0u);
  std::string_view view = "junk";
  ASSERT_TRUE(a->View(BlobRef(), &view).ok());
  EXPECT_TRUE(view.empty());
  EXPECT_TRUE(a->MakeReadable(BlobRef()).ok());
}

TEST_F(BlobArenaTest, FramesAndGenerationHeaderAreLaidOutAsDocumented) {
  auto a = Open(Options(4 << 20, /*preallocate_bytes=*/0));
  const std::string payload = "0123456789abc";  // 13 bytes: 3 bytes of frame padding
  BlobRef r = AppendOne(a.get(), payload);
  const std::string image = ReadFile(GenPath(1));
  ASSERT_EQ(image.size(), r.end());
  EXPECT_EQ(image.substr(0, 8), "LOCIBLB1");
  EXPECT_EQ(DecodeFixed32(image.data() + r.offset), kFrameMagic);
  EXPECT_EQ(DecodeFixed32(image.data() + r.offset + 4), 13u);
  EXPECT_EQ(DecodeFixed32(image.data() + r.offset + 8), 1u);
  EXPECT_EQ(DecodeFixed64(image.data() + r.offset + 16), r.checksum);
  EXPECT_EQ(image.substr(r.offset + kFrameHeaderSize, 13), payload);
  EXPECT_EQ(image.substr(r.offset + kFrameHeaderSize + 13), std::string(3, '\0'));
  DbUuid uuid;
  uint32_t generation = 0;
  ASSERT_TRUE(DecodeGenerationHeader(image.substr(0, kGenerationHeaderBlock), GenPath(1), &uuid,
                                     &generation)
                  .ok());
  EXPECT_EQ(uuid, test::TestUuid(1));
  EXPECT_EQ(generation, 1u);
}

TEST_F(BlobArenaTest, ViewBeyondTheMappedSizeNeedsMakeReadable) {
  auto a = Open(Options());
  const std::string payload = Payload(3000, 2);
  BlobRef r = AppendOne(a.get(), payload);
  std::string_view view;
  Status before = a->View(r, &view);
  ExpectCorruptionAt(before, GenPath(1), r.offset);
  ASSERT_TRUE(a->MakeReadable(r).ok());
  ExpectViewable(a.get(), r, payload);
  EXPECT_GE(a->Stats().bytes, r.end());
}

TEST_F(BlobArenaTest, MakeReadablePastTheEndOfTheFileIsCorruption) {
  auto a = Open(Options(4 << 20, /*preallocate_bytes=*/0));
  BlobRef r = AppendOne(a.get(), "abc");
  BlobRef beyond = r;
  beyond.offset = r.end() + 4096;
  ExpectCorruptionAt(a->MakeReadable(beyond), GenPath(1), beyond.offset);
}

TEST_F(BlobArenaTest, ConcurrentAppendsFromFourThreadsAllReadBack) {
  // Small generations, so threads also race through rotation.
  auto a = Open(Options(/*generation_bytes=*/256 << 10, /*preallocate_bytes=*/16 << 10));
  struct Appended {
    BlobRef ref;
    std::string payload;
  };
  std::mutex mu;
  std::vector<Appended> all;
  auto worker = [&](int t) {
    std::mt19937 rng(t);
    std::vector<Appended> mine;
    for (int i = 0; i < 150; ++i) {
      const size_t count = 1 + rng() % 3;
      std::vector<std::string> payloads;
      for (size_t j = 0; j < count; ++j) {
        payloads.push_back(Payload(1 + rng() % 3000, static_cast<uint32_t>(t * 1000 + i * 4 + j)));
      }
      std::vector<std::string_view> views(payloads.begin(), payloads.end());
      std::vector<BlobRef> refs(count);
      Status s = a->Append(views, refs);
      EXPECT_TRUE(s.ok()) << s.ToString();
      for (size_t j = 0; j < count; ++j) mine.push_back({refs[j], payloads[j]});
    }
    std::lock_guard<std::mutex> lock(mu);
    all.insert(all.end(), mine.begin(), mine.end());
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(worker, t);
  for (std::thread& th : threads) th.join();

  ASSERT_GT(all.size(), 600u);
  for (const Appended& x : all) ExpectReadable(a.get(), x.ref, x.payload);
  // No two frames overlap.
  std::sort(all.begin(), all.end(), [](const Appended& x, const Appended& y) {
    return std::tie(x.ref.generation, x.ref.offset) < std::tie(y.ref.generation, y.ref.offset);
  });
  for (size_t i = 1; i < all.size(); ++i) {
    if (all[i].ref.generation == all[i - 1].ref.generation) {
      EXPECT_LE(all[i - 1].ref.end(), all[i].ref.offset);
    }
  }
  EXPECT_GE(a->Stats().generations, 3u);
}

TEST_F(BlobArenaTest, GenerationsRotateAtGenerationBytes) {
  constexpr uint64_t kGen = 16 << 10;
  auto a = Open(Options(kGen, /*preallocate_bytes=*/4096));
  std::vector<std::pair<BlobRef, std::string>> blobs;
  for (int i = 0; i < 30; ++i) {
    std::string p = Payload(1000 + (i * 397) % 2000, i);
    blobs.emplace_back(AppendOne(a.get(), p), p);
  }
  const uint32_t before_big = blobs.back().first.generation;
  EXPECT_GE(before_big, 4u);
  // A blob larger than a whole generation gets a fresh generation of its own.
  const std::string big = Payload(40 << 10, 99);
  BlobRef big_ref = AppendOne(a.get(), big);
  EXPECT_EQ(big_ref.generation, before_big + 1);
  EXPECT_EQ(big_ref.offset, kGenerationHeaderBlock);
  blobs.emplace_back(big_ref, big);
  BlobRef after = AppendOne(a.get(), "small");
  EXPECT_EQ(after.generation, big_ref.generation + 1);
  blobs.emplace_back(after, "small");

  for (const auto& [ref, p] : blobs) {
    ExpectReadable(a.get(), ref, p);
    if (ref.generation != big_ref.generation) {
      EXPECT_LE(ref.end(), kGen);
    }
  }
  const std::vector<std::string> files = a->Files();
  EXPECT_EQ(files.size(), after.generation);
  EXPECT_EQ(a->Stats().generations, files.size());
  for (uint32_t g = 1; g <= files.size(); ++g) {
    EXPECT_EQ(files[g - 1], GenPath(g));
    if (g != big_ref.generation) {
      EXPECT_LE(FileSize(files[g - 1]), kGen);
    }
  }
}

TEST_F(BlobArenaTest, ReopenedArenaReadsEverythingWithoutMakeReadable) {
  std::vector<std::pair<BlobRef, std::string>> blobs;
  {
    auto a = Open(Options(16 << 10, 4096));
    for (int i = 0; i < 25; ++i) {
      std::string p = Payload(500 + i * 113, i);
      blobs.emplace_back(AppendOne(a.get(), p), p);
    }
    blobs.emplace_back(AppendOne(a.get(), Payload(30 << 10, 5)), Payload(30 << 10, 5));
  }
  auto a = Open(Options(16 << 10, 4096));
  for (const auto& [ref, p] : blobs) ExpectViewable(a.get(), ref, p);

  ArenaOptions ro = Options(16 << 10, 4096);
  ro.read_only = true;
  auto r = Open(ro);
  for (const auto& [ref, p] : blobs) ExpectViewable(r.get(), ref, p);
  std::vector<std::string_view> v = {"x"};
  std::vector<BlobRef> refs(1);
  EXPECT_TRUE(r->Append(v, refs).IsNotSupported());
}

TEST_F(BlobArenaTest, AppendsResumeInTheSameGenerationWhenEverythingIsReferenced) {
  BlobRef a1, a2;
  {
    auto a = Open(Options());
    a1 = AppendOne(a.get(), "first blob");
    a2 = AppendOne(a.get(), "second blob");
  }
  EXPECT_EQ(FileSize(GenPath(1)), a2.end()) << "a clean close drops the preallocated zeros";
  auto a = Open(Options());
  ASSERT_TRUE(a->NoteReferenced(a1).ok());
  ASSERT_TRUE(a->NoteReferenced(a2).ok());
  ASSERT_TRUE(a->NoteReferenced(BlobRef()).ok());  // empty refs are ignored
  BlobRef a3 = AppendOne(a.get(), "third blob");
  EXPECT_EQ(a3.generation, 1u);
  EXPECT_EQ(a3.offset, a2.end());
  EXPECT_EQ(a->Files().size(), 1u);
  ExpectReadable(a.get(), a1, "first blob");
  ExpectReadable(a.get(), a3, "third blob");
}

// Garbage of never-committed writes after the last referenced blob is overwritten: a restart
// does not start a new generation (which would leak one file per unclean restart).
TEST_F(BlobArenaTest, AppendsOverwriteGarbageAfterTheReferencedEnd) {
  BlobRef a1, a2;
  {
    auto a = Open(Options());
    a1 = AppendOne(a.get(), "acknowledged");
    a2 = AppendOne(a.get(), "never acknowledged");
  }
  {
    auto a = Open(Options());
    ASSERT_TRUE(a->NoteReferenced(a1).ok());  // a2 was never committed: its bytes are garbage
    BlobRef next = AppendOne(a.get(), "after recovery, a longer blob");
    EXPECT_EQ(next.generation, 1u);
    EXPECT_EQ(next.offset, a1.end());
    ExpectReadable(a.get(), a1, "acknowledged");
    ExpectReadable(a.get(), next, "after recovery, a longer blob");
    std::string_view stale;
    EXPECT_FALSE(a->View(a2, &stale).ok()) << "the garbage was overwritten";
  }
  // Nothing noted at all: appends start right after the header.
  auto a = Open(Options());
  BlobRef first = AppendOne(a.get(), "x");
  EXPECT_EQ(first.generation, 1u);
  EXPECT_EQ(first.offset, kGenerationHeaderBlock);
}

TEST_F(BlobArenaTest, PreallocatedZerosLeftByACrashAreReused) {
  BlobRef a1;
  {
    auto a = Open(Options());
    a1 = AppendOne(a.get(), "blob");
  }
  WriteAt(GenPath(1), a1.end(), std::string(8192, '\0'));  // as if the close never happened
  auto a = Open(Options());
  ASSERT_TRUE(a->NoteReferenced(a1).ok());
  BlobRef next = AppendOne(a.get(), "next");
  EXPECT_EQ(next.generation, 1u);
  EXPECT_EQ(next.offset, a1.end());
  ExpectReadable(a.get(), next, "next");
}

TEST_F(BlobArenaTest, AHeaderOnlyGenerationIsResumed) {
  WriteAt(GenPath(1), 0, EncodeGenerationHeader(test::TestUuid(1), 1));
  auto a = Open(Options());
  BlobRef r = AppendOne(a.get(), "first");
  EXPECT_EQ(r.generation, 1u);
  EXPECT_EQ(r.offset, kGenerationHeaderBlock);
  ExpectReadable(a.get(), r, "first");
}

TEST_F(BlobArenaTest, EveryDamagedPayloadByteIsDetected) {
  auto a = Open(Options());
  const std::string payload = Payload(45, 7);
  BlobRef r = AppendOne(a.get(), payload);
  ASSERT_TRUE(a->MakeReadable(r).ok());
  for (uint64_t i = 0; i < payload.size(); ++i) {
    SCOPED_TRACE("payload byte " + std::to_string(i));
    const uint64_t at = r.offset + kFrameHeaderSize + i;
    FlipByte(GenPath(1), at, static_cast<uint8_t>(1 << (i % 8)));
    std::string_view view;
    ExpectCorruptionAt(a->View(r, &view), GenPath(1), r.offset);
    FlipByte(GenPath(1), at, static_cast<uint8_t>(1 << (i % 8)));
  }
  ExpectViewable(a.get(), r, payload);
}

TEST_F(BlobArenaTest, EveryDamagedFrameHeaderBitIsDetected) {
  auto a = Open(Options());
  BlobRef r = AppendOne(a.get(), "a payload of some length");
  ASSERT_TRUE(a->MakeReadable(r).ok());
  for (uint64_t i = 0; i < kFrameHeaderSize; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("frame header byte " + std::to_string(i) + " bit " + std::to_string(bit));
      FlipByte(GenPath(1), r.offset + i, static_cast<uint8_t>(1 << bit));
      std::string_view view;
      ExpectCorruptionAt(a->View(r, &view), GenPath(1), r.offset);
      FlipByte(GenPath(1), r.offset + i, static_cast<uint8_t>(1 << bit));
    }
  }
  ExpectViewable(a.get(), r, "a payload of some length");
}

TEST_F(BlobArenaTest, ReferencesThatDoNotMatchTheirFrameAreCorruption) {
  auto a = Open(Options(/*generation_bytes=*/16 << 10, 4096));
  BlobRef r1 = AppendOne(a.get(), Payload(100, 1));
  BlobRef r2 = AppendOne(a.get(), Payload(200, 2));
  BlobRef big = AppendOne(a.get(), Payload(20 << 10, 3));  // generation 2, offset 4096
  ASSERT_EQ(big.generation, 2u);
  for (const BlobRef& r : {r1, r2, big}) ASSERT_TRUE(a->MakeReadable(r).ok());
  std::string_view view;

  BlobRef wrong = r1;
  wrong.generation = 2;  // same offset in another existing generation
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(2), wrong.offset);

  wrong = r2;
  wrong.offset = r1.offset;  // another frame
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  wrong.offset = r2.offset + 8;
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  wrong.offset = r2.offset - 8;
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  wrong.offset = 0;  // inside the generation header
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  wrong.offset = 1ull << 40;  // far past the mapping
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  wrong.offset = UINT64_MAX - 7;  // end() wraps around
  EXPECT_TRUE(a->View(wrong, &view).IsCorruption());

  for (int64_t delta : {-1, 1, -8, 8}) {
    wrong = r2;
    wrong.length = static_cast<uint32_t>(r2.length + delta);
    ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);
  }
  wrong = r2;
  wrong.length = UINT32_MAX;
  EXPECT_TRUE(a->View(wrong, &view).IsCorruption());

  wrong = r2;
  wrong.checksum ^= 1;
  ExpectCorruptionAt(a->View(wrong, &view), GenPath(1), wrong.offset);

  wrong = r2;
  wrong.generation = 77;  // no such generation
  Status s = a->View(wrong, &view);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), ArenaGenerationFileName(77))) << s.ToString();
  EXPECT_TRUE(a->MakeReadable(wrong).IsCorruption());
  wrong.generation = UINT32_MAX;
  EXPECT_TRUE(a->View(wrong, &view).IsCorruption());
}

TEST_F(BlobArenaTest, MissingGenerationFileIsCorruption) {
  std::vector<BlobRef> refs;
  {
    auto a = Open(Options(16 << 10, 4096));
    for (int i = 0; i < 3; ++i) refs.push_back(AppendOne(a.get(), Payload(10 << 10, i)));
  }
  ASSERT_EQ(refs[1].generation, 2u);
  ASSERT_TRUE(env_->RemoveFile(GenPath(2)).ok());
  auto a = std::make_unique<BlobArena>(env_.get(), kDir, Options(16 << 10, 4096));
  Status open = a->Open();
  if (!open.ok()) {
    EXPECT_TRUE(open.IsCorruption()) << open.ToString();
    return;
  }
  ExpectViewable(a.get(), refs[0], Payload(10 << 10, 0));
  ExpectViewable(a.get(), refs[2], Payload(10 << 10, 2));
  EXPECT_TRUE(a->NoteReferenced(refs[0]).ok());
  Status noted = a->NoteReferenced(refs[1]);
  EXPECT_TRUE(noted.IsCorruption()) << noted.ToString();
  EXPECT_TRUE(Contains(noted.message(), GenPath(2))) << noted.ToString();
  std::string_view view;
  Status s = a->View(refs[1], &view);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(2))) << s.ToString();
  s = a->MakeReadable(refs[1]);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(2))) << s.ToString();
}

TEST_F(BlobArenaTest, GenerationOfAnotherDatabaseFailsOpen) {
  {
    auto a = Open(Options(4 << 20, 4096, test::TestUuid(1)));
    AppendOne(a.get(), "mine");
  }
  auto other =
      std::make_unique<BlobArena>(env_.get(), kDir, Options(4 << 20, 4096, test::TestUuid(2)));
  Status s = other->Open();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(1))) << s.ToString();

  // A foreign generation dropped next to our own.
  WriteAt(GenPath(2), 0, EncodeGenerationHeader(test::TestUuid(2), 2));
  auto mine =
      std::make_unique<BlobArena>(env_.get(), kDir, Options(4 << 20, 4096, test::TestUuid(1)));
  s = mine->Open();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(2))) << s.ToString();
}

TEST_F(BlobArenaTest, GenerationUnderAnotherNumberFailsOpen) {
  {
    auto a = Open(Options());
    AppendOne(a.get(), "x");
  }
  ASSERT_TRUE(env_->RenameFile(GenPath(1), GenPath(7)).ok());
  auto a = std::make_unique<BlobArena>(env_.get(), kDir, Options());
  Status s = a->Open();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(7))) << s.ToString();
}

// A generation whose header does not verify is set aside by Open (a crash while creating it
// leaves it so); if a committed record refers to it after all, recovery learns through
// NoteReferenced, and reads fail. Either way the damage is Corruption naming the file.
TEST_F(BlobArenaTest, EveryDamagedGenerationHeaderBitIsCorruptionWhenReferenced) {
  BlobRef ref;
  {
    auto a = Open(Options(1 << 20, 4096));
    ref = AppendOne(a.get(), "x");
  }
  constexpr size_t kCheckedHeader = 8 + 4 + 16 + 4 + 8;
  for (size_t i = 0; i < kCheckedHeader; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      SCOPED_TRACE("header byte " + std::to_string(i) + " bit " + std::to_string(bit));
      FlipByte(GenPath(1), i, static_cast<uint8_t>(1 << bit));
      auto a = std::make_unique<BlobArena>(env_.get(), kDir, Options(1 << 20, 4096));
      Status s = a->Open();
      if (s.ok()) s = a->NoteReferenced(ref);
      EXPECT_TRUE(s.IsCorruption()) << s.ToString();
      EXPECT_TRUE(Contains(s.message(), GenPath(1))) << s.ToString();
      std::string_view view;
      EXPECT_FALSE(a->View(ref, &view).ok());
      a.reset();
      FlipByte(GenPath(1), i, static_cast<uint8_t>(1 << bit));
    }
  }
  auto a = Open(Options(1 << 20, 4096));
  EXPECT_TRUE(a->NoteReferenced(ref).ok());
  ExpectViewable(a.get(), ref, "x");
}

TEST_F(BlobArenaTest, TruncatedGenerationHeaderIsCorruptionWhenReferenced) {
  BlobRef ref;
  ref.generation = 1;
  ref.offset = kGenerationHeaderBlock;
  ref.length = 1;
  WriteAt(GenPath(1), 0, EncodeGenerationHeader(test::TestUuid(1), 1).substr(0, 30));
  auto a = std::make_unique<BlobArena>(env_.get(), kDir, Options());
  Status s = a->Open();
  if (s.ok()) s = a->NoteReferenced(ref);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), GenPath(1))) << s.ToString();
}

// An unreferenced generation with a bad header is never reused or overwritten: appends go to a
// new number, and RemoveUnreferenced deletes it.
TEST_F(BlobArenaTest, SetAsideGenerationIsNeverReusedAndCanBeRemoved) {
  WriteAt(GenPath(1), 0, std::string(kGenerationHeaderBlock, '\0'));  // header never written
  auto a = Open(Options());
  BlobRef r = AppendOne(a.get(), "fresh");
  EXPECT_EQ(r.generation, 2u);
  ExpectReadable(a.get(), r, "fresh");
  EXPECT_TRUE(env_->FileExists(GenPath(1)));
  ASSERT_TRUE(a->RemoveUnreferenced().ok());
  EXPECT_FALSE(env_->FileExists(GenPath(1)));
  EXPECT_TRUE(env_->FileExists(GenPath(2)));
}

TEST_F(BlobArenaTest, TakeUnloggedFilesListsEveryGenerationAppendedToOnce) {
  auto a = Open(Options(16 << 10, 4096));  // logged_blob_bytes 0: no blob is logged
  std::vector<WritableFile*> files;
  a->TakeUnloggedFiles(&files);
  EXPECT_TRUE(files.empty());
  AppendOne(a.get(), "a");
  AppendOne(a.get(), "b");
  BlobRef big = AppendOne(a.get(), Payload(20 << 10, 1));
  ASSERT_EQ(big.generation, 2u);
  a->TakeUnloggedFiles(&files);
  ASSERT_EQ(files.size(), 2u);  // both generations, each once
  EXPECT_EQ(files[0]->path(), GenPath(1));
  EXPECT_EQ(files[1]->path(), GenPath(2));
  files.clear();
  a->TakeUnloggedFiles(&files);
  EXPECT_TRUE(files.empty()) << "taken files are covered until the next append";
  AppendOne(a.get(), "c");
  a->TakeUnloggedFiles(&files);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(a->SyncAll().ok());
}

// Logged blobs (up to logged_blob_bytes) never make a file need a sync before a WAL write; an
// unlogged one does.
TEST_F(BlobArenaTest, LoggedBlobsWaitForSyncUnsyncedOnly) {
  ArenaOptions o = Options();
  o.logged_blob_bytes = 100;
  auto a = Open(o);
  AppendOne(a.get(), std::string(100, 'l'));
  std::vector<WritableFile*> files;
  a->TakeUnloggedFiles(&files);
  EXPECT_TRUE(files.empty());
  AppendOne(a.get(), std::string(101, 'u'));
  a->TakeUnloggedFiles(&files);
  EXPECT_EQ(files.size(), 1u);
  ASSERT_TRUE(a->SyncUnsynced().ok());
}

// Recovery restores a logged blob whose arena copy does not verify: read-write by writing the
// frame again (the next open finds it intact), read-only in memory (the file is left alone).
TEST_F(BlobArenaTest, RestoreFromLogRewritesOrHoldsADamagedCopy) {
  BlobRef ref;
  {
    auto a = Open(Options());
    ref = AppendOne(a.get(), "the logged bytes");
    ASSERT_TRUE(a->SyncAll().ok());
  }
  const std::string pristine = ReadFile(GenPath(1));
  WriteAt(GenPath(1), ref.offset + kFrameHeaderSize + 2, "X");
  {
    ArenaOptions ro = Options();
    ro.read_only = true;
    auto a = Open(ro);
    std::string out;
    EXPECT_TRUE(a->Read(ref, &out).IsCorruption());
    ASSERT_TRUE(a->RestoreFromLog(ref, "the logged bytes").ok());
    EXPECT_EQ(a->restored_from_log(), 1u);
    ASSERT_TRUE(a->Read(ref, &out).ok());
    EXPECT_EQ(out, "the logged bytes");
    EXPECT_EQ(std::string_view(a->Locate(ref), ref.length), "the logged bytes");
    EXPECT_NE(ReadFile(GenPath(1)), pristine) << "read-only: the file is not written";
  }
  {
    auto a = Open(Options());
    ASSERT_TRUE(a->NoteReferenced(ref).ok());
    ASSERT_TRUE(a->RestoreFromLog(ref, "the logged bytes").ok());
    EXPECT_EQ(a->restored_from_log(), 1u);
    ASSERT_TRUE(a->SyncUnsynced().ok());
  }
  EXPECT_EQ(ReadFile(GenPath(1)).substr(0, ref.end()), pristine.substr(0, ref.end()));
  auto a = Open(Options());
  ASSERT_TRUE(a->RestoreFromLog(ref, "the logged bytes").ok());
  EXPECT_EQ(a->restored_from_log(), 0u) << "intact copies are left alone";
}

TEST(BlobFormatTest, VerifyFrameRejectsAShortFrameWithoutReadingPastIt) {
  std::string frame;
  const std::string payload = "payload bytes";
  BlobRef ref;
  ref.generation = 3;
  ref.offset = 8192;
  ref.length = static_cast<uint32_t>(payload.size());
  ref.checksum = PayloadChecksum(payload, 3, 8192);
  AppendFrame(&frame, payload, 3, 8192, ref.checksum);
  std::string_view out;
  ASSERT_TRUE(VerifyFrame(frame, ref, "f", &out).ok());
  EXPECT_EQ(out, payload);
  for (size_t len = 0; len < kFrameHeaderSize + payload.size(); ++len) {
    std::unique_ptr<char[]> exact(new char[len + 1]);
    std::memcpy(exact.get(), frame.data(), len);
    Status s = VerifyFrame(std::string_view(exact.get(), len), ref, "f", &out);
    EXPECT_TRUE(s.IsCorruption()) << len;
  }
}

TEST(BlobFormatTest, ChecksumIsSeededWithGenerationAndOffset) {
  const std::string p = "same bytes";
  EXPECT_NE(PayloadChecksum(p, 1, 4096), PayloadChecksum(p, 2, 4096));
  EXPECT_NE(PayloadChecksum(p, 1, 4096), PayloadChecksum(p, 1, 4104));
  EXPECT_EQ(PayloadChecksum(p, 1, 4096), PayloadChecksum(p, 1, 4096));
}

TEST(BlobFormatTest, GenerationFileNamesFormatAndParse) {
  EXPECT_EQ(ArenaGenerationFileName(3), "arena-00000003.blob");
  EXPECT_EQ(ArenaGenerationFileName(123456789), "arena-123456789.blob");
  for (uint32_t g : {1u, 3u, 99999999u, 100000000u, UINT32_MAX}) {
    uint32_t got = 0;
    ASSERT_TRUE(ParseArenaGenerationFileName(ArenaGenerationFileName(g), &got)) << g;
    EXPECT_EQ(got, g);
  }
  for (const char* bad : {"", "arena-00000000.blob", "arena-.blob", "arena-4294967296.blob",
                          "arena-1.blo", "arena-1.blob.tmp", "arena--1.blob", "arena-+1.blob",
                          "xarena-1.blob", "arena-1x.blob", "wal-00000001.log"}) {
    uint32_t got;
    EXPECT_FALSE(ParseArenaGenerationFileName(bad, &got)) << bad;
  }
}

}  // namespace
}  // namespace loci::blob

// --- Compaction's mechanisms: Seal, pins, CopyForward, RemoveGeneration, RemoveUnreferenced.

namespace loci::blob {
namespace {

TEST_F(BlobArenaTest, SealStartsANewGenerationAndGivesBackThePreallocatedTail) {
  auto a = Open(Options(4 << 20, 64 << 10));
  BlobRef first = AppendOne(a.get(), Payload(1000, 1));
  ExpectReadable(a.get(), first, Payload(1000, 1));
  std::vector<GenerationUse> uses = a->Generations();
  ASSERT_EQ(uses.size(), 1u);
  EXPECT_TRUE(uses[0].active);
  EXPECT_EQ(uses[0].end, first.end());
  ASSERT_TRUE(a->Seal().ok());
  uses = a->Generations();
  ASSERT_EQ(uses.size(), 2u) << "a new generation takes the appends";
  EXPECT_FALSE(uses[0].active) << "sealed: no append goes there any more";
  EXPECT_TRUE(uses[1].active);
  EXPECT_EQ(uses[1].end, kGenerationHeaderBlock);
  BlobRef second = AppendOne(a.get(), "after the seal");
  EXPECT_EQ(second.generation, first.generation + 1);
  uint64_t size = 0;
  ASSERT_TRUE(env_->GetFileSize(GenPath(first.generation), &size).ok());
  EXPECT_EQ(size, first.end()) << "the zeros preallocated past the last frame are given back";
  ExpectReadable(a.get(), first, Payload(1000, 1));
  ExpectReadable(a.get(), second, "after the seal");
}

TEST_F(BlobArenaTest, AnAppendPinsItsGenerationUntilUnpinned) {
  auto a = Open(Options());
  std::vector<std::string_view> payloads = {"pinned blob"};
  std::vector<BlobRef> refs(1);
  uint32_t pinned = 0;
  ASSERT_TRUE(a->Append(payloads, refs, &pinned).ok());
  EXPECT_EQ(pinned, refs[0].generation);
  ASSERT_TRUE(a->Seal().ok());
  ASSERT_TRUE(a->Generations().front().pinned);
  EXPECT_TRUE(a->RemoveGeneration(pinned).IsInvalidArgument());
  a->Unpin(pinned);
  EXPECT_FALSE(a->Generations().front().pinned);
  std::vector<std::string_view> empty = {""};
  ASSERT_TRUE(a->Append(empty, refs, &pinned).ok());
  EXPECT_EQ(pinned, 0u) << "nothing appended, nothing pinned";
}

TEST_F(BlobArenaTest, CopyForwardThenRemoveGeneration) {
  auto a = Open(Options());
  std::vector<std::string> payloads = {Payload(100, 1), Payload(5000, 2), Payload(7, 3)};
  std::vector<BlobRef> refs = Append(a.get(), payloads);
  for (const BlobRef& r : refs) ASSERT_TRUE(a->MakeReadable(r).ok());
  ASSERT_TRUE(a->Seal().ok());
  std::vector<BlobRef> moved(refs.size());
  ASSERT_TRUE(a->CopyForward(refs, moved).ok());
  for (size_t i = 0; i < refs.size(); ++i) {
    EXPECT_EQ(moved[i].generation, refs[i].generation + 1);
    ExpectViewable(a.get(), moved[i], payloads[i]);
  }
  ASSERT_TRUE(a->RemoveGeneration(refs[0].generation).ok());
  EXPECT_FALSE(env_->FileExists(GenPath(refs[0].generation)));
  std::string_view view;
  EXPECT_TRUE(a->View(refs[0], &view).IsCorruption());
  Result<uint64_t> discarded = a->Discard({refs[1]});
  EXPECT_TRUE(discarded.ok()) << "a removed generation's frames are gone already";
  EXPECT_EQ(a->Stats().generations_removed, 1u);
  EXPECT_EQ(a->Stats().generations, 1u);
  for (size_t i = 0; i < refs.size(); ++i) ExpectViewable(a.get(), moved[i], payloads[i]);
}

TEST_F(BlobArenaTest, CopyForwardRefusesADamagedBlob) {
  auto a = Open(Options());
  BlobRef r = AppendOne(a.get(), Payload(300, 4));
  ASSERT_TRUE(a->MakeReadable(r).ok());
  WriteAt(GenPath(r.generation), r.offset + kFrameHeaderSize + 10, "X");
  std::vector<BlobRef> moved(1);
  Status s = a->CopyForward(std::span(&r, 1), moved);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(BlobArenaTest, RemoveUnreferencedDeletesOlderGenerationsNothingRefersTo) {
  std::vector<BlobRef> refs;
  {
    auto a = Open(Options(16 << 10, 4096));
    for (uint32_t i = 0; i < 3; ++i) refs.push_back(AppendOne(a.get(), Payload(14 << 10, i)));
  }
  ASSERT_EQ(refs[2].generation, 3u);
  auto a = Open(Options(16 << 10, 4096));
  ASSERT_TRUE(a->NoteReferenced(refs[1]).ok());  // generation 1 is referenced by nothing
  ASSERT_TRUE(a->RemoveUnreferenced().ok());
  EXPECT_FALSE(env_->FileExists(GenPath(1)));
  EXPECT_TRUE(env_->FileExists(GenPath(2)));
  EXPECT_TRUE(env_->FileExists(GenPath(3))) << "the newest stays: appends resume there";
}

// On the real file system: a sealed generation gives back its descriptor and the reservation
// past its end, still reads, and is reopened by a Discard.
TEST(BlobArenaPosixTest, ReleaseSealedGivesBackDescriptorAndReservation) {
  test::TempDir dir;
  ArenaOptions o;
  o.db_uuid = test::TestUuid(1);
  o.generation_bytes = 64 << 20;
  o.preallocate_bytes = 0;
  BlobArena a(Env::Default(), dir.path(), o);
  ASSERT_TRUE(a.Open().ok());
  std::vector<std::string> payloads = {Payload(9000, 1), Payload(100, 2)};
  std::vector<std::string_view> views(payloads.begin(), payloads.end());
  std::vector<BlobRef> refs(2);
  ASSERT_TRUE(a.Append(views, refs).ok());
  for (const BlobRef& r : refs) ASSERT_TRUE(a.MakeReadable(r).ok());
  Result<uint32_t> released = a.ReleaseSealed();
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 0u) << "the active generation keeps its file";
  ASSERT_TRUE(a.Seal().ok());
  std::vector<std::string_view> next = {"next"};
  std::vector<BlobRef> next_ref(1);
  ASSERT_TRUE(a.Append(next, next_ref).ok());
  released = a.ReleaseSealed();
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 0u) << "not synced yet";
  ASSERT_TRUE(a.SyncUnsynced().ok());
  released = a.ReleaseSealed();
  ASSERT_TRUE(released.ok()) << released.status().ToString();
  EXPECT_EQ(*released, 1u);
  ArenaStats stats = a.Stats();
  EXPECT_EQ(stats.open_files, 1u);
  EXPECT_EQ(stats.reserved_bytes, refs[1].end() + o.generation_bytes)
      << "the sealed one reserves only its length";
  for (size_t i = 0; i < refs.size(); ++i) {
    std::string_view view;
    ASSERT_TRUE(a.View(refs[i], &view).ok());
    EXPECT_EQ(view, payloads[i]);
  }
  Result<uint64_t> discarded = a.Discard({refs[0]});
  ASSERT_TRUE(discarded.ok()) << discarded.status().ToString();
  EXPECT_GT(*discarded, 0u);
  EXPECT_EQ(a.Stats().open_files, 2u) << "reopened to erase";
  ASSERT_TRUE(a.SyncUnsynced().ok());
  released = a.ReleaseSealed();
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 1u);
  EXPECT_EQ(a.Stats().open_files, 1u) << "closed again once synced";
  std::string_view view;
  EXPECT_TRUE(a.View(refs[0], &view).IsCorruption());
  ASSERT_TRUE(a.View(refs[1], &view).ok());
  EXPECT_EQ(view, payloads[1]);
}

}  // namespace
}  // namespace loci::blob
