// loci-bench filtered: the filtered, trace-expanded search of an agent-memory store at scale.
//
// The corpus (filtered_data.h) is loaded into a fresh Loci database with WriteBatch (sync=false,
// kLoadBatch cubes and their edges per batch), and the vector index is let catch up. Then one
// thread asks `queries` searches: k = 10 nearest cubes of one space, valid in a window covering
// a third of that space's time span, with one topic, expanded one hop over every edge type in
// both directions (expand_limit kMaxSearchK, so that every neighbour is reported). Peers answer
// the same queries:
//  - hnswlib + sqlite: hnswlib's filtered search over every vector (the filter reads space,
//    valid_from and topic from in-memory arrays), then the hits' neighbours from SQLite's
//    adjacency table;
//  - sqlite + exact: SQLite's index on (space, topic, valid_from) lists the cubes that pass,
//    their vectors (hnswlib's copy) are scored exactly, then the same SQLite expansion.
// Every answer is compared with an exact one computed here (cosine over every cube that passes
// the filters) and with SQLite's adjacency; at the exhaustive settings they must be equal.
// Db::Trace (one hop) and Db::Events (a window, limit 100) are timed beside SQLite's
// equivalents and checked against them. Each latency is one call, one thread.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "loci/db.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/filtered_data.h"
#include "tools/bench/filtered_peers.h"
#include "tools/bench/scenarios.h"

