// Tests of engine/superblock: slot encode/decode round trips (extreme values included), the two
// copies with newest-valid-wins, falling back to the other copy when any byte of the newest one
// is damaged (every byte tried), both copies bad (Corruption naming both), a copy in the wrong
// slot, short files, and WriteSuperblock's placement and sync.

#include "engine/superblock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/coding.h"
#include "common/hash.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci::engine {
namespace {

using test::Contains;

const std::string kPath = "/db/SUPERBLOCK";

Superblock Sample(uint64_t seq) {
  Superblock sb;
  sb.seq = seq;
  for (size_t i = 0; i < sb.db_uuid.size(); ++i) sb.db_uuid[i] = static_cast<uint8_t>(0x10 + i);
  sb.created = -123456789;
  sb.checkpoint_lsn = (uint64_t{1} << 40) + seq;
  sb.checkpoint_checksum = 0xdeadbeefcafef00dull ^ seq;
  sb.wal_first_segment = 7 + seq;
  sb.next_file_number = 12 + seq;
  sb.clock_high_water = 1700000000000000 + static_cast<int64_t>(seq);
  sb.next_cube_id = (uint64_t{1} << 33) + seq;
  sb.cube_id_limit = sb.next_cube_id + 1024;
  sb.checkpoints = {{3, 4096}, {5, 123}, {11, uint64_t{1} << 35}};
  return sb;
}

std::string Encode(const Superblock& sb) {
  std::string slot;
  Status s = EncodeSuperblockSlot(sb, &slot);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return slot;
}

// A slot in `format`, built field by field as the on-disk format says (pinning it): format 1 has
// no cube_id_limit; later formats append it, and format 3 the flags after it.
std::string SlotOfFormat(const Superblock& sb, uint32_t format) {
  std::string body;
  PutVarint64(&body, sb.seq);
  body.append(reinterpret_cast<const char*>(sb.db_uuid.data()), sb.db_uuid.size());
  PutVarsint64(&body, sb.created);
  PutVarint64(&body, sb.checkpoint_lsn);
  PutFixed64(&body, sb.checkpoint_checksum);
  PutVarint64(&body, sb.wal_first_segment);
  PutVarint64(&body, sb.next_file_number);
  PutVarsint64(&body, sb.clock_high_water);
  PutVarint64(&body, sb.next_cube_id);
  PutVarint64(&body, sb.checkpoints.size());
  for (const CheckpointFile& c : sb.checkpoints) {
    PutVarint64(&body, c.file_number);
    PutVarint64(&body, c.bytes);
  }
  if (format >= 2) PutVarint64(&body, sb.cube_id_limit);
  if (format >= 3) PutVarint64(&body, sb.flags);
  std::string slot = "LOCISUP1";
  PutFixed32(&slot, format);
  PutFixed32(&slot, static_cast<uint32_t>(body.size()));
  slot += body;
  PutFixed64(&slot, Hash64(slot, 0x4c4f434953555042ull));
  slot.resize(kSuperblockSlotSize, '\0');
  return slot;
}

// Bytes of a slot covered by its checksum, the checksum included.
size_t CheckedBytes(const std::string& slot) { return 16 + DecodeFixed32(slot.data() + 12) + 8; }

class SuperblockTest : public ::testing::Test {
 protected:
  SuperblockTest() : env_(NewMemEnv()) { EXPECT_TRUE(env_->CreateDir("/db").ok()); }

  void WriteFile(const std::string& contents) {
    std::unique_ptr<WritableFile> f;
    ASSERT_TRUE(env_->NewWritableFile(kPath, Env::OpenMode::kCreateOrOpen, &f).ok());
    ASSERT_TRUE(f->Truncate(0).ok());
    ASSERT_TRUE(f->Write(0, contents).ok());
  }

  Status Read(Superblock* sb) { return ReadSuperblock(env_.get(), kPath, sb); }

