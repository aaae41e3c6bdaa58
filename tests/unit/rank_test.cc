// Ranking by more than the vector (SearchRequest's weights), on the in-memory Env with a clock
// the test sets: the importance factor, the recency factor with its half-life, and decay by
// use (recency_from_access), where reads that record an access (ReadOptions::record_access,
// SearchRequest::record_access) make a memory fresh again without writing a version — in
// memory only: a reopen forgets them.

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

using test::SetClockEnv;
using test::Utc;

constexpr Timestamp kDay = 86400LL * 1000000;

class RankTest : public testing::Test {
 protected:
  RankTest() : mem_(NewMemEnv()), env_(mem_.get()) { env_.now = Utc(2025, 6, 1); }
  void SetUp() override { Open(); }
  void Open() {
    Options o;
    o.env = &env_;
    o.create_if_missing = true;
    Status s = Db::Open(o, "/rank", &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // A cube whose vector is the query's direction (cosine 1), valid from `age` ago.
  CubeId Put(Timestamp age, float importance) {
    CubeDraft d{.space = "s", .payload = "p", .vectors = {{"v", {1, 0, 0, 0}}}};
    d.valid_from = env_.now - age;
    d.importance = importance;
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }

  // The hits of a search in `r`'s ranking, as (id, score).
  std::vector<std::pair<CubeId, float>> Rank(SearchRequest r) {
    r.spaces = {"s"};
    r.field = "v";
    r.query = {1, 0, 0, 0};
    r.k = 10;
    std::vector<SearchHit> hits;
    Status s = db_->Search(r, &hits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    std::vector<std::pair<CubeId, float>> out;
    for (const SearchHit& h : hits) out.emplace_back(h.id, h.score);
    return out;
  }

  std::unique_ptr<Env> mem_;
  SetClockEnv env_;
  std::unique_ptr<Db> db_;
};

TEST_F(RankTest, ImportanceAndRecencyScaleTheScore) {
  const CubeId old_cube = Put(20 * kDay, 0.0f);
  const CubeId recent = Put(10 * kDay, 0.0f);
  const CubeId important = Put(20 * kDay, 1.0f);
  SearchRequest r;
  r.recency_weight = 1.0f;
  r.recency_half_life = 10 * kDay;
  auto ranked = Rank(r);
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked[0].first, recent);
  EXPECT_NEAR(ranked[0].second, 0.5f, 1e-3) << "one half-life old";
  EXPECT_NEAR(ranked[1].second, 0.25f, 1e-3) << "two half-lives old";
  r.importance_weight = 3.0f;  // x (1 + 3 x importance)
  ranked = Rank(r);
  EXPECT_EQ(ranked[0].first, important);
  EXPECT_NEAR(ranked[0].second, 1.0f, 1e-3);
  EXPECT_EQ(ranked[1].first, recent);
  EXPECT_EQ(ranked[2].first, old_cube);
}

TEST_F(RankTest, ARecordedAccessMakesAMemoryFreshWithoutAVersion) {
  const CubeId old_cube = Put(20 * kDay, 0.0f);
  const CubeId recent = Put(10 * kDay, 0.0f);
  SearchRequest r;
  r.recency_weight = 1.0f;
  r.recency_half_life = 10 * kDay;
  r.recency_from_access = true;
  EXPECT_EQ(Rank(r)[0].first, recent) << "no access recorded yet: age from valid_from";

  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), old_cube, &cube).ok());
  EXPECT_EQ(Rank(r)[0].first, recent) << "a plain Get records nothing";
  ReadOptions touch;
  touch.record_access = true;
  ASSERT_TRUE(db_->Get(touch, old_cube, &cube).ok());
  auto ranked = Rank(r);
  EXPECT_EQ(ranked[0].first, old_cube) << "used just now";
  EXPECT_NEAR(ranked[0].second, 1.0f, 1e-3);
  std::vector<MemCube> history;
  ASSERT_TRUE(db_->History(ReadOptions(), old_cube, &history).ok());
  EXPECT_EQ(history.size(), 1u) << "an access writes no version";
  SearchRequest plain = r;
  plain.recency_from_access = false;
  EXPECT_EQ(Rank(plain)[0].first, recent) << "only recency_from_access counts accesses";

  // The access ages like anything else: 10 days on, the old cube is one half-life old, the
  // recent one two; a search that records its hits refreshes both.
  env_.now += 10 * kDay;
  ranked = Rank(r);
  EXPECT_EQ(ranked[0].first, old_cube);
  EXPECT_NEAR(ranked[0].second, 0.5f, 1e-3);
  SearchRequest recording = r;
  recording.record_access = true;
  Rank(recording);
  ranked = Rank(r);
  EXPECT_NEAR(ranked[0].second, 1.0f, 1e-3);
  EXPECT_NEAR(ranked[1].second, 1.0f, 1e-3);

  db_.reset();
  Open();
  ranked = Rank(r);
  EXPECT_EQ(ranked[0].first, recent) << "accesses live in memory: a reopen forgets them";
  EXPECT_NEAR(ranked[0].second, 0.25f, 1e-3);
}

}  // namespace
}  // namespace loci
