// Db::Search: exact results against a brute force over Get (every metric, filters, read points,
// spaces, flat and clustered partitions), input validation, persistence across reopen,
// checkpoint and crash, and recall on real data (bigann10k).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>

#include "loci/db.h"
#include "loci/env.h"
#include "tests/sim/sim_env.h"
#include "tests/testutil.h"

namespace loci {
namespace {

// Stats once the background indexer has absorbed every version published so far: the index's
// sizes and answers are compared across reopens, where it must have its final shape.
DbStats IndexedStats(Db* db) {
  test::WaitForIndex(db);
  return db->Stats();
}

using test::Contains;
using test::RandomVector;

// Exact distance as Search reports it (lower is better for every metric here).
double Distance(const std::string& metric, const std::vector<float>& q,
                const std::vector<float>& x) {
  double dot = 0, qq = 0, xx = 0, l2 = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    dot += double{q[i]} * x[i];
    qq += double{q[i]} * q[i];
    xx += double{x[i]} * x[i];
    l2 += (double{q[i]} - x[i]) * (double{q[i]} - x[i]);
  }
  if (metric == "l2") return l2;
  if (metric == "ip") return -dot;
  return -dot / std::sqrt(qq * xx);
}

Status DefineField(Db* db, const std::string& space, const std::string& field, uint32_t dim,
                   const std::string& metric) {
  WriteBatch b;
  b.DefineVectorField(space, field, dim,
                      metric == "l2"   ? Metric::kL2
                      : metric == "ip" ? Metric::kInnerProduct
                                       : Metric::kCosine);
  return db->Write(WriteOptions(), b, nullptr);
}

class SearchTest : public testing::Test {
 protected:
  SearchTest() : env_(NewMemEnv()) {}

  Options SmallIndexOptions() { return test::SmallIndexOptions(env_.get()); }
  void Open(const Options& o) {
    db_.reset();
    Status s = Db::Open(o, dir_, &db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // A cube of space "s" with `vector` in field "v".
  Result<CubeId> PutVector(const std::vector<float>& vector) {
    CubeDraft d;
    d.space = "s";
    d.vectors.push_back({"v", vector});
    return db_->Put(WriteOptions(), d);
  }
  // The 10 nearest to `query` in field "v" of space "s".
  static SearchRequest SearchFor(const std::vector<float>& query) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = query;
    r.k = 10;
    return r;
  }

  std::unique_ptr<Env> env_;
  std::string dir_ = "/db";
  std::unique_ptr<Db> db_;
};

TEST_F(SearchTest, FindsTheNearestInAFlatPartition) {
  Open(SmallIndexOptions());
  std::mt19937_64 rng(1);
  std::vector<std::vector<float>> vs;
  std::vector<CubeId> ids;
  for (int i = 0; i < 40; ++i) {
    CubeDraft d;
    d.space = "s";
    vs.push_back(RandomVector(rng, 16));
    d.vectors.push_back({"v", vs.back()});
    Result<CubeId> id = db_->Put(WriteOptions(), d);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back(*id);
  }
  for (int i = 0; i < 40; ++i) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = vs[i];
    r.k = 3;
    std::vector<SearchHit> hits;
    ASSERT_TRUE(db_->Search(r, &hits).ok());
    ASSERT_EQ(hits.size(), 3u);
    EXPECT_EQ(hits[0].id, ids[i]);
    EXPECT_NEAR(hits[0].score, 1.0f, 1e-5);  // cosine similarity with itself
    EXPECT_EQ(hits[0].version, 1u);
    EXPECT_EQ(hits[0].space, "s");
    EXPECT_GE(hits[0].score, hits[1].score);
    EXPECT_GE(hits[1].score, hits[2].score);
  }
}

TEST_F(SearchTest, RejectsBadRequests) {
  Open(SmallIndexOptions());
  ASSERT_TRUE(DefineField(db_.get(), "s", "v", 4, "l2").ok());
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"v", {1, 2, 3, 4}});
  ASSERT_TRUE(db_->Put(WriteOptions(), d).ok());
  ASSERT_TRUE(DefineField(db_.get(), "t", "v", 4, "cosine").ok());

  auto search = [&](auto mutate) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = {1, 2, 3, 4};
    mutate(r);
    std::vector<SearchHit> hits(1);
    Status s = db_->Search(r, &hits);
    if (!s.ok()) {
      EXPECT_TRUE(hits.empty());  // cleared on failure
    }
    return s;
  };
  EXPECT_TRUE(search([](SearchRequest&) {}).ok());
  struct Case {
    std::function<void(SearchRequest&)> mutate;
    std::string says;
  };
  const float nan = std::nanf("");
  const float inf = INFINITY;
  std::vector<Case> cases = {
      {[](SearchRequest& r) {
         r.query = {1, 2, 3};
       },
       "dimension"},
      {[&](SearchRequest& r) { r.query[2] = nan; }, "component 2"},
      {[&](SearchRequest& r) { r.query[0] = inf; }, "component 0"},
      {[](SearchRequest& r) { r.k = 0; }, "k must be"},
      {[](SearchRequest& r) { r.k = kMaxSearchK + 1; }, "k must be"},
      {[](SearchRequest& r) { r.field = "w"; }, "no vector field 'w'"},
      {[](SearchRequest& r) { r.field.clear(); }, "no vector field"},
      {[](SearchRequest& r) { r.spaces = {"nope"}; }, "unknown space 'nope'"},
      {[](SearchRequest& r) { r.spaces.clear(); }, "no space"},
      {[](SearchRequest& r) { r.states = {CubeState::kRetired}; }, "retired"},
      {[](SearchRequest& r) {
         r.spaces = {"s", "t"};
       },
       "differs"},
      {[](SearchRequest& r) { r.rerank = kMaxSearchRerank + 1; }, "rerank"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    Status s = search(cases[i].mutate);
    EXPECT_TRUE(s.IsInvalidArgument()) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), cases[i].says)) << i << ": " << s.ToString();
    // The message says what is wrong, not which call it was: callers (the CLI's "loci:
    // search: ") add that, and must not find it said twice.
    EXPECT_FALSE(s.message().starts_with("search")) << i << ": " << s.ToString();
  }
  // A space that has the field but no vectors yet: no hits, no error.
  ASSERT_TRUE(DefineField(db_.get(), "u", "v", 4, "l2").ok());
  std::vector<SearchHit> hits;
  SearchRequest r;
  r.spaces = {"u"};
  r.field = "v";
  r.query = {1, 2, 3, 4};
  EXPECT_TRUE(db_->Search(r, &hits).ok());
  EXPECT_TRUE(hits.empty());
}

