// tools/bench/locomo_fts5.h: the FTS5 baseline of loci-bench locomo. Its queries must survive
// any text (FTS5 syntax characters included) and rank turns sharing rare words first.

#include "tools/bench/locomo_fts5.h"

#include <gtest/gtest.h>

namespace loci::bench {
namespace {

TEST(LocomoFts5Test, AnyWordQueryQuotesEveryWord) {
  EXPECT_EQ(Fts5AnyWordQuery("When did Melanie paint?"),
            "\"when\" OR \"did\" OR \"melanie\" OR \"paint\"");
  EXPECT_EQ(Fts5AnyWordQuery(" ?! "), "");
  EXPECT_EQ(Fts5AnyWordQuery("NEAR(a b) AND \"x\" * ^y -z:w"),
            "\"near\" OR \"a\" OR \"b\" OR \"and\" OR \"x\" OR \"y\" OR \"z\" OR \"w\"");
}

TEST(LocomoFts5Test, RanksByBm25AndSurvivesSyntax) {
  Fts5TurnIndex index;
  ASSERT_TRUE(index
                  .Build({{"Hey Mel! Good to see you!", "D1:1"},
                          {"I painted a lake sunrise last year.", "D1:2"},
                          {"The support group was inspiring.", "D1:3"},
                          {"Caf\xc3\xa9 OR NEAR * \"quoted\"", "D1:4"}})
                  .ok());
  std::vector<std::string> ids;
  ASSERT_TRUE(index.Search(Fts5AnyWordQuery("When did Mel paint a sunrise?"), 10, &ids).ok());
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], "D1:2");
  for (const char* question :
       {"NEAR(\"x\" y) AND OR NOT *", "caf\xc3\xa9 \"quoted\"?", "a:b ^c", "\xff\xfe"}) {
    const Status s = index.Search(Fts5AnyWordQuery(question), 10, &ids);
    EXPECT_TRUE(s.ok()) << question << ": " << s.ToString();
  }
  ASSERT_TRUE(index.Search(Fts5AnyWordQuery("quoted"), 1, &ids).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"D1:4"}));
  ASSERT_TRUE(index.Search("", 10, &ids).ok());
  EXPECT_TRUE(ids.empty());
}

}  // namespace
}  // namespace loci::bench
