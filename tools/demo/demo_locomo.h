// loci-demo --locomo: the same queries as the built-in story, on the first conversation of
// LoCoMo (tools/bench/locomo_data.h): its sessions as episodes of turn cubes, its observations
// as derived cubes with derived_from edges to the turns they cite, and one of its questions as
// the search query, with its evidence turns marked.

#ifndef LOCI_TOOLS_DEMO_DEMO_LOCOMO_H_
#define LOCI_TOOLS_DEMO_DEMO_LOCOMO_H_

#include <string>

#include "loci/db.h"
#include "tools/bench/locomo_data.h"

namespace loci::demo {

struct LocomoDemo {
  bench::LocomoData data;  // its first conversation only
  size_t question = 1;     // 1-based, in that conversation
};

// Reads the first conversation of LoCoMo from `path` into *out and checks that it has question
// number `question` (1-based). The loader's error if the file cannot be read, InvalidArgument
// if there is no such question.
Status LoadLocomoDemo(const std::string& path, size_t question, LocomoDemo* out);

// Writes the conversation into space <sample_id> of *db and prints every section.
void RunLocomo(Db* db, const LocomoDemo& demo);

}  // namespace loci::demo

#endif  // LOCI_TOOLS_DEMO_DEMO_LOCOMO_H_