// A vector whose norm overflows float (or, for cosine, is too small to normalise) would score
// NaN or infinity: refused at put and at search, for every metric, naming the field and why.
TEST_F(SearchTest, VectorsWhoseNormOverflowsAreRefused) {
  Open(SmallIndexOptions());
  const std::vector<float> huge = {3e38f, 3e38f, 3e38f};
  const std::vector<float> tiny = {1e-45f, 0, 0};
  const std::vector<float> fine = {1, 2, 3};
  for (const std::string metric : {"cosine", "l2", "ip"}) {
    SCOPED_TRACE(metric);
    const std::string space = "s-" + metric;
    ASSERT_TRUE(DefineField(db_.get(), space, "e", 3, metric).ok());
    auto put = [&](const std::vector<float>& v) {
      return db_->Put(WriteOptions(), CubeDraft{.space = space, .vectors = {{"e", v}}}).status();
    };
    auto search = [&](const std::vector<float>& q, std::vector<SearchHit>* hits) {
      SearchRequest r;
      r.spaces = {space};
      r.field = "e";
      r.query = q;
      r.k = 10;
      return db_->Search(r, hits);
    };
    ASSERT_TRUE(put(fine).ok());
    std::vector<SearchHit> hits;
    for (Status s : {put(huge), search(huge, &hits)}) {
      EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
      EXPECT_TRUE(Contains(s.message(), "vector field 'e'")) << s.ToString();
      EXPECT_TRUE(Contains(s.message(), "above the maximum")) << s.ToString();
    }
    // Each component is a finite float; only the norm overflows.
    EXPECT_TRUE(put({3e18f, 3e18f, 3e18f}).IsInvalidArgument());
    EXPECT_TRUE(put({5e14f, 5e14f, 5e14f}).ok());
    if (metric == "cosine") {
      for (Status s : {put(tiny), search(tiny, &hits)}) {
        EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
        EXPECT_TRUE(Contains(s.message(), "vector field 'e'")) << s.ToString();
        EXPECT_TRUE(Contains(s.message(), "below the minimum")) << s.ToString();
      }
    } else {
      // l2 and ip need no direction: a tiny vector is a vector near zero.
      ASSERT_TRUE(put(tiny).ok());
      ASSERT_TRUE(search(tiny, &hits).ok());
      EXPECT_EQ(hits.size(), 3u);
    }
    ASSERT_TRUE(search(fine, &hits).ok());
    EXPECT_EQ(hits.size(), metric == "cosine" ? 2u : 3u);  // every cube stored is found
    for (const SearchHit& h : hits) EXPECT_TRUE(std::isfinite(h.score)) << h.score;
  }
}