  std::unique_ptr<Env> env_;
};

TEST_F(SuperblockTest, SlotRoundTrips) {
  const Superblock in = Sample(5);
  const std::string slot = Encode(in);
  ASSERT_EQ(slot.size(), kSuperblockSlotSize);
  EXPECT_EQ(slot.substr(0, 8), "LOCISUP1");
  for (size_t i = CheckedBytes(slot); i < slot.size(); ++i) ASSERT_EQ(slot[i], 0) << i;
  Superblock out;
  ASSERT_TRUE(DecodeSuperblockSlot(slot, &out).ok());
  EXPECT_EQ(out, in);
}

TEST_F(SuperblockTest, ExtremeValuesRoundTrip) {
  Superblock in;
  in.seq = std::numeric_limits<uint64_t>::max();
  in.db_uuid.fill(0xff);
  in.created = std::numeric_limits<int64_t>::min();
  in.checkpoint_lsn = std::numeric_limits<uint64_t>::max();
  in.checkpoint_checksum = std::numeric_limits<uint64_t>::max();
  in.wal_first_segment = std::numeric_limits<uint64_t>::max();
  in.next_file_number = std::numeric_limits<uint64_t>::max();
  in.clock_high_water = std::numeric_limits<int64_t>::max();
  in.next_cube_id = std::numeric_limits<uint64_t>::max();
  in.cube_id_limit = std::numeric_limits<uint64_t>::max();
  for (int i = 0; i < 64; ++i) {
    in.checkpoints.push_back({std::numeric_limits<uint64_t>::max() - i, uint64_t{1} << 63});
  }
  Superblock out;
  ASSERT_TRUE(DecodeSuperblockSlot(Encode(in), &out).ok());
  EXPECT_EQ(out, in);

  Superblock minimal;  // defaults: no checkpoints, seq 0
  ASSERT_TRUE(DecodeSuperblockSlot(Encode(minimal), &out).ok());
  EXPECT_EQ(out, minimal);
}

TEST_F(SuperblockTest, MoreThan64CheckpointsDoNotFit) {
  Superblock sb = Sample(1);
  sb.checkpoints.assign(65, CheckpointFile{1, 1});
  std::string slot;
  EXPECT_TRUE(EncodeSuperblockSlot(sb, &slot).IsInvalidArgument());
}

TEST_F(SuperblockTest, DecodeRejectsImpossibleValuesEvenWithAValidChecksum) {
  Superblock sb = Sample(1);
  sb.wal_first_segment = 0;
  Superblock out;
  EXPECT_TRUE(DecodeSuperblockSlot(Encode(sb), &out).IsCorruption());
  sb = Sample(1);
  sb.next_cube_id = 0;
  EXPECT_TRUE(DecodeSuperblockSlot(Encode(sb), &out).IsCorruption());
}

TEST_F(SuperblockTest, DecodeRejectsShortAndGarbageSlotsWithoutCrashing) {
  const std::string slot = Encode(Sample(2));
  Superblock out;
  for (size_t len = 0; len < CheckedBytes(slot); ++len) {
    std::unique_ptr<char[]> exact(new char[len + 1]);
    std::memcpy(exact.get(), slot.data(), len);
    EXPECT_TRUE(DecodeSuperblockSlot(std::string_view(exact.get(), len), &out).IsCorruption())
        << len;
  }
  std::mt19937 rng(1);
  for (int i = 0; i < 200; ++i) {
    std::string garbage = slot;
    for (int j = 0; j < 8; ++j) garbage[16 + rng() % 100] = static_cast<char>(rng());
    EncodeFixed32(garbage.data() + 12, rng());  // any body length, even a huge one
    EXPECT_FALSE(DecodeSuperblockSlot(garbage, &out).ok());
  }
}

TEST_F(SuperblockTest, WriteSuperblockWritesTheSlotOfItsSequenceNumberAndSyncs) {
  struct CountingFile : WritableFile {
    std::string data;
    int syncs = 0;
    std::string name = "counting";
    Status Write(uint64_t offset, std::string_view d) override {
      if (data.size() < offset + d.size()) data.resize(offset + d.size(), '\0');
      data.replace(offset, d.size(), d);
      return Status::OK();
    }
    Status Sync() override {
      ++syncs;
      return Status::OK();
    }
    Status Truncate(uint64_t size) override {
      data.resize(size);
      return Status::OK();
    }
    Status Allocate(uint64_t offset, uint64_t len) override {
      if (offset + len > data.size()) data.resize(offset + len);
      return Status::OK();
    }
    Result<uint64_t> Size() override { return static_cast<uint64_t>(data.size()); }
    const std::string& path() const override { return name; }
  } file;
  ASSERT_TRUE(WriteSuperblock(&file, Sample(3)).ok());
  EXPECT_EQ(file.syncs, 1);
  ASSERT_EQ(file.data.size(), 2 * kSuperblockSlotSize);
  EXPECT_EQ(file.data.substr(kSuperblockSlotSize), Encode(Sample(3)));
  EXPECT_EQ(file.data.substr(0, kSuperblockSlotSize), std::string(kSuperblockSlotSize, '\0'));
  ASSERT_TRUE(WriteSuperblock(&file, Sample(4)).ok());
  EXPECT_EQ(file.syncs, 2);
  EXPECT_EQ(file.data.substr(0, kSuperblockSlotSize), Encode(Sample(4)));
  EXPECT_EQ(file.data.substr(kSuperblockSlotSize), Encode(Sample(3)));
}

TEST_F(SuperblockTest, NewestValidCopyWins) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewWritableFile(kPath, Env::OpenMode::kCreateNew, &f).ok());
  Superblock sb;
  for (uint64_t seq = 0; seq < 6; ++seq) {
    ASSERT_TRUE(WriteSuperblock(f.get(), Sample(seq)).ok());
    ASSERT_TRUE(Read(&sb).ok());
    EXPECT_EQ(sb, Sample(seq));
  }
  // Whichever slot holds it.
  WriteFile(Encode(Sample(8)) + Encode(Sample(7)));
  ASSERT_TRUE(Read(&sb).ok());
  EXPECT_EQ(sb, Sample(8));
  WriteFile(Encode(Sample(8)) + Encode(Sample(9)));
  ASSERT_TRUE(Read(&sb).ok());
  EXPECT_EQ(sb, Sample(9));
}

