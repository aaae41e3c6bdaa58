// The LoCoMo benchmark (Maharana et al., ACL 2024, "Evaluating Very Long-Term Conversational
// Memory of LLM Agents"; data/locomo10.json of github.com/snap-research/LoCoMo, CC BY-NC 4.0):
// ten long two-speaker conversations, each in timestamped sessions of turns, with question
// answering items whose evidence names the turns (dia_ids "D<session>:<turn>") that answer them,
// and derived memories: per-session observations (facts citing dia_ids) and session summaries.
// See ../shared/data/README.md and ../shared/research/agent_memory.md §3.1.
//
// LoadLocomo reads the file into plain structs for `loci-bench locomo`. It validates what it
// uses and reports a malformed file as Corruption naming the file and the offending key; no
// input can crash it.

#ifndef LOCI_TOOLS_BENCH_LOCOMO_DATA_H_
#define LOCI_TOOLS_BENCH_LOCOMO_DATA_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "loci/status.h"

namespace loci::bench {

using LocomoTime = int64_t;  // microseconds since the Unix epoch, UTC (as loci::Timestamp)

struct LocomoTurn {
  std::string dia_id;  // "D3:7": the 7th turn of session 3
  std::string speaker;
  std::string text;
  std::string blip_caption;  // the BLIP caption of the image the turn shares ("" if none)
  // The session's date and time plus the turn's index in seconds: the file dates sessions only,
  // and this keeps the turns of a session in order.
  LocomoTime time = 0;
};

struct LocomoSession {
  int number = 0;         // N of session_N
  std::string date_time;  // as written, e.g. "1:56 pm on 8 May, 2023"
  LocomoTime start = 0;   // date_time, parsed (the file gives no time zone: read as UTC)
  std::vector<LocomoTurn> turns;
  std::string summary;  // session_summary.session_N_summary ("" if absent)
};

// One fact of observation.session_N_observation.<speaker>: [text, dia_id(s)].
struct LocomoObservation {
  int session = 0;
  std::string speaker;
  std::string text;
  std::vector<std::string> evidence;  // canonical dia_ids (see ParseDiaIds)
};

struct LocomoQuestion {
  std::string question;
  std::string answer;  // `answer`, or `adversarial_answer` for category 5; numbers as text
  int category = 0;    // 1..5, see LocomoCategoryName
  std::vector<std::string> evidence;  // canonical dia_ids (see ParseDiaIds)
  size_t unparsed_evidence = 0;       // evidence items that are not dia_ids ("D", "D:11:26")
};

struct LocomoConversation {
  std::string sample_id;  // "conv-26"
  std::string speaker_a;
  std::string speaker_b;
  std::vector<LocomoSession> sessions;  // by increasing number
  std::vector<LocomoObservation> observations;
  std::vector<LocomoQuestion> qa;

  size_t TurnCount() const;
};

struct LocomoData {
  std::string path;  // the file read
  std::vector<LocomoConversation> conversations;
};

// The LoCoMo file to read when none is given: <data>/locomo/locomo10.json, where <data> is
// $LOCI_DATA if set, else $LOCI_SHARED_DATA (what the tests use) if set, else the first of
// ../shared/data (relative to the current directory) and /work/shared/data that holds the file
// (/work/shared/data if neither does: the loader then reports it missing).
std::string DefaultLocomoPath();

// Reads `path` into *out. At most `max_conversations` conversations (0: all).
// Returns IOError if the file cannot be read, Corruption naming the key for malformed content.
Status LoadLocomo(const std::string& path, size_t max_conversations, LocomoData* out);

// Parses a session date such as "1:56 pm on 8 May, 2023" as UTC into *time.
// Returns InvalidArgument quoting the text if it is not of that form or not a real date.
Status ParseLocomoDateTime(std::string_view text, LocomoTime* time);

// The dia_ids in `text`: items separated by spaces, commas or semicolons, each of the form
// D<session>:<turn> with decimal numbers, returned canonical ("D30:05" gives "D30:5"). Items of
// another form are skipped and counted in *unparsed (may be nullptr).
std::vector<std::string> ParseDiaIds(std::string_view text, size_t* unparsed);

// "multi-hop", "temporal", "open-domain", "single-hop", "adversarial" for categories 1..5, as
// the Mem0 paper and the dial481 audit map them (the mapping the data supports, see
// research/agent_memory.md §3.1; only 2 and 5 are uncontested); "unknown" otherwise.
const char* LocomoCategoryName(int category);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_LOCOMO_DATA_H_