TEST_F(SearchTest, IndexOptionsAreChecked) {
  struct Case {
    std::function<void(VectorIndexOptions&)> mutate;
    std::string says;
  };
  std::vector<Case> cases = {
      {[](VectorIndexOptions& v) { v.flat_limit = 0; }, "must be positive"},
      {[](VectorIndexOptions& v) { v.list_target = 0; }, "must be positive"},
      {[](VectorIndexOptions& v) { v.max_replicas = 0; }, "must be positive"},
      {[](VectorIndexOptions& v) { v.probes = 0; }, "must be positive"},
      {[](VectorIndexOptions& v) { v.rerank = 0; }, "must be positive"},
      {[](VectorIndexOptions& v) { v.rerank = kMaxSearchRerank + 1; }, "rerank must be at most"},
      {[](VectorIndexOptions& v) { v.probes = kMaxSearchProbes + 1; }, "probes at most"},
      {[](VectorIndexOptions& v) { v.replica_slack = -1; }, "slacks"},
      {[](VectorIndexOptions& v) { v.probe_slack = std::nanf(""); }, "slacks"},
      {[](VectorIndexOptions& v) { v.page_bytes = 1024; }, "page_bytes"},
  };
  // Dimensions past what the INT8 kernels sum exactly in 32 bits are refused up front.
  Options too_wide = SmallIndexOptions();
  too_wide.max_vector_dim = 65537;
  Status wide = Db::Open(too_wide, dir_, &db_);
  EXPECT_TRUE(wide.IsInvalidArgument()) << wide.ToString();
  EXPECT_TRUE(Contains(wide.ToString(), "max_vector_dim must be 1..65536")) << wide.ToString();
  for (size_t i = 0; i < cases.size(); ++i) {
    Options o = SmallIndexOptions();
    cases[i].mutate(o.vector_index);
    Status s = Db::Open(o, dir_, &db_);
    EXPECT_TRUE(s.IsInvalidArgument()) << i << ": " << s.ToString();
    EXPECT_TRUE(Contains(s.ToString(), cases[i].says)) << i << ": " << s.ToString();
  }
}

