// Tests of index/skiplist.h, the ordered set behind the trace graph's adjacency and the event
// index: ordering and duplicate refusal; every iterator positioning (Seek, SeekBefore, Prev,
// SeekToFirst) at the edges — an empty list, before the first key, after the last, between
// keys; positions returned by InsertOrFind and iterators started there (SeekTo); large random sets
// against std::set; keys that own heap memory; and one writer inserting while readers iterate, each
// checking that what it sees is sorted and holds every key whose Insert returned before it started
// (label tsan: the TSan job runs it).

#include "index/skiplist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace loci::index {
namespace {

struct IntCompare {
  int operator()(uint64_t a, uint64_t b) const { return a < b ? -1 : a > b ? 1 : 0; }
};
using IntList = SkipList<uint64_t, IntCompare>;

std::vector<uint64_t> Forward(const IntList& list) {
  std::vector<uint64_t> out;
  IntList::Iterator it(&list);
  for (it.SeekToFirst(); it.Valid(); it.Next()) out.push_back(it.key());
  return out;
}

std::vector<uint64_t> Backward(const IntList& list) {
  std::vector<uint64_t> out;
  IntList::Iterator it(&list);
  for (it.SeekBefore(UINT64_MAX); it.Valid(); it.Prev()) out.push_back(it.key());
  return out;
}

TEST(SkipListTest, EmptyListHasNoPosition) {
  IntList list;
  EXPECT_EQ(list.size(), 0u);
  EXPECT_FALSE(list.Contains(0));
  EXPECT_FALSE(list.Contains(UINT64_MAX));
  IntList::Iterator it(&list);
  EXPECT_FALSE(it.Valid()) << "a new iterator has no position";
  it.SeekToFirst();
  EXPECT_FALSE(it.Valid());
  it.Seek(0);
  EXPECT_FALSE(it.Valid());
  it.Seek(UINT64_MAX);
  EXPECT_FALSE(it.Valid());
  it.SeekBefore(UINT64_MAX);
  EXPECT_FALSE(it.Valid());
  it.SeekBefore(0);
  EXPECT_FALSE(it.Valid());
}

TEST(SkipListTest, InsertKeepsOrderAndRefusesDuplicates) {
  IntList list;
  for (uint64_t k : {50u, 10u, 40u, 20u, 30u}) EXPECT_TRUE(list.Insert(k)) << k;
  for (uint64_t k : {10u, 30u, 50u}) EXPECT_FALSE(list.Insert(k)) << "duplicate " << k;
  EXPECT_EQ(list.size(), 5u);
  EXPECT_EQ(Forward(list), (std::vector<uint64_t>{10, 20, 30, 40, 50}));
  EXPECT_EQ(Backward(list), (std::vector<uint64_t>{50, 40, 30, 20, 10}));
  for (uint64_t k : {10u, 20u, 30u, 40u, 50u}) EXPECT_TRUE(list.Contains(k)) << k;
  for (uint64_t k : {0u, 9u, 11u, 45u, 51u}) EXPECT_FALSE(list.Contains(k)) << k;
  EXPECT_GT(list.memory_bytes(), 0u);
}

TEST(SkipListTest, ExtremeKeys) {
  IntList list;
  ASSERT_TRUE(list.Insert(UINT64_MAX));
  ASSERT_TRUE(list.Insert(0));
  EXPECT_FALSE(list.Insert(0));
  EXPECT_FALSE(list.Insert(UINT64_MAX));
  EXPECT_EQ(Forward(list), (std::vector<uint64_t>{0, UINT64_MAX}));
  IntList::Iterator it(&list);
  it.SeekBefore(0);
  EXPECT_FALSE(it.Valid()) << "nothing is below 0";
  it.SeekBefore(UINT64_MAX);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 0u);
  it.Seek(1);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), UINT64_MAX);
}

TEST(SkipListTest, SeekAndSeekBeforeAtTheEdges) {
  IntList list;
  for (uint64_t k = 10; k <= 50; k += 10) ASSERT_TRUE(list.Insert(k));
  IntList::Iterator it(&list);

  it.SeekToFirst();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 10u);

  it.Seek(0);  // before the first
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 10u);
  it.Seek(10);  // exactly the first
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 10u);
  it.Seek(11);  // between
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 20u);
  it.Seek(50);  // exactly the last
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 50u);
  it.Seek(51);  // after the last
  EXPECT_FALSE(it.Valid());

  it.SeekBefore(10);  // nothing before the first
  EXPECT_FALSE(it.Valid());
  it.SeekBefore(5);
  EXPECT_FALSE(it.Valid());
  it.SeekBefore(11);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 10u);
  it.SeekBefore(30);  // strictly before an existing key
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 20u);
  it.SeekBefore(1000);  // after the last: the last
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 50u);

  // Next past the last, Prev past the first.
  it.Seek(50);
  it.Next();
  EXPECT_FALSE(it.Valid());
  it.Seek(10);
  it.Prev();
  EXPECT_FALSE(it.Valid());
  // Prev from the middle, then Next again.
  it.Seek(30);
  it.Prev();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 20u);
  it.Next();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 30u);
}

