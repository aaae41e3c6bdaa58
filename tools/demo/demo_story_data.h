// The text of the built-in story (original, written for loci-demo).

#ifndef LOCI_TOOLS_DEMO_DEMO_STORY_DATA_H_
#define LOCI_TOOLS_DEMO_DEMO_STORY_DATA_H_

#include <vector>

namespace loci::demo {

struct StoryLine {
  const char* speaker;  // "maya" or "agent"
  const char* text;
};

// A memory the agent extracted at the end of a session, from some of its turns.
struct StoryFact {
  const char* text;
  std::vector<int> sources;  // turn indexes in the session
};

struct StorySession {
  const char* episode;
  int year, month, day, hour;  // UTC; turn i is 2 x i minutes later
  std::vector<StoryLine> turns;
  std::vector<StoryFact> facts;
};

// clang-format off
inline const std::vector<StorySession>& StorySessions() {
  static const std::vector<StorySession> sessions = {
      {"2024-03-04 trip planning",
       2024, 3, 4, 19,
       {{"maya", "I want to plan a trip to Japan with my partner Sam."},
        {"agent", "Happy to help. When are you thinking of going, and for how long?"},
        {"maya", "Two weeks in May, flying from Lisbon."},
        {"agent", "May is a good month: mild weather, and the Golden Week crowds are gone."},
        {"maya", "We want to spend most of the time in Kyoto, for the temples and gardens."},
        {"agent", "Kyoto deserves at least five days. Anything about food I should know?"},
        {"maya", "I am vegetarian, so restaurants need meat-free options."},
        {"agent",
         "Noted. Kyoto has temple restaurants serving shojin ryori, which is vegetarian."}},
       {{"Maya and Sam plan a two-week trip to Japan in May, flying from Lisbon.", {0, 2}},
        {"Maya wants to spend most of the trip in Kyoto, for temples and gardens.", {4}},
        {"Maya is vegetarian.", {6}}}},
      {"2024-03-18 trip planning",
       2024, 3, 18, 20,
       {{"maya",
         "Change of plans: Sam cannot take time off in May, so we moved the trip to October."},
        {"agent",
         "Understood. Autumn colours in Kyoto start in late October and peak in November."},
        {"maya", "Then let's go in the second half of October."},
        {"maya", "In Kyoto we would love to stay in a ryokan with a private onsen."},
        {"agent", "Ryokans with a private onsen book out early for autumn; reserve by June."},
        {"maya", "Should we buy a Japan Rail Pass?"},
        {"agent", "For Kyoto and a day trip to Nara, single tickets cost less than the pass."}},
       {{"In Kyoto, Maya wants a ryokan with a private onsen, to book by June.", {3, 4}},
        {"For Kyoto and Nara, single train tickets cost less than a Japan Rail Pass.", {5, 6}}}},
      {"2024-04-02 trip planning",
       2024, 4, 2, 18,
       {{"maya", "We booked the flights: Lisbon to Osaka on 17 October, back on 31 October."},
        {"agent", "Great. Kansai airport is about 75 minutes from Kyoto by the Haruka express."},
        {"maya", "One more thing: since we moved to the coast I eat fish again."},
        {"agent", "Thanks. I will include fish dishes, not only vegetarian places."},
        {"maya", "Sam still eats no shellfish, though."},
        {"agent", "Noted: no shellfish for Sam."}},
       {{"Flights booked: Lisbon to Osaka on 17 October 2024, back on 31 October.", {0}},
        {"Sam eats no shellfish.", {4}}}},
  };
  return sessions;
}
// clang-format on

// The corrections: session 2 moves the trip (an update of the first fact of session 1, from its
// turns 0 and 2); session 3 replaces "vegetarian" (fact 2 of session 1, retired) by a new fact
// from its turn 2.
inline constexpr char kTripCorrection[] =
    "Maya and Sam plan a two-week trip to Japan in the second half of October, from Lisbon.";
inline constexpr char kPescatarian[] = "Maya is pescatarian: she eats fish again, but no meat.";

}  // namespace loci::demo

#endif  // LOCI_TOOLS_DEMO_DEMO_STORY_DATA_H_
