// LoadLocomo and its parsers. The JSON is walked with nlohmann-json; its exceptions (a missing
// key, a wrong type) are caught here and become Corruption, never escaping the loader.

#include "tools/bench/locomo_data.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace loci::bench {

namespace {

using nlohmann::json;

// Parses all of `s` as a non-negative decimal int. False if anything else is there.
bool ParseInt(std::string_view s, int* value) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *value);
  return ec == std::errc() && end == s.data() + s.size() && *value >= 0;
}

// N if `key` is prefix + N + suffix with decimal N, else -1.
int KeyNumber(std::string_view key, std::string_view prefix, std::string_view suffix) {
  if (key.size() <= prefix.size() + suffix.size() || !key.starts_with(prefix) ||
      !key.ends_with(suffix)) {
    return -1;
  }
  int n = 0;
  const std::string_view digits =
      key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  return ParseInt(digits, &n) ? n : -1;
}

// A JSON scalar as text: strings as they are, numbers (some answers are years) as written.
std::string ScalarText(const json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

// Turns of session_N, each valid at `start` plus its index in seconds.
void ReadTurns(const json& turns, LocomoSession* session) {
  for (size_t i = 0; i < turns.size(); ++i) {
    const json& t = turns.at(i);
    LocomoTurn turn;
    turn.dia_id = t.at("dia_id").get<std::string>();
    turn.speaker = t.at("speaker").get<std::string>();
    turn.text = t.at("text").get<std::string>();
    if (t.contains("blip_caption")) turn.blip_caption = t.at("blip_caption").get<std::string>();
    turn.time = session->start + static_cast<LocomoTime>(i) * 1000000;
    session->turns.push_back(std::move(turn));
  }
}

Status ReadSessions(const json& conversation, const json& summaries, LocomoConversation* out) {
  for (const auto& [key, value] : conversation.items()) {
    const int n = KeyNumber(key, "session_", "");
    if (n < 0) continue;  // speaker_a, session_N_date_time...
    LocomoSession session;
    session.number = n;
    const std::string date_key = key + "_date_time";
    if (!conversation.contains(date_key)) {
      return Status::Corruption(out->sample_id + ": " + key + " has no " + date_key);
    }
    session.date_time = conversation.at(date_key).get<std::string>();
    LOCI_RETURN_IF_ERROR(ParseLocomoDateTime(session.date_time, &session.start)
                             .WithContext(out->sample_id + ": " + date_key));
    ReadTurns(value, &session);
    const std::string summary_key = key + "_summary";
    if (summaries.contains(summary_key)) {
      session.summary = summaries.at(summary_key).get<std::string>();
    }
    out->sessions.push_back(std::move(session));
  }
  std::sort(out->sessions.begin(), out->sessions.end(),
            [](const LocomoSession& a, const LocomoSession& b) { return a.number < b.number; });
  return Status::OK();
}

// observation.session_N_observation = {speaker: [[text, dia_id or "id, id" or [ids]], ...]}.
void ReadObservations(const json& observation, LocomoConversation* out) {
  for (const auto& [key, by_speaker] : observation.items()) {
    const int n = KeyNumber(key, "session_", "_observation");
    if (n < 0) continue;
    for (const auto& [speaker, facts] : by_speaker.items()) {
      for (const json& fact : facts) {
        LocomoObservation obs;
        obs.session = n;
        obs.speaker = speaker;
        obs.text = fact.at(0).get<std::string>();
        const json& cited = fact.at(1);
        if (cited.is_array()) {
          for (const json& item : cited) {
            for (std::string& id : ParseDiaIds(item.get<std::string>(), nullptr)) {
              obs.evidence.push_back(std::move(id));
            }
          }
        } else {
          obs.evidence = ParseDiaIds(cited.get<std::string>(), nullptr);
        }
        out->observations.push_back(std::move(obs));
      }
    }
  }
}

void ReadQuestions(const json& qa, LocomoConversation* out) {
  for (const json& item : qa) {
    LocomoQuestion q;
    q.question = item.at("question").get<std::string>();
    q.category = item.at("category").get<int>();
    if (item.contains("answer")) {
      q.answer = ScalarText(item.at("answer"));
    } else if (item.contains("adversarial_answer")) {
      q.answer = ScalarText(item.at("adversarial_answer"));
    }
    for (const json& e : item.at("evidence")) {
      for (std::string& id : ParseDiaIds(e.get<std::string>(), &q.unparsed_evidence)) {
        // An id listed twice counts once.
        if (std::find(q.evidence.begin(), q.evidence.end(), id) == q.evidence.end()) {
          q.evidence.push_back(std::move(id));
        }
      }
    }
    out->qa.push_back(std::move(q));
  }
}

Status ReadConversation(const json& sample, LocomoConversation* out) {
  out->sample_id = sample.at("sample_id").get<std::string>();
  const json& conversation = sample.at("conversation");
  out->speaker_a = conversation.at("speaker_a").get<std::string>();
  out->speaker_b = conversation.at("speaker_b").get<std::string>();
  static const json kNone = json::object();
  const json& summaries = sample.contains("session_summary") ? sample.at("session_summary") : kNone;
  LOCI_RETURN_IF_ERROR(ReadSessions(conversation, summaries, out));
  if (sample.contains("observation")) ReadObservations(sample.at("observation"), out);
  ReadQuestions(sample.at("qa"), out);
  return Status::OK();
}

}  // namespace

