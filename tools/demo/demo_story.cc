#include "tools/demo/demo_story.h"

#include <cstdio>
#include <string>
#include <vector>

#include "tools/demo/demo_common.h"
#include "tools/demo/demo_sections.h"
#include "tools/demo/demo_story_data.h"
#include "tools/embed/lexical_embedder.h"

namespace loci::demo {
namespace {

constexpr char kSpace[] = "maya";
constexpr char kQuery[] = "where could we stay in Kyoto?";

Timestamp TurnTime(size_t session, size_t turn) {
  const StorySession& s = StorySessions()[session];
  return Utc(s.year, s.month, s.day, s.hour, static_cast<int>(2 * turn));
}

std::vector<std::string> AllTexts() {
  std::vector<std::string> texts = {kTripCorrection, kPescatarian};
  for (const StorySession& s : StorySessions()) {
    for (const StoryLine& t : s.turns) texts.emplace_back(t.text);
    for (const StoryFact& f : s.facts) texts.emplace_back(f.text);
  }
  return texts;
}

// Writes the sessions, one WriteBatch each: the turns (an episode), the facts the agent
// derived with derived_from edges to their turns (placeholders: the turns are new in the same
// batch), and the session's corrections of earlier facts.
class StoryWriter {
 public:
  StoryWriter(SpaceHandle space, const tools::LexicalEmbedder& embedder)
      : space_(space), embedder_(embedder) {}

  // Writes session `n` (0-based) and prints a line about it; returns its commit time.
  Timestamp Write(size_t n) {
    WriteBatch batch;
    std::vector<CubeId> turns, facts;
    AddSession(n, &batch, &turns, &facts);
    const size_t edges_before = CountLinks(batch);
    if (n == 1) CorrectTrip(turns, &batch);
    if (n == 2) ReplaceDiet(turns, &batch);
    WriteResult result;
    Check(space_.Write(WriteOptions(), batch, &result), "write a session");
    turns_.push_back(Resolve(turns, result));
    facts_.push_back(Resolve(facts, result));
    if (n == 2) pescatarian_ = result.ops[pescatarian_ & ~kBatchRefBit].id;
    std::printf("Session %zu \"%s\": one WriteBatch committed at %s\n", n + 1,
                StorySessions()[n].episode, Time(result.commit_time).c_str());
    std::printf("  %zu turns #%llu..#%llu, %zu facts, %zu derived_from edges to their turns\n",
                turns.size(), Id(turns_[n].front()), Id(turns_[n].back()), facts.size(),
                edges_before);
    PrintCorrection(n);
    return result.commit_time;
  }

  CubeId turn(size_t session, size_t i) const { return turns_[session][i]; }
  CubeId trip() const { return facts_[0][0]; }
  CubeId diet() const { return facts_[0][2]; }
  CubeId pescatarian() const { return pescatarian_; }

 private:
  static unsigned long long Id(CubeId id) { return id; }

  static size_t CountLinks(const WriteBatch& batch) {
    size_t links = 0;
    for (const auto& op : batch.ops()) links += std::holds_alternative<WriteBatch::LinkOp>(op);
    return links;
  }

  static std::vector<CubeId> Resolve(const std::vector<CubeId>& refs, const WriteResult& result) {
    std::vector<CubeId> ids;
    for (CubeId ref : refs) ids.push_back(result.ops[ref & ~kBatchRefBit].id);
    return ids;
  }

  CubeDraft Draft(uint16_t kind, std::string label, std::string agent, const char* text,
                  Timestamp valid_from, std::string episode) const {
    CubeDraft d;
    d.kind = kind;
    d.payload = text;
    d.vectors = {{kField, embedder_.Embed(text)}};
    d.attrs = {{"label", std::move(label)}};
    d.agent = std::move(agent);
    d.episode = std::move(episode);
    d.source = kind == kTurnKind ? "chat" : "derived";
    d.importance = kind == kTurnKind ? 0.0f : 0.8f;
    d.valid_from = valid_from;
    return d;
  }

  void AddSession(size_t n, WriteBatch* batch, std::vector<CubeId>* turns,
                  std::vector<CubeId>* facts) const {
    const StorySession& s = StorySessions()[n];
    for (size_t i = 0; i < s.turns.size(); ++i) {
      const std::string label = "s" + std::to_string(n + 1) + "." + std::to_string(i + 1);
      turns->push_back(batch->Put(
          Draft(kTurnKind, label, s.turns[i].speaker, s.turns[i].text, TurnTime(n, i), s.episode)));
    }
    for (const StoryFact& f : s.facts) {
      const Timestamp known = TurnTime(n, f.sources.back());
      const CubeId fact = batch->Put(Draft(kMemoryKind, "fact", "memory", f.text, known, ""));
      for (int src : f.sources) {
        batch->Link(std::nullopt, fact, (*turns)[src], EdgeType::kDerivedFrom, 1.0f, known);
      }
      facts->push_back(fact);
    }
  }

  // Session 2 moves the trip: a new version of the trip fact, valid from the turn that says so.
  void CorrectTrip(const std::vector<CubeId>& turns, WriteBatch* batch) const {
    const Timestamp moved = TurnTime(1, 0);
    CubePatch patch;
    patch.payload = kTripCorrection;
    patch.set_vectors = {{kField, embedder_.Embed(kTripCorrection)}};
    patch.valid_from = moved;
    batch->Update(trip(), patch);
    batch->Link(std::nullopt, trip(), turns[0], EdgeType::kDerivedFrom, 1.0f, moved);
    batch->Link(std::nullopt, trip(), turns[2], EdgeType::kDerivedFrom, 1.0f, TurnTime(1, 2));
  }

