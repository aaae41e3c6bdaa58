// Property tests of index/best_k.h: KeepBest keeps exactly the smallest keys (the best k and at
// most `slack` more), with their items and in their order, for any int32 keys (every float bit
// pattern, NaNs included) and heavy ties; OrderedKey orders floats as < does.
//
// RC_PARAMS="seed=N max_success=M" reproduces or lengthens a run.

#include "index/best_k.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace loci::index {
namespace {

// Keys drawn from the whole int32 range or from a handful of values (ties), or from both.
rc::Gen<std::vector<int32_t>> Keys() {
  return rc::gen::nonEmpty(rc::gen::container<std::vector<int32_t>>(rc::gen::oneOf(
      rc::gen::arbitrary<int32_t>(), rc::gen::inRange<int32_t>(-3, 4),
      rc::gen::element(std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()))));
}

RC_GTEST_PROP(BestKTest, KeepsTheSmallestKeysWithTheirItemsInOrder, ()) {
  const std::vector<int32_t> original = *Keys();
  const size_t n = original.size();
  const size_t k = *rc::gen::inRange<size_t>(1, n + 1);
  const size_t slack = *rc::gen::inRange<size_t>(0, n + 1);
  std::vector<int32_t> keys = original;
  std::vector<size_t> items(n);
  for (size_t i = 0; i < n; ++i) items[i] = i;

  const int32_t largest = KeepBest(&keys, &items, k, slack);

  const size_t kept = keys.size();
  RC_ASSERT(items.size() == kept);
  if (n <= k + slack) {
    RC_ASSERT(kept == n);
  } else {
    RC_ASSERT(kept >= k);
    RC_ASSERT(kept <= k + slack);
  }
  // Items travel with their keys and keep their order.
  for (size_t i = 0; i < kept; ++i) {
    RC_ASSERT(items[i] < n);
    RC_ASSERT(keys[i] == original[items[i]]);
    if (i > 0) RC_ASSERT(items[i - 1] < items[i]);
  }
  // The kept keys are the `kept` smallest.
  std::vector<int32_t> want = original;
  std::sort(want.begin(), want.end());
  want.resize(kept);
  std::vector<int32_t> got = keys;
  std::sort(got.begin(), got.end());
  RC_ASSERT(got == want);
  RC_ASSERT(largest == got.back());
}

RC_GTEST_PROP(BestKTest, ThresholdCountsAreExact, ()) {
  const std::vector<int32_t> keys = *Keys();
  const size_t n = keys.size();
  RC_PRE(n >= 2);
  const size_t k = *rc::gen::inRange<size_t>(1, n);
  const size_t slack = *rc::gen::inRange<size_t>(0, n - k);
  const KeyThreshold at = FindKeyThreshold(keys.data(), n, k, slack);
  RC_ASSERT(at.count == CountAtMost(keys.data(), n, at.t));
  RC_ASSERT(at.count >= k);
  if (at.count > k + slack) {
    // Ties at t: nothing lies between below and t.
    RC_ASSERT(at.count_below < k);
    size_t strictly_below_t = 0;
    for (int32_t key : keys) strictly_below_t += key < at.t ? 1 : 0;
    RC_ASSERT(strictly_below_t == at.count_below);
  }
}

TEST(BestKTest, OrderedKeyOrdersFloatsAsLessThanDoes) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> ascending = {-inf,     -3.0e38f, -1.0f, -1e-30f, -1.4e-45f, -0.0f, 0.0f,
                                        1.4e-45f, 1e-30f,   0.25f, 1.0f,    3.0e38f,   inf};
  for (size_t i = 0; i + 1 < ascending.size(); ++i) {
    EXPECT_LT(OrderedKey(ascending[i]), OrderedKey(ascending[i + 1])) << i;
  }
  for (float f : ascending) {
    const float back = FromOrderedKey(OrderedKey(f));
    EXPECT_EQ(std::signbit(back), std::signbit(f));
    EXPECT_EQ(back, f);
  }
  EXPECT_TRUE(std::isnan(FromOrderedKey(OrderedKey(std::nanf("")))));
}

}  // namespace
}  // namespace loci::index
