// The built-in story of loci-demo: three chat sessions between Maya and her agent, planning a
// trip (written for this project), stored with episodes, derived facts and edges, then queried
// section by section (demo_sections.h).

#ifndef LOCI_TOOLS_DEMO_DEMO_STORY_H_
#define LOCI_TOOLS_DEMO_DEMO_STORY_H_

#include "loci/db.h"

namespace loci::demo {

// Writes the story into space "maya" of *db and prints every section.
void RunStory(Db* db);

}  // namespace loci::demo

#endif  // LOCI_TOOLS_DEMO_DEMO_STORY_H_
