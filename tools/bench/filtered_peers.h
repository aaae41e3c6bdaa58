// The peers of `loci-bench filtered`: hnswlib over every vector with a filter callback, and
// SQLite holding the cubes' space, valid times and topic and the edges (adjacency table). Each
// is compiled in only when its library was found (LOCI_BENCH_HAVE_HNSWLIB / _SQLITE).

#ifndef LOCI_TOOLS_BENCH_FILTERED_PEERS_H_
#define LOCI_TOOLS_BENCH_FILTERED_PEERS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loci/status.h"
#include "tools/bench/filtered_data.h"

namespace loci::bench {

class FilteredHnsw;
class FilteredSqlite;

#ifdef LOCI_BENCH_HAVE_HNSWLIB
// One hnswlib HierarchicalNSW (inner product on the unit vectors = cosine) over every cube of
// the corpus, labels = cube indices.
class FilteredHnsw {
 public:
  virtual ~FilteredHnsw() = default;
  // One line: how it was built and searched, for the report header.
  virtual std::string Describe() const = 0;
  // The k best cubes (by cosine) among those `allowed` accepts, best first, as hnswlib's
  // filtered search finds them with effort `ef` (at least k).
  virtual void Search(const float* query, uint32_t k, uint32_t ef,
                      const std::function<bool(uint32_t)>& allowed,
                      std::vector<uint32_t>* cubes) const = 0;
  // Cube i's vector as the index stores it.
  virtual const float* VectorOf(uint32_t i) const = 0;
  // Resident bytes of the graph and vectors.
  virtual double Bytes() const = 0;
};

// Builds the index with `threads` inserting threads, M = 16, efConstruction = ef_construction.
// Prints progress to stderr.
Status BuildFilteredHnsw(const FilteredCorpus& corpus, int threads, uint32_t ef_construction,
                         std::unique_ptr<FilteredHnsw>* index);
#endif

#ifdef LOCI_BENCH_HAVE_SQLITE
// An in-memory SQLite database:
//   cubes(id INTEGER PRIMARY KEY, space, valid_from, valid_to, topic) with an index on
//     (space, topic, valid_from) and one on (space, valid_from, id);
//   edges(src, dst, type, PRIMARY KEY (src, dst, type)) WITHOUT ROWID, indexed on (dst, src).
// One connection, prepared statements; not thread-safe.
class FilteredSqlite {
 public:
  virtual ~FilteredSqlite() = default;
  // Appends to *cubes every cube one edge away from `cube`, in either direction, any type
  // (possibly with repeats).
  virtual Status Neighbours(uint32_t cube, std::vector<uint32_t>* cubes) = 0;
  // The cubes that pass query's filters (PassesFilter), by an index range scan.
  virtual Status Candidates(const FilteredQuery& query, std::vector<uint32_t>* cubes) = 0;
  // The first `limit` cubes of `space` with valid_from in [from, to), by valid_from then id.
  virtual Status Events(uint32_t space, Timestamp from, Timestamp to, uint32_t limit,
                        std::vector<uint32_t>* cubes) = 0;
};

Status BuildFilteredSqlite(const FilteredCorpus& corpus, std::unique_ptr<FilteredSqlite>* db);
#endif

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_FILTERED_PEERS_H_