  // Session 3 replaces "vegetarian": a new fact that supersedes it and contradicts the turn it
  // came from; the old fact is retired from then on (its past stays readable).
  void ReplaceDiet(const std::vector<CubeId>& turns, WriteBatch* batch) {
    const Timestamp told = TurnTime(2, 2);
    pescatarian_ = batch->Put(Draft(kMemoryKind, "fact", "memory", kPescatarian, told, ""));
    batch->Link(std::nullopt, pescatarian_, turns[2], EdgeType::kDerivedFrom, 1.0f, told);
    batch->Link(std::nullopt, pescatarian_, diet(), EdgeType::kSupersedes, 1.0f, told);
    batch->Link(std::nullopt, pescatarian_, turn(0, 6), EdgeType::kContradicts, 1.0f, told);
    batch->Retire(diet(), told);
  }

  void PrintCorrection(size_t n) const {
    if (n == 1) {
      std::printf("  corrects fact #%llu (update to v2, valid from %s): May -> October\n",
                  Id(trip()), Time(TurnTime(1, 0)).c_str());
    } else if (n == 2) {
      std::printf(
          "  fact #%llu \"vegetarian\" retired from %s; new fact #%llu supersedes it and "
          "contradicts turn #%llu\n",
          Id(diet()), Time(TurnTime(2, 2)).c_str(), Id(pescatarian_), Id(turn(0, 6)));
    }
  }

  SpaceHandle space_;
  const tools::LexicalEmbedder& embedder_;
  std::vector<std::vector<CubeId>> turns_, facts_;
  CubeId pescatarian_ = 0;
};

void ShowAsOf(SpaceHandle space, const StoryWriter& story, Timestamp before_correction) {
  ReadOptions then, now, march10, march20;
  then.as_of = before_correction;
  march10.valid_at = Utc(2024, 3, 10);
  march20.valid_at = Utc(2024, 3, 20);
  std::printf("  the trip fact #%llu:\n", static_cast<unsigned long long>(story.trip()));
  ShowGet(space, "as of session 1's commit (before):", story.trip(), then);
  ShowGet(space, "now (after the correction):", story.trip(), now);
  ShowGet(space, "now, valid on 2024-03-10:", story.trip(), march10);
  std::printf("  the diet fact #%llu:\n", static_cast<unsigned long long>(story.diet()));
  ShowGet(space, "now:", story.diet(), now);
  ShowGet(space, "now, valid on 2024-03-20:", story.diet(), march20);
  std::printf("  History of the trip fact #%llu:\n", static_cast<unsigned long long>(story.trip()));
  ShowHistory(space, story.trip());
  std::printf("  History of the diet fact #%llu:\n", static_cast<unsigned long long>(story.diet()));
  ShowHistory(space, story.diet());
}

void ShowQueries(SpaceHandle space, const tools::LexicalEmbedder& embedder,
                 const StoryWriter& story, const std::vector<Timestamp>& committed) {
  Section(1, "Search with 1-hop trace expansion");
  std::printf("  query: \"%s\" (k = 3)\n", kQuery);
  const std::vector<SearchHit> hits = ShowSearch(space, ExpandedSearch(embedder.Embed(kQuery), 3));

  Section(2, "The episode around the best turn hit (Db::Episode, 2 before, 2 after)");
  if (const CubeId turn = FirstTurn(hits); turn != 0) ShowEpisode(space, turn);

  Section(3, "Events in a window of valid time (Db::Events): what happened on 2024-03-18");
  ShowEvents(space, Utc(2024, 3, 18), Utc(2024, 3, 19), 20);

  Section(4, "What changed between two transaction times (Db::Changes): after session 2");
  ShowChanges(space, committed[1] + 1, committed[2] + 1, 20);

  Section(5, "As-of reads and History of the corrected facts");
  ShowAsOf(space, story, committed[0]);

  Section(6, "Trace from a fact to its sources (Db::Trace, out-edges, 2 hops)");
  ShowTrace(space, story.trip(), 2);
  ShowTrace(space, story.pescatarian(), 2);
  std::printf(
      "  (#%llu's supersedes edge to #%llu is stored, but a trace follows an edge only to a cube\n"
      "   visible at its read point, and the old fact is retired from the time the new one "
      "holds.)\n",
      static_cast<unsigned long long>(story.pescatarian()),
      static_cast<unsigned long long>(story.diet()));
}

}  // namespace

void RunStory(Db* db) {
  tools::LexicalEmbedder embedder;
  embedder.FitIdf(AllTexts());
  SpaceHandle space = db->Space(kSpace);
  std::printf(
      "Built-in story: three chat sessions between Maya and her agent, planning a trip, in\n"
      "space \"%s\". Each session is an episode; each turn is a cube valid from when it was\n"
      "said; the agent's facts are cubes with derived_from edges to their turns.\n"
      "Vectors are lexical (hashed words and word pairs, tools/embed/lexical_embedder.h), not\n"
      "a language model's: an application passes its own model's embeddings.\n\n",
      kSpace);
  StoryWriter story(space, embedder);
  std::vector<Timestamp> committed;
  for (size_t n = 0; n < StorySessions().size(); ++n) committed.push_back(story.Write(n));
  ShowQueries(space, embedder, story, committed);
}

}  // namespace loci::demo