TEST(SkipListTest, OneKey) {
  IntList list;
  ASSERT_TRUE(list.Insert(7));
  IntList::Iterator it(&list);
  it.SeekToFirst();
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 7u);
  it.Prev();
  EXPECT_FALSE(it.Valid());
  it.SeekBefore(8);
  ASSERT_TRUE(it.Valid());
  EXPECT_EQ(it.key(), 7u);
  it.Next();
  EXPECT_FALSE(it.Valid());
  it.Seek(8);
  EXPECT_FALSE(it.Valid());
}

TEST(SkipListTest, InsertOrFindReturnsThePositionOfTheKey) {
  IntList list;
  std::mt19937_64 rng(11);
  std::vector<std::pair<uint64_t, IntList::Position>> positions;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t key = rng() % 5000;
    bool inserted;
    const IntList::Position at = list.InsertOrFind(key, &inserted);
    ASSERT_FALSE(at.null());
    IntList::Iterator it(&list);
    it.SeekTo(at);
    ASSERT_TRUE(it.Valid());
    EXPECT_EQ(it.key(), key) << "the position of a key " << (inserted ? "inserted" : "found");
    positions.emplace_back(key, at);
  }
  // Positions stay valid as the list grows: each still names its key, and the scan from it
  // continues in order with every larger key.
  const std::vector<uint64_t> all = Forward(list);
  for (const auto& [key, at] : positions) {
    IntList::Iterator it(&list);
    it.SeekTo(at);
    std::vector<uint64_t> rest;
    for (; it.Valid(); it.Next()) rest.push_back(it.key());
    const auto from = std::lower_bound(all.begin(), all.end(), key);
    ASSERT_EQ(rest, std::vector<uint64_t>(from, all.end())) << "from key " << key;
  }
  IntList::Iterator it(&list);
  it.SeekTo(IntList::Position());
  EXPECT_FALSE(it.Valid()) << "a null position is no key";
}

TEST(SkipListTest, RandomSetsMatchStdSet) {
  for (uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    IntList list;
    std::set<uint64_t> model;
    // A small key range forces many duplicates; a large one tall towers.
    const uint64_t range = seed == 1 ? 2000 : seed == 2 ? 1'000'000 : UINT64_MAX;
    for (int i = 0; i < 20000; ++i) {
      const uint64_t k = range == UINT64_MAX ? rng() : rng() % range;
      ASSERT_EQ(list.Insert(k), model.insert(k).second) << "seed " << seed << " key " << k;
    }
    ASSERT_EQ(list.size(), model.size());
    ASSERT_EQ(Forward(list), std::vector<uint64_t>(model.begin(), model.end()));
    ASSERT_EQ(Backward(list), std::vector<uint64_t>(model.rbegin(), model.rend()));
    IntList::Iterator it(&list);
    for (int i = 0; i < 5000; ++i) {
      const uint64_t probe = range == UINT64_MAX ? rng() : rng() % (range + 2);
      ASSERT_EQ(list.Contains(probe), model.count(probe) == 1) << probe;
      it.Seek(probe);
      auto ge = model.lower_bound(probe);
      ASSERT_EQ(it.Valid(), ge != model.end()) << probe;
      if (it.Valid()) {
        ASSERT_EQ(it.key(), *ge) << probe;
      }
      it.SeekBefore(probe);
      ASSERT_EQ(it.Valid(), ge != model.begin()) << probe;
      if (it.Valid()) {
        ASSERT_EQ(it.key(), *std::prev(ge)) << probe;
        // Prev from there agrees with the set too.
        auto lt = std::prev(ge);
        it.Prev();
        ASSERT_EQ(it.Valid(), lt != model.begin()) << probe;
        if (it.Valid()) {
          ASSERT_EQ(it.key(), *std::prev(lt)) << probe;
        }
      }
    }
  }
}

// Keys with their own heap memory (as the episode keys' names are not, but a list of strings
// is the simplest check that keys are copied and destroyed, under ASan).
struct StringCompare {
  int operator()(const std::string& a, const std::string& b) const { return a.compare(b); }
};

// Nodes grouped by key % 7 (Locality): the same set, however the memory is laid out.
struct ModSeven {
  static uint64_t Group(uint64_t key) { return key % 7; }
};

