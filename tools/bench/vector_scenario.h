// `loci-bench vector`: Loci's vector search against hnswlib and FAISS on a real data set with
// exact ground truth: recall@k, single-thread QPS, build rate and bytes per vector for each
// point of each system's parameter sweep, next to the memory-bandwidth ceiling and an INT8
// kernel micro-benchmark. Table on stdout, optional JSON lines and a recall/QPS plot.

#ifndef LOCI_TOOLS_BENCH_VECTOR_SCENARIO_H_
#define LOCI_TOOLS_BENCH_VECTOR_SCENARIO_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "loci/status.h"

namespace loci::bench {

struct VectorConfig {
  std::string base;          // .fvecs / .bvecs / IDX, optionally .gz
  std::string queries;       // same formats
  std::string truth;         // .ivecs, row i = neighbours of query i (0-based base indices)
  std::string metric;        // "l2", "cosine" or "ip"
  std::string json;          // JSON lines here (empty: none)
  std::string plot;          // recall/QPS PNG here (empty: none)
  size_t queries_limit = 0;  // use the first N queries (0: all)
  std::vector<std::string> systems = {"loci", "hnswlib", "faiss-ivf-flat", "faiss-ivf-sq8",
                                      "faiss-hnsw32"};
  uint32_t k = 10;
  uint32_t nlist = 0;                   // FAISS IVF lists (0: about 4*sqrt(n), a power of two)
  double min_seconds = 0.3;             // repeat a point's query pass until this much search time
  int rounds = 3;                       // measure every point of every system in turn, this often
  std::string dir = "/tmp/loci-bench";  // parent of the systems' working directories
  bool keep = false;                    // keep the working directories
  bool kernels = true;                  // run the INT8 kernel micro-benchmark
  // Loci's sweep instead of the default one: "P" (probes) or "P:R" (probes, rerank) items.
  std::vector<std::string> loci_points;
};

// Runs the scenario. Returns an error for unusable input (unreadable or inconsistent files);
// a system that fails to build or search is reported and skipped, not an error.
Status RunVectorScenario(const VectorConfig& config);

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_VECTOR_SCENARIO_H_
