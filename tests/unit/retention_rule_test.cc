// gc::VersionsKept (gc/retention.h): the count rule, the age rule, both (a version either keeps
// stays), the snapshot pin, and the newest version always kept.

#include <gtest/gtest.h>

#include <vector>

#include "gc/retention.h"

namespace loci::gc {
namespace {

// Commit times of versions 5..1, newest first: version 4 was superseded at 50, 3 at 40, 2 at
// 30, 1 at 20.
const std::vector<int64_t> kFive = {50, 40, 30, 20, 10};

TEST(RetentionRuleTest, NoRuleKeepsEverything) {
  EXPECT_EQ(VersionsKept(RetentionRule{}, kFive, 1000, kNothingPinned), 5u);
}

TEST(RetentionRuleTest, CountRuleKeepsTheNewest) {
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_versions = 2}, kFive, 1000, kNothingPinned), 2u);
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_versions = 9}, kFive, 1000, kNothingPinned), 5u);
  const std::vector<int64_t> one = {50}, none;
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_versions = 1}, one, 1000, kNothingPinned), 1u);
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_versions = 1}, none, 1000, kNothingPinned), 0u);
}

TEST(RetentionRuleTest, AgeRuleKeepsWhatWasSupersededRecently) {
  // At 45 with keep_for 20: superseded at 50, 40 and 30 are within; at 20 is not.
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_for = 20}, kFive, 45, kNothingPinned), 4u);
  // Superseded exactly keep_for ago (at 30) is old enough.
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_for = 15}, kFive, 45, kNothingPinned), 3u);
  EXPECT_EQ(VersionsKept(RetentionRule{.keep_for = 1}, kFive, 1000, kNothingPinned), 1u);
}

TEST(RetentionRuleTest, BothRulesKeepWhatEitherKeeps) {
  const RetentionRule both{.keep_versions = 2, .keep_for = 20};
  EXPECT_EQ(VersionsKept(both, kFive, 45, kNothingPinned), 4u) << "the age rule keeps more";
  EXPECT_EQ(VersionsKept(both, kFive, 1000, kNothingPinned), 2u) << "the count rule keeps more";
}

TEST(RetentionRuleTest, NothingCommittedByThePinIsPruned) {
  const RetentionRule one{.keep_versions = 1};
  EXPECT_EQ(VersionsKept(one, kFive, 1000, 10), 5u) << "version 1 pinned: nothing goes";
  EXPECT_EQ(VersionsKept(one, kFive, 1000, 9), 1u);
  EXPECT_EQ(VersionsKept(one, kFive, 1000, 35), 5u) << "older versions stay with a pinned one";
}

}  // namespace
}  // namespace loci::gc
