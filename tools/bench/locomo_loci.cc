// LoadConversation and SearchTurns: LoCoMo through Loci's public API.

#include "tools/bench/locomo_loci.h"

#include <algorithm>

namespace loci::bench {

namespace {

constexpr Timestamp kSecond = 1000000;
// Expanded hits asked for, per direct hit: enough for the first k turns to be found even when
// expansion also reaches derived cubes (a turn's observations), which are skipped.
constexpr uint32_t kExpandedPerHit = 4;

// Index of the operation a WriteBatch::Put placeholder stands for.
size_t OpIndex(CubeId placeholder) { return static_cast<size_t>(placeholder & ~kBatchRefBit); }

std::string Join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// Builds one session's batch. Turn placeholders go to *turn_refs (dia_id -> placeholder), in
// session order.
class SessionBatch {
 public:
  SessionBatch(const std::string& space, const tools::LexicalEmbedder& embedder,
               const LoadedConversation& loaded, LocomoLoadStats* stats)
      : space_(space), embedder_(embedder), loaded_(loaded), stats_(stats) {}

  void AddTurns(const LocomoSession& session) {
    const std::string episode = "session_" + std::to_string(session.number);
    for (const LocomoTurn& turn : session.turns) {
      CubeDraft draft = Draft(kLocomoTurnKind, LocomoTurnText(turn), turn.time);
      draft.attrs = {{"speaker", turn.speaker}, {"dia_id", turn.dia_id}};
      draft.source = turn.dia_id;
      draft.agent = turn.speaker;
      draft.episode = episode;
      const CubeId ref = batch_.Put(std::move(draft));
      turn_refs_.emplace_back(turn.dia_id, ref);
      ++stats_->turns;
    }
  }

  // REQUIRES: AddTurns(session) before.
  void AddObservation(const LocomoObservation& obs, Timestamp valid_from) {
    CubeDraft draft = Draft(kLocomoObservationKind, obs.text, valid_from);
    draft.attrs = {{"speaker", obs.speaker},
                   {"dia_ids", Join(obs.evidence, ",")},
                   {"session", static_cast<int64_t>(obs.session)}};
    draft.source = Join(obs.evidence, ",");
    const CubeId ref = batch_.Put(std::move(draft));
    ++stats_->observations;
    for (const std::string& dia_id : obs.evidence) {
      const CubeId turn = Turn(dia_id);
      if (turn == 0) {
        ++stats_->unlinked_citations;
        continue;
      }
      LinkDerived(ref, turn, valid_from);
    }
  }

  // REQUIRES: AddTurns(session) before.
  void AddSummary(const LocomoSession& session, Timestamp valid_from) {
    CubeDraft draft = Draft(kLocomoSummaryKind, session.summary, valid_from);
    draft.attrs = {{"session", static_cast<int64_t>(session.number)}};
    draft.source = "session_" + std::to_string(session.number) + "_summary";
    const CubeId ref = batch_.Put(std::move(draft));
    ++stats_->summaries;
    for (const auto& [dia_id, turn] : turn_refs_) LinkDerived(ref, turn, valid_from);
  }

  // Commits the batch and records the ids of its turns in *loaded.
  Status Commit(Db* db, LoadedConversation* loaded) {
    WriteResult result;
    const uint64_t start = NowNanos();
    Status s = db->Write(WriteOptions{.sync = false}, batch_, &result);
    stats_->write_ns += NowNanos() - start;
    ++stats_->batches;
    LOCI_RETURN_IF_ERROR(s);
    for (const auto& [dia_id, ref] : turn_refs_) {
      const CubeId id = result.ops.at(OpIndex(ref)).id;
      loaded->turn_ids[dia_id] = id;
      loaded->dia_ids[id] = dia_id;
    }
    return Status::OK();
  }

 private:
  CubeDraft Draft(uint16_t kind, const std::string& payload, Timestamp valid_from) {
    CubeDraft draft;
    draft.space = space_;
    draft.kind = kind;
    draft.payload = payload;
    const uint64_t start = NowNanos();
    draft.vectors.push_back({kLocomoField, embedder_.Embed(payload)});
    stats_->embed_ns += NowNanos() - start;
    draft.valid_from = valid_from;
    return draft;
  }

  // The turn `dia_id` names: its placeholder in this batch, or its id from an earlier one;
  // 0 if there is no such turn.
  CubeId Turn(const std::string& dia_id) const {
    for (const auto& [id, ref] : turn_refs_) {
      if (id == dia_id) return ref;
    }
    auto it = loaded_.turn_ids.find(dia_id);
    return it != loaded_.turn_ids.end() ? it->second : 0;
  }

