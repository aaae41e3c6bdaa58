// loci-bench locomo: how well search finds the evidence of LoCoMo's questions, and whether
// the trace graph helps.
//
// Every conversation is loaded into a fresh database (locomo_loci.h: one space per
// conversation, one episode per session, one cube per turn, observations and session summaries
// as derived cubes with derived_from edges to their turns), embedded with the lexical embedder
// (tools/embed: lexical, not semantic; its IDF fitted on that conversation's turn texts). Then
// every question with evidence is asked in each mode with k = 5, 10 and 20, and scored by
// evidence recall@k: the fraction of its evidence dia_ids among the first k turns retrieved,
// averaged over questions. Derived cubes count for nothing themselves; expansion through them
// can reach turns. SQLite FTS5 BM25 over the same turn texts, one in-memory table per
// conversation, is the lexical baseline.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "tools/bench/locomo_data.h"
#include "tools/bench/locomo_loci.h"
#include "tools/bench/scenarios.h"

#ifdef LOCI_BENCH_HAVE_SQLITE
#include "tools/bench/locomo_fts5.h"
#endif

namespace loci::bench {

namespace {

constexpr uint32_t kKs[] = {5, 10, 20};
constexpr LociMode kLociModes[] = {LociMode::kPlain, LociMode::kPlainTurns, LociMode::kExpand1,
                                   LociMode::kEpisode};
// Pseudo-categories of the report: every question, and categories 1-4 (what most papers report:
// category 5 is adversarial, its answers are not in the conversation).
constexpr int kAll = 0;
constexpr int kAllButAdversarial = -1;
constexpr int kCategories[] = {1, 2, 3, 4, 5, kAllButAdversarial, kAll};

std::string CategoryName(int category) {
  if (category == kAll) return "all";
  if (category == kAllButAdversarial) return "1-4";
  return std::to_string(category) + " " + LocomoCategoryName(category);
}

// A (system, mode) pair, as the rows name them.
struct Method {
  std::string system;
  std::string mode;
  auto operator<=>(const Method&) const = default;
};

// Mean evidence recall per (method, category, k), and search latency per (method, k).
class Scores {
 public:
  void Add(const Method& method, int category, uint32_t k, double recall) {
    for (int c : {category, kAll}) Cell(method, c, k).Add(recall);
    if (category >= 1 && category <= 4) Cell(method, kAllButAdversarial, k).Add(recall);
  }
  Histogram* Latency(const Method& method, uint32_t k) { return &latency_[{method, k}]; }

  // Mean recall and questions of a cell (0, 0 if none).
  std::pair<double, uint64_t> Recall(const Method& method, int category, uint32_t k) const {
    auto it = cells_.find({method, category, k});
    if (it == cells_.end() || it->second.questions == 0) return {0, 0};
    return {it->second.sum / static_cast<double>(it->second.questions), it->second.questions};
  }
  const std::map<std::pair<Method, uint32_t>, Histogram>& latencies() const { return latency_; }
  std::vector<Method> methods() const {
    std::vector<Method> out;
    for (const auto& [key, cell] : cells_) {
      if (out.empty() || out.back() != std::get<0>(key)) out.push_back(std::get<0>(key));
    }
    return out;
  }

 private:
  struct RecallCell {
    double sum = 0;
    uint64_t questions = 0;
    void Add(double recall) {
      sum += recall;
      ++questions;
    }
  };
  RecallCell& Cell(const Method& m, int category, uint32_t k) { return cells_[{m, category, k}]; }