TEST_F(SuperblockTest, ANewDatabaseWithOnlySlotZeroReads) {
  WriteFile(Encode(Sample(0)));
  Superblock sb;
  ASSERT_TRUE(Read(&sb).ok());
  EXPECT_EQ(sb, Sample(0));
  // Slot 1 cut short inside its checked part (a torn first write of slot 1): slot 0 still wins.
  WriteFile(Encode(Sample(0)) + Encode(Sample(1)).substr(0, 40));
  ASSERT_TRUE(Read(&sb).ok());
  EXPECT_EQ(sb, Sample(0));
}

// Every byte of the newest copy damaged in turn: the reader falls back to the older copy when the
// damage is in the checked part, and is unaffected when it is in the slot's zero padding. It
// never returns anything but one of the two copies. Damage to the older copy never matters.
TEST_F(SuperblockTest, EveryDamagedByteOfOneCopyLeavesTheOtherOrTheIntactNewest) {
  for (uint64_t newest_seq : {uint64_t{5}, uint64_t{6}}) {
    const Superblock newest = Sample(newest_seq), older = Sample(newest_seq - 1);
    const std::string newest_slot = Encode(newest), older_slot = Encode(older);
    const size_t newest_pos = newest_seq % 2, older_pos = 1 - newest_pos;
    std::string pristine(2 * kSuperblockSlotSize, '\0');
    pristine.replace(newest_pos * kSuperblockSlotSize, kSuperblockSlotSize, newest_slot);
    pristine.replace(older_pos * kSuperblockSlotSize, kSuperblockSlotSize, older_slot);
    int fell_back = 0;
    for (size_t pos : {newest_pos, older_pos}) {
      const bool damaging_newest = pos == newest_pos;
      const size_t checked = CheckedBytes(damaging_newest ? newest_slot : older_slot);
      for (size_t i = 0; i < kSuperblockSlotSize; ++i) {
        std::string damaged = pristine;
        damaged[pos * kSuperblockSlotSize + i] ^= static_cast<char>(1 << (i % 8));
        WriteFile(damaged);
        Superblock sb;
        Status s = Read(&sb);
        ASSERT_TRUE(s.ok()) << "slot " << pos << " byte " << i << ": " << s.ToString();
        const Superblock& expected = damaging_newest && i < checked ? older : newest;
        ASSERT_EQ(sb, expected) << "slot " << pos << " byte " << i;
        if (sb == older) ++fell_back;
      }
    }
    EXPECT_EQ(fell_back, static_cast<int>(CheckedBytes(newest_slot)));
  }
}

