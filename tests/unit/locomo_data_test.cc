// tools/bench/locomo_data.h: the date and dia_id parsers, and the counts of the real file
// (../shared/data/locomo/locomo10.json; skipped when it is absent).

#include "tools/bench/locomo_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

namespace loci::bench {
namespace {

TEST(LocomoDataTest, ParsesSessionDatesAsUtc) {
  LocomoTime t = 0;
  ASSERT_TRUE(ParseLocomoDateTime("1:56 pm on 8 May, 2023", &t).ok());
  EXPECT_EQ(t, int64_t{1683554160} * 1000000);
  ASSERT_TRUE(ParseLocomoDateTime("12:05 am on 29 February, 2024", &t).ok());
  EXPECT_EQ(t, int64_t{1709165100} * 1000000);
  ASSERT_TRUE(ParseLocomoDateTime("12:00 pm on 1 January, 2023", &t).ok());
  EXPECT_EQ(t % (int64_t{86400} * 1000000), int64_t{12} * 3600 * 1000000);
  for (const char* bad :
       {"", "1:56 pm on 8 Mai, 2023", "13:56 pm on 8 May, 2023", "1:56 pm on 30 February, 2023",
        "1:56 xm on 8 May, 2023", "1:56 pm on 8 May, 2023 extra", "1:56 pm 8 May 2023"}) {
    EXPECT_TRUE(ParseLocomoDateTime(bad, &t).IsInvalidArgument()) << bad;
  }
}

TEST(LocomoDataTest, ParsesDiaIds) {
  size_t unparsed = 0;
  EXPECT_EQ(ParseDiaIds("D1:3", &unparsed), (std::vector<std::string>{"D1:3"}));
  EXPECT_EQ(ParseDiaIds("D8:6; D9:17", &unparsed), (std::vector<std::string>{"D8:6", "D9:17"}));
  EXPECT_EQ(ParseDiaIds("D9:1 D4:4,D4:6", &unparsed),
            (std::vector<std::string>{"D9:1", "D4:4", "D4:6"}));
  EXPECT_EQ(ParseDiaIds("D30:05", &unparsed), (std::vector<std::string>{"D30:5"}));
  EXPECT_EQ(unparsed, 0u);
  EXPECT_TRUE(ParseDiaIds("D", &unparsed).empty());
  EXPECT_TRUE(ParseDiaIds("D:11:26", &unparsed).empty());
  EXPECT_TRUE(ParseDiaIds("D-1:2", &unparsed).empty());
  EXPECT_EQ(unparsed, 3u);
  EXPECT_TRUE(ParseDiaIds("", nullptr).empty());
}

TEST(LocomoDataTest, ReportsMissingAndMalformedFiles) {
  LocomoData data;
  EXPECT_TRUE(LoadLocomo("/nonexistent/locomo10.json", 0, &data).IsIOError());
  const std::string path = ::testing::TempDir() + "/locomo_bad.json";
  for (const char* content : {"{", "{}", "[{\"sample_id\": 1}]",
                              "[{\"sample_id\": \"c\", \"conversation\": {\"speaker_a\": \"a\", "
                              "\"speaker_b\": \"b\", \"session_1\": []}, \"qa\": []}]"}) {
    std::ofstream(path, std::ios::trunc) << content;
    EXPECT_TRUE(LoadLocomo(path, 0, &data).IsCorruption()) << content;
  }
  std::filesystem::remove(path);
}

TEST(LocomoDataTest, RealFileCounts) {
  const std::string path = DefaultLocomoPath();
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found (set LOCI_DATA)";
  LocomoData data;
  const Status s = LoadLocomo(path, 0, &data);
  ASSERT_TRUE(s.ok()) << s.ToString();
  size_t sessions = 0, turns = 0, summaries = 0, observations = 0, questions = 0;
  size_t unresolved = 0, unparsed = 0, captions = 0;
  std::map<int, size_t> by_category;
  for (const LocomoConversation& c : data.conversations) {
    std::set<std::string> dia_ids;
    LocomoTime last = 0;
    for (const LocomoSession& session : c.sessions) {
      ++sessions;
      summaries += !session.summary.empty();
      for (const LocomoTurn& turn : session.turns) {
        ++turns;
        captions += !turn.blip_caption.empty();
        EXPECT_GT(turn.time, last) << turn.dia_id << ": turns are in time order";
        last = turn.time;
        EXPECT_TRUE(dia_ids.insert(turn.dia_id).second) << turn.dia_id;
      }
    }
    observations += c.observations.size();
    for (const LocomoObservation& o : c.observations) {
      for (const std::string& id : o.evidence) EXPECT_TRUE(dia_ids.count(id)) << id;
    }
    for (const LocomoQuestion& q : c.qa) {
      ++questions;
      ++by_category[q.category];
      unparsed += q.unparsed_evidence;
      for (const std::string& id : q.evidence) unresolved += dia_ids.count(id) == 0;
    }
  }
  EXPECT_EQ(data.conversations.size(), 10u);
  EXPECT_EQ(data.conversations[0].sample_id, "conv-26");
  EXPECT_EQ(sessions, 272u);
  EXPECT_EQ(turns, 5882u);
  EXPECT_EQ(captions, 1226u);
  EXPECT_EQ(summaries, 272u);
  EXPECT_EQ(observations, 2541u);
  EXPECT_EQ(questions, 1986u);
  EXPECT_EQ(by_category, (std::map<int, size_t>{{1, 282}, {2, 321}, {3, 96}, {4, 841}, {5, 446}}));
  EXPECT_EQ(unparsed, 2u);    // "D" and "D:11:26"
  EXPECT_EQ(unresolved, 2u);  // D10:19 of conv-42 and D4:36 of conv-47 name no turn
  EXPECT_EQ(data.conversations[0].sessions[0].start, int64_t{1683554160} * 1000000);

  LocomoData two;
  ASSERT_TRUE(LoadLocomo(path, 2, &two).ok());
  EXPECT_EQ(two.conversations.size(), 2u);
}

}  // namespace
}  // namespace loci::bench
