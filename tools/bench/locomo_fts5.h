// The SQLite FTS5 baseline of `loci-bench locomo`: BM25 over one conversation's turns in an
// in-memory table. Compiled only when SQLite was found (LOCI_BENCH_HAVE_SQLITE).

#ifndef LOCI_TOOLS_BENCH_LOCOMO_FTS5_H_
#define LOCI_TOOLS_BENCH_LOCOMO_FTS5_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loci/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace loci::bench {

// An FTS5 query matching any word of `text`: the words (as LexicalEmbedder::Words splits them),
// each a double-quoted FTS5 string (quotes inside doubled), joined by OR, so that no character
// of the text can act as FTS5 syntax. Empty if the text has no word.
std::string Fts5AnyWordQuery(std::string_view text);

// An in-memory table t(text, dia_id UNINDEXED) with FTS5's default tokenizer (unicode61).
class Fts5TurnIndex {
 public:
  Fts5TurnIndex() = default;
  Fts5TurnIndex(const Fts5TurnIndex&) = delete;
  Fts5TurnIndex& operator=(const Fts5TurnIndex&) = delete;
  ~Fts5TurnIndex();

  // Creates the table and inserts (text, dia_id) for each of `turns`, in one transaction.
  // REQUIRES: called once.
  Status Build(const std::vector<std::pair<std::string, std::string>>& turns);

  // The dia_ids of the k best turns for `query` (from Fts5AnyWordQuery) by bm25(t), best first.
  // An empty query matches nothing.
  Status Search(const std::string& query, uint32_t k, std::vector<std::string>* dia_ids);

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* search_ = nullptr;
};

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_LOCOMO_FTS5_H_
