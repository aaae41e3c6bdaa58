// The synthetic corpus of `loci-bench filtered`: agent memories spread over many spaces
// (users), each space a sequence of episodes (sessions) of consecutive events, with an
// embedding-like vector, a "topic" attribute and trace edges. Everything is a pure function of
// the seed, so Loci and the peers see the same data, and a cube's vector can be regenerated
// instead of kept (1M x 768 floats would be 3 GB more).
//
// Layout: cube i (0-based) is event j = i / spaces of space s = i % spaces, so consecutive
// cubes belong to different spaces, as writes from many users would arrive. Event j of a space
// is in episode j / kEpisodeEvents, valid from the space's start + 1 day per earlier episode +
// 1 minute per earlier event of its episode, valid forever after (an event stays true).
//
// Vectors: a Gaussian mixture of kClusters unit centres in `dim` dimensions, plus noise whose
// scale decays over the dimensions (an anisotropic spectrum, like text embeddings'), normalised;
// cosine metric. A cube's topic is its cluster mod kTopics, so topic and content agree.
//
// Edges: event j of an episode has a kNext edge from event j-1 of the same episode, and every
// event j >= 1 of a space has kRefers edges to one or two distinct earlier events of its space.

#ifndef LOCI_TOOLS_BENCH_FILTERED_DATA_H_
#define LOCI_TOOLS_BENCH_FILTERED_DATA_H_

#include <cstdint>
#include <vector>

#include "loci/cube.h"
#include "loci/trace.h"

namespace loci::bench {

struct FilteredEdge {
  uint32_t from;  // cube indices
  uint32_t to;
  EdgeType type;
};

// One query of the scenario: a vector near a cluster, a space, a valid-time window covering
// a third of that space's time span, and the topic to match.
struct FilteredQuery {
  std::vector<float> vector;
  uint32_t space = 0;
  Timestamp window_from = 0;
  Timestamp window_to = 0;
  int64_t topic = 0;
};

class FilteredCorpus {
 public:
  static constexpr uint32_t kClusters = 256;
  static constexpr uint32_t kTopics = 8;
  static constexpr uint32_t kEpisodeEvents = 50;
  static constexpr Timestamp kStart = 1704067200LL * 1000000;  // 2024-01-01T00:00:00Z
  static constexpr Timestamp kMinute = 60LL * 1000000;
  static constexpr Timestamp kDay = 24 * 60 * kMinute;

  // REQUIRES: cubes >= spaces >= 1, dim >= 1.
  FilteredCorpus(uint64_t seed, uint32_t cubes, uint32_t dim, uint32_t spaces);

  uint32_t cubes() const { return cubes_; }
  uint32_t dim() const { return dim_; }
  uint32_t spaces() const { return spaces_; }

  uint32_t SpaceOf(uint32_t i) const { return i % spaces_; }
  uint32_t EventOf(uint32_t i) const { return i / spaces_; }
  uint32_t EpisodeOf(uint32_t i) const { return EventOf(i) / kEpisodeEvents; }
  // The cube index of event j of space s. REQUIRES: j < Events(s).
  uint32_t CubeOf(uint32_t s, uint32_t j) const { return j * spaces_ + s; }
  uint32_t Events(uint32_t s) const { return (cubes_ - s + spaces_ - 1) / spaces_; }
  Timestamp ValidFrom(uint32_t i) const;
  // The valid_from of the space's first and last events.
  Timestamp FirstTime(uint32_t s) const { return ValidFrom(s); }
  Timestamp LastTime(uint32_t s) const { return ValidFrom(CubeOf(s, Events(s) - 1)); }
  int64_t Topic(uint32_t i) const { return cluster_[i] % kTopics; }

  // Writes cube i's unit vector (dim floats) to *out.
  void Vector(uint32_t i, float* out) const;

  // Every edge, in the order of the cube it is stored with (the later event, `from` for
  // kRefers, `to` for kNext): the edges of cube i come before those of cube i + 1.
  const std::vector<FilteredEdge>& edges() const { return edges_; }
  // [begin, end) of cube i's edges in edges().
  std::pair<size_t, size_t> EdgesOf(uint32_t i) const {
    return {edge_begin_[i], edge_begin_[i + 1]};
  }

  // `count` queries drawn with `seed`, each in a space with at least one event.
  std::vector<FilteredQuery> Queries(uint64_t seed, uint32_t count) const;

 private:
  void Sample(uint64_t stream, uint32_t cluster, float* out) const;

  const uint64_t seed_;
  const uint32_t cubes_;
  const uint32_t dim_;
  const uint32_t spaces_;
  std::vector<float> centres_;      // kClusters x dim, unit
  std::vector<float> noise_scale_;  // per dimension
  std::vector<uint8_t> cluster_;    // per cube
  std::vector<FilteredEdge> edges_;
  std::vector<size_t> edge_begin_;  // cubes + 1
};

// Whether cube i passes `query`'s filters as Loci defines them (loci/search.h): in the space,
// valid at some time in [window_from, window_to) (events are valid forever after their
// valid_from, so: valid_from < window_to), with the query's topic.
inline bool PassesFilter(const FilteredCorpus& corpus, const FilteredQuery& query, uint32_t i) {
  return corpus.SpaceOf(i) == query.space && corpus.ValidFrom(i) < query.window_to &&
         corpus.Topic(i) == query.topic;
}

}  // namespace loci::bench

#endif  // LOCI_TOOLS_BENCH_FILTERED_DATA_H_