namespace loci::bench {

namespace {

constexpr char kField[] = "emb";
constexpr char kTopic[] = "topic";
constexpr uint32_t kK = 10;
constexpr uint32_t kLoadBatch = 1000;
constexpr uint32_t kWarmup = 50;          // unmeasured queries before each pass
constexpr uint32_t kEventsLimit = 100;    // Db::Events page measured
constexpr uint32_t kTraceSamples = 5000;  // random cubes traced
// Scores closer than this at the k-th place are a tie: either cube is a right answer.
constexpr double kTieGap = 1e-5;
// The targets, in microseconds (p50).
constexpr double kSearchTargetUs = 1000;
constexpr double kTraceTargetUs = 5;
constexpr double kEventsTargetUs = 50;

std::string SpaceName(uint32_t s) { return "user" + std::to_string(s); }
std::string EpisodeName(uint32_t e) { return "session" + std::to_string(e); }
double Seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }
double Us(double ns) { return ns / 1e3; }

// Loci's ids of the corpus' cubes, both ways.
struct LociIds {
  std::vector<CubeId> id;                      // cube index -> id
  std::unordered_map<CubeId, uint32_t> index;  // id -> cube index
};

// --- loading Loci

struct LoadReport {
  uint64_t vector_ns = 0;  // generating the vectors
  uint64_t write_ns = 0;   // Db::Write calls
  uint64_t wall_ns = 0;
  uint64_t wait_ns = 0;  // waiting for the index to absorb the backlog
  uint64_t batches = 0;
  uint64_t edges = 0;
};

Status DefineFields(Db* db, const FilteredCorpus& corpus) {
  WriteBatch batch;
  for (uint32_t s = 0; s < corpus.spaces(); ++s) {
    batch.DefineVectorField(SpaceName(s), kField, corpus.dim(), Metric::kCosine);
  }
  return db->Write(WriteOptions{.sync = false}, batch, nullptr);
}

CubeDraft Draft(const FilteredCorpus& corpus, uint32_t i, std::vector<float> vector) {
  CubeDraft draft;
  draft.space = SpaceName(corpus.SpaceOf(i));
  draft.payload = "event " + std::to_string(corpus.EventOf(i)) + " of " + draft.space + ", topic " +
                  std::to_string(corpus.Topic(i));
  draft.vectors.push_back({kField, std::move(vector)});
  draft.attrs = {{kTopic, corpus.Topic(i)}};
  draft.episode = EpisodeName(corpus.EpisodeOf(i));
  draft.valid_from = corpus.ValidFrom(i);
  return draft;
}

// Writes cubes [begin, end) and their edges (whose other ends precede them) in one batch.
Status LoadBatch(Db* db, const FilteredCorpus& corpus, uint32_t begin, uint32_t end, LociIds* ids,
                 LoadReport* report) {
  WriteBatch batch;
  std::vector<CubeId> refs;  // placeholders of cubes [begin, end)
  for (uint32_t i = begin; i < end; ++i) {
    std::vector<float> v(corpus.dim());
    const uint64_t start = NowNanos();
    corpus.Vector(i, v.data());
    report->vector_ns += NowNanos() - start;
    refs.push_back(batch.Put(Draft(corpus, i, std::move(v))));
    const auto [first, last] = corpus.EdgesOf(i);
    for (size_t e = first; e < last; ++e) {
      const FilteredEdge& edge = corpus.edges()[e];
      auto ref = [&](uint32_t c) { return c >= begin ? refs[c - begin] : ids->id[c]; };
      batch.Link(SpaceName(corpus.SpaceOf(i)), ref(edge.from), ref(edge.to), edge.type, 1.0f,
                 corpus.ValidFrom(i));
      ++report->edges;
    }
  }
  WriteResult result;
  const uint64_t start = NowNanos();
  LOCI_RETURN_IF_ERROR(db->Write(WriteOptions{.sync = false}, batch, &result));
  report->write_ns += NowNanos() - start;
  ++report->batches;
  for (uint32_t i = begin; i < end; ++i) {
    const CubeId id = result.ops.at(refs[i - begin] & ~kBatchRefBit).id;
    ids->id[i] = id;
    ids->index[id] = i;
  }
  return Status::OK();
}

// Polls Stats until the vector index has absorbed every write (up to an hour).
void WaitForIndex(Db* db) {
  const uint64_t deadline = NowNanos() + 3600'000'000'000ull;
  while (db->Stats().index_backlog > 0 && NowNanos() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Status LoadLoci(Db* db, const FilteredCorpus& corpus, LociIds* ids, LoadReport* report) {
  LOCI_RETURN_IF_ERROR(DefineFields(db, corpus));
  ids->id.assign(corpus.cubes(), 0);
  ids->index.reserve(corpus.cubes());
  const uint64_t start = NowNanos();
  for (uint32_t b = 0; b < corpus.cubes(); b += kLoadBatch) {
    LOCI_RETURN_IF_ERROR(
        LoadBatch(db, corpus, b, std::min(corpus.cubes(), b + kLoadBatch), ids, report));
    if (b % 100000 == 0 && b > 0) std::fprintf(stderr, "# loci: %u cubes written\n", b);
  }
  report->wall_ns = NowNanos() - start;
  const uint64_t wait = NowNanos();
  WaitForIndex(db);
  report->wait_ns = NowNanos() - wait;
  return Status::OK();
}

// --- answers and the exact one

// One answer to a query: the direct hits (best first) and the expanded ones (sorted).
struct Answer {
  std::vector<uint32_t> direct;
  std::vector<uint32_t> expanded;
};

// The exact answer: the k best cubes by cosine among those passing the filters.
struct Truth {
  std::vector<uint32_t> direct;
  uint32_t candidates = 0;  // cubes passing the filters
  double kth_gap = 1;       // score of the k-th minus that of the (k+1)-th (1 when fewer)
};

double Dot(const float* a, const float* b, uint32_t dim) {
  double sum = 0;
  for (uint32_t k = 0; k < dim; ++k) sum += double{a[k]} * b[k];
  return sum;
}

Truth ExactAnswer(const FilteredCorpus& corpus, const FilteredQuery& query) {
  std::vector<std::pair<double, uint32_t>> scored;
  std::vector<float> v(corpus.dim());
  for (uint32_t j = 0; j < corpus.Events(query.space); ++j) {
    const uint32_t i = corpus.CubeOf(query.space, j);
    if (!PassesFilter(corpus, query, i)) continue;
    corpus.Vector(i, v.data());
    scored.emplace_back(-Dot(query.vector.data(), v.data(), corpus.dim()), i);
  }
  std::sort(scored.begin(), scored.end());
  Truth truth;
  truth.candidates = static_cast<uint32_t>(scored.size());
  for (size_t r = 0; r < std::min<size_t>(kK, scored.size()); ++r) {
    truth.direct.push_back(scored[r].second);
  }
  if (scored.size() > kK) truth.kth_gap = scored[kK].first - scored[kK - 1].first;
  return truth;
}

bool SameSet(std::vector<uint32_t> a, std::vector<uint32_t> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

double Recall(const std::vector<uint32_t>& found, const Truth& truth) {
  if (truth.direct.empty()) return 1;
  size_t hits = 0;
  for (uint32_t c : truth.direct) {
    hits += std::find(found.begin(), found.end(), c) != found.end();
  }
  return static_cast<double>(hits) / static_cast<double>(truth.direct.size());
}

// --- a measured pass

struct Pass {
  std::string system;
  std::string setting;
  Histogram latency;
  std::vector<Answer> answers;  // per query measured
  // Filled by Check.
  double recall = 0;
  uint64_t direct_mismatches = 0;  // direct hit sets unequal to the exact ones, ties aside
  uint64_t direct_ties = 0;        // unequal only by a tie at the k-th place
  uint64_t expansion_mismatches = 0;
  bool expansion_checked = false;
};

// Runs `answer(q, &answer)` for each of the first n queries (after kWarmup unmeasured ones),
// timing each call.
template <typename Fn>
Status RunPass(size_t n, Fn answer, Pass* pass) {
  Answer scratch;
  for (size_t q = 0; q < std::min<size_t>(kWarmup, n); ++q)
    LOCI_RETURN_IF_ERROR(answer(q, &scratch));
  pass->answers.resize(n);
  for (size_t q = 0; q < n; ++q) {
    const uint64_t start = NowNanos();
    Status s = answer(q, &pass->answers[q]);
    pass->latency.Record(NowNanos() - start);
    LOCI_RETURN_IF_ERROR(s);
  }
  return Status::OK();
}

// --- Loci

class LociSearcher {
 public:
  LociSearcher(Db* db, const LociIds& ids, const std::vector<FilteredQuery>& queries)
      : db_(db), ids_(ids), queries_(queries) {
    request_.field = kField;
    request_.k = kK;
    request_.spaces.resize(1);
    request_.attrs = {{kTopic, int64_t{0}}};
  }

  // expand: one hop over every type, both directions, every neighbour reported.
  // exhaustive: every list probed and every candidate re-ranked exactly.
  void Configure(bool expand, bool exhaustive) {
    request_.expand_hops = expand ? 1 : 0;
    request_.expand_limit = expand ? kMaxSearchK : 0;
    request_.probes = exhaustive ? kMaxSearchProbes : 0;
    request_.rerank = exhaustive ? kMaxSearchRerank : 0;
  }

  Status Answer(size_t q, bench::Answer* answer) {
    const FilteredQuery& query = queries_[q];
    request_.spaces[0] = SpaceName(query.space);
    request_.window_from = query.window_from;
    request_.window_to = query.window_to;
    request_.attrs[0].value = query.topic;
    request_.query = query.vector;
    LOCI_RETURN_IF_ERROR(db_->Search(request_, &hits_));
    answer->direct.clear();
    answer->expanded.clear();
    for (const SearchHit& h : hits_) {
      auto it = ids_.index.find(h.id);
      if (it == ids_.index.end()) return Status::Corruption("search returned an unknown id");
      (h.hop == 0 ? answer->direct : answer->expanded).push_back(it->second);
    }
    std::sort(answer->expanded.begin(), answer->expanded.end());
    return Status::OK();
  }

 private:
  Db* const db_;
  const LociIds& ids_;
  const std::vector<FilteredQuery>& queries_;
  SearchRequest request_;
  std::vector<SearchHit> hits_;
};

Status LociPass(LociSearcher* searcher, size_t n, bool expand, bool exhaustive, Pass* pass) {
  searcher->Configure(expand, exhaustive);
  pass->system = expand ? "loci" : "loci (no expansion)";
  pass->setting = exhaustive ? "exhaustive" : "default";
  return RunPass(
      n, [&](size_t q, Answer* a) { return searcher->Answer(q, a); }, pass);
}

// --- the peers

#ifdef LOCI_BENCH_HAVE_SQLITE
// The cubes one edge away from any of `direct`, not in it, sorted.
Status SqliteExpansion(FilteredSqlite* sql, const std::vector<uint32_t>& direct,
                       std::vector<uint32_t>* expanded) {
  expanded->clear();
  for (uint32_t c : direct) LOCI_RETURN_IF_ERROR(sql->Neighbours(c, expanded));
  std::sort(expanded->begin(), expanded->end());
  expanded->erase(std::unique(expanded->begin(), expanded->end()), expanded->end());
  std::erase_if(*expanded, [&](uint32_t c) {
    return std::find(direct.begin(), direct.end(), c) != direct.end();
  });
  return Status::OK();
}
#endif

#if defined(LOCI_BENCH_HAVE_HNSWLIB) && defined(LOCI_BENCH_HAVE_SQLITE)
Status HnswPass(const FilteredCorpus& corpus, const std::vector<FilteredQuery>& queries,
                const FilteredHnsw& hnsw, FilteredSqlite* sql, size_t n, uint32_t ef,
                const std::string& setting, Pass* pass) {
  pass->system = "hnswlib+sqlite";
  pass->setting = setting;
  return RunPass(
      n,
      [&](size_t q, Answer* a) {
        const FilteredQuery& query = queries[q];
        hnsw.Search(
            query.vector.data(), kK, ef, [&](uint32_t i) { return PassesFilter(corpus, query, i); },
            &a->direct);
        return SqliteExpansion(sql, a->direct, &a->expanded);
      },
      pass);
}

// SQLite lists the cubes passing the filters; their vectors are scored exactly.
Status SqliteExactPass(const FilteredCorpus& corpus, const std::vector<FilteredQuery>& queries,
                       const FilteredHnsw& hnsw, FilteredSqlite* sql, size_t n, Pass* pass) {
  pass->system = "sqlite+exact";
  pass->setting = "exhaustive";
  std::vector<uint32_t> candidates;
  std::vector<std::pair<float, uint32_t>> scored;
  return RunPass(
      n,
      [&](size_t q, Answer* a) {
        const FilteredQuery& query = queries[q];
        LOCI_RETURN_IF_ERROR(sql->Candidates(query, &candidates));
        scored.clear();
        for (uint32_t c : candidates) {
          const float* v = hnsw.VectorOf(c);
          float dot = 0;
          for (uint32_t k = 0; k < corpus.dim(); ++k) dot += query.vector[k] * v[k];
          scored.emplace_back(-dot, c);
        }
        const size_t k = std::min<size_t>(kK, scored.size());
        std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
        a->direct.clear();
        for (size_t r = 0; r < k; ++r) a->direct.push_back(scored[r].second);
        return SqliteExpansion(sql, a->direct, &a->expanded);
      },
      pass);
}
#endif

// --- checks

// Compares each answer of `pass` with the exact one, and (when sql is set) its expansion with
// SQLite's adjacency of its own direct hits.
Status Check(const std::vector<Truth>& truth, FilteredSqlite* sql, Pass* pass) {
  double recall = 0;
  std::vector<uint32_t> expected;
  for (size_t q = 0; q < pass->answers.size(); ++q) {
    const Answer& a = pass->answers[q];
    recall += Recall(a.direct, truth[q]);
    if (!SameSet(a.direct, truth[q].direct)) {
      ++(truth[q].kth_gap < kTieGap && a.direct.size() == truth[q].direct.size()
             ? pass->direct_ties
             : pass->direct_mismatches);
    }
#ifdef LOCI_BENCH_HAVE_SQLITE
    if (sql != nullptr) {
      LOCI_RETURN_IF_ERROR(SqliteExpansion(sql, a.direct, &expected));
      pass->expansion_mismatches += expected != a.expanded;
      pass->expansion_checked = true;
    }
#else
    (void)sql;
    (void)expected;
#endif
  }
  pass->recall = pass->answers.empty() ? 0 : recall / static_cast<double>(pass->answers.size());
  return Status::OK();
}

// --- Trace and Events

struct OpRow {
  std::string system;
  std::string metric;
  Histogram latency;
  uint64_t mismatches = 0;  // answers unequal to the other system's (Loci rows)
  bool checked = false;
  double mean_results = 0;
};

Status TraceOps(Db* db, const FilteredCorpus& corpus, const LociIds& ids, uint64_t seed,
                FilteredSqlite* sql, OpRow* loci, OpRow* peer) {
  loci->system = "loci";
  loci->metric = "trace neighbours (hops=1, both directions)";
  peer->system = "sqlite";
  peer->metric = "adjacency (both directions)";
  TraceRequest request;
  request.hops = 1;
  request.direction = TraceDirection::kBoth;
  request.limit = 100;
  std::vector<TraceStep> steps;
  std::vector<uint32_t> found;
  std::vector<uint32_t> expected;
  Rng rng(seed ^ 0x7ace);
  uint64_t results = 0;
  for (uint32_t n = 0; n < kTraceSamples + kWarmup; ++n) {
    const uint32_t cube = static_cast<uint32_t>(rng.Uniform(corpus.cubes()));
    request.start = ids.id[cube];
    uint64_t start = NowNanos();
    LOCI_RETURN_IF_ERROR(db->Trace(request, &steps));
    if (n >= kWarmup) loci->latency.Record(NowNanos() - start);
    results += n >= kWarmup ? steps.size() : 0;
    if (sql == nullptr) continue;
#ifdef LOCI_BENCH_HAVE_SQLITE
    expected.clear();
    start = NowNanos();
    LOCI_RETURN_IF_ERROR(sql->Neighbours(cube, &expected));
    if (n >= kWarmup) peer->latency.Record(NowNanos() - start);
    found.clear();
    for (const TraceStep& step : steps) found.push_back(ids.index.at(step.id));
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    loci->mismatches += !SameSet(found, expected);
    loci->checked = true;
#endif
  }
  loci->mean_results = static_cast<double>(results) / kTraceSamples;
  return Status::OK();
}

Status EventsOps(Db* db, const FilteredCorpus& corpus, const LociIds& ids,
                 const std::vector<FilteredQuery>& queries, FilteredSqlite* sql, OpRow* loci,
                 OpRow* peer) {
  loci->system = "loci";
  loci->metric = "events (window from a random event, limit 100)";
  peer->system = "sqlite";
  peer->metric = loci->metric;
  EventsRequest request;
  request.limit = kEventsLimit;
  // Ids and times, as SQLite's query returns: no payload copies.
  request.fill_payload = false;
  std::vector<MemCube> events;
  std::vector<uint32_t> found;
  std::vector<uint32_t> expected;
  uint64_t results = 0;
  const size_t n = queries.size();
  for (size_t r = 0; r < n + kWarmup; ++r) {
    const FilteredQuery& q = queries[r % n];
    request.space = SpaceName(q.space);
    // From a random event to the space's end, so that kEventsLimit events are in the window
    // whenever the space has them.
    const uint32_t events_in_space = corpus.Events(q.space);
    const uint32_t slack = events_in_space - std::min(events_in_space, kEventsLimit);
    const uint32_t first = static_cast<uint32_t>(Rng(r).Uniform(slack + 1));
    request.from = corpus.ValidFrom(corpus.CubeOf(q.space, first));
    request.to = corpus.LastTime(q.space) + 1;
    uint64_t start = NowNanos();
    LOCI_RETURN_IF_ERROR(db->Events(request, &events));
    if (r >= kWarmup) loci->latency.Record(NowNanos() - start);
    results += r >= kWarmup ? events.size() : 0;
    if (sql == nullptr) continue;
#ifdef LOCI_BENCH_HAVE_SQLITE
    start = NowNanos();
    LOCI_RETURN_IF_ERROR(sql->Events(q.space, request.from, request.to, kEventsLimit, &expected));
    if (r >= kWarmup) peer->latency.Record(NowNanos() - start);
    found.clear();
    for (const MemCube& e : events) found.push_back(ids.index.at(e.id));
    loci->mismatches += found != expected;
    loci->checked = true;
#endif
  }
  loci->mean_results = static_cast<double>(results) / static_cast<double>(n);
  return Status::OK();
}

// --- report

void PrintSetup(const FilteredConfig& config, const FilteredCorpus& corpus, const LoadReport& load,
                const DbStats& stats) {
  std::printf(
      "# filtered: %u cubes, %u-d unit vectors (Gaussian mixture of %u clusters, anisotropic "
      "noise; cosine), %u spaces, episodes of %u events a minute apart (a day between "
      "episodes), topic = cluster mod %u, %zu edges (next within an episode, 1-2 refers to "
      "earlier events of the space); seed %llu\n",
      corpus.cubes(), corpus.dim(), FilteredCorpus::kClusters, corpus.spaces(),
      FilteredCorpus::kEpisodeEvents, FilteredCorpus::kTopics, corpus.edges().size(),
      static_cast<unsigned long long>(config.seed));
  std::printf(
      "# loci load: %llu batches of %u cubes + their edges, sync=false: %.1f s wall (%.0f "
      "cubes/s; Db::Write %.1f s, generating vectors %.1f s), index catch-up %.1f s; arena "
      "%s, index %s\n",
      static_cast<unsigned long long>(load.batches), kLoadBatch, Seconds(load.wall_ns),
      corpus.cubes() / Seconds(load.wall_ns), Seconds(load.write_ns), Seconds(load.vector_ns),
      Seconds(load.wait_ns), FormatBytes(static_cast<double>(stats.arena_bytes)).c_str(),
      FormatBytes(static_cast<double>(stats.index_bytes)).c_str());
  std::printf(
      "# query: k=%u in one space, valid-time window = a third of the space's span (events "
      "are valid forever after valid_from, so the window keeps those before its end), topic "
      "equal; expansion: 1 hop, every edge type, both directions, expand_limit %u (all "
      "neighbours); latency = one call, one thread, %u warm-up queries unmeasured\n",
      kK, kMaxSearchK, kWarmup);
  std::printf(
      "# loci default = probes 0, rerank 0 (the index's defaults); exhaustive = probes %u, "
      "rerank %u\n",
      kMaxSearchProbes, kMaxSearchRerank);
}

std::string CheckText(const Pass& p) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(p.direct_mismatches));
  std::string out = buf;
  if (p.direct_ties > 0) out += " (+" + std::to_string(p.direct_ties) + " ties)";
  out += " / ";
  out += p.expansion_checked ? std::to_string(p.expansion_mismatches) : "-";
  return out;
}

void PrintPasses(const std::vector<Pass>& passes) {
  std::printf("\n%-22s %-18s %7s %10s %10s %9s %9s  %s\n", "system", "setting", "queries", "p50 us",
              "p99 us", "recall@10", "expanded", "mismatches direct / expansion");
  for (const Pass& p : passes) {
    double expanded = 0;
    for (const Answer& a : p.answers) expanded += static_cast<double>(a.expanded.size());
    expanded /= std::max<double>(1, static_cast<double>(p.answers.size()));
    std::printf("%-22s %-18s %7zu %10.1f %10.1f %9.4f %9.1f  %s\n", p.system.c_str(),
                p.setting.c_str(), p.answers.size(), Us(p.latency.Percentile(0.5)),
                Us(p.latency.Percentile(0.99)), p.recall, expanded, CheckText(p).c_str());
  }
}

void PrintOps(const std::vector<OpRow>& ops) {
  std::printf("\n%-8s %-48s %8s %10s %10s %9s  %s\n", "system", "operation", "calls", "p50 us",
              "p99 us", "results", "mismatches vs sqlite");
  for (const OpRow& o : ops) {
    if (o.latency.count() == 0) continue;
    const std::string results = o.system == "loci" ? FormatNumber(o.mean_results) : "-";
    std::printf("%-8s %-48s %8llu %10.2f %10.2f %9s  %s\n", o.system.c_str(), o.metric.c_str(),
                static_cast<unsigned long long>(o.latency.count()), Us(o.latency.Percentile(0.5)),
                Us(o.latency.Percentile(0.99)), results.c_str(),
                o.checked ? std::to_string(o.mismatches).c_str() : "-");
  }
}

struct Target {
  std::string metric;
  double p50_us;
  double target_us;
};

void PrintTargets(const std::vector<Target>& targets) {
  std::printf("\n%-52s %10s %10s  %s\n", "target (p50)", "measured", "target", "");
  for (const Target& t : targets) {
    std::printf("%-52s %8.1f us %7.0f us  %s\n", t.metric.c_str(), t.p50_us, t.target_us,
                t.p50_us <= t.target_us ? "met" : "NOT met");
  }
}

void PrintRatios(const std::vector<Pass>& passes) {
  const Pass* loci = nullptr;
  for (const Pass& p : passes) {
    if (p.system == "loci" && p.setting == "default") loci = &p;
  }
  if (loci == nullptr) return;
  std::printf("\n");
  for (const Pass& p : passes) {
    if (p.system == "loci" || p.system.starts_with("loci ")) continue;
    std::printf("ratio %s %s / loci default: p50 %.1fx, p99 %.1fx\n", p.system.c_str(),
                p.setting.c_str(), p.latency.Percentile(0.5) / loci->latency.Percentile(0.5),
                p.latency.Percentile(0.99) / loci->latency.Percentile(0.99));
  }
}

Status WriteJson(const std::string& path, const FilteredConfig& config,
                 const std::vector<Pass>& passes, const std::vector<OpRow>& ops,
                 const std::vector<Target>& targets) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
  auto row = [&](const std::string& system, const std::string& metric, const Histogram& h) {
    return nlohmann::json{{"scenario", "filtered"},
                          {"system", system},
                          {"metric", metric},
                          {"p50_us", Us(h.Percentile(0.5))},
                          {"p99_us", Us(h.Percentile(0.99))},
                          {"calls", h.count()},
                          {"cubes", config.cubes},
                          {"dim", config.dim},
                          {"spaces", config.spaces}};
  };
  for (const Pass& p : passes) {
    nlohmann::json j = row(p.system, "search", p.latency);
    j["setting"] = p.setting;
    j["recall_at_10"] = p.recall;
    j["direct_mismatches"] = p.direct_mismatches;
    j["direct_ties"] = p.direct_ties;
    if (p.expansion_checked) j["expansion_mismatches"] = p.expansion_mismatches;
    std::fprintf(f, "%s\n", j.dump().c_str());
  }
  for (const OpRow& o : ops) {
    if (o.latency.count() == 0) continue;
    nlohmann::json j = row(o.system, o.metric, o.latency);
    if (o.checked) j["mismatches"] = o.mismatches;
    std::fprintf(f, "%s\n", j.dump().c_str());
  }
  for (const Target& t : targets) {
    const nlohmann::json j = {{"scenario", "filtered"},          {"system", "loci"},
                              {"metric", "target: " + t.metric}, {"p50_us", t.p50_us},
                              {"target_us", t.target_us},        {"met", t.p50_us <= t.target_us}};
    std::fprintf(f, "%s\n", j.dump().c_str());
  }
  if (std::fclose(f) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  return Status::OK();
}

// --- the run

// Everything measured, for the report.
struct Results {
  std::vector<Pass> passes;
  std::vector<OpRow> ops;
};

Status MeasureLoci(Db* db, const LociIds& ids, const std::vector<FilteredQuery>& queries,
                   const std::vector<Truth>& truth, FilteredSqlite* sql, Results* results) {
  LociSearcher searcher(db, ids, queries);
  for (auto [expand, exhaustive] : {std::pair{true, false}, {true, true}, {false, false}}) {
    Pass& pass = results->passes.emplace_back();
    LOCI_RETURN_IF_ERROR(LociPass(&searcher, queries.size(), expand, exhaustive, &pass));
    LOCI_RETURN_IF_ERROR(Check(truth, expand ? sql : nullptr, &pass));
  }
  return Status::OK();
}

#if defined(LOCI_BENCH_HAVE_HNSWLIB) && defined(LOCI_BENCH_HAVE_SQLITE)
Status MeasurePeers(const FilteredConfig& config, const FilteredCorpus& corpus,
                    const std::vector<FilteredQuery>& queries, const std::vector<Truth>& truth,
                    FilteredSqlite* sql, Results* results) {
  std::unique_ptr<FilteredHnsw> hnsw;
  const uint64_t start = NowNanos();
  LOCI_RETURN_IF_ERROR(
      BuildFilteredHnsw(corpus, config.build_threads, config.ef_construction, &hnsw));
  std::printf("# %s\n# hnswlib build: %.1f s with %d threads, %s\n", hnsw->Describe().c_str(),
              Seconds(NowNanos() - start), config.build_threads,
              FormatBytes(hnsw->Bytes()).c_str());
  const size_t peer_queries = config.peer_queries == 0
                                  ? queries.size()
                                  : std::min<size_t>(config.peer_queries, queries.size());
  for (uint32_t ef : config.ef) {
    Pass& pass = results->passes.emplace_back();
    LOCI_RETURN_IF_ERROR(
        HnswPass(corpus, queries, *hnsw, sql, peer_queries, ef, "ef=" + std::to_string(ef), &pass));
    LOCI_RETURN_IF_ERROR(Check(truth, nullptr, &pass));
  }
  // ef above the number of cubes any checked query accepts: the result set never fills, so
  // the search visits every cube reachable from the entry point, i.e. all of them.
  uint32_t most = 0;
  const size_t n = std::min<size_t>(config.check, queries.size());
  for (size_t q = 0; q < n; ++q) most = std::max(most, truth[q].candidates);
  const uint32_t ef = most + 1;
  Pass& exhaustive = results->passes.emplace_back();
  LOCI_RETURN_IF_ERROR(HnswPass(corpus, queries, *hnsw, sql, n, ef,
                                "exhaustive ef=" + std::to_string(ef), &exhaustive));
  LOCI_RETURN_IF_ERROR(Check(truth, nullptr, &exhaustive));
  Pass& exact = results->passes.emplace_back();
  LOCI_RETURN_IF_ERROR(SqliteExactPass(corpus, queries, *hnsw, sql, queries.size(), &exact));
  return Check(truth, nullptr, &exact);
}
#endif

std::vector<Target> Targets(const Results& r) {
  std::vector<Target> targets;
  for (const Pass& p : r.passes) {
    if (p.system == "loci" && p.setting == "default") {
      targets.push_back({"search (space, window, topic, k=10, 1-hop expansion)",
                         Us(p.latency.Percentile(0.5)), kSearchTargetUs});
    }
  }
  for (const OpRow& o : r.ops) {
    if (o.system != "loci") continue;
    const bool trace = o.metric.starts_with("trace");
    targets.push_back(
        {o.metric, Us(o.latency.Percentile(0.5)), trace ? kTraceTargetUs : kEventsTargetUs});
  }
  return targets;
}

Status RunOnDb(Db* db, const FilteredConfig& config, const FilteredCorpus& corpus,
               const LociIds& ids, FilteredSqlite* sql, Results* results) {
  const std::vector<FilteredQuery> queries = corpus.Queries(config.seed, config.queries);
  std::vector<Truth> truth;
  for (const FilteredQuery& q : queries) truth.push_back(ExactAnswer(corpus, q));
  double candidates = 0;
  for (const Truth& t : truth) candidates += t.candidates;
  std::printf(
      "# cubes passing the filters: %.1f per query on average (exact answers computed "
      "by the bench in double precision over them)\n",
      candidates / static_cast<double>(std::max<size_t>(1, truth.size())));
  std::fflush(stdout);
  LOCI_RETURN_IF_ERROR(MeasureLoci(db, ids, queries, truth, sql, results));
  std::vector<OpRow>& ops = results->ops;
  ops.resize(4);  // Loci's and SQLite's Trace, then their Events
  LOCI_RETURN_IF_ERROR(TraceOps(db, corpus, ids, config.seed, sql, &ops[0], &ops[1]));
  LOCI_RETURN_IF_ERROR(EventsOps(db, corpus, ids, queries, sql, &ops[2], &ops[3]));
#if defined(LOCI_BENCH_HAVE_HNSWLIB) && defined(LOCI_BENCH_HAVE_SQLITE)
  if (config.skip_hnswlib) {
    std::printf("# hnswlib+sqlite, sqlite+exact: skipped (--skip-hnswlib)\n");
    return Status::OK();
  }
  return MeasurePeers(config, corpus, queries, truth, sql, results);
#else
  std::printf(
      "# hnswlib+sqlite: skipped: hnswlib or SQLite was not found when loci-bench was "
      "configured\n");
  return Status::OK();
#endif
}

}  // namespace

Status RunFilteredScenario(const FilteredConfig& config) {
  if (config.cubes == 0 || config.spaces == 0 || config.dim == 0 || config.queries == 0) {
    return Status::InvalidArgument("--cubes, --spaces, --dim and --queries must be positive");
  }
  const FilteredCorpus corpus(config.seed, config.cubes, config.dim,
                              std::min(config.spaces, config.cubes));
  const std::string db_dir = config.dir + "/filtered";
  std::error_code ec;
  std::filesystem::remove_all(db_dir, ec);
  std::filesystem::create_directories(config.dir, ec);
  Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  std::unique_ptr<Db> db;
  LOCI_RETURN_IF_ERROR(Db::Open(options, db_dir, &db));

  LociIds ids;
  LoadReport load;
  Status s = LoadLoci(db.get(), corpus, &ids, &load);
  FilteredSqlite* sql = nullptr;
#ifdef LOCI_BENCH_HAVE_SQLITE
  std::unique_ptr<FilteredSqlite> sqlite;
  const uint64_t sql_start = NowNanos();
  if (s.ok()) s = BuildFilteredSqlite(corpus, &sqlite);
  const double sql_seconds = Seconds(NowNanos() - sql_start);
  sql = sqlite.get();
#endif
  Results results;
  if (s.ok()) {
    PrintSetup(config, corpus, load, db->Stats());
#ifdef LOCI_BENCH_HAVE_SQLITE
    std::printf("# sqlite: in-memory, cubes + edges tables and indexes built in %.1f s\n",
                sql_seconds);
#else
    std::printf("# sqlite: skipped: SQLite was not found when loci-bench was configured\n");
#endif
    s = RunOnDb(db.get(), config, corpus, ids, sql, &results);
  }
  db.reset();
  if (!config.keep) std::filesystem::remove_all(db_dir, ec);
  LOCI_RETURN_IF_ERROR(s);

  PrintPasses(results.passes);
  PrintRatios(results.passes);
  PrintOps(results.ops);
  const std::vector<Target> targets = Targets(results);
  PrintTargets(targets);
  if (!config.json.empty()) {
    LOCI_RETURN_IF_ERROR(WriteJson(config.json, config, results.passes, results.ops, targets));
  }
  return Status::OK();
}

}  // namespace loci::bench