// While the WAL record that logged a vector is still there, a damaged arena copy is rewritten
// from it at open: the vector is indexed and found as if nothing had happened.
TEST_F(SearchTest, DamagedVectorBlobIsRestoredFromItsWalCopy) {
  Open(SmallIndexOptions());
  const std::vector<float> marked = {1234.5f, -77.25f, 3.5f, 9.0f};
  Result<CubeId> damaged = PutVector(marked);
  ASSERT_TRUE(damaged.ok());
  db_.reset();
  test::DamageVectorInFile(env_.get(), dir_ + "/arena-00000001.blob", marked);
  ASSERT_FALSE(HasFatalFailure());
  Open(SmallIndexOptions());
  EXPECT_TRUE(Contains(db_->Stats().recovery, "1 blob(s) restored from their WAL copies"))
      << db_->Stats().recovery;
  const SearchRequest r = SearchFor(marked);
  std::vector<SearchHit> hits;
  ASSERT_TRUE(db_->Search(r, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, *damaged);
  MemCube cube;
  ASSERT_TRUE(db_->Get(ReadOptions(), *damaged, &cube).ok());
  EXPECT_EQ(cube.vectors.at(0).values, marked);
  IntegrityReport report;
  EXPECT_TRUE(db_->Verify(&report).ok());
}

// A vector blob damaged on disk once it is the vector's only copy (a checkpoint dropped the WAL
// record that logged it): the reopened database says it left the vector out of the index, the
// search never returns that cube, and the other cubes are still found.
TEST_F(SearchTest, DamagedVectorBlobIsLeftOutOfTheRebuiltIndex) {
  Open(SmallIndexOptions());
  const std::vector<float> marked = {1234.5f, -77.25f, 3.5f, 9.0f};
  Result<CubeId> damaged = PutVector(marked);
  ASSERT_TRUE(damaged.ok());
  CubeDraft d;
  d.space = "s";
  d.vectors.push_back({"v", {1234.0f, -77.0f, 3.0f, 9.0f}});
  Result<CubeId> intact = db_->Put(WriteOptions(), d);
  ASSERT_TRUE(intact.ok());
  ASSERT_TRUE(db_->Checkpoint().ok());
  db_.reset();

  test::DamageVectorInFile(env_.get(), dir_ + "/arena-00000001.blob", marked);
  ASSERT_FALSE(HasFatalFailure());

  Open(SmallIndexOptions());
  EXPECT_TRUE(Contains(IndexedStats(db_.get()).recovery, "not fully indexed"))
      << IndexedStats(db_.get()).recovery;
  SearchRequest r = SearchFor(marked);
  std::vector<SearchHit> hits;
  ASSERT_TRUE(db_->Search(r, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, *intact);
  MemCube cube;
  EXPECT_TRUE(db_->Get(ReadOptions(), *damaged, &cube).IsCorruption());

  // A new version that keeps the damaged vector (an attribute change) does not bring it into
  // the index, and the database stays writable.
  CubePatch attrs_only;
  attrs_only.set_attrs.push_back({"topic", "kept"});
  Result<uint32_t> updated = db_->Update(WriteOptions(), *damaged, attrs_only);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  ASSERT_TRUE(db_->Search(r, &hits).ok());
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, *intact);
  EXPECT_TRUE(db_->Put(WriteOptions(), d).ok());
}

// A random history of puts, updates (new vectors, attributes, states, valid times) and retires
// over two spaces, and random filtered searches at random read points, each compared with a
// brute force over Get. With full effort (every list probed, every candidate re-ranked) the
// index must return exactly the brute force's top k; with default effort it may miss some,
// but every hit must be one the brute force accepts, with the same score.
// Dimensions 12 and 300 cover the scan modes (both code planes at once; the hi plane, then
// the refinement), and low-rank vectors at 300 dimensions the prefix pass.
class FilteredExactness
    : public SearchTest,
      public testing::WithParamInterface<std::tuple<const char*, uint32_t, bool>> {};

TEST_P(FilteredExactness, MatchesBruteForce) {
  const std::string metric = std::get<0>(GetParam());
  const uint32_t dim = std::get<1>(GetParam());
  const bool low_rank = std::get<2>(GetParam());
  Open(SmallIndexOptions());
  const std::vector<std::string> spaces = {"alice", "bob"};
  for (const auto& s : spaces) ASSERT_TRUE(DefineField(db_.get(), s, "v", dim, metric).ok());
  std::mt19937_64 rng(metric == "l2" ? 7 : metric == "ip" ? 8 : 9);
  // Low rank: a random combination of 6 fixed directions, plus a little noise.
  std::optional<test::LowRankVectors> low;
  if (low_rank) low.emplace(rng, dim, 6);
  auto random_vector = [&] { return low ? low->Next(rng) : RandomVector(rng, dim); };
  const std::vector<std::string> topics = {"a", "b", "c"};
  std::vector<CubeId> ids;
  std::vector<Timestamp> times;  // read points worth searching at
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  for (int step = 0; step < 700; ++step) {
    const size_t what = ids.size() < 20 ? 0 : pick(10);
    if (what < 6) {
      CubeDraft d;
      d.space = spaces[pick(2)];
      d.kind = static_cast<uint16_t>(pick(2));
      if (pick(5) == 0) d.state = CubeState::kArchived;
      d.attrs.push_back({"topic", topics[pick(3)]});
      if (pick(8) != 0) d.vectors.push_back({"v", random_vector()});
      if (pick(10) == 0) d.valid_from = db_->Now() + 1000000;  // valid only in the future
      Result<CubeId> id = db_->Put(WriteOptions{.sync = false}, d);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      ids.push_back(*id);
    } else if (what < 9) {
      CubePatch p;
      const size_t change = pick(4);
      if (change == 0) p.set_vectors.push_back({"v", random_vector()});
      if (change == 1) p.set_attrs.push_back({"topic", topics[pick(3)]});
      if (change == 2) p.state = pick(2) == 0 ? CubeState::kArchived : CubeState::kActive;
      if (change == 3) p.remove_vectors.push_back("v");
      if (pick(6) == 0) p.valid_from = db_->Now() - 5000000;  // a correction of the past
      Result<uint32_t> v = db_->Update(WriteOptions{.sync = false}, ids[pick(ids.size())], p);
      ASSERT_TRUE(v.ok() || v.status().IsInvalidArgument()) << v.status().ToString();
    } else {
      Status s = db_->Retire(WriteOptions{.sync = false}, ids[pick(ids.size())]);
      ASSERT_TRUE(s.ok() || s.IsInvalidArgument()) << s.ToString();
    }
    if (step % 50 == 0) times.push_back(db_->Now());
  }
  times.push_back(db_->Now());

  int nonempty = 0;
  for (int round = 0; round < 120; ++round) {
    SearchRequest r;
    r.field = "v";
    r.query = random_vector();
    r.k = static_cast<uint32_t>(1 + pick(15));
    r.spaces = pick(3) == 0 ? spaces : std::vector<std::string>{spaces[pick(2)]};
    if (pick(3) == 0) r.kinds = {static_cast<uint16_t>(pick(2))};
    if (pick(3) == 0) r.states = {pick(2) == 0 ? CubeState::kActive : CubeState::kArchived};
    if (pick(3) == 0) r.attrs.push_back({"topic", topics[pick(3)]});
    if (pick(2) == 0) r.as_of = times[pick(times.size())];
    if (pick(3) == 0) r.valid_at = db_->Now() - static_cast<Timestamp>(pick(8000000));
    // A read without either time is at the clock's now, valid time included, and cubes valid
    // from a second after their put become visible as it moves: pin it, so that the brute force
    // and the searches below read at the same point however long they take.
    if (!r.as_of && !r.valid_at) r.valid_at = db_->Now();

    // Brute force: every cube as Get sees it at the same read point.
    std::vector<std::pair<double, CubeId>> expected;
    std::map<CubeId, uint32_t> expected_version;
    for (CubeId id : ids) {
      ReadOptions ro;
      ro.as_of = r.as_of;
      ro.valid_at = r.valid_at;
      MemCube c;
      if (!db_->Get(ro, id, &c).ok()) continue;
      if (std::find(r.spaces.begin(), r.spaces.end(), c.space) == r.spaces.end()) continue;
      if (!r.kinds.empty() && c.kind != r.kinds[0]) continue;
      if (!r.states.empty() && c.state != r.states[0]) continue;
      if (!r.attrs.empty() &&
          std::find(c.attrs.begin(), c.attrs.end(), r.attrs[0]) == c.attrs.end()) {
        continue;
      }
      if (c.vectors.empty()) continue;
      expected.emplace_back(Distance(metric, r.query, c.vectors[0].values), id);
      expected_version[id] = c.version;
    }
    std::sort(expected.begin(), expected.end());

    r.probes = kMaxSearchProbes;
    r.rerank = kMaxSearchRerank;
    std::vector<SearchHit> hits;
    Status s = db_->Search(r, &hits);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(hits.size(), std::min<size_t>(r.k, expected.size())) << "round " << round;
    for (size_t i = 0; i < hits.size(); ++i) {
      EXPECT_EQ(hits[i].id, expected[i].second) << "round " << round << " rank " << i;
      EXPECT_EQ(hits[i].version, expected_version[hits[i].id]);
      const double score = metric == "l2" ? expected[i].first : -expected[i].first;
      EXPECT_NEAR(hits[i].score, score, 1e-3 * (1 + std::fabs(score)));
    }
    nonempty += !hits.empty();

    // Default effort: possibly fewer right answers, never a wrong one.
    r.probes = 0;
    r.rerank = 0;
    ASSERT_TRUE(db_->Search(r, &hits).ok());
    for (size_t i = 0; i < hits.size(); ++i) {
      ASSERT_TRUE(expected_version.count(hits[i].id)) << "round " << round;
      EXPECT_EQ(hits[i].version, expected_version[hits[i].id]);
      if (i > 0 && metric == "l2") {
        EXPECT_GE(hits[i].score, hits[i - 1].score);
      }
      if (i > 0 && metric != "l2") {
        EXPECT_LE(hits[i].score, hits[i - 1].score);
      }
    }
  }
  EXPECT_GT(nonempty, 60);  // the filters left something to find most of the time
  DbStats stats = IndexedStats(db_.get());
  EXPECT_GT(stats.index_vectors, 0u);
  for (const VectorFieldInfo& f : stats.vector_fields) {
    EXPECT_GT(f.index_lists, 1u) << f.space;
    EXPECT_EQ(f.index_prefix_width > 0, low_rank) << f.space;
  }
}

INSTANTIATE_TEST_SUITE_P(MetricsAndDims, FilteredExactness,
                         testing::Combine(testing::Values("cosine", "ip", "l2"),
                                          testing::Values(12u, 300u), testing::Values(false)));
INSTANTIATE_TEST_SUITE_P(LowRank, FilteredExactness,
                         testing::Combine(testing::Values("cosine", "ip", "l2"),
                                          testing::Values(300u), testing::Values(true)));

// The scan's own ranking, with the exact re-rank limited to k candidates so that it can only
// reorder what the scan chose: against a brute force, 95% of the true top 10 must be chosen,
// for each metric and every scan mode. A wrong INT8, 4-bit or prefix distance (a bad sign,
// scale or offset) ranks near-random candidates and fails this. Low-rank data (points near a
// few centres along a few shared directions, as embeddings are) give wide partitions a
// projection and the prefix pass.
class ScanRanking : public SearchTest,
                    public testing::WithParamInterface<std::tuple<const char*, uint32_t, bool>> {};

TEST_P(ScanRanking, ChoosesMostOfTheTrueNearest) {
  const std::string metric = std::get<0>(GetParam());
  const uint32_t dim = std::get<1>(GetParam());
  const bool low_rank = std::get<2>(GetParam());
  Options o;
  o.env = env_.get();
  o.create_if_missing = true;
  o.vector_index.flat_limit = 256;
  o.vector_index.list_target = 32;
  Open(o);
  ASSERT_TRUE(DefineField(db_.get(), "s", "v", dim, metric).ok());
  // Points around a few centres, so neighbourhoods have structure as real embeddings do.
  std::mt19937_64 rng(dim);
  std::normal_distribution<float> noise(0.0f, low_rank ? 0.02f : 0.3f);
  std::normal_distribution<float> along(0.0f, 0.5f);
  std::vector<std::vector<float>> centres, directions;
  for (int c = 0; c < 16; ++c) centres.push_back(RandomVector(rng, dim));
  if (low_rank) {
    for (int c = 0; c < 8; ++c) directions.push_back(RandomVector(rng, dim));
  }
  auto point = [&] {
    std::vector<float> x = centres[rng() % centres.size()];
    for (float& v : x) v += noise(rng);
    if (low_rank) {
      for (const std::vector<float>& d : directions) {
        const float z = along(rng);
        for (uint32_t i = 0; i < dim; ++i) x[i] += z * d[i];
      }
    }
    return x;
  };
  std::vector<std::vector<float>> base;
  std::vector<CubeId> ids;
  WriteBatch batch;
  for (int i = 0; i < 1500; ++i) {
    CubeDraft d;
    d.space = "s";
    base.push_back(point());
    d.vectors.push_back({"v", base.back()});
    batch.Put(d);
  }
  WriteResult result;
  ASSERT_TRUE(db_->Write(WriteOptions{.sync = false}, batch, &result).ok());
  for (const WriteResult::OpResult& op : result.ops) ids.push_back(op.id);

  constexpr uint32_t kK = 10;
  size_t found = 0, wanted = 0;
  for (int round = 0; round < 40; ++round) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = point();
    r.k = kK;
    r.probes = kMaxSearchProbes;
    r.rerank = kK;
    std::vector<std::pair<double, CubeId>> expected;
    for (size_t i = 0; i < base.size(); ++i) {
      expected.emplace_back(Distance(metric, r.query, base[i]), ids[i]);
    }
    std::partial_sort(expected.begin(), expected.begin() + kK, expected.end());
    std::vector<SearchHit> hits;
    ASSERT_TRUE(db_->Search(r, &hits).ok());
    ASSERT_EQ(hits.size(), kK);
    for (size_t i = 0; i < kK; ++i) {
      found += std::count_if(hits.begin(), hits.end(),
                             [&](const SearchHit& h) { return h.id == expected[i].second; });
    }
    wanted += kK;
  }
  const double recall = static_cast<double>(found) / static_cast<double>(wanted);
  const uint32_t prefix_width = IndexedStats(db_.get()).vector_fields.at(0).index_prefix_width;
  std::printf("%s dim %u%s: recall@10 of the scan's ranking %.3f (prefix width %u)\n",
              metric.c_str(), dim, low_rank ? " low-rank" : "", recall, prefix_width);
  EXPECT_GE(recall, 0.95);
  // Partitions learn projections from 256 dimensions on (the hi-plane pass's threshold).
  if (dim < 256) {
    EXPECT_EQ(prefix_width, 0u);
  } else if (low_rank) {
    EXPECT_GT(prefix_width, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(MetricsAndDims, ScanRanking,
                         testing::Combine(testing::Values("cosine", "ip", "l2"),
                                          testing::Values(48u, 300u, 784u), testing::Bool()));

// The hits of `queries`, as (id, version, score) lines.
std::vector<std::string> Answers(Db* db, const std::vector<std::vector<float>>& queries) {
  std::vector<std::string> out;
  test::WaitForIndex(db);  // answers from the index in its final shape
  for (const auto& q : queries) {
    SearchRequest r;
    r.spaces = {"s"};
    r.field = "v";
    r.query = q;
    r.k = 10;
    std::vector<SearchHit> hits;
    Status s = db->Search(r, &hits);
    EXPECT_TRUE(s.ok()) << s.ToString();
    out.push_back(test::HitsLine(hits));
  }
  return out;
}

TEST_F(SearchTest, SameAnswersAfterReopenAndCheckpoint) {
  Open(SmallIndexOptions());
  std::mt19937_64 rng(3);
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 25; ++i) queries.push_back(RandomVector(rng, 20));
  std::vector<CubeId> ids;
  auto write = [&](int n) {
    for (int i = 0; i < n; ++i) {
      if (ids.size() > 10 && i % 5 == 0) {
        CubePatch p;
        p.set_vectors.push_back({"v", RandomVector(rng, 20)});
        ASSERT_TRUE(db_->Update(WriteOptions{.sync = false}, ids[i % ids.size()], p).ok());
        continue;
      }
      CubeDraft d;
      d.space = "s";
      d.vectors.push_back({"v", RandomVector(rng, 20)});
      Result<CubeId> id = db_->Put(WriteOptions{.sync = false}, d);
      ASSERT_TRUE(id.ok());
      ids.push_back(*id);
    }
  };
  write(900);
  const std::vector<std::string> before = Answers(db_.get(), queries);
  Open(SmallIndexOptions());  // WAL replay only
  EXPECT_EQ(Answers(db_.get(), queries), before);
  ASSERT_TRUE(db_->Checkpoint().ok());
  write(500);
  const std::vector<std::string> later = Answers(db_.get(), queries);
  EXPECT_NE(later, before);
  Open(SmallIndexOptions());  // checkpoint + WAL
  EXPECT_EQ(Answers(db_.get(), queries), later);
  ASSERT_TRUE(db_->Checkpoint().ok());
  Open(SmallIndexOptions());  // checkpoint only
  EXPECT_EQ(Answers(db_.get(), queries), later);
}

TEST(SearchCrashTest, SameAnswersAfterCrashRecovery) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    sim::SimEnv env(seed);
    Options o;
    o.env = &env;
    o.create_if_missing = true;
    o.deterministic_io = true;
    o.vector_index.flat_limit = 64;
    o.vector_index.list_target = 8;
    std::mt19937_64 rng(seed);
    std::vector<std::vector<float>> queries;
    for (int i = 0; i < 10; ++i) queries.push_back(RandomVector(rng, 8));
    std::vector<std::string> acknowledged;
    {
      std::unique_ptr<Db> db;
      ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
      for (int i = 0; i < 300; ++i) {
        CubeDraft d;
        d.space = "s";
        d.vectors.push_back({"v", RandomVector(rng, 8)});
        ASSERT_TRUE(db->Put(WriteOptions{.sync = i % 10 == 9}, d).ok());
        if (i == 150) {
          ASSERT_TRUE(db->Checkpoint().ok());
        }
      }
      acknowledged = Answers(db.get(), queries);  // everything up to the last sync is durable
      env.Crash();
    }
    std::unique_ptr<Db> db;
    Status s = Db::Open(o, "/db", &db);
    ASSERT_TRUE(s.ok()) << s.ToString();
    EXPECT_EQ(Answers(db.get(), queries), acknowledged) << "seed " << seed;
  }
}

