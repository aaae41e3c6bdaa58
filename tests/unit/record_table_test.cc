// RecordTable: heads per id across chunk boundaries, publication order, recovery insertion in
// any order, duplicate versions, and lock-free readers walking chains while a writer publishes.

#include "engine/record_table.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace loci::engine {
namespace {

std::unique_ptr<Version> MakeVersion(CubeId id, uint32_t number) {
  auto v = std::make_unique<Version>();
  v->id = id;
  v->number = number;
  v->space_id = 1;
  v->tx_from = number;
  return v;
}

TEST(RecordTableTest, PublishMakesTheNewestVersionTheHead) {
  RecordTable table;
  EXPECT_EQ(table.Head(1), nullptr);
  EXPECT_EQ(table.Head(0), nullptr);
  EXPECT_EQ(table.Head(RecordTable::kMaxId + 1), nullptr);
  Version* v1 = MakeVersion(7, 1).release();
  table.Publish(v1);
  Version* v2 = MakeVersion(7, 2).release();
  v2->prev = v1;
  table.Publish(v2);
  EXPECT_EQ(table.Head(7), v2);
  EXPECT_EQ(table.Head(7)->prev, v1);
  EXPECT_EQ(table.cubes(), 1u);
  EXPECT_EQ(table.versions(), 2u);
  EXPECT_EQ(table.end_id(), 8u);
}

TEST(RecordTableTest, IdsAcrossChunkBoundariesAreIndependent) {
  RecordTable table;
  const CubeId ids[] = {1,
                        RecordTable::kChunkSize - 1,
                        RecordTable::kChunkSize,
                        RecordTable::kChunkSize + 1,
                        5 * RecordTable::kChunkSize + 3,
                        RecordTable::kMaxId};
  for (CubeId id : ids) table.Publish(MakeVersion(id, 1).release());
  for (CubeId id : ids) {
    ASSERT_NE(table.Head(id), nullptr) << id;
    EXPECT_EQ(table.Head(id)->id, id);
  }
  EXPECT_EQ(table.Head(2), nullptr);
  EXPECT_EQ(table.cubes(), std::size(ids));
}

TEST(RecordTableTest, InsertOrdersAChainWhateverTheArrivalOrder) {
  RecordTable table;
  for (uint32_t n : {3u, 1u, 4u, 2u}) ASSERT_TRUE(table.Insert(MakeVersion(9, n)).ok());
  uint32_t expected = 4;
  for (const Version* v = table.Head(9); v != nullptr; v = v->prev)
    EXPECT_EQ(v->number, expected--);
  EXPECT_EQ(expected, 0u);
  EXPECT_EQ(table.versions(), 4u);
  EXPECT_EQ(table.cubes(), 1u);
  EXPECT_TRUE(table.Insert(MakeVersion(9, 2)).IsCorruption());
  EXPECT_TRUE(table.Insert(MakeVersion(0, 1)).IsCorruption());
  EXPECT_TRUE(table.Insert(MakeVersion(RecordTable::kMaxId + 1, 1)).IsCorruption());
}

TEST(RecordTableTest, ReadersWalkChainsWhileAWriterPublishes) {
  RecordTable table;
  constexpr CubeId kIds = 64;
  constexpr uint32_t kVersions = 200;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (uint32_t n = 1; n <= kVersions; ++n) {
      for (CubeId id = 1; id <= kIds; ++id) {
        Version* v = MakeVersion(id, n).release();
        v->prev = table.Head(id);
        table.Publish(v);
      }
    }
    done = true;
  });
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        for (CubeId id = 1; id <= kIds; ++id) {
          const Version* head = table.Head(id);
          if (head == nullptr) continue;
          uint32_t expected = head->number;
          for (const Version* v = head; v != nullptr; v = v->prev) {
            ASSERT_EQ(v->number, expected--);
            ASSERT_EQ(v->id, id);
          }
          ASSERT_EQ(expected, 0u);
        }
      }
    });
  }
  writer.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(table.versions(), kIds * kVersions);
}

}  // namespace
}  // namespace loci::engine