  void LinkDerived(CubeId derived, CubeId turn, Timestamp valid_from) {
    batch_.Link(space_, derived, turn, EdgeType::kDerivedFrom, 1.0f, valid_from);
    ++stats_->links;
  }

  const std::string& space_;
  const tools::LexicalEmbedder& embedder_;
  const LoadedConversation& loaded_;
  LocomoLoadStats* stats_;
  WriteBatch batch_;
  std::vector<std::pair<std::string, CubeId>> turn_refs_;
};

SearchRequest MakeRequest(LociMode mode, const std::string& space, const std::vector<float>& query,
                          uint32_t k) {
  SearchRequest request;
  request.spaces = {space};
  request.field = kLocomoField;
  request.query = query;
  request.k = k;
  switch (mode) {
    case LociMode::kPlain:
      break;
    case LociMode::kPlainTurns:
      request.kinds = {kLocomoTurnKind};
      break;
    case LociMode::kExpand1:
      request.expand_hops = 1;  // expand_types empty: every type; both directions
      request.expand_limit = kExpandedPerHit * k;
      break;
    case LociMode::kEpisode:
      request.expand_hops = 1;
      request.expand_episode = true;
      // An empty list would mean every type; no stored edge is of type next (the episode
      // order stands for it), so this follows the episode order alone.
      request.expand_types = {EdgeType::kNext};
      request.expand_limit = kExpandedPerHit * k;
      break;
  }
  return request;
}

}  // namespace

std::string LocomoTurnText(const LocomoTurn& turn) {
  if (turn.blip_caption.empty()) return turn.text;
  return turn.text + " [image: " + turn.blip_caption + "]";
}

Status LoadConversation(Db* db, const LocomoConversation& conversation,
                        const tools::LexicalEmbedder& embedder, LoadedConversation* loaded,
                        LocomoLoadStats* stats) {
  loaded->space = conversation.sample_id;
  {
    WriteBatch define;
    define.DefineVectorField(loaded->space, kLocomoField, embedder.dim(), Metric::kCosine);
    LOCI_RETURN_IF_ERROR(db->Write(WriteOptions{.sync = false}, define, nullptr));
  }
  for (const LocomoSession& session : conversation.sessions) {
    SessionBatch batch(loaded->space, embedder, *loaded, stats);
    batch.AddTurns(session);
    const Timestamp derived_from =
        session.start + static_cast<Timestamp>(session.turns.size()) * kSecond;
    for (const LocomoObservation& obs : conversation.observations) {
      if (obs.session == session.number) batch.AddObservation(obs, derived_from);
    }
    if (!session.summary.empty()) batch.AddSummary(session, derived_from);
    LOCI_RETURN_IF_ERROR(
        batch.Commit(db, loaded)
            .WithContext(conversation.sample_id + " session_" + std::to_string(session.number)));
  }
  return Status::OK();
}

const char* LociModeName(LociMode mode) {
  switch (mode) {
    case LociMode::kPlain:
      return "plain";
    case LociMode::kPlainTurns:
      return "plain-turns";
    case LociMode::kExpand1:
      return "expand1";
    case LociMode::kEpisode:
      return "episode";
  }
  return "?";
}

Status SearchTurns(Db* db, LociMode mode, const LoadedConversation& loaded,
                   const std::vector<float>& query, uint32_t k, Histogram* latency,
                   std::vector<std::string>* dia_ids) {
  const SearchRequest request = MakeRequest(mode, loaded.space, query, k);
  std::vector<SearchHit> hits;
  const uint64_t start = NowNanos();
  Status s = db->Search(request, &hits);
  latency->Record(NowNanos() - start);
  LOCI_RETURN_IF_ERROR(s.WithContext(std::string("search ") + LociModeName(mode)));
  // Cosine scores: higher is better.
  std::stable_sort(hits.begin(), hits.end(), [](const SearchHit& a, const SearchHit& b) {
    if ((a.hop == 0) != (b.hop == 0)) return a.hop == 0;
    return a.score > b.score;
  });
  dia_ids->clear();
  for (const SearchHit& hit : hits) {
    if (dia_ids->size() == k) break;
    auto it = loaded.dia_ids.find(hit.id);
    if (it == loaded.dia_ids.end()) continue;  // a derived cube
    if (std::find(dia_ids->begin(), dia_ids->end(), it->second) == dia_ids->end()) {
      dia_ids->push_back(it->second);
    }
  }
  return Status::OK();
}

}  // namespace loci::bench
