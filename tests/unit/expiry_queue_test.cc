// ExpiryQueue: due ids come out once each, in expiry order, and only those due.

#include "gc/expiry_queue.h"

#include <gtest/gtest.h>

#include <vector>

namespace loci::gc {
namespace {

TEST(ExpiryQueueTest, TakesWhatIsDueOnceInExpiryOrder) {
  ExpiryQueue q;
  EXPECT_FALSE(q.AnyDue(1000));
  q.Add(30, 3);
  q.Add(10, 1);
  q.Add(20, 2);
  q.Add(25, 1);  // listed twice: taken once
  q.Add(40, 4);
  EXPECT_FALSE(q.AnyDue(9));
  EXPECT_TRUE(q.AnyDue(10));
  EXPECT_EQ(q.TakeDue(9), std::vector<uint64_t>{});
  EXPECT_EQ(q.TakeDue(30), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(q.size(), 1u);
  EXPECT_FALSE(q.AnyDue(39));
  EXPECT_EQ(q.TakeDue(INT64_MAX), std::vector<uint64_t>{4});
  EXPECT_EQ(q.size(), 0u);
}

}  // namespace
}  // namespace loci::gc
