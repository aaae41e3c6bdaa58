// Search: the k nearest cubes by a named vector field (design.md §2, §6).
//
//   loci::SearchRequest request;
//   request.spaces = {"alice"};
//   request.field = "minilm-384";
//   request.query = embedding;   // 384 floats
//   request.k = 10;
//   std::vector<loci::SearchHit> hits;
//   loci::Status s = db->Search(request, &hits);
//
// Filters (kind, state, attributes, the read point) are applied inside the index scan, so a
// filtered search still returns up to k hits when that many match. Candidates found on the
// quantized (INT8) index are re-ranked exactly from the stored full-precision vectors.

#ifndef LOCI_SEARCH_H_
#define LOCI_SEARCH_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "loci/cube.h"

namespace loci {

class Snapshot;

// Largest k a search may ask for, and the largest effort settings.
inline constexpr uint32_t kMaxSearchK = 1000;
inline constexpr uint32_t kMaxSearchProbes = 1u << 20;
inline constexpr uint32_t kMaxSearchRerank = 100000;

struct SearchRequest {
  // The spaces to search (at least one); hits never come from any other space.
  std::vector<std::string> spaces;
  // The vector field, by name; every listed space must have it, with the query's dimension.
  std::string field;
  // Finite components, the field's dimension, and a norm within the bounds of loci/metric.h
  // (kMaxVectorSquaredNorm; for a cosine field also kMinCosineSquaredNorm).
  std::vector<float> query;
  // How many hits to return, 1..kMaxSearchK.
  uint32_t k = 10;

  // --- filters, all applied inside the scan
  // Only these kinds. Default: any.
  std::vector<uint16_t> kinds;
  // Only these states: kActive and/or kArchived (retired cubes are never returned).
  // Default: both.
  std::vector<CubeState> states;
  // Every one of these attributes must be present with an equal value.
  std::vector<Attr> attrs;
  // The read point, as for Get: transaction time, valid time, or a snapshot (overrides as_of).
  std::optional<Timestamp> as_of;
  std::optional<Timestamp> valid_at;
  const Snapshot* snapshot = nullptr;

  // --- effort (0 = the default); see Options for the index's defaults
  // Posting lists probed in a clustered partition, at most.
  uint32_t probes = 0;
  // Candidates re-ranked exactly, at least k (0: the index's default, at least k + k/5).
  uint32_t rerank = 0;

  // Fill SearchHit::cube (payload and vectors as for ReadOptions' defaults when set below).
  bool fill_cubes = false;
  bool fill_payload = false;
  bool fill_vectors = false;
};

struct SearchHit {
  CubeId id = 0;
  uint32_t version = 0;  // the version visible at the read point
  std::string space;
  // cosine: cosine similarity; ip: inner product (higher is better for both);
  // l2: squared Euclidean distance (lower is better). Hits come best first.
  float score = 0;
  MemCube cube;  // only with SearchRequest::fill_cubes
};

}  // namespace loci

#endif  // LOCI_SEARCH_H_