TEST_F(SuperblockTest, BothCopiesBadIsCorruptionNamingBoth) {
  std::string both = Encode(Sample(2)) + Encode(Sample(3));
  both[0] ^= 1;                         // slot 0: bad magic
  both[kSuperblockSlotSize + 20] ^= 1;  // slot 1: checksum mismatch
  WriteFile(both);
  Superblock sb;
  Status s = Read(&sb);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), kPath)) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "slot 0")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "slot 1")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "magic")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "checksum")) << s.ToString();

  for (const std::string& contents :
       {std::string(), std::string(2 * kSuperblockSlotSize, '\0'), std::string(100, 'x')}) {
    WriteFile(contents);
    s = Read(&sb);
    EXPECT_TRUE(s.IsCorruption()) << contents.size() << ": " << s.ToString();
  }
}

TEST_F(SuperblockTest, ACopyInTheWrongSlotIsRejected) {
  // Slot 0 holds an odd sequence number: not a copy written there.
  WriteFile(Encode(Sample(9)) + Encode(Sample(1)));
  Superblock sb;
  ASSERT_TRUE(Read(&sb).ok());
  EXPECT_EQ(sb, Sample(1));
  // Both misplaced: nothing valid.
  WriteFile(Encode(Sample(9)) + Encode(Sample(4)));
  Status s = Read(&sb);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "wrong slot")) << s.ToString();
}

TEST_F(SuperblockTest, TheEncoderWritesFormatTwo) {
  EXPECT_EQ(Encode(Sample(3)), SlotOfFormat(Sample(3), 2));
}

// Flags (a salvaged database's version gaps) need format 3, written only when one is set.
TEST_F(SuperblockTest, FlagsAreWrittenInFormatThree) {
  Superblock sb = Sample(3);
  sb.flags = kVersionGapsFlag;
  EXPECT_EQ(Encode(sb), SlotOfFormat(sb, 3));
  Superblock out;
  ASSERT_TRUE(DecodeSuperblockSlot(Encode(sb), &out).ok());
  EXPECT_EQ(out, sb);
  // One encoding per state: format 3 without flags is not one.
  sb.flags = 0;
  EXPECT_TRUE(DecodeSuperblockSlot(SlotOfFormat(sb, 3), &out).IsCorruption());
}

TEST_F(SuperblockTest, AnUnknownFlagSaysItWasWrittenByANewerLoci) {
  Superblock sb = Sample(3);
  sb.flags = kVersionGapsFlag | 0x100;
  Superblock out;
  Status s = DecodeSuperblockSlot(SlotOfFormat(sb, 3), &out);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "written by a newer Loci: superblock flags 257"))
      << s.ToString();
  std::string slot;
  EXPECT_TRUE(EncodeSuperblockSlot(sb, &slot).IsInvalidArgument());
}

// A database written before cube_id_limit existed: no id was ever reserved beyond the next one.
TEST_F(SuperblockTest, FormatOneReadsWithTheLimitAtTheNextId) {
  Superblock sb;
  ASSERT_TRUE(DecodeSuperblockSlot(SlotOfFormat(Sample(3), 1), &sb).ok());
  Superblock expected = Sample(3);
  expected.cube_id_limit = expected.next_cube_id;
  EXPECT_EQ(sb, expected);
}

