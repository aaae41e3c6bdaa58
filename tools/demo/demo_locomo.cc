#include "tools/demo/demo_locomo.h"

#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <vector>

#include "tools/bench/locomo_data.h"
#include "tools/demo/demo_common.h"
#include "tools/demo/demo_sections.h"
#include "tools/embed/lexical_embedder.h"

namespace loci::demo {
namespace {

using bench::LocomoConversation;
using bench::LocomoObservation;
using bench::LocomoQuestion;
using bench::LocomoSession;
using bench::LocomoTurn;

constexpr Timestamp kSecond = 1000000;
constexpr size_t kMaxLines = 8;

struct Loaded {
  std::map<std::string, CubeId> turns;        // dia_id -> turn cube
  std::multimap<std::string, CubeId> citing;  // dia_id -> observations citing it
  std::map<int, Timestamp> committed;         // session number -> commit time
  size_t observations = 0, edges = 0, unlinked = 0;
};

std::string TurnText(const LocomoTurn& turn) {
  if (turn.blip_caption.empty()) return turn.text;
  return turn.text + " [image: " + turn.blip_caption + "]";
}

// Writes one session in one WriteBatch: its turns (episode "session_N") and its observations,
// valid from a second after its last turn, each with derived_from edges to the turns it cites
// (by placeholder when the turn is in this batch).
class SessionWriter {
 public:
  SessionWriter(SpaceHandle space, const tools::LexicalEmbedder& embedder, Loaded* loaded)
      : space_(space), embedder_(embedder), loaded_(loaded) {}

  void Write(const LocomoSession& session, const std::vector<LocomoObservation>& observations) {
    WriteBatch batch;
    std::map<std::string, CubeId> refs;
    const std::string episode = "session_" + std::to_string(session.number);
    for (const LocomoTurn& turn : session.turns) {
      refs[turn.dia_id] = batch.Put(
          Draft(kTurnKind, turn.dia_id, turn.speaker, TurnText(turn), turn.time, episode));
    }
    const Timestamp after = session.turns.empty() ? session.start : session.turns.back().time;
    std::vector<std::pair<CubeId, std::vector<std::string>>> obs_refs;
    for (const LocomoObservation& obs : observations) {
      if (obs.session != session.number) continue;
      const CubeId ref =
          batch.Put(Draft(kMemoryKind, "obs", "memory", obs.text, after + kSecond, ""));
      for (const std::string& dia_id : obs.evidence) Link(&batch, refs, ref, dia_id, after);
      obs_refs.emplace_back(ref, obs.evidence);
    }
    if (batch.empty()) return;
    WriteResult result;
    Check(space_.Write(WriteOptions(), batch, &result), "write a session");
    for (const auto& [dia_id, ref] : refs) loaded_->turns[dia_id] = Real(result, ref);
    for (const auto& [ref, evidence] : obs_refs) {
      for (const std::string& dia_id : evidence) loaded_->citing.emplace(dia_id, Real(result, ref));
    }
    loaded_->observations += obs_refs.size();
    loaded_->committed[session.number] = result.commit_time;
  }

 private:
  static CubeId Real(const WriteResult& result, CubeId ref) {
    return result.ops[ref & ~kBatchRefBit].id;
  }

  void Link(WriteBatch* batch, const std::map<std::string, CubeId>& refs, CubeId obs,
            const std::string& dia_id, Timestamp after) {
    CubeId turn = 0;
    if (auto it = refs.find(dia_id); it != refs.end()) turn = it->second;
    if (auto it = loaded_->turns.find(dia_id); it != loaded_->turns.end()) turn = it->second;
    if (turn == 0) {
      ++loaded_->unlinked;
      return;
    }
    batch->Link(std::nullopt, obs, turn, EdgeType::kDerivedFrom, 1.0f, after + kSecond);
    ++loaded_->edges;
  }

