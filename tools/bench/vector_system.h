// The interface `loci-bench vector` drives every vector index through (Loci, hnswlib, FAISS):
// build over a base set, then sweep a search parameter, answering one query at a time. Each
// implementation lives in its own file and is compiled in only when its library was found.

#ifndef LOCI_TOOLS_BENCH_VECTOR_SYSTEM_H_
#define LOCI_TOOLS_BENCH_VECTOR_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "loci/metric.h"
#include "loci/status.h"
#include "tools/bench/vector_data.h"

namespace loci::bench {

// What the systems index and query. For cosine, `base`/`queries` are normalised copies (what
// the peers need: they only do inner product or L2) and `raw_*` are the vectors as read; for
// the other metrics both point to the same sets.
struct VectorDataset {
  const VectorSet* raw_base = nullptr;
  const VectorSet* raw_queries = nullptr;
  const VectorSet* base = nullptr;
  const VectorSet* queries = nullptr;
  Metric metric = Metric::kL2;
  std::string metric_name;  // "l2", "ip", "cosine"
  size_t dim() const { return base->dim; }
};

// What a build produced. Byte counts are totals (the report divides by the base size); a
// system that cannot tell leaves them unset.
struct BuildInfo {
  double seconds = 0;  // timed part of the build (see each system's Describe)
  std::optional<double> ram_bytes;
  std::optional<double> disk_bytes;
  std::vector<std::pair<std::string, double>> extra;  // more JSON fields
  std::string notes;
};

// One value of a system's search parameter(s).
struct SweepPoint {
  std::string label;   // "ef=16", "probes=8,rerank=50"
  uint32_t a = 0;      // the system's primary parameter (ef, nprobe, probes)
  uint32_t b = 0;      // a secondary one (Loci's rerank), 0 if none
  std::string series;  // non-empty: plotted as its own curve ("rerank")
};

class VectorSystem {
 public:
  virtual ~VectorSystem() = default;

  virtual const char* name() const = 0;
  // One line: what is built and how, for the report header.
  virtual std::string Describe() const = 0;

  // Builds the index over data.base (or raw_base). `work_dir` is an empty directory the system
  // may use for its files. `data` stays valid until the system is destroyed.
  virtual Status Build(const VectorDataset& data, const std::string& work_dir, BuildInfo* info) = 0;

  // The parameter values to measure, in order.
  virtual std::vector<SweepPoint> Sweep() const = 0;
  virtual Status SetParam(const SweepPoint& point) = 0;

  // The k nearest base vectors of query `qi` as base indices, best first (-1: a hit the system
  // could not map back). One thread, one query.
  virtual Status Search(size_t qi, uint32_t k, std::vector<int64_t>* ids) = 0;

  // Bytes of vector data and index structure read by the searches since the last reset, when
  // the system can tell (counted by the library itself, or estimated from its counters).
  virtual void ResetScanCounter() {}
  virtual std::optional<double> ScannedBytes() const { return std::nullopt; }
};

// `points`: the sweep, as "P" (probes) or "P:R" (probes, rerank) items; empty: the default one.
// Items that do not parse are skipped with a message on stderr.
std::unique_ptr<VectorSystem> NewLociVectorSystem(const std::vector<std::string>& points);
#ifdef LOCI_BENCH_HAVE_HNSWLIB
std::unique_ptr<VectorSystem> NewHnswlibSystem();
#endif
#ifdef LOCI_BENCH_HAVE_FAISS
enum class FaissKind { kIvfFlat, kIvfSq8, kHnsw32 };
// nlist: inverted lists of the IVF kinds (0: about 4*sqrt(n), rounded to a power of two).
std::unique_ptr<VectorSystem> NewFaissSystem(FaissKind kind, uint32_t nlist);
#endif

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_VECTOR_SYSTEM_H_
