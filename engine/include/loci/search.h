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
#include "loci/options.h"
#include "loci/trace.h"

namespace loci {

class Snapshot;

// Largest k a search may ask for, and the largest effort settings.
inline constexpr uint32_t kMaxSearchK = 1000;
inline constexpr uint32_t kMaxSearchProbes = 1u << 20;
inline constexpr uint32_t kMaxSearchRerank = 100000;

struct SearchRequest : ReadPoint {
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
  // The read point (as_of, valid_at, snapshot) is the ReadPoint this request is, as for Get.

  // Valid-time window: only cubes valid at some time in [window_from, window_to) — for each
  // cube, its versions current at as_of (not overridden by a later correction by then) whose
  // valid interval meets the window, the newest of them; valid_at must then be unset. Either
  // bound may be left open. Default: no window (the read point's valid_at decides).
  std::optional<Timestamp> window_from;
  std::optional<Timestamp> window_to;

  // --- trace expansion of the hits (loci/trace.h). The filters above select the k direct
  // hits; expansion then adds their neighbourhood: the cubes up to expand_hops edges away from
  // each hit (over expand_types, in both directions, and along the episode order if
  // expand_episode), visible at the read point (valid_at, or as_of/now under a window), of
  // the hit's space, vector or not. Each is reported once with hop >= 1 and `via`, the edge of
  // its last hop (episode steps as kNext, weight 1), scored hit score x f with
  // f = via weight x expand_decay^hop (l2: divided by f instead, lower being better); edges of
  // weight <= 0 are not followed. A cube reached several ways keeps its best score; a direct
  // hit is never repeated. Hits are the direct ones (best first), then up to expand_limit
  // expanded ones (best first). 0..kMaxTraceHops.
  uint32_t expand_hops = 0;
  std::vector<EdgeType> expand_types;  // default: every type
  bool expand_episode = false;
  // Only the episode order, no stored edge (expand_episode must be set).
  bool expand_episode_only = false;
  float expand_decay = 0.5f;  // in (0, 1]
  uint32_t expand_limit = 0;  // expanded hits at most, 0..kMaxSearchK (0: k)

  // --- ranking by more than the vector (0: off). Each candidate's score s becomes
  // s x m (l2: s / m) with m = (1 + importance_weight x importance) x
  // (1 - recency_weight + recency_weight x 2^(-age / recency_half_life)), age being the time
  // from the version's valid_from to the read (now, for reads of the past too), so that
  // important and recent memories rise.
  // Weights in [0, 1] (importance_weight >= 0 and at most 100); half-life > 0. The candidates
  // re-weighted are those the index re-ranks exactly (see rerank).
  float recency_weight = 0.0f;
  Timestamp recency_half_life = 30LL * 24 * 3600 * 1000000;  // 30 days
  float importance_weight = 0.0f;
  // Decay by use: age counts from the later of valid_from and the cube's last recorded access
  // (ReadOptions::record_access, record_access below), so memories in use stay fresh while
  // the others fade by half every recency_half_life. Access times are kept in memory only (a
  // reopen forgets them). Default: false.
  bool recency_from_access = false;
  // Note an access to every hit returned (direct and expanded), at the read's now, as
  // ReadOptions::record_access does for a Get. Default: false.
  bool record_access = false;

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
  // 0 for a direct hit; for a cube added by trace expansion, the hops from the hit that
  // reached it first, and the edge of the last hop (`via`).
  uint32_t hop = 0;
  std::optional<Edge> via;
  MemCube cube;  // only with SearchRequest::fill_cubes
};

}  // namespace loci

#endif  // LOCI_SEARCH_H_