TEST_F(SuperblockTest, ALimitBelowTheNextIdIsMalformed) {
  Superblock sb = Sample(1);
  sb.cube_id_limit = sb.next_cube_id - 1;
  Superblock out;
  Status s = DecodeSuperblockSlot(SlotOfFormat(sb, 2), &out);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

// A newer Loci's superblock is refused with words that say so, even when the other copy is of a
// format this build reads: the newer build may have changed what the state means.
TEST_F(SuperblockTest, ANewerFormatSaysItWasWrittenByANewerLoci) {
  Superblock out;
  Status s = DecodeSuperblockSlot(SlotOfFormat(Sample(3), 4), &out);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(),
                       "written by a newer Loci: superblock format 4, this build "
                       "reads formats 1 to 3"))
      << s.ToString();
  WriteFile(Encode(Sample(2)) + SlotOfFormat(Sample(3), 4));
  s = Read(&out);
  EXPECT_TRUE(s.IsNotSupported()) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), kPath)) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "newer Loci")) << s.ToString();
}

TEST_F(SuperblockTest, ReadSaysWhichCopyIsDamaged) {
  std::string both = Encode(Sample(2)) + Encode(Sample(3));
  Superblock sb;
  std::string damaged = "stale";
  ASSERT_TRUE(ReadSuperblock(env_.get(), kPath, &sb, &damaged).IsNotFound());
  WriteFile(both);
  ASSERT_TRUE(ReadSuperblock(env_.get(), kPath, &sb, &damaged).ok());
  EXPECT_EQ(damaged, "");
  both[kSuperblockSlotSize + 20] ^= 1;
  WriteFile(both);
  ASSERT_TRUE(ReadSuperblock(env_.get(), kPath, &sb, &damaged).ok());
  EXPECT_EQ(sb, Sample(2));
  EXPECT_EQ(damaged, "slot 1 (offset 4096): checksum mismatch");
  both = Encode(Sample(2)) + Encode(Sample(3));
  both[3] ^= 1;
  WriteFile(both);
  ASSERT_TRUE(ReadSuperblock(env_.get(), kPath, &sb, &damaged).ok());
  EXPECT_EQ(sb, Sample(3));
  EXPECT_EQ(damaged, "slot 0 (offset 0): bad magic");
}

// Both copies name the new state once an update returns, so every deletion the old state's files
// may then undergo leaves a valid copy that needs none of them.
TEST_F(SuperblockTest, WriteSuperblockCopiesLeavesTheNewStateInBothSlots) {
  std::unique_ptr<WritableFile> f;
  ASSERT_TRUE(env_->NewWritableFile(kPath, Env::OpenMode::kCreateNew, &f).ok());
  ASSERT_TRUE(WriteSuperblock(f.get(), Sample(4)).ok());
  Superblock next = Sample(4);
  next.checkpoint_lsn = 99;
  ASSERT_TRUE(WriteSuperblockCopies(f.get(), &next).ok());
  EXPECT_EQ(next.seq, 6u);
  std::unique_ptr<RandomAccessFile> r;
  ASSERT_TRUE(env_->NewRandomAccessFile(kPath, &r).ok());
  std::string data;
  ASSERT_TRUE(r->Read(0, 2 * kSuperblockSlotSize, &data).ok());
  for (int slot = 0; slot < 2; ++slot) {
    Superblock copy;
    ASSERT_TRUE(
        DecodeSuperblockSlot(std::string_view(data).substr(slot * kSuperblockSlotSize), &copy)
            .ok());
    EXPECT_EQ(copy.checkpoint_lsn, 99u) << "slot " << slot;
    EXPECT_EQ(copy.seq % 2, static_cast<uint64_t>(slot));
  }
}

TEST_F(SuperblockTest, MissingFileIsNotFound) {
  Superblock sb;
  EXPECT_TRUE(Read(&sb).IsNotFound());
}

}  // namespace
}  // namespace loci::engine