size_t LocomoConversation::TurnCount() const {
  size_t n = 0;
  for (const LocomoSession& s : sessions) n += s.turns.size();
  return n;
}

std::string DefaultLocomoPath() {
  constexpr char kFile[] = "/locomo/locomo10.json";
  for (const char* variable : {"LOCI_DATA", "LOCI_SHARED_DATA"}) {
    const char* dir = std::getenv(variable);
    if (dir != nullptr && dir[0] != '\0') return std::string(dir) + kFile;
  }
  for (const char* dir : {"../shared/data", "/work/shared/data"}) {
    std::error_code ec;
    if (std::filesystem::is_regular_file(std::string(dir) + kFile, ec)) {
      return std::string(dir) + kFile;
    }
  }
  return std::string("/work/shared/data") + kFile;
}

Status LoadLocomo(const std::string& path, size_t max_conversations, LocomoData* out) {
  out->path = path;
  out->conversations.clear();
  std::ifstream in(path);
  if (!in) {
    return Status::IOError(path +
                           ": cannot open (give --data FILE, or set LOCI_DATA to the "
                           "folder holding locomo/locomo10.json)");
  }
  try {
    const json root = json::parse(in);
    if (!root.is_array()) return Status::Corruption(path + ": not a JSON array of samples");
    for (const json& sample : root) {
      if (max_conversations != 0 && out->conversations.size() == max_conversations) break;
      LocomoConversation conversation;
      LOCI_RETURN_IF_ERROR(ReadConversation(sample, &conversation).WithContext(path));
      out->conversations.push_back(std::move(conversation));
    }
  } catch (const json::exception& e) {
    // A missing key or a value of the wrong type; e.what() names it.
    return Status::Corruption(path + ": " + e.what());
  }
  return Status::OK();
}

Status ParseLocomoDateTime(std::string_view text, LocomoTime* time) {
  static constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                            "May",       "June",     "July",     "August",
                                            "September", "October",  "November", "December"};
  const std::string s(text);
  int hour = 0, minute = 0, day = 0, year = 0, consumed = 0;
  char ampm[3] = {0}, month_name[16] = {0};
  const int fields = std::sscanf(s.c_str(), "%d:%d %2[apm] on %d %15[A-Za-z], %d%n", &hour, &minute,
                                 ampm, &day, month_name, &year, &consumed);
  const auto month_it = std::find_if(std::begin(kMonths), std::end(kMonths), [&](const char* m) {
    return std::string_view(m) == month_name;
  });
  const bool pm = std::string_view(ampm) == "pm";
  if (fields != 6 || static_cast<size_t>(consumed) != s.size() ||
      (!pm && std::string_view(ampm) != "am") || month_it == std::end(kMonths) || hour < 1 ||
      hour > 12 || minute < 0 || minute > 59) {
    return Status::InvalidArgument("not a date like \"1:56 pm on 8 May, 2023\": \"" + s + "\"");
  }
  const std::chrono::year_month_day date{
      std::chrono::year(year),
      std::chrono::month(static_cast<unsigned>(month_it - std::begin(kMonths) + 1)),
      std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return Status::InvalidArgument("no such date: \"" + s + "\"");
  const auto moment = std::chrono::sys_days(date) + std::chrono::hours(hour % 12 + (pm ? 12 : 0)) +
                      std::chrono::minutes(minute);
  *time = std::chrono::duration_cast<std::chrono::microseconds>(moment.time_since_epoch()).count();
  return Status::OK();
}

std::vector<std::string> ParseDiaIds(std::string_view text, size_t* unparsed) {
  std::vector<std::string> ids;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = text.find_first_not_of(" ,;", i);
    if (start == text.npos) break;
    size_t end = text.find_first_of(" ,;", start);
    if (end == text.npos) end = text.size();
    const std::string_view item = text.substr(start, end - start);
    i = end;
    const size_t colon = item.find(':');
    int session = 0, turn = 0;
    if (item.size() > 1 && item[0] == 'D' && colon != item.npos &&
        ParseInt(item.substr(1, colon - 1), &session) && ParseInt(item.substr(colon + 1), &turn)) {
      ids.push_back("D" + std::to_string(session) + ":" + std::to_string(turn));
    } else if (unparsed != nullptr) {
      ++*unparsed;
    }
  }
  return ids;
}

const char* LocomoCategoryName(int category) {
  switch (category) {
    case 1:
      return "multi-hop";
    case 2:
      return "temporal";
    case 3:
      return "open-domain";
    case 4:
      return "single-hop";
    case 5:
      return "adversarial";
    default:
      return "unknown";
  }
}

}  // namespace loci::bench