// --- recall on real data

std::string SharedData() {
  const char* env = std::getenv("LOCI_SHARED_DATA");
  return env != nullptr ? env : LOCI_SHARED_DATA_DEFAULT;
}

// Reads a TEXMEX .bvecs or .ivecs file: records of (int32 dim, dim values).
template <typename T>
bool ReadVecs(const std::string& path, std::vector<std::vector<float>>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  int32_t dim;
  while (in.read(reinterpret_cast<char*>(&dim), 4)) {
    if (dim <= 0 || dim > 100000) return false;
    std::vector<T> raw(static_cast<size_t>(dim));
    if (!in.read(reinterpret_cast<char*>(raw.data()),
                 static_cast<std::streamsize>(dim * sizeof(T)))) {
      return false;
    }
    out->emplace_back(raw.begin(), raw.end());
  }
  return !out->empty();
}

TEST(SearchRecallTest, Bigann10kL2AtDefaultSettings) {
  const std::string dir = SharedData() + "/bigann10k/";
  if (!std::filesystem::exists(dir + "bigann10k_base.bvecs")) {
    GTEST_SKIP() << "bigann10k not found under " << dir << " (set LOCI_SHARED_DATA)";
  }
  // Present but unreadable is a failure, not a skip.
  std::vector<std::vector<float>> base, queries, truth;
  ASSERT_TRUE(ReadVecs<uint8_t>(dir + "bigann10k_base.bvecs", &base));
  ASSERT_TRUE(ReadVecs<uint8_t>(dir + "bigann10k_query_siftsmall.bvecs", &queries));
  ASSERT_TRUE(ReadVecs<int32_t>(dir + "bigann10k_groundtruth_siftsmall.ivecs", &truth));
  ASSERT_EQ(base.size(), 10000u);
  ASSERT_EQ(queries.size(), truth.size());
  std::unique_ptr<Env> env = NewMemEnv();
  Options o;
  o.env = env.get();
  o.create_if_missing = true;  // default index options
  std::unique_ptr<Db> db;
  ASSERT_TRUE(Db::Open(o, "/db", &db).ok());
  ASSERT_TRUE(DefineField(db.get(), "sift", "v", 128, "l2").ok());
  for (size_t i = 0; i < base.size(); i += 500) {
    WriteBatch b;
    for (size_t j = i; j < std::min(base.size(), i + 500); ++j) {
      CubeDraft d;
      d.space = "sift";
      d.vectors.push_back({"v", base[j]});
      b.Put(d);
    }
    WriteResult result;
    ASSERT_TRUE(db->Write(WriteOptions{.sync = false}, b, &result).ok());
  }
  size_t found = 0;
  for (size_t q = 0; q < queries.size(); ++q) {
    SearchRequest r;
    r.spaces = {"sift"};
    r.field = "v";
    r.query = queries[q];
    r.k = 10;
    std::vector<SearchHit> hits;
    ASSERT_TRUE(db->Search(r, &hits).ok());
    std::set<CubeId> want;
    for (int i = 0; i < 10; ++i) want.insert(static_cast<CubeId>(truth[q][i]) + 1);  // ids from 1
    for (const SearchHit& h : hits) found += want.count(h.id);
  }
  const double recall = static_cast<double>(found) / (10.0 * queries.size());
  std::printf("bigann10k recall@10 at default settings: %.4f\n", recall);
  EXPECT_GE(recall, 0.95);
}

}  // namespace
}  // namespace loci