TEST(SkipListTest, GroupedNodesKeepTheSameOrder) {
  SkipList<uint64_t, IntCompare, ModSeven> list;
  std::set<uint64_t> expected;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 20000; ++i) {
    const uint64_t key = rng() % 100000;
    EXPECT_EQ(list.Insert(key), expected.insert(key).second);
  }
  std::vector<uint64_t> got;
  SkipList<uint64_t, IntCompare, ModSeven>::Iterator it(&list);
  for (it.SeekToFirst(); it.Valid(); it.Next()) got.push_back(it.key());
  EXPECT_EQ(got, std::vector<uint64_t>(expected.begin(), expected.end()));
  for (uint64_t probe = 0; probe < 100000; probe += 997) {
    it.Seek(probe);
    auto want = expected.lower_bound(probe);
    ASSERT_EQ(it.Valid(), want != expected.end());
    if (it.Valid()) EXPECT_EQ(it.key(), *want);
  }
}

TEST(SkipListTest, OwnsCopiesOfHeapKeys) {
  SkipList<std::string, StringCompare> list;
  std::set<std::string> model;
  for (int i = 0; i < 3000; ++i) {
    std::string k = "key-" + std::to_string(i * 7919 % 3001) + std::string(i % 40, 'x');
    ASSERT_EQ(list.Insert(k), model.insert(k).second);
    k.assign(100, '?');  // the list must not alias the caller's string
  }
  std::vector<std::string> got;
  SkipList<std::string, StringCompare>::Iterator it(&list);
  for (it.SeekToFirst(); it.Valid(); it.Next()) got.push_back(it.key());
  EXPECT_EQ(got, std::vector<std::string>(model.begin(), model.end()));
}

// One writer, several readers. Keys are inserted in a scrambled order; each reader records how
// many inserts had returned when it started a pass (the writer publishes the count after each
// Insert), then checks its pass is strictly increasing and contains each of those keys, and that
// Contains and Seek find them too.
TEST(SkipListTest, ReadersSeeSortedListsWithEveryKeyInsertedBeforeThem) {
  constexpr uint64_t kKeys = 30000;
  constexpr int kReaders = 3;
  IntList list;
  // The key of the i-th insert: a bijection of [0, kKeys) scrambled by a multiplier coprime
  // with kKeys, spread out so that gaps exist for seeks.
  auto key_of = [](uint64_t i) { return ((i * 7919) % kKeys) * 4 + 1; };
  std::atomic<uint64_t> inserted{0};
  std::atomic<bool> failed{false};
  std::atomic<uint64_t> passes{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      std::vector<uint64_t> seen;
      while (!failed.load()) {
        const uint64_t before = inserted.load(std::memory_order_acquire);
        seen.clear();
        IntList::Iterator it(&list);
        for (it.SeekToFirst(); it.Valid(); it.Next()) {
          if (!seen.empty() && it.key() <= seen.back()) {
            ADD_FAILURE() << "reader " << r << ": " << it.key() << " after " << seen.back();
            failed = true;
            return;
          }
          seen.push_back(it.key());
        }
        if (seen.size() < before) {
          ADD_FAILURE() << "reader " << r << " saw " << seen.size() << " keys, " << before
                        << " were inserted before it started";
          failed = true;
          return;
        }
        // Every key inserted before the pass is in it (binary search in the sorted pass), and
        // Contains and Seek find a few of them.
        for (uint64_t i = 0; i < before; ++i) {
          if (!std::binary_search(seen.begin(), seen.end(), key_of(i))) {
            ADD_FAILURE() << "reader " << r << " missed key " << key_of(i) << " (insert " << i
                          << " of " << before << ")";
            failed = true;
            return;
          }
        }
        for (int probe = 0; probe < 50 && before > 0; ++probe) {
          const uint64_t k = key_of(rng() % before);
          it.Seek(k - 1);  // k - 1 is never a key: the seek must land on k
          if (!list.Contains(k) || !it.Valid() || it.key() != k) {
            ADD_FAILURE() << "reader " << r << ": key " << k << " not found by Contains/Seek";
            failed = true;
            return;
          }
          it.SeekBefore(k + 1);
          if (!it.Valid() || it.key() != k) {
            ADD_FAILURE() << "reader " << r << ": SeekBefore(" << k + 1 << ") missed " << k;
            failed = true;
            return;
          }
        }
        passes.fetch_add(1);
        if (before == kKeys) return;
      }
    });
  }
  for (uint64_t i = 0; i < kKeys && !failed.load(); ++i) {
    ASSERT_TRUE(list.Insert(key_of(i)));
    inserted.store(i + 1, std::memory_order_release);
  }
  for (std::thread& t : readers) t.join();
  EXPECT_FALSE(failed.load());
  EXPECT_GE(passes.load(), static_cast<uint64_t>(kReaders)) << "each reader finished a pass";
  EXPECT_EQ(list.size(), kKeys);
  std::vector<uint64_t> all = Forward(list);
  ASSERT_EQ(all.size(), kKeys);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

}  // namespace
}  // namespace loci::index