  std::map<std::tuple<Method, int, uint32_t>, RecallCell> cells_;
  std::map<std::pair<Method, uint32_t>, Histogram> latency_;
};

double Recall(const std::vector<std::string>& evidence, const std::vector<std::string>& found) {
  size_t hits = 0;
  for (const std::string& id : evidence) {
    hits += std::find(found.begin(), found.end(), id) != found.end();
  }
  return static_cast<double>(hits) / static_cast<double>(evidence.size());
}

// What the run counts besides recall.
struct RunTotals {
  LocomoLoadStats load;
  uint64_t load_ns = 0;  // wall time of LoadConversation, embeddings included
  uint64_t index_wait_ns = 0;
  uint64_t fts5_build_ns = 0;
  uint64_t questions = 0;
  uint64_t questions_without_evidence = 0;  // none of their evidence names a turn
  uint64_t evidence_unresolved = 0;         // evidence dia_ids naming no turn (or not dia_ids)
};

// The question's evidence that names turns of `loaded`; counts the rest in *totals.
std::vector<std::string> ResolvedEvidence(const LocomoQuestion& q, const LoadedConversation& loaded,
                                          RunTotals* totals) {
  std::vector<std::string> evidence;
  totals->evidence_unresolved += q.unparsed_evidence;
  for (const std::string& id : q.evidence) {
    if (loaded.turn_ids.count(id) != 0) {
      evidence.push_back(id);
    } else {
      ++totals->evidence_unresolved;
    }
  }
  return evidence;
}

// Waits (up to a minute) until the vector index has absorbed every write, so that the timed
// searches measure the index rather than the exact scan of a backlog.
void WaitForIndex(Db* db) {
  const uint64_t deadline = NowNanos() + 60'000'000'000ull;
  while (db->Stats().index_backlog > 0 && NowNanos() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

#ifdef LOCI_BENCH_HAVE_SQLITE
// The FTS5 baseline of one conversation.
class Fts5Baseline {
 public:
  Status Build(const LocomoConversation& conversation, RunTotals* totals) {
    std::vector<std::pair<std::string, std::string>> turns;
    for (const LocomoSession& session : conversation.sessions) {
      for (const LocomoTurn& turn : session.turns) {
        turns.emplace_back(LocomoTurnText(turn), turn.dia_id);
      }
    }
    const uint64_t start = NowNanos();
    Status s = index_.Build(turns);
    totals->fts5_build_ns += NowNanos() - start;
    return s.WithContext(conversation.sample_id);
  }

  Status Ask(const LocomoQuestion& q, const std::vector<std::string>& evidence, Scores* scores) {
    const Method method{"sqlite", "fts5"};
    const std::string query = Fts5AnyWordQuery(q.question);
    for (uint32_t k : kKs) {
      const uint64_t start = NowNanos();
      Status s = index_.Search(query, k, &found_);
      scores->Latency(method, k)->Record(NowNanos() - start);
      LOCI_RETURN_IF_ERROR(s.WithContext("fts5"));
      scores->Add(method, q.category, k, Recall(evidence, found_));
    }
    return Status::OK();
  }

 private:
  Fts5TurnIndex index_;
  std::vector<std::string> found_;
};
#else
class Fts5Baseline {
 public:
  Status Ask(const LocomoQuestion&, const std::vector<std::string>&, Scores*) {
    return Status::OK();
  }
};
#endif

// Asks every question of `conversation` in every mode; `fts5` may be nullptr (no SQLite).
Status AskConversation(Db* db, const LocomoConversation& conversation,
                       const LoadedConversation& loaded, const tools::LexicalEmbedder& embedder,
                       Fts5Baseline* fts5, Scores* scores, RunTotals* totals) {
  std::vector<std::string> found;
  for (const LocomoQuestion& q : conversation.qa) {
    ++totals->questions;
    const std::vector<std::string> evidence = ResolvedEvidence(q, loaded, totals);
    if (evidence.empty()) {
      ++totals->questions_without_evidence;
      continue;
    }
    const std::vector<float> query = embedder.Embed(q.question);
    for (LociMode mode : kLociModes) {
      const Method method{"loci", LociModeName(mode)};
      for (uint32_t k : kKs) {
        LOCI_RETURN_IF_ERROR(
            SearchTurns(db, mode, loaded, query, k, scores->Latency(method, k), &found));
        scores->Add(method, q.category, k, Recall(evidence, found));
      }
    }
    if (fts5 != nullptr) LOCI_RETURN_IF_ERROR(fts5->Ask(q, evidence, scores));
  }
  return Status::OK();
}

// Loads and asks each conversation in turn.
Status RunConversations(Db* db, const LocomoData& data, uint32_t dim, Scores* scores,
                        RunTotals* totals) {
  for (const LocomoConversation& conversation : data.conversations) {
    tools::LexicalEmbedder embedder({.dim = dim});
    std::vector<std::string> corpus;
    for (const LocomoSession& session : conversation.sessions) {
      for (const LocomoTurn& turn : session.turns) corpus.push_back(LocomoTurnText(turn));
    }
    embedder.FitIdf(corpus);
    LoadedConversation loaded;
    const uint64_t start = NowNanos();
    LOCI_RETURN_IF_ERROR(LoadConversation(db, conversation, embedder, &loaded, &totals->load));
    totals->load_ns += NowNanos() - start;
    const uint64_t wait_start = NowNanos();
    WaitForIndex(db);
    totals->index_wait_ns += NowNanos() - wait_start;
#ifdef LOCI_BENCH_HAVE_SQLITE
    Fts5Baseline fts5;
    LOCI_RETURN_IF_ERROR(fts5.Build(conversation, totals));
    LOCI_RETURN_IF_ERROR(
        AskConversation(db, conversation, loaded, embedder, &fts5, scores, totals));
#else
    LOCI_RETURN_IF_ERROR(
        AskConversation(db, conversation, loaded, embedder, nullptr, scores, totals));
#endif
  }
  return Status::OK();
}

double Seconds(uint64_t ns) { return static_cast<double>(ns) / 1e9; }

void PrintSetup(const LocomoData& data, const LocomoConfig& config, const RunTotals& t) {
  std::printf("# locomo: %s, %zu conversations\n", data.path.c_str(), data.conversations.size());
  std::printf(
      "# loaded %llu turns, %llu observations, %llu session summaries, %llu "
      "derived_from edges (%llu citations naming no turn) in %llu batches\n",
      static_cast<unsigned long long>(t.load.turns),
      static_cast<unsigned long long>(t.load.observations),
      static_cast<unsigned long long>(t.load.summaries),
      static_cast<unsigned long long>(t.load.links),
      static_cast<unsigned long long>(t.load.unlinked_citations),
      static_cast<unsigned long long>(t.load.batches));
  std::printf(
      "# load: %.2f s (lexical embeddings, dim %u: %.2f s; Db::Write, sync=false: "
      "%.2f s); index catch-up wait %.2f s; FTS5 build %.3f s\n",
      Seconds(t.load_ns), config.dim, Seconds(t.load.embed_ns), Seconds(t.load.write_ns),
      Seconds(t.index_wait_ns), Seconds(t.fts5_build_ns));
  std::printf(
      "# questions: %llu, %llu skipped without evidence naming a turn; %llu evidence "
      "dia_ids name no turn\n",
      static_cast<unsigned long long>(t.questions),
      static_cast<unsigned long long>(t.questions_without_evidence),
      static_cast<unsigned long long>(t.evidence_unresolved));
  std::printf(
      "# recall@k = mean over questions of |evidence among the first k turns| / "
      "|evidence|; expansion modes rank direct hits, then expanded hits, by score\n");
}

void PrintRecallTable(const Scores& scores) {
  std::printf("\n%-7s %-12s %-15s %9s %7s %7s %7s\n", "system", "mode", "category", "questions",
              "R@5", "R@10", "R@20");
  for (const Method& m : scores.methods()) {
    for (int category : kCategories) {
      const uint64_t questions = scores.Recall(m, category, kKs[0]).second;
      if (questions == 0) continue;
      std::printf("%-7s %-12s %-15s %9llu", m.system.c_str(), m.mode.c_str(),
                  CategoryName(category).c_str(), static_cast<unsigned long long>(questions));
      for (uint32_t k : kKs) std::printf(" %7.3f", scores.Recall(m, category, k).first);
      std::printf("\n");
    }
  }
}

void PrintLatencyTable(const Scores& scores) {
  std::printf("\n%-7s %-12s %4s %10s %10s  (one search, one thread)\n", "system", "mode", "k",
              "p50 us", "p99 us");
  for (const auto& [key, h] : scores.latencies()) {
    std::printf("%-7s %-12s %4u %10.1f %10.1f\n", key.first.system.c_str(), key.first.mode.c_str(),
                key.second, h.Percentile(0.5) / 1e3, h.Percentile(0.99) / 1e3);
  }
}

// The target: expansion raises recall@10 over plain search overall and in multi-hop.
void PrintTargets(const Scores& scores) {
  std::printf("\n");
  const Method plain{"loci", "plain"};
  for (const char* mode : {"expand1", "episode"}) {
    for (int category : {kAll, 1}) {
      const double base = scores.Recall(plain, category, 10).first;
      const double expanded = scores.Recall({"loci", mode}, category, 10).first;
      std::printf("target: %s R@10 > plain R@10 (%s): %.3f vs %.3f: %s\n", mode,
                  CategoryName(category).c_str(), expanded, base,
                  expanded > base ? "met" : "NOT met");
    }
  }
}

Status WriteJson(const std::string& path, const Scores& scores) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::IOError(path + ": " + std::strerror(errno));
  for (const Method& m : scores.methods()) {
    for (int category : kCategories) {
      for (uint32_t k : kKs) {
        const auto [recall, questions] = scores.Recall(m, category, k);
        if (questions == 0) continue;
        const Histogram& h = scores.latencies().at({m, k});
        const nlohmann::json row = {{"system", m.system},
                                    {"mode", m.mode},
                                    {"category", CategoryName(category)},
                                    {"k", k},
                                    {"recall", recall},
                                    {"questions", questions},
                                    {"search_p50_us", h.Percentile(0.5) / 1e3},
                                    {"search_p99_us", h.Percentile(0.99) / 1e3}};
        std::fprintf(f, "%s\n", row.dump().c_str());
      }
    }
  }
  if (std::fclose(f) != 0) return Status::IOError(path + ": " + std::strerror(errno));
  return Status::OK();
}

}  // namespace

Status RunLocomoScenario(const LocomoConfig& config) {
  LocomoData data;
  LOCI_RETURN_IF_ERROR(LoadLocomo(config.data.empty() ? DefaultLocomoPath() : config.data,
                                  config.conversations, &data));
  const std::string db_dir = config.dir + "/locomo";
  std::error_code ec;
  std::filesystem::remove_all(db_dir, ec);
  std::filesystem::create_directories(config.dir, ec);
  Options options;
  options.create_if_missing = true;
  options.error_if_exists = true;
  std::unique_ptr<Db> db;
  LOCI_RETURN_IF_ERROR(Db::Open(options, db_dir, &db));

  Scores scores;
  RunTotals totals;
  Status s = RunConversations(db.get(), data, config.dim, &scores, &totals);
  db.reset();
  if (!config.keep) std::filesystem::remove_all(db_dir, ec);
  LOCI_RETURN_IF_ERROR(s);

#ifndef LOCI_BENCH_HAVE_SQLITE
  std::printf("# sqlite: skipped: SQLite was not found when loci-bench was configured\n");
#endif
  PrintSetup(data, config, totals);
  PrintRecallTable(scores);
  PrintLatencyTable(scores);
  PrintTargets(scores);
  if (!config.json.empty()) LOCI_RETURN_IF_ERROR(WriteJson(config.json, scores));
  return Status::OK();
}

}  // namespace loci::bench
