// The Loci side of `loci-bench locomo`: loading a LoCoMo conversation into a space through the
// public API, and searching it in the modes the scenario compares.

#ifndef LOCI_TOOLS_BENCH_LOCOMO_LOCI_H_
#define LOCI_TOOLS_BENCH_LOCOMO_LOCI_H_

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "loci/db.h"
#include "tools/bench/bench_util.h"
#include "tools/bench/locomo_data.h"
#include "tools/embed/lexical_embedder.h"

namespace loci::bench {

// The vector field of every cube: its LexicalEmbedder vector, cosine.
inline constexpr char kLocomoField[] = "lex";
// Cube kinds: a conversation turn, and the two kinds of memory derived from turns.
inline constexpr uint16_t kLocomoTurnKind = kFirstApplicationKind;
inline constexpr uint16_t kLocomoObservationKind = kFirstApplicationKind + 1;
inline constexpr uint16_t kLocomoSummaryKind = kFirstApplicationKind + 2;

// The text a turn is stored, embedded and (by FTS5) indexed as: its text, followed by
// " [image: <caption>]" when it shares an image (LoCoMo gives the BLIP caption, not the image).
std::string LocomoTurnText(const LocomoTurn& turn);

struct LocomoLoadStats {
  uint64_t turns = 0;
  uint64_t observations = 0;
  uint64_t summaries = 0;
  uint64_t links = 0;
  uint64_t unlinked_citations = 0;  // dia_ids an observation cites that name no turn
  uint64_t batches = 0;
  uint64_t embed_ns = 0;  // computing embeddings
  uint64_t write_ns = 0;  // Db::Write calls
};

// A loaded conversation: what reading its search hits needs.
struct LoadedConversation {
  std::string space;
  std::unordered_map<std::string, CubeId> turn_ids;  // dia_id -> its turn cube
  std::unordered_map<CubeId, std::string> dia_ids;   // turn cube -> dia_id (no derived cube)
};

// Writes `conversation` into space conversation.sample_id of *db, which must not hold it yet:
// first the field kLocomoField (dimension embedder.dim(), cosine), then one WriteBatch per
// session (sync=false) with
//  - each turn: kind kLocomoTurnKind, payload LocomoTurnText, attrs speaker and dia_id, source
//    dia_id, agent the speaker, episode "session_N", valid from LocomoTurn::time;
//  - each observation of the session: kind kLocomoObservationKind, payload its text, attrs
//    speaker, dia_ids (its citations) and session, source its citations;
//  - the session summary: kind kLocomoSummaryKind, attr session;
// the derived cubes valid from one second after the session's last turn, in no episode, each
// with an EdgeType::kDerivedFrom edge (weight 1, valid from the same time) to every turn it
// comes from: an observation's citations (turns of this batch by their placeholder, of earlier
// sessions by id), a summary's whole session (LoCoMo's summaries cite nothing). Fills *loaded
// and adds to *stats.
Status LoadConversation(Db* db, const LocomoConversation& conversation,
                        const tools::LexicalEmbedder& embedder, LoadedConversation* loaded,
                        LocomoLoadStats* stats);

enum class LociMode {
  kPlain,       // Db::Search over turn and derived cubes
  kPlainTurns,  // Db::Search over turn cubes only (kinds filter)
  kExpand1,     // kPlain + expand_hops 1 over every edge type (both directions)
  kEpisode,     // kPlain + expand_hops 1 along the episode order only
};
const char* LociModeName(LociMode mode);

// Searches `loaded` for `query` in `mode` with k direct hits and writes the dia_ids of the
// first k turn cubes of the hits to *dia_ids: the direct hits by score, then the expanded hits
// by score (derived cubes are skipped: they only lead to turns). Records the time of the
// Db::Search call in *latency.
Status SearchTurns(Db* db, LociMode mode, const LoadedConversation& loaded,
                   const std::vector<float>& query, uint32_t k, Histogram* latency,
                   std::vector<std::string>* dia_ids);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_LOCOMO_LOCI_H_