  CubeDraft Draft(uint16_t kind, const std::string& label, const std::string& agent,
                  const std::string& text, Timestamp valid_from, const std::string& episode) {
    CubeDraft d;
    d.kind = kind;
    d.payload = text;
    d.vectors = {{kField, embedder_.Embed(text)}};
    d.attrs = {{"label", label}};
    d.agent = agent;
    d.episode = episode;
    d.valid_from = valid_from;
    return d;
  }

  SpaceHandle space_;
  const tools::LexicalEmbedder& embedder_;
  Loaded* loaded_;
};

// The session number of dia_id "D<session>:<turn>".
int SessionOf(const std::string& dia_id) { return std::atoi(dia_id.c_str() + 1); }

std::set<CubeId> EvidenceCubes(const LocomoQuestion& q, const Loaded& loaded) {
  std::set<CubeId> ids;
  for (const std::string& dia_id : q.evidence) {
    if (auto it = loaded.turns.find(dia_id); it != loaded.turns.end()) ids.insert(it->second);
  }
  return ids;
}

// "evidence turns found: 1 of 1 (1 direct, 0 by expansion)"
std::string Found(const std::vector<SearchHit>& hits, const std::set<CubeId>& evidence) {
  size_t direct = 0, expanded = 0;
  for (const SearchHit& hit : hits) {
    if (evidence.contains(hit.id)) ++(hit.hop == 0 ? direct : expanded);
  }
  char buf[96];
  std::snprintf(buf, sizeof(buf), "evidence turns found: %zu of %zu (%zu direct, %zu by expansion)",
                direct + expanded, evidence.size(), direct, expanded);
  return buf;
}

void PrintIntro(const std::string& path, const LocomoConversation& c, const LocomoQuestion& q,
                size_t number) {
  std::printf("LoCoMo (%s), conversation %s between %s and %s: %zu sessions, %zu turns.\n",
              path.c_str(), c.sample_id.c_str(), c.speaker_a.c_str(), c.speaker_b.c_str(),
              c.sessions.size(), c.TurnCount());
  std::printf(
      "Vectors are lexical (hashed words and word pairs, tools/embed/lexical_embedder.h), not\n"
      "a language model's: an application passes its own model's embeddings.\n");
  std::string evidence;
  for (const std::string& e : q.evidence) evidence += (evidence.empty() ? "" : ", ") + e;
  std::printf("Question %zu of %zu (%s): \"%s\"\n  answer: \"%s\"; evidence: %s\n\n", number,
              c.qa.size(), bench::LocomoCategoryName(q.category), q.question.c_str(),
              q.answer.c_str(), evidence.empty() ? "(none)" : evidence.c_str());
}

// The first evidence turn found among `hits`, else their first turn.
CubeId EpisodeAnchor(const std::vector<SearchHit>& hits, const std::set<CubeId>& evidence) {
  for (const SearchHit& hit : hits) {
    if (evidence.contains(hit.id)) return hit.id;
  }
  return FirstTurn(hits);
}

// The session the question's first evidence turn is in (else the first session).
const LocomoSession& EvidenceSession(const LocomoConversation& c, const LocomoQuestion& q) {
  const int number = q.evidence.empty() ? 0 : SessionOf(q.evidence.front());
  for (const LocomoSession& s : c.sessions) {
    if (s.number == number) return s;
  }
  return c.sessions.front();
}

// The transaction time just before session `s` was written.
Timestamp BeforeSession(const Loaded& loaded, const LocomoSession& s) {
  auto it = loaded.committed.find(s.number);
  return it == loaded.committed.begin() ? it->second - 1 : std::prev(it)->second;
}

void ShowAsOfSearch(SpaceHandle space, const SearchRequest& search, const char* what,
                    Timestamp as_of, const std::set<CubeId>& evidence) {
  SearchRequest then = search;
  then.as_of = as_of;
  std::vector<SearchHit> hits;
  Status s = space.Search(then, &hits);
  if (!s.ok()) {
    std::printf("  as of %s: %s\n", Time(as_of).c_str(), s.message().c_str());
    return;
  }
  std::printf("  as of %s (%s): %zu hits, %s\n", Time(as_of).c_str(), what, hits.size(),
              Found(hits, evidence).c_str());
}

void ShowQueries(SpaceHandle space, const LocomoConversation& c, size_t number,
                 const Loaded& loaded, const tools::LexicalEmbedder& embedder) {
  const LocomoQuestion& q = c.qa[number - 1];
  const std::set<CubeId> evidence = EvidenceCubes(q, loaded);
  const SearchRequest search = ExpandedSearch(embedder.Embed(q.question), 5);
  Section(1, "Search for the question with 1-hop trace expansion");
  std::printf("  query: question %zu (k = 5)\n", number);
  const std::vector<SearchHit> hits = ShowSearch(space, search, &evidence);
  std::printf("  %s\n", Found(hits, evidence).c_str());
  if (loaded.committed.count(EvidenceSession(c, q).number) == 0) return;  // an empty session

  Section(2, "The episode around the first evidence turn found (else the best turn hit)");
  if (const CubeId anchor = EpisodeAnchor(hits, evidence); anchor != 0) {
    ShowEpisode(space, anchor, &evidence);
  }

  const LocomoSession& session = EvidenceSession(c, q);
  Section(3, "Events in a window of valid time (Db::Events): the evidence's session, 1 day");
  ShowEvents(space, session.start, session.start + 24 * 3600 * kSecond, kMaxLines, &evidence);

  Section(4, "What changed between two transaction times (Db::Changes): that session's batch");
  const Timestamp before = BeforeSession(loaded, session);
  ShowChanges(space, before + 1, loaded.committed.at(session.number) + 1, kMaxLines);

  Section(5, "As-of: the question's search before that session was stored, and after");
  ShowAsOfSearch(space, search, "before", before, evidence);
  ShowAsOfSearch(space, search, "the last commit", loaded.committed.rbegin()->second, evidence);
  if (!evidence.empty()) {
    std::printf("  History of evidence turn #%llu (LoCoMo corrects nothing: one version):\n",
                static_cast<unsigned long long>(*evidence.begin()));
    ShowHistory(space, *evidence.begin());
  }

  Section(6, "Trace from an observation citing the evidence to its sources (Db::Trace)");
  const std::string first = q.evidence.empty() ? "" : q.evidence.front();
  if (auto it = loaded.citing.find(first); it != loaded.citing.end()) {
    ShowTrace(space, it->second, 1, &evidence);
  } else {
    std::printf("  (no observation cites %s)\n", first.c_str());
  }
}

}  // namespace

Status LoadLocomoDemo(const std::string& path, size_t question, LocomoDemo* out) {
  if (Status s = bench::LoadLocomo(path, 1, &out->data); !s.ok()) return s;
  if (out->data.conversations.empty()) {
    return Status::InvalidArgument(path + " holds no conversation");
  }
  const size_t questions = out->data.conversations.front().qa.size();
  if (question < 1 || question > questions) {
    return Status::InvalidArgument("--question must be 1.." + std::to_string(questions));
  }
  out->question = question;
  return Status::OK();
}

void RunLocomo(Db* db, const LocomoDemo& demo) {
  const LocomoConversation& c = demo.data.conversations.front();
  const LocomoQuestion& q = c.qa[demo.question - 1];
  PrintIntro(demo.data.path, c, q, demo.question);

  std::vector<std::string> corpus;
  for (const LocomoSession& s : c.sessions) {
    for (const LocomoTurn& t : s.turns) corpus.push_back(TurnText(t));
  }
  tools::LexicalEmbedder embedder;
  embedder.FitIdf(corpus);
  SpaceHandle space = db->Space(c.sample_id);
  Loaded loaded;
  SessionWriter writer(space, embedder, &loaded);
  for (const LocomoSession& s : c.sessions) writer.Write(s, c.observations);
  std::printf(
      "Stored in space \"%s\", one WriteBatch per session: %zu turns, %zu observations, %zu "
      "derived_from edges (%zu citations name no turn).\n",
      c.sample_id.c_str(), loaded.turns.size(), loaded.observations, loaded.edges, loaded.unlinked);
  ShowQueries(space, c, demo.question, loaded, embedder);
}

}  // namespace loci::demo
