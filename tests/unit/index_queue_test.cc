// Tests of engine/index_queue: entries come out in order and exactly once, chunks are dropped as
// the consumer passes them, and readers racing a producer and a consumer always see a contiguous
// pending range that, with what was indexed when they finished, covers everything published
// when they started (also run under TSan).

#include "engine/index_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "gc/epoch.h"

namespace loci::engine {
namespace {

// Entry i carries &versions[i], so a reader can tell which sequence number it saw.
class IndexQueueTest : public ::testing::Test {
 protected:
  IndexQueueTest() : versions_(kEntries), queue_(&epochs_) {}

  IndexEntry EntryFor(uint64_t seq) const {
    IndexEntry e;
    e.version = &versions_[seq];
    return e;
  }
  uint64_t SeqOf(const IndexEntry& e) const { return e.version - versions_.data(); }

  // The sequence numbers ForEachPending passes now, with the published count before the call
  // and the indexed count after it.
  struct Pending {
    std::vector<uint64_t> seqs;
    uint64_t published_before = 0;
    uint64_t indexed_after = 0;
  };
  Pending ReadPending() const {
    Pending p;
    p.published_before = queue_.published();
    gc::EpochDomain::Guard guard = epochs_.Pin();
    queue_.ForEachPending([&](const IndexEntry& e) { p.seqs.push_back(SeqOf(e)); });
    p.indexed_after = queue_.indexed();
    return p;
  }

  static constexpr uint64_t kEntries = 40 * IndexQueue::kChunkEntries + 17;
  std::vector<Version> versions_;
  mutable gc::EpochDomain epochs_;
  IndexQueue queue_;
};

TEST_F(IndexQueueTest, EntriesComeOutInOrderAndPendingFollowsTheConsumer) {
  EXPECT_EQ(queue_.backlog(), 0u);
  EXPECT_TRUE(ReadPending().seqs.empty());
  for (uint64_t i = 0; i < 3000; ++i) queue_.Append(EntryFor(i));
  EXPECT_EQ(queue_.published(), 3000u);
  for (uint64_t i = 0; i < 1500; ++i) {
    ASSERT_EQ(SeqOf(queue_.Front()), i);
    queue_.PopFront();
  }
  EXPECT_EQ(queue_.backlog(), 1500u);
  const Pending p = ReadPending();
  ASSERT_EQ(p.seqs.size(), 1500u);
  for (size_t i = 0; i < p.seqs.size(); ++i) ASSERT_EQ(p.seqs[i], 1500 + i);
  // Drain, then append across a chunk boundary with an empty directory in between.
  while (queue_.backlog() > 0) queue_.PopFront();
  EXPECT_TRUE(ReadPending().seqs.empty());
  for (uint64_t i = 3000; i < 3000 + IndexQueue::kChunkEntries + 5; ++i) queue_.Append(EntryFor(i));
  EXPECT_EQ(SeqOf(queue_.Front()), 3000u);
  EXPECT_EQ(ReadPending().seqs.size(), IndexQueue::kChunkEntries + 5);
}

TEST_F(IndexQueueTest, FieldDropsTravelAsEntriesWithoutAVersion) {
  IndexEntry drop;
  drop.drop_space_id = 3;
  drop.drop_field_id = 9;
  queue_.Append(EntryFor(0));
  queue_.Append(drop);
  queue_.PopFront();
  EXPECT_EQ(queue_.Front().version, nullptr);
  EXPECT_EQ(queue_.Front().drop_space_id, 3u);
  EXPECT_EQ(queue_.Front().drop_field_id, 9u);
}

// One producer, one consumer at its own pace, two readers: every read is a contiguous run of
// sequence numbers starting where the index ended and reaching what was published.
TEST_F(IndexQueueTest, ReadersRacingProducerAndConsumerSeeContiguousCoveringRanges) {
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (uint64_t i = 0; i < kEntries; ++i) queue_.Append(EntryFor(i));
  });
  std::thread consumer([&] {
    uint64_t next = 0;
    while (next < kEntries) {
      if (queue_.backlog() == 0) {
        std::this_thread::yield();
        continue;
      }
      ASSERT_EQ(SeqOf(queue_.Front()), next);
      queue_.PopFront();
      if (++next % 97 == 0) std::this_thread::yield();
    }
    done = true;
  });
  std::atomic<uint64_t> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&] {
      // At least some reads each, however the threads are scheduled (the last ones may find the
      // queue drained: that case is checked too).
      for (int mine = 0; !done.load() || mine < 20; ++mine) {
        const Pending p = ReadPending();
        for (size_t i = 1; i < p.seqs.size(); ++i) ASSERT_EQ(p.seqs[i], p.seqs[i - 1] + 1);
        if (!p.seqs.empty()) {
          // Nothing below the first was missed: it was indexed by the time the read ended.
          ASSERT_LE(p.seqs.front(), p.indexed_after);
          ASSERT_GE(p.seqs.back() + 1, p.published_before);
        } else {
          ASSERT_GE(p.indexed_after, p.published_before);
        }
        reads.fetch_add(1);
      }
    });
  }
  producer.join();
  consumer.join();
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(queue_.indexed(), kEntries);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace loci::engine
